"""tf.data throughput of the training pipeline against the training step rate, same process.

Builds a small dataset of drawn hands (tests/fixtures), then measures (a) samples/s the training
input pipeline delivers alone and (b) samples/s one training step consumes at the same batch size
and crop size. Target: pipeline / step >= 3.
"""

import tempfile
import time
from pathlib import Path

BATCHES = 20


def _rate(iterator, batches: int, batch_size: int) -> float:
    next(iterator)  # warm-up: tracing, threads
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * batch_size / (time.perf_counter() - start)


def main() -> dict:
    import keras
    import tensorflow as tf

    from blazeforge import recipes
    from blazeforge.config import compose
    from blazeforge.datasets import build
    from blazeforge.recipes.landmarks.data import make_dataset
    from tests.fixtures import fake_renders

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build(
            compose("datasets", [f"renders={fake_renders(root / 'r', shards=4, per_shard=32, size=256)}"]), root / "d"
        )
        for width, size in (("lite", 128), ("full", 224)):
            cfg = compose("train", [f"recipe.width={width}", f"recipe.input_size={size}", "trainer.batch_size=32"])
            pipeline = _rate(iter(make_dataset(cfg, root / "d", "train", training=True)), BATCHES, 32)
            task = recipes.get("hand_landmarks")
            model = task.build_model(cfg.recipe)
            losses, weights = task.losses(cfg.recipe)
            model.compile(optimizer=keras.optimizers.AdamW(1e-3), loss=losses, loss_weights=weights)
            images, targets = next(iter(make_dataset(cfg, root / "d", "train", training=True)))
            batch = tf.data.Dataset.from_tensors((images, task.pack_targets(targets))).repeat()
            steps = max(3, BATCHES // (4 if size > 128 else 2))
            start = time.perf_counter()
            model.fit(batch, epochs=1, steps_per_epoch=1, verbose=0)  # compile the step
            start = time.perf_counter()
            model.fit(batch, epochs=1, steps_per_epoch=steps, verbose=0)
            step = steps * 32 / (time.perf_counter() - start)
            results[f"{width}_{size}"] = {
                "pipeline_samples_per_second": round(pipeline, 1),
                "train_samples_per_second": round(step, 1),
                "pipeline_over_step": round(pipeline / step, 2),
            }
    return results
