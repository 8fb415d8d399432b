"""The SSD detectors' model, targets and losses.

Model (`build_model`): the detector's architecture at its input size, BatchNorm after its
convolutions (trained from scratch; folded on export), the regressor outputs scaled by
recipe.regressor_scale; palm: recipe.width full | lite and recipe.decoder fpn | none (the
ablation). With recipe.architecture naming the published file (set by
init=mediapipe:palm_detection_full and the like): its layers as published, to fine-tune its
weights (width and decoder then do not apply). Input float32 [B, S, S, 3] in the published input
range; outputs in MediaPipe's layout, so that an export is a drop-in for the published file:
- "regressors" [B, A, 4 + 2K]: dx, dy, w, h of the box and (dx, dy) of K keypoints per anchor, in
  input pixels relative to the anchor (`geometry.matching.encode` / `geometry.detections.decode`);
- "classificators" [B, A, 1]: logits.

Losses (recipe.loss): classification is `focal` (alpha, gamma; the published choice; the classifier
biases start at the logit of recipe.loss.prior) or `ce` (binary cross-entropy with hard-negative
mining, `negatives_per_positive` negatives per positive, the hardest first); both normalized by the
number of positive anchors and blind to ignored anchors. Regression is Huber on the positive
anchors' labelled values in units of the input size (delta recipe.loss.huber_delta; the box's 4
values weighted recipe.loss.box_weight against a keypoint coordinate), weighted by
recipe.loss.regression.
Targets (`pack_targets`): "regressors" [B, A, 2V] (V encoded values, then V weights: 1 for a
positive anchor's box and labelled keypoints), "classificators" [B, A, 1] (1 positive,
0 background, -1 ignored).
"""

from __future__ import annotations

import math

import keras
from keras import ops

from blazeforge.errors import BlazeforgeError
from blazeforge.recipes.base import published_architecture
from blazeforge.recipes.detection.kinds import detector


def _palm(recipe, size: int, scale: float):
    from blazeforge.models.blazepalm import blazepalm_model

    if recipe.width not in ("full", "lite") or recipe.get("decoder") not in ("fpn", "none"):
        raise BlazeforgeError(
            "recipe", f"expected width full | lite and decoder fpn | none, got {recipe.width!r} and {recipe.decoder!r}"
        )
    return blazepalm_model(recipe.width, size, recipe.decoder, scale, norm=True)


def _face_short(recipe, size: int, scale: float):
    from blazeforge.models.blazeface import blazeface_short_range_model

    return blazeface_short_range_model(size, norm=True, regressor_scale=scale)


def _face_full(recipe, size: int, scale: float):
    from blazeforge.models.blazeface import blazeface_full_range_model

    return blazeface_full_range_model(size, norm=True, regressor_scale=scale)


def _pose(recipe, size: int, scale: float):
    from blazeforge.models.blazepose import pose_detection_model

    return pose_detection_model(size, regressor_scale=scale, norm=True)


# Our architecture of each detector kind, trained from scratch: (recipe, input size, regressor scale) -> model.
ARCHITECTURES = {
    "PALM_DETECTION": _palm,
    "FACE_DETECTION_SHORT_RANGE": _face_short,
    "FACE_DETECTION_FULL_RANGE": _face_full,
    "POSE_DETECTION": _pose,
}


def _kernel(layer):
    """A convolution's kernel variable, depthwise or not."""
    return layer.depthwise_kernel if hasattr(layer, "depthwise_kernel") else layer.kernel


def head_ends(model: keras.Model) -> dict[str, list]:
    """The layers with a bias that end each output's heads: walking back from "regressors" and
    "classificators" through the layers without one (scaling, flattening, joining)."""
    ends = {}
    for name, tensor in zip(model.output_names, model.outputs):
        found, stack = [], [tensor]
        while stack:
            layer = stack.pop()._keras_history.operation
            if getattr(layer, "bias", None) is not None:
                found.append(layer)
                continue
            for node in layer._inbound_nodes:
                stack.extend(node.input_tensors)
        ends[name] = found
    return ends


