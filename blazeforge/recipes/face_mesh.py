"""FaceMesh (MediaPipe Face Mesh, arXiv:1907.06724): 468 3D landmarks and a face flag from a crop.

Model (`build_model`): input float32 [B, S, S, 3] in [0, 1] (S = recipe.input_size, 192 published,
any multiple of 32); a BlazeBlock backbone (`models.blaze.landmark_backbone`) down to S/32 (6x6 at
192) and two dense heads on the flattened grid, named and laid out as MediaPipe's face_landmark
.tflite outputs them (less its [B, 1, 1, N] shape):
- "landmarks" [B, 1404]: x, y, z of the 468 mesh points in crop pixels (z at x's scale, relative
  to the nose tip); the head predicts units of the crop and a Rescaling layer multiplies by S;
- "face_flag" [B, 1]: logit that a face fills the crop.
With recipe.architecture=face_landmark (set by init=mediapipe:face_landmark) the published
architecture instead (`models.face_mesh`), whose outputs are [B, 1, 1, 1404] and [B, 1, 1, 1].

Training data (`training.pipeline`, crops by MediaPipe's `face_roi` rule): renders (x, y, z),
real meshes (x, y) and 2D contours (some points, x and y) mix through keypoint_mask: the L1 loss
counts labelled coordinates only, so contour-only faces train their points and nothing else.
Augmentation is limited (tight crops, as the published design says); no flips (the mesh's mirror
pairs are not in its topology).
"""

from __future__ import annotations

import keras
from keras import ops
from omegaconf import DictConfig

from blazeforge.models.blaze import landmark_regressor
from blazeforge.recipes.landmark_losses import packed_crop_nme, packed_l1, presence_loss
from blazeforge.topology.face_mesh import NUM_LANDMARKS as K

OUTPUTS = ("landmarks", "face_flag")
LANDMARK_OUTPUTS = ("landmarks",)  # the outputs that hold the topology's points, in order
SCORE = "face_flag"  # the output evaluation reads as the instance's presence
SCORE_IS_LOGIT = True


def build_model(recipe: DictConfig) -> keras.Model:
    """The face-mesh model for recipe.input_size (multiple of 32) and recipe.width (full | lite)."""
    from blazeforge.recipes import published_model

    size = int(recipe.input_size)
    if recipe.get("architecture", "blazeforge") != "blazeforge":
        return published_model(recipe)
    return landmark_regressor(size, recipe.width, K, {"face_flag": None}, f"face_mesh_{recipe.width}_{size}")


def pack_targets(targets: dict) -> dict:
    """The pipeline's targets -> one y_true per output: landmarks [B, 2808] (values, mask),
    face_flag [B, 1] (the crop's presence)."""
    return {
        "landmarks": ops.concatenate([targets["landmarks"], targets["landmark_mask"]], axis=-1),
        "face_flag": targets["presence"],
    }


def make_losses(recipe: DictConfig) -> tuple[dict, dict]:
    """(losses, loss_weights) keyed by output name: masked L1 (crop units) and the face flag's
    binary cross-entropy on its logit."""

    def face_flag(y_true, y_pred):
        return presence_loss(y_true, y_pred, from_logits=True)

    losses = {"landmarks": packed_l1(float(recipe.input_size)), "face_flag": face_flag}
    return losses, {name: float(recipe.loss[name]) for name in losses}


def make_metrics(recipe: DictConfig) -> dict:
    """The landmarks' crop NME (logged as `landmarks_crop_nme`, `val_landmarks_crop_nme`)."""
    return {"landmarks": [packed_crop_nme(float(recipe.input_size))]}


def make_dataset(cfg: DictConfig, dataset_dir, split: str, training: bool):
    """Batches of (images, targets) from `training.pipeline` (face_roi crops of each face)."""
    from blazeforge.training.pipeline import make_dataset as make

    return make(cfg, dataset_dir, split, training)
