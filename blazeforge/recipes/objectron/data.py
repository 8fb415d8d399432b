"""The Objectron recipe's input pipeline: whole frames and the single-stage model's targets.

`make_dataset(cfg, dataset_dir, split, training)` yields `(images, targets)` batches (S =
cfg.recipe.input_size, G = S / 16 cells, M = S / 8):
- images float32 [B, S, S, 3] in [0, 1];
- "heatmap" [B, G, G, 1]: a Gaussian per box at its projected centre (`geometry.cuboid_decoding.
  encode_targets`, sigma recipe.sigma_scale of the box's 2D diagonal);
- "offsets" [B, G, G, 32]: the 16 vertex offsets of the box owning each cell, then their weights
  (1 where the heatmap target exceeds 0.1);
- "segmentation" [B, M, M, 2]: the objects' mask (any instance), then its weight (0 without a mask).

A view is a square `Roi` over the frame: for evaluation the letterbox square, for training that
square zoomed, shifted and turned (`training.augment.random_view`, recipe.augment), then flipped
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
from blazeforge.geometry.cuboid_decoding import encode_targets
from blazeforge.geometry.roi import Roi, crop_image, image_to_crop, letterbox_roi
from blazeforge.models.objectron import STRIDE
from blazeforge.topology import get as get_topology
from blazeforge.training.augment import photometric, random_view
from blazeforge.training.inputs import map_numpy

OUTPUTS = ("heatmap", "offsets", "segmentation")


def frame_targets(points: list[np.ndarray], mask: np.ndarray | None, size: int, sigma_scale: float) -> tuple:
    """(heatmap [G, G, 1], offsets [G, G, 32], segmentation [M, M, 2]) of one view.

    points: per box its [9, 2] projections in view pixels (0..size); mask: [size, size] (non-zero
    on an object) or None."""
    grid = size // STRIDE
    inside = [p for p in points if (0 <= p[0]).all() and (p[0] < size).all()]
    heat, offsets = encode_targets([p / STRIDE for p in inside], (grid, grid), sigma_scale)
    weight = np.repeat((heat > 0.1)[..., None], 16, axis=-1).astype(np.float32)
    m = size // (STRIDE // 2)
    if mask is None:
        seg = np.zeros((m, m, 2), np.float32)
    else:
        small = cv2.resize((mask > 0).astype(np.float32), (m, m), interpolation=cv2.INTER_AREA)
        seg = np.stack([small, np.ones_like(small)], -1)
    return heat[..., None], np.concatenate([offsets, weight], -1), seg.astype(np.float32)


class Examples:
    """The per-example numpy function: view, crop, augment, targets (training=False: letterbox only)."""

    def __init__(self, cfg: DictConfig, training: bool):
        self.aug = SimpleNamespace(**OmegaConf.to_container(cfg.recipe.augment, resolve=True))
        self.size, self.seed, self.training = int(cfg.recipe.input_size), int(cfg.seed), training
        self.sigma_scale = float(cfg.recipe.sigma_scale)
        self.photometric = photometric(cfg.recipe.augment) if training else None
        self.mirror = get_topology("cuboid").flip_permutation()

    def view(self, width: int, height: int, index: int) -> tuple[Roi, bool]:
        """The example's view over a width x height frame and whether it is mirrored."""
        if not self.training:
            return letterbox_roi(width, height), False
        rng = np.random.default_rng([self.seed, int(index)])
        return random_view(width, height, rng, self.aug), bool(rng.random() < self.aug.flip)

    def __call__(self, image, keypoints, mask_png, index):
        h, w = image.shape[:2]
        view, flip = self.view(w, h, index)
        crop = crop_image(image, view, self.size, border="constant")
        mask = decode_mask(mask_png)
        if mask is not None:
            mask = crop_image((mask > 0).astype(np.float32), view, self.size, border="constant") > 0.5
        points = [image_to_crop(kp[:, :2], view, self.size) for kp in keypoints]
        if flip:
            crop = np.ascontiguousarray(crop[:, ::-1])
            mask = None if mask is None else np.ascontiguousarray(mask[:, ::-1])
            points = [np.stack([self.size - p[:, 0], p[:, 1]], 1)[self.mirror] for p in points]
        if self.photometric is not None:
            crop = self.photometric(image=crop)["image"]
        heat, offsets, seg = frame_targets(points, mask, self.size, self.sigma_scale)
        return crop.astype(np.float32) / 255.0, heat, offsets, seg


def _specs(size: int):
    import tensorflow as tf

    g, m = size // STRIDE, size // (STRIDE // 2)
    return (
        tf.TensorSpec((size, size, 3), tf.float32),
        tf.TensorSpec((g, g, 1), tf.float32),
        tf.TensorSpec((g, g, 32), tf.float32),
        tf.TensorSpec((m, m, 2), tf.float32),
    )


def _to_batch_dict(image, *targets):
    return image, dict(zip(OUTPUTS, targets))


def make_dataset(cfg: DictConfig, dataset_dir, split: str, training: bool):
    """Batches of (images, targets) for the Objectron recipe (see the module docstring)."""
    import tensorflow as tf

    from blazeforge.datasets import load, summary

    size, batch = int(cfg.recipe.input_size), int(cfg.trainer.batch_size)
    make = Examples(cfg, training)
    specs = _specs(size)
    ds = load(dataset_dir, split, decode_images=False).map(lambda ex: (ex["image"], ex["keypoints"], ex["mask"]))
    if training:
        ds = ds.repeat().shuffle(512, seed=int(cfg.seed))
    else:
        count = int(summary(dataset_dir)["splits"].get(split, 0))
        ds = ds.apply(tf.data.experimental.assert_cardinality(count))

    ds = map_numpy(ds.enumerate(), make, specs)
    return ds.batch(batch, drop_remainder=training).map(_to_batch_dict).prefetch(tf.data.AUTOTUNE)


def eval_frames(cfg: DictConfig, dataset_dir, split: str, limit: int | None = None) -> Iterator[dict]:
    """Each frame of `split` as evaluation reads it: view (the letterbox square) uint8 [S, S, 3],
    its Roi, the frame [H, W, 3], keypoints [N, 9, 3] (pixels), keypoints_camera [N, 9, 3],
    camera {fx, fy, cx, cy}, plane (point, normal), cuboid scale [N, 3], meta, index."""
    import tensorflow_datasets as tfds

    from blazeforge.datasets import load

    size = int(cfg.recipe.input_size)
    for n, ex in enumerate(tfds.as_numpy(load(dataset_dir, split))):
        if limit is not None and n >= limit:
            return
        h, w = ex["image"].shape[:2]
        view = letterbox_roi(w, h)
        fx, fy, cx, cy = (float(v) for v in ex["camera"])
        yield {
            "view": crop_image(ex["image"], view, size, border="constant"),
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
