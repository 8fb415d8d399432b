"""The Objectron recipe's input pipeline: whole frames and the single-stage model's targets.

`make_dataset(cfg, dataset_dir, split, training)` yields `(images, targets)` batches (H x W =
`input_shape(cfg.recipe)`, the grid H/16 x W/16 cells, the mask at H/8 x W/8):
- images float32 [B, H, W, 3] in [0, 1];
- "heatmap" [B, H/16, W/16, 1]: a Gaussian per box at its projected centre
  (`geometry.cuboid_decoding.encode_targets`, sigma recipe.sigma_scale of the box's 2D diagonal);
- "offsets" [B, H/16, W/16, 32]: the 16 vertex offsets of the box owning each cell, then their
  weights (1 where the heatmap target exceeds 0.1);
- "segmentation" [B, H/8, W/8, 2]: the objects' mask (any instance), then its weight (0 without a mask).

A view is a `Roi` of the input's aspect over the frame: for evaluation the letterbox (the frame
fitting inside it), for training that zoomed, shifted and turned (`training.augment.random_view`,
recipe.augment), then flipped
(vertices left and right swapped: `topology.cuboid`) and colour-jittered. A box counts when its
projected centre falls inside the view.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import cv2
import numpy as np
from omegaconf import DictConfig, OmegaConf

from blazeforge.datasets.builder import decode_mask
from blazeforge.errors import BlazeforgeError
from blazeforge.geometry.cuboid_decoding import encode_targets
from blazeforge.geometry.roi import Roi, crop_image, image_to_crop, letterbox_roi
from blazeforge.models.objectron import STRIDE
from blazeforge.topology import get as get_topology
from blazeforge.training.augment import photometric, random_view
from blazeforge.training.inputs import map_numpy

OUTPUTS = ("heatmap", "offsets", "segmentation")


def input_shape(recipe) -> tuple[int, int]:
    """(height, width) of the model's input, pixels, from recipe.input_size: a square's side or
    [height, width] (the published model: [640, 480]); each a multiple of 32, at least 64."""
    size = recipe.input_size
    shape = (size, size) if isinstance(size, int | float | str) else tuple(size)
    try:
        height, width = (int(v) for v in shape)
    except (TypeError, ValueError):
        height = width = 0
    if height % 32 or width % 32 or min(height, width) < 64:
        raise BlazeforgeError(
            "recipe.input_size", f"expected a side or [height, width], multiples of 32 and at least 64; got {size}"
        )
    return height, width


def frame_targets(
    points: list[np.ndarray], mask: np.ndarray | None, shape: tuple[int, int], sigma_scale: float
) -> tuple:
    """(heatmap [H/16, W/16, 1], offsets [H/16, W/16, 32], segmentation [H/8, W/8, 2]) of one view.

    points: per box its [9, 2] projections in view pixels (x in 0..W, y in 0..H); mask: [H, W]
    (non-zero on an object) or None; shape: the view's (H, W)."""
    height, width = shape
    grid = (height // STRIDE, width // STRIDE)
    inside = [p for p in points if 0 <= p[0, 0] < width and 0 <= p[0, 1] < height]
    heat, offsets = encode_targets([p / STRIDE for p in inside], grid, sigma_scale)
    weight = np.repeat((heat > 0.1)[..., None], 16, axis=-1).astype(np.float32)
    m = (height // (STRIDE // 2), width // (STRIDE // 2))
    if mask is None:
        seg = np.zeros((*m, 2), np.float32)
    else:
        small = cv2.resize((mask > 0).astype(np.float32), m[::-1], interpolation=cv2.INTER_AREA)
        seg = np.stack([small, np.ones_like(small)], -1)
    return heat[..., None], np.concatenate([offsets, weight], -1), seg.astype(np.float32)


class Examples:
    """The per-example numpy function: view, crop, augment, targets (training=False: letterbox only)."""

    def __init__(self, cfg: DictConfig, training: bool):
        self.aug = SimpleNamespace(**OmegaConf.to_container(cfg.recipe.augment, resolve=True))
        self.shape, self.seed, self.training = input_shape(cfg.recipe), int(cfg.seed), training
        self.crop = self.shape[::-1]  # (width, height), as the ROI functions take it
        self.aspect = self.crop[0] / self.crop[1]
        self.sigma_scale = float(cfg.recipe.sigma_scale)
        self.photometric = photometric(cfg.recipe.augment) if training else None
        self.mirror = get_topology("cuboid").flip_permutation()

    def view(self, width: int, height: int, index: int) -> tuple[Roi, bool]:
        """The example's view over a width x height frame and whether it is mirrored."""
        if not self.training:
            return letterbox_roi(width, height, self.aspect), False
        rng = np.random.default_rng([self.seed, int(index)])
        return random_view(width, height, rng, self.aug, self.aspect), bool(rng.random() < self.aug.flip)

    def __call__(self, image, keypoints, mask_png, index):
        h, w = image.shape[:2]
        view, flip = self.view(w, h, index)
        crop = crop_image(image, view, self.crop, border="constant")
        mask = decode_mask(mask_png)
        if mask is not None:
            mask = crop_image((mask > 0).astype(np.float32), view, self.crop, border="constant") > 0.5
        points = [image_to_crop(kp[:, :2], view, self.crop) for kp in keypoints]
        if flip:
            crop = np.ascontiguousarray(crop[:, ::-1])
            mask = None if mask is None else np.ascontiguousarray(mask[:, ::-1])
            points = [np.stack([self.crop[0] - p[:, 0], p[:, 1]], 1)[self.mirror] for p in points]
        if self.photometric is not None:
            crop = self.photometric(image=crop)["image"]
        heat, offsets, seg = frame_targets(points, mask, self.shape, self.sigma_scale)
        return crop.astype(np.float32) / 255.0, heat, offsets, seg


def _specs(shape: tuple[int, int]):
    import tensorflow as tf

    (h, w), s = shape, STRIDE
    return (
        tf.TensorSpec((h, w, 3), tf.float32),
        tf.TensorSpec((h // s, w // s, 1), tf.float32),
        tf.TensorSpec((h // s, w // s, 32), tf.float32),
        tf.TensorSpec((2 * h // s, 2 * w // s, 2), tf.float32),
    )


def _to_batch_dict(image, *targets):
    return image, dict(zip(OUTPUTS, targets))


def make_dataset(cfg: DictConfig, dataset_dir, split: str, training: bool):
    """Batches of (images, targets) for the Objectron recipe (see the module docstring)."""
    import tensorflow as tf

    from blazeforge.datasets import load, summary

    batch = int(cfg.trainer.batch_size)
    make = Examples(cfg, training)
    specs = _specs(make.shape)
    ds = load(dataset_dir, split, decode_images=False).map(lambda ex: (ex["image"], ex["keypoints"], ex["mask"]))
    if training:
        ds = ds.repeat().shuffle(512, seed=int(cfg.seed))
    else:
        count = int(summary(dataset_dir)["splits"].get(split, 0))
        ds = ds.apply(tf.data.experimental.assert_cardinality(count))

    ds = map_numpy(ds.enumerate(), make, specs)
    return ds.batch(batch, drop_remainder=training).map(_to_batch_dict).prefetch(tf.data.AUTOTUNE)


def eval_frames(cfg: DictConfig, dataset_dir, split: str, limit: int | None = None) -> Iterator[dict]:
    """Each frame of `split` as evaluation reads it: view (the letterbox) uint8 [H, W, 3] of the input,
    its Roi, the frame [H, W, 3], keypoints [N, 9, 3] (pixels), keypoints_camera [N, 9, 3],
    camera {fx, fy, cx, cy}, plane (point, normal), cuboid scale [N, 3], meta, index."""
    import tensorflow_datasets as tfds

    from blazeforge.datasets import load

    height, width = input_shape(cfg.recipe)
    for n, ex in enumerate(tfds.as_numpy(load(dataset_dir, split))):
        if limit is not None and n >= limit:
            return
        h, w = ex["image"].shape[:2]
        view = letterbox_roi(w, h, width / height)
        fx, fy, cx, cy = (float(v) for v in ex["camera"])
        yield {
            "view": crop_image(ex["image"], view, (width, height), border="constant"),
            "roi": view,
            "image": ex["image"],
            "keypoints": ex["keypoints"],
            "keypoints_camera": ex["keypoints_camera"],
            "camera": {"fx": fx, "fy": fy, "cx": cx, "cy": cy},
            "plane": (ex["plane"][:3], ex["plane"][3:]),
            "scale": ex["cuboid_scale"],
            "meta": {"subject_id": ex["subject_id"].decode(), "category": ex["category"].decode()},
            "index": n,
        }
