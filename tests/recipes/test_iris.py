"""The Iris recipe: two eye crops a face (the left one mirrored), MediaPipe's point order, and a
smoke run from renders through train, evaluate, export and metric depth."""

import json
from dataclasses import replace

import numpy as np
import pytest

from blazeforge import recipes
from blazeforge.cli import main
from blazeforge.config import compose
from blazeforge.geometry.roi import eye_roi
from blazeforge.recipes.landmarks.data import instance_views, view_targets
from blazeforge.topology.face_mesh import EYE_CONTOUR, EYE_POINTS, IRIS

recipe = recipes.get("iris")  # the task under test


def test_each_face_gives_both_eyes_the_left_one_mirrored():
    cfg = compose("train", ["recipe=iris"])
    rng = np.random.default_rng(0)
    mesh = np.c_[rng.uniform(40, 160, (478, 2)), rng.uniform(-5, 5, 478)]
    right, left = instance_views(mesh, np.ones((478, 3), bool), cfg.recipe)
    assert (right.mirrored, left.mirrored) == (False, True) and right.roi == eye_roi(mesh, "right")
    assert right.points == EYE_CONTOUR["right"] + IRIS["right"] and len(left.points) == 76
    points, mask = view_targets(mesh, np.ones((478, 3)), left, left.roi, 64, "mean")
    unmirrored, _ = view_targets(mesh, np.ones((478, 3)), replace(left, mirrored=False), left.roi, 64, "mean")
    np.testing.assert_allclose(points[:, 0], 64 - unmirrored[:, 0])
    assert points.shape == (76, 3) and mask.shape == (76, 3) and abs(points[:, 2].mean()) < 1e-9


def test_targets_split_into_the_published_outputs():
    import tensorflow as tf

    values = np.arange(228, dtype=np.float32)[None]
    packed = recipe.pack_targets({"landmarks": tf.constant(values), "landmark_mask": tf.ones((1, 228))})
    assert packed["eye_contour"].shape == (1, 426) and packed["iris"].shape == (1, 30)
    assert float(packed["iris"][0, 0]) == 213.0 and set(recipe.losses(compose("train", ["recipe=iris"]).recipe)[0]) == {
        "eye_contour",
        "iris",
    }
    assert len(EYE_POINTS["left"]) == 76


@pytest.mark.slow
def test_iris_from_face_renders_to_metric_depth(tmp_path):
    from blazeforge.recipes.landmarks.evaluate import collect

    renders, data, train = tmp_path / "renders", tmp_path / "data", tmp_path / "train"
    assert (
        main(
            ["render", "scene=faces", "n=8", "shards=1", "resolution=160", "samples=2", "seed=4", f"run_dir={renders}"]
        )
        == 0
    )
    assert main(["datasets", "build", "data=face_mesh_iris", f"renders={renders}", f"run_dir={data}"]) == 0
    # In every crop, right eye or mirrored left, the iris rim starts towards the crop's +x (the
    # published model's order), so one model learns both eyes.
    crops = collect(compose("evaluate", ["recipe=iris"]), str(data), "train", 64)
    assert len(crops["crop"]) % 2 == 0 and crops["mirrored"].count(True) == len(crops["crop"]) // 2
    rim = crops["crop_keypoints"][:, 72, 0] - crops["crop_keypoints"][:, 71, 0]
    assert (rim > 0).all()

    assert (
        main(
            [
                "train",
                "recipe=iris",
                f"dataset={data}",
                "init=mediapipe:iris_landmark",
                "experiment=smoke",
                "trainer.batch_size=4",
                "trainer.learning_rate=1e-4",
                f"run_dir={train}",
            ]
        )
        == 0
    )
    assert main(["evaluate", f"checkpoint={train}", "split=train", f"run_dir={tmp_path / 'eval'}"]) == 0
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["topology"] == "eye" and metrics["count"] == len(crops["crop"]) and metrics["presence_auc"] is None
    assert metrics["nme_2d"] < 1.0 and metrics["baseline_nme_2d"] > 0

    assert main(["export", f"checkpoint={train}", f"run_dir={tmp_path / 'export'}"]) == 0
    exported = tmp_path / "export" / "iris_fp32.tflite"
    from blazeforge.runtime.models import resolve

    assert resolve(["iris"], str(tmp_path / "export"))["iris"].path == exported
    for checkpoint in (str(train), str(exported)):
        out = tmp_path / f"depth-{checkpoint.endswith('.tflite')}"
        assert main(["evaluate", "iris_depth", f"renders={renders}", f"checkpoint={checkpoint}", f"run_dir={out}"]) == 0
        depth = json.loads((out / "metrics.json").read_text())
        assert depth["eyes"] == 16 and depth["checkpoint"] == checkpoint
