"""The detector recipes (palm, face, person): targets that decode back to the labels, losses that behave,
smoke runs, and our exports decoding through the runtime like MediaPipe's files."""

from dataclasses import replace

import numpy as np
import pytest

from blazeforge import recipes
from blazeforge.config import compose
from blazeforge.datasets import build
from blazeforge.geometry.anchors import PALM_DETECTION, generate_anchors
from blazeforge.geometry.detections import decode
from blazeforge.geometry.roi import image_to_crop, letterbox_roi
from blazeforge.recipes.detection import kinds
from blazeforge.recipes.detection import model as losses
from blazeforge.recipes.detection.data import Examples
from blazeforge.topology.hand import palm_label
from tests.fixtures import fake_renders, hand_points, pasted_faces

CFG = ["recipe=palm_detection", "experiment=smoke", "trainer.batch_size=4", "recipe.width=lite"]
BOX = np.zeros((1, 4), np.float32)  # palms take their box from the landmarks


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("palm")
    build(
        compose("datasets", [f"renders={fake_renders(root / 'r', shards=2, per_shard=8, occluded_every=4)}"]),
        root / "d",
    )
    return root / "d"


def test_eval_targets_decode_to_the_palm_label():
    cfg = compose("train", CFG)
    rng = np.random.default_rng(3)
    kp = hand_points(rng, 160)[None]
    image = np.zeros((120, 160, 3), np.uint8)  # letterboxed: bands above and below
    crop, raw, weights, labels = Examples(cfg, training=False)(image, kp, np.ones((1, 21, 3), bool), BOX, b"", 0)
    positive = weights[:, :1]
    assert crop.shape == (192, 192, 3) and positive.sum() >= 1 and set(np.unique(labels)) <= {-1, 0, 1}
    assert (weights[positive[:, 0] > 0] == 1).all() and (weights[positive[:, 0] == 0] == 0).all()
    decoded = decode(
        raw, np.where(positive > 0, 10.0, -10.0), generate_anchors(PALM_DETECTION.anchors), PALM_DETECTION.decode
    )[positive[:, 0] > 0]
    box, points = palm_label(image_to_crop(kp[0, :, :2], letterbox_roi(160, 120), 192) / 192)
    np.testing.assert_allclose(decoded[:, 1:5], np.repeat(box[None], len(decoded), 0), atol=1e-5)
    np.testing.assert_allclose(decoded[:, 5:], np.repeat(points.reshape(1, -1), len(decoded), 0), atol=1e-5)


def test_training_views_move_the_labels_with_the_pixels():
    cfg = compose("train", CFG + ["recipe.augment.color=0", "recipe.augment.blur=0", "recipe.augment.noise=0"])
    rng = np.random.default_rng(5)
    kp = hand_points(rng, 128)[None]
    image = np.zeros((128, 128, 3), np.uint8)
    image[int(kp[0, 0, 1]), int(kp[0, 0, 0])] = 255  # a lit pixel on the wrist
    make = Examples(cfg, training=True)
    hits = 0
    for index in range(8):
        crop, raw, weights, _ = make(image, kp, np.ones((1, 21, 3), bool), BOX, b"", index)
        positive = weights[:, :1]
        if positive.sum() == 0 or crop.max() == 0:
            continue
        decoded = decode(
            raw, np.where(positive > 0, 10.0, -10.0), generate_anchors(PALM_DETECTION.anchors), PALM_DETECTION.decode
        )[positive[:, 0] > 0]
        wrist = decoded[0, 5:7] * 192
        peak = np.unravel_index(crop[..., 0].argmax(), crop.shape[:2])[::-1]
        assert np.linalg.norm(wrist - peak) < 3.0  # within the bilinear spread of one source pixel
        hits += 1
    assert hits >= 3


