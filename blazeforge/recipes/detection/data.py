"""The detector input pipeline: whole images, letterboxed as the runtime letterboxes them.

`make_dataset(cfg, dataset_dir, split, training)` yields `(images, targets)` batches:
- images float32 [B, S, S, 3] in the detector's input range (S = cfg.recipe.input_size);
- targets: "regressors" [B, A, V] (`geometry.matching.encode` of the boxes and keypoints,
  V = 4 + 2K), "weights" [B, A, V] (1 on a positive anchor's box and labelled keypoints),
  "labels" [B, A, 1] (1 object, 0 background, -1 ignored).

What the detector finds in a sample (palms from hand landmarks, labelled faces) is
`recipes.detection.instances`. A view is a square `Roi` over the image: for evaluation the
letterbox square (`geometry.roi.letterbox_roi`, as the runtime's letterbox), for training that
square zoomed, shifted and turned (recipe.augment), then flipped and colour-jittered; the view is
cut with `geometry.roi.crop_image` (zeros outside the image, as the detector's letterbox pads) and
the labels move with `geometry.roi.image_to_crop`, so they follow the pixels exactly. An instance
counts when its box centre falls inside the view; images without one train the background.
Instances that their render mask shows less than data.min_visible of (`recipes.detection.hidden`:
a hand behind an occluder) are ignore regions: their anchors are neither positive nor background.
"""

from __future__ import annotations

import numpy as np
from omegaconf import DictConfig, OmegaConf

from blazeforge.datasets.builder import decode_mask
from blazeforge.geometry.anchors import generate_anchors
from blazeforge.geometry.matching import BACKGROUND, encode, match, sized_anchors, square_boxes
from blazeforge.geometry.roi import Roi, crop_image, image_to_crop, letterbox_roi
from blazeforge.recipes.detection.kinds import DetectorKind, detector, hidden, instances, min_visible
from blazeforge.training.augment import random_view


class Targets:
    """SSD targets of one detector: its anchors for decoding and, with their SSD scales, for matching."""

    def __init__(self, kind: DetectorKind, matching):
        self.kind, self.matching = kind, matching
        self.anchors = generate_anchors(kind.spec.anchors)  # [A, 4] as the decoder reads them
        self.sized = sized_anchors(kind.spec.anchors)  # [A, 4] boxes, for matching

    def __call__(self, keypoints, keypoint_mask, boxes, view: Roi, size: int, flip: bool, ignored=None):
        """(regressors [A, V], weights [A, V], labels [A, 1]) for what `view` sees.

        keypoints [N, K, >=2], keypoint_mask [N, K, >=1] and boxes [N, 4] in image pixels; ignored [N]
        bool: instances to ignore (`recipes.detection.hidden`).
        """
        to_view = lambda xy: image_to_crop(xy, view, size) / size  # noqa: E731
        found, points, point_mask, ignore = instances(
            self.kind, keypoints, keypoint_mask, boxes, to_view, 1.0 / view.width, flip, ignored
        )
        centre = (found[:, :2] + found[:, 2:]) / 2
        inside = ((0 <= centre) & (centre <= 1)).all(1)
        keep = inside & ~ignore
        found, points, point_mask, unseen = found[keep], points[keep], point_mask[keep], found[inside & ignore]
        by = found
        if getattr(self.matching, "square", False):  # square anchors match a tall box by its square
            by, unseen = square_boxes(found), square_boxes(unseen)
        iou = float(self.matching.positive_iou), float(self.matching.negative_iou)
        matched = match(by, self.sized, *iou, unseen)
        raw = encode(found, points, matched, self.anchors, self.kind.spec.decode)
        weights = np.zeros_like(raw)
        rows = np.flatnonzero(matched >= 0)
        weights[rows, :4] = 1.0
        weights[rows, 4:] = np.repeat(point_mask[matched[rows]], 2, axis=1)
        labels = np.where(matched >= 0, 1.0, np.where(matched == BACKGROUND, 0.0, -1.0))
        return raw, weights, labels.astype(np.float32)[:, None]


