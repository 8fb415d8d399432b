"""Iris (MediaPipe Iris, arXiv:2006.11341): 71 eye-contour and brow points and 5 iris points from
a 64x64 eye crop.

Model (`build_model`): the published iris_landmark architecture (`models.iris`), trained from
scratch or fine-tuned with init=mediapipe:iris_landmark. Input float32 [B, 64, 64, 3] in [0, 1],
one eye: the subject's right eye, or the left one mirrored (as MediaPipe's iris graph feeds it).
Outputs, as the published file names and lays them out:
- "eye_contour" [B, 213]: x, y, z of the 71 points (topology `eye`, points 0-70) in crop pixels;
- "iris" [B, 15]: the iris centre, then its rim (+x, up, -x, down in the crop) (points 71-75).

Data: face_mesh_iris datasets (renders label the refined 478-point mesh); each face gives two
crops by MediaPipe's eye rule (`geometry.roi.eye_roi`, recipe.crop=eyes in `training.pipeline`),
labelled with the mesh's eye-contour vertices (`topology.face_mesh.EYE_CONTOUR`) and the irises.
Metric depth from the predicted iris: `blazeforge evaluate iris_depth renders=... checkpoint=RUN_DIR`.
"""

from __future__ import annotations

from keras import ops
from omegaconf import DictConfig

from blazeforge.recipes.landmark_losses import packed_crop_nme, packed_l1

CONTOUR = 71 * 3
OUTPUTS = ("eye_contour", "iris")
LANDMARK_OUTPUTS = ("eye_contour", "iris")  # the topology's 76 points: contour, then iris
SCORE = None  # no presence output


def build_model(recipe: DictConfig):
    """The published iris architecture for recipe.input_size (64)."""
    from blazeforge.recipes import published_model

    return published_model(recipe)


def pack_targets(targets: dict) -> dict:
    """The pipeline's targets ([B, 228] points of topology `eye`) -> eye_contour [B, 426] and
    iris [B, 30], each values then mask."""
    points, mask = targets["landmarks"], targets["landmark_mask"]
    return {
        "eye_contour": ops.concatenate([points[:, :CONTOUR], mask[:, :CONTOUR]], axis=-1),
        "iris": ops.concatenate([points[:, CONTOUR:], mask[:, CONTOUR:]], axis=-1),
    }


def make_losses(recipe: DictConfig) -> tuple[dict, dict]:
    """Masked L1 in crop units on each output; weights from recipe.loss."""
    losses = {"eye_contour": packed_l1(float(recipe.input_size)), "iris": packed_l1(float(recipe.input_size))}
    return losses, {name: float(recipe.loss[name]) for name in losses}


def make_metrics(recipe: DictConfig) -> dict:
    """The iris points' crop NME (logged as `iris_crop_nme`, `val_iris_crop_nme`)."""
    return {"iris": [packed_crop_nme(float(recipe.input_size))]}


def make_dataset(cfg: DictConfig, dataset_dir, split: str, training: bool):
    """Batches of (images, targets) from `training.pipeline` (both eyes of each face)."""
    from blazeforge.training.pipeline import make_dataset as make

    return make(cfg, dataset_dir, split, training)
