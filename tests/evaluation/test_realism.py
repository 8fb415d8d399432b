"""`evaluate realism`: MediaPipe's published models on our renders, through our runtime."""

import json

import numpy as np
import pytest

from blazeforge.cli import main
from blazeforge.errors import BlazeforgeError
from blazeforge.evaluation.realism import PIPELINES, compare, read_renders, summarize, summary_rows


def test_errors_are_in_percent_of_the_normalizer_and_offsets_along_the_subjects_axes():
    label = np.zeros((21, 2))
    label[9] = (0, -50)  # the middle MCP straight above the wrist: palm size 50 px, "up" is -y
    pred = label + (5, 0)  # 5 px to the right on screen
    up = label[9] - label[0]
    out = compare(pred, label, 50.0, up)
    assert out["nme"] == pytest.approx(10.0)
    np.testing.assert_allclose(out["offsets"], np.tile([10.0, 0.0], (21, 1)), atol=1e-9)
    out = compare(label + (0, -5), label, 50.0, up)  # 5 px up: along the hand, towards the fingers
    np.testing.assert_allclose(out["offsets"][0], [0.0, 10.0], atol=1e-9)


def test_points_left_out_count_in_no_error():
    label = np.zeros((33, 2))
    pred = label.copy()
    pred[5] = (30, 0)  # far off, but outside the frame: not kept
    keep = np.ones(33, bool)
    keep[5] = False
    out = compare(pred, label, 10.0, np.array([0.0, -1.0]), keep)
    assert out["nme"] == 0.0 and np.isnan(out["errors"][5]) and np.isnan(out["offsets"][5]).all()


def test_body_renders_are_scored_in_torso_sizes():
    label = np.zeros((33, 2))
    label[[11, 12]] = (10, 0), (-10, 0)  # shoulders' centre at the origin
    label[[23, 24]] = (10, 40), (-10, 40)  # hips' centre 40 px below
    assert PIPELINES["bodies"].length(label) == pytest.approx(40.0)
    start, end = PIPELINES["bodies"].axis(label)
    np.testing.assert_allclose(end - start, [0, -40])  # up: from the hips to the shoulders
    hand = np.zeros((21, 2))
    hand[9] = (0, -30)
    assert PIPELINES["hands"].length(hand) == pytest.approx(30.0)  # the topology's normalizer


def test_the_true_size_does_not_collapse_when_the_torso_turns_towards_the_camera():
    camera = np.zeros((33, 3))
    camera[:, 2] = 2.0  # metres in front of the camera
    camera[[11, 12], 1] = -0.5  # shoulders 0.5 m above the hips
    bodies = PIPELINES["bodies"]
    assert bodies.true_length(camera, 256.0) == pytest.approx(64.0)  # 0.5 m x 256 px / 2 m
    bent = camera.copy()
    bent[[11, 12]] = (0.0, -0.05, 1.5)  # bent towards the camera: drawn a few pixels long
    drawn = bent[:, :2] / bent[:, 2:] * 256
    assert bodies.length(drawn) < 10
    assert bodies.true_length(bent, 256.0) == pytest.approx(np.sqrt(0.05**2 + 0.5**2) * 256 / 1.75)
    hand = np.zeros((21, 3))
    hand[:, 2] = 0.5
    hand[9] = (0.0, 0.0, 0.59)  # the palm edge-on, pointing away: 9 cm long in space
    assert PIPELINES["hands"].true_length(hand, 300.0) == pytest.approx(0.09 * 300 / 0.545)


def test_the_summary_groups_skin_tones_in_monk_order():
    records = [{"tone": t, "nme": 5.0, "errors": np.ones(21), "offsets": np.zeros((21, 2))} for t in ("10", "2", 1)]
    records.append({"tone": "2"})  # labels.jsonl's meta holds strings
    out = summarize(records, "hands", "palm size", tuple(str(i) for i in range(21)))
    assert [t["tone"] for t in out["skin_tones"]] == ["Monk 1", "Monk 2", "Monk 10"]
    assert out["found"] == 3 and out["found_share"] == 0.75 and out["skin_tones"][1]["found_share"] == 0.5
    assert [k["name"] for k in out["keypoints"]] == [str(i) for i in range(21)]


@pytest.mark.slow
def test_realism_on_tiny_renders_writes_figures_and_a_report(tmp_path):
    renders = tmp_path / "renders"
    assert main(["render", "n=3", "shards=1", "resolution=192", "samples=8", f"run_dir={renders}", "seed=3"]) == 0
    out = tmp_path / "realism"
    assert main(["evaluate", "realism", f"renders={renders}", f"run_dir={out}"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["scene"] == "hands" and metrics["renders"] == 3 and metrics["unit"] == "% palm size"
    assert metrics["found"] >= 1  # MediaPipe's models find MakeHuman's hands
    # and agree with our labels on part of each: a misprojected or mis-scaled label puts every point
    # off. (Not the mean: on 3 renders one odd gesture, a duck read as another pose, gives 45%.)
    assert min(k["error"] for k in metrics["keypoints"]) < 20
    assert 0 < metrics["nme_true_size"] <= metrics["nme"] * 1.2  # the unit unforeshortened: as long or longer
    assert [k["name"] for k in metrics["keypoints"]][:2] == ["wrist", "thumb_cmc"]
    page = (out / "report.html").read_text()
    assert "Realism" in page and "Monk" in page and "data:image/png;base64" in page
    rows = dict(summary_rows(metrics))
    assert rows["found"].startswith(f"{metrics['found']} of 3 (") and rows["NME"].endswith(")")


def test_realism_needs_a_render_run_directory(tmp_path):
    with pytest.raises(BlazeforgeError, match="shard-"):
        read_renders(tmp_path)


@pytest.mark.slow
def test_realism_scores_body_renders_with_mediapipes_pose_models(tmp_path):
    renders = tmp_path / "renders"
    overrides = ["scene=bodies", "scene.people=[1,1]", "scene.camera.close_fraction=0", "scene.pose_groups.upright=1",
                 "scene.pose_groups.floor=0", "scene.pose_groups.prone=0", "scene.pose_groups.supine=0"]  # fmt: skip
    args = ["render", "n=3", "shards=1", "resolution=256", "samples=8", f"run_dir={renders}", "seed=1"]
    assert main(args + overrides) == 0
    out = tmp_path / "realism"
    assert main(["evaluate", "realism", f"renders={renders}", f"run_dir={out}"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["scene"] == "bodies" and metrics["unit"] == "% torso size" and metrics["renders"] == 3
    assert metrics["found"] >= 1 and metrics["median_nme"] < 30  # MediaPipe's pose models find MakeHuman's people
    assert metrics["models"]["pose_landmarks"] == "pose_landmark_full.tflite"
    assert [k["name"] for k in metrics["keypoints"]][:2] == ["nose", "left_eye_inner"]
