"""`blazeforge export` for the gesture classifier: `gesture_<precision>.tflite` + `gesture.json`.

The sidecar holds the recipe name and the class names (the runtime's `GestureClassifier` reads
them); each export is checked against Keras on the dataset's test hands (parity of the
probabilities and accuracy) and timed with LiteRT.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from blazeforge.export.tflite import QUANTIZATIONS, _has_split, _quantizations, checkpoint_inputs, convert, parity
from blazeforge.recipes.gesture import class_names, examples

log = logging.getLogger(__name__)


def export(cfg: DictConfig, run_dir: Path) -> dict:
    from blazeforge.runtime import TfliteModel

    run_dir = Path(run_dir)
    model, recipe, dataset_dir = checkpoint_inputs(cfg)
    x, y, _ = examples(dataset_dir, "test" if _has_split(dataset_dir, "test") else "train", recipe)
    calibration = examples(dataset_dir, "train", recipe)[0][: int(cfg.export.calibration)]
    reference = {"gesture": model.predict(x, verbose=0)["gesture"]}
    exports = {}
    for q in _quantizations(cfg.export.quantize):
        path = run_dir / f"gesture_{QUANTIZATIONS[q]}.tflite"
        path.write_bytes(convert(model, q, calibration))
        runner = TfliteModel(path)
        probs = np.concatenate([runner(f[None])["gesture"] for f in x])
        latency = {
            f"threads_{t}": TfliteModel(path, int(t)).latency_ms(int(cfg.export.latency_runs))
            for t in cfg.export.threads
        }
        exports[QUANTIZATIONS[q]] = {
            "path": str(path),
            "bytes": path.stat().st_size,
            "parity": parity(reference, {"gesture": probs}),
            "accuracy": round(float((probs.argmax(1) == y).mean()), 4),
            "keras_accuracy": round(float((reference["gesture"].argmax(1) == y).mean()), 4),
            "latency_ms": latency,
        }
        log.info("export: %s accuracy %s", path, exports[QUANTIZATIONS[q]]["accuracy"])
    (run_dir / "gesture.json").write_text(
        json.dumps({"recipe": "gesture", "classes": class_names(recipe)}, indent=2) + "\n"
    )
    return {"exports": exports, "checkpoint": str(cfg.export.checkpoint), "parity_samples": len(x)}
