"""`blazeforge export` for detectors: TFLite files in MediaPipe's layout, with their decoding options.

For each quantization in cfg.export.quantize, `<recipe>_<fp32|fp16|dynamic|int8>.tflite` (int8
calibrated on letterboxed training images), checked on the dataset's letterboxed eval images:
max and mean absolute difference of "regressors" and "classificators" against Keras, and LiteRT
(XNNPack) latency at cfg.export.threads. Beside them, `<recipe>.json`: the anchor, decoding and
detection-to-ROI options (`geometry.anchors.spec_to_json`), the input range and the published
detector it replaces, so that the runtime decodes our exports with the same code as MediaPipe's
published files (`runtime.detector.Detector.from_export`).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from blazeforge.errors import BlazeforgeError
from blazeforge.export.tflite import PARITY_SAMPLES, QUANTIZATIONS, _quantizations, convert, parity
from blazeforge.geometry.anchors import spec_to_json
from blazeforge.recipes.detection import Detector, detector

log = logging.getLogger(__name__)


def _letterboxed(dataset_dir: str, split: str, count: int, kind: Detector) -> np.ndarray:
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


def export(cfg: DictConfig, run_dir: Path) -> dict:
    """Export a detector checkpoint at each of cfg.export.quantize; returns {"exports": {...}}."""
    from blazeforge.export.tflite import _has_split, checkpoint_inputs
    from blazeforge.runtime import TfliteModel

    run_dir = Path(run_dir)
    quantizations = _quantizations(cfg.export.quantize)
    model, recipe, dataset_dir = checkpoint_inputs(cfg)
    name, kind = str(recipe.name), detector(str(recipe.detector))
    images = _letterboxed(dataset_dir, "test" if _has_split(dataset_dir, "test") else "train", PARITY_SAMPLES, kind)
    calibration = (
        _letterboxed(dataset_dir, "train", int(cfg.export.calibration), kind) if "int8" in quantizations else None
    )
    import keras

    # Named outputs, in MediaPipe's order (regressors, then classificators; `convert` keeps it).
    # Ours list them in that order; the published architectures (init=mediapipe:) name them.
    out = model.output if isinstance(model.output, dict) else dict(zip(("regressors", "classificators"), model.outputs))
    model = keras.Model(model.inputs, {"regressors": out["regressors"], "classificators": out["classificators"]})
    reference = model.predict(images, verbose=0)
    exports = {}
    for q in quantizations:
        path = run_dir / f"{name}_{QUANTIZATIONS[q]}.tflite"
        path.write_bytes(convert(model, q, calibration))
        runner = TfliteModel(path)
        outputs = [runner(x[None]) for x in images]
        candidate = {k: np.concatenate([o[k] for o in outputs]) for k in reference}
        latency = {
            f"threads_{t}": TfliteModel(path, int(t)).latency_ms(int(cfg.export.latency_runs))
            for t in cfg.export.threads
        }
        exports[QUANTIZATIONS[q]] = {
            "path": str(path),
            "bytes": path.stat().st_size,
            "parity": parity(reference, candidate),
            "latency_ms": latency,
        }
        log.info("export: %s %s", path, latency)
    sidecar = {
        **spec_to_json(kind.spec),
        "input_range": list(kind.input_range),
        "recipe": name,
        "detector": str(recipe.detector),
        "outputs": {"regressors": "regressors", "classificators": "classificators"},
    }
    (run_dir / f"{name}.json").write_text(json.dumps(sidecar, indent=2) + "\n")
    return {
        "exports": exports,
        "checkpoint": str(cfg.export.checkpoint),
        "parity_samples": len(images),
        "decoding": str(run_dir / f"{name}.json"),
    }
