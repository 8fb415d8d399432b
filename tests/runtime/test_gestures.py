"""Gestures from landmarks: the named rules on the library's poses, the classifier's features and
labels, and a trained classifier running in the hands pipeline."""

import json

import numpy as np
import pytest
from omegaconf import OmegaConf

from blazeforge.config import CONFIG_DIR
from blazeforge.recipes.gesture.model import class_names, label_of
from blazeforge.runtime.gestures import RULE_NAMES, features, rule_gesture
from blazeforge.synthetic.gestures import GESTURES
from blazeforge.synthetic.kinematics import forward_kinematics, random_rotation

RECIPE = OmegaConf.load(CONFIG_DIR / "recipe" / "gesture.yaml")


def _seen(name, left=False, roll=0.0, scale=400.0):
    """A library pose facing the camera, turned in the image plane, in pixels."""
    joints = forward_kinematics(GESTURES[name], left=left) * np.array([1, -1, 1]) * scale
    c, s = np.cos(roll), np.sin(roll)
    out = joints.copy()
    out[:, :2] = joints[:, :2] @ np.array([[c, -s], [s, c]]).T + 200
    return out


@pytest.mark.parametrize("name", RULE_NAMES)
def test_every_rule_names_its_library_pose_for_either_hand(name):
    assert len(RULE_NAMES) >= 8
    assert rule_gesture(_seen(name)) == name
    assert rule_gesture(_seen(name, left=True)) == name
    if name != "thumbs_up":  # the only rule that reads which way is up
        assert rule_gesture(_seen(name, roll=2.0)) == name


def test_features_ignore_where_and_how_big_and_turned_the_hand_is():
    a = features(_seen("victory"))
    b = features(_seen("victory", roll=1.3, scale=90.0))
    assert a.shape == (63,) and np.allclose(a, b, atol=1e-5)
    assert not np.allclose(a, features(_seen("rock")), atol=0.05)


def test_labels_group_library_gestures_and_blends_count_when_clear():
    classes = class_names(RECIPE)
    assert classes[-1] == "other" and label_of("scissors", RECIPE) == classes.index("victory")
    assert label_of("duck", RECIPE) == classes.index("other")
    assert label_of("fist+point@0.10", RECIPE) == classes.index("fist")
    assert label_of("fist+point@0.90", RECIPE) == classes.index("point")
    assert label_of("fist+point@0.50", RECIPE) is None and label_of("", RECIPE) is None


def test_posed_hands_look_like_the_renderer_would_pose_them():
    from blazeforge.recipes.gesture.model import posed_examples

    x, y = posed_examples(300, RECIPE, seed=0)
    assert x.shape == (300, 63) and set(np.unique(y)) > {class_names(RECIPE).index("other")}
    # Rules on posed hands of rule classes: they see 3D joints from any side, so not all, but most.
    rng = np.random.default_rng(1)
    hits = [
        rule_gesture((forward_kinematics(GESTURES[n]) @ random_rotation(rng).T) * [1, -1, -1] * 400) == n
        for n in RULE_NAMES
        for _ in range(4)
    ]
    assert np.mean(hits) > 0.5


@pytest.mark.slow
def test_gesture_classifier_trains_exports_and_runs_in_the_hands_pipeline(tmp_path):
    from blazeforge.cli import main
    from tests.fixtures import fake_renders, moving_clip

    smoke = ["experiment=smoke", "trainer.wandb=disabled"]
    renders = fake_renders(tmp_path / "renders", shards=3, per_shard=8)
    assert main(["datasets", "build", f"renders={renders}", f"run_dir={tmp_path / 'data'}", *smoke]) == 0
    assert (
        main(
            [
                "train",
                "recipe=gesture",
                f"dataset={tmp_path / 'data'}",
                f"run_dir={tmp_path / 'train'}",
                "recipe.synthetic=500",
                *smoke,
            ]
        )
        == 0
    )
    assert (
        main(["evaluate", f"checkpoint={tmp_path / 'train'}", f"run_dir={tmp_path / 'eval'}", "split=val", *smoke]) == 0
    )
    evaluation = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert 0 <= evaluation["accuracy"] <= 1 and evaluation["samples"] > 0 and "rules_accuracy" in evaluation
    assert main(["export", f"checkpoint={tmp_path / 'train'}", f"run_dir={tmp_path / 'export'}", *smoke]) == 0
    export = json.loads((tmp_path / "export" / "metrics.json").read_text())["exports"]["fp32"]
    assert export["parity"]["gesture"]["max_abs_diff"] < 1e-4
    assert json.loads((tmp_path / "export" / "gesture.json").read_text())["classes"] == class_names(RECIPE)

    clip, _ = moving_clip(tmp_path / "hand.mp4", "hand", frames=8, absent=(8, 8))
    assert (
        main(
            ["run", "pipeline=hands", f"source={clip}", f"models={tmp_path / 'export'}", f"run_dir={tmp_path / 'run'}"]
        )
        == 0
    )
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["models"]["gesture_classifier"].endswith("gesture_fp32.tflite")
    assert metrics["models"]["palm_detector"].endswith("palm_detection_full.tflite")  # no export of ours: MediaPipe's