def test_a_palm_hidden_behind_an_occluder_is_an_ignore_region():
    import cv2

    rng = np.random.default_rng(4)
    kp = hand_points(rng, 160)[None]
    image = np.zeros((160, 160, 3), np.uint8)
    seen = np.zeros((160, 160), np.uint8)
    cv2.fillConvexPoly(seen, cv2.convexHull(np.round(kp[0, :, :2]).astype(np.int32)), 1)
    covered = seen.copy()
    x0, y0 = kp[0, [0, 5, 17], :2].min(0).astype(int)  # a card over the wrist and the knuckles' side
    x1, y1 = kp[0, [0, 5, 17], :2].max(0).astype(int)
    covered[y0 : y1 + 1, x0 : x1 + 1] = 0
    kind = kinds.detector("PALM_DETECTION")
    share = lambda m: float(kinds.hidden(kind, kp, np.ones((1, 21, 3), bool), m, 0.9))  # noqa: E731
    assert not share(seen) and share(covered) and not kinds.hidden(kind, kp, np.ones((1, 21, 3)), None, 0.5)[0]
    png = lambda m: cv2.imencode(".png", m)[1].tobytes()  # noqa: E731
    labels = {}
    for name, mask, visible in (
        ("seen", seen, 0.5),
        ("hidden", np.zeros_like(seen), 0.5),
        ("counted anyway", np.zeros_like(seen), 0.0),
    ):
        cfg = compose("train", CFG + [f"data.min_visible={visible}"])
        labels[name] = Examples(cfg, training=False)(image, kp, np.ones((1, 21, 3), bool), BOX, png(mask), 0)[3]
    assert (labels["seen"] == 1).any() and (labels["counted anyway"] == 1).any()
    assert not (labels["hidden"] == 1).any()  # no anchor learns to find it ...
    assert (labels["hidden"] == -1).sum() >= (labels["seen"] == 1).sum()  # ... and none learns it is background


@pytest.mark.parametrize("recipe", ["palm_detection", "face_detection_full", "pose_detection"])
def test_fresh_detectors_start_at_the_prior_with_zero_offsets(recipe):
    cfg = compose("train", [f"recipe={recipe}"] + (["recipe.width=lite"] if recipe == "palm_detection" else []))
    model = recipes.get(recipe).build_model(cfg.recipe)
    size = int(cfg.recipe.input_size)
    x = np.random.default_rng(0).uniform(-1, 1, (2, size, size, 3)).astype(np.float32)
    regressors, classificators = (np.asarray(o) for o in model(x, training=False))
    p = 1 / (1 + np.exp(-classificators))
    assert np.abs(p - cfg.recipe.loss.prior).max() < 0.005  # RetinaNet's head initialization
    assert np.abs(regressors).max() < 0.2 * size  # offsets near zero, not the noise of a random head


def test_focal_loss_discounts_easy_negatives_and_ce_mines_the_hard_ones():
    labels = np.zeros((1, 100, 1), np.float32)
    labels[0, 0] = 1
    labels[0, 1] = -1  # ignored: no loss whatever the logit
    easy = np.full((1, 100, 1), -6.0, np.float32)
    easy[0, 0] = 6.0
    hard = easy.copy()
    hard[0, 50] = 4.0  # one confident false positive
    focal = lambda x: float(losses.focal_loss(labels, x))  # noqa: E731
    ce = lambda x: float(losses.mined_ce_loss(labels, x, 3.0))  # noqa: E731
    assert focal(easy) < 1e-4 < focal(hard)
    assert ce(hard) > 4.0 > ce(easy)  # the false positive is among the 3 mined negatives
    ignored = easy.copy()
    ignored[0, 1] = 8.0
    assert focal(ignored) == pytest.approx(focal(easy)) and ce(ignored) == pytest.approx(ce(easy))


@pytest.fixture(scope="module")
def trained(dataset, tmp_path_factory):
    from blazeforge.engine import run_stage

    cfg = compose("train", CFG + [f"dataset={dataset}", "trainer.epochs=2", "trainer.steps_per_epoch=3"])
    return run_stage("train", cfg, tmp_path_factory.mktemp("palm_train"))  # as the CLI runs it: config.yaml too


