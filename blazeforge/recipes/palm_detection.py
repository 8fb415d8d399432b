"""BlazePalm (MediaPipe Hands' palm detector): SSD on 2016 anchors, box + 7 palm keypoints.

Model (`build_model`): `models.blazepalm.blazepalm_model` at recipe.input_size (192 published),
recipe.width full | lite, recipe.decoder fpn | none (the ablation), the regressor outputs scaled by
recipe.regressor_scale, with BatchNorm after its convolutions (trained from scratch; folded on
export). Input float32 [B, S, S, 3] in [0, 1]; outputs in MediaPipe's layout, so that an export is
a drop-in for the published file:
- "regressors" [B, 2016, 18]: dx, dy, w, h of the palm box and (dx, dy) of 7 keypoints per anchor,
  in input pixels relative to the anchor (`geometry.matching.encode` / `geometry.detections.decode`);
- "classificators" [B, 2016, 1]: logits of a palm.

Losses (recipe.loss): classification is `focal` (alpha, gamma; the published choice; the classifier
biases start at the logit of recipe.loss.prior) or `ce`
(binary cross-entropy with hard-negative mining, `negatives_per_positive` negatives per positive,
the hardest first); both normalized by the number of positive anchors and blind to ignored anchors.
Regression is Huber on the positive anchors' 18 values in units of the input size (delta
recipe.loss.huber_delta), weighted by recipe.loss.regression.
Targets (`pack_targets`): "regressors" [B, A, 19] (18 encoded values, then 1 on positive anchors),
"classificators" [B, A, 1] (1 positive, 0 background, -1 ignored).
"""

from __future__ import annotations

import math

import keras
from keras import ops
from omegaconf import DictConfig

OUTPUTS = ("regressors", "classificators")
VALUES = 18  # 4 box values + 7 keypoints x 2


def build_model(recipe: DictConfig) -> keras.Model:
    """The palm detector for recipe.input_size, recipe.width and recipe.decoder."""
    from blazeforge.errors import BlazeforgeError
    from blazeforge.models.blazepalm import blazepalm_model

    size = int(recipe.input_size)
    if size != 192:
        raise BlazeforgeError("recipe.input_size", f"expected 192 (the anchors are MediaPipe's for 192), got {size}")
    if recipe.width not in ("full", "lite") or recipe.decoder not in ("fpn", "none"):
        raise BlazeforgeError("recipe", f"expected width full | lite and decoder fpn | none, got "
                                        f"{recipe.width!r} and {recipe.decoder!r}")
    from blazeforge import zoo

    zoo.avoid_remapper_crashes()  # PReLU and bias-only BlazeBlocks under TF 2.20's Grappler
    model = blazepalm_model(recipe.width, size, recipe.decoder, float(recipe.regressor_scale), norm=True)
    # Focal loss' prior (RetinaNet): every anchor starts at P(palm) = recipe.loss.prior, so that the
    # 2016 background anchors do not swamp the first steps.
    prior = float(recipe.loss.prior)
    for layer in model.layers:
        if layer.name.startswith("classifier_") and isinstance(layer, keras.layers.Conv2D):
            layer.bias.assign(keras.ops.full(layer.bias.shape, math.log(prior / (1 - prior))))
    return model


# ---- losses: plain functions of tensors -------------------------------------------------------

def focal_loss(labels, logits, alpha: float = 0.25, gamma: float = 2.0):
    """Sigmoid focal loss summed over anchors, over the number of positives. labels, logits [B, A, 1];
    labels 1 / 0 / -1 (ignored)."""
    positive = ops.cast(labels > 0.5, "float32")
    valid = ops.cast(labels > -0.5, "float32")
    p = ops.sigmoid(logits)
    ce = ops.softplus(logits) - positive * logits  # binary cross-entropy from logits
    p_t = positive * p + (1 - positive) * (1 - p)
    alpha_t = positive * alpha + (1 - positive) * (1 - alpha)
    loss = alpha_t * ops.power(1 - p_t, gamma) * ce * valid
    return ops.sum(loss) / ops.maximum(ops.sum(positive), 1.0)


def mined_ce_loss(labels, logits, negatives_per_positive: float = 3.0):
    """Binary cross-entropy over the positives and the hardest negatives (ratio per image, at least
    one), over the number of positives. labels, logits [B, A, 1]; labels 1 / 0 / -1 (ignored)."""
    labels, logits = labels[..., 0], logits[..., 0]
    positive = ops.cast(labels > 0.5, "float32")
    negative = ops.cast((labels > -0.5) & (labels < 0.5), "float32")
    ce = ops.softplus(logits) - positive * logits
    negative_ce = ce * negative - (1 - negative)  # non-negatives sort last
    rank = ops.argsort(ops.argsort(-negative_ce, axis=-1), axis=-1)
    keep = ops.maximum(ops.sum(positive, axis=-1, keepdims=True) * negatives_per_positive, 1.0)
    hard = negative * ops.cast(ops.cast(rank, "float32") < keep, "float32")
    return ops.sum(ce * (positive + hard)) / ops.maximum(ops.sum(positive), 1.0)


def regression_loss(target, pred, positive, input_size: float, delta: float):
    """Huber loss of the positives' encoded values in units of the input size, mean per positive.
    target, pred [B, A, V]; positive [B, A, 1]."""
    error = ops.abs(pred - target) / float(input_size)
    huber = ops.where(error < delta, 0.5 * ops.square(error) / delta, error - 0.5 * delta)
    return ops.sum(ops.sum(huber, axis=-1, keepdims=True) * positive) / ops.maximum(ops.sum(positive), 1.0)


# ---- the same, in Keras' (y_true, y_pred) form for model.compile ------------------------------

def pack_targets(targets: dict) -> dict:
    """The pipeline's targets -> one y_true per output (see the module docstring)."""
    return {"regressors": ops.concatenate([targets["regressors"], targets["positive"]], axis=-1),
            "classificators": targets["labels"]}


def make_losses(recipe: DictConfig) -> tuple[dict, dict]:
    """(losses, loss_weights) keyed by output name, for `model.compile` on packed targets."""
    from blazeforge.errors import BlazeforgeError

    loss = recipe.loss
    size = float(recipe.input_size)

    def regressors(y_true, y_pred):
        return regression_loss(y_true[..., :VALUES], y_pred, y_true[..., VALUES:], size, float(loss.huber_delta))

    if loss.classification == "focal":
        def classificators(y_true, y_pred):
            return focal_loss(y_true, y_pred, float(loss.alpha), float(loss.gamma))
    elif loss.classification == "ce":
        def classificators(y_true, y_pred):
            return mined_ce_loss(y_true, y_pred, float(loss.negatives_per_positive))
    else:
        raise BlazeforgeError("recipe.loss.classification", f"expected focal | ce, got {loss.classification!r}")
    return ({"regressors": regressors, "classificators": classificators},
            {"regressors": float(loss.regression), "classificators": 1.0})


def make_metrics(recipe: DictConfig) -> dict:
    """No per-batch metrics: detectors are scored by AP on whole images at evaluation."""
    return {}


def make_dataset(cfg: DictConfig, dataset_dir, split: str, training: bool):
    """Batches of (images, targets) from `training.detection_pipeline`."""
    from blazeforge.training.detection_pipeline import make_dataset as make

    return make(cfg, dataset_dir, split, training)
