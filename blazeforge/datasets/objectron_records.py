"""Read Objectron's own records (tf.train.Example, the dataset's `v1/records_shuffled/*` files).

Each record is one frame: `image/encoded` (PNG or JPEG), `instance_num`, `point_2d` (per
instance 9 points x 3: x and y in [0, 1] of the image, then depth), `point_3d` (9 x 3 in the
camera's frame, metres), `object/visibility` (per instance), `object/name`, `camera/intrinsics`
(3 x 3 row-major), `plane/center` and `plane/normal`, `image/filename` (names the video). The
records' camera frame is ARKit's (x right, y up, z backward: the boxes lie at negative z); the
sample schema's is x right, y down, z forward, so y and z change sign (a half turn about x).

Instances with visibility of 0.1 or less are left out, as Objectron's own parser does. The
intrinsics are checked against the labels: where they do not project `point_3d` onto `point_2d`
within 1% of the image width (the released intrinsics are of the full-resolution capture while
the images are downscaled), fx, fy, cx, cy are fitted to the frame's labelled points instead
(least squares); the log says for how many frames. The box's pose
(`cuboid` rotation, translation, scale) is read off its 9 points (`geometry.cuboid.box_pose`).
Images are written once into `images_dir` (the builder takes files).
"""

from __future__ import annotations

import glob
import logging
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from blazeforge.datasets.schema import Sample
from blazeforge.errors import BlazeforgeError
from blazeforge.geometry.cuboid import box_pose

log = logging.getLogger(__name__)
VISIBILITY_THRESHOLD = 0.1  # Objectron's parser keeps instances above this
PNG_SIGNATURE = b"\x89PNG"
FLIP = np.array([1.0, -1.0, -1.0])  # ARKit's camera frame <-> the schema's


def _floats(feature, key: str) -> np.ndarray:
    return np.asarray(feature[key].float_list.value, np.float64) if key in feature else np.zeros(0)


def fit_intrinsics(points_3d: np.ndarray, pixels: np.ndarray) -> dict:
    """{fx, fy, cx, cy} projecting camera-space points [P, 3] (z forward) onto pixels [P, 2] best
    (least squares on x = fx X / Z + cx, y = fy Y / Z + cy)."""
    u = points_3d[:, :2] / points_3d[:, 2:]
    out = {}
    for axis, (f, c) in enumerate((("fx", "cx"), ("fy", "cy"))):
        a = np.c_[u[:, axis], np.ones(len(u))]
        (out[f], out[c]), *_ = np.linalg.lstsq(a, pixels[:, axis], rcond=None)
    return {k: float(out[k]) for k in ("fx", "fy", "cx", "cy")}


def _project(points: np.ndarray, camera: dict) -> np.ndarray:
    u = points[..., :2] / points[..., 2:]
    return u * [camera["fx"], camera["fy"]] + [camera["cx"], camera["cy"]]


