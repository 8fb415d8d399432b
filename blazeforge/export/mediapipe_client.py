"""MediaPipe Tasks' own Python API, run on our .task bundles from a venv of its own.

The venv (`venvs.ensure`, `$BLAZEFORGE_CACHE/mediapipe-<version>`) holds the pinned mediapipe wheel
the zoo already keeps (installed without its dependencies: jax, sentencepiece and sounddevice are
not needed to run the vision Tasks) and the few packages the vision Tasks import, pinned; made the
first time in about half a minute from the package registry. `tasks_client.py` runs there.

    found = run_bundle("HandLandmarker", "hand_landmarker.task", [Path("hand.png")])
    found["hand.png"]   # [instance][landmark] = (x, y, z), x and y in [0, 1] of the image
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from blazeforge import venvs, zoo
from blazeforge.errors import BlazeforgeError

# What `from mediapipe.tasks.python import vision` imports, at versions that run mediapipe 0.10.21.
PINS = [
    "numpy==1.26.4",
    "protobuf==4.25.9",
    "absl-py==2.5.1",
    "attrs==26.1.0",
    "flatbuffers==25.12.19",
    "opencv-python-headless==4.10.0.84",
    "matplotlib==3.11.2",
    "pillow==13.0.0",
]
CLIENT = Path(__file__).with_name("tasks_client.py")


def python() -> Path:
    """The mediapipe venv's python, made on first use."""
    wheel = str(zoo.wheel_path())
    installs = [["install", "--no-deps", wheel], ["install", *PINS]]
    return venvs.ensure(f"mediapipe-{zoo.MEDIAPIPE_VERSION}", installs) / "bin" / "python"


def run_bundle(task: str, bundle: str | Path, images: list[Path]) -> dict[str, list]:
    """{image path: instances} that MediaPipe Tasks' `task` (HandLandmarker, FaceLandmarker,
    PoseLandmarker) finds with `bundle` in IMAGE mode; one line with MediaPipe's own message where
    it refuses the bundle."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "found.json"
        command = [str(python()), str(CLIENT), task, str(bundle), str(out), *map(str, images)]
        done = subprocess.run(command, capture_output=True, text=True)
        sys.stderr.write(done.stdout + done.stderr)  # a verb's log.txt (console.quiet)
        if done.returncode != 0:
            lines = [line for line in done.stderr.strip().splitlines() if line.strip()] or ["no output"]
            raise BlazeforgeError(bundle, f"MediaPipe Tasks' {task} refused it: {lines[-1]}")
        return json.loads(out.read_text())["images"]
