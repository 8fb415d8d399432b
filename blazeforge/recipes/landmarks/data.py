"""The landmark recipes' input pipeline (hands, face meshes): ROI crops made exactly as the
runtime makes them.

`make_dataset(cfg, dataset_dir, split, training)` yields `(images, targets)` batches, with K the
keypoints of cfg.recipe.topology (21 hand, 468 face mesh):
- images float32 [B, S, S, 3] in [0, 1] (S = cfg.recipe.input_size);
- targets: "landmarks" [B, 3K] (x, y, z in crop pixels, MediaPipe's layout), "landmark_mask"
  [B, 3K], "presence" [B, 1], "handedness" [B, 1] (1 right), "handedness_mask" [B, 1] (0 where
  unknown, as for faces).

Crops come from MediaPipe's landmarks-to-ROI rule of the topology (`geometry.roi.hand_roi`,
`face_roi`) on the labelled keypoints. Training adds ROI jitter, keypoint-aware horizontal flips
(hands: which swap handedness), photometric augmentation and negative crops away from the
instance (presence 0), and mixes sources by cfg.data.weights.
`eval_examples` yields the un-augmented crops one instance at a time, with everything evaluation
and int8 calibration need.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from omegaconf import DictConfig

from blazeforge import topology as topologies
from blazeforge.config import plain
from blazeforge.datasets import load
from blazeforge.errors import BlazeforgeError
from blazeforge.geometry.roi import (
    HAND_ROI_SUBSET,
    MIRRORED_EYE,
    Roi,
    crop_image,
    eye_roi,
    face_roi,
    hand_roi,
    image_to_crop,
)
from blazeforge.training.augment import jitter_roi, negative_roi, photometric
from blazeforge.training.inputs import map_numpy, mixed_sources


def num_keypoints(recipe) -> int:
    """K of the recipe's topology (21 hand, 468 face mesh, 76 eye)."""
    return topologies.get(str(recipe.topology)).num_keypoints


@dataclass(frozen=True)
class View:
    """One crop of an instance: its ROI, the instance's points it labels (indices, in the recipe
    topology's order; None: all of them) and whether the crop is mirrored (the iris model sees the
    subject's left eye mirrored, as MediaPipe's iris graph feeds it)."""

    roi: Roi
    points: tuple[int, ...] | None = None
    mirrored: bool = False

    @property
    def index(self):
        """What indexes the view's points in the instance's [K_data, ...] arrays."""
        return list(self.points) if self.points is not None else slice(None)


EYES = ("right", "left")  # the views of recipe.crop=eyes, the subject's right eye first


def views_per_instance(recipe) -> int:
    """How many crops `instance_views` takes of each instance."""
    return len(EYES) if getattr(recipe, "crop", None) == "eyes" else 1


def instance_views(keypoints: np.ndarray, mask: np.ndarray, recipe) -> list[View]:
    """The crops a recipe takes of one instance: one (`instance_roi`), or for recipe.crop == "eyes"
    each eye of a refined face mesh (`geometry.roi.eye_roi`; its 71 contour points, then 5 iris)."""
    if getattr(recipe, "crop", None) == "eyes":
        from blazeforge.topology.face_mesh import EYE_POINTS

        return [View(eye_roi(keypoints[:, :2], eye), EYE_POINTS[eye], eye == MIRRORED_EYE) for eye in EYES]
    return [View(instance_roi(keypoints, mask, recipe))]


def crop_view(image: np.ndarray, view: View, roi: Roi, size: int) -> np.ndarray:
    """The size x size crop of `view` under `roi` (the view's, perhaps jittered), mirrored for a
    mirrored view."""
    crop = crop_image(image, roi, size)
    return np.ascontiguousarray(crop[:, ::-1]) if view.mirrored else crop


def view_targets(
    keypoints: np.ndarray, mask: np.ndarray, view: View, roi: Roi, size: int, z_origin: str
) -> tuple[np.ndarray, np.ndarray]:
    """(crop points [K, 3], mask [K, 3]) of `view` under `roi` (the view's, perhaps jittered): the
    view's points in crop pixels (x mirrored for a mirrored view), z from `z_origin`."""
    keypoints, mask = keypoints[view.index], np.asarray(mask[view.index], np.float32)
    out = crop_targets(keypoints, mask, roi, size, z_origin)
    if view.mirrored:
        out[:, 0] = size - out[:, 0]
    return out, mask


