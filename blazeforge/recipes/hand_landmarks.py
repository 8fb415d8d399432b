"""Hand landmarks (MediaPipe Hands): 21 3D keypoints, hand presence and handedness from a crop.

Model: input float32 [B, S, S, 3] in [0, 1] (S = recipe.input_size, 224 published); a BlazeBlock
encoder (`models.blaze.landmark_encoder`); three heads, as MediaPipe's hand_landmark .tflite:
- "landmarks" [B, 63]: x, y, z of 21 keypoints in crop pixels (z at x's scale, wrist-relative);
- "presence" [B, 1]: probability that a hand is in the crop;
- "handedness" [B, 1]: probability of a right hand.

Losses take packed targets (see `pack_targets`): landmarks carry their per-coordinate mask so that
real 2D-only samples (z masked) train x and y and never push z, and negatives train nothing but
presence.
"""

from __future__ import annotations

import keras
from keras import layers, ops
from omegaconf import DictConfig

from blazeforge.models.blaze import landmark_encoder

K = 21
EPS = 1e-6


def build_model(recipe: DictConfig) -> keras.Model:
    size = int(recipe.input_size)
    if size % 32 or size < 64:
        raise ValueError(f"recipe.input_size must be a multiple of 32 and at least 64, got {size}")
    inputs = keras.Input((size, size, 3), name="image")
    features = layers.Flatten(name="flatten")(landmark_encoder(inputs, recipe.width))
    # Start every landmark at the crop centre: the head learns offsets from there.
    center = keras.initializers.Constant([0.5, 0.5, 0.0] * K)
    landmarks = layers.Dense(3 * K, bias_initializer=center, name="landmarks_unit")(features)
    landmarks = layers.Rescaling(float(size), name="landmarks")(landmarks)
    presence = layers.Dense(1, activation="sigmoid", name="presence")(features)
    handedness = layers.Dense(1, activation="sigmoid", name="handedness")(features)
    return keras.Model(inputs, {"landmarks": landmarks, "presence": presence, "handedness": handedness},
                       name=f"hand_landmarks_{recipe.width}_{size}")


def pack_targets(targets: dict) -> dict:
    """The pipeline's target dict -> one tensor per model output, masks packed beside the values."""
    return {
        "landmarks": ops.concatenate([targets["landmarks"], targets["landmark_mask"]], axis=-1),
        "presence": targets["presence"],
        "handedness": ops.concatenate([targets["handedness"], targets["handedness_mask"]], axis=-1),
    }


def make_losses(recipe: DictConfig) -> tuple[dict, dict]:
    """(losses, loss_weights) keyed by output name, for `model.compile`."""
    size = float(recipe.input_size)

    def landmark_loss(y_true, y_pred):
        """Mean absolute error over labelled coordinates, in units of the crop size."""
        target, mask = y_true[:, :3 * K], y_true[:, 3 * K:]
        error = ops.abs(y_pred - target) * mask / size
        return ops.sum(error) / (ops.sum(mask) + EPS)

    def handedness_loss(y_true, y_pred):
        target, mask = y_true[:, :1], y_true[:, 1:]
        bce = keras.losses.binary_crossentropy(target, y_pred)[:, None]
        return ops.sum(bce * mask) / (ops.sum(mask) + EPS)

    losses = {"landmarks": landmark_loss, "presence": keras.losses.BinaryCrossentropy(),
              "handedness": handedness_loss}
    weights = {name: float(recipe.loss[name]) for name in losses}
    return losses, weights


def make_metrics(recipe: DictConfig) -> dict:
    size = float(recipe.input_size)

    def crop_nme(y_true, y_pred):
        """Mean 2D distance over labelled keypoints, in units of the crop size."""
        target = ops.reshape(y_true[:, :3 * K], (-1, K, 3))[..., :2]
        mask = ops.reshape(y_true[:, 3 * K:], (-1, K, 3))[..., 0]
        pred = ops.reshape(y_pred, (-1, K, 3))[..., :2]
        dist = ops.sqrt(ops.sum(ops.square(pred - target), axis=-1) + EPS) / size
        return ops.sum(dist * mask) / (ops.sum(mask) + EPS)

    return {"landmarks": [crop_nme]}
