"""`blazeforge evaluate` for the pose landmark model: the BlazePose paper's PCK@0.2 and more.

Each labelled person of the split is cropped as the runtime crops it (`data.eval_examples`) and its
33 points are read three ways: `regression` (the landmarks output), `refined` (those moved by the
heatmap, as MediaPipe's graph and our runtime do: the headline figures) and `heatmap` (each
heatmap's peak plus the offsets head where the model has one: what phase 1 of the schedule learns).
Figures (metrics.json), each for the 33 points in image pixels against the labels:
- nme: mean 2D error over labelled points / torso size (shoulder centre to hip centre), per person;
- pck_0.2 (all 33) and pck_0.2_coco (COCO's 17: the paper's figure): share within 0.2 torso sizes;
- visibility_auc: the visibility logits against the labels (in the crop and not occluded);
- pose_flag_auc: the flag on the persons' crops against crops away from them;
- world_mpjpe_mm: the world landmarks' mean distance from the labels (metres from the hip centre,
  renders' camera-space points, in the crop's axes), millimetres, over the persons that have them
  (`world_count`; null without any), beside the mean world pose's;
- the same NME and PCK for a mean-pose baseline (the mean training crop points in each crop);
- by source and by skin tone (natural order);
- photos: PCK@0.2 on the package photos of people (scikit-image's astronaut, matplotlib's Grace
  Hopper: upper bodies) against the published pose_landmark_full's own points where it calls them
  visible, both models on the crop of the published detector (`photo_check`): how much of the
  published model's behaviour on real photos a fine-tune keeps (the published model scores 1.0).
Beside metrics.json: predictions.json (COCO keypoint results: image_id, category_id 1, 17 x (x, y, v),
score, plus keypoints_33 [[x, y, z, visibility]]), ground_truth.json (COCO keypoints format, with
keypoints_33 and their mask) and report.html with the worst persons drawn.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import cv2
import numpy as np
from omegaconf import DictConfig, OmegaConf

from blazeforge.datasets.builder import require_topology
from blazeforge.errors import BlazeforgeError
from blazeforge.evaluation import metrics as M
from blazeforge.evaluation.predictors import load_predictor
from blazeforge.evaluation.report import table, worst_figure, write_page
from blazeforge.geometry.heatmaps import refine_from_heatmap
from blazeforge.geometry.roi import crop_image, crop_to_image
from blazeforge.recipes.pose.data import eval_examples
from blazeforge.recipes.pose.targets import BODY, HEATMAP_STRIDE
from blazeforge.runs import dataset_of
from blazeforge.runtime.draw import draw_landmarks
from blazeforge.topology.pose import COCO_17, EDGES, NAMES, torso_size
from blazeforge.training.augment import negative_roi

BASELINE_SAMPLES = 2000
READOUTS = ("refined", "regression", "heatmap")


def heatmap_points(heatmap: np.ndarray, offsets: np.ndarray | None) -> np.ndarray:
    """[K, 2] crop-pixel points from heatmap logits [H, H, K] (peak cell, plus offsets [H, H, 2K]
    in cells where given); cell j stands for pixel j x stride (see `targets`)."""
    h, _, k = heatmap.shape
    flat = heatmap.reshape(-1, k).argmax(0)
    rows, cols = np.divmod(flat, h)
    points = np.stack([cols, rows], -1).astype(np.float64)
    if offsets is not None:
        points += offsets.reshape(h, h, k, 2)[rows, cols, np.arange(k)]
    return points * HEATMAP_STRIDE


def readouts(out: dict, size: int) -> dict:
    """{readout: crop points [N, 33, 2]} of a predictor's outputs (see the module docstring)."""
    raw = np.asarray(out["landmarks"], np.float64).reshape(len(out["landmarks"]), -1, 5)
    heat = np.asarray(out["heatmap"])
    offsets = np.asarray(out["offsets"]) if "offsets" in out else None
    refined = np.stack([refine_from_heatmap(r[:, :2] / size, h) * size for r, h in zip(raw, heat)])
    peaks = np.stack([heatmap_points(h, None if offsets is None else offsets[i]) for i, h in enumerate(heat)])
    return {"refined": refined[:, :BODY], "regression": raw[:, :BODY, :2], "heatmap": peaks[:, :BODY]}


def _to_image(points: np.ndarray, rois: list, size: int) -> np.ndarray:
    return np.stack([crop_to_image(p, roi, size) for p, roi in zip(points, rois)])


