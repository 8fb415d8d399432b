"""Labelled frames per second per core at 256 px / 16 samples, against a bare Cycles render.

Baseline (same process, same scene size): one Cycles render of the same frame without the label
work (mask pass, ray-cast visibility, JSON). Ratio = labelled frame time / bare render time.
"""

import tempfile
import time
from pathlib import Path

import numpy as np

FRAMES = 4


def main() -> dict:
    from blazeforge.config import compose
    from blazeforge.synthetic.hand_scene import HandScene
    from blazeforge.synthetic.scene import render_quietly

    cfg = compose("render", [])
    scene = HandScene(cfg.scene, 256, 16, threads=1)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        scene.render(np.random.default_rng(99), out / "warm.png", out / "warm_m.png")  # kernels, caches
        labelled, bare = [], []
        for i in range(FRAMES):
            start = time.perf_counter()
            scene.render(np.random.default_rng([0, 0, i]), out / f"{i}.png", out / f"{i}_m.png")
            labelled.append(time.perf_counter() - start)
            scene.scene.render.filepath = str(out / f"{i}_bare.png")
            start = time.perf_counter()
            render_quietly()  # the same scene again, colour pass only
            bare.append(time.perf_counter() - start)
    per_frame, per_bare = float(np.median(labelled)), float(np.median(bare))
    return {
        "resolution": 256,
        "samples": 16,
        "threads": 1,
        "frames": FRAMES,
        "labelled_frames_per_second_per_core": round(1 / per_frame, 3),
        "bare_render_frames_per_second_per_core": round(1 / per_bare, 3),
        "labelled_over_bare_time": round(per_frame / per_bare, 3),
    }
