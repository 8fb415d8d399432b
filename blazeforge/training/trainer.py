"""The training engine: fit a task on a datasets run directory, resumable after a kill.

`train(task, cfg, run_dir)` (the `train` verb, through `engine.run_stage`) writes into the run directory:
- backup/: BackupAndRestore state (weights, optimizer, epoch; the last two epochs', written so that
  a kill at any moment leaves them whole; a damaged one falls back to the one before), kept after
  the run ends, so that rerunning on the same run_dir continues where it stopped: a killed run
  resumes at its epoch, a finished one with a larger trainer.epochs runs only the extra epochs;
- checkpoints/last.keras (every epoch) and checkpoints/best.keras (lowest val_loss so far, within
  the last phase), each written under a temporary name and renamed;
- with recipe.phases (`phases`: BlazePose's heatmap phase, then its regression phase), each phase
  is its own fit over its share of trainer.epochs, with its loss weights, a fresh optimizer and
  learning-rate schedule, and its own backup/<phase>/; a rerun skips finished phases and resumes
  inside the current one (changing trainer.epochs moves the phases' boundaries);
- history.csv (one row per epoch, appended across resumes); wandb/ (offline unless configured);
- model.keras at the end.
A loss that becomes NaN or infinite stops training with a one-line BlazeforgeError.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import math
import os
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf

from blazeforge import console, runs
from blazeforge.console import progress
from blazeforge.errors import BlazeforgeError

log = logging.getLogger(__name__)


# ---- pieces of a run --------------------------------------------------------------------------


def _mean_over_workers_of_scalars_too() -> None:
    """Keras 3.x averages each step's outputs over multi-worker replicas along axis 0, which the
    scalar logs (losses, metrics) lack, so every multi_worker fit fails ("Invalid reduction
    dimension 0 for input with 0 dimensions", tensorflow#72388); its reduction is wrapped to
    average scalars over the workers without an axis."""
    from keras import tree
    from keras.src.backend.tensorflow import trainer as tf_trainer

    original = tf_trainer.reduce_per_replica
    if getattr(original, "scalars_too", False):
        return

    def reduce_per_replica(values, strategy, reduction):
        if reduction != "auto" or not tf_trainer._collective_all_reduce_multi_worker(strategy):
            return original(values, strategy, reduction)

        def mean(value):
            local = (
                strategy.experimental_local_results(value)[0] if tf_trainer._is_per_replica_instance(value) else value
            )
            return strategy.reduce("MEAN", value, axis=0 if local.shape.rank else None)

        return tree.map_structure(mean, values)

    reduce_per_replica.scalars_too = True
    tf_trainer.reduce_per_replica = reduce_per_replica


def scaled_for_replicas(loss):
    """`loss` with a scalar result (our tasks' masked means over the batch) scaled by 1 / the
    strategy's replicas, as Keras scales the per-sample losses it reduces itself and unscales what
    it logs. Keras leaves a scalar as it is, so under N replicas the logged losses read N times
    the true value and the gradients, summed over the replicas, N times the mean's. Per-sample
    results [B] pass unchanged, and Keras' own Loss objects (they scale themselves)."""
    import keras
    from keras.src.losses.loss import scale_loss_for_distribution

    if isinstance(loss, keras.losses.Loss):
        return loss

    def scaled(y_true, y_pred):
        value = loss(y_true, y_pred)
        return scale_loss_for_distribution(value) if len(value.shape) == 0 else value

    scaled.__name__ = getattr(loss, "__name__", "loss")
    return scaled


@cache
def strategy(name: str):
    """The tf.distribute strategy called `name` (default | mirrored | multi_worker), one per process:
    multi_worker's collectives must be configured before TensorFlow runs its first op."""
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":  # reads the cluster from TF_CONFIG
        _mean_over_workers_of_scalars_too()
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise BlazeforgeError("trainer.strategy", f"expected default | mirrored | multi_worker, got {name!r}")


def learning_rate(t: DictConfig, steps_per_epoch: int, epochs: int | None = None):
    """AdamW's schedule over `epochs` (default trainer.epochs; a phase's own): linear warmup over
    trainer.warmup_epochs, then cosine decay to 5%."""
    import keras

    total = steps_per_epoch * int(t.epochs if epochs is None else epochs)
    warmup = min(int(float(t.warmup_epochs) * steps_per_epoch), max(total - 1, 0))
    peak = float(t.learning_rate)
    if not warmup:
        return keras.optimizers.schedules.CosineDecay(peak, decay_steps=max(total, 1), alpha=0.05)
    return keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=max(total - warmup, 1), alpha=0.05, warmup_target=peak, warmup_steps=warmup
    )


def _callbacks():
    """Callback classes, defined on first use so that importing this module needs no Keras."""
    import keras

    class StopOnNonFiniteLoss(keras.callbacks.TerminateOnNaN):
        """TerminateOnNaN that raises a one-line BlazeforgeError (checkpoints keep the last good epoch)."""

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_batch_end(self, batch, logs=None):
            loss = (logs or {}).get("loss")
            if loss is not None and not np.isfinite(loss):
                raise BlazeforgeError(
                    "train",
                    f"the loss became {float(loss)} at epoch {self.epoch + 1}, batch "
                    f"{batch + 1}; lower trainer.learning_rate or check the dataset's labels",
                )

    class StepTimer(keras.callbacks.Callback):
        """Seconds spent in training steps (not validation or checkpoints), the first (tracing) one left
        out, and the number of epochs this run finished."""

        def __init__(self):
            super().__init__()
            self.steps, self.seconds, self.started, self.epochs = 0, 0.0, None, 0

        def on_train_batch_begin(self, batch, logs=None):
            self.started = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            if self.started is not None and self._traced:
                self.steps += 1
                self.seconds += time.perf_counter() - self.started
            self._traced = True

        def on_epoch_end(self, epoch, logs=None):
            self.epochs += 1

        _traced = False

        @property
        def steps_per_second(self) -> float:
            return self.steps / self.seconds if self.seconds else float("nan")

    class WandbEpochs(keras.callbacks.Callback):
        """Each epoch's logs -> wandb.log."""

        def __init__(self, run):
            super().__init__()
            self.run = run

        def on_epoch_end(self, epoch, logs=None):
            self.run.log({"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}})

    class Backup(keras.callbacks.BackupAndRestore):
        """BackupAndRestore that a kill at any moment cannot damage, and that survives a damaged file.

        Each epoch's weights go to a file of their own (epoch-EEEE.weights.h5, written under a
        temporary name and renamed), then training_metadata.json (also renamed into place) names
        them and the previous epoch's; only then are older weights deleted. So the metadata always
        names complete files. On resuming, weights that do not load (a disk fault, or a backup an
        older blazeforge wrote half: latest.weights.h5) fall back to the previous epoch's, else to
        the phase's start, each with a one-line warning."""

        def __init__(self, backup_dir: Path):
            super().__init__(str(backup_dir), delete_checkpoint=False)
            self.folder = Path(backup_dir)

        def _save_model(self):
            self.folder.mkdir(parents=True, exist_ok=True)
            metadata = self.folder / "training_metadata.json"
            previous = _backups(self.folder)[:1]
            name = f"epoch-{self._current_epoch:04d}.weights.h5"
            self.model.save_weights(str(self.folder / f"partial-{name}"), overwrite=True)
            os.replace(self.folder / f"partial-{name}", self.folder / name)
            entries = [{"epoch": self._current_epoch, "weights": name}] + [e for e in previous if e["weights"] != name]
            runs.atomic_write_text(metadata, json.dumps({"epoch": self._current_epoch, "batch": 0, "backups": entries}))
            keep = {e["weights"] for e in entries}
            for stale in self.folder.glob("*.weights.h5*"):
                if stale.name not in keep:
                    stale.unlink()

        def on_train_begin(self, logs=None):
            if self.model.optimizer is not None and not self.model.optimizer.built:
                self.model.optimizer.build(self.model.trainable_variables)  # its variables load with the weights
            for entry in _backups(self.folder):
                if not (self.folder / entry["weights"]).is_file():
                    continue
                try:
                    self.model.load_weights(str(self.folder / entry["weights"]))
                except (OSError, ValueError, KeyError) as e:
                    reason = str(e).splitlines()[0] if str(e) else type(e).__name__
                    console.say(
                        f"warning: {self.folder / entry['weights']} does not load ({reason}); trying an older backup"
                    )
                    continue
                self.model._initial_epoch = int(entry["epoch"])
                return
            if (self.folder / "training_metadata.json").is_file():
                console.say(f"warning: no backup in {self.folder} loads; this phase starts again from its beginning")

    class Checkpoint(keras.callbacks.ModelCheckpoint):
        """ModelCheckpoint that writes under a temporary name and renames: a kill never leaves a torn file."""

        def _get_file_path(self, epoch, batch, logs):
            path = Path(super()._get_file_path(epoch, batch, logs))
            return str(path.with_name(f"partial-{path.name}"))

        def _save_model(self, epoch, batch, logs):
            super()._save_model(epoch, batch, logs)
            partial = Path(self._get_file_path(epoch, batch, logs))
            if partial.is_file():
                os.replace(partial, partial.with_name(partial.name.removeprefix("partial-")))

    return StopOnNonFiniteLoss, StepTimer, WandbEpochs, Backup, Checkpoint


def _backups(folder: Path) -> list[dict]:
    """[{epoch, weights}] of a backup folder, newest first (an older blazeforge's single backup:
    latest.weights.h5, then its .bkp copy); [] where there is none or its metadata is unreadable."""
    try:
        metadata = json.loads((folder / "training_metadata.json").read_text())
    except (OSError, ValueError):
        return []
    if "backups" in metadata:
        return list(metadata["backups"])
    epoch = int(metadata.get("epoch", 0))
    return [
        {"epoch": epoch, "weights": "latest.weights.h5"},
        {"epoch": max(epoch - 1, 0), "weights": "latest.weights.h5.bkp"},
    ]


def _wandb_run(cfg: DictConfig, run_dir: Path):
    """An offline (by default) wandb run in run_dir/wandb, resumed across reruns; None when disabled.

    WANDB_MODE in the environment wins over cfg.trainer.wandb (the tests set it to disabled).
    Offline runs never touch the network; `wandb sync run_dir/wandb/offline-run-*` uploads later.
    """
    mode = os.environ.get("WANDB_MODE") or str(cfg.trainer.wandb)
    if mode == "disabled":
        return None
    if mode not in ("offline", "online"):
        raise BlazeforgeError("trainer.wandb", f"expected offline | online | disabled, got {mode!r}")
    import wandb

    run_id = "train-" + hashlib.sha1(str(run_dir.resolve()).encode()).hexdigest()[:12]
    (run_dir / "wandb").mkdir(parents=True, exist_ok=True)
    return wandb.init(
        project="blazeforge",
        dir=str(run_dir),
        mode=mode,
        id=run_id,
        resume="allow",
        config=OmegaConf.to_container(cfg, resolve=True),
        settings=wandb.Settings(silent=True, console="off", save_code=False),
    )


def _history(run_dir: Path) -> list[dict]:
    path = run_dir / "history.csv"
    if not path.is_file():
        return []
    with path.open() as f:
        return list(csv.DictReader(f))


def _datasets(cfg: DictConfig, datasets, task):
    """(train, val, steps_per_epoch): from the task's pipeline on cfg.train.dataset, or injected."""
    t = cfg.trainer
    if datasets is not None:
        train_ds, val_ds = datasets
        if t.steps_per_epoch:
            return train_ds, val_ds, int(t.steps_per_epoch)
        n = int(train_ds.cardinality())
        if n <= 0:
            raise BlazeforgeError("trainer.steps_per_epoch", "expected a number: the training data has no known length")
        return train_ds, val_ds, n
    if not cfg.train.dataset:
        raise BlazeforgeError("train.dataset", "expected a datasets run directory: blazeforge train dataset=RUN_DIR")
    from blazeforge.datasets.builder import require_topology

    info = require_topology(cfg.train.dataset, task.data_topology(cfg.recipe), f"task {task.name}")
    n_train = int(info["splits"].get("train", 0))
    if not n_train:
        raise BlazeforgeError(f"dataset={cfg.train.dataset}", "expected a non-empty train split")
    steps = int(t.steps_per_epoch or max(1, math.ceil(n_train / int(t.batch_size))))
    return (
        task.dataset(cfg, cfg.train.dataset, "train", training=True),
        task.dataset(cfg, cfg.train.dataset, "val", training=False),
        steps,
    )


def resolve_init(cfg: DictConfig, task) -> bool:
    """For train.init=mediapipe:NAME, set recipe.architecture to NAME (the published architecture);
    returns whether it did. NAME must be one of `task.published()`: a zoo model with a Keras
    architecture that the task trains.
    """
    init = str(cfg.train.init or "")
    if not init.startswith("mediapipe:"):
        return False
    name = init.split(":", 1)[1]
    if name not in task.published():
        raise BlazeforgeError(
            f"train.init={init}", f"expected mediapipe: with one of {task.published()} for task {task.name}"
        )
    architecture = cfg.recipe.get("architecture", "blazeforge")
    if architecture not in ("blazeforge", name):
        raise BlazeforgeError(f"train.init={init}", f"needs recipe.architecture={name}, got {architecture}")
    cfg.recipe.architecture = name
    return True


@dataclass(frozen=True)
class Phase:
    """A stretch of training with its own loss weights: epochs [start, end) of trainer.epochs."""

    name: str
    start: int
    end: int
    loss: dict


def phases(cfg: DictConfig) -> list[Phase]:
    """The run's phases: recipe.phases (each a name, its share of trainer.epochs and loss weights
    over recipe.loss; BlazePose's heatmap, then regression) or one phase "train" of every epoch.
    Each phase gets at least one epoch; one-line errors for unknown outputs or bad shares."""
    total = int(cfg.trainer.epochs)
    spec = cfg.recipe.get("phases")
    if not spec:
        return [Phase("train", 0, total, {})]
    shares = [float(p.get("share", 0)) for p in spec]
    if min(shares) <= 0:
        raise BlazeforgeError("recipe.phases", f"expected a positive share for every phase, got {shares}")
    if total < len(spec):
        raise BlazeforgeError("trainer.epochs", f"expected at least one epoch per phase ({len(spec)}), got {total}")
    known = set(cfg.recipe.get("loss", {}))
    out, start, done = [], 0, 0.0
    for k, (p, share) in enumerate(zip(spec, shares)):
        done += share
        end = (
            total
            if k == len(spec) - 1
            else max(start + 1, min(round(total * done / sum(shares)), total - (len(spec) - k - 1)))
        )
        loss = {str(name): float(w) for name, w in (p.get("loss") or {}).items()}
        unknown = sorted(set(loss) - known)
        if unknown:
            raise BlazeforgeError(
                f"recipe.phases[{k}].loss", f"unknown output(s) {unknown}; expected some of {sorted(known)}"
            )
        out.append(Phase(str(p.get("name", f"phase{k + 1}")), start, end, loss))
        start = end
    return out


def _load_init(model, init: str):
    """Copy the weights of a .keras file, a train run directory, or mediapipe:NAME (the published
    .tflite, through `zoo.importer`) into `model` (same architecture)."""
    if str(init).startswith("mediapipe:"):
        from blazeforge import zoo
        from blazeforge.zoo.importer import load_tflite_weights

        name = str(init).split(":", 1)[1]
        load_tflite_weights(model, zoo.tflite_path(name), [o.name for o in zoo.get(name).outputs])
        return
    from blazeforge.models import load_model

    source = load_model(init, "train.init")
    try:
        model.set_weights(source.get_weights())
    except ValueError:
        raise BlazeforgeError(
            f"train.init={init}", f"expected a checkpoint of the same architecture as {model.name}, got {source.name}"
        ) from None


def _packer(task, model):
    """(images, targets) -> (images, one y_true per model output), for tf.data.map.

    Outputs the task has no targets for (the extra heads of a published architecture, such as
    hand_landmark's world_landmarks) get zeros, which no loss reads: Keras wants a y_true for each;
    targets of outputs the model lacks are dropped.
    """
    import tensorflow as tf

    outputs = model.output if isinstance(model.output, dict) else {}

    def pack(images, targets):
        packed = dict(task.pack_targets(targets))
        if outputs:  # targets of heads the architecture lacks (the published file has no offsets)
            packed = {name: y for name, y in packed.items() if name in outputs}
        for name, tensor in outputs.items():
            if name not in packed:
                packed[name] = tf.zeros((tf.shape(images)[0], *tensor.shape[1:]), tf.float32)
        return images, packed

    return pack


# ---- the verb ---------------------------------------------------------------------------------


def train(task, cfg: DictConfig, run_dir: Path, datasets: tuple | None = None, callbacks: list = ()) -> dict:
    """Train `task` (configured by cfg.recipe) on cfg.train.dataset; returns the figures for metrics.json.

    Args:
        task: the registered task (`recipes.get`): model, targets, losses, metrics, data.
        cfg: the composed config tree (recipe, trainer, train, seed).
        run_dir: the run directory; an earlier run in it is resumed (see the module docstring).
        datasets: optional (train, val) tf.data datasets of (images, targets) batches in the
            pipeline's layout, used instead of `make_dataset` (tests inject small ones).
        callbacks: extra Keras callbacks, run after the trainer's own.

    Returns: {"epochs", "epochs_this_run", "steps_per_epoch", "train_loss", "val_loss",
    "val_<output>_<metric>" (each metric the task compiles), "steps_per_second", "images_per_second",
    "seconds", "params", "dataset"}.
    """
    import keras

    run_dir = Path(run_dir)
    t = cfg.trainer
    saved = run_dir / "config.yaml"
    if resolve_init(cfg, task) and saved.is_file():
        resolved = OmegaConf.load(saved)
        # as init=mediapipe:NAME set it, with what follows from it (the pose recipe's schedule)
        resolved.recipe = OmegaConf.create(OmegaConf.to_container(cfg.recipe, resolve=True))
        OmegaConf.save(resolved, saved)
    scope = strategy(str(t.strategy))
    keras.utils.set_random_seed(int(cfg.seed))
    plan = phases(cfg)
    train_ds, val_ds, steps = _datasets(cfg, datasets, task)
    with scope.scope():
        model = task.build_model(cfg.recipe)
        if cfg.train.init:
            _load_init(model, cfg.train.init)
            task.adapt_init(model, cfg.recipe)
        losses, weights = task.losses(cfg.recipe)
        losses = {name: scaled_for_replicas(loss) for name, loss in losses.items()}
    pack = _packer(task, model)
    train_ds, val_ds = train_ds.map(pack), val_ds.map(pack)

    (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    StopOnNonFiniteLoss, StepTimer, WandbEpochs, Backup, Checkpoint = _callbacks()
    timer = StepTimer()
    tracker = _wandb_run(cfg, run_dir)
    start = time.time()
    done = len(_history(run_dir))  # a resumed run skips finished epochs (and phases)
    fresh = True  # no phase has run in this process yet
    try:
        with progress("train", max(int(t.epochs) - done, 0) * steps, "steps") as advance:
            for phase in plan:
                if phase.end <= done:
                    continue
                # one backup per phase (a killed run resumes inside its phase); a single phase keeps backup/
                backup = run_dir / "backup" if len(plan) == 1 else run_dir / "backup" / phase.name
                if fresh and phase.start > 0 and not (backup / "training_metadata.json").is_file():
                    _load_init(model, str(run_dir / "checkpoints" / "last.keras"))  # where the last phase ended
                fresh = False
                with scope.scope():
                    model.compile(
                        optimizer=keras.optimizers.AdamW(
                            learning_rate(t, steps, phase.end - phase.start), weight_decay=float(t.weight_decay)
                        ),
                        loss=losses,
                        loss_weights={**weights, **{k: v for k, v in phase.loss.items() if k in weights}},
                        metrics=task.metrics(cfg.recipe),
                    )
                    # the optimizer's, the loss trackers' and the metrics' variables made here, from the
                    # batches' specs, not inside the first traced step: that traces the step twice (Keras
                    # builds them ahead only under a non-default strategy); 4 traces of the pose model's
                    # step became 2, 100 -> 69 s of a 2-phase smoke run on 2 cores
                    model._symbolic_build(data_batch=train_ds.element_spec)
                # fit would build them again from a first batch averaged over the replicas, which
                # fails under multi_worker (Keras 3.x reduces the batch's nested PerReplica values
                # to a tensor); built here already, that step has nothing to do
                model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None
                if str(t.strategy) == "multi_worker":  # batch statistics over every worker's share of the batch
                    for layer in model._flatten_layers():
                        if isinstance(layer, keras.layers.BatchNormalization):
                            layer.synchronized = True
                # best.keras: the lowest val_loss of the last phase (the losses' weights differ between phases)
                previous = [
                    float(r["val_loss"])
                    for r in _history(run_dir)
                    if r.get("val_loss") and int(r["epoch"]) >= phase.start
                ]
                own = [
                    Backup(backup),
                    Checkpoint(str(run_dir / "checkpoints" / "last.keras")),
                    Checkpoint(
                        str(run_dir / "checkpoints" / "best.keras"),
                        monitor="val_loss",
                        save_best_only=True,
                        initial_value_threshold=min(previous, default=None),
                    ),
                    keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=True),
                    StopOnNonFiniteLoss(),
                    timer,
                    keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: advance(1)),
                ]
                if tracker is not None:
                    own.append(WandbEpochs(tracker))
                if len(plan) > 1:
                    log.info("train: phase %s, epochs %d-%d", phase.name, phase.start + 1, phase.end)
                model.fit(
                    train_ds,
                    validation_data=val_ds,
                    initial_epoch=phase.start,
                    epochs=phase.end,
                    steps_per_epoch=steps,
                    callbacks=own + list(callbacks),
                    verbose=2,  # one line per epoch, into the run's log.txt (or the terminal with verbose=true)
                )
    finally:
        if tracker is not None:
            tracker.finish()
    seconds = time.time() - start
    model.save(run_dir / "model.keras")

    rows = _history(run_dir)
    if not rows:
        raise BlazeforgeError("train", "no epoch finished; expected trainer.epochs >= 1")
    last = rows[-1]
    metric = lambda key: float(last.get(key) or "nan")  # noqa: E731
    return {
        "epochs": int(last["epoch"]) + 1,
        "epochs_this_run": timer.epochs,
        "steps_per_epoch": steps,
        "train_loss": metric("loss"),
        "val_loss": metric("val_loss"),
        # every validation metric the task compiled, under Keras' name (val_landmarks_crop_nme, ...)
        **{key: metric(key) for key in last if key.startswith("val_") and key != "val_loss"},
        "steps_per_second": round(timer.steps_per_second, 3),
        "images_per_second": round(timer.steps_per_second * int(t.batch_size), 1),
        "seconds": round(seconds, 2),
        "params": int(model.count_params()),
        "dataset": str(cfg.train.dataset) if cfg.train.dataset else None,
        **(
            {
                "phases": [
                    {"name": p.name, "epochs": [p.start + 1, p.end], "steps": (p.end - p.start) * steps} for p in plan
                ]
            }
            if len(plan) > 1
            else {}
        ),
    }
