"""`blazeforge export` for the Objectron model: TFLite files checked on the dataset's frames.

Each `objectron_<precision>.tflite` (`export.tflite.export_model`; int8 calibrated on training
frames) is checked against Keras on up to 64 frames' letterbox views: max and mean absolute
difference per output. Beside them, `objectron.json`: the task and the runtime role it fills
(`cuboids`: heatmap, offsets, segmentation), so that `runtime.cuboids.CuboidDetector` and
the pipelines read it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf

from blazeforge.datasets.builder import require_topology
from blazeforge.evaluation.predictors import keras_predictor, tflite_predictor
from blazeforge.export.tflite import PARITY_SAMPLES, export_model, load_checkpoint, parity, parity_split, quantizations
from blazeforge.recipes.objectron.data import eval_frames
from blazeforge.runs import write_sidecar


def export(task, cfg: DictConfig, run_dir: Path) -> dict:
    """Export cfg.export.checkpoint (an Objectron model) at each of cfg.export.quantize."""
    run_dir = Path(run_dir)
    model, dataset_dir = load_checkpoint(cfg)
    require_topology(dataset_dir, task.topology, f"task {task.name}")
    reference = keras_predictor(model)
    size = list(reference.input_shape)
    cfg = OmegaConf.merge(cfg, {"recipe": {"input_size": size}})
    views = np.stack([f["view"] for f in eval_frames(cfg, dataset_dir, parity_split(dataset_dir), PARITY_SAMPLES)])
    calibration = None
    if "int8" in quantizations(cfg.export.quantize):
        train = eval_frames(cfg, dataset_dir, "train", int(cfg.export.calibration))
        calibration = np.stack([f["view"] for f in train]).astype(np.float32) / 255.0
    keras_out = reference(views)

    def check(path):
        return {"parity": parity(keras_out, tflite_predictor(path)(views))}

    exports = export_model(task, cfg, run_dir, model, calibration, check)
    sidecar = write_sidecar(
        run_dir, task.name, task.roles, input_size=size, outputs=sorted(keras_out), topology="cuboid"
    )
    return {
        "exports": exports,
        "checkpoint": str(cfg.export.checkpoint),
        "parity_samples": len(views),
        "sidecar": str(sidecar),
    }
