"""Objectron's box metrics: AP at 3D IoU 0.5, matching, viewpoint and projection errors."""

import numpy as np
import pytest

from blazeforge.evaluation.cuboids import ap_at_iou, match_frame, projection_error, viewpoint, viewpoint_errors
from blazeforge.geometry.cuboid import box_keypoints


def _box(x=0.0, z=2.0, yaw=0.0):
    t = np.radians(yaw)
    rotation = np.array([[np.cos(t), 0, np.sin(t)], [0, 1, 0], [-np.sin(t), 0, np.cos(t)]])
    return box_keypoints(rotation, [x, 0, z], [0.4, 0.3, 0.5])


def test_ap_counts_ranked_hits_and_misses():
    a, b = _box(-1), _box(1)
    assert ap_at_iou([{"pred": [a, b], "scores": [0.9, 0.8], "gt": [a, b]}]) == pytest.approx(1.0)
    far = _box(5)  # a false positive ranked first halves the precision at every recall
    assert ap_at_iou([{"pred": [far, a], "scores": [0.9, 0.8], "gt": [a]}]) == pytest.approx(0.5)
    assert ap_at_iou([{"pred": [a, far], "scores": [0.9, 0.8], "gt": [a]}]) == pytest.approx(1.0)
    assert ap_at_iou([{"pred": [a], "scores": [0.9], "gt": [a, b]}]) == pytest.approx(0.5)  # b missed
    shifted = _box(-1 + 0.4 * 0.5)  # shifted by half its x side: IoU 1/3
    assert ap_at_iou([{"pred": [shifted], "scores": [0.9], "gt": [a]}]) == 0.0
    assert ap_at_iou([{"pred": [shifted], "scores": [0.9], "gt": [a]}], threshold=0.3) == pytest.approx(1.0)


def test_a_box_is_matched_once_to_the_strongest_prediction():
    a = _box()
    matches = match_frame([a, a], [0.5, 0.9], [a])
    assert matches[1] == (0, pytest.approx(1.0)) and matches[0][0] == -1


def test_viewpoint_of_a_box_facing_the_camera_and_turned():
    azimuth, elevation = viewpoint(_box())  # the camera straight down the box's -z
    assert azimuth == pytest.approx(-90.0) and elevation == pytest.approx(0.0)
    assert viewpoint_errors(_box(yaw=30), _box())[0] == pytest.approx(30.0)
    assert viewpoint_errors(_box(yaw=170), _box(yaw=-170))[0] == pytest.approx(20.0)  # wrapped


def test_projection_error_leaves_the_centre_out():
    gt = np.zeros((9, 2))
    pred = gt + [3.0, 4.0]
    pred[0] = 100
    assert projection_error(pred, gt) == pytest.approx(5.0)
