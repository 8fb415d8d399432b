"""`blazeforge train`: fit a recipe on a datasets run directory, resumable after a kill.

Writes into the run directory: checkpoints/last.keras (every epoch), checkpoints/best.keras
(lowest val_loss), backup/ (BackupAndRestore state: a killed run continues at the epoch it
stopped), history.csv, wandb/ (offline by default), and model.keras at the end.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf

from blazeforge.errors import BlazeforgeError

log = logging.getLogger(__name__)


def _strategy(name: str):
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise BlazeforgeError("trainer.strategy", f"expected default | mirrored | multi_worker, got {name!r}")


def checkpoint_path(path: str | Path, what: str) -> Path:
    """A .keras file, or the best model file of a train run directory."""
    path = Path(path)
    if path.is_file() and path.suffix == ".keras":
        return path
    for candidate in ("model.keras", "checkpoints/best.keras", "checkpoints/last.keras"):
        if (path / candidate).is_file():
            return path / candidate
    raise BlazeforgeError(f"{what}={path}", "expected a .keras file or a train run directory holding model.keras")


def load_model(path: str | Path, what: str = "checkpoint"):
    """The Keras model of a checkpoint (.keras file or train run directory); one-line error otherwise."""
    import keras

    import blazeforge.models.blaze  # noqa: F401  (registers the custom layers)

    file = checkpoint_path(path, what)
    try:
        return keras.saving.load_model(file, compile=False)
    except Exception as e:  # a truncated or foreign file
        raise BlazeforgeError(file, f"not a loadable Keras model ({type(e).__name__})") from None


def train_config(train_run_dir: str | Path) -> DictConfig | None:
    """The resolved config of the train run a checkpoint came from (None for a bare .keras file)."""
    path = Path(train_run_dir)
    config = (path if path.is_dir() else path.parent.parent if path.parent.name == "checkpoints" else path.parent) \
        / "config.yaml"
    return OmegaConf.load(config) if config.is_file() else None


def _wandb_callback(cfg: DictConfig, run_dir: Path):
    """A callback logging each epoch's metrics to wandb (offline unless configured), or None."""
    mode = os.environ.get("WANDB_MODE") or cfg.trainer.wandb
    if mode == "disabled":
        return None
    import keras
    import wandb

    run = wandb.init(project="blazeforge", dir=str(run_dir), mode=mode, resume="allow",
                     id=f"train-{abs(hash(str(run_dir.resolve()))) % 10**10}",
                     config=OmegaConf.to_container(cfg, resolve=True))

    class WandbEpochs(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            run.log({"epoch": epoch + 1, **(logs or {})})

        def on_train_end(self, logs=None):
            run.finish()

    return WandbEpochs()


def train(cfg: DictConfig, run_dir: Path, datasets: tuple | None = None) -> dict:
    """Train cfg.recipe on cfg.train.dataset; returns the final figures for metrics.json.

    datasets: optional (train, val) tf.data datasets of (images, targets) to use instead of the
    pipeline's (tests inject small ones).
    """
    import keras
    import tensorflow as tf

    from blazeforge import recipes
    from blazeforge.datasets import summary

    recipe = recipes.get(cfg.recipe.name)
    run_dir = Path(run_dir)
    keras.utils.set_random_seed(int(cfg.seed))
    t = cfg.trainer
    if datasets is None:
        if not cfg.train.dataset:
            raise BlazeforgeError("train.dataset", "expected a datasets run directory: train dataset=RUN_DIR")
        from blazeforge.training.pipeline import make_dataset
        n_train = summary(cfg.train.dataset)["splits"]["train"]
        train_ds = make_dataset(cfg, cfg.train.dataset, "train", training=True)
        val_ds = make_dataset(cfg, cfg.train.dataset, "val", training=False)
        steps = int(t.steps_per_epoch or max(1, math.ceil(n_train / t.batch_size)))
    else:
        train_ds, val_ds = datasets
        steps = int(t.steps_per_epoch or 10)
    pack = lambda images, targets: (images, recipe.pack_targets(targets))  # noqa: E731
    train_ds, val_ds = train_ds.map(pack), val_ds.map(pack)

    with _strategy(t.strategy).scope():
        model = recipe.build_model(cfg.recipe)
        if cfg.train.init:
            if str(cfg.train.init).startswith("mediapipe:"):
                raise BlazeforgeError("train.init", "importing MediaPipe's published weights is not available yet; "
                                                    "expected a .keras file or a train run directory")
            model.set_weights(load_model(cfg.train.init, "init").get_weights())
        total = steps * int(t.epochs)
        warmup = min(int(t.warmup_epochs * steps), max(total - 1, 0))
        schedule = keras.optimizers.schedules.CosineDecay(
            0.0 if warmup else float(t.learning_rate), decay_steps=max(total - warmup, 1), alpha=0.05,
            warmup_target=float(t.learning_rate) if warmup else None, warmup_steps=warmup)
        losses, weights = recipe.make_losses(cfg.recipe)
        model.compile(optimizer=keras.optimizers.AdamW(schedule, weight_decay=float(t.weight_decay)),
                      loss=losses, loss_weights=weights, metrics=recipe.make_metrics(cfg.recipe))

    (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    nan = keras.callbacks.TerminateOnNaN()
    callbacks = [
        keras.callbacks.BackupAndRestore(str(run_dir / "backup")),
        keras.callbacks.ModelCheckpoint(str(run_dir / "checkpoints" / "last.keras")),
        keras.callbacks.ModelCheckpoint(str(run_dir / "checkpoints" / "best.keras"), monitor="val_loss",
                                        save_best_only=True),
        keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=True),
        nan,
    ]
    tracker = _wandb_callback(cfg, run_dir)
    if tracker is not None:
        callbacks.append(tracker)
    start = time.time()
    history = model.fit(train_ds, validation_data=val_ds, epochs=int(t.epochs), steps_per_epoch=steps,
                        callbacks=callbacks, verbose=1 if sys.stdout.isatty() and not os.environ.get("CI") else 2)
    seconds = time.time() - start
    logs = history.history
    if not logs.get("loss") or not np.isfinite(logs["loss"][-1]):
        raise BlazeforgeError("train", "the loss became NaN or infinite; lower trainer.learning_rate or check "
                                       "the dataset's labels")
    model.save(run_dir / "model.keras")
    epochs_run = len(logs["loss"])
    return {
        "epochs": int(t.epochs), "epochs_this_run": epochs_run, "steps_per_epoch": steps,
        "train_loss": float(logs["loss"][-1]), "val_loss": float(logs["val_loss"][-1]),
        "val_nme_crop": float(logs.get("val_landmarks_crop_nme", [float("nan")])[-1]),
        "steps_per_second": round(epochs_run * steps / seconds, 3), "seconds": round(seconds, 2),
        "params": int(model.count_params()), "dataset": cfg.train.dataset,
    }
