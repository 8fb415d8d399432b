"""Venvs of their own for tools whose pins clash with ours, made from the package registry.

Label Studio needs numpy 2 and MediaPipe's Python package pins protobuf 4, while our environment
pins numpy < 2 (bpy) and protobuf 7 (TensorFlow); each lives in `$BLAZEFORGE_CACHE/<name>`
(default `~/.cache/blazeforge/<name>`), made once by `ensure` and reused while its stamp holds.

    python = ensure("mediapipe-0.10.21", [["install", "--no-deps", wheel], ["install", *pins]]) / "bin" / "python"
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from blazeforge.errors import BlazeforgeError


def cache_dir() -> Path:
    return Path(os.environ.get("BLAZEFORGE_CACHE", Path.home() / ".cache" / "blazeforge"))


def ensure(name: str, installs: list[list[str]], cache: Path | None = None) -> Path:
    """The venv `name` under the cache, made the first time by `python -m venv` and one
    `pip <args>` per entry of `installs`; one line naming the venv when the registry cannot give
    what it needs. pip's output goes to stderr, which a verb's `console.quiet` sends to its run's
    log.txt."""
    venv = (cache or cache_dir()) / name
    stamp = venv / ".installed"
    wanted = "\n".join(" ".join(args) for args in installs)
    if stamp.is_file() and stamp.read_text() == wanted:
        return venv
    python = str(venv / "bin" / "python")
    for step in [[sys.executable, "-m", "venv", str(venv)], *([python, "-m", "pip", *a, "-q"] for a in installs)]:
        done = subprocess.run(step, capture_output=True, text=True)
        sys.stderr.write(done.stdout + done.stderr)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise BlazeforgeError(venv, f"could not install {' '.join(step[3:-1])} from the package registry ({last})")
    stamp.write_text(wanted)
    return venv
