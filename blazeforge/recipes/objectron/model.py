"""The Objectron task's model and losses.

Model (`build_model`): `models.objectron.objectron_model` at recipe.input_size (a square's side or
[height, width], multiples of 32: `data.input_shape`) and recipe.width (full: MobileNetV2's
widths; lite: half of them), BatchNorm after its convolutions (trained from scratch; folded on export).

Losses on `data`'s packed targets:
- heatmap: binary cross-entropy per cell, cells weighted 1 + recipe.loss.positive_weight x target
  (the Gaussians cover a few cells of the grid);
- offsets: L1 where the target Gaussian exceeds 0.1 (in units of the grid's short side);
- segmentation: binary cross-entropy per pixel where the frame has a mask.
Their weights are recipe.loss.<output>.
"""

from __future__ import annotations

from keras import ops

from blazeforge.errors import BlazeforgeError

WIDTHS = {"full": 1.0, "lite": 0.5}


def build_model(task, recipe):
    from blazeforge.models.objectron import objectron_model
    from blazeforge.recipes.objectron.data import input_shape

    height, width = input_shape(recipe)
    if recipe.width not in WIDTHS:
        raise BlazeforgeError("recipe.width", f"expected full | lite, got {recipe.width!r}")
    return objectron_model(height, width, WIDTHS[recipe.width], norm=True)


def _masked_mean(values, weights):
    return ops.sum(values * weights) / ops.maximum(ops.sum(weights), 1.0)


def heatmap_loss(positive_weight: float):
    """Keras loss on y_true [B, G, G, 1] (Gaussians) and the belief y_pred [B, G, G, 1] (probabilities)."""

    def loss(y_true, y_pred):
        bce = ops.binary_crossentropy(y_true, y_pred)
        return ops.mean(bce * (1.0 + positive_weight * y_true))

    return loss


def offsets_loss(y_true, y_pred):
    """Keras loss on y_true [B, G, G, 32] (16 offsets, 16 weights) and y_pred [B, G, G, 16]."""
    return _masked_mean(ops.abs(y_pred - y_true[..., :16]), y_true[..., 16:])


def segmentation_loss(y_true, y_pred):
    """Keras loss on y_true [B, M, M, 2] (mask, weight) and probabilities y_pred [B, M, M, 1]."""
    return _masked_mean(ops.binary_crossentropy(y_true[..., :1], y_pred), y_true[..., 1:])


def losses(task, recipe) -> tuple[dict, dict]:
    out = {
        "heatmap": heatmap_loss(float(recipe.loss.positive_weight)),
        "offsets": offsets_loss,
        "segmentation": segmentation_loss,
    }
    return out, {name: float(recipe.loss[name]) for name in out}
