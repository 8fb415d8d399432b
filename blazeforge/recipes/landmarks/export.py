"""`blazeforge export` for landmark models: TFLite files checked on the dataset's eval crops.

Each `<task>_<precision>.tflite` (`export.tflite.export_model`; int8 calibrated on training crops,
real ones first) is checked against Keras on up to 64 eval crops: max and mean absolute
difference per output, the NME of both (normalized as the task says: palm size, IOD, eye width)
and its delta. Beside them, `<task>.json`: the task, the runtime roles it fills and their output
bindings, its input size, outputs and topology.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from blazeforge.datasets.builder import require_topology
from blazeforge.evaluation.predictors import keras_predictor, tflite_predictor
from blazeforge.export.tflite import PARITY_SAMPLES, export_model, load_checkpoint, parity, parity_split, quantizations
from blazeforge.recipes.landmarks.evaluate import collect, landmarks_of, score, to_image
from blazeforge.runs import write_sidecar
from blazeforge.topology import get as get_topology


def calibration_crops(cfg: DictConfig, dataset_dir: str, size: int, count: int) -> np.ndarray:
    """`count` train crops in [0, 1], real-source ones first."""
    data = collect(cfg, dataset_dir, "train", size, limit=max(count * 4, count))
    order = np.argsort([source != "real" for source in data["source"]], kind="stable")
    return data["crop"][order[:count]].astype(np.float32) / 255.0


def export(task, cfg: DictConfig, run_dir: Path) -> dict:
    """Export cfg.export.checkpoint (a model of `task`) at each of cfg.export.quantize."""
    run_dir = Path(run_dir)
    model, dataset_dir = load_checkpoint(cfg)
    require_topology(dataset_dir, task.data_topology(cfg.recipe), f"task {task.name}")
    topology = get_topology(task.topology)
    reference = keras_predictor(model)
    size = reference.input_size
    data = collect(cfg, dataset_dir, parity_split(dataset_dir), size, limit=PARITY_SAMPLES)
    int8 = "int8" in quantizations(cfg.export.quantize)
    calibration = calibration_crops(cfg, dataset_dir, size, int(cfg.export.calibration)) if int8 else None
    keras_out = reference(data["crop"])

    def nme(out):
        return score(to_image(landmarks_of(out, task), data["roi"], size, data["mirrored"]), data, topology)["nme_2d"]

    keras_nme = nme(keras_out)

    def check(path):
        out = tflite_predictor(path)(data["crop"])
        found = nme(out)
        return {
            "parity": parity(keras_out, out),
            "nme_2d": found,
            "keras_nme_2d": keras_nme,
            "nme_delta": found - keras_nme,
        }

    exports = export_model(task, cfg, run_dir, model, calibration, check)
    sidecar = write_sidecar(
        run_dir, task.name, task.roles, input_size=size, outputs=sorted(keras_out), topology=topology.name
    )
    return {
        "exports": exports,
        "checkpoint": str(cfg.export.checkpoint),
        "parity_samples": len(data["crop"]),
        "sidecar": str(sidecar),
    }
