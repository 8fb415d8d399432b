"""Objectron's runtime calculators: a detected box is carried by its tracked 2D box and lifted again."""

import numpy as np
import pytest

from blazeforge.geometry.cuboid import box_keypoints
from blazeforge.geometry.roi import Roi
from blazeforge.runtime.calculators.box_tracking import corners
from blazeforge.runtime.calculators.cuboids import CuboidTracking, cuboid_roi
from blazeforge.runtime.cuboids import camera_of
from blazeforge.runtime.instance import Instance

W, H = 640, 480


def _box():
    yaw = 0.6
    c, s = np.cos(yaw), np.sin(yaw)
    rotation = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]) @ np.diag([1.0, -1.0, -1.0])
    box = box_keypoints(rotation, np.array([0.1, 0.15, 1.4]), np.array([0.3, 0.2, 0.25]))
    camera = camera_of(W, H, 60)
    pixels = box[:, :2] / box[:, 2:] * camera["fx"] + [camera["cx"], camera["cy"]]
    return box, pixels


def _tracked(roi: Roi, track: int = 0) -> Instance:
    return Instance(corners(roi), 1.0, roi, track=track)


def test_a_tracked_box_carries_the_detected_points_and_lifts_them_again():
    box, pixels = _box()
    image = np.zeros((H, W, 3), np.uint8)
    tracking = CuboidTracking({}, fov_deg=60)
    roi = cuboid_roi(pixels)
    out = tracking.process(
        0, {"IMAGE": image, "TRACKED": [_tracked(roi)], "DETECTED": [{"score": 0.9, "pixels": pixels}]}
    )
    (first,) = out["INSTANCES"]
    assert first.landmarks[:, :2] == pytest.approx(pixels, abs=1e-6) and first.score == pytest.approx(0.9)
    lifted = first.extra["box"] * box[0, 2] / first.extra["box"][0, 2]  # up to scale
    size = np.linalg.norm(box[8] - box[1])
    assert np.abs(lifted - box).max() < 0.01 * size

    moved = Roi(roi.cx + 20, roi.cy - 10, roi.width * 1.1, roi.height * 1.1)  # what the box tracker reports
    (second,) = tracking.process(1, {"IMAGE": image, "TRACKED": [_tracked(moved)]})["INSTANCES"]
    expected = (pixels - [roi.cx, roi.cy]) * 1.1 + [moved.cx, moved.cy]
    assert second.landmarks[:, :2] == pytest.approx(expected, abs=1e-6) and second.track == 0
    assert np.isfinite(second.extra["box"]).all()

    assert tracking.process(2, {"IMAGE": image, "TRACKED": []})["INSTANCES"] == []  # lost: forgotten
    assert tracking.process(3, {"IMAGE": image, "TRACKED": [_tracked(moved)]})["INSTANCES"] == []


def test_a_detection_binds_only_to_a_tracked_box_it_overlaps():
    _, pixels = _box()
    elsewhere = Roi(40.0, 40.0, 30.0, 30.0)
    tracking = CuboidTracking({})
    image = np.zeros((H, W, 3), np.uint8)
    inputs = {"IMAGE": image, "TRACKED": [_tracked(elsewhere, 3)], "DETECTED": [{"score": 0.8, "pixels": pixels}]}
    assert tracking.process(0, inputs)["INSTANCES"] == []


def test_the_gate_lets_every_nth_frame_through_while_tracking():
    from blazeforge.runtime.calculators.tracking import DetectionGate

    gate, image, tracked = DetectionGate({}, max_instances=1, every=3), np.zeros((4, 4, 3), np.uint8), [Roi(1, 1, 2, 2)]
    passed = [gate.process(i, {"IMAGE": image, "TRACKED": tracked}) is not None for i in range(7)]
    assert passed == [False, False, True, False, False, True, False]
    assert gate.process(7, {"IMAGE": image, "TRACKED": []}) is not None  # nothing tracked: detect


def test_user_boxes_are_refused_where_the_3d_boxes_need_the_detector():
    from blazeforge.errors import BlazeforgeError
    from blazeforge.runtime.pipeline import load

    with pytest.raises(BlazeforgeError, match="boxes"):
        load("objectron", boxes=[[10, 10, 50, 50]])
    assert any(n.options.get("boxes") for n in load("box_tracking", boxes=[[10, 10, 50, 50]]).nodes)
