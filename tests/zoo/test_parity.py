"""Our Keras models with imported weights reproduce MediaPipe's published .tflite files."""

import json

import numpy as np
import pytest

from blazeforge import zoo
from blazeforge.cli import main
from blazeforge.errors import BlazeforgeError
from blazeforge.zoo import parity
from blazeforge.zoo.importer import load_tflite_weights


@pytest.mark.parametrize("name", sorted(n for n, m in zoo.MODELS.items() if m.builder))
def test_imported_model_matches_the_published_file_on_real_photos(name):
    images = list(parity.photos().values())
    inputs = parity.model_inputs(name, images)
    report = parity.compare(name, inputs)
    assert set(report) == {o.name for o in zoo.get(name).outputs}
    for output, figures in report.items():
        assert figures["max_abs_diff"] <= figures["tolerance"] == parity.tolerance(name, output), (name, output)
        assert figures["inputs"] == len(inputs) >= len(images)
    assert not parity.failures({name: report})


def test_the_required_models_have_architectures():
    for name in (
        "face_detection_short_range",
        "face_detection_full_range_sparse",
        "face_landmark",
        "iris_landmark",
        "palm_detection_full",
        "palm_detection_lite",
        "hand_landmark_full",
        "hand_landmark_lite",
        "pose_detection",
        "pose_landmark_full",
    ):
        assert zoo.get(name).builder is not None, name


def test_face_landmark_parity_runs_on_face_crops_from_the_published_detector():
    images = list(parity.photos().values())
    inputs = parity.model_inputs("face_landmark", images)
    assert len(inputs) == len(images) + 2  # the astronaut's and Grace Hopper's faces
    # A face crop is a face: the published model's face flag is high on it, low on the coffee cup.
    flag = 1 / (1 + np.exp(-zoo.keras_model("face_landmark").predict(inputs, verbose=0)[1].reshape(-1)))
    assert flag[-1] > 0.9 and flag[-2] > 0.9 and flag[1] < 0.5


def test_zoo_parity_cli_writes_metrics(tmp_path, capsys):
    assert main(["zoo", "parity", "iris_landmark", f"run_dir={tmp_path}"]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert set(metrics) == {"iris_landmark"}
    assert set(metrics["iris_landmark"]) == {"eye_contour", "iris"}
    assert all(o["max_abs_diff"] <= 1e-3 for o in metrics["iris_landmark"].values())
    assert "iris_landmark" in capsys.readouterr().out


def test_a_model_of_another_architecture_fails_loudly():
    from blazeforge.models.hand_landmark import hand_landmark_model

    with pytest.raises(BlazeforgeError, match="CONV_2D .* matches no layer left .* block1/project"):
        load_tflite_weights(hand_landmark_model("lite"), zoo.tflite_path("hand_landmark_full"))
    with pytest.raises(BlazeforgeError, match="has 2 outputs"):
        load_tflite_weights(hand_landmark_model("full"), zoo.tflite_path("face_landmark"))


def test_a_model_without_architecture_says_which_have_one():
    with pytest.raises(BlazeforgeError, match="no Keras architecture.*hand_landmark_full"):
        zoo.keras_model("selfie_segmentation")


def test_a_reexported_model_matches_the_published_file(tmp_path):
    from blazeforge.runtime.interpreter import TfliteModel

    path = parity.reexport("face_detection_short_range", tmp_path / "face.tflite")
    inputs = parity.model_inputs("face_detection_short_range", list(parity.photos().values()))
    report = parity.compare_reexport("face_detection_short_range", path, inputs)
    assert set(report) == {"regressors", "classificators"}
    assert all(f["max_abs_diff"] <= parity.TOLERANCE for f in report.values())
    assert set(TfliteModel(path).outputs) == {"regressors", "classificators"}  # named as the registry names them
    from blazeforge.zoo.tflite_graph import io_spec

    assert [name for name, _ in io_spec(path)[1]] == ["regressors", "classificators"]  # MediaPipe's order
