"""The landmark recipes' losses and metric (hands, face meshes), as plain functions of tensors.

Every landmark output is flattened to [B, 3K] (x, y, z of K points in crop pixels) first, so the
published architectures' [B, 1, 1, 3K] outputs train alike.
"""

from __future__ import annotations

import keras
from keras import ops


def flat(x):
    """[B, ...] -> [B, N]."""
    return ops.reshape(x, (ops.shape(x)[0], -1))


def landmark_loss(target, pred, mask, input_size: float):
    """Masked L1 in units of the crop size.

    target, mask: [B, 3K]; pred [B, 3K] or [B, 1, 1, 3K] (crop pixels; mask 1 where a coordinate
    is labelled). Returns a scalar: sum(|pred - target| * mask) / input_size / max(sum(mask), 1).
    Zero, with zero gradient, where the mask is zero.
    """
    error = ops.abs(flat(pred) - target) * mask / float(input_size)
    return ops.sum(error) / ops.maximum(ops.sum(mask), 1.0)


def presence_loss(target, pred, from_logits: bool = False):
    """Binary cross-entropy of the presence probability (or logit); target [B, 1], pred [B, 1] or
    [B, 1, 1, 1]."""
    return ops.mean(keras.losses.binary_crossentropy(target, flat(pred), from_logits=from_logits))


def crop_nme(target, pred, mask, input_size: float):
    """Mean 2D distance over labelled keypoints, in units of the crop size (val_nme_crop);
    target, mask [B, 3K], pred [B, 3K] or [B, 1, 1, 3K]."""
    target = ops.reshape(target, (ops.shape(target)[0], -1, 3))[..., :2]
    pred = ops.reshape(pred, (ops.shape(pred)[0], -1, 3))[..., :2]
    labelled = ops.reshape(mask, (ops.shape(mask)[0], -1, 3))[..., 0]
    dist = ops.sqrt(ops.sum(ops.square(pred - target), axis=-1) + 1e-12) / float(input_size)
    return ops.sum(dist * labelled) / ops.maximum(ops.sum(labelled), 1.0)