class Examples:
    """The per-example numpy function: view, crop, augment, targets (training=False: letterbox only)."""

    def __init__(self, cfg: DictConfig, training: bool):
        from types import SimpleNamespace

        from blazeforge.training.augment import photometric

        self.aug = SimpleNamespace(**OmegaConf.to_container(cfg.recipe.augment, resolve=True))
        matching = SimpleNamespace(**OmegaConf.to_container(cfg.recipe.matching, resolve=True))
        self.kind = detector(str(cfg.recipe.detector))
        self.targets = Targets(self.kind, matching)
        self.size, self.seed, self.training = int(cfg.recipe.input_size), int(cfg.seed), training
        self.photometric = photometric(cfg.recipe.augment) if training else None
        self.min_visible = min_visible(cfg)

    def __call__(self, image, keypoints, keypoint_mask, boxes, segmentation, index):
        h, w = image.shape[:2]
        unseen = hidden(self.kind, keypoints, keypoint_mask, decode_mask(segmentation), self.min_visible)
        rng = np.random.default_rng([self.seed, int(index)])
        view = random_view(w, h, rng, self.aug) if self.training else letterbox_roi(w, h)
        crop = crop_image(image, view, self.size, border="constant")
        flip = self.training and rng.random() < self.aug.flip
        if flip:
            crop = np.ascontiguousarray(crop[:, ::-1])
        if self.photometric is not None:
            crop = self.photometric(image=crop)["image"]
        raw, weights, labels = self.targets(keypoints, keypoint_mask, boxes, view, self.size, flip, unseen)
        lo, hi = self.kind.input_range
        return (crop.astype(np.float32) * ((hi - lo) / 255.0) + lo).astype(np.float32), raw, weights, labels


def _to_batch_dict(image, regressors, weights, labels):
    return image, {"regressors": regressors, "weights": weights, "labels": labels}


def make_dataset(cfg: DictConfig, dataset_dir, split: str, training: bool):
    """Batches of (images, targets) for the recipe's detector (see the module docstring)."""
    import tensorflow as tf

    from blazeforge.datasets import load, summary

    size, batch = int(cfg.recipe.input_size), int(cfg.trainer.batch_size)
    make = Examples(cfg, training)
    a, v = len(make.targets.anchors), 4 + 2 * make.kind.count
    specs = (
        tf.TensorSpec((size, size, 3), tf.float32),
        tf.TensorSpec((a, v), tf.float32),
        tf.TensorSpec((a, v), tf.float32),
        tf.TensorSpec((a, 1), tf.float32),
    )
    raw = load(dataset_dir, split, decode_images=False)
    ds = raw.map(
        lambda ex: (ex["image"], ex["keypoints"], ex["keypoint_mask"], ex["boxes"], ex.get("mask", tf.constant(b"")))
    )  # datasets built before 1.3.0 hold no masks
    if training:
        ds = ds.repeat().shuffle(512, seed=int(cfg.seed))
    else:
        count = int(summary(dataset_dir)["splits"].get(split, 0))
        ds = ds.apply(tf.data.experimental.assert_cardinality(count))

    def decode_and_make(index, item):
        image, keypoints, keypoint_mask, boxes, segmentation = item
        image = tf.io.decode_jpeg(image, channels=3)
        out = tf.numpy_function(
            make,
            [image, keypoints, keypoint_mask, boxes, segmentation, index],
            [s.dtype for s in specs],
            stateful=False,
        )
        for tensor, spec in zip(out, specs):
            tensor.set_shape(spec.shape)
        return tuple(out)

    ds = ds.enumerate().map(decode_and_make, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(batch, drop_remainder=training).map(_to_batch_dict).prefetch(tf.data.AUTOTUNE)
