"""The export engine: Keras checkpoint -> SavedModel -> TFLite, checked against the Keras model.

For each quantization in cfg.export.quantize (none | fp16 | dynamic | int8):
- none: float32; fp16: float16 weights; dynamic: int8 weights, float activations;
- int8: int8 weights and activations, calibrated on samples the task's exporter gives; the input
  and output stay float32, so every export is fed the same way.
`export_model` writes `<task>_<fp32|fp16|dynamic|int8>.tflite` and times each with LiteRT
(XNNPack) at cfg.export.threads; the task's exporter (`recipes/<family>/export.py`) checks them on
its own data (`parity`: max and mean absolute difference per output against Keras, and its
accuracy figure) and writes the sidecar the runtime reads (`runs.write_sidecar`).
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, ListConfig

from blazeforge.errors import BlazeforgeError
from blazeforge.runs import PRECISIONS, dataset_of, export_path

log = logging.getLogger(__name__)
PARITY_SAMPLES = 64


def quantizations(value) -> list[str]:
    """export.quantize (one of none | fp16 | dynamic | int8, or a list) as a list."""
    values = list(value) if isinstance(value, (list, tuple, ListConfig)) else [value]
    for q in values:
        if q not in PRECISIONS:
            raise BlazeforgeError("export.quantize", f"expected none | fp16 | dynamic | int8 (or a list), got {q!r}")
    return values


@contextlib.contextmanager
def saved_model(model):
    """A temporary SavedModel of a Keras model (model.export), to convert at several precisions."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "saved_model"
        model.export(str(path), format="tf_saved_model", verbose=False)
        yield path


def convert(model, quantize: str, calibration: np.ndarray | None = None, saved: Path | None = None) -> bytes:
    """The TFLite flatbuffer of a Keras model, through a SavedModel (`saved`, else one made here).

    calibration: float32 [N, S, S, 3] in [0, 1], needed for int8.
    """
    import tensorflow as tf

    if saved is None:
        with saved_model(model) as made:
            return convert(model, quantize, calibration, made)
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
    return order_outputs(converter.convert(), list(model.output) if isinstance(model.output, dict) else None)


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


def export_model(task, cfg: DictConfig, run_dir: Path, model, calibration, check) -> dict:
    """Convert `model` at each of cfg.export.quantize into `<task>_<precision>.tflite` in run_dir and
    check each: `check(path) -> {figure: value}` (the family's parity and accuracy on its own
    data), bytes, and LiteRT (XNNPack) latency at cfg.export.threads. Returns {precision: figures}.

    calibration: the int8 samples (None where int8 is not asked for).
    """
    from blazeforge.runtime import TfliteModel

    exports = {}
    with saved_model(model) as saved:  # one SavedModel for every precision
        for q in quantizations(cfg.export.quantize):
            export_path(run_dir, task.name, q).write_bytes(convert(model, q, calibration, saved))
    for q in quantizations(cfg.export.quantize):
        path = export_path(run_dir, task.name, q)
        latency = {
            f"threads_{t}": TfliteModel(path, int(t)).latency_ms(int(cfg.export.latency_runs))
            for t in cfg.export.threads
        }
        exports[PRECISIONS[q]] = {"path": str(path), "bytes": path.stat().st_size, **check(path), "latency_ms": latency}
        log.info("export: %s %s", path, latency)
    return exports


def load_checkpoint(cfg: DictConfig) -> tuple:
    """(Keras model, the dataset for calibration and parity) of cfg.export.checkpoint; the dataset is
    export.dataset or the one it was trained on."""
    from blazeforge.models import load_model

    if not cfg.export.checkpoint:
        raise BlazeforgeError("export.checkpoint", "expected a train run directory or a .keras file")
    model = load_model(cfg.export.checkpoint)
    return model, dataset_of(cfg.export.dataset, cfg.export.checkpoint, "export")


def parity_split(dataset_dir: str) -> str:
    """The split exports are checked on: test, else train (a dataset too small for a test split)."""
    from blazeforge.datasets import summary

    return "test" if summary(dataset_dir)["splits"].get("test") else "train"
