"""Sources (video file, image folder, camera) and sinks (annotated video, JSONL per frame).

Frames travel as RGB uint8 [H, W, 3]; timestamps are microseconds from the first frame (from the
video's frame rate, or `fps` for folders and cameras' own clock).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import cv2
import numpy as np

from blazeforge.errors import BlazeforgeError
from blazeforge.runtime.graph import Calculator, Source, calculator

log = logging.getLogger(__name__)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def open_source(source: str) -> tuple[str, object]:
    """("camera", index) for camera:N or a bare integer, ("folder", [paths]) for a folder of
    images, ("video", path) for a video file; one-line errors when none can be opened."""
    text = str(source)
    if text.startswith("camera:") or text.isdigit():
        return "camera", int(text.split(":", 1)[-1])
    path = Path(text)
    if path.is_dir():
        frames = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not frames:
            raise BlazeforgeError(path, f"no images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
        return "folder", frames
    if not path.is_file():
        raise BlazeforgeError(path, "source not found: expected a video file, a folder of images or camera:N")
    return "video", path


@calculator
class VideoSource(Source):
    """Frames of a video file, an image folder (sorted by name) or a camera (camera:N).

    Outputs IMAGE (RGB uint8 [H, W, 3]) and INDEX (the frame's number in the source, counting
    frames that back-pressure dropped). Options: path (default: the run's `source`), fps (folders;
    cameras use their clock), limit (stop after this many frames). A folder's first photo may set
    the run's focal length (`focal_px`, for iris depth) from its EXIF.
    """

    OUTPUTS = {"IMAGE": "image", "INDEX": "int"}

    def __init__(self, context=None, path: str | None = None, fps: float = 30.0, limit: int | None = None):
        super().__init__(context)
        self.path = path or self.context.get("source")
        if self.path is None:
            raise TypeError("no `path` option and no source given to the run")
        self.kind, self.target = open_source(self.path)
        self.fps, self.limit = float(fps), limit
        self.skipped = 0
        if self.kind != "folder":
            capture = cv2.VideoCapture(self.target if self.kind == "camera" else str(self.target))
            if not capture.isOpened():
                raise BlazeforgeError(
                    self.path,
                    "cannot open this camera"
                    if self.kind == "camera"
                    else "cannot read this video (not a video OpenCV can decode)",
                )
            if self.kind == "video":
                self.fps = capture.get(cv2.CAP_PROP_FPS) or self.fps
            self.capture = capture
        self.context["fps"] = self.fps
        if self.kind == "folder":
            focal = exif_focal_px(self.target[0])
            if focal:
                self.context.setdefault("focal_px", focal)

    def frames(self):
        index = 0
        start = time.monotonic()
        while self.limit is None or index < self.limit:
            if self.kind == "folder":
                if index >= len(self.target):
                    break
                bgr = cv2.imread(str(self.target[index]), cv2.IMREAD_COLOR)
                if bgr is None:  # one bad file in a folder: skip it, keep going
                    log.warning("%s: cannot read this image; skipped", self.target[index])
                    self.skipped += 1
                    index += 1
                    continue
            else:
                ok, bgr = self.capture.read()
                if not ok:
                    if index == 0:
                        raise BlazeforgeError(self.path, "no frame could be read (empty or unreadable video)")
                    break
            if self.kind == "camera":
                timestamp = int((time.monotonic() - start) * 1e6)
            else:
                timestamp = int(round(index * 1e6 / self.fps))
            yield timestamp, {"IMAGE": cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), "INDEX": index}
            index += 1

    def close(self):
        if self.kind != "folder":
            self.capture.release()


@calculator
class VideoSink(Calculator):
    """Writes IMAGE frames (RGB) to an .mp4 (`path`, relative to the run's output folder)."""

    INPUTS = {"IMAGE": "image"}

    def __init__(self, context=None, path: str = "annotated.mp4"):
        super().__init__(context)
        self.path = Path(self.context.get("out_dir", ".")) / path
        self.writer = None

    def process(self, timestamp, inputs):
        frame = inputs["IMAGE"]
        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            h, w = frame.shape[:2]
            self.writer = cv2.VideoWriter(
                str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), float(self.context.get("fps", 30.0)), (w, h)
            )
        self.writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))

    def close(self):
        if self.writer is not None:
            self.writer.release()


@calculator
class JsonlSink(Calculator):
    """One JSON line per frame: {"frame", "timestamp_ms", "instances": [Instance.to_json()]}.

    Fires on every INDEX packet (every frame), with INSTANCES when the frame has any."""

    INPUTS = {"INDEX": "int", "INSTANCES": "instances"}
    OPTIONAL = frozenset({"INSTANCES"})

    def __init__(self, context=None, path: str = "frames.jsonl"):
        super().__init__(context)
        self.path = Path(self.context.get("out_dir", ".")) / path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = self.path.open("w")

    def process(self, timestamp, inputs):
        instances = ",".join(i.to_json() for i in inputs.get("INSTANCES") or [])
        self.file.write(
            f'{{"frame":{int(inputs["INDEX"])},"timestamp_ms":{round(timestamp / 1000, 3)},'
            f'"instances":[{instances}]}}\n'
        )

    def close(self):
        self.file.close()


def exif_focal_px(path: Path) -> float | None:
    """Focal length in pixels from a photo's EXIF 35 mm-equivalent focal length (Pillow reads it
    where installed; None without Pillow, EXIF or the tag)."""
    try:
        from PIL import Image
    except ImportError:
        return None
    from blazeforge.geometry.iris import focal_from_35mm

    try:
        with Image.open(path) as image:
            exif = image.getexif().get_ifd(0x8769)  # the Exif sub-IFD
            focal_35mm = exif.get(0xA405)  # FocalLengthIn35mmFilm
            width, height = image.size
    except (OSError, ValueError):
        return None
    return focal_from_35mm(width, height, float(focal_35mm)) if focal_35mm else None


def read_frames(path: str | Path) -> list[np.ndarray]:
    """Every frame of a video file as RGB uint8 arrays (for tests and benchmarks)."""
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    capture.release()
    return frames
