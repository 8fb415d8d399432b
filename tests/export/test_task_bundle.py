"""MediaPipe Tasks bundles: our metadata, the zip layout, and MediaPipe Tasks' own Python API
(its own venv, from the package registry) loading them."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from blazeforge import zoo
from blazeforge.errors import BlazeforgeError
from blazeforge.export import metadata, task_bundle
from blazeforge.export.mediapipe_client import run_bundle
from blazeforge.runs import write_sidecar
from blazeforge.zoo.parity import reexport

RENDERS = sorted((Path(__file__).parents[1] / "zoo" / "renders").glob("*.png"))
OFFLINE = ("connection", "network", "resolve", "no matching distribution", "could not find a version")


def _run(task, bundle, images):
    try:
        return run_bundle(task, bundle, images)
    except BlazeforgeError as e:
        if any(word in str(e).lower() for word in OFFLINE):
            pytest.skip(f"the package registry cannot be reached: {e}")
        raise


def test_normalization_maps_pixels_onto_the_input_range():
    assert metadata.normalization((0.0, 1.0)) == (0.0, 255.0)
    assert metadata.normalization((-1.0, 1.0)) == (127.5, 127.5)


def test_metadata_replaces_the_files_own_and_carries_the_schema_identifier():
    published = zoo.tflite_path("palm_detection_full").read_bytes()
    info = metadata.ModelInfo("hand_detector", "test", (0.0, 1.0), ("regressors", "classificators"))
    once = metadata.with_metadata(published, info)
    twice = metadata.with_metadata(once, info)
    assert metadata.read_metadata(published)[4:8] == b"M001"  # MediaPipe's own
    assert metadata.read_metadata(twice) == metadata.metadata_buffer(info)
    assert b"hand_detector" in metadata.read_metadata(twice) and b"hand_detector" not in published
    assert abs(len(twice) - len(once)) < 64  # replaced, not appended again


def _published_bundle(path: Path) -> Path:
    """MediaPipe's own two files, untouched (their own metadata), zipped stored."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.write(zoo.tflite_path("palm_detection_full"), "hand_detector.tflite")
        archive.write(zoo.tflite_path("hand_landmark_full"), "hand_landmarks_detector.tflite")
    return path


def _hands(found: dict) -> list[np.ndarray]:
    return [np.array(instances[0])[:, :2] for instances in found.values()]


def test_our_hand_bundle_runs_in_mediapipe_tasks_as_mediapipes_own_files_do(tmp_path):
    """Our metadata and zip on MediaPipe's files, then with our re-export of hand_landmark_full in
    place of theirs: HandLandmarker gives the landmarks it gives with MediaPipe's files as published."""
    ours = tmp_path / "hand_landmarker.task"
    sources = task_bundle.build(task_bundle.BUNDLES["hands"], "mediapipe", "fp32", ours)
    assert Path(sources["palm_detector"]).name == "palm_detection_full.tflite"
    with zipfile.ZipFile(ours) as archive:
        members = archive.infolist()
        assert [m.filename for m in members] == ["hand_detector.tflite", "hand_landmarks_detector.tflite"]
        for m in members:
            assert m.compress_type == zipfile.ZIP_STORED
            assert (m.header_offset + 30 + len(m.filename) + len(m.extra)) % 16 == 0  # data aligned
    expected = _hands(_run("HandLandmarker", _published_bundle(tmp_path / "published.task"), RENDERS))
    assert len(expected) == len(RENDERS)
    for a, b in zip(_hands(_run("HandLandmarker", ours, RENDERS)), expected, strict=True):
        assert np.abs(a - b).max() < 1e-6  # the same normalization as MediaPipe's own metadata

    export = tmp_path / "export"
    export.mkdir()
    reexport("hand_landmark_full", export / "hand_landmarks_fp32.tflite")
    write_sidecar(export, "hand_landmarks", {"hand_landmarks": {"score": "presence", "label": "handedness"}})
    mixed = tmp_path / "mixed.task"
    sources = task_bundle.build(task_bundle.BUNDLES["hands"], str(export), "fp32", mixed)
    assert Path(sources["hand_landmarks"]).parent == export
    for a, b in zip(_hands(_run("HandLandmarker", mixed, RENDERS)), expected, strict=True):
        palm = np.linalg.norm(b[0] - b[9])
        assert np.linalg.norm(a - b, axis=1).max() / palm < 0.005  # our re-export: float error only

    # Our runtime cutting its crops as HandLandmarker does (a target angle of 90 radians) lands
    # where the Task does; with the published rule's crops it does not.
    photos = {path.name: np.asarray(Image.open(path).convert("RGB")) for path in RENDERS}
    figures = task_bundle.verify(task_bundle.BUNDLES["hands"], mixed, str(export), "fp32", photos)
    assert figures["matched"] == len(RENDERS) and figures["unit"] == "palm size"
    assert figures["max"] < 0.5, json.dumps(figures)  # % of palm size
    assert figures["published_rule"]["mean"] > 2, json.dumps(figures)
    with pytest.raises(BlazeforgeError, match="has no int8 export"):  # our runtime runs the bundle's precision
        task_bundle.verify(task_bundle.BUNDLES["hands"], mixed, str(export), "int8", photos)
    rows = dict(
        task_bundle.summary_rows(
            {"bundle": str(mixed), "bytes": 1, "sources": {}, "task_class": "HandLandmarker", "verification": figures}
        )
    )
    assert "turns its crops 26.6 degrees (a target angle of 90 radians)" in rows["  with the published crops"]


