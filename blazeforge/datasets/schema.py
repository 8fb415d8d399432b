"""The sample schema: one record that every source writes and every recipe reads.

On disk a sample is one JSON object per line (`labels.jsonl`) next to its image file; in memory it
is a `Sample`. Shapes (N instances, K keypoints):

| field            | shape / type        | meaning                                                            |
|------------------|---------------------|--------------------------------------------------------------------|
| image            | str                 | path of the encoded PNG/JPEG, relative to the JSONL's folder       |
| width, height    | int                 | image size in pixels                                               |
| keypoints        | [N, K, 3] float32   | x, y in pixels; z in pixels at the same scale, relative to the root |
| keypoint_mask    | [N, K, 3] bool      | which coordinates are labelled (z false for real photos)           |
| visibility       | [N, K] float32      | 1 visible, 0 occluded or outside the image                         |
| boxes            | [N, 4] float32      | x0, y0, x1, y1 in pixels                                           |
| presence         | [N] float32         | 1 where the instance is really there                               |
| handedness       | [N] float32         | 1 right hand, 0 left hand (the anatomical hand, image not mirrored) |
| keypoints_camera | [N, K, 3] float32   | camera-space metres (x right, y down, z forward) where known       |
| auxiliary        | [N, A, 2] float32   | a topology's extra points in pixels (BlazePose's 2 virtual ones)   |
| mask             | str or None         | path of a uint8 PNG segmentation (0 background, i + 1 instance i)  |
| camera           | dict or None        | fx, fy, cx, cy in pixels                                           |
| cuboid           | dict or None        | 9-DOF boxes (topology cuboid): rotation [N, 3, 3] object -> camera, |
|                  |                     | translation [N, 3] and scale [N, 3] metres; keypoints hold the box |
| plane            | dict or None        | the ground: point [3] and upward normal [3], camera metres         |
| meta             | dict[str, str]      | source, subject_id, region, skin_tone, annotator, label_version... |

Pixel coordinates are continuous: the image spans [0, W] x [0, H] (see `geometry.roi`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from blazeforge.errors import BlazeforgeError

SOURCES = ("real", "synthetic", "prelabel")
META_KEYS = ("source", "subject_id", "region", "skin_tone", "annotator", "label_version")


@dataclass
class Sample:
    image: str
    width: int
    height: int
    keypoints: np.ndarray
    keypoint_mask: np.ndarray
    visibility: np.ndarray
    boxes: np.ndarray
    presence: np.ndarray
    handedness: np.ndarray
    keypoints_camera: np.ndarray | None = None
    auxiliary: np.ndarray | None = None
    mask: str | None = None
    camera: dict | None = None
    cuboid: dict | None = None
    plane: dict | None = None
    meta: dict = field(default_factory=dict)

    @property
    def num_instances(self) -> int:
        return int(self.keypoints.shape[0])

    def to_json(self) -> dict:
        """A JSON-ready dict (arrays as nested lists, rounded to 1/1000 pixel)."""
        out = {
            "image": self.image,
            "width": self.width,
            "height": self.height,
            "keypoints": np.round(self.keypoints.astype(np.float64), 3).tolist(),
            "keypoint_mask": self.keypoint_mask.astype(bool).tolist(),
            "visibility": np.round(self.visibility.astype(np.float64), 3).tolist(),
            "boxes": np.round(self.boxes.astype(np.float64), 3).tolist(),
            "presence": self.presence.tolist(),
            "handedness": self.handedness.tolist(),
            "meta": {k: str(v) for k, v in self.meta.items()},
        }
        if self.keypoints_camera is not None:
            out["keypoints_camera"] = np.round(self.keypoints_camera.astype(np.float64), 6).tolist()
        if self.auxiliary is not None:
            out["auxiliary"] = np.round(self.auxiliary.astype(np.float64), 3).tolist()
        if self.mask is not None:
            out["mask"] = self.mask
        if self.camera is not None:
            out["camera"] = {k: float(self.camera[k]) for k in ("fx", "fy", "cx", "cy")}
        if self.cuboid is not None:
            out["cuboid"] = {k: np.round(np.asarray(self.cuboid[k], np.float64), 6).tolist() for k in CUBOID_SHAPES}
        if self.plane is not None:
            out["plane"] = {k: np.round(np.asarray(self.plane[k], np.float64), 6).tolist() for k in ("point", "normal")}
        return out

    @classmethod
    def from_json(cls, record: dict, where: str = "sample", num_keypoints: int | None = None) -> Sample:
        """Validate a decoded JSON record; BlazeforgeError naming `where` and the field otherwise."""
        if not isinstance(record, dict):
            raise BlazeforgeError(where, "expected a JSON object per line")
        for key in ("image", "width", "height", "keypoints"):
            if key not in record:
                raise BlazeforgeError(where, f"missing field {key!r}")

        def array(key, dtype, shape, default=None):
            value = record.get(key, default)
            try:
                arr = np.asarray(value, dtype=dtype)
            except (TypeError, ValueError):
                raise BlazeforgeError(where, f"field {key!r} is not a numeric array") from None
            if arr.size == 0 and shape[0] == n:
                arr = arr.reshape((0,) + tuple(s for s in shape[1:]))
            if arr.ndim != len(shape) or any(s is not None and a != s for a, s in zip(arr.shape, shape)):
                raise BlazeforgeError(
                    where,
                    f"field {key!r} has shape {list(arr.shape)}, expected {['*' if s is None else s for s in shape]}",
                )
            return arr

        kp = (
            np.asarray(record["keypoints"], dtype=np.float32)
            if record["keypoints"]
            else np.zeros((0, num_keypoints or 0, 3), np.float32)
        )
        if kp.ndim != 3 or kp.shape[-1] != 3 or (num_keypoints is not None and kp.shape[1] != num_keypoints):
            raise BlazeforgeError(
                where, f"field 'keypoints' has shape {list(kp.shape)}, expected [N, {num_keypoints or 'K'}, 3]"
            )
        n, k = kp.shape[:2]
        if not np.isfinite(kp).all():
            raise BlazeforgeError(where, "field 'keypoints' holds NaN or infinite values")
        kmask = array("keypoint_mask", bool, (n, k, 3), np.ones((n, k, 3), bool))
        vis = array("visibility", np.float32, (n, k), np.ones((n, k), np.float32))
        boxes = array("boxes", np.float32, (n, 4), _boxes_from_keypoints(kp))
        presence = array("presence", np.float32, (n,), np.ones(n, np.float32))
        handedness = array("handedness", np.float32, (n,), np.full(n, 0.5, np.float32))
        kcam = array("keypoints_camera", np.float32, (n, k, 3)) if "keypoints_camera" in record else None
        auxiliary = array("auxiliary", np.float32, (n, None, 2)) if "auxiliary" in record else None
        camera = record.get("camera")
        if camera is not None and not all(key in camera for key in ("fx", "fy", "cx", "cy")):
            raise BlazeforgeError(where, "field 'camera' must have fx, fy, cx, cy")
        cuboid = _parts(record, "cuboid", {k: (n, *shape) for k, shape in CUBOID_SHAPES.items()}, where)
        plane = _parts(record, "plane", {"point": (3,), "normal": (3,)}, where)
        width, height = int(record["width"]), int(record["height"])
        if width <= 0 or height <= 0:
            raise BlazeforgeError(where, f"image size {width}x{height} must be positive")
        return cls(
            image=str(record["image"]),
            width=width,
            height=height,
            keypoints=kp,
            keypoint_mask=kmask,
            visibility=vis,
            boxes=boxes,
            presence=presence,
            handedness=handedness,
            keypoints_camera=kcam,
            auxiliary=auxiliary,
            mask=record.get("mask"),
            camera=camera,
            cuboid=cuboid,
            plane=plane,
            meta={k: str(v) for k, v in record.get("meta", {}).items()},
        )


CUBOID_SHAPES = {"rotation": (3, 3), "translation": (3,), "scale": (3,)}
"""The cuboid field's arrays and their shapes per instance."""


