import numpy as np
import pytest

from blazeforge import recipes
from blazeforge.config import compose
from blazeforge.errors import BlazeforgeError
from blazeforge.export.tflite import convert, parity
from blazeforge.runtime import TfliteModel


@pytest.fixture(scope="module")
def model():
    return recipes.get("hand_landmarks").build_model(
        compose("train", ["experiment=smoke", "recipe.input_size=64"]).recipe
    )


@pytest.mark.parametrize("quantize, tolerance", [("none", 1e-3), ("fp16", 0.5), ("dynamic", 2.0), ("int8", 4.0)])
def test_every_quantization_converts_and_matches_keras(model, tmp_path, quantize, tolerance):
    x = np.random.default_rng(0).uniform(0, 1, (8, 64, 64, 3)).astype(np.float32)
    path = tmp_path / f"m_{quantize}.tflite"
    path.write_bytes(convert(model, quantize, calibration=x))
    lite = TfliteModel(path)
    assert set(lite.outputs) == {"landmarks", "presence", "handedness"}  # named by the signature
    diffs = parity({k: np.asarray(v) for k, v in model(x).items()}, lite(x))
    assert diffs["landmarks"]["max_abs_diff"] < tolerance  # crop pixels of a 64 px crop
    assert diffs["presence"]["max_abs_diff"] < 0.05


def test_int8_without_calibration_and_unknown_quantization_are_errors(model, tmp_path):
    with pytest.raises(BlazeforgeError, match="calibration"):
        convert(model, "int8")
    from blazeforge.export.tflite import quantizations

    with pytest.raises(BlazeforgeError, match="export.quantize"):
        quantizations(["none", "int4"])


def test_fp32_export_is_one_delegable_graph_without_runtime_shape_ops(model, tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    path = tmp_path / "m.tflite"
    path.write_bytes(convert(model, "none"))
    interpreter = Interpreter(model_path=str(path))
    interpreter.allocate_tensors()  # applies LiteRT's default XNNPack delegate
    ops = [d["op_name"] for d in interpreter._get_ops_details()]
    assert "RESHAPE" in ops and not set(ops) & {"SHAPE", "STRIDED_SLICE", "PACK"}
    assert ops.count("DELEGATE") == 1  # XNNPack takes the whole graph in one partition
