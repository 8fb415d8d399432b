"""The pose landmark recipe's input pipeline: BlazePose crops of each person and their targets.

`make_dataset(cfg, dataset_dir, split, training)` yields `(images, targets)` batches, one y_true
per output of the model, in `pack`'s layout (S = cfg.recipe.input_size, H = S / 4):
- images float32 [B, S, S, 3] in [0, 1];
- "landmarks" [B, 390]: the 39 x 5 values (x, y, z crop pixels, visibility, presence), then their mask;
- "heatmap" [B, H, H, 78]: 39 Gaussians, then each channel's mask broadcast over the map;
- "offsets" [B, H, H, 117]: (dx, dy) x 39 in cells, then their weights (39);
- "segmentation" [B, S, S, 2]: the person's mask, then its weight;
- "pose_flag" [B, 1]: 1 for a crop of the person, 0 for a crop away from everyone;
- "world_landmarks" [B, 234]: the 39 x 3 world points (metres from the hip centre, in the crop's
  axes; renders only), then their mask.

Training crops (`TrainExamples`) jitter the ROI, flip left-right with the sides swapped, paint
occluding rectangles (which also hides the points under them: visibility 0), add colour, blur and
noise, and take cfg.recipe.negatives of crops away from the person; sources mix by cfg.data.weights.
`eval_examples` yields each person of a split cropped as the runtime would, with what evaluation
needs. Targets are made by `targets` (numpy); this module adds TensorFlow's plumbing.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from omegaconf import DictConfig

from blazeforge.config import plain
from blazeforge.datasets import load
from blazeforge.datasets.builder import decode_mask
from blazeforge.errors import BlazeforgeError
from blazeforge.geometry.roi import Roi, crop_image
from blazeforge.recipes.pose import targets as T
from blazeforge.topology import get as get_topology
from blazeforge.training.augment import jitter_roi, negative_roi, photometric
from blazeforge.training.inputs import map_numpy, mixed_sources


def pack(crop, values, labels, person_mask, world, size: int, sigma: float, flag: float):
    """The arrays of one crop as the model's y_true (see the module docstring), crop float [0, 1];
    world: (points, mask) [39, 3] each (`targets.world_targets`)."""
    heat, channel, offsets, weight = T.heatmap_targets(values, labels, size, sigma)
    h = heat.shape[0]
    seg, seg_weight = person_mask
    f32 = np.float32
    return (
        crop.astype(f32) / 255.0,
        np.concatenate([values.reshape(-1), labels.reshape(-1)]).astype(f32),
        np.concatenate([heat, np.broadcast_to(channel, (h, h, T.LANDMARKS))], -1).astype(f32),
        np.concatenate([offsets, weight], -1).astype(f32),
        np.stack([seg, np.full_like(seg, seg_weight)], -1).astype(f32),
        f32([flag]),
        np.concatenate([world[0].reshape(-1), world[1].reshape(-1)]).astype(f32),
    )


def _specs(size: int):
    import tensorflow as tf

    h = size // T.HEATMAP_STRIDE
    return (
        tf.TensorSpec((size, size, 3), tf.float32),
        tf.TensorSpec((2 * T.LANDMARKS * T.VALUES,), tf.float32),
        tf.TensorSpec((h, h, 2 * T.LANDMARKS), tf.float32),
        tf.TensorSpec((h, h, 3 * T.LANDMARKS), tf.float32),
        tf.TensorSpec((size, size, 2), tf.float32),
        tf.TensorSpec((1,), tf.float32),
        tf.TensorSpec((2 * T.LANDMARKS * 3,), tf.float32),
    )


OUTPUT_ORDER = ("landmarks", "heatmap", "offsets", "segmentation", "pose_flag", "world_landmarks")


def _to_batch_dict(image, *ys):
    return image, dict(zip(OUTPUT_ORDER, ys))


def _person_mask(mask_png, instance: int):
    mask = decode_mask(mask_png)
    return None if mask is None else mask == instance + 1


class TrainExamples:
    """The per-example numpy function of training: pick a person, crop, augment, targets."""

    def __init__(self, cfg: DictConfig):
        self.recipe = plain(cfg.recipe)
        self.seed, self.size = int(cfg.seed), int(cfg.recipe.input_size)
        self.photometric = photometric(cfg.recipe.augment)
        self.mirror = get_topology("pose").flip_permutation()

    def __call__(self, image, keypoints, keypoint_mask, visibility, auxiliary, keypoints_camera, mask_png, index):
        rng = np.random.default_rng([self.seed, int(index)])
        r, size = self.recipe, self.size
        h, w = image.shape[:2]
        people = [
            i
            for i in np.flatnonzero(keypoint_mask[:, :, 0].any(1))
            if T.usable(T.person_roi(keypoints[i], keypoint_mask[i], auxiliary[i]), w, h)
        ]
        if not people:  # only unlabelled persons (COCO's crowds) or broken labels: a crop of no one
            return self._empty(image, rng)
        i = int(people[rng.integers(len(people))])
        roi = T.person_roi(keypoints[i], keypoint_mask[i], auxiliary[i])
        virtual = T.person_virtual_keypoints(keypoints[i], keypoint_mask[i], auxiliary[i])
        negative = rng.random() < r.negatives
        roi = negative_roi(roi, w, h, rng) if negative else jitter_roi(roi, rng, r.augment)
        crop = crop_image(image, roi, size)
        values, labels = T.landmark_targets(keypoints[i], keypoint_mask[i], visibility[i], virtual, roi, size)
        seg = T.segmentation_target(_person_mask(mask_png, i), roi, size)
        world = T.world_targets(keypoints_camera[i], roi)
        if rng.random() < r.augment.occlusion:
            T.occlude(crop, values, rng, int(r.augment.occluders))
        if rng.random() < r.augment.flip:
            crop, values, labels, (mask,), world = T.flip(crop, values, labels, [seg[0]], self.mirror, world)
            seg = (mask, seg[1])
        crop = self.photometric(image=crop)["image"]
        if negative:
            labels[:] = 0.0
            world[1][:] = 0.0
        return pack(crop, values, labels, seg, world, size, float(r.heatmap.sigma), 0.0 if negative else 1.0)

    def _empty(self, image, rng):
        """A small random crop with nothing labelled and the pose flag 0."""
        h, w = image.shape[:2]
        side = min(w, h) / 5
        roi = Roi(float(rng.uniform(side, w - side)), float(rng.uniform(side, h - side)), side, side, 0.0)
        values = np.zeros((T.LANDMARKS, T.VALUES), np.float32)
        seg = (np.zeros((self.size, self.size), np.float32), 0.0)
        crop = crop_image(image, roi, self.size)
        world = T.world_targets(None, roi)
        return pack(crop, values, values.copy(), seg, world, self.size, float(self.recipe.heatmap.sigma), 0.0)


def _load(dataset_dir, split: str):
    """The split (`datasets.load`), or a one-line error when it was built without keypoints_camera."""
    ds = load(dataset_dir, split)
    if "keypoints_camera" not in ds.element_spec:
        raise BlazeforgeError(
            f"dataset={dataset_dir}",
            "built before world landmarks (no keypoints_camera); rebuild it with datasets build",
        )
    return ds


def eval_examples(cfg: DictConfig, dataset_dir, split: str) -> Iterator[dict]:
    """Each labelled person of `split` with a usable crop (`targets.usable`), cropped as the runtime
    crops (no augmentation).

    Yields dicts: crop uint8 [S, S, 3], roi, values and labels [39, 5] (crop targets), keypoints
    [33, 3] (image px), keypoint_mask [33, 3], visibility [33], world and world_mask [39, 3]
    (`targets.world_targets`), person_mask (bool [H, W] or None),
    image uint8 [H, W, 3], meta strings source, skin_tone, subject_id, image_id (the record's index).
    """
    import tensorflow_datasets as tfds

    size = int(cfg.recipe.input_size)
    for n, ex in enumerate(tfds.as_numpy(_load(dataset_dir, split))):
        meta = {k: ex[k].decode() for k in ("source", "skin_tone", "subject_id")}
        for i in range(len(ex["keypoints"])):
            kp, km, aux = ex["keypoints"][i], ex["keypoint_mask"][i], ex["auxiliary"][i]
            if not km[:, 0].any():
                continue
            roi = T.person_roi(kp, km, aux)
            if not T.usable(roi, ex["image"].shape[1], ex["image"].shape[0]):
                continue
            virtual = T.person_virtual_keypoints(kp, km, aux)
            values, labels = T.landmark_targets(kp, km, ex["visibility"][i], virtual, roi, size)
            world, world_mask = T.world_targets(ex["keypoints_camera"][i], roi)
            yield {
                "crop": crop_image(ex["image"], roi, size),
                "roi": roi,
                "values": values,
                "labels": labels,
                "keypoints": kp,
                "keypoint_mask": km,
                "visibility": ex["visibility"][i],
                "world": world,
                "world_mask": world_mask,
                "person_mask": _person_mask(ex["mask"], i),
                "image": ex["image"],
                "meta": {**meta, "image_id": str(n)},
            }


def make_dataset(cfg: DictConfig, dataset_dir, split: str, training: bool):
    """Batches of (images, targets) for the pose landmark recipe (see the module docstring)."""
    import tensorflow as tf

    size, batch = int(cfg.recipe.input_size), int(cfg.trainer.batch_size)
    sigma = float(cfg.recipe.heatmap.sigma)
    specs = _specs(size)
    if not training:
        examples = list(eval_examples(cfg, dataset_dir, split))
        if not examples:
            raise BlazeforgeError(f"dataset={dataset_dir}", f"split {split!r} has no labelled person")

        def generate():
            for ex in examples:
                seg = T.segmentation_target(ex["person_mask"], ex["roi"], size)
                world = (ex["world"], ex["world_mask"])
                yield pack(ex["crop"], ex["values"], ex["labels"], seg, world, size, sigma, 1.0)

        ds = tf.data.Dataset.from_generator(generate, output_signature=specs)
        ds = ds.apply(tf.data.experimental.assert_cardinality(len(examples)))
        return ds.batch(batch).map(_to_batch_dict).prefetch(tf.data.AUTOTUNE)

    _load(dataset_dir, split)  # a dataset from before world landmarks: a one-line error
    fields = ("image", "keypoints", "keypoint_mask", "visibility", "auxiliary", "keypoints_camera", "mask")
    ds = mixed_sources(cfg, dataset_dir, split, fields, shuffle=256)
    ds = map_numpy(ds, TrainExamples(cfg), specs)
    return ds.batch(batch, drop_remainder=True).map(_to_batch_dict).prefetch(tf.data.AUTOTUNE)
