"""The FaceMesh recipe: layout, masked losses, crops, and a smoke run through train, evaluate,
export, the runtime and the fairness report."""

import json

import numpy as np
import pytest
import tensorflow as tf

from blazeforge import recipes
from blazeforge.cli import main
from blazeforge.config import compose
from blazeforge.errors import BlazeforgeError
from blazeforge.recipes.landmarks.data import TrainExamples, crop_targets, instance_roi
from tests.fixtures import face_mesh_coco, moving_clip

recipe = recipes.get("face_mesh")  # the task under test

SMOKE = ["recipe=face_mesh", "experiment=smoke"]


def test_model_outputs_follow_the_published_layout():
    cfg = compose("train", SMOKE)
    out = recipe.build_model(cfg.recipe)(np.zeros((2, 96, 96, 3), np.float32))
    assert out["landmarks"].shape == (2, 1404) and out["face_flag"].shape == (2, 1)
    np.testing.assert_allclose(np.asarray(out["landmarks"]).reshape(2, 468, 3)[..., :2], 48.0, atol=1e-3)
    cfg = compose("train", ["recipe=face_mesh", "init=mediapipe:face_landmark"])
    from blazeforge.training.trainer import resolve_init

    assert resolve_init(cfg, recipe) and cfg.recipe.architecture == "face_landmark"
    published = recipe.build_model(cfg.recipe)
    assert published.output["landmarks"].shape[1:] == (1, 1, 1404) and published.output["face_flag"].shape[1:] == (
        1,
        1,
        1,
    )
    with pytest.raises(BlazeforgeError, match="recipe.input_size: expected 192"):
        recipe.build_model(compose("train", SMOKE + ["recipe.architecture=face_landmark"]).recipe)


def test_contour_only_faces_train_their_labelled_points_only():
    """Three kinds of source through keypoint_mask: a 2D contour labels some points' x and y."""
    cfg = compose("train", SMOKE)
    losses, weights = recipe.losses(cfg.recipe)
    mask = np.zeros((1, 468, 3), np.float32)
    mask[0, :40, :2] = 1.0
    target = np.random.default_rng(0).uniform(0, 96, (1, 1404)).astype(np.float32)
    packed = recipe.pack_targets(
        {
            "landmarks": tf.constant(target),
            "landmark_mask": tf.constant(mask.reshape(1, -1)),
            "presence": tf.constant([[1.0]]),
        }
    )
    pred = tf.Variable(np.random.default_rng(1).uniform(0, 96, (1, 1, 1, 1404)).astype(np.float32))
    with tf.GradientTape() as tape:
        loss = losses["landmarks"](packed["landmarks"], pred)
    grad = tape.gradient(loss, pred).numpy().reshape(468, 3)
    assert float(loss) > 0 and np.all(grad[:40, :2] != 0) and not grad[40:].any() and not grad[:, 2].any()
    flag = losses["face_flag"](packed["face_flag"], tf.constant([[[[-8.0]]]]))  # a confident "no face" logit
    assert float(flag) > 5 and set(weights) == {"landmarks", "face_flag"}


def test_crops_follow_mediapipes_face_rule_and_z_is_centred_on_the_mesh():
    from blazeforge.geometry.roi import face_roi

    cfg = compose("train", SMOKE)
    rng = np.random.default_rng(0)
    points = np.c_[rng.uniform(60, 140, (468, 2)), rng.uniform(-10, 10, 468)]
    mask = np.ones((468, 3), bool)
    assert instance_roi(points, mask, cfg.recipe) == face_roi(points)
    mask[100:] = False  # a 2D contour: the square around the labelled points instead
    roi = instance_roi(points, mask, cfg.recipe)
    extent = np.ptp(points[:100, :2], 0).max()
    assert roi.rotation == 0 and roi.width == pytest.approx(1.5 * extent)
    crop = crop_targets(points, np.ones((468, 3)), face_roi(points), 96, "mean")
    assert abs(crop[:, 2].mean()) < 1e-9


