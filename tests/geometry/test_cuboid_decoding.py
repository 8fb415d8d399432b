"""Objectron's decoder: peaks, voting and lifting, round trip from a labelled box."""

import numpy as np
import pytest

from blazeforge.geometry.cuboid import box_keypoints, iou_3d, lift_box, scale_to_size
from blazeforge.geometry.cuboid_decoding import DecoderConfig, decode, encode_targets, peaks


def test_peaks_are_local_maxima_above_the_threshold_strongest_first():
    heatmap = np.zeros((40, 30))
    heatmap[5, 5], heatmap[6, 6], heatmap[20, 10], heatmap[30, 25] = 0.9, 0.8, 0.95, 0.5
    assert peaks(heatmap).tolist() == [[20, 10], [5, 5]]  # (6, 6) is 1 cell from a stronger one; 0.5 < 0.6
    assert peaks(heatmap, DecoderConfig(local_max_distance=0)).tolist() == [[20, 10], [5, 5], [6, 6]]


def test_decoded_boxes_lift_back_to_the_labelled_boxes():
    grid, size = (40, 30), (480, 640)  # rows, cols of the grid; the frame's width, height in pixels
    camera = {"fx": 600.0, "fy": 600.0, "cx": 240.0, "cy": 320.0}
    scales = [np.array([0.3, 0.2, 0.4]), np.array([0.25, 0.25, 0.25])]
    boxes = [
        box_keypoints(np.eye(3), [-0.25, -0.3, 2.0], scales[0]),
        box_keypoints(np.array([[0.8, 0, 0.6], [0, 1, 0], [-0.6, 0, 0.8]]), [0.3, 0.4, 2.5], scales[1]),
    ]
    pixels = [np.stack([600 * b[:, 0] / b[:, 2] + 240, 600 * b[:, 1] / b[:, 2] + 320], axis=1) for b in boxes]
    cells = [p / [size[0] / grid[1], size[1] / grid[0]] for p in pixels]  # pixels -> grid cells
    labelled = [np.concatenate([np.round(c[:1]), c[1:]]) for c in cells]  # centres on cells: peaks at 1
    heatmap, offsets = encode_targets(labelled, grid)
    decoded = decode(heatmap, offsets)
    assert len(decoded) == 2
    for found in decoded:
        points = found["points"] * size  # normalized -> pixels
        i = int(np.argmin([np.abs(p[0] - points[0]).max() for p in pixels]))
        np.testing.assert_allclose(points[1:], pixels[i][1:], atol=1e-3)
        lifted = scale_to_size(lift_box(points[1:], camera), scales[i])
        assert iou_3d(lifted, boxes[i]) == pytest.approx(1.0, abs=1e-4)


def test_offsets_must_match_the_heatmap():
    with pytest.raises(ValueError, match="offsets"):
        decode(np.zeros((40, 30)), np.zeros((40, 30, 18)))


def test_targets_spread_with_the_box_and_assign_each_cell_to_one_box():
    grid = (40, 30)
    small = np.array([[5, 5]] + [[5 + dx, 5 + dy] for dx in (-1, 1) for dy in (-1, 1) for _ in (0, 1)], float)
    large = np.array(
        [[20, 25]] + [[20 + 8 * dx, 25 + 8 * dy] for dx in (-1, 1) for dy in (-1, 1) for _ in (0, 1)], float
    )
    heatmap, offsets = encode_targets([small, large], grid)
    assert heatmap[5, 5] == pytest.approx(1.0) and heatmap[25, 20] == pytest.approx(1.0)
    assert heatmap[5, 8] < 0.02 < heatmap[25, 23]  # 3 cells off the centre: the larger box spreads wider
    np.testing.assert_allclose(offsets[5, 5].reshape(8, 2) * 30 + [5, 5], small[1:], atol=1e-5)
    np.testing.assert_allclose(offsets[24, 21].reshape(8, 2) * 30 + [21, 24], large[1:], atol=1e-5)
    empty_heat, empty_offsets = encode_targets([], grid)
    assert not empty_heat.any() and empty_offsets.shape == (40, 30, 16)
