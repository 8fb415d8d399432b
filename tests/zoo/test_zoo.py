import hashlib

import pytest

from blazeforge import zoo
from blazeforge.cli import main
from blazeforge.errors import BlazeforgeError


def test_every_model_in_the_registry_is_cached_with_its_checksum():
    paths = zoo.fetch()
    assert set(paths) == set(zoo.in_wheel()) and len(paths) == 13
    for name, path in paths.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == zoo.MODELS[name].sha256


def test_a_corrupted_cache_entry_is_replaced(tmp_path, monkeypatch):
    wheel = zoo.wheel_path()  # the default cache's wheel, fetched by `make` before the tests
    monkeypatch.setenv("BLAZEFORGE_CACHE", str(tmp_path))
    (tmp_path / "zoo" / "wheels").mkdir(parents=True)
    (tmp_path / "zoo" / "wheels" / wheel.name).symlink_to(wheel)
    path = zoo.tflite_path("hand_landmark_lite")
    path.write_bytes(b"truncated")
    assert zoo.tflite_path("hand_landmark_lite").stat().st_size > 1_000_000


def test_unknown_model_is_one_line(capsys):
    with pytest.raises(BlazeforgeError, match="not in the zoo"):
        zoo.tflite_path("hand_landmark_huge")
    assert main(["zoo", "fetch", "nope"]) == 2
    assert "not in the zoo" in capsys.readouterr().err


def test_topologies_come_from_the_wheel():
    from blazeforge.topology.hand import EDGES
    from blazeforge.zoo.connections import connections

    mesh = connections("face_mesh")
    assert len(mesh["FACEMESH_TESSELATION"]) == 2556
    assert max(max(pair) for pair in mesh["FACEMESH_TESSELATION"]) == 467  # 468 mesh points
    assert max(max(pair) for pair in mesh["FACEMESH_IRISES"]) == 477  # + 10 iris points
    assert mesh["FACEMESH_CONTOURS"] >= mesh["FACEMESH_LIPS"]
    assert len(connections("pose")["POSE_CONNECTIONS"]) == 35
    assert set(EDGES) == set(connections("hand")["HAND_CONNECTIONS"])  # our hand table is MediaPipe's
    from blazeforge.topology.pose import EDGES as POSE_EDGES
    from blazeforge.topology.pose import NAMES as POSE_NAMES

    assert set(POSE_EDGES) == set(connections("pose")["POSE_CONNECTIONS"]) and len(POSE_NAMES) == 33
    with pytest.raises(BlazeforgeError, match="expected one of"):
        connections("tail")


def test_registry_describes_every_output_of_every_model():
    from blazeforge.runtime import TfliteModel
    from blazeforge.zoo.tflite_graph import io_spec

    for name in zoo.in_wheel():
        spec = zoo.get(name)
        _, outputs = io_spec(zoo.tflite_path(name))
        assert [o.tensor for o in spec.outputs] == [n for n, _ in outputs], name
        assert spec.input_range in ((0.0, 1.0), (-1.0, 1.0))
    assert zoo.get("face_detection_short_range").detector == "FACE_DETECTION_SHORT_RANGE"
    assert TfliteModel(zoo.tflite_path("iris_landmark")).input_shape == (1, 64, 64, 3)


def test_url_only_models_say_where_they_live_and_are_checked_after_first_download(tmp_path, monkeypatch):
    monkeypatch.setenv("BLAZEFORGE_CACHE", str(tmp_path / "cache"))
    with pytest.raises(BlazeforgeError, match="not in the mediapipe wheel.*pose_landmark_lite.tflite.*source=url"):
        zoo.fetch(["pose_landmark_lite"])
    # A stand-in for MediaPipe's server: any .tflite, served from a folder.
    (tmp_path / "server").mkdir()
    served = tmp_path / "server" / "pose_landmark_lite.tflite"
    served.write_bytes(b"first version")
    monkeypatch.setattr(zoo, "MODEL_URL", f"file://{tmp_path}/server/{{name}}.tflite")
    path = zoo.fetch(["pose_landmark_lite"], source="url")["pose_landmark_lite"]
    assert path.read_bytes() == b"first version"
    assert (path.parent / "pose_landmark_lite.tflite.sha256").read_text().strip() == hashlib.sha256(
        b"first version"
    ).hexdigest()
    path.write_bytes(b"tampered")  # a changed cache entry is fetched again, not trusted
    served.write_bytes(b"first version")
    assert zoo.fetch(["pose_landmark_lite"], source="url")["pose_landmark_lite"].read_bytes() == b"first version"
