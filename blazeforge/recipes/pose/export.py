"""`blazeforge export` for the pose landmark model: TFLite files checked on the dataset's crops.

Each `pose_landmarks_<precision>.tflite` (`export.tflite.export_model`; int8 calibrated on training
crops) is checked against Keras on up to 64 persons' crops: max and mean absolute difference per
output, and the NME (torso size) of the runtime's read-out (regression refined by the heatmap) for
both, with its delta. Beside them, `pose_landmarks.json`: the task, the runtime role it fills
(pose_landmarks: 39 x 5 values, heatmap, pose flag) and its outputs, so that `run pipeline=pose
models=EXPORT_DIR` takes it in place of MediaPipe's pose_landmark_full.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf

from blazeforge.datasets.builder import require_topology
from blazeforge.evaluation import metrics as M
from blazeforge.evaluation.predictors import keras_predictor, tflite_predictor
from blazeforge.export.tflite import PARITY_SAMPLES, export_model, load_checkpoint, parity, parity_split, quantizations
from blazeforge.recipes.pose.evaluate import collect, image_readouts, truth
from blazeforge.runs import write_sidecar


def export(task, cfg: DictConfig, run_dir: Path) -> dict:
    """Export cfg.export.checkpoint (a pose landmark model) at each of cfg.export.quantize."""
    run_dir = Path(run_dir)
    model, dataset_dir = load_checkpoint(cfg)
    require_topology(dataset_dir, task.topology, f"task {task.name}")
    reference = keras_predictor(model)
    size = reference.input_size
    cfg = OmegaConf.merge(cfg, {"recipe": {"input_size": size}})
    data = collect(cfg, dataset_dir, parity_split(dataset_dir), PARITY_SAMPLES)
    crops = np.stack([ex["crop"] for ex in data])
    calibration = None
    if "int8" in quantizations(cfg.export.quantize):
        train = collect(cfg, dataset_dir, "train", int(cfg.export.calibration))
        calibration = np.stack([ex["crop"] for ex in train]).astype(np.float32) / 255.0
    gt, mask, torso = truth(data)
    keras_out = reference(crops)

    def nme(out):
        return M.nme(image_readouts(out, data, size)["refined"], gt, mask, torso)

    keras_nme = nme(keras_out)

    def check(path):
        out = tflite_predictor(path)(crops)
        found = nme(out)
        return {"parity": parity(keras_out, out), "nme": found, "keras_nme": keras_nme, "nme_delta": found - keras_nme}

    exports = export_model(task, cfg, run_dir, model, calibration, check)
    sidecar = write_sidecar(run_dir, task.name, task.roles, input_size=size, outputs=sorted(keras_out), topology="pose")
    return {
        "exports": exports,
        "checkpoint": str(cfg.export.checkpoint),
        "parity_samples": len(data),
        "sidecar": str(sidecar),
    }