# MediaPipe's landmarks-to-ROI rule of each topology: (the points it reads, None: all of them;
# keypoints [K, 2] pixels, recipe -> Roi).
ROI_RULES = {
    "hand": (HAND_ROI_SUBSET, lambda xy, recipe: hand_roi(xy, recipe.roi.scale, recipe.roi.shift_y)),
    "face_mesh": (None, lambda xy, recipe: face_roi(xy)),
}


def instance_roi(keypoints: np.ndarray, mask: np.ndarray, recipe: DictConfig) -> Roi:
    """The crop of one instance: MediaPipe's landmarks-to-ROI rule of the topology (`ROI_RULES`;
    hand: `hand_roi` on its 12 ROI points; face mesh: `face_roi` on all 468) when the points it
    reads are labelled, else a square around the labelled points (2D contours only, say),
    recipe.roi.bounds_scale times their extent (1.5: about where MediaPipe's rules land)."""
    labelled = mask[:, 0].astype(bool)
    if recipe.topology in ROI_RULES:
        points, rule = ROI_RULES[recipe.topology]
        if labelled[list(points) if points is not None else slice(None)].all():
            return rule(keypoints[:, :2], recipe)
    xy = keypoints[labelled, :2]
    lo, hi = xy.min(0), xy.max(0)
    side = max(float((hi - lo).max()), 1.0) * recipe.roi.bounds_scale
    return Roi(*((lo + hi) / 2), side, side, 0.0)


def crop_targets(keypoints: np.ndarray, mask: np.ndarray, roi: Roi, size: int, z_origin: str) -> np.ndarray:
    """Image keypoints [K, 3] -> crop pixels [K, 3] under roi, with z measured from `z_origin`:
    "root" keeps the labels' (the topology's root point, e.g. the hand's wrist), "mean" moves it to
    the mean z of the z-labelled points (MediaPipe's face mesh: its z averages zero over the mesh)."""
    out = image_to_crop(keypoints.astype(np.float64), roi, size)
    if z_origin == "mean":
        has_z = mask[:, 2].astype(bool)
        if has_z.any():
            out[:, 2] -= out[has_z, 2].mean()
    elif z_origin != "root":
        raise BlazeforgeError("recipe.z_origin", f"expected root | mean, got {z_origin!r}")
    return out


def _handedness_target(h: float) -> tuple[float, float]:
    """(target, mask): 0.5 means unknown handedness, which trains nothing."""
    return (h, 1.0) if h in (0.0, 1.0) else (0.0, 0.0)


class TrainExamples:
    """The per-example numpy function of training: crop, augment, targets."""

    def __init__(self, cfg: DictConfig):

        self.recipe = plain(cfg.recipe)
        self.seed = int(cfg.seed)
        self.size = int(cfg.recipe.input_size)
        self.photometric = photometric(cfg.recipe.augment)
        topology = topologies.get(str(cfg.recipe.topology))
        # A flipped left hand is a right hand with the same point order; other topologies swap the
        # mirrored points, so they need their flip pairs.
        if float(cfg.recipe.augment.flip) > 0 and topology.name != "hand" and not topology.flip_pairs:
            raise BlazeforgeError("recipe.augment.flip", f"topology {topology.name} has no flip pairs; expected 0")
        self.mirror = topology.flip_permutation()

    def __call__(self, image, keypoints, keypoint_mask, handedness, index):
        rng = np.random.default_rng([self.seed, int(index)])
        aug, size = self.recipe.augment, self.size
        i = int(rng.integers(len(keypoints)))
        views = instance_views(keypoints[i], keypoint_mask[i], self.recipe)
        view = views[int(rng.integers(len(views)))]
        negative = rng.random() < self.recipe.negatives
        roi = (
            negative_roi(view.roi, image.shape[1], image.shape[0], rng) if negative else jitter_roi(view.roi, rng, aug)
        )
        crop = crop_view(image, view, roi, size)
        landmarks, mask = view_targets(keypoints[i], keypoint_mask[i], view, roi, size, self.recipe.z_origin)
        h, h_mask = _handedness_target(float(handedness[i]))
        if rng.random() < aug.flip:
            crop = np.ascontiguousarray(crop[:, ::-1])
            landmarks[:, 0] = size - landmarks[:, 0]
            landmarks, mask = landmarks[self.mirror], mask[self.mirror]
            h = 1.0 - h if h_mask else h
        crop = self.photometric(image=crop)["image"]
        presence = 0.0 if negative else 1.0
        if negative:
            mask[:], h_mask = 0.0, 0.0
        f32 = np.float32
        return (
            crop.astype(f32) / 255.0,
            landmarks.reshape(-1).astype(f32),
            mask.reshape(-1),
            f32([presence]),
            f32([h]),
            f32([h_mask]),
        )


