"""The landmark tasks' model, targets, losses and metric (hands, face meshes, eyes).

Model (`build_model`): input float32 [B, S, S, 3] in [0, 1] (S = recipe.input_size, any multiple of
32 for ours); a BlazeBlock backbone (`models.blaze.landmark_regressor`) down to S/32 and dense heads
on the flattened grid, named and laid out as MediaPipe's .tflite outputs them: the landmark output
[B, 3K] (crop pixels; the head predicts units of the crop and a Rescaling layer multiplies by S),
the score (presence probability, or the face flag's logit) and the label (P(right hand)). With
recipe.architecture naming a published model (init=mediapipe:NAME sets it), its architecture
instead, with its extra heads (hand_landmark's world_landmarks) kept so that an export is a
drop-in for the published file; the iris task has only the published architecture.

Targets (`pack_targets`): Keras losses take one y_true per output, so each mask is packed beside
its values: a landmark output [B, 6K] (values, then mask), the score [B, 1] (the crop's presence),
the label [B, 2] (value, mask). Losses (`losses.py`): masked L1 in units of the crop size, so real
2D-only samples (z masked) never push z and negatives (all-zero mask) train only the score.
"""

from __future__ import annotations

from keras import ops

from blazeforge.models.blaze import landmark_regressor
from blazeforge.recipes.base import published_architecture
from blazeforge.recipes.landmarks.losses import handedness_loss, packed_crop_nme, packed_l1, presence_loss


def build_model(task, recipe):
    """The task's model for recipe.input_size (multiple of 32) and recipe.width (full | lite)."""
    size = int(recipe.input_size)
    if recipe.get("architecture", "blazeforge") != "blazeforge" or not task.own_architecture:
        return published_architecture(task, recipe)
    heads = {}
    if task.score:
        heads[task.score] = None if task.score_is_logit else "sigmoid"
    if task.label:
        heads[task.label] = "sigmoid"
    return landmark_regressor(size, recipe.width, task.num_keypoints, heads, f"{task.name}_{recipe.width}_{size}")


def pack_targets(task, targets: dict) -> dict:
    """The pipeline's targets ("landmarks", "landmark_mask" [B, 3K], "presence", "handedness",
    "handedness_mask" [B, 1]) -> one y_true per output (see the module docstring)."""
    points, mask = targets["landmarks"], targets["landmark_mask"]
    out, start = {}, 0
    for name, k in task.outputs:
        end = start + 3 * k
        out[name] = ops.concatenate([points[:, start:end], mask[:, start:end]], axis=-1)
        start = end
    if task.score:
        out[task.score] = targets["presence"]
    if task.label:
        out[task.label] = ops.concatenate([targets["handedness"], targets["handedness_mask"]], axis=-1)
    return out


def losses(task, recipe) -> tuple[dict, dict]:
    """(losses, loss_weights) keyed by output name, for `model.compile` on packed targets; the
    weights are recipe.loss.<output>."""
    size, logit = float(recipe.input_size), bool(task.score_is_logit)  # plain values: Keras saves the losses

    def score(y_true, y_pred):
        return presence_loss(y_true, y_pred, from_logits=logit)

    def label(y_true, y_pred):
        return handedness_loss(y_true[:, :1], y_pred, y_true[:, 1:])

    out = {name: packed_l1(size) for name in task.landmark_outputs}
    if task.score:
        out[task.score] = score
    if task.label:
        out[task.label] = label
    return out, {name: float(recipe.loss[name]) for name in out}


def metrics(task, recipe) -> dict:
    """The crop NME of task.metric (logged as `<output>_crop_nme`, `val_<output>_crop_nme`)."""
    return {task.metric: [packed_crop_nme(float(recipe.input_size))]}
