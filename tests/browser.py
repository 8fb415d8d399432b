"""A report seen in a real browser: headless Chromium (Debian's `chromium`, which .ci/run installs)."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Flags for a closed network: no background connections, no first-run or sync work.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def _chromium(args: list[str], profile: Path) -> str:
    done = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout


def view(page: Path, out: Path, probe: str, size: tuple[int, int] = (1280, 1600)) -> tuple[object, Path]:
    """Open `page` in headless Chromium; returns (the JSON value of the JavaScript expression `probe`
    evaluated on the laid-out page, a PNG screenshot of it)."""
    out.mkdir(parents=True, exist_ok=True)
    probed = out / f"probed-{page.name}"
    script = f"<script>document.body.dataset.probe = JSON.stringify({probe});</script>"
    probed.write_text(page.read_text().replace("</body>", script + "</body>"))
    dom = _chromium(
        [f"--window-size={size[0]},{size[1]}", "--dump-dom", probed.resolve().as_uri()], out / "profile-dom"
    )
    found = re.search(r'data-probe="([^"]*)"', dom)
    if found is None:
        raise AssertionError(f"the probe did not run in Chromium on {page}")
    shot = out / f"{page.stem}.png"
    _chromium(
        [f"--window-size={size[0]},{size[1]}", f"--screenshot={shot}", page.resolve().as_uri()], out / "profile-shot"
    )
    return json.loads(html.unescape(found.group(1))), shot
