"""Real Blender renders (bpy, Cycles on the CPU) of a few tiny frames."""

import json
import multiprocessing as mp
import os
import signal
import threading
import time

import cv2
import numpy as np
import pytest

from blazeforge.config import compose
from blazeforge.datasets.schema import read_jsonl
from blazeforge.errors import BlazeforgeError
from blazeforge.synthetic.render import frames_done, render

TINY = ["experiment=smoke", "render.n=3", "render.shards=1", "render.resolution=96", "render.samples=2"]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("render")
    cfg = compose("render", TINY)
    return run_dir, render(cfg, run_dir)


def test_labels_follow_the_schema_and_line_up_with_the_mask(rendered):
    run_dir, metrics = rendered
    assert metrics["rendered"] == 3
    shard = run_dir / "shard-00000"
    samples = list(read_jsonl(shard / "labels.jsonl", num_keypoints=21))
    assert len(samples) == 3
    manifest = json.loads((shard / "manifest.json").read_text())
    assert manifest["complete"] and manifest["count"] == 3
    for s in samples:
        assert s.meta["source"] == "synthetic" and 1 <= int(s.meta["skin_tone"]) <= 10
        assert s.keypoint_mask.all() and s.keypoints[0, 0, 2] == 0  # z relative to the wrist
        assert set(np.unique(s.visibility)) <= {0.0, 1.0}
        mask = cv2.imread(str(shard / s.mask), cv2.IMREAD_GRAYSCALE)
        assert mask.shape == (96, 96) and mask.max() == 1
        image = cv2.imread(str(shard / s.image))
        assert image.shape == (96, 96, 3)
        # Every visible keypoint lies on (or within 2 px of) the hand's mask.
        near = cv2.dilate(mask, np.ones((5, 5), np.uint8))
        for (x, y, _), v in zip(s.keypoints[0], s.visibility[0]):
            if v:
                assert near[int(y), int(x)] == 1
        # The camera-space keypoints project to the pixel keypoints.
        cam = s.keypoints_camera[0]
        u = cam[:, 0] / cam[:, 2] * s.camera["fx"] + s.camera["cx"]
        np.testing.assert_allclose(u, s.keypoints[0, :, 0], atol=0.01)


def test_rerunning_a_finished_render_is_a_no_op_and_a_lost_frame_is_rerendered_identically(rendered, tmp_path):
    run_dir, _ = rendered
    cfg = compose("render", TINY)
    assert render(cfg, run_dir)["rendered"] == 0
    labels = run_dir / "shard-00000" / "labels.jsonl"
    lines = labels.read_text().splitlines(keepends=True)
    labels.write_text("".join(lines[:2]) + lines[2][:40])  # killed while writing the last line
    assert frames_done(run_dir / "shard-00000") == 2
    assert render(cfg, run_dir)["rendered"] == 1
    assert labels.read_text().splitlines()[2] == lines[2].rstrip("\n")  # deterministic


def test_a_render_worker_killed_mid_shard_resumes_to_the_same_frames(tmp_path, capfd):
    two = TINY + ["render.n=6", "render.shards=2"]
    render(compose("render", two + ["render.workers=1"]), tmp_path / "reference")
    run = tmp_path / "killed"
    killed = []

    def kill_a_worker_mid_shard():
        deadline = time.time() + 300
        while time.time() < deadline:
            started = [p for p in run.glob("shard-*/labels.jsonl") if p.read_text().count("\n") >= 1]
            workers = [c for c in mp.active_children() if c.name.startswith("SpawnProcess")]
            if started and workers:
                os.kill(workers[0].pid, signal.SIGKILL)
                killed.append(workers[0].pid)
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_a_worker_mid_shard)
    killer.start()
    metrics = render(compose("render", two + ["render.workers=2"]), run)
    killer.join()
    assert killed and "a render worker died; its shards resume where they stopped" in capfd.readouterr().err
    assert metrics["rendered"] == 6
    for shard in ("shard-00000", "shard-00001"):
        assert (run / shard / "labels.jsonl").read_text() == (
            tmp_path / "reference" / shard / "labels.jsonl"
        ).read_text()
        assert json.loads((run / shard / "manifest.json").read_text())["complete"]


def test_bad_render_input_is_one_clear_error(tmp_path):
    with pytest.raises(BlazeforgeError, match="render.n"):
        render(compose("render", ["render.n=0"]), tmp_path)
    with pytest.raises(BlazeforgeError, match="scene.lighting.hdri_dir"):
        render(compose("render", TINY + [f"scene.lighting.hdri_dir={tmp_path}/nope"]), tmp_path)


def test_the_procedural_hand_is_still_there(tmp_path):
    cfg = compose("render", TINY + ["render.n=1", "scene.hand_model=procedural"])
    assert render(cfg, tmp_path)["rendered"] == 1
    sample = next(iter(read_jsonl(tmp_path / "shard-00000" / "labels.jsonl", num_keypoints=21)))
    mask = cv2.imread(str(tmp_path / "shard-00000" / sample.mask), cv2.IMREAD_GRAYSCALE)
    assert mask.max() == 1 and sample.visibility.sum() > 0
    with pytest.raises(BlazeforgeError, match="scene.hand_model"):
        render(compose("render", TINY + ["render.n=1", "scene.hand_model=clay"]), tmp_path / "bad")


def test_auto_exposure_brightens_dim_frames_by_at_most_its_gain_and_keeps_bright_ones():
    from blazeforge.synthetic.scene import EXPOSURE_TARGET, MAX_EXPOSURE_GAIN, auto_exposure, srgb_decode

    def linear(image):
        return srgb_decode(image / 255).mean()

    ramp = np.tile(np.linspace(0, 255, 64, dtype=np.uint8)[None, :, None], (64, 1, 3))
    bright = ramp.copy()
    assert linear(bright) > EXPOSURE_TARGET and np.array_equal(auto_exposure(bright), bright)
    dim = (ramp * 0.45).astype(np.uint8)  # 1.7 stops under: brought up to the target
    assert linear(auto_exposure(dim)) == pytest.approx(EXPOSURE_TARGET, rel=0.1)
    night = (ramp * 0.05).astype(np.uint8)  # far under: the gain stops at its bound
    out = auto_exposure(night)
    assert linear(out) == pytest.approx(MAX_EXPOSURE_GAIN * linear(night), rel=0.1)
    assert (np.diff(out[0, :, 0].astype(int)) >= 0).all()  # the tones keep their order
