"""The shipped pipelines on clips of a subject moving smoothly, leaving and coming back.

The clips (tests.fixtures.moving_clip) move a hand render or a package photo's face over another
photo; the truth is MediaPipe's own landmarks on the still subject, moved with it.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from blazeforge.cli import main
from blazeforge.errors import BlazeforgeError
from blazeforge.runtime.pipeline import load, run_pipeline
from tests.fixtures import moving_clip

FRAMES, ABSENT = 120, (60, 66)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("clips")
    clips = {subject: moving_clip(root / f"{subject}.mp4", subject, FRAMES, ABSENT) for subject in ("hand", "face")}
    # The published pose model keeps a presence score above 0.9 on this clip's empty background, so
    # the body never leaves its clip.
    clips["body"] = moving_clip(root / "body.mp4", "body", 60, (60, 60))
    return clips


def _frames(run_dir):
    return [json.loads(line) for line in (run_dir / "frames.jsonl").read_text().splitlines()]


def _check_tracking(frames, truth=None, normalizer=None):
    """Found on every frame the subject is in (but at most the first frame after it returns),
    never while it is gone; mean landmark error in units of the normalizer's length (with truth)."""
    counts = [len(f["instances"]) for f in frames]
    assert len(frames) == FRAMES and [f["frame"] for f in frames] == list(range(FRAMES))
    assert all(c == 0 for c in counts[ABSENT[0] : ABSENT[1]])
    assert all(c == 1 for i, c in enumerate(counts) if not ABSENT[0] <= i <= ABSENT[1]), counts
    if truth is None:
        return None
    errors = []
    for f, t in zip(frames, truth):
        if f["instances"]:
            points = np.array(f["instances"][0]["landmarks"])[:, :2]
            errors.append(
                np.linalg.norm(points - t, axis=1).mean() / np.linalg.norm(t[normalizer[0]] - t[normalizer[1]])
            )
    return float(np.mean(errors))


def test_hands_track_with_the_detector_on_few_frames(clips, tmp_path):
    clip, truth = clips["hand"]
    metrics = run_pipeline(load("hands"), clip, tmp_path)
    # The detector runs on the first frame and while the hand is gone (6 frames), not while tracking.
    assert metrics["detector_fraction"] <= 0.1
    error = _check_tracking(_frames(tmp_path), truth, (0, 9))  # palm size: wrist to middle MCP
    assert error < 0.1, error
    assert {"palm_detector", "hand_landmarks"} <= set(metrics["models"])
    assert metrics["calculators"]["palm_detector"]["calls"] == round(metrics["detector_fraction"] * FRAMES)
    assert (tmp_path / "annotated.mp4").stat().st_size > 10_000


def test_an_unreadable_image_in_a_folder_is_skipped_not_fatal(tmp_path, caplog):
    import shutil

    folder = tmp_path / "frames"
    folder.mkdir()
    for i, name in enumerate(("hand_0.png", "hand_1.png")):
        shutil.copy(Path(__file__).parents[1] / "zoo" / "renders" / name, folder / f"{2 * i:03d}.png")
    (folder / "001.png").write_text("not an image")
    metrics = run_pipeline(load("hands"), folder, tmp_path / "run")
    assert metrics["frames"] == 2 and [f["frame"] for f in _frames(tmp_path / "run")] == [0, 2]
    assert "001.png: cannot read this image; skipped" in caplog.text


def test_hands_tracks_two_hands_and_stops_detecting_once_both_are_found(tmp_path):
    import cv2

    renders = Path(__file__).parents[1] / "zoo" / "renders"
    pair = np.concatenate([cv2.imread(str(renders / "hand_0.png")), cv2.imread(str(renders / "hand_1.png"))], 1)
    pair = cv2.resize(pair, None, fx=2, fy=2)
    pair = np.concatenate([pair, pair[:200]], 0)  # 1024 x 712: the published palm detector finds both here
    (tmp_path / "frames").mkdir()
    for i in range(6):  # a folder source: the pair drifting right
        cv2.imwrite(str(tmp_path / "frames" / f"{i:03d}.png"), np.roll(pair, 3 * i, axis=1))
    metrics = run_pipeline(load("hands", max_instances=2), tmp_path / "frames", tmp_path / "run")
    last = _frames(tmp_path / "run")[-1]["instances"]
    assert len(last) == 2 and len({h["track"] for h in last}) == 2
    assert metrics["detector_fraction"] < 1  # not run once two hands are tracked