def test_the_pose_bundle_lands_where_our_runtime_does(tmp_path):
    """pose_landmark_full carries no metadata of its own: PoseLandmarker feeds it by ours."""
    from blazeforge.zoo.parity import photos

    bundle = task_bundle.BUNDLES["pose"]
    path = tmp_path / bundle.file
    task_bundle.build(bundle, "mediapipe", "fp32", path)
    try:
        figures = task_bundle.verify(bundle, path, "mediapipe", "fp32", photos())
    except BlazeforgeError as e:
        if any(word in str(e).lower() for word in OFFLINE):
            pytest.skip(f"the package registry cannot be reached: {e}")
        raise
    assert figures["matched"] >= 2 and figures["unit"] == "torso size"
    assert figures["max"] < 0.5, json.dumps(figures)  # % of torso size


def test_exports_the_tasks_cannot_read_are_one_line_errors(tmp_path):
    from blazeforge import recipes
    from blazeforge.config import compose
    from blazeforge.export.tflite import convert

    model = recipes.get("hand_landmarks").build_model(compose("train", ["experiment=smoke"]).recipe)
    export = tmp_path / "export"
    export.mkdir()
    (export / "hand_landmarks_fp32.tflite").write_bytes(convert(model, "none"))
    write_sidecar(export, "hand_landmarks", {"hand_landmarks": {"score": "presence", "label": "handedness"}})
    with pytest.raises(BlazeforgeError, match="HandLandmarker") as caught:
        task_bundle.build(task_bundle.BUNDLES["hands"], str(export), "fp32", tmp_path / "x.task")
    assert "\n" not in str(caught.value) and not list(tmp_path.glob("*.task"))
    with pytest.raises(BlazeforgeError, match="expected one of hands, face_mesh, pose"):
        task_bundle.bundle_for("objectron")


def test_face_landmarker_reads_the_478_point_model_made_from_mesh_and_iris(tmp_path):
    """MediaPipe's mesh and iris weights in one file: FaceLandmarker lands where our runtime does."""
    from blazeforge.zoo.parity import photos

    bundle = task_bundle.BUNDLES["face_mesh"]
    models, made = task_bundle.with_face_landmarks(bundle, "mediapipe", "fp32", tmp_path)
    assert models == str(tmp_path) and "MediaPipe's weights" in made["mesh"] + made["iris"]
    path = tmp_path / bundle.file
    sources = task_bundle.build(bundle, models, "fp32", path)
    assert Path(sources["face_landmarks"]) == tmp_path / "face_landmarks_fp32.tflite"
    try:
        figures = task_bundle.verify(bundle, path, models, "fp32", photos())
    except BlazeforgeError as e:
        if any(word in str(e).lower() for word in OFFLINE):
            pytest.skip(f"the package registry cannot be reached: {e}")
        raise
    assert figures["matched"] >= 2 and figures["unit"] == "IOD"
    assert figures["max"] < 0.5, json.dumps(figures)  # % of IOD, over all 478 points
