"""A toy family, defined here and registered from outside blazeforge: the proof that a family is
one folder and one registry entry, with no change under blazeforge/.

toy_wrist: the whole frame shrunk to input_size -> "wrist" [B, 3], the wrist's x, y (and z = 0)
in input pixels. Its data are hand datasets (topology hand; square frames), its model three
convolutions, its evaluation the mean wrist error as a share of the frame, its export the
engine's conversion with a sidecar binding "wrist" to the runtime role toy_wrist, which the
`WholeFrame` calculator below and the runtime's Landmarks calculator run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from blazeforge.geometry.roi import Roi
from blazeforge.recipes.base import Task
from blazeforge.runtime.graph import Calculator, calculator

HERE = Path(__file__).parent


def _frames(cfg, dataset_dir, split):
    """(images uint8 [N, S, S, 3], wrists [N, 3] input pixels) of a split's first hands."""
    import cv2
    import tensorflow_datasets as tfds

    from blazeforge.datasets import load

    size = int(cfg.recipe.input_size)
    images, wrists = [], []
    for ex in tfds.as_numpy(load(dataset_dir, split)):
        if not len(ex["keypoints"]):
            continue
        h, w = ex["image"].shape[:2]
        images.append(cv2.resize(ex["image"], (size, size), interpolation=cv2.INTER_AREA))
        wrists.append([*(ex["keypoints"][0, 0, :2] * (size / w, size / h)), 0.0])
    return np.stack(images), np.asarray(wrists, np.float32)


@dataclass(frozen=True, repr=False)
class ToyTask(Task):
    name: str = "toy_wrist"
    topology: str = "hand"
    roles: dict = field(default_factory=lambda: {"toy_wrist": {"landmarks": "wrist", "values": 3}})
    config_dir: Path | None = HERE / "configs"

    def build_model(self, recipe):
        import keras

        size = int(recipe.input_size)
        inputs = keras.Input((size, size, 3))
        x = inputs
        for i in range(3):
            x = keras.layers.Conv2D(int(recipe.filters) * 2**i, 3, strides=2, activation="relu")(x)
        x = keras.layers.GlobalAveragePooling2D()(x)
        wrist = keras.layers.Rescaling(float(size), name="wrist")(keras.layers.Dense(3, activation="sigmoid")(x))
        return keras.Model(inputs, {"wrist": wrist}, name="toy_wrist")

    def losses(self, recipe):
        import keras

        return {"wrist": keras.losses.MeanAbsoluteError()}, {"wrist": float(recipe.loss.wrist)}

    def pack_targets(self, targets):
        return {"wrist": targets["wrist"]}

    def dataset(self, cfg, dataset_dir, split, training):
        import tensorflow as tf

        images, wrists = _frames(cfg, dataset_dir, split)
        ds = tf.data.Dataset.from_tensor_slices((images.astype(np.float32) / 255.0, {"wrist": wrists}))
        ds = ds.shuffle(len(images), seed=int(cfg.seed)).repeat() if training else ds
        return ds.batch(int(cfg.trainer.batch_size))

    def evaluate(self, cfg, run_dir):
        from blazeforge.evaluation.predictors import load_predictor
        from blazeforge.runs import dataset_of

        dataset_dir = dataset_of(cfg.evaluate.dataset, cfg.evaluate.checkpoint, "evaluate")
        images, wrists = _frames(cfg, dataset_dir, str(cfg.evaluate.split))
        found = load_predictor(str(cfg.evaluate.checkpoint))(images)["wrist"]
        error = np.linalg.norm(found[:, :2] - wrists[:, :2], axis=1) / int(cfg.recipe.input_size)
        return {"wrist_error": float(error.mean()), "count": len(images)}

    def export(self, cfg, run_dir):
        from blazeforge.evaluation.predictors import tflite_predictor
        from blazeforge.export.tflite import export_model, load_checkpoint, parity
        from blazeforge.runs import write_sidecar

        model, dataset_dir = load_checkpoint(cfg)
        images, _ = _frames(cfg, dataset_dir, "train")
        x = images.astype(np.float32) / 255.0
        reference = {"wrist": np.asarray(model(x, training=False)["wrist"])}

        def check(path):
            return {"parity": parity(reference, tflite_predictor(path)(images))}

        exports = export_model(self, cfg, run_dir, model, x, check)
        write_sidecar(run_dir, self.name, self.roles, input_size=int(cfg.recipe.input_size))
        return {"exports": exports}

    def summary(self, metrics):
        return (
            [("wrist error", f"{100 * metrics['wrist_error']:.1f}% of the frame")] if "wrist_error" in metrics else []
        )


TOY = ToyTask()


@calculator
class WholeFrame(Calculator):
    """ROIS: one ROI covering the whole (square) frame, for models that see all of it."""

    INPUTS = {"IMAGE": "image"}
    OUTPUTS = {"ROIS": "rois"}

    def process(self, timestamp, inputs):
        h, w = inputs["IMAGE"].shape[:2]
        return {"ROIS": [Roi(w / 2, h / 2, float(w), float(h), 0.0)]}


GRAPH = HERE / "toy_wrist.yaml"
