"""Hand landmarks (MediaPipe Hands): 21 3D keypoints, hand presence and handedness from a crop.

Model (`build_model`): input float32 [B, S, S, 3] in [0, 1] (S = recipe.input_size, 224 published,
any multiple of 32); a BlazeBlock backbone (`models.blaze.landmark_backbone`) down to S/32 (7x7 at
224); three dense heads on the flattened grid, as MediaPipe's hand_landmark .tflite outputs them:
- "landmarks" [B, 63]: x, y, z of 21 keypoints in crop pixels (z at x's scale, wrist-relative);
  the head predicts units of the crop and a Rescaling layer multiplies by S;
- "presence" [B, 1]: probability that a hand is in the crop;
- "handedness" [B, 1]: probability of a right hand.

Losses (`landmark_losses.landmark_loss`, `presence_loss`, and `handedness_loss`, bundled for
`model.compile` by `make_losses`): landmarks are L1 in units of the crop size, weighted per coordinate by the
pipeline's landmark_mask and normalized by its sum, so real 2D-only samples (z masked) never push
z and negatives (all-zero mask) train nothing but presence. Keras losses take one y_true per
output, so `pack_targets` concatenates each mask beside its values.
"""

from __future__ import annotations

import keras
from keras import ops
from omegaconf import DictConfig

from blazeforge.models.blaze import landmark_regressor
from blazeforge.recipes.landmark_losses import packed_crop_nme, packed_l1, presence_loss

K = 21
OUTPUTS = ("landmarks", "presence", "handedness")
LANDMARK_OUTPUTS = ("landmarks",)  # the outputs that hold the topology's points, in order
SCORE = "presence"  # the output evaluation reads as the instance's presence
SCORE_IS_LOGIT = False


def build_model(recipe: DictConfig) -> keras.Model:
    """The hand-landmark model for recipe.input_size (multiple of 32) and recipe.width (full | lite).

    With recipe.architecture naming a published hand model (hand_landmark_full | hand_landmark_lite),
    its architecture instead (`models.hand_landmark`), with its fourth output "world_landmarks"
    [B, 63] (metres, no loss here) kept so that an export is a drop-in for the published file.
    """
    from blazeforge.recipes import published_model

    size = int(recipe.input_size)
    if recipe.get("architecture", "blazeforge") != "blazeforge":
        return published_model(recipe)
    return landmark_regressor(
        size, recipe.width, K, {"presence": "sigmoid", "handedness": "sigmoid"}, f"hand_landmarks_{recipe.width}_{size}"
    )


def handedness_loss(target, pred, mask):
    """Binary cross-entropy of P(right hand), over the samples whose mask is 1; [B, 1] each."""
    bce = keras.losses.binary_crossentropy(target, pred)[:, None]
    return ops.sum(bce * mask) / ops.maximum(ops.sum(mask), 1.0)


# ---- the same, in Keras' (y_true, y_pred) form for model.compile ------------------------------


def pack_targets(targets: dict) -> dict:
    """The pipeline's target dict -> one y_true per model output, each mask packed beside its values:
    landmarks [B, 126] (values, mask), presence [B, 1], handedness [B, 2] (value, mask)."""
    return {
        "landmarks": ops.concatenate([targets["landmarks"], targets["landmark_mask"]], axis=-1),
        "presence": targets["presence"],
        "handedness": ops.concatenate([targets["handedness"], targets["handedness_mask"]], axis=-1),
    }


def make_losses(recipe: DictConfig) -> tuple[dict, dict]:
    """(losses, loss_weights) keyed by output name, for `model.compile` on packed targets."""

    def handedness(y_true, y_pred):
        return handedness_loss(y_true[:, :1], y_pred, y_true[:, 1:])

    losses = {"landmarks": packed_l1(float(recipe.input_size)), "presence": presence_loss, "handedness": handedness}
    weights = {name: float(recipe.loss[name]) for name in losses}
    return losses, weights


def make_metrics(recipe: DictConfig) -> dict:
    """Metrics for `model.compile` on packed targets: the landmarks' crop NME (logged as
    `landmarks_crop_nme`, `val_landmarks_crop_nme`)."""
    return {"landmarks": [packed_crop_nme(float(recipe.input_size))]}


def make_dataset(cfg: DictConfig, dataset_dir, split: str, training: bool):
    """Batches of (images, targets) from `training.pipeline` (ROI crops of each hand)."""
    from blazeforge.training.pipeline import make_dataset as make

    return make(cfg, dataset_dir, split, training)