def test_palm_detector_trains_on_renders_and_keeps_mediapipe_layout(trained):
    from blazeforge.models import load_model

    run_dir, metrics = trained
    assert np.isfinite(metrics["train_loss"]) and np.isfinite(metrics["val_loss"])
    regressors, classificators = load_model(run_dir).predict(np.zeros((1, 192, 192, 3), np.float32), verbose=0)
    assert regressors.shape == (1, 2016, 18) and classificators.shape == (1, 2016, 1)


def test_evaluation_ap_is_pycocotools_on_the_written_files(trained, tmp_path):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    from tests.fixtures import evaluate

    run_dir, _ = trained
    metrics = evaluate(compose("evaluate", [f"checkpoint={run_dir}", "split=train", "min_score=0.001"]), tmp_path)
    gt = COCO(str(tmp_path / "gt.json"))
    assert len(gt.getAnnIds()) == metrics["instances"] + metrics["hidden"] and metrics["instances"] > 0
    crowd = [a for a in gt.loadAnns(gt.getAnnIds()) if a["iscrowd"]]
    assert len(crowd) == metrics["hidden"] >= 1  # the palms behind a card (1 frame in 4)
    check = COCOeval(gt, gt.loadRes(str(tmp_path / "predictions.json")), "bbox")
    check.evaluate()
    check.accumulate()
    check.summarize()
    assert metrics["AP"] == pytest.approx(check.stats[0]) and metrics["AP50"] == pytest.approx(check.stats[1])
    assert set(metrics["nms"]) == {"weighted", "plain"}
    assert metrics["weighted_minus_plain_AP"] == pytest.approx(
        metrics["nms"]["weighted"]["AP"] - metrics["nms"]["plain"]["AP"]
    )
    assert (tmp_path / "predictions_plain.json").is_file()


