"""Track a body render moving over a package photo with `run pipeline=pose`, and score the tracking.

Picks the render (from a `blazeforge render scene=bodies` run) whose single person has the most
visible keypoints, moves it smoothly over skimage's coffee photo for FRAMES frames, gone for the
frames in ABSENT (tests.fixtures.moving_clip), and runs the pose pipeline on the clip with each
models= given (default: mediapipe, MediaPipe's published files). Prints, for each, the share of
frames the detector ran on, the frames with a body tracked (of those it is in, and of those it is
gone from) and the tracked landmarks' mean distance from the moved labels over the visible
keypoints, in % of torso size (shoulder centre to hip centre, as the pose evaluation's).

    .venv/bin/python tools/pose_clip.py RENDER_DIR [models ...]
    e.g. models: mediapipe  DET_EXPORT_DIR,LANDMARK_EXPORT_DIR  (comma-joined: both roles ours)
"""

import json
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: tests.fixtures

from blazeforge.runtime.pipeline import load, run_pipeline  # noqa: E402
from blazeforge.topology.pose import torso_size  # noqa: E402
from tests.fixtures import moving_clip  # noqa: E402

FRAMES, ABSENT = 120, (80, 90)


def pick(render_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(RGB image, keypoints [33, 2] in pixels, visible [33] bool) of the render whose one person
    shows the most keypoints."""
    best = None
    for labels in sorted(render_dir.glob("shard-*/labels.jsonl")):
        for line in labels.read_text().splitlines():
            label = json.loads(line)
            if len(label["keypoints"]) != 1:
                continue
            visible = np.array(label["visibility"][0]) > 0.5
            if best is None or visible.sum() > best[2].sum():
                best = (labels.parent / label["image"], np.array(label["keypoints"][0])[:, :2], visible)
    if best is None:
        sys.exit(f"{render_dir}: expected shard-*/labels.jsonl with a one-person render")
    image = cv2.cvtColor(cv2.imread(str(best[0])), cv2.COLOR_BGR2RGB)
    return image, best[1], best[2]


def score(frames: list[dict], truth: np.ndarray, visible: np.ndarray) -> dict:
    """Tracked frames (present / absent) and the mean landmark error in % of torso size."""
    present = ~np.isnan(truth[:, 0, 0])
    found = np.array([len(f["instances"]) > 0 for f in frames])
    errors = []
    for f, t, p in zip(frames, truth, present):
        if p and f["instances"]:
            points = np.array(f["instances"][0]["landmarks"])[:, :2]
            errors.append(np.linalg.norm(points[visible] - t[visible], axis=1).mean() / torso_size(t))
    return {
        "tracked_present": f"{(found & present).sum()} of {present.sum()}",
        "tracked_absent": f"{(found & ~present).sum()} of {(~present).sum()}",
        "error": 100 * float(np.mean(errors)) if errors else float("nan"),
    }


def main(render_dir: Path, models: list[str]) -> None:
    image, points, visible = pick(render_dir)
    with tempfile.TemporaryDirectory() as tmp:
        clip, truth = moving_clip(Path(tmp) / "clip.mp4", frames=FRAMES, absent=ABSENT, patch=(image, points))
        for entry in models:
            metrics = run_pipeline(load("pose", video=False), clip, Path(tmp) / "run", models=entry)
            frames = [json.loads(line) for line in (Path(tmp) / "run" / "frames.jsonl").read_text().splitlines()]
            s = score(frames, truth, visible)
            print(
                f"models={entry}: detector on {100 * metrics['detector_fraction']:.1f}% of {FRAMES} frames; "
                f"a body tracked on {s['tracked_present']} frames it is in and {s['tracked_absent']} it is gone "
                f"from; landmark error {s['error']:.1f}% of torso ({visible.sum()} visible keypoints)"
            )


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:] or ["mediapipe"])
