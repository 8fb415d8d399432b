"""Venvs of their own for tools whose pins clash with ours, made from the package registry (and
npm folders, by `installed`).

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


def installed(folder: Path, key: str, steps: list[list[str]], what: str, registry: str) -> Path:
    """`folder`, made the first time by running the commands `steps` and reused while its stamp
    holds `key` (what made it); one line naming the folder when a step fails. The commands' output
    goes to stderr, which a verb's `console.quiet` sends to its run's log.txt."""
    stamp = folder / ".installed"
    if stamp.is_file() and stamp.read_text() == key:
        return folder
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        sys.stderr.write(done.stdout + done.stderr)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise BlazeforgeError(folder, f"could not install {what} from the {registry} ({last})")
    stamp.write_text(key)
    return folder


def ensure(name: str, installs: list[list[str]], cache: Path | None = None) -> Path:
    """The venv `name` under the cache, made the first time by `python -m venv` and one
    `pip <args>` per entry of `installs` (`installed`)."""
    venv = (cache or cache_dir()) / name
    python = str(venv / "bin" / "python")
    steps = [[sys.executable, "-m", "venv", str(venv)], *([python, "-m", "pip", *a, "-q"] for a in installs)]
    wanted = "\n".join(" ".join(args) for args in installs)
    return installed(venv, wanted, steps, name, "package registry")
