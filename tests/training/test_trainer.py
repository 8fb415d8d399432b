import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from blazeforge import recipes
from blazeforge.config import compose
from blazeforge.errors import BlazeforgeError
from blazeforge.models import load_model
from blazeforge.training.trainer import train

HANDS = recipes.get("hand_landmarks")


def tiny_data(size=64, n=16):
    """A learnable stand-in: the landmarks are a bright square's position."""
    rng = np.random.default_rng(0)
    images = np.zeros((n, size, size, 3), np.float32)
    landmarks = np.zeros((n, 63), np.float32)
    for i in range(n):
        x, y = rng.integers(8, size - 8, 2)
        images[i, y - 4 : y + 4, x - 4 : x + 4] = 1.0
        landmarks[i] = np.tile([x, y, 0.0], 21)
    targets = {
        "landmarks": landmarks,
        "landmark_mask": np.ones((n, 63), np.float32),
        "presence": np.ones((n, 1), np.float32),
        "handedness": np.ones((n, 1), np.float32),
        "handedness_mask": np.ones((n, 1), np.float32),
    }
    ds = tf.data.Dataset.from_tensor_slices((images, targets)).batch(8)
    return ds.repeat(), ds


CFG = [
    "experiment=smoke",
    "recipe.input_size=64",
    "trainer.steps_per_epoch=4",
    "trainer.learning_rate=3e-3",
    "trainer.warmup_epochs=0",
]


def test_training_lowers_the_loss_and_writes_its_files(tmp_path, monkeypatch):
    from keras.src.backend.tensorflow.trainer import TensorFlowTrainer

    traces, step = [], TensorFlowTrainer.train_step  # Python runs a tf.function's body only to trace it
    monkeypatch.setattr(TensorFlowTrainer, "train_step", lambda self, data: traces.append(1) or step(self, data))
    metrics = train(HANDS, compose("train", CFG + ["trainer.epochs=4"]), tmp_path, datasets=tiny_data())
    assert len(traces) == 1  # every variable made before the first step: TensorFlow traces it once
    rows = list(csv.DictReader((tmp_path / "history.csv").open()))
    assert len(rows) == 4 and float(rows[-1]["loss"]) < float(rows[0]["loss"])
    assert (tmp_path / "model.keras").is_file() and (tmp_path / "checkpoints" / "best.keras").is_file()
    assert metrics["epochs_this_run"] == 4 and np.isfinite(metrics["val_landmarks_crop_nme"])


