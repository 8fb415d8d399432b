import math

import numpy as np
import pytest

from blazeforge.geometry.anchors import (
    FACE_DETECTION_SHORT_RANGE,
    PALM_DETECTION,
    POSE_DETECTION,
    AnchorOptions,
    DecodeOptions,
    generate_anchors,
)
from blazeforge.geometry.detections import decode, detection_roi, iou, non_max_suppression


@pytest.mark.parametrize(
    "spec, count", [(PALM_DETECTION, 2016), (FACE_DETECTION_SHORT_RANGE, 896), (POSE_DETECTION, 2254)]
)
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
    dets = np.array(
        [[0.9, 0.0, 0.0, 1.0, 1.0], [0.6, 0.1, 0.1, 1.1, 1.1], [0.8, 5, 5, 6, 6], [0.1, 0, 0, 1, 1]], np.float32
    )
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


def test_pose_roi_is_centred_on_the_hips_sized_by_the_circle_and_upright():
    # hips' centre at (100, 300), the circle's point 100 px straight above: the body is upright.
    detection = np.array([0.9, 0, 0, 1, 1, 100, 300, 100, 200, 0, 0, 0, 0], np.float32)
    detection[5:] /= 400.0
    roi = detection_roi(detection, (400, 400), **POSE_DETECTION.roi)
    assert (roi.cx, roi.cy) == pytest.approx((100, 300))
    assert roi.width == roi.height == pytest.approx(2 * 100 * 1.25)
    assert roi.rotation == pytest.approx(0.0, abs=1e-9)


def test_face_roi_levels_the_eyes():
    # A face box whose eyes (right eye first) slope down to the image's right by 45 degrees.
    detection = np.array([0.9, 0.25, 0.25, 0.75, 0.75, 0.4, 0.4, 0.6, 0.6] + [0.5] * 8, np.float32)
    roi = detection_roi(detection, (100, 100), **FACE_DETECTION_SHORT_RANGE.roi)
    assert roi.rotation == pytest.approx(math.pi / 4)
    assert roi.width == pytest.approx(50 * 1.5) and (roi.cx, roi.cy) == pytest.approx((50, 50))


def test_heatmap_refinement_moves_a_point_to_the_confident_blob_only():
    from blazeforge.geometry.heatmaps import refine_from_heatmap

    heatmap = np.full((64, 64, 2), -10.0)
    heatmap[20, 30, 0] = 10.0  # landmark 0: one confident cell at column 30, row 20
    points = np.array([[31.5 / 64, 21.5 / 64], [0.5, 0.5]])  # landmark 1 has no confident cell
    refined = refine_from_heatmap(points, heatmap)
    assert refined[0] == pytest.approx([30 / 64, 20 / 64], abs=1e-3)
    assert refined[1] == pytest.approx([0.5, 0.5])


def test_unknown_or_bad_anchor_options_are_one_line_errors():
    from blazeforge.errors import BlazeforgeError
    from blazeforge.geometry.anchors import PALM_DETECTION, spec_from_json, spec_to_json

    data = spec_to_json(PALM_DETECTION)
    assert spec_from_json(data) == PALM_DETECTION
    bad = {**data, "anchors": {**data["anchors"], "stride": [8, 16]}}
    with pytest.raises(BlazeforgeError, match=r"palm.json: unknown anchors option\(s\) \['stride'\]"):
        spec_from_json(bad, "palm.json")
    bad = {**data, "decode": {k: v for k, v in data["decode"].items() if k != "num_keypoints"}}
    with pytest.raises(BlazeforgeError, match=r"decode misses \['num_keypoints'\]"):
        spec_from_json(bad, "palm.json")
    bad = {**data, "anchors": {**data["anchors"], "strides": ["eight"]}}
    with pytest.raises(BlazeforgeError, match="anchors.strides"):
        spec_from_json(bad, "palm.json")
