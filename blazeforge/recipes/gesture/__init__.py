"""The gesture family: a small MLP that names the hand's gesture from its 21 landmarks.

Input features [B, 63] (`runtime.gestures.features`: wrist-relative, upright, per palm size);
output "gesture" [B, C], a softmax over recipe.classes + "other". Trained on the gesture names
renders carry and on hands posed by the renderer's kinematics (`model`); evaluated per class
against the named rules (`evaluate`); exported with its class names (`export`), which the hands
pipeline's Gestures calculator reads. This module imports neither TensorFlow nor Keras.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from blazeforge.recipes.base import Task


@dataclass(frozen=True, repr=False)
class GestureTask(Task):
    name: str = "gesture"
    topology: str = "hand"
    roles: dict = field(default_factory=lambda: {"gesture_classifier": {}})
    config_dir: Path | None = None

    def build_model(self, recipe):
        from blazeforge.recipes.gesture.model import build_model

        return build_model(recipe)

    def losses(self, recipe):
        from blazeforge.recipes.gesture.model import losses

        return losses(recipe)

    def metrics(self, recipe):
        from blazeforge.recipes.gesture.model import metrics

        return metrics(recipe)

    def pack_targets(self, targets):
        return {"gesture": targets["gesture"]}

    def dataset(self, cfg, dataset_dir, split, training):
        from blazeforge.recipes.gesture.model import make_dataset

        return make_dataset(cfg, dataset_dir, split, training)

    def evaluate(self, cfg, run_dir):
        from blazeforge.recipes.gesture.evaluate import evaluate

        return evaluate(cfg, run_dir)

    def export(self, cfg, run_dir):
        from blazeforge.recipes.gesture.export import export

        return export(self, cfg, run_dir)

    def summary(self, metrics):
        return [("accuracy", f"{metrics['accuracy']:.3f}")] if "accuracy" in metrics else []


GESTURE = GestureTask()