def test_face_mesh_tracks_with_iris_depth_and_without_the_iris_stage(clips, tmp_path):
    clip, truth = clips["face"]
    metrics = run_pipeline(load("face_mesh"), clip, tmp_path / "iris")
    assert metrics["detector_fraction"] <= 0.1
    frames = _frames(tmp_path / "iris")
    error = _check_tracking(frames, truth, (33, 263))  # interocular distance (outer eye corners)
    assert error < 0.05, error
    face = frames[10]["instances"][0]
    assert np.array(face["iris"]).shape == (2, 5, 3) and 100 < face["depth_mm"] < 3000
    # 2 workers (iris and the sinks in the background, beside the loop) or one thread: same results
    run_pipeline(load("face_mesh", workers=0, video=False), clip, tmp_path / "serial")
    assert (tmp_path / "serial" / "frames.jsonl").read_text() == (tmp_path / "iris" / "frames.jsonl").read_text()

    metrics = run_pipeline(load("face_mesh", iris=False), clip, tmp_path / "plain")
    assert "iris" not in metrics["calculators"] and "iris" not in metrics["models"]
    assert "iris" not in _frames(tmp_path / "plain")[10]["instances"][0]


def test_pose_tracks_33_landmarks_with_visibility_from_its_auxiliary_points(clips, tmp_path):
    clip, truth = clips["body"]
    metrics = run_pipeline(load("pose"), clip, tmp_path)
    assert metrics["detector_fraction"] <= 0.1  # once, then the auxiliary landmarks place the ROI
    frames = _frames(tmp_path)
    assert all(len(f["instances"]) == 1 for f in frames)
    recorded = json.loads((Path(__file__).parents[1] / "zoo" / "mediapipe_outputs.json").read_text())
    visible = np.array(recorded["photos"]["skimage.astronaut"]["pose"])[:, 3] > 0.5  # head and shoulders
    errors = []
    for f, t in zip(frames, truth):
        pose = f["instances"][0]
        assert np.array(pose["landmarks"]).shape == (33, 3) and len(pose["visibility"]) == 33
        world = np.array(pose["world_landmarks"])  # metres from the hip centre
        assert world.shape == (33, 3) and 0.2 < np.linalg.norm(world[11] - world[12]) < 0.6  # shoulders apart
        points = np.array(pose["landmarks"])[:, :2]
        errors.append(np.linalg.norm(points[visible] - t[visible], axis=1).mean() / np.linalg.norm(t[11] - t[12]))
    assert np.mean(errors) < 0.1, np.mean(errors)  # shoulder widths


def _box_errors(frames, truth):
    """Distance of each tracked box's centre from the truth landmarks' box centre, in face sizes."""
    out = []
    for f, t in zip(frames, truth):
        if f["instances"] and not np.isnan(t).any():
            box = np.array(f["instances"][0]["box"])
            size = (t.max(0) - t.min(0)).mean()
            out.append(np.linalg.norm((box[:2] + box[2:]) / 2 - (t.min(0) + t.max(0)) / 2) / size)
    return np.array(out)


def test_box_tracking_follows_a_user_box_and_drops_it_when_the_subject_goes(clips, tmp_path):
    clip, truth = clips["face"]
    box = [*truth[0].min(0), *truth[0].max(0)]
    metrics = run_pipeline(load("box_tracking", boxes=[box]), clip, tmp_path)
    assert "detector" not in metrics["calculators"] and metrics["detector_fraction"] == 0
    frames = _frames(tmp_path)
    counts = [len(f["instances"]) for f in frames]
    assert counts[: ABSENT[0]] == [1] * ABSENT[0] and counts[ABSENT[0]] == 0  # lost when the face goes
    assert _box_errors(frames, truth).max() < 0.05
    moving = np.array([f["instances"][0]["motion"] for f in frames[1 : ABSENT[0]]])
    assert np.abs(moving).max() > 0.5  # px/frame against the still background


def test_box_tracking_restarts_from_the_detector(clips, tmp_path):
    clip, truth = clips["face"]
    metrics = run_pipeline(load("box_tracking"), clip, tmp_path)
    assert metrics["detector_fraction"] <= 0.1
    frames = _frames(tmp_path)
    _check_tracking(frames)
    assert np.median(_box_errors(frames, truth)) < 0.1