def test_flip_pairs_carry_each_side_of_the_mesh_onto_the_other():
    from blazeforge.topology import get
    from blazeforge.zoo.connections import connections

    perm = np.array(get("face_mesh").flip_permutation())
    assert (perm[perm] == np.arange(468)).all() and 20 <= (perm == np.arange(468)).sum() <= 40
    sets = connections("face_mesh")
    for left, right in (("LEFT_EYE", "RIGHT_EYE"), ("LEFT_EYEBROW", "RIGHT_EYEBROW"), ("LIPS", "LIPS")):
        mirrored = {tuple(sorted(perm[list(e)])) for e in sets[f"FACEMESH_{left}"]}
        assert mirrored == {tuple(sorted(e)) for e in sets[f"FACEMESH_{right}"]}
    TrainExamples(compose("train", SMOKE + ["recipe.augment.flip=0.5"]))  # flips are allowed now


@pytest.fixture(scope="module")
def package_faces(tmp_path_factory):
    """A face_mesh dataset of package photos' faces labelled by the published model itself."""
    root = tmp_path_factory.mktemp("package_faces")
    coco = face_mesh_coco(root / "faces", count=24)
    assert main(["datasets", "build", "data=face_mesh", f"coco={coco}", f"run_dir={root / 'data'}"]) == 0
    return root / "data"


@pytest.mark.slow
def test_train_evaluate_export_run_and_judge_fairness_on_package_faces(package_faces, tmp_path):
    from blazeforge.geometry.roi import face_roi
    from blazeforge.runtime.models import load_landmarks

    data, train, evaluate = package_faces, tmp_path / "train", tmp_path / "eval"
    assert (
        main(
            [
                "train",
                "recipe=face_mesh",
                f"dataset={data}",
                "experiment=smoke",
                "trainer.batch_size=4",
                f"run_dir={train}",
            ]
        )
        == 0
    )
    assert main(["evaluate", f"checkpoint={train}", "split=train", f"run_dir={evaluate}"]) == 0
    metrics = json.loads((evaluate / "metrics.json").read_text())
    assert metrics["topology"] == "face_mesh" and metrics["normalizer"] == [33, 263] and metrics["count"] > 0
    assert 0 < metrics["baseline_nme_2d"] < 1 and metrics["handedness_accuracy"] is None
    assert "Landmarks (face_mesh)" in (evaluate / "report.html").read_text()

    export = tmp_path / "export"
    assert main(["export", f"checkpoint={train}", f"run_dir={export}"]) == 0
    exported = json.loads((export / "metrics.json").read_text())["exports"]["fp32"]
    assert exported["parity"]["landmarks"]["max_abs_diff"] < 1e-2
    model, _ = load_landmarks(export / "face_mesh_fp32.tflite", "face_mesh")
    image = np.full((200, 200, 3), 128, np.uint8)
    mesh = model(image, face_roi(np.random.default_rng(0).uniform(50, 150, (468, 2))))
    assert mesh.shape == (468, 3) and np.isfinite(mesh).all()

    # FaceLandmarker's 478-point file from this checkpoint and MediaPipe's iris model
    from ai_edge_litert.interpreter import Interpreter

    from blazeforge.errors import BlazeforgeError
    from blazeforge.export.face_landmarks import write_face_landmarks

    (tmp_path / "bundle").mkdir()
    made = write_face_landmarks(str(export), "fp32", tmp_path / "bundle")
    assert made["mesh"] == str(train) and "iris_landmark" in made["iris"]
    outputs = Interpreter(model_path=made["path"]).get_output_details()
    assert [(o["name"], int(np.prod(o["shape"]))) for o in outputs] == [("landmarks", 1434), ("face_flag", 1)]
    with pytest.raises(BlazeforgeError, match="fp32, fp16 or dynamic") as caught:
        write_face_landmarks(str(export), "int8", tmp_path / "bundle")
    assert "\n" not in str(caught.value)

    clip, _ = moving_clip(tmp_path / "face.mp4", "face", frames=6, absent=(6, 6))
    assert (
        main(
            [
                "run",
                "pipeline=face_mesh",
                f"source={clip}",
                f"models=[{export},{tmp_path / 'none'}]",
                "iris=false",
                f"run_dir={tmp_path / 'run'}",
            ]
        )
        == 2
    )  # a list of export folders: each must exist
    assert (
        main(
            [
                "run",
                "pipeline=face_mesh",
                f"source={clip}",
                f"models=[{export}]",
                "iris=false",
                f"run_dir={tmp_path / 'run'}",
            ]
        )
        == 0
    )
    ran = json.loads((tmp_path / "run" / "metrics.json").read_text())["models"]
    assert ran["face_mesh"].endswith("face_mesh_fp32.tflite") and ran["face_detector"].endswith("short_range.tflite")

    # The published model on its own meshes, and ours, through the same fairness report.
    for checkpoint in ("mediapipe:face_landmark", str(train)):
        fair = tmp_path / f"fair-{len(checkpoint)}"
        assert (
            main(
                [
                    "evaluate",
                    "fairness",
                    f"dataset={data}",
                    f"checkpoint={checkpoint}",
                    "split=train",
                    "group_by=skin_tone",
                    "bootstrap=50",
                    f"run_dir={fair}",
                ]
            )
            == 0
        )
        report = json.loads((fair / "metrics.json").read_text())
        assert report["checkpoint"] == checkpoint and len(report["groups"]) >= 2
    # Our model judged by both verbs: the same crops, the same error (a share vs % of IOD).
    assert report["nme"] == pytest.approx(metrics["nme_2d"] * 100, rel=0.02)

    # The export's model card gathers the evaluations of its checkpoint, the fairness groups among them.
    carded = tmp_path / "export-card"
    assert main(["export", f"checkpoint={train}", f"evaluations={tmp_path}", f"run_dir={carded}"]) == 0
    card = (carded / "model_card.md").read_text()
    sections = ["## Model details", "## Intended uses", "## Training data", "## Evaluation", "## Latency"]
    assert [card.index(s) for s in sections] == sorted(card.index(s) for s in sections)
    assert f"`{evaluate}`" in card and f"NME 2D {100 * metrics['nme_2d']:.2f}% of the IOD" in card
    assert card.count("#### Fairness by group") == 1 and f"`{export}`" not in card  # evaluate runs only
    assert "| `face_mesh_fp32.tflite` |" in card and "trained from scratch" in card