def test_a_killed_training_resumes_at_its_epoch(tmp_path):
    import keras

    class Kill(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _train_with_kill(tmp_path, Kill)
    metrics = train(HANDS, compose("train", CFG + ["trainer.epochs=4"]), tmp_path, datasets=tiny_data())
    assert metrics["epochs_this_run"] == 2  # epochs 3 and 4 only
    rows = list(csv.DictReader((tmp_path / "history.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2, 3]


def test_a_damaged_backup_falls_back_to_the_epoch_before_with_one_warning(tmp_path, capfd):
    train(HANDS, compose("train", CFG + ["trainer.epochs=3"]), tmp_path, datasets=tiny_data())
    backups = sorted(p.name for p in (tmp_path / "backup").glob("*.weights.h5"))
    assert backups == ["epoch-0002.weights.h5", "epoch-0003.weights.h5"]  # the last two epochs' only
    newest = tmp_path / "backup" / "epoch-0003.weights.h5"
    newest.write_bytes(newest.read_bytes()[:1000])  # as a disk fault would leave it
    capfd.readouterr()
    metrics = train(HANDS, compose("train", CFG + ["trainer.epochs=4"]), tmp_path, datasets=tiny_data())
    warnings = [line for line in capfd.readouterr().err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and f"{newest} does not load" in warnings[0]
    assert metrics["epochs_this_run"] == 2  # epochs 3 and 4, from epoch 2's backup
    assert not list((tmp_path / "checkpoints").glob("partial-*")) and not list((tmp_path / "backup").glob("partial-*"))


def test_a_half_written_backup_of_an_older_version_restarts_the_phase_with_a_warning(tmp_path, capfd):
    """What a kill -9 in the middle of Keras' own BackupAndRestore write left (issue [11])."""
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "training_metadata.json").write_text('{"epoch": 2, "batch": 0}')
    (tmp_path / "backup" / "latest.weights.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 200)
    metrics = train(HANDS, compose("train", CFG + ["trainer.epochs=3"]), tmp_path, datasets=tiny_data())
    err = capfd.readouterr().err
    assert "latest.weights.h5 does not load" in err and "this phase starts again from its beginning" in err
    assert "Traceback" not in err and metrics["epochs_this_run"] == 3


def test_two_workers_on_loopback_train_the_model_one_worker_does(tmp_path):
    """trainer.strategy=multi_worker with TF_CONFIG: two processes, one model, as one worker trains it
    (Keras 3 alone fails here on its scalar logs, tensorflow#72388)."""
    from blazeforge.annotation.labelstudio import free_port

    ports = f"{free_port()},{free_port()}"
    env = {**os.environ, "WANDB_MODE": "disabled", "PYTHONPATH": str(Path(__file__).parents[2])}
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.training.worker_process", str(i), ports, str(tmp_path / f"worker-{i}")],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        for i in range(2)
    ]
    one = train(HANDS, compose("train", CFG + ["trainer.epochs=3"]), tmp_path / "one", datasets=tiny_data())
    outputs = [w.communicate(timeout=600)[0] for w in workers]
    assert all(w.returncode == 0 for w in workers), outputs[0][-2000:] + outputs[1][-2000:]
    two = [json.loads(next(line for line in out.splitlines() if line.startswith("METRICS "))[8:]) for out in outputs]
    assert two[0]["train_loss"] == pytest.approx(two[1]["train_loss"], rel=1e-6)  # one model on both workers
    # epoch by epoch, the training NME follows one worker's (0.219, 0.109, 0.060 against 0.220, 0.109,
    # 0.054 here), and the validation NME ends where one worker's does
    nme = [
        [float(r["landmarks_crop_nme"]) for r in csv.DictReader((tmp_path / d / "history.csv").open())]
        for d in ("worker-0", "one")
    ]
    assert nme[0][-1] < nme[0][0] / 2 and nme[0] == pytest.approx(nme[1], rel=0.15)
    # the logged losses too (they read twice the true value before `trainer.scaled_for_replicas`)
    loss = [
        [float(r["loss"]) for r in csv.DictReader((tmp_path / d / "history.csv").open())] for d in ("worker-0", "one")
    ]
    assert loss[0] == pytest.approx(loss[1], rel=0.15)
    assert two[0]["val_landmarks_crop_nme"] == pytest.approx(one["val_landmarks_crop_nme"], rel=0.01)


def _train_with_kill(run_dir, kill_cls):
    import keras

    fit = keras.Model.fit

    def fit_with_kill(self, *args, callbacks=None, **kwargs):
        return fit(self, *args, callbacks=list(callbacks or []) + [kill_cls()], **kwargs)

    keras.Model.fit = fit_with_kill
    try:
        train(HANDS, compose("train", CFG + ["trainer.epochs=4"]), run_dir, datasets=tiny_data())
    finally:
        keras.Model.fit = fit


def test_bad_checkpoints_and_strategies_are_one_line_errors(tmp_path):
    (tmp_path / "broken.keras").write_bytes(b"truncated")
    with pytest.raises(BlazeforgeError, match="not a loadable Keras model"):
        load_model(tmp_path / "broken.keras")
    with pytest.raises(BlazeforgeError, match="expected a .keras file or a train run directory"):
        load_model(tmp_path)
    with pytest.raises(BlazeforgeError, match="trainer.strategy"):
        train(HANDS, compose("train", CFG + ["trainer.strategy=ring"]), tmp_path, datasets=tiny_data())


def test_fine_tuning_starts_from_the_published_weights(tmp_path):
    """init=mediapipe:NAME trains the published architecture from its imported weights."""
    from omegaconf import OmegaConf

    from blazeforge import zoo
    from blazeforge.runtime import TfliteModel

    cfg = compose(
        "train",
        CFG
        + [
            "recipe.input_size=224",
            "init=mediapipe:hand_landmark_lite",
            "trainer.epochs=1",
            "trainer.steps_per_epoch=1",
            "trainer.learning_rate=0",
            "trainer.weight_decay=0",
        ],
    )
    (tmp_path / "config.yaml").write_text(OmegaConf.to_yaml(cfg))
    train(HANDS, cfg, tmp_path, datasets=tiny_data(size=224, n=8))
    assert OmegaConf.load(tmp_path / "config.yaml").recipe.architecture == "hand_landmark_lite"
    model = load_model(tmp_path)
    x = np.random.default_rng(0).random((1, 224, 224, 3), np.float32)
    ours = model.predict(x, verbose=0)
    theirs = TfliteModel(zoo.tflite_path("hand_landmark_lite"))(x)
    for output in zoo.get("hand_landmark_lite").outputs:  # learning rate 0: still the published model
        scale = 224.0 if output.unit == "pixels" else 1.0
        assert np.abs(ours[output.name] - theirs[output.tensor]).max() / scale < 1e-3, output.name
    with pytest.raises(BlazeforgeError, match="expected mediapipe: with one of"):
        train(HANDS, compose("train", CFG + ["init=mediapipe:face_landmark"]), tmp_path / "face", datasets=tiny_data())
