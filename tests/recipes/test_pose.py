import math

import numpy as np
import pytest

from blazeforge.config import compose
from blazeforge.errors import BlazeforgeError
from blazeforge.geometry.heatmaps import refine_from_heatmap
from blazeforge.geometry.roi import image_to_crop
from blazeforge.recipes.pose import targets as T
from blazeforge.recipes.pose.evaluate import heatmap_points
from blazeforge.topology import get as get_topology
from blazeforge.topology.pose import LEFT_HIP, LEFT_SHOULDER, NAMES, RIGHT_HIP, RIGHT_SHOULDER, virtual_keypoints
from blazeforge.training.trainer import phases
from tests.fixtures import body_points

SIZE = 128


def _person(seed=0, turn_deg=30.0):
    kp = body_points(np.random.default_rng(seed), 256)
    centre = kp[:, :2].mean(0)
    a = math.radians(turn_deg)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    kp[:, :2] = (kp[:, :2] - centre) @ rot.T + centre
    return kp, np.ones((33, 3), bool), virtual_keypoints(kp[:, :2], kp[:, :2])


def test_the_crop_centres_the_hips_and_turns_the_torso_upright():
    kp, mask, aux = _person(turn_deg=35)
    roi = T.person_roi(kp, mask, aux)
    crop = image_to_crop(kp, roi, SIZE)
    hips = crop[[LEFT_HIP, RIGHT_HIP], :2].mean(0)
    shoulders = crop[[LEFT_SHOULDER, RIGHT_SHOULDER], :2].mean(0)
    np.testing.assert_allclose(hips, [SIZE / 2, SIZE / 2], atol=1e-6)
    assert abs(shoulders[0] - hips[0]) < 1e-6 and shoulders[1] < hips[1]  # straight up
    # the body circle (radius hips -> virtual point) is 1 / 1.25 of half the side
    assert roi.width == pytest.approx(2 * 1.25 * np.linalg.norm(aux[1] - aux[0]))
    # without the sample's virtual keypoints (a real photo), the labelled points give them
    derived = T.person_virtual_keypoints(kp, mask, None)
    np.testing.assert_allclose(derived[0], aux[0])
    assert np.linalg.norm(derived[1] - derived[0]) == pytest.approx(1.1 * np.linalg.norm(aux[1] - aux[0]))
    no_torso = mask.copy()
    no_torso[LEFT_HIP] = False
    assert T.person_virtual_keypoints(kp, no_torso, None) is None


def test_targets_label_what_is_known_and_heatmaps_give_the_points_back():
    kp, mask, aux = _person()
    visibility = np.ones(33, np.float32)
    visibility[5] = 0.0
    roi = T.person_roi(kp, mask, aux)
    values, labels = T.landmark_targets(kp, mask, visibility, aux, roi, SIZE)
    assert values.shape == labels.shape == (39, 5)
    assert labels[:33].all() and not labels[33:35, 2:].any() and labels[33:35, :2].all() and not labels[35:].any()
    assert values[5, 3] == 0 and values[0, 3] == 1 and (values[:33, 4] == 1).all()
    np.testing.assert_allclose(values[33, :2], [SIZE / 2, SIZE / 2], atol=1e-6)  # the hip centre

    heat, channel, offsets, weight = T.heatmap_targets(values, labels, SIZE, sigma=1.5)
    assert heat.shape == (32, 32, 39) and channel.tolist() == [1.0] * 35 + [0.0] * 4 and not heat[..., 35:].any()
    logits = np.log(np.clip(heat, 1e-6, 1 - 1e-6) / (1 - np.clip(heat, 1e-6, 1 - 1e-6)))
    inside = ((values[:35, :2] >= 0) & (values[:35, :2] < SIZE - 4)).all(1)
    # peak + offsets: exact; the runtime's refinement (weighted mean of the window): within a pixel
    np.testing.assert_allclose(heatmap_points(logits, offsets)[:35][inside], values[:35, :2][inside], atol=1e-4)
    refined = refine_from_heatmap(values[:35, :2] / SIZE + 0.01, logits[..., :35], min_confidence=0.1) * SIZE
    assert np.abs(refined[inside] - values[:35, :2][inside]).max() < 1.0
    assert (weight.sum((0, 1))[:35][inside] > 0).all()


