"""`blazeforge evaluate` for the gesture classifier: accuracy per class, the confusion matrix, and
the named rules (`runtime.gestures.rule_gesture`) scored on the same hands for comparison."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from blazeforge.errors import BlazeforgeError
from blazeforge.recipes.gesture import class_names, examples
from blazeforge.runtime.gestures import RULE_NAMES, rule_gesture


def _predictor(checkpoint: str):
    """features [N, 63] -> probabilities [N, C], for a train run, a .keras file or a gesture export."""
    if checkpoint.endswith(".tflite"):
        from blazeforge.runtime import TfliteModel

        model = TfliteModel(checkpoint)
        return lambda x: np.concatenate([model(f[None])["gesture"] for f in x])
    from blazeforge.training.trainer import load_model

    model = load_model(checkpoint)
    return lambda x: model.predict(x, verbose=0)["gesture"]


def evaluate(cfg: DictConfig, run_dir: Path) -> dict:
    from blazeforge.runtime.detector import read_sidecar
    from blazeforge.training.trainer import train_config

    checkpoint = str(cfg.evaluate.checkpoint or "")
    if not checkpoint:
        raise BlazeforgeError("evaluate.checkpoint", "expected a gesture train run, .keras file or gesture_*.tflite")
    trained = None if checkpoint.endswith((".tflite", ".keras")) else train_config(checkpoint)
    recipe = trained.recipe if trained is not None else cfg.recipe
    if recipe.name != "gesture":  # a bare file: the recipe's defaults
        from omegaconf import OmegaConf

        from blazeforge.config import CONFIG_DIR

        recipe = OmegaConf.load(CONFIG_DIR / "recipe" / "gesture.yaml")
    if checkpoint.endswith(".tflite"):
        recipe.classes = [c for c in (read_sidecar(checkpoint) or {}).get("classes", []) if c != "other"]
    dataset_dir = cfg.evaluate.dataset or (trained.train.dataset if trained is not None else None)
    if not dataset_dir:
        raise BlazeforgeError("evaluate.dataset", "expected dataset=RUN_DIR")
    classes = class_names(recipe)
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
