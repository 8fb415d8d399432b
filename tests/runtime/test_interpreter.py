import subprocess
import sys

import numpy as np
import pytest

from blazeforge import zoo
from blazeforge.errors import BlazeforgeError
from blazeforge.runtime import TfliteModel


def test_the_runtime_imports_no_tensorflow():
    code = (
        "import sys, blazeforge.runtime, blazeforge.runtime.detector, blazeforge.runtime.draw, "
        "blazeforge.runtime.landmarks; "
        "sys.exit(int(any(m.split('.')[0] in ('tensorflow', 'keras') for m in sys.modules)))"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_runs_a_published_model_by_tensor_name():
    model = TfliteModel(zoo.tflite_path("hand_landmark_lite"), threads=1)
    out = model(np.zeros((1, 224, 224, 3), np.float32))
    assert out["Identity"].shape == (1, 63) and out["Identity_1"].shape == (1, 1)
    assert set(model.latency_ms(runs=2, warmup=1)) == {"median", "p95"}


def test_models_timed_in_turn_get_one_figure_each():
    from blazeforge.runtime.interpreter import latency_ms

    full = TfliteModel(zoo.tflite_path("hand_landmark_full"), threads=1)
    lite = TfliteModel(zoo.tflite_path("hand_landmark_lite"), threads=1)
    figures = latency_ms([full, lite], runs=5, warmup=1)
    assert len(figures) == 2 and all(0 < f["median"] <= f["p95"] for f in figures)
    assert figures[1]["median"] < figures[0]["median"]  # the lite model is the faster one


def test_truncated_or_missing_tflite_is_one_line(tmp_path):
    broken = tmp_path / "model.tflite"
    broken.write_bytes(zoo.tflite_path("hand_landmark_lite").read_bytes()[:5000])
    with pytest.raises(BlazeforgeError, match="model.tflite: not a valid TFLite flatbuffer"):
        TfliteModel(broken)
    with pytest.raises(BlazeforgeError, match="TFLite file not found"):
        TfliteModel(tmp_path / "none.tflite")
    with pytest.raises(BlazeforgeError, match=r"expected \[B, 224, 224, 3\]"):
        TfliteModel(zoo.tflite_path("hand_landmark_lite"))(np.zeros((1, 96, 96, 3)))


def test_mediapipe_face_detector_decodes_through_our_anchors():
    """The published face detector finds the astronaut's face through geometry.anchors/detections."""
    from skimage import data

    from blazeforge.geometry.anchors import FACE_DETECTION_SHORT_RANGE
    from blazeforge.runtime.detector import SsdDetector

    image = data.astronaut()
    detector = SsdDetector(
        TfliteModel(zoo.tflite_path("face_detection_short_range")), FACE_DETECTION_SHORT_RANGE, value_range=(-1.0, 1.0)
    )
    detections = detector(image)
    assert len(detections) == 1 and detections[0, 0] > 0.8
    x0, y0, x1, y1 = detections[0, 1:5] * 512
    assert 150 < x0 < x1 < 300 and 50 < y0 < y1 < 200  # her face


def test_an_export_without_its_decoding_options_is_one_line(tmp_path):
    from blazeforge.runtime.detector import SsdDetector

    path = tmp_path / "palm_detection_fp32.tflite"
    path.write_bytes(zoo.tflite_path("palm_detection_lite").read_bytes())
    with pytest.raises(BlazeforgeError, match="expected the decoding options beside it"):
        SsdDetector.from_export(path)


def test_the_litert_accelerator_path_reads_and_writes_the_same_tensors(monkeypatch):
    """LITERT_GPU runs a CompiledModel; with the CPU standing in for a GPU (none here), its outputs
    are the interpreter's, by name."""
    from ai_edge_litert.compiled_model import CompiledModel

    from blazeforge.runtime import interpreter

    monkeypatch.setattr(interpreter, "_compiled_on_gpu", lambda path: CompiledModel.from_file(str(path)))
    path = zoo.tflite_path("iris_landmark")
    assert interpreter.gpu_delegate(probe=path) is interpreter.LITERT_GPU
    x = np.random.default_rng(0).uniform(0, 1, (1, 64, 64, 3)).astype(np.float32)
    plain, compiled = TfliteModel(path), TfliteModel(path, delegate=interpreter.LITERT_GPU)
    assert compiled.fully_accelerated is not None and plain.fully_accelerated is None
    expected, got = plain(x), compiled(x)
    assert set(got) == set(expected) == {"output_eyes_contours_and_brows", "output_iris"}
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], atol=1e-4)
    with pytest.raises(BlazeforgeError, match="batch of 2"):
        compiled(np.concatenate([x, x]))
