"""Limited augmentation for tight landmark crops: colour, blur and noise (albumentations), and the
ROI's own jitter and the negative crops away from an instance, which happen before the crop so that
the keypoints move with it (the landmark and pose recipes' pipelines); and the whole-image view
that the detectors' and Objectron's pipelines zoom, shift and turn (`random_view`).
"""

from __future__ import annotations

import math

import albumentations as A
import numpy as np
from omegaconf import DictConfig

from blazeforge.geometry.roi import Roi, letterbox_roi


def photometric(aug: DictConfig) -> A.Compose:
    """Colour jitter, blur and sensor noise, each with the probability the recipe's config gives."""
    return A.Compose(
        [
            A.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.04, p=aug.color),
            A.OneOf([A.GaussianBlur(blur_limit=(3, 5)), A.MotionBlur(blur_limit=(3, 7))], p=aug.blur),
            A.GaussNoise(std_range=(0.02, 0.08), p=aug.noise),
        ]
    )


def jitter_roi(roi: Roi, rng: np.random.Generator, aug: DictConfig) -> Roi:
    """Shift (share of the size, along the ROI's axes), rescale and rotate the ROI a little."""
    dx, dy = rng.uniform(-aug.roi_shift, aug.roi_shift, 2)
    scale = rng.uniform(1 - aug.roi_scale, 1 + aug.roi_scale)
    moved = roi.transformed(scale, scale, dx, dy, square_long=False)
    return Roi(
        moved.cx,
        moved.cy,
        moved.width,
        moved.height,
        roi.rotation + math.radians(rng.uniform(-aug.roi_rotation_deg, aug.roi_rotation_deg)),
    )


def negative_roi(roi: Roi, width: int, height: int, rng: np.random.Generator) -> Roi:
    """A crop of the instance's size centred at least 0.8 sizes away from it (presence 0)."""
    for _ in range(20):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        if math.hypot(cx - roi.cx, cy - roi.cy) > 0.8 * roi.width:
            break
    else:  # the hand fills the frame: step off it
        angle = rng.uniform(0, 2 * math.pi)
        cx, cy = roi.cx + math.cos(angle) * roi.width, roi.cy + math.sin(angle) * roi.width
    return Roi(float(cx), float(cy), roi.width, roi.height, float(rng.uniform(-math.pi, math.pi)))


def random_view(width: int, height: int, rng: np.random.Generator, aug, aspect: float = 1.0) -> Roi:
    """The letterbox of the input's aspect (width / height; 1: the square) zoomed by aug.scale,
    shifted by aug.shift of its sides, turned by aug.rotation_deg."""
    base = letterbox_roi(width, height, aspect)
    zoom = rng.uniform(*aug.scale)
    dx, dy = rng.uniform(-aug.shift, aug.shift, 2) * zoom * np.array([base.width, base.height])
    angle = math.radians(rng.uniform(-aug.rotation_deg, aug.rotation_deg))
    return Roi(base.cx + dx, base.cy + dy, base.width * zoom, base.height * zoom, angle)
