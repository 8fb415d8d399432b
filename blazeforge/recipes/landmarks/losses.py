"""The landmark tasks' losses and metric (hands, face meshes, eyes), as plain functions of
tensors, and in Keras' (y_true, y_pred) form on packed targets (`packed_l1`, `packed_crop_nme`).

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
    """Mean 2D distance over labelled keypoints, in units of the crop size (logged as val_<output>_crop_nme);
    target, mask [B, 3K], pred [B, 3K] or [B, 1, 1, 3K]."""
    target = ops.reshape(target, (ops.shape(target)[0], -1, 3))[..., :2]
    pred = ops.reshape(pred, (ops.shape(pred)[0], -1, 3))[..., :2]
    labelled = ops.reshape(mask, (ops.shape(mask)[0], -1, 3))[..., 0]
    dist = ops.sqrt(ops.sum(ops.square(pred - target), axis=-1) + 1e-12) / float(input_size)
    return ops.sum(dist * labelled) / ops.maximum(ops.sum(labelled), 1.0)


# ---- on packed targets: y_true [B, 2N] is the N values, then their mask ------------------------


def packed_l1(input_size: float):
    """`landmark_loss` as a Keras loss on packed targets."""

    def loss(y_true, y_pred):
        half = ops.shape(y_true)[-1] // 2
        return landmark_loss(y_true[:, :half], y_pred, y_true[:, half:], input_size)

    return loss


def packed_crop_nme(input_size: float):
    """`crop_nme` as a Keras metric on packed targets (logged as `<output>_crop_nme`)."""

    def crop_nme_metric(y_true, y_pred):
        half = ops.shape(y_true)[-1] // 2
        return crop_nme(y_true[:, :half], y_pred, y_true[:, half:], input_size)

    crop_nme_metric.__name__ = "crop_nme"
    return crop_nme_metric


def handedness_loss(target, pred, mask):
    """Binary cross-entropy of P(right hand), over the samples whose mask is 1; [B, 1] each."""
    bce = keras.losses.binary_crossentropy(target, pred)[:, None]
    return ops.sum(bce * mask) / ops.maximum(ops.sum(mask), 1.0)
