"""A real Label Studio from its own venv on loopback: prelabels in, an annotation through its API, back out."""

from __future__ import annotations

import socket

import cv2
import numpy as np
import pytest

from blazeforge import topology
from blazeforge.annotation import labelstudio
from blazeforge.errors import BlazeforgeError
from tests.annotation.test_interchange import _samples

OFFLINE = ("connection", "network", "resolve", "no matching distribution", "could not find a version")


@pytest.fixture(scope="module")
def program():
    try:
        return labelstudio.install()
    except BlazeforgeError as e:
        if any(word in str(e).lower() for word in OFFLINE):
            pytest.skip(f"the package registry cannot be reached: {e}")
        raise


def test_non_loopback_binds_need_a_password_and_busy_ports_are_refused(tmp_path):
    with pytest.raises(BlazeforgeError, match="set annotate.password"):
        labelstudio.Server(tmp_path / "data", tmp_path, host="0.0.0.0")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        server = labelstudio.Server(tmp_path / "data", tmp_path, port=busy.getsockname()[1], program=tmp_path / "none")
        with pytest.raises(BlazeforgeError, match="is in use"):
            server.start()


@pytest.mark.slow
def test_label_studio_round_trips_prelabels_and_annotations(tmp_path, program):
    hand = topology.get("hand")
    samples = _samples(tmp_path / "images", hand, n=2)
    for s in samples:
        s.meta["source"] = "prelabel"
    with labelstudio.Server(tmp_path / "studio", tmp_path / "images", program=program) as studio:
        assert studio.host == "127.0.0.1"
        project = studio.create_project("hands prelabelled", hand)
        assert studio.import_samples(project, samples, hand, model_version="v1") == 2
        tasks = studio.tasks(project)
        predictions = [studio.predictions(t["id"]) for t in tasks]
        assert [[p["model_version"] for p in found] for found in predictions] == [["v1"], ["v1"]]
        # an annotator moves every point of the first task's prelabel 3.25 px right, through the API
        task = tasks[0]
        result = predictions[0][0]["result"]
        for item in result:
            item["value"]["x"] += 100 * 3.25 / item["original_width"]
        studio.call("POST", f"/api/tasks/{task['id']}/annotations", {"result": result, "lead_time": 4.0})
        (pulled,) = studio.pull(project, hand)
    first = next(s for s in samples if s.image == pulled.image)
    expected = first.keypoints[..., :2] + np.where(first.keypoint_mask[..., :2], [3.25, 0.0], 0)
    np.testing.assert_allclose(pulled.keypoints[..., :2], expected, atol=0.01)
    np.testing.assert_array_equal(pulled.visibility, first.visibility)
    assert pulled.meta["annotator"] == "annotator@blazeforge.local" and pulled.meta["lead_time"] == "4.0"
    assert cv2.imread(str(tmp_path / "images" / pulled.image)) is not None


@pytest.mark.slow
def test_label_studio_asks_our_ml_backend_for_predictions(tmp_path, program):
    from skimage import data

    from blazeforge.annotation import interchange
    from blazeforge.annotation.ml_backend import Backend, Prelabeler
    from blazeforge.datasets.schema import Sample

    face = topology.get("face_mesh")
    (tmp_path / "images").mkdir()
    cv2.imwrite(str(tmp_path / "images" / "astronaut.png"), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    empty = Sample(
        image="astronaut.png",
        width=512,
        height=512,
        keypoints=np.zeros((0, 468, 3), np.float32),
        keypoint_mask=np.zeros((0, 468, 3), bool),
        visibility=np.zeros((0, 468), np.float32),
        boxes=np.zeros((0, 4), np.float32),
        presence=np.zeros(0, np.float32),
        handedness=np.zeros(0, np.float32),
    )
    prelabeler = Prelabeler("face_mesh")
    expected, _ = prelabeler(tmp_path / "images" / "astronaut.png", "astronaut.png", 468)
    assert expected.num_instances == 1
    with (
        labelstudio.Server(tmp_path / "studio", tmp_path / "images", program=program) as studio,
        Backend(prelabeler, tmp_path / "images", face) as backend,
    ):
        project = studio.create_project("faces from the backend", face)
        studio.import_samples(project, [empty], face)
        studio.connect_backend(project, backend.url)
        studio.retrieve_predictions(project)
        (task,) = studio.tasks(project)
        (prediction,) = studio.predictions(task["id"])
    assert prediction["model_version"] == prelabeler.model_version
    data_ = {"path": "astronaut.png", "width": 512, "height": 512}
    got = interchange.sample_from_ls_result(prediction["result"], data_, face, "prediction", {})
    np.testing.assert_allclose(got.keypoints[..., :2], expected.keypoints[..., :2], atol=0.01)


def test_the_backend_routes_answer_on_loopback(tmp_path):
    import json
    import urllib.request

    from blazeforge.annotation.ml_backend import Backend, Prelabeler

    def post(url, body):
        request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
        with urllib.request.urlopen(request) as answer:
            return json.loads(answer.read())

    prelabeler = Prelabeler("hand")
    with Backend(prelabeler, tmp_path, topology.get("hand")) as backend:
        assert backend.server_address[0] == "127.0.0.1"
        with urllib.request.urlopen(backend.url + "/health") as answer:
            assert json.loads(answer.read())["status"] == "UP"
        assert post(backend.url + "/setup", {"project": "1"}) == {"model_version": prelabeler.model_version}
        assert post(backend.url + "/webhook", {"action": "ANNOTATION_CREATED"}) == {"status": "ok"}
        assert backend.events == [{"action": "ANNOTATION_CREATED"}]
        with pytest.raises(urllib.error.HTTPError, match="400"):  # an image outside the folder
            post(backend.url + "/predict", {"tasks": [{"data": {"path": "../secret.png"}}]})