def _parts(record: dict, key: str, shapes: dict, where: str) -> dict | None:
    """record[key] as {name: float32 array of shapes[name]}; None where absent; one line otherwise."""
    value = record.get(key)
    if value is None:
        return None
    expected = ", ".join(f"{name} {list(shape)}" for name, shape in shapes.items())
    if not isinstance(value, dict) or set(value) != set(shapes):
        raise BlazeforgeError(where, f"field {key!r} must hold {expected}")
    out = {}
    for name, shape in shapes.items():
        try:
            arr = np.asarray(value[name], np.float32)
        except (TypeError, ValueError):
            raise BlazeforgeError(where, f"field '{key}.{name}' is not a numeric array") from None
        if arr.size == 0 and shape[0] == 0:
            arr = arr.reshape(shape)
        if arr.shape != tuple(shape):
            raise BlazeforgeError(where, f"field '{key}.{name}' has shape {list(arr.shape)}, expected {list(shape)}")
        if not np.isfinite(arr).all():
            raise BlazeforgeError(where, f"field '{key}.{name}' holds NaN or infinite values")
        out[name] = arr
    return out


def _boxes_from_keypoints(kp: np.ndarray) -> np.ndarray:
    if kp.shape[0] == 0:
        return np.zeros((0, 4), np.float32)
    return np.concatenate([kp[..., :2].min(1), kp[..., :2].max(1)], axis=-1).astype(np.float32)


def read_jsonl(path: str | Path, num_keypoints: int | None = None) -> Iterator[Sample]:
    """Samples of a labels JSONL file; a BlazeforgeError naming `path:line` on a bad record."""
    path = Path(path)
    if not path.is_file():
        raise BlazeforgeError(path, "label file not found")
    with path.open() as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise BlazeforgeError(where, f"not valid JSON ({e.msg})") from None
            yield Sample.from_json(record, where, num_keypoints)


def append_jsonl(path: str | Path, sample: Sample) -> None:
    """Append one sample as a line and flush it, so a killed writer loses at most that line."""
    with Path(path).open("a") as f:
        f.write(json.dumps(sample.to_json(), separators=(",", ":")) + "\n")
        f.flush()


def complete_lines(path: str | Path) -> int:
    """The complete JSON lines of a file `append_jsonl` writes (0 where it does not exist); a
    trailing partial line (a killed write) is cut off the file."""
    path = Path(path)
    if not path.is_file():
        return 0
    data = path.read_bytes()
    lines = data[: data.rfind(b"\n") + 1].splitlines()
    while lines:
        try:
            json.loads(lines[-1])
            break
        except json.JSONDecodeError:
            lines.pop()
    keep = b"".join(line + b"\n" for line in lines)
    if keep != data:
        path.write_bytes(keep)
    return len(lines)
