"""`blazeforge evaluate` for detectors: COCO AP through pycocotools, keypoint error, both NMS kinds.

A detector (our checkpoint, a .tflite export, or mediapipe:NAME of a palm or face detector) runs on
every whole image of a split through the runtime's `SsdDetector` (letterbox, anchors, decoding,
NMS), at a low score threshold so that AP sees the whole precision-recall curve. Written beside
`metrics.json`:
- gt.json: what the detector should find in the split, in COCO format (`recipes.detection.instances`:
  palms from hand landmarks, or labelled faces; keypoints with v=0 where unlabelled); instances
  their render mask shows less than data.min_visible of (`recipes.detection.hidden`) are
  `iscrowd` regions: pycocotools counts neither missing them nor detecting them;
- predictions.json: the detections in COCO results format (bbox, score, keypoints).
Figures (metrics.json): AP and AP50 from pycocotools' COCOeval on exactly those two files, with
evaluate.nms (weighted | plain); the same for the other NMS kind under `nms`, and the difference;
keypoint_error: the mean distance of the labelled keypoints of each ground-truth instance to those
of its best detection (IoU >= 0.5), over the box's long side; score_threshold: the score that gives
the best F1 at IoU 0.5 (`score_threshold`; what `blazeforge export` writes as the runtime's
min_score with export.min_score=auto), with its precision and recall; LiteRT latency (median, p95 ms) for
.tflite files and mediapipe:NAME (null for a Keras checkpoint: export it to time it).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from blazeforge.datasets.builder import decode_mask
from blazeforge.errors import BlazeforgeError
from blazeforge.geometry.detections import iou
from blazeforge.recipes.detection.kinds import DetectorKind, detector, hidden, instances, min_visible
from blazeforge.runs import dataset_of

log = logging.getLogger(__name__)


def ground_truth(
    dataset_dir: str, split: str, kind: DetectorKind, min_visible: float = 0.0
) -> tuple[list[np.ndarray], dict]:
    """(images uint8 RGB, COCO gt dict) of what `kind` detects in the split; instances hidden under
    min_visible (`recipes.detection.hidden`) are iscrowd."""
    import tensorflow_datasets as tfds

    from blazeforge.datasets import load
    from blazeforge.datasets.builder import require_topology

    require_topology(dataset_dir, kind.topology, "the detector")
    names = kind.names
    images, coco_images, annotations = [], [], []
    for i, ex in enumerate(tfds.as_numpy(load(dataset_dir, split))):
        h, w = ex["image"].shape[:2]
        images.append(ex["image"])
        coco_images.append({"id": i, "width": int(w), "height": int(h)})
        unseen = hidden(kind, ex["keypoints"], ex["keypoint_mask"], decode_mask(ex.get("mask", b"")), min_visible)
        for box, points, mask, ignore in zip(
            *instances(kind, ex["keypoints"], ex["keypoint_mask"], ex["boxes"], lambda xy: xy, 1.0, hidden=unseen)
        ):
            x0, y0, x1, y1 = (float(v) for v in box)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": i,
                    "category_id": 1,
                    "iscrowd": int(ignore),
                    "bbox": [x0, y0, x1 - x0, y1 - y0],
                    "area": (x1 - x0) * (y1 - y0),
                    "keypoints": [float(v) for p, m in zip(points, mask) for v in ((*p, 2) if m else (0, 0, 0))],
                    "num_keypoints": int(mask.sum()),
                }
            )
    categories = [{"id": 1, "name": kind.what, "keypoints": names, "skeleton": []}]
    return images, {"images": coco_images, "annotations": annotations, "categories": categories}


def detections_to_coco(detections: list[np.ndarray], images: list[np.ndarray]) -> list[dict]:
    """Per-image detections [M, 5 + 2K] in [0, 1] units -> COCO results (pixels)."""
    out = []
    for i, (dets, image) in enumerate(zip(detections, images)):
        h, w = image.shape[:2]
        for d in dets:
            x0, y0, x1, y1 = d[1:5] * (w, h, w, h)
            points = d[5:].reshape(-1, 2) * (w, h)
            out.append(
                {
                    "image_id": i,
                    "category_id": 1,
                    "score": float(d[0]),
                    "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
                    "keypoints": [float(v) for p in points for v in (*p, 1)],
                }
            )
    return out


def coco_ap(gt_path: Path, predictions_path: Path) -> dict:
    """{"AP", "AP50"} of predictions.json against gt.json by pycocotools' COCOeval (bbox)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        gt = COCO(str(gt_path))
        predictions = json.loads(Path(predictions_path).read_text())
        if not predictions:
            return {"AP": 0.0, "AP50": 0.0}
        evaluation = COCOeval(gt, gt.loadRes(str(predictions_path)), "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return {"AP": float(evaluation.stats[0]), "AP50": float(evaluation.stats[1])}


def keypoint_error(gt: dict, predictions: list[dict]) -> float:
    """Mean over ground-truth instances (not iscrowd) found at IoU >= 0.5 (and with a labelled keypoint) of the
    mean labelled-keypoint distance / the box's long side."""
    by_image: dict[int, list] = {}
    for p in predictions:
        by_image.setdefault(p["image_id"], []).append(p)
    errors = []
    for a in gt["annotations"]:
        candidates = by_image.get(a["image_id"], [])
        if not candidates or a["iscrowd"]:
            continue
        x, y, w, h = a["bbox"]
        boxes = np.array(
            [[c["bbox"][0], c["bbox"][1], c["bbox"][0] + c["bbox"][2], c["bbox"][1] + c["bbox"][3]] for c in candidates]
        )
        overlap = iou(np.array([x, y, x + w, y + h]), boxes)
        if overlap.max() < 0.5:
            continue
        best = candidates[int(overlap.argmax())]
        truth = np.array(a["keypoints"]).reshape(-1, 3)
        labelled = truth[:, 2] > 0
        if not labelled.any():
            continue
        found = np.array(best["keypoints"]).reshape(-1, 3)[:, :2]
        errors.append(float(np.linalg.norm(found[labelled] - truth[labelled, :2], axis=1).mean() / max(w, h)))
    return float(np.mean(errors)) if errors else float("nan")


def score_threshold(gt: dict, predictions: list[dict], min_iou: float = 0.5) -> dict:
    """The detection score at which F1 (IoU >= min_iou, one detection per ground-truth instance) is
    best: {"min_score", "precision", "recall", "f1"}; min_score null where nothing is found.

    Detections are taken best first over all images, each matched to the unmatched instance of its
    image it overlaps most; a detection on an iscrowd region counts neither way (as in pycocotools).
    """
    boxes: dict[int, list] = {}
    for a in gt["annotations"]:
        x, y, w, h = a["bbox"]
        boxes.setdefault(a["image_id"], []).append([x, y, x + w, y + h, a["iscrowd"]])
    boxes = {i: np.array(b, np.float64) for i, b in boxes.items()}
    taken = {i: np.zeros(len(b), bool) for i, b in boxes.items()}
    instances = sum(int((b[:, 4] == 0).sum()) for b in boxes.values())
    best = {"min_score": None, "precision": 0.0, "recall": 0.0, "f1": 0.0}
    tp = fp = 0
    for p in sorted(predictions, key=lambda p: -p["score"]):
        x, y, w, h = p["bbox"]
        image = boxes.get(p["image_id"], np.zeros((0, 5)))
        overlaps = iou(np.array([x, y, x + w, y + h]), image[:, :4]) if len(image) else np.zeros(0)
        crowd = image[:, 4] > 0
        free = np.where(~crowd & ~taken.get(p["image_id"], np.zeros(0, bool)), overlaps, -1.0)
        if len(free) and free.max() >= min_iou:
            taken[p["image_id"]][int(free.argmax())] = True
            tp += 1
        elif (overlaps[crowd] >= min_iou).any():
            continue
        else:
            fp += 1
        precision, recall = tp / (tp + fp), tp / max(instances, 1)
        f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
        if f1 > best["f1"]:
            best = {"min_score": float(p["score"]), "precision": precision, "recall": recall, "f1": f1}
    return best


def _detector(checkpoint: str, kind: DetectorKind, nms: str, min_score: float):
    """The runtime Detector for `checkpoint` (mediapipe:NAME, a .tflite, or a Keras checkpoint)."""
    from blazeforge.runtime.detector import SsdDetector

    if str(checkpoint).startswith("mediapipe:"):
        from blazeforge import zoo
        from blazeforge.runtime import TfliteModel

        model = TfliteModel(zoo.tflite_path(str(checkpoint).split(":", 1)[1]))
    elif str(checkpoint).endswith(".tflite"):
        from blazeforge.runtime import TfliteModel

        model = TfliteModel(checkpoint)
    else:
        from blazeforge.models import load_model

        keras_model = load_model(checkpoint, "evaluate.checkpoint")

        def model(x):  # ours: a list of outputs; the published architectures (init=mediapipe:): a dict
            out = keras_model(x, training=False)
            return [np.asarray(o) for o in (out.values() if isinstance(out, dict) else out)]

    spec = replace(kind.spec, decode=replace(kind.spec.decode, min_score=min_score))
    return SsdDetector(model, spec, kind.input_range, weighted_nms=nms == "weighted")


def evaluate(task, cfg: DictConfig, run_dir: Path) -> dict:
    """Score a detector of `task` on a split (see the module docstring); returns metrics.json's figures."""
    run_dir = Path(run_dir)
    e = cfg.evaluate
    if e.nms not in ("weighted", "plain"):
        raise BlazeforgeError("evaluate.nms", f"expected weighted | plain, got {e.nms!r}")
    dataset_dir = dataset_of(e.dataset, e.checkpoint, "evaluate")
    kind = detector(task.detector)
    images, gt = ground_truth(dataset_dir, str(e.split), kind, min_visible(cfg))
    if not any(not a["iscrowd"] for a in gt["annotations"]):
        what = "palm with its 7 landmarks" if kind.what == "palm" else kind.what
        raise BlazeforgeError(f"dataset={dataset_dir}", f"split {e.split!r} has no {what}")
    gt_path = run_dir / "gt.json"
    gt_path.write_text(json.dumps(gt))
    results = {}
    for nms in (e.nms, "plain" if e.nms == "weighted" else "weighted"):
        runtime = _detector(e.checkpoint, kind, nms, float(e.min_score))
        predictions = detections_to_coco([runtime(image, max_detections=100) for image in images], images)
        path = run_dir / ("predictions.json" if nms == e.nms else f"predictions_{nms}.json")
        path.write_text(json.dumps(predictions))
        results[nms] = {
            **coco_ap(gt_path, path),
            "keypoint_error": keypoint_error(gt, predictions),
            "score_threshold": score_threshold(gt, predictions),
            "detections": len(predictions),
        }
    from blazeforge.runtime import TfliteModel

    latency = runtime.model.latency_ms() if isinstance(runtime.model, TfliteModel) else None  # LiteRT only
    main = results[e.nms]
    other = "plain" if e.nms == "weighted" else "weighted"
    log.info(
        "evaluate: AP %.3f AP50 %.3f (%s NMS; %s: AP %.3f)",
        main["AP"],
        main["AP50"],
        e.nms,
        other,
        results[other]["AP"],
    )
    return {
        "AP": main["AP"],
        "AP50": main["AP50"],
        "keypoint_error": main["keypoint_error"],
        "score_threshold": main["score_threshold"],
        "nms": results,
        "nms_used": str(e.nms),
        "weighted_minus_plain_AP": results["weighted"]["AP"] - results["plain"]["AP"],
        "latency_ms": latency,
        "images": len(images),
        "detector": kind.name,
        "instances": sum(not a["iscrowd"] for a in gt["annotations"]),
        "hidden": sum(a["iscrowd"] for a in gt["annotations"]),
        "min_visible": min_visible(cfg),
        "checkpoint": str(e.checkpoint),
        "dataset": dataset_dir,
        "split": str(e.split),
    }
