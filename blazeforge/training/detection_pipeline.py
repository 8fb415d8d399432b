"""The palm-detector input pipeline: whole images, letterboxed as the runtime letterboxes them.

`make_dataset(cfg, dataset_dir, split, training)` yields `(images, targets)` batches:
- images float32 [B, S, S, 3] in [0, 1] (S = cfg.recipe.input_size, 192);
- targets: "regressors" [B, A, 18] (`geometry.matching.encode` of the palm boxes and keypoints),
  "positive" [B, A, 1] (1 where an anchor matched a palm), "labels" [B, A, 1] (1 palm,
  0 background, -1 ignored).

Palm targets come from the 21 hand landmarks (`topology.hand.palm_label`); instances without all
7 palm landmarks labelled are left out of the targets. A view is a square `Roi` over the image:
for evaluation the letterbox square (`geometry.roi.letterbox_roi`, as the runtime's letterbox), for training that square
zoomed, shifted and turned (recipe.augment), then flipped and colour-jittered; the view is cut
with `geometry.roi.crop_image` (zeros outside the image, as the detector's letterbox pads) and the
landmarks move with `geometry.roi.image_to_crop`, so the labels follow the pixels exactly.
"""

from __future__ import annotations

import math

import numpy as np
from omegaconf import DictConfig, OmegaConf

from blazeforge.geometry import anchors as anchor_specs
from blazeforge.geometry.anchors import generate_anchors
from blazeforge.geometry.matching import BACKGROUND, encode, match, sized_anchors
from blazeforge.geometry.roi import Roi, crop_image, image_to_crop, letterbox_roi
from blazeforge.topology.hand import PALM_KEYPOINTS, palm_label

SPEC = anchor_specs.PALM_DETECTION
_ANCHORS = generate_anchors(SPEC.anchors)  # [A, 4] as the decoder reads them
_SIZED = sized_anchors(SPEC.anchors)  # [A, 4] boxes with their SSD scales, for matching


def random_view(width: int, height: int, rng: np.random.Generator, aug) -> Roi:
    """The letterbox square zoomed by aug.scale, shifted by aug.shift of its side, turned by aug.rotation_deg."""
    base = letterbox_roi(width, height)
    side = base.width * rng.uniform(*aug.scale)
    dx, dy = rng.uniform(-aug.shift, aug.shift, 2) * side
    angle = math.radians(rng.uniform(-aug.rotation_deg, aug.rotation_deg))
    return Roi(base.cx + dx, base.cy + dy, side, side, angle)


def targets(keypoints: np.ndarray, keypoint_mask: np.ndarray, view: Roi, size: int, flip: bool,
            matching) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(regressors [A, 18], positive [A, 1], labels [A, 1]) for the palms seen through `view`.

    keypoints [N, 21, >=2] and keypoint_mask [N, 21, >=1] in image pixels; a palm counts when its 7
    landmarks are labelled and its box centre falls inside the view.
    """
    boxes, points = [], []
    for kp, mask in zip(keypoints, keypoint_mask):
        if not np.asarray(mask)[list(PALM_KEYPOINTS), 0].all():
            continue
        xy = image_to_crop(np.asarray(kp, np.float64)[:, :2], view, size) / size
        if flip:
            xy[:, 0] = 1.0 - xy[:, 0]
        box, palm = palm_label(xy)
        centre = (box[:2] + box[2:]) / 2
        if (0 <= centre).all() and (centre <= 1).all():
            boxes.append(box)
            points.append(palm)
    boxes = np.array(boxes, np.float64).reshape(-1, 4)
    points = np.array(points, np.float64).reshape(-1, len(PALM_KEYPOINTS), 2)
    matched = match(boxes, _SIZED, float(matching.positive_iou), float(matching.negative_iou))
    raw = encode(boxes, points, matched, _ANCHORS, SPEC.decode)
    labels = np.where(matched >= 0, 1.0, np.where(matched == BACKGROUND, 0.0, -1.0))
    return raw, (matched >= 0).astype(np.float32)[:, None], labels.astype(np.float32)[:, None]


class Examples:
    """The per-example numpy function: view, crop, augment, targets (training=False: letterbox only)."""

    def __init__(self, cfg: DictConfig, training: bool):
        from types import SimpleNamespace

        from blazeforge.training.augment import photometric

        self.aug = SimpleNamespace(**OmegaConf.to_container(cfg.recipe.augment, resolve=True))
        self.matching = SimpleNamespace(**OmegaConf.to_container(cfg.recipe.matching, resolve=True))
        self.size, self.seed, self.training = int(cfg.recipe.input_size), int(cfg.seed), training
        self.photometric = photometric(cfg.recipe.augment) if training else None

    def __call__(self, image, keypoints, keypoint_mask, index):
        h, w = image.shape[:2]
        rng = np.random.default_rng([self.seed, int(index)])
        view = random_view(w, h, rng, self.aug) if self.training else letterbox_roi(w, h)
        crop = crop_image(image, view, self.size, border="constant")
        flip = self.training and rng.random() < self.aug.flip
        if flip:
            crop = np.ascontiguousarray(crop[:, ::-1])
        if self.photometric is not None:
            crop = self.photometric(image=crop)["image"]
        raw, positive, labels = targets(keypoints, keypoint_mask, view, self.size, flip, self.matching)
        return crop.astype(np.float32) / 255.0, raw, positive, labels


def _to_batch_dict(image, regressors, positive, labels):
    return image, {"regressors": regressors, "positive": positive, "labels": labels}


def make_dataset(cfg: DictConfig, dataset_dir, split: str, training: bool):
    """Batches of (images, targets) for the palm detector (see the module docstring)."""
    import tensorflow as tf

    from blazeforge.datasets import load, summary

    size, batch = int(cfg.recipe.input_size), int(cfg.trainer.batch_size)
    a = len(_ANCHORS)
    specs = (tf.TensorSpec((size, size, 3), tf.float32), tf.TensorSpec((a, 4 + 2 * len(PALM_KEYPOINTS)), tf.float32),
             tf.TensorSpec((a, 1), tf.float32), tf.TensorSpec((a, 1), tf.float32))
    raw = load(dataset_dir, split, decode_images=False)
    ds = raw.map(lambda ex: (ex["image"], ex["keypoints"], ex["keypoint_mask"]))
    if training:
        ds = ds.repeat().shuffle(512, seed=int(cfg.seed))
    else:
        count = int(summary(dataset_dir)["splits"].get(split, 0))
        ds = ds.apply(tf.data.experimental.assert_cardinality(count))
    make = Examples(cfg, training)

    def decode_and_make(index, item):
        image, keypoints, keypoint_mask = item
        image = tf.io.decode_jpeg(image, channels=3)
        out = tf.numpy_function(make, [image, keypoints, keypoint_mask, index], [s.dtype for s in specs],
                                stateful=False)
        for tensor, spec in zip(out, specs):
            tensor.set_shape(spec.shape)
        return tuple(out)

    ds = ds.enumerate().map(decode_and_make, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(batch, drop_remainder=training).map(_to_batch_dict).prefetch(tf.data.AUTOTUNE)
