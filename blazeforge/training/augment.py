"""Limited augmentation for tight landmark crops (albumentations): colour, blur, noise.

Geometry (ROI jitter, flips) happens before the crop in `pipeline`, where the keypoints move with it.
"""

from __future__ import annotations

import albumentations as A
from omegaconf import DictConfig


def photometric(aug: DictConfig) -> A.Compose:
    """Colour jitter, blur and sensor noise, each with the probability the recipe's config gives."""
    return A.Compose(
        [
            A.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.04, p=aug.color),
            A.OneOf([A.GaussianBlur(blur_limit=(3, 5)), A.MotionBlur(blur_limit=(3, 7))], p=aug.blur),
            A.GaussNoise(std_range=(0.02, 0.08), p=aug.noise),
        ]
    )
