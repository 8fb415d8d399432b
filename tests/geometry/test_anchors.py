import numpy as np
import pytest

from blazeforge.geometry.anchors import (FACE_DETECTION_SHORT_RANGE, PALM_DETECTION, POSE_DETECTION, AnchorOptions,
                                         DecodeOptions, generate_anchors)
from blazeforge.geometry.detections import decode, detection_roi, iou, non_max_suppression


@pytest.mark.parametrize("spec, count", [(PALM_DETECTION, 2016), (FACE_DETECTION_SHORT_RANGE, 896), (POSE_DETECTION, 2254)])
def test_published_anchor_counts(spec, count):
    anchors = generate_anchors(spec.anchors)
    assert anchors.shape == (count, 4)
    assert (anchors[:, 2:] == 1).all()
    assert 0 < anchors[:, :2].min() and anchors[:, :2].max() < 1


def test_anchor_order_is_row_major_with_anchors_innermost():
    a = generate_anchors(PALM_DETECTION.anchors)
    # stride 8 on 192 px: a 24x24 grid, 2 anchors a cell.
    np.testing.assert_allclose(a[0, :2], [0.5 / 24, 0.5 / 24])
    np.testing.assert_allclose(a[1, :2], a[0, :2])
    np.testing.assert_allclose(a[2, :2], [1.5 / 24, 0.5 / 24])
    np.testing.assert_allclose(a[48, :2], [0.5 / 24, 1.5 / 24])


def test_non_fixed_anchor_sizes_follow_the_scales():
    a = generate_anchors(AnchorOptions(input_size=(64, 64), strides=(32,), num_layers=1, fixed_anchor_size=False))
    assert a.shape == (8, 4)
    np.testing.assert_allclose(a[0, 2:], [(0.1484375 + 0.75) / 2] * 2)


def test_decode_inverts_an_encoded_box_and_keypoints():
    anchors = np.array([[0.5, 0.5, 1, 1], [0.25, 0.75, 1, 1]], np.float32)
    opts = DecodeOptions(num_keypoints=1, scale=(100.0,) * 4)
    raw = np.array([[10, -5, 20, 30, 0, 0], [0, 0, 10, 10, 5, 5]], np.float32)
    det = decode(raw, np.array([[100.0], [-3.0]]), anchors, opts)
    np.testing.assert_allclose(det[0, 1:5], [0.5, 0.3, 0.7, 0.6], atol=1e-6)
    np.testing.assert_allclose(det[1, 5:], [0.3, 0.8], atol=1e-6)
    assert det[0, 0] == pytest.approx(1.0) and det[1, 0] == pytest.approx(1 / (1 + np.exp(3)), rel=1e-5)


def test_weighted_nms_blends_overlapping_boxes_and_plain_nms_keeps_the_best():
    dets = np.array([[0.9, 0.0, 0.0, 1.0, 1.0], [0.6, 0.1, 0.1, 1.1, 1.1], [0.8, 5, 5, 6, 6], [0.1, 0, 0, 1, 1]], np.float32)
    weighted = non_max_suppression(dets, 0.5, 0.3, weighted=True)
    plain = non_max_suppression(dets, 0.5, 0.3, weighted=False)
    assert len(weighted) == len(plain) == 2
    np.testing.assert_allclose(plain[0, 1:], [0, 0, 1, 1])
    np.testing.assert_allclose(weighted[0, 1:3], [0.04, 0.04], atol=1e-6)
    assert weighted[0, 0] == pytest.approx(0.9)
    assert iou(np.array([0, 0, 1, 1.0]), np.array([[0.5, 0, 1.5, 1.0]]))[0] == pytest.approx(1 / 3)


def test_palm_detection_roi_points_fingers_up_and_scales_the_box():
    # Palm box 0.2 wide centred at (0.5, 0.5); wrist below, middle MCP above.
    det = np.array([0.9, 0.4, 0.4, 0.6, 0.6] + [0.5, 0.6, 0, 0, 0.5, 0.4] + [0, 0] * 4, np.float32)
    roi = detection_roi(det, (200, 100), **PALM_DETECTION.roi)
    assert roi.rotation == pytest.approx(0)
    assert roi.width == pytest.approx(0.2 * 200 * 2.6) and roi.height == roi.width
    assert roi.cy == pytest.approx(50 - 0.5 * 0.2 * 100)  # shifted towards the fingers by half the box height
