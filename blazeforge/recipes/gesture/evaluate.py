"""`blazeforge evaluate` for the gesture classifier: accuracy per class, the confusion matrix, and
the named rules (`runtime.gestures.rule_gesture`) scored on the same hands for comparison."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from blazeforge.errors import BlazeforgeError
from blazeforge.recipes.gesture.model import class_names, examples
from blazeforge.runs import dataset_of, read_sidecar
from blazeforge.runtime.gestures import RULE_NAMES, rule_gesture


def _predictor(checkpoint: str):
    """features [N, 63] -> probabilities [N, C], for a train run, a .keras file or a gesture export."""
    if checkpoint.endswith(".tflite"):
        from blazeforge.runtime import TfliteModel

        model = TfliteModel(checkpoint)
        return lambda x: np.concatenate([model(f[None])["gesture"] for f in x])
    from blazeforge.models import load_model

    model = load_model(checkpoint)
    return lambda x: model.predict(x, verbose=0)["gesture"]


def evaluate(cfg: DictConfig, run_dir: Path) -> dict:
    """Score cfg.evaluate.checkpoint (configured by cfg.recipe; an export by the classes its sidecar names)."""
    checkpoint = str(cfg.evaluate.checkpoint or "")
    recipe = cfg.recipe
    classes = class_names(recipe)
    exported = (read_sidecar(checkpoint) or {}).get("classes") if checkpoint.endswith(".tflite") else None
    if exported is not None and exported != classes:
        raise BlazeforgeError(
            f"evaluate.checkpoint={checkpoint}", f"its classes {exported} are not recipe.classes' {classes}"
        )
    dataset_dir = dataset_of(cfg.evaluate.dataset, checkpoint, "evaluate")
    x, y, points = examples(dataset_dir, str(cfg.evaluate.split), recipe)
    pred = _predictor(checkpoint)(x).argmax(1)
    confusion = np.zeros((len(classes), len(classes)), int)
    np.add.at(confusion, (y, pred), 1)
    per_class = {
        c: {
            "count": int(confusion[i].sum()),
            "accuracy": round(float(confusion[i, i] / confusion[i].sum()), 4) if confusion[i].sum() else None,
        }
        for i, c in enumerate(classes)
    }
    ruled = [i for i, label in enumerate(y) if classes[label] in RULE_NAMES]
    rules_right = [rule_gesture(points[i]) == classes[y[i]] for i in ruled]
    (Path(run_dir) / "confusion.json").write_text(json.dumps({"classes": classes, "matrix": confusion.tolist()}))
    return {
        "accuracy": round(float((pred == y).mean()), 4),
        "samples": int(len(y)),
        "per_class": per_class,
        "rules_accuracy": round(float(np.mean(rules_right)), 4) if rules_right else None,
        "rules_samples": len(ruled),
        "classifier_accuracy_on_rule_classes": round(float(np.mean([pred[i] == y[i] for i in ruled])), 4)
        if ruled
        else None,
        "checkpoint": checkpoint,
        "dataset": str(dataset_dir),
        "split": str(cfg.evaluate.split),
    }
