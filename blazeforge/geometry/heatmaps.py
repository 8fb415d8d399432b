"""Landmarks refined from heatmaps (MediaPipe's RefineLandmarksFromHeatmapCalculator), numpy.

BlazePose predicts landmarks by regression and, beside them, one heatmap per landmark. Around each
regressed point, a kernel x kernel window of the heatmap (after the sigmoid) votes for a position;
where the window's strongest vote reaches `min_confidence`, the point moves to the vote's
weighted mean. Coordinates are in [0, 1] units of the model's crop.
"""

from __future__ import annotations

import numpy as np


def refine_from_heatmap(
    points: np.ndarray, heatmap: np.ndarray, kernel: int = 7, min_confidence: float = 0.5
) -> np.ndarray:
    """points [K, >=2] (x, y in [0, 1] of the crop) and heatmap logits [H, W, K] -> refined copy of points."""
    points = np.array(points, np.float64)
    h, w, k = heatmap.shape
    if points.shape[0] > k:
        raise ValueError(f"{points.shape[0]} landmarks but {k} heatmaps")
    offset = (kernel - 1) // 2
    rows, cols = np.mgrid[0:h, 0:w]
    for i in range(points.shape[0]):
        col, row = int(points[i, 0] * w), int(points[i, 1] * h)
        if not (0 <= col < w and 0 <= row < h):
            continue
        r0, r1 = max(0, row - offset), min(h, row + offset + 1)
        c0, c1 = max(0, col - offset), min(w, col + offset + 1)
        confidence = 1.0 / (1.0 + np.exp(-np.asarray(heatmap[r0:r1, c0:c1, i], np.float64)))
        total = confidence.sum()
        if confidence.max() >= min_confidence and total > 0:
            points[i, 0] = (cols[r0:r1, c0:c1] * confidence).sum() / total / w
            points[i, 1] = (rows[r0:r1, c0:c1] * confidence).sum() / total / h
    return points