def test_a_flip_mirrors_x_and_swaps_the_sides():
    kp, mask, aux = _person()
    roi = T.person_roi(kp, mask, aux)
    values, labels = T.landmark_targets(kp, mask, np.ones(33), aux, roi, SIZE)
    crop = np.zeros((SIZE, SIZE, 3), np.uint8)
    crop[:, :10] = 255
    seg = np.zeros((SIZE, SIZE), np.float32)
    seg[:, :5] = 1
    flipped, fv, fl, (fseg,) = T.flip(crop, values, labels, [seg], get_topology("pose").flip_permutation())
    assert flipped[:, -10:].all() and fseg[:, -5:].all() and not fseg[:, :5].any()
    left, right = NAMES.index("left_wrist"), NAMES.index("right_wrist")
    np.testing.assert_allclose(fv[left, 0], SIZE - values[right, 0])
    np.testing.assert_allclose(fv[left, 1:], values[right, 1:])
    np.testing.assert_allclose(fv[33, 0], SIZE - values[33, 0])  # the virtual points stay


def test_world_targets_are_metres_from_the_hips_turned_with_the_crop_and_mirrored_by_a_flip():
    kp, mask, aux = _person(turn_deg=35)
    camera = np.c_[(kp[:, :2] - 128) * 3.0 / 256, np.full(33, 3.0)]  # a pinhole 3 m away, f = 256 px
    camera[7] = np.nan  # an unknown point stays out of the loss
    roi = T.person_roi(kp, mask, aux)
    world, known = T.world_targets(camera, roi)
    assert world.shape == known.shape == (39, 3) and known[:33].sum() == 32 * 3 and not known[7].any()
    np.testing.assert_allclose(world[[LEFT_HIP, RIGHT_HIP]].mean(0), 0.0, atol=1e-6)
    shoulders = world[[LEFT_SHOULDER, RIGHT_SHOULDER]].mean(0)
    assert abs(shoulders[0]) < 1e-6 and shoulders[1] < -0.1  # upright in the crop, tens of cm up
    span = np.linalg.norm(camera[LEFT_SHOULDER] - camera[LEFT_HIP])
    assert np.linalg.norm(world[LEFT_SHOULDER] - world[LEFT_HIP]) == pytest.approx(span)  # turned, not scaled
    values, labels = T.landmark_targets(kp, mask, np.ones(33), aux, roi, SIZE)
    crop = np.zeros((SIZE, SIZE, 3), np.uint8)
    *_, (fw, fk) = T.flip(crop, values, labels, [], get_topology("pose").flip_permutation(), (world, known))
    left, right = NAMES.index("left_wrist"), NAMES.index("right_wrist")
    np.testing.assert_allclose(fw[left], world[right] * [-1, 1, 1])
    assert not fk[NAMES.index("right_ear")].any()  # point 7 (left ear) moved to the right's place
    assert not T.world_targets(None, roi)[1].any()


def test_occluders_hide_the_points_under_them():
    kp, mask, aux = _person()
    roi = T.person_roi(kp, mask, aux)
    values, _ = T.landmark_targets(kp, mask, np.ones(33), aux, roi, SIZE)
    crop = np.zeros((SIZE, SIZE, 3), np.uint8)
    T.occlude(crop, values, np.random.default_rng(4), 3)
    painted = crop.any(-1)
    for x, y, _, v, _ in values[:33]:
        if 0 <= x < SIZE and 0 <= y < SIZE and painted[int(y), int(x)]:
            assert v == 0
    assert painted.any() and values[:33, 3].sum() < 33


def test_phases_split_the_epochs_and_name_bad_configs():
    cfg = compose("train", ["recipe=pose_landmarks", "trainer.epochs=5"])
    plan = phases(cfg)
    assert [(p.name, p.start, p.end) for p in plan] == [("heatmap", 0, 2), ("regression", 2, 5)]
    assert plan[0].loss == {"landmarks": 0.0, "world_landmarks": 0.0} and cfg.recipe.stop_gradient is True
    joint = compose("train", ["recipe=pose_landmarks", "recipe.schedule=joint"])
    assert [p.name for p in phases(joint)] == ["joint"] and joint.recipe.stop_gradient is False
    assert [(p.start, p.end) for p in phases(compose("train", ["trainer.epochs=3"]))] == [(0, 3)]  # no phases
    with pytest.raises(BlazeforgeError, match="trainer.epochs"):
        phases(compose("train", ["recipe=pose_landmarks", "trainer.epochs=1"]))
    with pytest.raises(BlazeforgeError, match=r"recipe.phases\[0\].loss"):
        phases(compose("train", ["recipe=pose_landmarks", "recipe.phases=[{name: a, share: 1, loss: {heat: 0}}]"]))


