"""The Objectron family: the single-stage 3D box detector (arXiv:2003.03522, 2012.09988).

One task, `objectron` (topology cuboid: a box's centre and 8 vertices). The model sees a whole
frame's letterbox square and predicts a centroid belief map, each cell's offsets to the 8 projected
vertices, and the objects' mask; boxes come out through peaks, voting and EPnP, up to scale.

The parts: `data` (views, augmentation, targets from `geometry.cuboid_decoding.encode_targets`),
`model` (the model of `models.objectron`, losses), `evaluate` (AP at 3D IoU, boxes fixed by the
labelled ground plane, projection and viewpoint errors, a mean-size baseline; predictions written), `export`
(TFLite with parity; the runtime role `cuboids`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from blazeforge.recipes.base import Task


@dataclass(frozen=True, repr=False)
class ObjectronTask(Task):
    name: str = "objectron"
    topology: str = "cuboid"
    roles: dict = field(default_factory=dict)
    config_dir: Path | None = None

    def build_model(self, recipe):
        from blazeforge.recipes.objectron.model import build_model

        return build_model(self, recipe)

    def losses(self, recipe):
        from blazeforge.recipes.objectron.model import losses

        return losses(self, recipe)

    def pack_targets(self, targets):
        return dict(targets)  # the pipeline packs one y_true per output already

    def dataset(self, cfg, dataset_dir, split, training):
        from blazeforge.recipes.objectron.data import make_dataset

        return make_dataset(cfg, dataset_dir, split, training)

    def evaluate(self, cfg, run_dir):
        from blazeforge.recipes.objectron.evaluate import evaluate

        return evaluate(self, cfg, run_dir)

    def export(self, cfg, run_dir):
        from blazeforge.recipes.objectron.export import export

        return export(self, cfg, run_dir)

    def summary(self, metrics):
        from blazeforge.recipes.objectron.evaluate import summary

        return summary(metrics)


OBJECTRON = ObjectronTask(
    roles={"cuboids": {"landmarks": "offsets", "values": 2, "heatmap": "heatmap", "segmentation": "segmentation"}}
)