def _to_batch_dict(image, landmarks, mask, presence, handedness, h_mask):
    return image, {
        "landmarks": landmarks,
        "landmark_mask": mask,
        "presence": presence,
        "handedness": handedness,
        "handedness_mask": h_mask,
    }


def make_dataset(cfg: DictConfig, dataset_dir, split: str, training: bool):
    """Batches of (images, targets) for a landmark recipe (see the module docstring)."""
    import tensorflow as tf

    K = num_keypoints(cfg.recipe)
    size = int(cfg.recipe.input_size)
    batch = int(cfg.trainer.batch_size)
    specs = (
        tf.TensorSpec((size, size, 3), tf.float32),
        tf.TensorSpec((3 * K,), tf.float32),
        tf.TensorSpec((3 * K,), tf.float32),
        tf.TensorSpec((1,), tf.float32),
        tf.TensorSpec((1,), tf.float32),
        tf.TensorSpec((1,), tf.float32),
    )
    if not training:

        def generate():
            for ex in eval_examples(cfg, dataset_dir, split):
                h, h_mask = _handedness_target(ex["handedness"])
                yield (
                    ex["crop"].astype(np.float32) / 255.0,
                    ex["crop_keypoints"].reshape(-1).astype(np.float32),
                    ex["keypoint_mask"].reshape(-1).astype(np.float32),
                    np.float32([1.0]),
                    np.float32([h]),
                    np.float32([h_mask]),
                )

        ds = tf.data.Dataset.from_generator(generate, output_signature=specs)
        # A known length: Keras (TF backend) otherwise averages one empty extra step into every
        # validation metric and loss (an 0.13 NME logged as 0.065 on a one-batch split).
        crops = views_per_instance(cfg.recipe) * _instances(dataset_dir, split)
        ds = ds.apply(tf.data.experimental.assert_cardinality(crops))
        return ds.batch(batch).map(_to_batch_dict).prefetch(tf.data.AUTOTUNE)

    ds = mixed_sources(cfg, dataset_dir, split, ("image", "keypoints", "keypoint_mask", "handedness"), shuffle=512)
    ds = map_numpy(ds, TrainExamples(cfg), specs)
    return ds.batch(batch, drop_remainder=True).map(_to_batch_dict).prefetch(tf.data.AUTOTUNE)


def _instances(dataset_dir, split: str) -> int:
    """The number of labelled instances in `split`."""
    import tensorflow_datasets as tfds

    return sum(len(ex["keypoints"]) for ex in tfds.as_numpy(load(dataset_dir, split, decode_images=False)))


def eval_examples(cfg: DictConfig, dataset_dir, split: str) -> Iterator[dict]:
    """Each labelled instance of `split`, cropped as the runtime would (no augmentation).

    Yields one dict per view of each instance (`instance_views`): crop uint8 [S, S, 3] (mirrored
    for a mirrored view), roi (Roi), mirrored (bool), keypoints [K, 3] (image px, the view's
    points), crop_keypoints [K, 3] (crop px), keypoint_mask [K, 3] bool, visibility [K],
    handedness, image uint8 [H, W, 3], and meta strings source, skin_tone, subject_id, region.
    """
    import tensorflow_datasets as tfds

    size = int(cfg.recipe.input_size)
    for ex in tfds.as_numpy(load(dataset_dir, split)):
        meta = {k: ex[k].decode() for k in ("source", "skin_tone", "subject_id", "region")}
        for i in range(len(ex["keypoints"])):
            for view in instance_views(ex["keypoints"][i], ex["keypoint_mask"][i], cfg.recipe):
                targets, mask = view_targets(
                    ex["keypoints"][i], ex["keypoint_mask"][i], view, view.roi, size, str(cfg.recipe.z_origin)
                )
                yield {
                    "crop": crop_view(ex["image"], view, view.roi, size),
                    "roi": view.roi,
                    "mirrored": view.mirrored,
                    "keypoints": ex["keypoints"][i][view.index],
                    "crop_keypoints": targets,
                    "keypoint_mask": mask.astype(bool),
                    "visibility": ex["visibility"][i][view.index],
                    "handedness": float(ex["handedness"][i]),
                    "image": ex["image"],
                    "meta": meta,
                }
