"""Labelled frames per second per core at 256 px / 16 samples for each scene, against a bare render.

Scenes: hands on MakeHuman's body (the default), the procedural hand with the settings it had
before MakeHuman's (no HDRIs, procedural backdrops, no phone look), faces on MakeHuman's heads (the
default) and on MediaPipe's mesh alone, and one whole person. Baseline (same
process, same scene): one Cycles render of the same frame without the label work (mask pass,
ray-cast visibility, JSON). Ratio = labelled frame time / bare render time. One thread, so the
rate is per core.
"""

import tempfile
import time
from pathlib import Path

import numpy as np

FRAMES = 4
SCENES = {
    "hands_makehuman": ["scene=hands"],
    "hands_procedural_before": [
        "scene=hands",
        "scene.hand_model=procedural",
        "scene.lighting.hdri_dir=null",
        "scene.background.image_dir=null",
        "scene.camera.phone=false",
        "scene.camera.denoise=false",
        "scene.camera.clamp_indirect=null",
        "scene.occluders.probability=0.3",
        "scene.occluders.size_m=[0.012,0.035]",
    ],
    "faces": ["scene=faces"],
    "faces_mediapipe_mesh": ["scene=faces", "scene.face_model=mediapipe_mesh"],
    "bodies": ["scene=bodies", "scene.people=[1,1]"],
}


def _rate(overrides: list[str]) -> dict:
    import importlib

    from blazeforge.config import compose
    from blazeforge.synthetic.render import SCENES as CLASSES
    from blazeforge.synthetic.scene import render_quietly

    cfg = compose("render", overrides)
    module, name = CLASSES[cfg.scene.name]
    scene = getattr(importlib.import_module(module), name)(cfg.scene, 256, 16, threads=1)
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
        "labelled_frames_per_second_per_core": round(1 / per_frame, 3),
        "core_seconds_per_labelled_frame": round(per_frame, 2),
        "bare_render_frames_per_second_per_core": round(1 / per_bare, 3),
        "labelled_over_bare_time": round(per_frame / per_bare, 3),
    }


def main() -> dict:
    out = {"resolution": 256, "samples": 16, "threads": 1, "frames": FRAMES}
    for name, overrides in SCENES.items():
        out[name] = _rate(overrides)
    out["makehuman_over_procedural_time"] = round(
        out["hands_makehuman"]["core_seconds_per_labelled_frame"]
        / out["hands_procedural_before"]["core_seconds_per_labelled_frame"],
        3,
    )
    return out
