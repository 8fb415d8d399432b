"""The Objectron recipe: its targets decode back to the labelled boxes through the runtime's
decoder and EPnP, and `evaluate` writes predictions that recompute to its figures."""

import json

import numpy as np
import pytest

from blazeforge.datasets import build
from blazeforge.engine import configure, run_stage
from blazeforge.evaluation.cuboids import ap_at_iou
from blazeforge.geometry.cuboid import iou_3d, scale_to_plane
from blazeforge.geometry.cuboid_decoding import boxes_in_image
from blazeforge.geometry.roi import image_to_crop
from blazeforge.recipes.objectron.data import Examples, eval_frames, frame_targets, input_shape
from blazeforge.recipes.objectron.evaluate import standing_box
from tests.fixtures import fake_objects


@pytest.fixture(scope="module")
def objects(tmp_path_factory):
    root = tmp_path_factory.mktemp("objectron")
    build(configure("datasets", ["data=objects", f"renders={fake_objects(root / 'renders', count=10)}"]), root / "data")
    return root / "data"


@pytest.mark.parametrize("size", ["256", "[320,224]"])  # a square, and a portrait input as the published 640 x 480
def test_the_targets_decode_to_the_labelled_boxes_in_3d(objects, size):
    cfg = configure("train", ["recipe=objectron", f"recipe.input_size={size}", f"dataset={objects}"])
    shape = input_shape(cfg.recipe)
    for frame in eval_frames(cfg, objects, "train"):
        assert frame["view"].shape == (*shape, 3)
        points = [image_to_crop(kp[:, :2], frame["roi"], shape[::-1]) for kp in frame["keypoints"]]
        heat, offsets, seg = frame_targets(points, None, shape, 0.1)
        assert heat.shape == (shape[0] // 16, shape[1] // 16, 1) and seg.shape == (shape[0] // 8, shape[1] // 8, 2)
        found = boxes_in_image(heat[..., 0], offsets[..., :16], frame["roi"], shape[::-1], frame["camera"])
        assert len(found) == len(frame["keypoints"])
        for gt in frame["keypoints_camera"]:
            best = max(iou_3d(scale_to_plane(b["box"], *frame["plane"]), gt) for b in found)
            assert best > 0.98


def test_the_input_size_is_a_side_or_height_and_width():
    from blazeforge.errors import BlazeforgeError
    from blazeforge.recipes.objectron.model import build_model

    cfg = configure("train", ["recipe=objectron", "recipe.input_size=[128,96]", "recipe.width=lite"])
    outputs = build_model(None, cfg.recipe).output
    assert tuple(outputs["heatmap"].shape[1:]) == (8, 6, 1) and tuple(outputs["offsets"].shape[1:]) == (8, 6, 16)
    for bad in ("100", "[128]", "[128,abc]"):
        with pytest.raises(BlazeforgeError, match="recipe.input_size"):
            input_shape(configure("train", ["recipe=objectron", f"recipe.input_size={bad}"]).recipe)


def test_a_flipped_view_mirrors_the_points_and_swaps_left_and_right(objects):
    cfg = configure(
        "train", ["recipe=objectron", "recipe.input_size=64", "recipe.augment.flip=1.0", f"dataset={objects}"]
    )
    make = Examples(cfg, training=True)
    frame = next(eval_frames(cfg, objects, "train"))
    image, heat, offsets, seg = make(frame["image"], frame["keypoints"], b"", 0)
    assert image.shape == (64, 64, 3) and heat.shape == (4, 4, 1) and offsets.shape == (4, 4, 32)
    assert seg[..., 1].max() == 0  # no mask given: no segmentation weight
    assert make.mirror == [0, 5, 6, 7, 8, 1, 2, 3, 4]


def test_the_baseline_box_stands_on_the_plane_and_faces_the_camera():
    plane = (np.array([0.0, 0.2, 0.0]), np.array([0.0, -1.0, 0.0]))
    box = standing_box(np.array([0.3, 0.1, 1.5]), plane, np.array([0.2, 0.3, 0.1]))
    heights = (box[1:] - plane[0]) @ plane[1]
    assert np.sort(heights)[:4] == pytest.approx([0] * 4, abs=1e-9) and heights.max() == pytest.approx(0.3)
    front = box[[2, 4, 6, 8]].mean(0) - box[0]  # the +z face's centre
    assert np.dot(front, -box[0]) > 0


@pytest.mark.slow
def test_evaluate_writes_predictions_that_recompute_to_its_ap(objects, tmp_path):
    quick = ["experiment=smoke", "trainer.wandb=disabled", "trainer.steps_per_epoch=2", "trainer.epochs=1"]
    train_dir, _ = run_stage(
        "train", configure("train", ["recipe=objectron", f"dataset={objects}"] + quick), tmp_path / "t"
    )
    cfg = configure(
        "evaluate", [f"checkpoint={train_dir}", "evaluate.split=train", "evaluate.min_score=0.0"] + quick[:2]
    )
    run_dir, metrics = run_stage("evaluate", cfg, tmp_path / "e")
    frames = [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text().splitlines()]
    assert len(frames) == metrics["frames"] > 0 and sum(len(f["gt"]) for f in frames) == metrics["boxes"]
    again = [
        {"pred": [np.array(p) for p in f["pred"]], "scores": f["scores"], "gt": [np.array(g) for g in f["gt"]]}
        for f in frames
    ]
    assert ap_at_iou(again, 0.25) == pytest.approx(metrics["ap25_3d_iou"], abs=1e-6)
    assert metrics["plane_rule"].startswith("upright") and "baseline_ap50_3d_iou" in metrics
    scaled = [  # the other rule, from the written EPnP boxes and planes
        {
            "pred": [scale_to_plane(np.array(p), f["plane"]["point"], f["plane"]["normal"]) for p in f["pred_epnp"]],
            "scores": f["scores"],
            "gt": [np.array(g) for g in f["gt"]],
        }
        for f in frames
    ]
    assert ap_at_iou(scaled, 0.5) == pytest.approx(metrics["scaled_ap50_3d_iou"], abs=1e-6)
    report = (run_dir / "report.html").read_text()
    drawn = sorted((run_dir / "worst").glob("*.png"))
    assert len(drawn) == min(8, sum(bool(f["gt"]) for f in frames)) and all(p.name in report for p in drawn)
