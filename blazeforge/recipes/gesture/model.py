"""The gesture classifier's data, model and losses.

Input: features [B, 63] (`runtime.gestures.features`: wrist-relative, upright, per palm size).
Output: "gesture" [B, C] softmax over recipe.classes + "other". Labels: the gesture names renders
carry in meta.gesture (blends count as their dominant gesture when it holds recipe.min_share), plus
recipe.synthetic landmark sets posed by the renderer's own kinematics (`synthetic.gestures`,
`synthetic.kinematics`: random gesture, blend, hand shape and orientation), which cost no rendering.
Trained by the common trainer; exported as `gesture_<precision>.tflite` + `gesture.json` (classes).
"""

from __future__ import annotations

import numpy as np
from omegaconf import DictConfig


def class_names(recipe: DictConfig) -> list[str]:
    """The classifier's classes: recipe.classes' names, then "other"."""
    return [str(c) for c in recipe.classes] + ["other"]


def _members(recipe: DictConfig) -> dict[str, str]:
    """Library gesture name -> class name."""
    return {str(g): str(c) for c, gestures in recipe.classes.items() for g in gestures}


def label_of(name: str, recipe: DictConfig) -> int | None:
    """Class index of a render's gesture name ("a" or "a+b@t"), None when unlabelled or unclear."""
    if not name:
        return None
    if "+" in name:
        pair, t = name.rsplit("@", 1)
        a, b = pair.split("+", 1)
        t = float(t)
        if max(t, 1 - t) < float(recipe.min_share):
            return None
        name = a if t < 0.5 else b
    classes = class_names(recipe)
    return classes.index(_members(recipe).get(name, "other"))


def examples(dataset_dir, split: str, recipe: DictConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features [N, 63], labels [N], keypoints [N, 21, 3]) of every labelled hand in a split."""
    from blazeforge.datasets.builder import load
    from blazeforge.runtime.gestures import features

    xs, ys, kps = [], [], []
    for ex in load(dataset_dir, split, decode_images=False).as_numpy_iterator():
        label = label_of(ex["gesture"].decode(), recipe)
        if label is None:
            continue
        for points, mask in zip(ex["keypoints"], ex["keypoint_mask"]):
            if mask[:, :2].all():
                xs.append(features(points))
                ys.append(label)
                kps.append(points)
    if not xs:
        from blazeforge.errors import BlazeforgeError

        raise BlazeforgeError(
            f"dataset={dataset_dir}",
            f"no hands with a gesture label in split {split!r} (renders carry them in meta.gesture)",
        )
    return np.stack(xs), np.array(ys, np.int32), np.stack(kps)


def posed_examples(count: int, recipe: DictConfig, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(features [N, 63], labels [N]) of hands posed as the renderer poses them, seen by a camera
    along -z (x right, y down, as `synthetic.hand_scene` projects), without rendering."""
    from blazeforge.runtime.gestures import features
    from blazeforge.synthetic.gestures import random_pose
    from blazeforge.synthetic.kinematics import HandShape, forward_kinematics, random_rotation

    rng = np.random.default_rng(seed)
    xs, ys = [], []
    while len(xs) < count:
        pose, name = random_pose(rng)
        label = label_of(name, recipe)
        joints = forward_kinematics(pose, HandShape.random(rng), bool(rng.random() < 0.5))
        if label is None:
            continue
        camera = (joints - joints.mean(0)) @ random_rotation(rng).T * np.array([1, -1, -1])
        xs.append(features(camera))
        ys.append(label)
    return np.stack(xs), np.array(ys, np.int32)


def make_dataset(cfg: DictConfig, dataset_dir, split: str, training: bool):
    """Batches of (features [B, 63], {"gesture": [B]}): the split's hands, and for training also
    recipe.synthetic posed hands."""
    import tensorflow as tf

    x, y, _ = examples(dataset_dir, split, cfg.recipe)
    if training and int(cfg.recipe.synthetic):
        px, py = posed_examples(int(cfg.recipe.synthetic), cfg.recipe, int(cfg.seed))
        x, y = np.concatenate([x, px]), np.concatenate([y, py])
    ds = tf.data.Dataset.from_tensor_slices((x, {"gesture": y}))
    if training:
        aug = cfg.recipe.augment
        ds = ds.shuffle(len(x), seed=int(cfg.seed), reshuffle_each_iteration=True).repeat()
        ds = ds.map(lambda f, t: (_augment(f, aug), t), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(int(cfg.trainer.batch_size)).prefetch(2)


def _augment(f, aug):
    import tensorflow as tf

    p = tf.reshape(f, (21, 3))
    sign = tf.where(tf.random.uniform(()) < float(aug.mirror), -1.0, 1.0)
    angle = tf.random.uniform((), -1.0, 1.0) * float(aug.rotation_deg) * np.pi / 180
    c, s = tf.cos(angle), tf.sin(angle)
    x, yv, z = p[:, 0] * sign, p[:, 1], p[:, 2]
    p = tf.stack([c * x - s * yv, s * x + c * yv, z], axis=1)
    p += tf.random.normal(tf.shape(p), stddev=float(aug.noise))
    return tf.reshape(p, (63,))


def build_model(recipe: DictConfig):
    import keras
    from keras import layers

    inputs = keras.Input((int(recipe.input_size),), name="features")
    x = inputs
    for units in recipe.hidden:
        x = layers.Dense(int(units), activation="relu")(x)
        x = layers.Dropout(float(recipe.dropout))(x)
    out = layers.Dense(len(class_names(recipe)), activation="softmax", name="gesture")(x)
    return keras.Model(inputs, {"gesture": out}, name="gesture")


def losses(recipe: DictConfig) -> tuple[dict, dict]:
    import keras

    return {"gesture": keras.losses.SparseCategoricalCrossentropy()}, {"gesture": 1.0}


def metrics(recipe: DictConfig) -> dict:
    return {"gesture": ["sparse_categorical_accuracy"]}
