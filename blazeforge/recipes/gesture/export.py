"""`blazeforge export` for the gesture classifier: `gesture_<precision>.tflite` + the sidecar `gesture.json`.

The sidecar holds the task, its runtime role and the class names (the runtime's `GestureClassifier` reads
them); each export is checked against Keras on the dataset's test hands (parity of the
probabilities and accuracy) and timed with LiteRT.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from blazeforge.export.tflite import export_model, load_checkpoint, parity, parity_split
from blazeforge.recipes.gesture.model import class_names, examples
from blazeforge.runs import write_sidecar


def export(task, cfg: DictConfig, run_dir: Path) -> dict:
    from blazeforge.runtime import TfliteModel

    run_dir = Path(run_dir)
    model, dataset_dir = load_checkpoint(cfg)
    recipe = cfg.recipe
    x, y, _ = examples(dataset_dir, parity_split(dataset_dir), recipe)
    calibration = examples(dataset_dir, "train", recipe)[0][: int(cfg.export.calibration)]
    reference = {"gesture": model.predict(x, verbose=0)["gesture"]}
    keras_accuracy = round(float((reference["gesture"].argmax(1) == y).mean()), 4)

    def check(path):
        runner = TfliteModel(path)
        probs = np.concatenate([runner(f[None])["gesture"] for f in x])
        return {
            "parity": parity(reference, {"gesture": probs}),
            "accuracy": round(float((probs.argmax(1) == y).mean()), 4),
            "keras_accuracy": keras_accuracy,
        }

    exports = export_model(task, cfg, run_dir, model, calibration, check)
    sidecar = write_sidecar(run_dir, task.name, task.roles, classes=class_names(recipe))
    return {
        "exports": exports,
        "checkpoint": str(cfg.export.checkpoint),
        "parity_samples": len(x),
        "sidecar": str(sidecar),
    }