def test_the_run_verb_writes_video_jsonl_and_metrics(clips, tmp_path):
    clip, _ = clips["hand"]
    assert main(["run", "pipeline=hands", f"source={clip}", f"run_dir={tmp_path}", "limit=12"]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["frames"] == 12 and metrics["fps"] > 0 and 0 < metrics["detector_fraction"] <= 1
    for name in ("palm_detector", "hand_landmarks", "annotate"):
        assert metrics["calculators"][name]["p95_ms"] >= metrics["calculators"][name]["median_ms"] > 0
    assert len(_frames(tmp_path)) == 12 and (tmp_path / "annotated.mp4").is_file()


@pytest.mark.parametrize(
    "args, message",
    [
        (["source=/nonexistent.mp4"], "/nonexistent.mp4: source not found"),
        (["source=camera:97"], "camera:97: cannot open this camera"),
        (["source=NOTAVIDEO"], "cannot read this video"),
        (
            ["source=CLIP", "pipeline=/nonexistent.yaml"],
            "pipeline=/nonexistent.yaml: expected one of box_tracking, face_effects, face_mesh, hands, objectron, pose",
        ),
        (["source=CLIP", "pipeline=BADGRAPH"], "node x: unknown calculator 'Nope'"),
        (["source=CLIP", "models=/nonexistent"], "models=/nonexistent: expected `mediapipe`, export run directories"),
        (  # a truncated file that no export wrote: never replaced by the published model
            ["source=CLIP", "models=TRUNCATED"],
            "hand_landmarks_fp32.tflite: expected a .tflite written by blazeforge export, with hand_landmarks.json",
        ),
        (["source=CLIP", "models=TRUNCATED_EXPORT"], "hand_landmarks_fp32.tflite: not a valid TFLite flatbuffer"),
        (
            ["source=CLIP", "models=FACE_EXPORT"],
            "no stage of pipeline hands takes it: it fills face_mesh; the pipeline's roles are palm_detector, "
            "hand_landmarks, gesture_classifier",
        ),
    ],
)
def test_bad_input_is_one_line(clips, tmp_path, capsys, args, message):
    bad_video = tmp_path / "bad.mp4"
    bad_video.write_text("not a video")
    graph = tmp_path / "graph.yaml"
    graph.write_text(
        "nodes:\n  - {calculator: VideoSource, outputs: {IMAGE: image}}\n  - {name: x, calculator: Nope}\n"
    )
    exports = {}
    for name, task, role in (
        ("TRUNCATED", "hand_landmarks", None),
        ("TRUNCATED_EXPORT", "hand_landmarks", "hand_landmarks"),
        ("FACE_EXPORT", "face_mesh", "face_mesh"),
    ):
        folder = tmp_path / name.lower()
        folder.mkdir()
        (folder / f"{task}_fp32.tflite").write_bytes(b"TFL3 truncated")
        if role:
            (folder / f"{task}.json").write_text(json.dumps({"task": task, "roles": {role: {}}}))
        exports[name] = folder if name == "FACE_EXPORT" else folder / f"{task}_fp32.tflite"
    for name in sorted(exports, key=len, reverse=True):  # TRUNCATED_EXPORT before TRUNCATED
        args = [a.replace(name, str(exports[name])) for a in args]
    args = [
        a.replace("NOTAVIDEO", str(bad_video)).replace("CLIP", str(clips["hand"][0])).replace("BADGRAPH", str(graph))
        for a in args
    ]
    assert main(["run", *args, f"run_dir={tmp_path / 'run'}"]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err


def test_the_runtime_runs_with_only_its_own_requirements(clips, tmp_path):
    """Every dependency of the package outside requirements/runtime.txt is blocked from import (hydra too:
    only the command line needs it); a pipeline still runs."""
    blocked = (
        "tensorflow",
        "keras",
        "tensorflow_datasets",
        "albumentations",
        "hydra",
        "omegaconf",
        "wandb",
        "pycocotools",
        "matplotlib",
        "rich",
        "bpy",
        "PIL",
        "skimage",
    )
    code = (
        f"import sys\n"
        f"class Block:\n"
        f"    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] in {blocked!r}:\n"
        f"            raise ImportError('blocked: ' + name)\n"
        f"sys.meta_path.insert(0, Block())\n"
        f"from blazeforge.runtime.pipeline import load, run_pipeline\n"
        f"m = run_pipeline(load('hands'), {str(clips['hand'][0])!r}, {str(tmp_path)!r}, limit=3)\n"
        f"assert m['frames'] == 3\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


def test_a_graph_can_drop_a_stage_only_where_types_allow():
    config = load("face_mesh")
    with pytest.raises(BlazeforgeError, match="node face_landmarks: cannot be bypassed"):
        config.without("face_landmarks")  # no input of its output's type
    assert "annotate" not in [n.name for n in config.without("annotate").nodes]  # image in, image out


def test_a_gpu_delegate_falls_back_to_the_cpu_where_none_loads(clips, tmp_path, caplog, monkeypatch):
    monkeypatch.setenv("BLAZEFORGE_GPU_DELEGATE", str(tmp_path / "no_such_delegate.so"))
    metrics = run_pipeline(load("hands"), clips["hand"][0], tmp_path, limit=2, delegate="gpu")
    assert metrics["frames"] == 2 and metrics["delegate"] == "cpu"
    assert "no GPU delegate loads here" in caplog.text