def test_fine_tuning_the_published_model_trains_x_y_and_the_flag_only():
    """init=mediapipe:pose_landmark_full picks the fine_tune schedule (an explicit one stays), and the
    published architecture's landmark loss counts no z and no visibility (README: they pulled its
    regression off)."""
    from blazeforge import recipes
    from blazeforge.recipes.pose.model import losses
    from blazeforge.training.trainer import resolve_init

    task = recipes.get("pose_landmarks")
    cfg = compose("train", ["recipe=pose_landmarks", "init=mediapipe:pose_landmark_full", "trainer.epochs=2"])
    assert resolve_init(cfg, task) and cfg.recipe.schedule == "fine_tune"
    (plan,) = phases(cfg)
    assert plan.loss == {"heatmap": 0.0, "segmentation": 0.0, "world_landmarks": 0.0}  # the pose flag trains
    kept = compose("train", ["recipe=pose_landmarks", "init=mediapipe:pose_landmark_full", "recipe.schedule=joint"])
    assert resolve_init(kept, task) and kept.recipe.schedule == "joint"
    truth = np.zeros((1, T.LANDMARKS, T.VALUES), np.float32)
    truth[..., 3:] = 1.0  # visible and present
    y_true = np.concatenate([truth.reshape(1, -1), np.ones((1, T.LANDMARKS * T.VALUES), np.float32)], 1)
    off = truth.copy()
    off[..., 2], off[..., 3:] = 30.0, -5.0  # z off, visibility and presence logits wrong
    published = float(losses(task, cfg.recipe)[0]["landmarks"](y_true, off.reshape(1, -1)))
    ours = float(
        losses(task, compose("train", ["recipe=pose_landmarks"]).recipe)[0]["landmarks"](y_true, off.reshape(1, -1))
    )
    assert published == pytest.approx(0.0, abs=1e-6) and ours > 0.01


@pytest.mark.parametrize("stop", [True, False])
@pytest.mark.parametrize("skips", [False, True])
def test_the_stop_gradient_keeps_the_regression_loss_off_the_encoder_and_decoder(stop, skips):
    import tensorflow as tf

    from blazeforge.models.blazepose import pose_landmark_model

    model = pose_landmark_model(
        64, stop_gradient=stop, width=0.5, offsets=True, crop_units=True, regression_skips=skips
    )
    x = tf.random.uniform((2, 64, 64, 3))
    stem = next(layer for layer in model.layers if layer.trainable_weights).trainable_weights[0]  # the stem
    decoder = model.get_layer("decoder8_project").trainable_weights[0]
    head = model.get_layer("landmarks_conv").trainable_weights[0]
    head.assign(tf.random.normal(head.shape))  # it starts at zero, which passes no gradient back
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(x)[0] ** 2)
    g_stem, g_decoder, g_head = tape.gradient(loss, [stem, decoder, head])
    assert (g_stem is None or not np.asarray(g_stem).any()) == stop
    # only the skips read the decoder: without them the regression loss cannot reach it either way
    assert (g_decoder is not None and np.asarray(g_decoder).any()) == (skips and not stop)
    assert np.asarray(g_head).any()
    assert any(layer.name.startswith("regression_skip8") for layer in model.layers) == skips


def test_from_scratch_encoders_normalize_and_the_published_ones_load_as_they_are():
    import keras

    from blazeforge import recipes
    from blazeforge.models.mobilenet import InvertedResidual

    def norms(model):
        blocks = [layer for layer in model.layers if isinstance(layer, InvertedResidual)]
        plain = sum(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers)
        return plain + sum(len(b.norms) for b in blocks), any(b.project.use_bias for b in blocks)

    ours = recipes.get("pose_landmarks").build_model(compose("train", ["recipe=pose_landmarks"]).recipe)
    assert norms(ours) == (1 + 2 + 3 * 14, False)  # the stem's, block0's (no expansion), the 14 others'
    published = compose("train", ["recipe=pose_landmarks", "recipe.architecture=pose_landmark_full"]).recipe
    assert norms(recipes.get("pose_landmarks").build_model(published)) == (0, True)
    block = InvertedResidual(24, 16, norm=True)
    x = np.random.default_rng(0).normal(size=(4, 8, 8, 16)).astype(np.float32)
    again = InvertedResidual.from_config(block.get_config())
    again(x)
    assert again.norm and np.asarray(block(x, training=True)).std() > 0


