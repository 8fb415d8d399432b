"""MediaPipe's published models: where they come from, their checksums, and a local cache.

The .tflite files come out of the pinned `mediapipe` wheel (`pip download mediapipe==0.10.21
--no-deps`, unzipped into the cache), so nothing but the package registry is reached. Users online
can also take them from MediaPipe's model URLs (`fetch(..., source="url")`).

    from blazeforge import zoo
    path = zoo.tflite_path("hand_landmark_full")   # fetched and checked on first use

The cache is `$BLAZEFORGE_CACHE/zoo` (default `~/.cache/blazeforge/zoo`).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from blazeforge.errors import BlazeforgeError

MEDIAPIPE_VERSION = "0.10.21"
MODEL_URL = "https://storage.googleapis.com/mediapipe-assets/{name}.tflite"


@dataclass(frozen=True)
class ZooModel:
    """One published model: its member path in the mediapipe wheel, sha256 and input size (pixels)."""

    name: str
    wheel_member: str
    sha256: str
    input_size: tuple[int, int]


def _m(module: str, name: str, sha256: str, size: int | tuple[int, int]) -> ZooModel:
    size = (size, size) if isinstance(size, int) else size
    return ZooModel(name, f"mediapipe/modules/{module}/{name}.tflite", sha256, size)


MODELS = {m.name: m for m in (
    _m("hand_landmark", "hand_landmark_full", "11c272b891e1a99ab034208e23937a8008388cf11ed2a9d776ed3d01d0ba00e3", 224),
    _m("hand_landmark", "hand_landmark_lite", "048edd3645c9bf7397d19a9f6e3a42957d6e414c9bea6598030a2e9b624156e6", 224),
    _m("palm_detection", "palm_detection_full", "1b14e9422c6ad006cde6581a46c8b90dd573c07ab7f3934b5589e7cea3f89a54", 192),
    _m("palm_detection", "palm_detection_lite", "e9a4aaddf90dda56a87235303cf00e4c2d3fb28725f68fd88772997dac905c18", 192),
    _m("face_detection", "face_detection_short_range", "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8", 128),
    _m("face_detection", "face_detection_full_range_sparse", "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1", 192),
    _m("face_landmark", "face_landmark", "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814", 192),
    _m("face_landmark", "face_landmark_with_attention", "e06a804e0144f9929eda782122916b35d60c697c3c9344013ca2bbe76a6ce2b4", 192),
    _m("iris_landmark", "iris_landmark", "d1744d2a09c25f501d39eba4faff47e53ecca8852c5ce19bce8eeac39357521f", 64),
    _m("pose_detection", "pose_detection", "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c", 224),
    _m("pose_landmark", "pose_landmark_full", "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f", 256),
    _m("holistic_landmark", "hand_recrop", "67d996ce96f9d36fe17d2693022c6da93168026ab2f028f9e2365398d8ac7d5d", 256),
    _m("selfie_segmentation", "selfie_segmentation", "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c", 256),
)}


def cache_dir() -> Path:
    return Path(os.environ.get("BLAZEFORGE_CACHE", Path.home() / ".cache" / "blazeforge")) / "zoo"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _model(name: str) -> ZooModel:
    if name not in MODELS:
        raise BlazeforgeError(f"model {name!r}", f"not in the zoo; expected one of {sorted(MODELS)}")
    return MODELS[name]


def _wheel() -> Path:
    """The cached mediapipe wheel, downloaded from the package registry on first use."""
    wheels = cache_dir() / "wheels"
    found = sorted(wheels.glob(f"mediapipe-{MEDIAPIPE_VERSION}-*.whl"))
    if found:
        return found[0]
    wheels.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", f"mediapipe=={MEDIAPIPE_VERSION}", "--no-deps",
           "--only-binary=:all:", "-d", str(wheels), "-q"]
    result = subprocess.run(cmd, capture_output=True, text=True)
    found = sorted(wheels.glob(f"mediapipe-{MEDIAPIPE_VERSION}-*.whl"))
    if result.returncode or not found:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise BlazeforgeError(f"mediapipe=={MEDIAPIPE_VERSION}", f"could not download the wheel from the "
                                                                 f"package registry ({last})")
    return found[0]


def fetch(names: list[str] | None = None, source: str = "wheel") -> dict[str, Path]:
    """Cache the named models (all by default) and return their paths; checksums are verified.

    source: "wheel" (the pinned mediapipe wheel from the package registry) or "url" (MediaPipe's
    model URLs, for users online).
    """
    names = list(names or MODELS)
    models = [_model(n) for n in names]
    out, missing = {}, []
    for m in models:
        path = cache_dir() / f"{m.name}.tflite"
        if path.is_file() and _sha256(path) == m.sha256:
            out[m.name] = path
        else:
            missing.append(m)
    if missing and source == "wheel":
        with zipfile.ZipFile(_wheel()) as wheel:
            for m in missing:
                path = cache_dir() / f"{m.name}.tflite"
                path.write_bytes(wheel.read(m.wheel_member))
                out[m.name] = path
    elif missing and source == "url":
        import urllib.request
        for m in missing:
            path = cache_dir() / f"{m.name}.tflite"
            try:
                urllib.request.urlretrieve(MODEL_URL.format(name=m.name), path)
            except OSError as e:
                raise BlazeforgeError(MODEL_URL.format(name=m.name), f"could not download ({e})") from None
            out[m.name] = path
    elif missing:
        raise BlazeforgeError("source", f"expected 'wheel' or 'url', got {source!r}")
    for m in missing:
        if _sha256(out[m.name]) != m.sha256:
            out[m.name].unlink()
            raise BlazeforgeError(out[m.name], f"sha256 mismatch for {m.name}; expected {m.sha256}")
    return out


def tflite_path(name: str) -> Path:
    """Local path of a published model's .tflite, fetched on first use."""
    return fetch([name])[name]
