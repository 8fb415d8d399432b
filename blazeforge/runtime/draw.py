"""Drawing landmarks, connections and boxes on images (OpenCV; shared by reports and the runner)."""

from __future__ import annotations

import cv2
import numpy as np


def draw_landmarks(image: np.ndarray, points: np.ndarray, edges, color=(0, 255, 0), radius: int = 2,
                   thickness: int = 1) -> np.ndarray:
    """Draw points [K, >=2] (pixels) and the edges between them on a copy of `image` (BGR or RGB)."""
    out = image.copy()
    pts = [tuple(int(round(v)) for v in p[:2]) for p in points]
    for i, j in edges:
        cv2.line(out, pts[i], pts[j], color, thickness, cv2.LINE_AA)
    for p in pts:
        cv2.circle(out, p, radius, color, -1, cv2.LINE_AA)
    return out
