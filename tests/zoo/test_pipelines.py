"""The published models through our ROI rules, crops and projection reproduce MediaPipe's pipelines.

Face mesh and pose landmarks recorded once by the mediapipe package (tools/record_mediapipe.py)
on package photos; ours run detector -> `geometry.detections.detection_roi` -> crop -> landmark
model -> projection, with the same published .tflite files.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from blazeforge import zoo
from blazeforge.geometry import anchors
from blazeforge.geometry.detections import detection_roi
from blazeforge.runtime import TfliteModel
from blazeforge.runtime.detector import SsdDetector
from blazeforge.runtime.landmarks import LandmarkModel
from blazeforge.zoo.parity import photos

RECORDED = json.loads((Path(__file__).parent / "mediapipe_outputs.json").read_text())["photos"]


def _first_roi(detector_name: str, image: np.ndarray):
    spec = zoo.get(detector_name)
    detector_spec = getattr(anchors, spec.detector)
    detections = SsdDetector(TfliteModel(zoo.tflite_path(detector_name)), detector_spec, value_range=spec.input_range)(
        image
    )
    assert len(detections)
    h, w = image.shape[:2]
    return detection_roi(detections[0], (w, h), **detector_spec.roi)


@pytest.mark.parametrize("photo", sorted(RECORDED))
def test_face_mesh_matches_mediapipe(photo):
    image = photos()[photo]
    h, w = image.shape[:2]
    roi = _first_roi("face_detection_short_range", image)
    mesh = LandmarkModel(TfliteModel(zoo.tflite_path("face_landmark")), 192, "conv2d_21")(image, roi)
    expected = np.array(RECORDED[photo]["face_mesh"])[:, :2] * (w, h)
    iod = np.linalg.norm(expected[33] - expected[263])  # outer eye corners
    error = np.linalg.norm(mesh[:, :2] - expected, axis=1) / iod
    assert error.max() < 0.001, error.max()  # every point within 0.1% of the interocular distance


@pytest.mark.parametrize("photo", sorted(RECORDED))
def test_pose_landmarks_match_mediapipe(photo):
    image = photos()[photo]
    h, w = image.shape[:2]
    roi = _first_roi("pose_detection", image)
    points = LandmarkModel(
        TfliteModel(zoo.tflite_path("pose_landmark_full")), 256, "Identity", values=5, heatmap="Identity_3"
    )(image, roi)
    expected = np.array(RECORDED[photo]["pose"])
    visible = expected[:, 3] > 0.5
    shoulders = np.linalg.norm((expected[11, :2] - expected[12, :2]) * (w, h))
    error = np.linalg.norm(points[:33, :2] - expected[:, :2] * (w, h), axis=1) / shoulders
    # The same points (median under 0.1 px), but for a few the heatmap window lands one cell over.
    assert visible.sum() >= 8 and np.median(error[visible]) * shoulders < 0.1
    assert error[visible].max() < 0.05, error[visible].max()


RENDERS = json.loads((Path(__file__).parent / "mediapipe_outputs.json").read_text())["renders"]


@pytest.mark.parametrize("render", sorted(RENDERS))
def test_hand_landmarks_match_mediapipe_on_renders(render):
    import cv2

    image = cv2.imread(str(Path(__file__).parent / "renders" / f"{render.split('.', 1)[1]}.png"))[..., ::-1]
    h, w = image.shape[:2]
    roi = _first_roi("palm_detection_full", image)
    points = LandmarkModel(TfliteModel(zoo.tflite_path("hand_landmark_full")), 224, "Identity")(image, roi)
    expected = np.array(RENDERS[render]["hands"]["landmarks"])[:, :2] * (w, h)
    palm = np.linalg.norm(expected[0] - expected[9])  # wrist to middle-finger MCP
    error = np.linalg.norm(points[:, :2] - expected, axis=1) / palm
    assert error.max() < 0.005, error.max()  # within half a percent of the palm's length


@pytest.mark.parametrize("photo", sorted(RECORDED))
def test_pose_world_landmarks_and_mask_match_mediapipe(photo):
    """The runtime's pose landmarks stage: world landmarks turned back by the ROI's rotation
    (WorldLandmarkProjectionCalculator) and the segmentation laid back onto the photo."""
    import cv2

    from blazeforge.runtime.calculators.tracking import Landmarks
    from blazeforge.runtime.models import ROLES, load_landmarks

    image = photos()[photo]
    h, w = image.shape[:2]
    roi = _first_roi("pose_detection", image)
    model, _ = load_landmarks(zoo.tflite_path("pose_landmark_full"), "pose_landmarks")
    stage = Landmarks({"models": {"pose_landmarks": (model, ROLES["pose_landmarks"])}}, "pose_landmarks", keep=33)
    (instance,) = stage.process(0, {"IMAGE": image, "ROIS": [roi]})["INSTANCES"]
    world, expected = instance.extra["world_landmarks"], np.array(RECORDED[photo]["pose_world"])
    assert world.shape == (33, 3) and abs(roi.rotation) > 0.01  # a turned ROI: the turn is checked
    assert np.abs(world - expected).max() < 2e-3  # metres: within 2 mm
    mask = cv2.resize(instance.image_mask(w, h), (64, 64), interpolation=cv2.INTER_AREA)
    recorded = np.array(RECORDED[photo]["pose_mask_64"])
    both, either = ((mask > 0.5) & (recorded > 0.5)).sum(), ((mask > 0.5) | (recorded > 0.5)).sum()
    assert instance.image_mask(w, h).shape == (h, w) and either > 100 and both / either > 0.99, both / either
    assert np.abs(mask - recorded).mean() < 0.005  # probabilities: IoU 1.000 and 0.0002 here
