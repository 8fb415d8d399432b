"""`blazeforge export` for detectors: TFLite files in MediaPipe's layout, with their decoding options.

For each quantization in cfg.export.quantize, `<task>_<fp32|fp16|dynamic|int8>.tflite` (int8
calibrated on letterboxed training images), checked on the dataset's letterboxed eval images:
max and mean absolute difference of "regressors" and "classificators" against Keras, and LiteRT
(XNNPack) latency at cfg.export.threads. Beside them, `<task>.json` (`runs.write_sidecar`): the
task, its runtime roles, the anchor, decoding and
detection-to-ROI options (`geometry.anchors.spec_to_json`), the input range and the published
detector it replaces, so that the runtime decodes our exports with the same code as MediaPipe's
published files (`runtime.detector.SsdDetector.from_export`). The sidecar's decode.min_score, the
runtime's score threshold, is cfg.export.min_score: a number, `published` (the published graph's),
or `auto` (the default): the score of the best F1 at IoU 0.5 on the validation split (the
training split where there is none; `evaluate.score_threshold`, the model in Keras, weighted NMS),
the published one where that split finds nothing. A model trained on few images scores its true
boxes far under the published 0.5.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from blazeforge.errors import BlazeforgeError
from blazeforge.export.tflite import PARITY_SAMPLES, export_model, load_checkpoint, parity, parity_split, quantizations
from blazeforge.geometry.anchors import spec_to_json
from blazeforge.recipes.detection.kinds import DetectorKind, detector, min_visible
from blazeforge.runs import write_sidecar

log = logging.getLogger(__name__)


def _letterboxed(dataset_dir: str, split: str, count: int, kind: DetectorKind) -> np.ndarray:
    """Up to `count` images of a split, letterboxed as the runtime does: float32 [N, S, S, 3] in the
    detector's input range."""
    import tensorflow_datasets as tfds

    from blazeforge.datasets import load
    from blazeforge.runtime.detector import letterbox

    size = kind.spec.anchors.input_size
    out = [
        letterbox(ex["image"], size, kind.input_range)[0]
        for ex, _ in zip(tfds.as_numpy(load(dataset_dir, split)), range(count))
    ]
    if not out:
        raise BlazeforgeError(f"dataset={dataset_dir}", f"split {split!r} has no images")
    return np.stack(out)


def _runtime_min_score(cfg: DictConfig, model, dataset_dir: str, kind: DetectorKind) -> tuple[float, dict]:
    """(min_score for the sidecar, how it was chosen) from cfg.export.min_score (see the docstring)."""
    from blazeforge.datasets import summary
    from blazeforge.recipes.detection.evaluate import detections_to_coco, ground_truth, score_threshold
    from blazeforge.runtime.detector import SsdDetector

    given = cfg.export.get("min_score", "auto")
    published = kind.spec.decode.min_score
    if given == "published":
        return published, {"rule": "published"}
    if given != "auto":
        if not isinstance(given, (int, float)) or not 0 <= given <= 1:
            raise BlazeforgeError("export.min_score", f"expected auto | published | a number in [0, 1], got {given!r}")
        return float(given), {"rule": "given"}
    split = "val" if summary(dataset_dir)["splits"].get("val") else "train"
    images, gt = ground_truth(dataset_dir, split, kind, min_visible(cfg))
    low = replace(kind.spec, decode=replace(kind.spec.decode, min_score=float(cfg.evaluate.min_score)))
    runtime = SsdDetector(lambda x: [np.asarray(o) for o in model(x, training=False).values()], low, kind.input_range)
    predictions = detections_to_coco([runtime(image, max_detections=100) for image in images], images)
    best = score_threshold(gt, predictions)
    chosen = best.pop("min_score")
    rule = "best F1 at IoU 0.5" if chosen is not None else "published (nothing found on the split)"
    chosen = published if chosen is None else chosen
    log.info("export: min_score %.3f (%s, F1 %.2f on the %s split)", chosen, rule, best["f1"], split)
    return chosen, {"rule": rule, "split": split, **best}


def export(task, cfg: DictConfig, run_dir: Path) -> dict:
    """Export a detector checkpoint of `task` at each of cfg.export.quantize; returns {"exports": {...}}."""
    import keras

    from blazeforge.runtime import TfliteModel

    run_dir = Path(run_dir)
    model, dataset_dir = load_checkpoint(cfg)
    kind = detector(task.detector)
    images = _letterboxed(dataset_dir, parity_split(dataset_dir), PARITY_SAMPLES, kind)
    int8 = "int8" in quantizations(cfg.export.quantize)
    calibration = _letterboxed(dataset_dir, "train", int(cfg.export.calibration), kind) if int8 else None
    # Named outputs, in MediaPipe's order (regressors, then classificators; `convert` keeps it).
    # Ours list them in that order; the published architectures (init=mediapipe:) name them.
    out = model.output if isinstance(model.output, dict) else dict(zip(("regressors", "classificators"), model.outputs))
    model = keras.Model(model.inputs, {"regressors": out["regressors"], "classificators": out["classificators"]})
    reference = model.predict(images, verbose=0)

    def check(path):
        runner = TfliteModel(path)
        outputs = [runner(x[None]) for x in images]
        return {"parity": parity(reference, {k: np.concatenate([o[k] for o in outputs]) for k in reference})}

    exports = export_model(task, cfg, run_dir, model, calibration, check)
    min_score, chosen = _runtime_min_score(cfg, model, dataset_dir, kind)
    sidecar = write_sidecar(
        run_dir,
        task.name,
        task.roles,
        **spec_to_json(replace(kind.spec, decode=replace(kind.spec.decode, min_score=min_score))),
        min_score_rule=chosen,
        input_range=list(kind.input_range),
        detector=kind.name,
        outputs={"regressors": "regressors", "classificators": "classificators"},
    )
    return {
        "exports": exports,
        "checkpoint": str(cfg.export.checkpoint),
        "parity_samples": len(images),
        "min_score": {"value": min_score, **chosen},
        "sidecar": str(sidecar),
    }