def truth(data: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(points [N, 33, 2] image pixels, mask [N, 33], torso size [N] pixels) of collected persons."""
    gt = np.stack([ex["keypoints"][:BODY, :2] for ex in data]).astype(np.float64)
    mask = np.stack([ex["keypoint_mask"][:BODY, 0] for ex in data]).astype(float)
    return gt, mask, np.array([torso_size(p) for p in gt])


def image_readouts(out: dict, data: list[dict], size: int) -> dict:
    """{readout: image points [N, 33, 2]} of a predictor's outputs on the collected crops."""
    rois = [ex["roi"] for ex in data]
    return {name: _to_image(points, rois, size) for name, points in readouts(out, size).items()}


def _scores(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray, torso: np.ndarray) -> dict:
    per = M.per_sample_nme(pred, gt, mask, torso)
    coco = list(COCO_17)
    return {
        "per_sample": per,
        "nme": float(np.nanmean(per)),
        "pck_0.2": M.pck(pred, gt, mask, torso),
        "pck_0.2_coco": M.pck(pred[:, coco], gt[:, coco], mask[:, coco], torso),
    }


def collect(cfg: DictConfig, dataset_dir: str, split: str, limit: int | None = None) -> list[dict]:
    """Up to `limit` of the split's `eval_examples` (cfg.recipe.input_size the model's)."""
    examples = []
    for ex in eval_examples(cfg, dataset_dir, split):
        examples.append(ex)
        if limit is not None and len(examples) >= limit:
            break
    return examples


def evaluate(task, cfg: DictConfig, run_dir: Path) -> dict:
    """Evaluate cfg.evaluate.checkpoint on cfg.evaluate.split; writes the files the docstring lists."""
    run_dir = Path(run_dir)
    dataset_dir = dataset_of(cfg.evaluate.dataset, cfg.evaluate.checkpoint, "evaluate")
    require_topology(dataset_dir, task.topology, f"task {task.name}")
    predictor = load_predictor(cfg.evaluate.checkpoint)
    size = predictor.input_size
    cfg = OmegaConf.merge(cfg, {"recipe": {"input_size": size}})
    data = collect(cfg, dataset_dir, cfg.evaluate.split)
    if not data:
        raise BlazeforgeError(f"dataset={dataset_dir}", f"split {cfg.evaluate.split!r} has no labelled person")
    rois = [ex["roi"] for ex in data]
    out = predictor(np.stack([ex["crop"] for ex in data]))
    gt, mask, torso = truth(data)
    found = image_readouts(out, data, size)
    scores = {name: _scores(pred, gt, mask, torso) for name, pred in found.items()}

    raw = np.asarray(out["landmarks"]).reshape(len(data), -1, 5)
    labels = np.stack([ex["labels"][:BODY, 3] for ex in data]) > 0
    visible = np.stack([ex["values"][:BODY, 3] for ex in data])
    visibility_auc = M.roc_auc(raw[:, :BODY, 3][labels], visible[labels])
    rng = np.random.default_rng(int(cfg.seed))
    negatives = np.stack(
        [
            crop_image(ex["image"], negative_roi(ex["roi"], ex["image"].shape[1], ex["image"].shape[0], rng), size)
            for ex in data
        ]
    )
    flags = np.concatenate([np.ravel(out["pose_flag"]), np.ravel(predictor(negatives)["pose_flag"])])
    flag_auc = M.roc_auc(flags, np.r_[np.ones(len(data)), np.zeros(len(negatives))])

    train = collect(cfg, dataset_dir, "train", BASELINE_SAMPLES)
    mean_pose = np.stack([ex["values"][:BODY, :2] for ex in train]).mean(0)
    baseline = _scores(_to_image(np.repeat(mean_pose[None], len(data), 0), rois, size), gt, mask, torso)

    world = _world_errors(out, data, train)
    photo = photo_check(predictor)

    head = scores["refined"]
    groups = {
        key: M.by_group(head["per_sample"], [ex["meta"][field] for ex in data])
        for key, field in (("by_source", "source"), ("by_skin_tone", "skin_tone"))
    }
    metrics = {
        "checkpoint": str(cfg.evaluate.checkpoint),
        "dataset": dataset_dir,
        "split": str(cfg.evaluate.split),
        "normalizer": "torso size (shoulder centre to hip centre)",
        "count": len(data),
        "nme": head["nme"],
        "pck_0.2": head["pck_0.2"],
        "pck_0.2_coco": head["pck_0.2_coco"],
        "baseline_nme": baseline["nme"],
        "baseline_pck_0.2": baseline["pck_0.2"],
        "baseline_pck_0.2_coco": baseline["pck_0.2_coco"],
        "visibility_auc": visibility_auc,
        "pose_flag_auc": flag_auc,
        **world,
        "photos": photo,
        "readouts": {name: {k: v for k, v in s.items() if k != "per_sample"} for name, s in scores.items()},
        **groups,
    }
    _write_coco(run_dir, data, found["refined"], raw, np.ravel(out["pose_flag"]))
    _report(run_dir, metrics, head["per_sample"], found["refined"], gt, data, int(cfg.evaluate.worst))
    return metrics


PHOTOS = ("skimage.astronaut", "matplotlib.grace_hopper")
PHOTO_LABELLER = "mediapipe:pose_landmark_full"


def photo_check(predictor) -> dict:
    """{"pck_0.2", "persons", "points", "labels"} of `predictor` on PHOTOS (see the module docstring)."""
    from blazeforge.zoo.parity import photos, published_rois

    images = [photos()[name] for name in PHOTOS]
    found = published_rois("pose_landmark_full", images)
    if not found:
        return {"pck_0.2": None, "persons": 0, "points": 0, "labels": PHOTO_LABELLER}
    labeller = load_predictor(PHOTO_LABELLER)

    def points(model):
        size = model.input_size
        out = model(np.stack([crop_image(images[i], roi, size) for i, roi in found]))
        return _to_image(readouts(out, size)["refined"], [roi for _, roi in found], size), out

    labels, out = points(labeller)
    logits = np.asarray(out["landmarks"], np.float64).reshape(len(found), -1, 5)[:, :BODY, 3]
    visible = (logits > 0).astype(float)  # sigmoid > 0.5
    ours = labels if predictor.name == PHOTO_LABELLER else points(predictor)[0]
    torso = np.array([torso_size(p) for p in labels])
    return {
        "pck_0.2": M.pck(ours, labels, visible, torso),
        "persons": len(found),
        "points": int(visible.sum()),
        "labels": f"{PHOTO_LABELLER} (visible points) on the crops of mediapipe:pose_detection",
    }


def _world_errors(out: dict, data: list[dict], train: list[dict]) -> dict:
    """world_mpjpe_mm, world_baseline_mpjpe_mm (the mean training world pose) and world_count."""
    known = [i for i, ex in enumerate(data) if ex["world_mask"][:BODY, 0].any()]
    if not known or "world_landmarks" not in out:
        return {"world_mpjpe_mm": None, "world_baseline_mpjpe_mm": None, "world_count": 0}
    pred = np.asarray(out["world_landmarks"]).reshape(len(data), -1, 3)[known, :BODY]
    gt = np.stack([data[i]["world"][:BODY] for i in known])
    mask = np.stack([data[i]["world_mask"][:BODY, 0] for i in known]) > 0
    seen = [ex for ex in train if ex["world_mask"][:BODY, 0].all()]
    mean = np.stack([ex["world"][:BODY] for ex in seen]).mean(0) if seen else np.zeros((BODY, 3))

    def mpjpe(points):
        return float(1000 * np.linalg.norm(points - gt, axis=-1)[mask].mean())

    return {"world_mpjpe_mm": mpjpe(pred), "world_baseline_mpjpe_mm": mpjpe(mean[None]), "world_count": len(known)}


def _write_coco(run_dir: Path, data: list[dict], pred: np.ndarray, raw: np.ndarray, flags: np.ndarray) -> None:
    """predictions.json and ground_truth.json in COCO's keypoint formats (see the module docstring)."""
    coco = list(COCO_17)
    images, annotations, results = {}, [], []
    for n, (ex, points, values, flag) in enumerate(zip(data, pred, raw, flags)):
        image_id = int(ex["meta"]["image_id"])
        h, w = ex["image"].shape[:2]
        images[image_id] = {"id": image_id, "width": int(w), "height": int(h)}
        kp, km = ex["keypoints"][:BODY], ex["keypoint_mask"][:BODY, 0]
        labelled = kp[km, :2]
        x0, y0 = labelled.min(0)
        x1, y1 = labelled.max(0)
        gt17 = [[*map(float, kp[i, :2]), 2 if ex["visibility"][i] > 0 else 1] if km[i] else [0.0, 0.0, 0] for i in coco]
        annotations.append(
            {
                "id": n + 1,
                "image_id": image_id,
                "category_id": 1,
                "keypoints": [round(v, 2) for p in gt17 for v in p],
                "num_keypoints": int(km[coco].sum()),
                "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
                "area": float((x1 - x0) * (y1 - y0)),
                "iscrowd": 0,
                "keypoints_33": np.round(kp[:, :3].astype(float), 2).tolist(),
                "keypoint_mask_33": km.astype(bool).tolist(),
            }
        )
        visibility = 1 / (1 + np.exp(-values[:BODY, 3]))
        results.append(
            {
                "image_id": image_id,
                "category_id": 1,
                "keypoints": [round(float(v), 2) for i in coco for v in (*points[i], 1.0)],
                "score": round(float(flag), 4),
                "keypoints_33": [
                    [round(float(x), 2), round(float(y), 2), round(float(z), 2), round(float(v), 4)]
                    for (x, y), z, v in zip(points, values[:BODY, 2], visibility)
                ],  # fmt: skip
            }
        )
    categories = [{"id": 1, "name": "person", "keypoints": [NAMES[i] for i in coco], "skeleton": []}]
    truth = {"images": list(images.values()), "annotations": annotations, "categories": categories}
    (run_dir / "ground_truth.json").write_text(json.dumps(truth))
    (run_dir / "predictions.json").write_text(json.dumps(results))


def _report(run_dir: Path, metrics: dict, per: np.ndarray, pred, gt, data, worst: int) -> None:
    figures = []
    for rank, i in enumerate(np.argsort(-np.nan_to_num(per, nan=-1))[:worst]):
        image = cv2.cvtColor(data[i]["image"], cv2.COLOR_RGB2BGR)
        image = draw_landmarks(image, gt[i], EDGES, (0, 200, 0), radius=2)
        image = draw_landmarks(image, pred[i], EDGES, (0, 0, 255), radius=2)
        meta = data[i]["meta"]
        caption = f"{100 * per[i]:.1f}% of torso size · {meta['source']} · Monk {meta['skin_tone']}"
        figures.append(worst_figure(run_dir, rank, image, caption))
    readouts = [
        (name, f"{100 * r['nme']:.1f}%", f"{r['pck_0.2']:.2f}", f"{r['pck_0.2_coco']:.2f}")
        for name, r in metrics["readouts"].items()
    ]
    groups = [
        (g.replace("by_", "").replace("_", " "), name, f"{100 * v['nme']:.1f}%", v["count"])
        for g in ("by_source", "by_skin_tone")
        for name, v in metrics[g].items()
    ]
    write_page(
        run_dir,
        "Pose landmarks: evaluation",
        f"<p>{metrics['count']} persons of split {html.escape(metrics['split'])} in "
        f"{html.escape(metrics['dataset'])}; checkpoint {html.escape(metrics['checkpoint'])}</p>"
        f"{table(summary(metrics))}"
        f"<h2>Read-outs</h2>{table(readouts, ('points', 'NME (torso)', 'PCK@0.2 (33)', 'PCK@0.2 (COCO 17)'))}"
        f"<h2>By group</h2>{table(groups, ('grouping', 'group', 'NME (torso)', 'persons'))}"
        f"<h2>Worst persons</h2><p>labels green, prediction red</p>{''.join(figures)}",
    )


def summary(metrics: dict) -> list[tuple[str, str]]:
    """The figures a person reads first (an evaluation's, or the schedule ablation's table)."""
    if "ablation" in metrics:
        rows = [
            (
                name,
                f"NME {100 * r['nme']:.1f}% of torso size (regression {100 * r['nme_regression']:.1f}%, "
                f"heatmap {100 * r['nme_heatmap']:.1f}%), PCK@0.2 COCO {r['pck_0.2_coco']:.2f}",
            )
            for name, r in metrics["ablation"].items()
        ]
        budget = metrics["budget"]
        return rows + [
            ("budget", f"{budget['steps']} steps x {budget['batch_size']} crops per schedule"),
            ("stop-gradient schedule wins", "yes" if metrics["stop_gradient_wins"] else "no"),
        ]
    if "nme" not in metrics:
        return []
    rows = [
        ("NME", f"{100 * metrics['nme']:.1f}% of torso size"),
        ("mean-pose baseline", f"{100 * metrics['baseline_nme']:.1f}% of torso size"),
        ("PCK@0.2, COCO's 17", f"{metrics['pck_0.2_coco']:.2f} (baseline {metrics['baseline_pck_0.2_coco']:.2f})"),
        ("PCK@0.2, all 33", f"{metrics['pck_0.2']:.2f}"),
        ("visibility AUC", f"{metrics['visibility_auc']:.3f}"),
        ("pose flag AUC", f"{metrics['pose_flag_auc']:.3f}"),
    ]
    if metrics.get("world_count"):
        rows.append(
            (
                "world landmarks",
                f"{metrics['world_mpjpe_mm']:.0f} mm mean error (mean pose "
                f"{metrics['world_baseline_mpjpe_mm']:.0f} mm; {metrics['world_count']} persons)",
            )
        )
    photos = metrics.get("photos") or {}
    if photos.get("pck_0.2") is not None:
        rows.append(
            (
                "package photos",
                f"PCK@0.2 {photos['pck_0.2']:.2f} against the published model's points "
                f"({photos['points']} points, {photos['persons']} persons)",
            )
        )
    return rows