def build_model(task, recipe) -> keras.Model:
    """The detector of recipe.detector at its input size: ours (`ARCHITECTURES`, heads initialized
    for training from scratch) or, with recipe.architecture naming a published file, its layers."""
    from blazeforge import zoo

    kind = detector(str(recipe.detector))
    size = int(recipe.input_size)
    if size != kind.spec.anchors.input_size[0]:
        raise BlazeforgeError(
            "recipe.input_size",
            f"expected {kind.spec.anchors.input_size[0]} (the anchors of {recipe.detector} are for it), got {size}",
        )
    zoo.avoid_remapper_crashes()  # PReLU and bias-only BlazeBlocks under TF 2.20's Grappler
    if recipe.get("architecture", "blazeforge") != "blazeforge":
        # The trainer loads its weights (init=mediapipe:NAME), then `adapt_published`.
        scale = float(recipe.get("published_regressor_scale", 1.0))
        return published_architecture(task, recipe, **({"regressor_scale": scale} if scale != 1.0 else {}))
    model = ARCHITECTURES[kind.name](recipe, size, float(recipe.regressor_scale))
    # RetinaNet's head initialization: the kernels of the layers that end the heads N(0, 0.01), so
    # that every anchor starts at P(object) = recipe.loss.prior (the classifier biases) and at zero
    # offsets, instead of the background anchors' noise swamping the first steps.
    prior = float(recipe.loss.prior)
    rng = keras.random.SeedGenerator(0)
    for output, layers in head_ends(model).items():
        logit = math.log(prior / (1 - prior)) if output == "classificators" else 0.0
        for layer in layers:
            kernel = _kernel(layer)
            kernel.assign(keras.random.normal(kernel.shape, stddev=0.01, seed=rng))
            layer.bias.assign(ops.full(layer.bias.shape, logit))
    return model


def adapt_published(model: keras.Model, recipe) -> None:
    """With recipe.published_regressor_scale s (not 1), the published architecture was built with
    its regressor heads' outputs times s (`build_model`): divide the weights of the layers that end
    them by s, so that the model starts at the published outputs, and its offsets move s times
    faster per step (the pose detector's published box is a constant 45 px square, a person's box
    is up to 200 px: at s 1, 200 steps moved its regression a fifth of the way)."""
    scale = float(recipe.get("published_regressor_scale", 1.0))
    if recipe.get("architecture", "blazeforge") == "blazeforge" or scale == 1.0:
        return
    for layer in head_ends(model)["regressors"]:
        kernel = _kernel(layer)
        kernel.assign(kernel / scale)
        layer.bias.assign(layer.bias / scale)


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


def regression_loss(target, pred, weights, input_size: float, delta: float, box_weight: float = 1.0):
    """Huber loss of the encoded values in units of the input size, weighted, per positive anchor.
    target, pred, weights [B, A, V]: weights 1 on a positive anchor's box (its first 4 values,
    which count the positives) and labelled keypoints, 0 elsewhere; the box's 4 values count
    box_weight times a keypoint coordinate."""
    error = ops.abs(pred - target) / float(input_size)
    huber = ops.where(error < delta, 0.5 * ops.square(error) / delta, error - 0.5 * delta)
    scale = ops.concatenate([ops.full((4,), box_weight), ops.ones((target.shape[-1] - 4,))])
    return ops.sum(huber * weights * scale) / ops.maximum(ops.sum(weights[..., :1]), 1.0)


# ---- the same, in Keras' (y_true, y_pred) form for model.compile ------------------------------


def pack_targets(targets: dict) -> dict:
    """The pipeline's targets -> one y_true per output (see the module docstring)."""
    return {
        "regressors": ops.concatenate([targets["regressors"], targets["weights"]], axis=-1),
        "classificators": targets["labels"],
    }


def losses(recipe) -> tuple[dict, dict]:
    """(losses, loss_weights) keyed by output name, for `model.compile` on packed targets."""
    loss = recipe.loss
    size = float(recipe.input_size)

    values = 4 + 2 * detector(str(recipe.detector)).count

    def regressors(y_true, y_pred):
        return regression_loss(
            y_true[..., :values], y_pred, y_true[..., values:], size, float(loss.huber_delta), float(loss.box_weight)
        )

    if loss.classification == "focal":

        def classificators(y_true, y_pred):
            return focal_loss(y_true, y_pred, float(loss.alpha), float(loss.gamma))
    elif loss.classification == "ce":

        def classificators(y_true, y_pred):
            return mined_ce_loss(y_true, y_pred, float(loss.negatives_per_positive))
    else:
        raise BlazeforgeError("recipe.loss.classification", f"expected focal | ce, got {loss.classification!r}")
    return (
        {"regressors": regressors, "classificators": classificators},
        {"regressors": float(loss.regression), "classificators": 1.0},
    )
