import numpy as np
import pytest

from blazeforge.config import compose
from blazeforge.datasets import build
from blazeforge.geometry.roi import Roi
from blazeforge.recipes.landmarks.data import TrainExamples, eval_examples, instance_roi, make_dataset
from blazeforge.training.augment import negative_roi
from tests.fixtures import fake_coco, fake_renders

SMOKE = ["experiment=smoke", "trainer.batch_size=4"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipe")
    cfg = compose("datasets", [f"renders={fake_renders(root / 'r')}", f"coco={fake_coco(root / 'c')}"])
    build(cfg, root / "d")
    return root / "d"


def test_training_batches_have_the_contracted_shapes_and_ranges(dataset):
    cfg = compose("train", SMOKE)
    images, targets = next(iter(make_dataset(cfg, dataset, "train", training=True)))
    assert images.shape == (4, 96, 96, 3) and images.dtype.name == "float32"
    assert 0.0 <= float(images.numpy().min()) and float(images.numpy().max()) <= 1.0
    assert targets["landmarks"].shape == (4, 63) and targets["landmark_mask"].shape == (4, 63)
    for key in ("presence", "handedness", "handedness_mask"):
        assert targets[key].shape == (4, 1)


def _example(cfg, flip, negatives=0.0):
    rng = np.random.default_rng(0)
    from tests.fixtures import draw_hand, hand_points

    kp = hand_points(rng)
    image = draw_hand(kp, 128, rng)
    overrides = [
        f"recipe.augment.flip={flip}",
        f"recipe.negatives={negatives}",
        "recipe.augment.roi_shift=0",
        "recipe.augment.roi_scale=0",
        "recipe.augment.roi_rotation_deg=0",
        "recipe.augment.color=0",
        "recipe.augment.blur=0",
        "recipe.augment.noise=0",
    ]
    cfg = compose("train", SMOKE + overrides)
    return TrainExamples(cfg)(image, kp[None].astype(np.float32), np.ones((1, 21, 3), bool), np.float32([1.0]), 7)


def test_flip_mirrors_x_keeps_z_and_swaps_handedness():
    cfg = compose("train", SMOKE)
    plain, flipped = _example(cfg, 0.0), _example(cfg, 1.0)
    np.testing.assert_allclose(flipped[0], plain[0][:, ::-1], atol=1e-6)
    lm, lf = plain[1].reshape(21, 3), flipped[1].reshape(21, 3)
    np.testing.assert_allclose(lf[:, 0], 96 - lm[:, 0], atol=1e-4)
    np.testing.assert_allclose(lf[:, 1:], lm[:, 1:], atol=1e-4)
    assert plain[4][0] == 1.0 and flipped[4][0] == 0.0


def test_negative_crops_train_presence_only():
    out = _example(compose("train", SMOKE), 0.0, negatives=1.0)
    assert out[3][0] == 0.0 and not out[2].any() and out[5][0] == 0.0


def test_negative_roi_stays_off_the_hand():
    roi = Roi(64, 64, 40, 40)
    for seed in range(20):
        neg = negative_roi(roi, 128, 128, np.random.default_rng(seed))
        assert np.hypot(neg.cx - 64, neg.cy - 64) > 0.79 * 40


def test_eval_crops_put_labelled_points_where_the_image_has_them(dataset):
    cfg = compose("train", SMOKE)
    for ex in eval_examples(cfg, dataset, "train"):
        # The skeleton is drawn in (B, G, R) = (220, 180, 150) where the keypoints are: sample the
        # crop (RGB) at the wrist.
        x, y = ex["crop_keypoints"][0, :2]
        if 2 <= x < 94 and 2 <= y < 94:
            patch = ex["crop"][int(y) - 1 : int(y) + 2, int(x) - 1 : int(x) + 2].astype(int)
            assert (np.abs(patch - [150, 180, 220]).sum(-1) < 60).any()
    roi = instance_roi(ex["keypoints"], ex["keypoint_mask"], cfg.recipe)
    assert roi.width == pytest.approx(roi.height)


def test_sources_are_mixed_by_weight(dataset):
    import tensorflow as tf

    cfg = compose("train", SMOKE + ["data.weights.real=0", "trainer.batch_size=8", "recipe.negatives=0"])
    # With the real weight at 0 only synthetic samples come: their masks label z.
    _, targets = next(iter(make_dataset(cfg, dataset, "train", training=True)))
    assert float(tf.reduce_min(tf.reshape(targets["landmark_mask"], (8, 21, 3))[..., 2])) == 1.0
    cfg = compose("train", SMOKE + ["data.weights.synthetic=0", "trainer.batch_size=8", "recipe.negatives=0"])
    _, targets = next(iter(make_dataset(cfg, dataset, "train", training=True)))
    assert float(tf.reduce_max(tf.reshape(targets["landmark_mask"], (8, 21, 3))[..., 2])) == 0.0


def test_validation_batches_have_a_known_count(dataset):
    # Keras averages an empty extra step into validation metrics when the count is unknown.
    cfg = compose("train", SMOKE)
    ds = make_dataset(cfg, dataset, "train", training=False)
    instances = sum(1 for _ in eval_examples(cfg, dataset, "train"))
    assert int(ds.cardinality()) == -(-instances // 4) == sum(1 for _ in ds)
