"""Input-pipeline plumbing the recipes share (tf.data): training records mixed by source, and a
numpy function mapped over them.

    ds = mixed_sources(cfg, dataset_dir, "train", ("image", "keypoints"), shuffle=512)
    ds = map_numpy(ds, make_example, specs)   # make_example(image_jpeg_decoded, keypoints, index)
"""

from __future__ import annotations

from blazeforge.datasets import load, summary
from blazeforge.errors import BlazeforgeError


def mixed_sources(cfg, dataset_dir, split: str, fields: tuple[str, ...], shuffle: int):
    """(index, (field, ...)) of the split's records with at least one instance, endlessly: each
    source ("real", "synthetic", ...) repeated and drawn with its weight cfg.data.weights.<source>
    (default 1; 0 leaves it out), shuffled in a buffer of `shuffle`, numbered by `enumerate` (the
    index seeds each example's augmentation). "image" stays encoded (JPEG bytes)."""
    import tensorflow as tf

    counts = summary(dataset_dir)["by_source"].get(split, {})
    weights = {source: float(cfg.data.weights.get(source, 1.0)) for source in counts}
    weights = {source: w for source, w in weights.items() if w > 0}
    if not weights:
        raise BlazeforgeError("data.weights", f"every source of split {split!r} has weight 0: {sorted(counts)}")
    raw = load(dataset_dir, split, decode_images=False).filter(lambda ex: tf.shape(ex["keypoints"])[0] > 0)
    pick = lambda ex: tuple(ex[f] for f in fields)  # noqa: E731
    parts = [raw.filter(lambda ex, s=source: tf.equal(ex["source"], s)).map(pick).repeat() for source in weights]
    total = sum(weights.values())
    ds = (
        parts[0]
        if len(parts) == 1
        else tf.data.Dataset.sample_from_datasets(
            parts, weights=[w / total for w in weights.values()], seed=int(cfg.seed)
        )
    )
    return ds.shuffle(shuffle, seed=int(cfg.seed)).enumerate()


def map_numpy(ds, function, specs):
    """`mixed_sources`' (index, (image, ...)) -> function(decoded image uint8 [H, W, 3], ..., index),
    run as a numpy function in parallel (deterministic order), its outputs shaped as `specs`."""
    import tensorflow as tf

    def call(index, item):
        image, *rest = item
        image = tf.io.decode_jpeg(image, channels=3)
        out = tf.numpy_function(function, [image, *rest, index], [s.dtype for s in specs], stateful=False)
        for tensor, spec in zip(out, specs):
            tensor.set_shape(spec.shape)
        return tuple(out)

    return ds.map(call, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
