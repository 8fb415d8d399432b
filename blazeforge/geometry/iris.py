"""Metric depth from the iris: its diameter is nearly constant across people (11.7 +/- 0.5 mm,
MediaPipe Iris), so a camera of known focal length sees it at a depth inverse to its size in pixels.

Iris landmarks are MediaPipe's 5: the centre, then four points on the rim (1 and 3 across one
axis, 2 and 4 across the other).
"""

from __future__ import annotations

import math

import numpy as np

IRIS_DIAMETER_MM = 11.7


def iris_diameter_px(iris: np.ndarray) -> float:
    """Mean of the iris's two rim-to-rim distances, pixels; iris [5, >=2] in image pixels."""
    iris = np.asarray(iris, np.float64)[:, :2]
    return float((np.linalg.norm(iris[1] - iris[3]) + np.linalg.norm(iris[2] - iris[4])) / 2)


def iris_depth_mm(
    iris: np.ndarray, focal_px: float, image_size: tuple[int, int], diameter_mm: float = IRIS_DIAMETER_MM
) -> float:
    """Distance from the camera to the iris centre, millimetres (as MediaPipe's iris-to-depth):
    along the ray through the centre, whose length in pixels is sqrt(f^2 + r^2) with r the centre's
    distance from the image centre. image_size = (width, height) pixels; focal_px in pixels."""
    iris = np.asarray(iris, np.float64)
    w, h = image_size
    r = float(np.linalg.norm(iris[0, :2] - (w / 2, h / 2)))
    diameter = iris_diameter_px(iris)
    return diameter_mm * math.sqrt(focal_px**2 + r**2) / diameter if diameter > 0 else float("nan")


def focal_from_fov(width: int, fov_deg: float) -> float:
    """Focal length in pixels of a camera whose horizontal field of view is fov_deg over `width` pixels."""
    return width / 2 / math.tan(math.radians(fov_deg) / 2)


def focal_from_35mm(width: int, height: int, focal_35mm: float) -> float:
    """Focal length in pixels from EXIF's 35 mm-equivalent focal length (36 mm across the long side)."""
    return focal_35mm / 36.0 * max(width, height)