@pytest.mark.slow
def test_fine_tuning_the_published_weights_keeps_their_accuracy_on_package_faces(package_faces, tmp_path):
    """init=mediapipe:face_landmark starts where the published file is (same crops, same layout, z
    from the mesh mean), so a short fine-tune stays within 1% IOD of it on real faces."""
    scores = {}
    for name, checkpoint in (("published", "mediapipe:face_landmark"), ("tuned", str(tmp_path / "train"))):
        if name == "tuned":
            assert (
                main(
                    [
                        "train",
                        "recipe=face_mesh",
                        f"dataset={package_faces}",
                        "init=mediapipe:face_landmark",
                        "trainer.epochs=1",
                        "trainer.steps_per_epoch=6",
                        "trainer.batch_size=4",
                        "trainer.learning_rate=1e-5",
                        "trainer.warmup_epochs=0",
                        f"run_dir={checkpoint}",
                    ]
                )
                == 0
            )
        assert (
            main(
                [
                    "evaluate",
                    f"checkpoint={checkpoint}",
                    f"dataset={package_faces}",
                    "split=train",
                    f"run_dir={tmp_path / name}",
                ]
            )
            == 0
        )
        scores[name] = json.loads((tmp_path / name / "metrics.json").read_text())["nme_2d"] * 100
    assert scores["published"] < 3 and abs(scores["tuned"] - scores["published"]) < 1.0, scores
