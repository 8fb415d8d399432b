"""`blazeforge export`: Keras checkpoint -> SavedModel -> TFLite, checked against the Keras model.

For each quantization in cfg.export.quantize (none | fp16 | dynamic | int8):
- none: float32; fp16: float16 weights; dynamic: int8 weights, float activations;
- int8: int8 weights and activations, calibrated on cfg.export.calibration dataset crops (real
  ones first where the dataset has them); the input and output stay float32, so every export is
  fed the same way.
Each file `<recipe>_<fp32|fp16|dynamic|int8>.tflite` is checked on the dataset's eval crops:
max and mean absolute difference per output against Keras, the NME of both (normalized as the
topology says: palm size, IOD, eye width) and its delta, and LiteRT (XNNPack) latency at
cfg.export.threads.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, ListConfig, OmegaConf

from blazeforge.errors import BlazeforgeError

log = logging.getLogger(__name__)
QUANTIZATIONS = {"none": "fp32", "fp16": "fp16", "dynamic": "dynamic", "int8": "int8"}
PARITY_SAMPLES = 64


def _quantizations(value) -> list[str]:
    values = list(value) if isinstance(value, (list, tuple, ListConfig)) else [value]
    for q in values:
        if q not in QUANTIZATIONS:
            raise BlazeforgeError("export.quantize", f"expected none | fp16 | dynamic | int8 (or a list), got {q!r}")
    return values


def convert(model, quantize: str, calibration: np.ndarray | None = None) -> bytes:
    """The TFLite flatbuffer of a Keras model (through model.export to a SavedModel).

    calibration: float32 [N, S, S, 3] in [0, 1], needed for int8.
    """
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as tmp:
        saved = Path(tmp) / "saved_model"
        model.export(str(saved), format="tf_saved_model", verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
        if quantize in ("fp16", "dynamic", "int8"):
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "fp16":
            converter.target_spec.supported_types = [tf.float16]
        if quantize == "int8":
            if calibration is None or not len(calibration):
                raise BlazeforgeError("export.calibration", "int8 needs calibration samples from a dataset")
            converter.representative_dataset = lambda: ([x[None]] for x in calibration.astype(np.float32))
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = tf.float32
            converter.inference_output_type = tf.float32
        flatbuffer = converter.convert()
    return order_outputs(flatbuffer, list(model.output) if isinstance(model.output, dict) else None)


def order_outputs(flatbuffer: bytes, names: list[str] | None) -> bytes:
    """The flatbuffer with its graph outputs in the order of `names` (the model's output dict's,
    which Keras keeps as built) and its tensors named by them.

    The converter orders a SavedModel's outputs by its own rules (alphabetically for a dict, shuffled
    for a list); MediaPipe's graphs read a model's outputs by position, so an export that is to stand
    in for a published file must list them as it does (regressors before classificators, landmarks
    before presence). The signature keeps the names, so LiteRT callers find them either way.
    """
    if not names:
        return flatbuffer
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(flatbuffer, 0)
    graph = model.subgraphs[0]
    signature = {o.name.decode(): o.tensorIndex for o in model.signatureDefs[0].outputs}
    if sorted(signature) != sorted(names):
        raise BlazeforgeError("export", f"the converted outputs {sorted(signature)} are not the model's {names}")
    graph.outputs = [signature[name] for name in names]
    for name in names:
        graph.tensors[signature[name]].name = name.encode()
    builder = flatbuffers.Builder(len(flatbuffer) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def parity(reference: dict, candidate: dict) -> dict:
    """{output: {max_abs_diff, mean_abs_diff}} between two predictions of the same inputs."""
    return {
        name: {
            "max_abs_diff": float(np.abs(candidate[name] - ref).max()),
            "mean_abs_diff": float(np.abs(candidate[name] - ref).mean()),
        }
        for name, ref in reference.items()
    }


def export(cfg: DictConfig, run_dir: Path) -> dict:
    """Export cfg.export.checkpoint at each of cfg.export.quantize; returns {"exports": {...}}.

    Detector checkpoints (`recipes.of_checkpoint`) go to `export.detector`, gesture classifiers to
    `export.gesture`."""
    from blazeforge.recipes import is_detector, of_checkpoint

    if not cfg.export.checkpoint:
        raise BlazeforgeError("export.checkpoint", "expected a train run directory or a .keras file")
    kind = of_checkpoint(cfg.export.checkpoint, str(cfg.recipe.name))
    if is_detector(kind):
        from blazeforge.export.detector import export as export_detector

        return export_detector(cfg, run_dir)
    if kind == "gesture":
        from blazeforge.export.gesture import export as export_gesture

        return export_gesture(cfg, run_dir)
    from blazeforge import recipes
    from blazeforge.evaluation.landmarks import collect, landmarks_of, recipe_config, score, to_image
    from blazeforge.evaluation.predictors import keras_predictor, tflite_predictor
    from blazeforge.runtime import TfliteModel
    from blazeforge.topology import get as get_topology

    run_dir = Path(run_dir)
    quantizations = _quantizations(cfg.export.quantize)
    model, _, dataset_dir = checkpoint_inputs(cfg)
    cfg = recipe_config(cfg, dataset_dir, cfg.export.checkpoint)
    topology = get_topology(str(cfg.recipe.topology))
    reference = keras_predictor(model)
    size = reference.input_size
    split = "test" if _has_split(dataset_dir, "test") else "train"
    data = collect(cfg, dataset_dir, split, size, limit=PARITY_SAMPLES)
    calibration = _calibration(cfg, dataset_dir, size, int(cfg.export.calibration)) if "int8" in quantizations else None
    keras_out = reference(data["crop"])
    recipe = recipes.get(str(cfg.recipe.name))
    nme = lambda out: score(
        to_image(landmarks_of(out, recipe), data["roi"], size, data["mirrored"]),  # noqa: E731
        data,
        topology,
    )["nme_2d"]
    keras_nme = nme(keras_out)

    exports = {}
    name = cfg.recipe.name
    for q in quantizations:
        path = run_dir / f"{name}_{QUANTIZATIONS[q]}.tflite"
        path.write_bytes(convert(model, q, calibration))
        candidate = tflite_predictor(path)
        out = candidate(data["crop"])
        tflite_nme = nme(out)
        latency = {
            f"threads_{t}": TfliteModel(path, int(t)).latency_ms(int(cfg.export.latency_runs))
            for t in cfg.export.threads
        }
        exports[QUANTIZATIONS[q]] = {
            "path": str(path),
            "bytes": path.stat().st_size,
            "parity": parity(keras_out, out),
            "nme_2d": tflite_nme,
            "keras_nme_2d": keras_nme,
            "nme_delta": tflite_nme - keras_nme,
            "latency_ms": latency,
        }
        log.info("export: %s %s", path, exports[QUANTIZATIONS[q]]["latency_ms"])
    (run_dir / "export.yaml").write_text(
        OmegaConf.to_yaml({"recipe": name, "input_size": size, "outputs": sorted(keras_out), "topology": topology.name})
    )
    return {"exports": exports, "checkpoint": str(cfg.export.checkpoint), "parity_samples": len(data["crop"])}


def checkpoint_inputs(cfg: DictConfig) -> tuple:
    """(Keras model, the recipe config it was trained with, the dataset for calibration and parity)
    of cfg.export.checkpoint; the dataset is export.dataset or the one it was trained on."""
    from blazeforge.training.trainer import load_model, train_config

    model = load_model(cfg.export.checkpoint)
    trained = train_config(cfg.export.checkpoint)
    dataset_dir = cfg.export.dataset or (trained.train.dataset if trained is not None else None)
    if not dataset_dir:
        raise BlazeforgeError("export.dataset", "expected dataset=RUN_DIR for calibration and parity")
    return model, (cfg.recipe if trained is None else trained.recipe), str(dataset_dir)


def _has_split(dataset_dir: str, split: str) -> bool:
    from blazeforge.datasets import summary

    return bool(summary(dataset_dir)["splits"].get(split))


def _calibration(cfg: DictConfig, dataset_dir: str, size: int, count: int) -> np.ndarray:
    """`count` train crops in [0, 1], real-source ones first."""
    from blazeforge.evaluation.landmarks import collect

    data = collect(cfg, dataset_dir, "train", size, limit=max(count * 4, count))
    order = np.argsort([source != "real" for source in data["source"]], kind="stable")
    return data["crop"][order[:count]].astype(np.float32) / 255.0
