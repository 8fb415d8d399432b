"""The pose landmark task's model, losses and metric (BlazePose, arXiv:2006.10204).

Model (`build_model`): `models.blazepose.pose_landmark_model` at recipe.input_size (a multiple of
32) and recipe.width (full: the published widths; lite: half of them), with the training-only
offsets head and crop-unit landmark head (`crop_units`) when blazeforge builds it from scratch, the
regression branch behind a stop-gradient where recipe.stop_gradient (the schedule's). With
recipe.architecture=pose_landmark_full (init=mediapipe:pose_landmark_full), the published file's
architecture as it is. Outputs are a dict: landmarks [B, 195], pose_flag [B, 1], segmentation
[B, S, S, 1], heatmap [B, S/4, S/4, 39], world_landmarks [B, 117] (metres), offsets.

Losses on the packed targets of `data` (each masked where a label is missing):
- landmarks: L1 on x, y and recipe.loss_terms.z x z in units of the crop, plus
  recipe.loss_terms.visibility x the sigmoid cross-entropy of the visibility and presence logits
  (recipe.loss_terms.published's weights for the published architecture);
- heatmap: sigmoid cross-entropy per cell, cells weighted 1 + recipe.heatmap.positive_weight x target
  (the Gaussians are a sliver of the map), averaged over labelled channels;
- offsets: L1 in cells where the Gaussian exceeds 0.1;
- segmentation: sigmoid cross-entropy per pixel where the sample has a mask;
- pose_flag: cross-entropy of the probability;
- world_landmarks: L1 in metres on the 33 points where known (renders).

Metrics: `landmarks_crop_nme` (2D error of the 33 in units of the crop) and
`world_landmarks_mpjpe_mm` (mean distance of the known world points, millimetres).
"""

from __future__ import annotations

import keras
from keras import ops

from blazeforge.errors import BlazeforgeError
from blazeforge.recipes.base import published_architecture
from blazeforge.recipes.pose.targets import LANDMARKS, VALUES

WIDTHS = {"full": 1.0, "lite": 0.5}
OUTPUT_NAMES = ("landmarks", "pose_flag", "segmentation", "heatmap", "world_landmarks", "offsets")


def build_model(task, recipe):
    """The task's model for recipe.input_size, recipe.width, recipe.stop_gradient and
    recipe.regression_skips."""
    from blazeforge.models.blazepose import pose_landmark_model

    size = int(recipe.input_size)
    if recipe.get("architecture", "blazeforge") != "blazeforge":
        return published_architecture(task, recipe)
    if size % 32 or size < 64:
        raise BlazeforgeError("recipe.input_size", f"expected a multiple of 32, at least 64; got {size}")
    if recipe.width not in WIDTHS:
        raise BlazeforgeError("recipe.width", f"expected full | lite, got {recipe.width!r}")
    model = pose_landmark_model(
        size,
        bool(recipe.stop_gradient),
        WIDTHS[recipe.width],
        offsets=True,
        crop_units=True,
        norm=True,
        regression_skips=bool(recipe.get("regression_skips", False)),
    )
    return keras.Model(model.inputs, dict(zip(OUTPUT_NAMES, model.outputs)), name=f"pose_{recipe.width}_{size}")


def _masked_mean(values, weights):
    return ops.sum(values * weights) / ops.maximum(ops.sum(weights), 1.0)


def _points(x):
    return ops.reshape(x, (ops.shape(x)[0], LANDMARKS, VALUES))


def landmarks_loss(size: float, visibility_weight: float, z_weight: float = 1.0):
    """Keras loss on y_true [B, 390] (values, mask) and y_pred [B, 195]; z's error counts z_weight
    times x's and y's."""
    axes = ops.convert_to_tensor([1.0, 1.0, z_weight])

    def loss(y_true, y_pred):
        half = LANDMARKS * VALUES
        target, mask, pred = _points(y_true[:, :half]), _points(y_true[:, half:]), _points(y_pred)
        l1 = _masked_mean(ops.abs(pred[..., :3] - target[..., :3]) * axes / size, mask[..., :3])
        flags = ops.binary_crossentropy(target[..., 3:], pred[..., 3:], from_logits=True)
        return l1 + visibility_weight * _masked_mean(flags, mask[..., 3:])

    return loss