@pytest.mark.slow
def test_a_two_phase_training_resumes_in_its_phase_and_evaluates_in_coco_files(tmp_path):
    import json

    import keras
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    from blazeforge.datasets import build, load
    from blazeforge.engine import configure, run_stage
    from tests.fixtures import fake_bodies

    data = tmp_path / "data"
    build(configure("datasets", ["data=bodies", f"renders={fake_bodies(tmp_path / 'bodies', count=10)}"]), data)
    record = next(iter(load(data, "train")))
    assert record["auxiliary"].shape == (1, 2, 2) and np.isfinite(record["auxiliary"].numpy()).all()

    class Kill(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:  # the heatmap phase's last epoch, once its files are written
                raise KeyboardInterrupt

    train = ["recipe=pose_landmarks", f"dataset={data}", "experiment=smoke", "trainer.wandb=disabled"]
    train += ["trainer.epochs=3", "trainer.steps_per_epoch=1", "trainer.batch_size=2"]
    from blazeforge.training.trainer import train as fit

    with pytest.raises(KeyboardInterrupt):
        fit(__import__("blazeforge.recipes", fromlist=["get"]).get("pose_landmarks"), configure("train", train),
            tmp_path / "train", callbacks=[Kill()])  # fmt: skip
    run, metrics = run_stage("train", configure("train", train + [f"run_dir={tmp_path / 'train'}"]), tmp_path / "train")
    assert metrics["epochs_this_run"] == 1 and [p["name"] for p in metrics["phases"]] == ["heatmap", "regression"]
    assert (run / "backup" / "heatmap").is_dir() and (run / "backup" / "regression").is_dir()
    rows = (run / "history.csv").read_text().splitlines()
    assert len(rows) == 4 and rows[-1].startswith("2,")

    out, figures = run_stage("evaluate", configure("evaluate", [f"checkpoint={run}"]), tmp_path / "eval")
    assert set(figures["readouts"]) == {"refined", "regression", "heatmap"} and figures["count"] == 1
    assert 0 <= figures["pck_0.2_coco"] <= 1 and np.isfinite(figures["baseline_nme"])
    photos = figures["photos"]  # two upper bodies, 27 points the published model calls visible
    assert photos["persons"] == 2 and photos["points"] == 27 and photos["pck_0.2"] < 0.5  # untrained
    truth = COCO(str(out / "ground_truth.json"))
    results = json.loads((out / "predictions.json").read_text())
    assert len(results[0]["keypoints"]) == 51 and len(results[0]["keypoints_33"]) == 33
    scored = COCOeval(truth, truth.loadRes(str(out / "predictions.json")), "keypoints")
    scored.evaluate()
    scored.accumulate()
    assert len(scored.evalImgs) > 0 and (out / "report.html").read_text().count("<figure>") == 1


def test_the_photo_check_scores_the_published_model_against_itself_at_one():
    from blazeforge.evaluation.predictors import load_predictor
    from blazeforge.recipes.pose.evaluate import photo_check

    published = load_predictor("mediapipe:pose_landmark_full")
    published.name = "a copy"  # run, not short-cut
    check = photo_check(published)
    assert check["pck_0.2"] == 1.0 and check["persons"] == 2 and check["points"] == 27


def test_coco_person_keypoints_import_as_17_of_the_33(tmp_path):
    import json

    import cv2

    from blazeforge.datasets import build, load
    from blazeforge.engine import configure
    from blazeforge.recipes.pose.data import TrainExamples
    from blazeforge.topology.pose import COCO_17

    kp = body_points(np.random.default_rng(1), 160)
    cv2.imwrite(str(tmp_path / "a.jpg"), np.full((160, 160, 3), 90, np.uint8))
    coco17 = [[*kp[i, :2], 2 if n != 3 else 0] for n, i in enumerate(COCO_17)]  # left ear unlabelled
    ann = {"id": 1, "image_id": 1, "category_id": 1, "keypoints": [float(v) for p in coco17 for v in p]}
    images = [{"id": 1, "file_name": "a.jpg", "width": 160, "height": 160}]
    (tmp_path / "people.json").write_text(json.dumps({"images": images, "annotations": [ann]}))
    data = tmp_path / "data"
    build(configure("datasets", ["data=bodies", f"coco={tmp_path / 'people.json'}", "data.split.val=0",
                                 "data.split.test=0"]), data)  # fmt: skip
    record = next(iter(load(data, "train")))
    mask = record["keypoint_mask"].numpy()[0]
    labelled = [i for i in COCO_17 if i != COCO_17[3]]
    assert mask[labelled, :2].all() and not np.delete(mask, labelled, 0).any() and not mask[:, 2].any()
    np.testing.assert_allclose(record["keypoints"].numpy()[0, labelled, :2], kp[labelled, :2], atol=1e-3)
    assert np.isnan(record["auxiliary"].numpy()).all()  # a photo: the crop comes from the labelled points

    still = ["recipe.negatives=0", "recipe.augment.roi_shift=0", "recipe.augment.roi_scale=0"]
    still += ["recipe.augment.roi_rotation_deg=0", "recipe.augment.flip=0", "experiment=smoke"]
    cfg = configure("train", ["recipe=pose_landmarks", "data=bodies", f"dataset={data}"] + still)
    image = np.full((160, 160, 3), 90, np.uint8)
    fields = ("keypoints", "keypoint_mask", "visibility", "auxiliary", "keypoints_camera", "mask")
    assert np.isnan(record["keypoints_camera"].numpy()).all()  # no world points on a photo
    crop, landmarks, heatmap, *_, world = TrainExamples(cfg)(image, *[record[k].numpy() for k in fields], 0)
    values, labels = landmarks[:195].reshape(39, 5), landmarks[195:].reshape(39, 5)
    hips = values[[LEFT_HIP, RIGHT_HIP], :2].mean(0)
    np.testing.assert_allclose(hips, [32, 32], atol=1e-3)  # 64 px crop: the hips in the middle
    assert labels[labelled, 0].all() and not labels[:33, 2].any() and heatmap.shape == (16, 16, 78)
    assert world.shape == (234,) and not world[117:].any()  # world landmarks masked


def test_the_schedule_ablation_names_what_it_needs(tmp_path):
    from blazeforge.engine import configure, run_stage

    with pytest.raises(BlazeforgeError, match="bench.dataset"):
        run_stage("bench", configure("bench", ["ablation=blazepose", "recipe=pose_landmarks"]), tmp_path / "a")
    with pytest.raises(BlazeforgeError, match="recipe"):
        run_stage("bench", configure("bench", ["ablation=blazepose", f"dataset={tmp_path}"]), tmp_path / "b")
    with pytest.raises(BlazeforgeError, match="blazepalm | blazepose"):
        run_stage("bench", configure("bench", ["ablation=blazefoo"]), tmp_path / "c")
    from blazeforge import recipes

    row = {"nme": 0.605, "nme_regression": 0.615, "nme_heatmap": 0.583, "pck_0.2_coco": 0.303}
    rows = recipes.get("pose_landmarks").summary(
        {"ablation": {"joint": row}, "budget": {"steps": 1000, "batch_size": 32}, "stop_gradient_wins": False}
    )
    assert rows[0] == ("joint", "NME 60.5% of torso size (regression 61.5%, heatmap 58.3%), PCK@0.2 COCO 0.30")
    assert rows[-1] == ("stop-gradient schedule wins", "no") and "1000 steps x 32" in rows[1][1]


def test_a_dataset_built_before_world_landmarks_is_a_one_line_error(monkeypatch):
    import tensorflow as tf

    from blazeforge.recipes.pose import data

    old = tf.data.Dataset.from_tensors({"keypoints": tf.zeros((1, 33, 3))})  # schema 1.4.0: no keypoints_camera
    monkeypatch.setattr(data, "load", lambda dataset_dir, split: old)
    cfg = compose("train", ["recipe=pose_landmarks", "experiment=smoke"])
    with pytest.raises(BlazeforgeError, match="dataset=/old.*rebuild it with datasets build"):
        next(data.eval_examples(cfg, "/old", "val"))