def _sample(example, where: str, images_dir: Path, name: str) -> tuple[Path, Sample, bool]:
    """(image path, sample, whether the intrinsics were fitted) of one record."""
    f = example.features.feature
    if "image/encoded" not in f or not f["image/encoded"].bytes_list.value:
        raise BlazeforgeError(where, "missing field 'image/encoded' (the frame's PNG or JPEG)")
    encoded = f["image/encoded"].bytes_list.value[0]
    image = cv2.imdecode(np.frombuffer(encoded, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise BlazeforgeError(where, "'image/encoded' is not a PNG or JPEG image")
    h, w = image.shape[:2]
    n = int(f["instance_num"].int64_list.value[0]) if "instance_num" in f else 0
    p2, p3, vis = _floats(f, "point_2d"), _floats(f, "point_3d"), _floats(f, "object/visibility")
    for key, values, per in (("point_2d", p2, 27), ("point_3d", p3, 27), ("object/visibility", vis, 1)):
        if len(values) != n * per:
            raise BlazeforgeError(
                where, f"'{key}' holds {len(values)} values; expected {n * per} (instance_num {n} x {per})"
            )
    keep = vis > VISIBILITY_THRESHOLD
    pixels = (p2.reshape(n, 9, 3)[..., :2] * [w, h])[keep]
    camera_points = (p3.reshape(n, 9, 3) * FLIP)[keep]
    n = len(pixels)
    k = _floats(f, "camera/intrinsics")
    camera = {"fx": k[0], "fy": k[4], "cx": k[2], "cy": k[5]} if len(k) == 9 else None
    source = "record"
    if n and (camera is None or np.abs(_project(camera_points, camera) - pixels).max() > 0.01 * w):
        camera, source = fit_intrinsics(camera_points.reshape(-1, 3), pixels.reshape(-1, 2)), "fitted"
    if camera is None:
        raise BlazeforgeError(where, "missing field 'camera/intrinsics' (9 values) and no instance to fit them to")
    depth = (camera_points[..., 2] - camera_points[:, :1, 2]) * camera["fx"] / camera_points[:, :1, 2]
    poses = [box_pose(box) for box in camera_points]
    centre, normal = _floats(f, "plane/center"), _floats(f, "plane/normal")
    filename = f["image/filename"].bytes_list.value[0].decode() if "image/filename" in f else ""
    names = [v.decode() for v in f["object/name"].bytes_list.value] if "object/name" in f else []
    inside = (pixels >= 0).all(-1) & (pixels < [w, h]).all(-1)
    path = images_dir / (name + (".png" if encoded[:4] == PNG_SIGNATURE else ".jpg"))
    if not path.is_file():
        path.write_bytes(encoded)
    sample = Sample(
        image=str(path),
        width=w,
        height=h,
        keypoints=np.concatenate([pixels, depth[..., None]], axis=-1).astype(np.float32).reshape(n, 9, 3),
        keypoint_mask=np.ones((n, 9, 3), bool),
        visibility=inside.astype(np.float32).reshape(n, 9),
        boxes=np.array([[*p[1:].min(0), *p[1:].max(0)] for p in pixels], np.float32).reshape(n, 4),
        presence=np.ones(n, np.float32),
        handedness=np.full(n, 0.5, np.float32),
        keypoints_camera=camera_points.astype(np.float32).reshape(n, 9, 3),
        camera=camera,
        cuboid={
            "rotation": np.array([r for r, _, _ in poses]).reshape(n, 3, 3),
            "translation": np.array([t for _, t, _ in poses]).reshape(n, 3),
            "scale": np.array([s for _, _, s in poses]).reshape(n, 3),
        },
        plane={"point": centre * FLIP, "normal": normal * FLIP} if len(centre) == 3 == len(normal) else None,
        meta={
            "source": "real",
            "subject_id": str(Path(filename).parent) if filename else name,
            "category": names[0].split("/")[0] if names else "",
        },
    )
    return path, sample, source == "fitted"


def read_objectron(pattern: str, images_dir: str | Path) -> Iterator[tuple[Path, Sample]]:
    """Samples of the Objectron records matching `pattern` (a file or a glob), their images
    written into images_dir; one-line errors naming the file and record for malformed ones."""
    import tensorflow as tf

    files = sorted(glob.glob(str(pattern)))
    if not files:
        raise BlazeforgeError(f"objectron={pattern}", "no file matches: expected Objectron tf.Example records")
    images_dir = Path(images_dir)
    images_dir.mkdir(parents=True, exist_ok=True)
    frames = fitted = 0
    for file in files:
        try:
            for i, raw in enumerate(tf.data.TFRecordDataset(file).as_numpy_iterator()):
                where = f"{file} (record {i})"
                try:
                    example = tf.train.Example.FromString(raw)
                except Exception:  # noqa: BLE001  (protobuf's DecodeError)
                    raise BlazeforgeError(where, "not a tf.train.Example") from None
                path, sample, refit = _sample(example, where, images_dir, f"{Path(file).name}-{i:06d}")
                frames, fitted = frames + 1, fitted + refit
                yield path, sample
        except tf.errors.DataLossError:
            raise BlazeforgeError(file, "not a TFRecord file (or truncated)") from None
    log.info("objectron: %d frames from %d files; intrinsics fitted to the labels in %d", frames, len(files), fitted)