def heatmap_loss(positive_weight: float):
    """Keras loss on y_true [B, H, H, 78] (Gaussians, channel mask) and heatmap logits [B, H, H, 39]."""

    def loss(y_true, y_pred):
        target, mask = y_true[..., :LANDMARKS], y_true[..., LANDMARKS:]
        bce = ops.binary_crossentropy(target, y_pred, from_logits=True)
        return _masked_mean(bce * (1.0 + positive_weight * target), mask)

    return loss


def offsets_loss(y_true, y_pred):
    """Keras loss on y_true [B, H, H, 117] (dx, dy x 39 in cells, then 39 weights), y_pred [B, H, H, 78]."""
    target, weight = y_true[..., : 2 * LANDMARKS], y_true[..., 2 * LANDMARKS :]
    weight = ops.repeat(weight, 2, axis=-1)
    return _masked_mean(ops.abs(y_pred - target), weight)


def segmentation_loss(y_true, y_pred):
    """Keras loss on y_true [B, S, S, 2] (mask, weight) and mask logits [B, S, S, 1]."""
    bce = ops.binary_crossentropy(y_true[..., :1], y_pred, from_logits=True)
    return _masked_mean(bce, y_true[..., 1:])


def _world(y_true, y_pred):
    """(target, mask, prediction) [B, 39, 3] each of world y_true [B, 234], y_pred [B, 117]."""
    half = LANDMARKS * 3
    shape = (ops.shape(y_pred)[0], LANDMARKS, 3)
    return ops.reshape(y_true[:, :half], shape), ops.reshape(y_true[:, half:], shape), ops.reshape(y_pred, shape)


def world_loss(y_true, y_pred):
    """Keras loss on y_true [B, 234] (world points in metres, mask) and y_pred [B, 117]: masked L1."""
    target, mask, pred = _world(y_true, y_pred)
    return _masked_mean(ops.abs(pred - target), mask)


def mpjpe_mm(y_true, y_pred):
    """Mean distance of the known world points, millimetres."""
    target, mask, pred = _world(y_true, y_pred)
    dist = ops.sqrt(ops.sum(ops.square(pred - target), -1) + 1e-12) * 1000.0
    return _masked_mean(dist, mask[..., 0])


def flag_loss(y_true, y_pred):
    """Cross-entropy of the pose flag (a probability), [B, 1] each."""
    return ops.mean(keras.losses.binary_crossentropy(y_true, y_pred))


def losses(task, recipe) -> tuple[dict, dict]:
    """(losses, loss_weights) keyed by output name; the weights are recipe.loss.<output>."""
    size = float(recipe.input_size)
    published = recipe.get("architecture", "blazeforge") != "blazeforge"
    terms = recipe.loss_terms.published if published else recipe.loss_terms
    out = {
        "landmarks": landmarks_loss(size, float(terms.visibility), float(terms.z)),
        "heatmap": heatmap_loss(float(recipe.heatmap.positive_weight)),
        "offsets": offsets_loss,
        "segmentation": segmentation_loss,
        "pose_flag": flag_loss,
        "world_landmarks": world_loss,
    }
    if published:
        del out["offsets"]  # the published file has no offsets head
    return out, {name: float(recipe.loss[name]) for name in out}


def metrics(task, recipe) -> dict:
    """The 2D error of the 33 regressed points in units of the crop (`landmarks_crop_nme`) and the
    world points' error (`world_landmarks_mpjpe_mm`)."""
    size = float(recipe.input_size)

    def crop_nme(y_true, y_pred):
        half = LANDMARKS * VALUES
        target, mask, pred = _points(y_true[:, :half]), _points(y_true[:, half:]), _points(y_pred)
        dist = ops.sqrt(ops.sum(ops.square(pred[:, :33, :2] - target[:, :33, :2]), -1) + 1e-12) / size
        return _masked_mean(dist, mask[:, :33, 0])

    return {"landmarks": [crop_nme], "world_landmarks": [mpjpe_mm]}