def test_the_score_threshold_is_where_f1_peaks():
    from blazeforge.recipes.detection.evaluate import score_threshold

    box = lambda x: [x, 0.0, 10.0, 10.0]  # noqa: E731  (x, y, w, h)
    gt = {
        "annotations": [
            {"image_id": 0, "bbox": box(0), "iscrowd": 0},
            {"image_id": 0, "bbox": box(50), "iscrowd": 1},
            {"image_id": 1, "bbox": box(0), "iscrowd": 0},
        ]
    }
    found = lambda image, x, score: {"image_id": image, "bbox": box(x), "score": score}  # noqa: E731
    predictions = [
        found(0, 0, 0.3),  # true
        found(0, 1, 0.28),  # a duplicate of a found instance: false
        found(0, 50, 0.9),  # on the crowd region: neither
        found(1, 100, 0.25),  # nothing there: false
        found(1, 0, 0.1),  # true, but after two false ones
    ]
    best = score_threshold(gt, predictions)
    # At 0.3: P 1, R 0.5, F1 0.67; at 0.1: P 2/4, R 1, F1 0.67 (not better); between, worse.
    assert best == {"min_score": 0.3, "precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3)}
    assert score_threshold(gt, [found(1, 100, 0.5)])["min_score"] is None


def test_the_published_palm_detector_is_evaluated_by_the_same_code(dataset, tmp_path):
    from tests.fixtures import evaluate

    cfg = compose("evaluate", ["checkpoint=mediapipe:palm_detection_lite", f"dataset={dataset}", "split=train"])
    assert recipes.for_checkpoint(cfg.evaluate.checkpoint).name == "palm_detection"
    metrics = evaluate(cfg, tmp_path)
    assert 0.0 <= metrics["AP50"] <= 1.0 and metrics["instances"] > 0


def test_an_exported_palm_detector_decodes_through_the_runtime_like_mediapipes(trained, tmp_path):
    from blazeforge import zoo
    from blazeforge.geometry.anchors import PALM_DETECTION
    from blazeforge.runtime import TfliteModel
    from blazeforge.runtime.detector import SsdDetector
    from tests.fixtures import export

    run_dir, _ = trained
    metrics = export(compose("export", [f"checkpoint={run_dir}", "quantize=none", "experiment=smoke"]), tmp_path)
    fp32 = metrics["exports"]["fp32"]
    assert all(p["max_abs_diff"] < 1e-2 for p in fp32["parity"].values())
    ours = SsdDetector.from_export(fp32["path"])
    chosen = metrics["min_score"]
    assert chosen["split"] in ("val", "train") and ours.spec.decode.min_score == chosen["value"]
    if chosen["f1"] > 0:  # a palm found: the score of the best F1
        assert chosen["rule"] == "best F1 at IoU 0.5" and 0 < chosen["value"] <= 1
    else:
        assert chosen["rule"].startswith("published") and chosen["value"] == PALM_DETECTION.decode.min_score
    # Else the sidecar restores MediaPipe's options exactly.
    assert ours.spec == replace(PALM_DETECTION, decode=replace(PALM_DETECTION.decode, min_score=chosen["value"]))
    published = SsdDetector(TfliteModel(zoo.tflite_path("palm_detection_lite")), PALM_DETECTION)
    image = np.zeros((120, 160, 3), np.uint8)
    for detector in (ours, published):  # one code path: letterbox, decode, NMS, back to the image
        detections = detector(image)
        assert detections.ndim == 2 and detections.shape[1] == 5 + 2 * 7
    outputs = TfliteModel(fp32["path"])(np.zeros((1, 192, 192, 3), np.float32))
    assert outputs["regressors"].shape == (1, 2016, 18) and outputs["classificators"].shape == (1, 2016, 1)


def test_fine_tuning_starts_from_the_published_detector_and_exports_in_its_layout(dataset, tmp_path):
    """init=mediapipe:palm_detection_lite: the published layers and weights (learning rate 0 here,
    so the checkpoint is the published model), evaluated and exported like our own detectors."""
    from blazeforge import zoo
    from blazeforge.engine import run_stage
    from blazeforge.errors import BlazeforgeError
    from blazeforge.runs import train_config
    from blazeforge.runtime import TfliteModel
    from blazeforge.training.trainer import resolve_init
    from tests.fixtures import evaluate, export

    with pytest.raises(BlazeforgeError, match="palm_detection_full', 'palm_detection_lite'"):
        resolve_init(compose("train", CFG + ["init=mediapipe:hand_landmark_full"]), recipes.get("palm_detection"))
    cfg = compose(
        "train",
        CFG
        + [
            f"dataset={dataset}",
            "init=mediapipe:palm_detection_lite",
            "trainer.epochs=1",
            "trainer.steps_per_epoch=2",
            "trainer.learning_rate=0.0",
            "trainer.weight_decay=0.0",
        ],
    )
    run_dir, _ = run_stage("train", cfg, tmp_path / "train")
    assert train_config(run_dir).recipe.architecture == "palm_detection_lite"
    for folder in ("eval", "export"):
        (tmp_path / folder).mkdir()
    metrics = evaluate(compose("evaluate", [f"checkpoint={run_dir}", "split=train"]), tmp_path / "eval")
    assert 0.0 <= metrics["AP50"] <= 1.0 and metrics["instances"] > 0
    exported = export(compose("export", [f"checkpoint={run_dir}", "quantize=none"]), tmp_path / "export")
    ours = TfliteModel(exported["exports"]["fp32"]["path"])
    published = TfliteModel(zoo.tflite_path("palm_detection_lite"))
    x = np.random.default_rng(0).uniform(0, 1, (1, 192, 192, 3)).astype(np.float32)
    graph_order = [d["index"] for d in ours.interpreter.get_output_details()]
    assert graph_order == [ours.outputs[name]["index"] for name in ("regressors", "classificators")]  # MediaPipe's
    for name, tensor in (("regressors", "Identity"), ("classificators", "Identity_1")):
        np.testing.assert_allclose(ours(x)[name], published(x)[tensor], atol=2e-2)


def test_regression_counts_only_labelled_keypoints():
    target = np.zeros((1, 3, 8), np.float32)
    pred = np.zeros((1, 3, 8), np.float32)
    pred[0, 0, 6:] = 50.0  # a wild guess at an unlabelled keypoint of the positive anchor
    weights = np.zeros((1, 3, 8), np.float32)
    weights[0, 0, :6] = 1.0
    assert float(losses.regression_loss(target, pred, weights, 128.0, 0.01)) == 0.0
    weights[0, 0, 6:] = 1.0
    assert float(losses.regression_loss(target, pred, weights, 128.0, 0.01)) > 0.5
    pred[0, 0] = 0.0
    pred[0, 0, :2] = 12.8  # the box's centre off by 10% of the input: box_weight scales only that
    box = lambda w: float(losses.regression_loss(target, pred, weights, 128.0, 0.01, box_weight=w))  # noqa: E731
    assert box(4.0) == pytest.approx(4 * box(1.0)) and box(1.0) > 0


# ---- faces: a fixture of package-photo faces pasted on other photos, labelled by construction --

FACE = ["recipe=face_detection", "experiment=smoke", "trainer.batch_size=4"]


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    root = tmp_path_factory.mktemp("faces")
    coco = pasted_faces(root / "src", count=24)
    build(compose("datasets", ["data=faces", f"coco={coco}"]), root / "d")
    return root / "d"


def test_face_targets_flip_with_the_image():
    from blazeforge.recipes.detection.kinds import DETECTORS, instances

    kind = DETECTORS["FACE_DETECTION_SHORT_RANGE"]
    kp = np.array([[[40, 50], [80, 50], [60, 70], [60, 90], [20, 60], [100, 60]]], np.float64)
    mask = np.ones((1, 6, 3), bool)
    mask[0, 5] = False  # the left ear unlabelled
    box = np.array([[20, 30, 100, 110]], np.float64)
    same = lambda xy: xy / 128  # noqa: E731
    boxes, points, labelled, ignore = instances(kind, kp, mask, box, same, 1 / 128, flip=True)
    np.testing.assert_allclose(boxes[0], [1 - 100 / 128, 30 / 128, 1 - 20 / 128, 110 / 128])
    np.testing.assert_allclose(points[0, 0], [1 - 80 / 128, 50 / 128])  # right eye: the old left eye, mirrored
    assert labelled[0].tolist() == [True, True, True, True, False, True]  # the unlabelled ear moved too
    assert not ignore.any()  # no mask, nothing hidden


def test_face_dataset_reads_coco_faces_and_keeps_empty_images(faces):
    from blazeforge.datasets import summary

    info = summary(faces)
    assert info["topology"] == "face_keypoints" and sum(info["splits"].values()) == 24
    assert info["images_without_instances"] == 4 and info["skipped"] == {
        "degenerate box": 0,
        "box outside the image": 0,
    }


def test_published_face_detector_finds_the_pasted_faces(faces, tmp_path):
    """The fixture's labels are where MediaPipe's own detector puts faces: they are faces, labelled right."""
    from tests.fixtures import evaluate

    metrics = evaluate(
        compose("evaluate", ["checkpoint=mediapipe:face_detection_short_range", f"dataset={faces}", "split=train"]),
        tmp_path,
    )
    assert metrics["detector"] == "FACE_DETECTION_SHORT_RANGE"
    assert metrics["AP50"] > 0.7 and metrics["keypoint_error"] < 0.1


def test_a_palm_dataset_cannot_train_a_face_detector(dataset, tmp_path):
    from blazeforge.errors import BlazeforgeError
    from blazeforge.training.trainer import train

    with pytest.raises(BlazeforgeError, match="holds hand labels; task face_detection needs face_keypoints labels"):
        train(recipes.get("face_detection"), compose("train", FACE + [f"dataset={dataset}"]), tmp_path)


def _upright_person() -> np.ndarray:
    """[33, 2] an upright person in pixels: hips at y 100, shoulders at y 40, head above."""
    xy = np.zeros((33, 2))
    xy[:, 0], xy[:, 1] = 50.0, 70.0
    xy[0] = (50, 15)  # nose
    xy[11], xy[12], xy[23], xy[24] = (60, 40), (40, 40), (58, 100), (42, 100)
    xy[27], xy[28] = (55, 180), (45, 180)  # ankles: below the knees, outside the upper body
    return xy


def test_person_targets_are_the_box_and_the_four_alignment_points():
    kind = kinds.DETECTORS["POSE_DETECTION"]
    assert kind.count == 4 and kind.names[0] == "hip_centre"
    kp, mask = _upright_person()[None], np.ones((1, 33, 3), bool)
    box = np.array([[30, 10, 70, 185]], np.float64)
    same = lambda xy: xy / 200  # noqa: E731
    boxes, points, labelled, _ = kinds.instances(kind, kp, mask, box, same, 1 / 200)
    p = points[0] * 200
    np.testing.assert_allclose(boxes[0] * 200, box[0])
    np.testing.assert_allclose(p[0], [50, 100])  # hip centre
    np.testing.assert_allclose(p[2], [50, 40])  # shoulder centre
    assert abs(p[1, 0] - 50) < 1e-9 and p[1, 1] < 40  # the body circle's point: straight up from the hips
    # up from the shoulders by the farthest point above the knees (a hip: the upper body's circle)
    np.testing.assert_allclose(p[3], [50, 40 - np.hypot(8, 60)])
    assert labelled.all()

    flipped = kinds.instances(kind, kp, mask, box, same, 1 / 200, flip=True)[1][0]
    np.testing.assert_allclose(flipped[:, 0], 1 - points[0, :, 0])  # on the body's axis: x mirrors, no swap
    np.testing.assert_allclose(flipped[:, 1], points[0, :, 1])

    far = kp.copy()
    far[0, 0] = (50, -9000)  # a person half behind the lens: the nose projects far away
    for to_units, scale in ((same, 1 / 200), (lambda xy: xy, 1.0)):  # a training view's units, or pixels
        labelled = kinds.instances(kind, far, mask, box, to_units, scale)[2][0]
        assert labelled.tolist() == [True, False, True, False]  # the two circles' points are not labels then
        assert kinds.instances(kind, kp, mask, box, to_units, scale)[2][0].all()

    mask[0, 23] = False  # without both hips there is no alignment: not a person the detector learns
    assert len(kinds.instances(kind, kp, mask, box, same, 1 / 200)[0]) == 0


def test_a_person_counts_as_seen_by_the_torso_not_the_hull_of_spread_limbs():
    kind = kinds.DETECTORS["POSE_DETECTION"]
    xy = _upright_person()
    xy[15], xy[16] = (150, 40), (-50, 40)  # arms spread wide: the 33 points' hull is mostly background
    segmentation = np.zeros((200, 200), np.uint8)
    segmentation[40:101, 42:61] = 1  # the torso's pixels
    kp, mask = np.concatenate([xy, np.zeros((33, 1))], 1)[None], np.ones((1, 33, 1), bool)
    assert not kinds.hidden(kind, kp, mask, segmentation, 0.5)[0]
    segmentation[:] = 0  # an occluder in front of the torso
    assert kinds.hidden(kind, kp, mask, segmentation, 0.5)[0]


def test_the_pose_detector_fine_tunes_from_the_published_outputs_with_faster_offsets():
    from blazeforge import zoo
    from blazeforge.zoo.importer import load_tflite_weights

    cfg = compose("train", ["recipe=pose_detection", "recipe.architecture=pose_detection"])
    task = recipes.get("pose_detection")
    model = task.build_model(cfg.recipe)  # regressor heads x published_regressor_scale
    assert any(layer.name == "regressor_28_scale" for layer in model.layers)
    load_tflite_weights(model, zoo.tflite_path("pose_detection"), [o.name for o in zoo.get("pose_detection").outputs])
    task.adapt_init(model, cfg.recipe)
    x = np.random.default_rng(0).uniform(-1, 1, (1, 224, 224, 3)).astype(np.float32)
    ours, published = model(x), zoo.keras_model("pose_detection", named_outputs=True)(x)
    for name in ("regressors", "classificators"):
        np.testing.assert_allclose(np.asarray(ours[name]), np.asarray(published[name]), atol=1e-3)
