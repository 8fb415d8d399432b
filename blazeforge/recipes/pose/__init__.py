"""The pose family: BlazePose's landmark model (33 body points + 2 virtual, visibility, presence,
pose flag, heatmaps, segmentation) trained from the person's aligned crop.

One task, `pose_landmarks` (topology pose: 33 points, plus the 2 virtual ones and 4 that nobody
labels in the published layout of 39). Its outputs carry MediaPipe's names: landmarks [B, 195],
pose_flag, segmentation, heatmap and world_landmarks, plus offsets while training from scratch. Its
crops come from `targets.person_roi`.

The parts: `targets` (crop rule and targets, numpy), `data` (tf.data), `model` (model, losses,
metric), `evaluate` (PCK@0.2 of torso size on COCO's 17 and all 33 points, NME, visibility AUC,
against a mean-pose baseline; predictions written), `export` (TFLite with parity and NME per
precision, a drop-in for pose_landmark_full). Training follows the paper's schedule in
phases (`recipe.phases`, see configs/recipe/pose_landmarks.yaml): heatmap and offset supervision
first, then the regression branch through a stop-gradient.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from blazeforge.recipes.base import Task


@dataclass(frozen=True, repr=False)
class PoseLandmarkTask(Task):
    name: str = "pose_landmarks"
    topology: str = "pose"
    roles: dict = field(default_factory=dict)
    config_dir: Path | None = None
    normalizer: str = "torso size"

    def build_model(self, recipe):
        from blazeforge.recipes.pose.model import build_model

        return build_model(self, recipe)

    def losses(self, recipe):
        from blazeforge.recipes.pose.model import losses

        return losses(self, recipe)

    def metrics(self, recipe):
        from blazeforge.recipes.pose.model import metrics

        return metrics(self, recipe)

    def pack_targets(self, targets):
        return dict(targets)  # the pipeline packs one y_true per output already

    def dataset(self, cfg, dataset_dir, split, training):
        from blazeforge.recipes.pose.data import make_dataset

        return make_dataset(cfg, dataset_dir, split, training)

    def published(self):
        return ["pose_landmark_full"]

    def evaluate(self, cfg, run_dir):
        from blazeforge.recipes.pose.evaluate import evaluate

        return evaluate(self, cfg, run_dir)

    def export(self, cfg, run_dir):
        from blazeforge.recipes.pose.export import export

        return export(self, cfg, run_dir)

    def summary(self, metrics):
        from blazeforge.recipes.pose.evaluate import summary

        return summary(metrics)


POSE_LANDMARKS = PoseLandmarkTask(
    roles={
        "pose_landmarks": {
            "landmarks": "landmarks",
            "values": 5,
            "score": "pose_flag",
            "heatmap": "heatmap",
            "score_is_logit": False,
            "label": None,
            "world": "world_landmarks",
            "segmentation": "segmentation",
        }
    }
)
