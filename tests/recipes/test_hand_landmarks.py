import numpy as np
import pytest
import tensorflow as tf

from blazeforge import recipes
from blazeforge.config import compose
from blazeforge.models import load_model

recipe = recipes.get("hand_landmarks")  # the task under test


@pytest.mark.parametrize("width, size", [("lite", 96), ("full", 224)])
def test_model_outputs_follow_mediapipe_layout(width, size):
    cfg = compose("train", [f"recipe.width={width}", f"recipe.input_size={size}"])
    model = recipe.build_model(cfg.recipe)
    out = model(np.zeros((2, size, size, 3), np.float32))
    assert out["landmarks"].shape == (2, 63) and out["presence"].shape == (2, 1) and out["handedness"].shape == (2, 1)
    # An untrained model starts at the crop centre, in pixels.
    np.testing.assert_allclose(np.asarray(out["landmarks"]).reshape(2, 21, 3)[..., :2].mean(), size / 2, rtol=0.2)
    assert 0 <= float(np.min(out["presence"])) and float(np.max(out["presence"])) <= 1


def _targets(z_mask: float, presence: float = 1.0):
    mask = np.ones((1, 21, 3), np.float32)
    mask[..., 2] = z_mask
    return recipe.pack_targets(
        {
            "landmarks": tf.constant(np.random.default_rng(0).uniform(0, 96, (1, 63)), tf.float32),
            "landmark_mask": tf.constant(mask.reshape(1, 63) * presence),
            "presence": tf.constant([[presence]]),
            "handedness": tf.constant([[1.0]]),
            "handedness_mask": tf.constant([[presence]]),
        }
    )


def _landmark_grad(targets):
    cfg = compose("train", ["experiment=smoke"])
    losses, _ = recipe.losses(cfg.recipe)
    pred = tf.Variable(np.random.default_rng(1).uniform(0, 96, (1, 63)).astype(np.float32))
    with tf.GradientTape() as tape:
        loss = losses["landmarks"](targets["landmarks"], pred)
    return float(loss), tape.gradient(loss, pred).numpy().reshape(21, 3)


def test_masked_z_gives_zero_z_gradient_on_real_samples():
    _, real = _landmark_grad(_targets(z_mask=0.0))
    _, synthetic = _landmark_grad(_targets(z_mask=1.0))
    assert np.all(real[:, 2] == 0.0) and np.all(real[:, :2] != 0.0)
    assert np.all(synthetic[:, 2] != 0.0)


def test_negatives_give_zero_landmark_and_handedness_loss():
    loss, grad = _landmark_grad(_targets(z_mask=1.0, presence=0.0))
    assert loss == 0.0 and not grad.any()
    cfg = compose("train", ["experiment=smoke"])
    losses, _ = recipe.losses(cfg.recipe)
    assert float(losses["handedness"](_targets(1.0, 0.0)["handedness"], tf.constant([[0.1]]))) == 0.0


def test_a_saved_checkpoint_reloads_with_identical_outputs(tmp_path):
    cfg = compose("train", ["experiment=smoke"])
    model = recipe.build_model(cfg.recipe)
    x = np.random.default_rng(0).uniform(0, 1, (2, 96, 96, 3)).astype(np.float32)
    model.save(tmp_path / "m.keras")
    again = load_model(tmp_path / "m.keras")
    for name, value in model(x).items():
        np.testing.assert_allclose(again(x)[name], value, atol=1e-6)
