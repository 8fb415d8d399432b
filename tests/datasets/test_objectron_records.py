"""Objectron's own records (tf.train.Example) read into the sample schema: the boxes come back in
the schema's camera frame, the pose is read off the points, downscaled frames get fitted
intrinsics, malformed records are one line."""

import cv2
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from blazeforge.datasets import build, load
from blazeforge.engine import configure
from blazeforge.errors import BlazeforgeError
from blazeforge.geometry.cuboid import box_keypoints

W, H, F = 120, 160, 140.0  # a portrait frame, its focal length in pixels


def _box(yaw: float, x: float):
    """A box on the floor 0.3 m below the camera, in the schema's frame (y down, z forward)."""
    c, s = np.cos(yaw), np.sin(yaw)
    rotation = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]) @ np.diag([1.0, -1.0, -1.0])
    scale = np.array([0.2, 0.15, 0.25])
    return box_keypoints(rotation, np.array([x, 0.3 - scale[1] / 2, 1.6]), scale), rotation, scale


def _record(boxes, intrinsics_scale=1.0, drop=None, visibility=1.0):
    """One record as Objectron writes it: ARKit's frame (y up, z backward), point_2d in [0, 1]."""
    pixels = [b[:, :2] / b[:, 2:] * F + [W / 2, H / 2] for b in boxes]
    image = np.full((H, W, 3), 90, np.uint8)
    for p in pixels:
        cv2.fillConvexPoly(image, cv2.convexHull(p[1:].astype(np.float32)).astype(np.int32), (200, 60, 30))
    flip = np.array([1.0, -1.0, -1.0])
    m = intrinsics_scale  # the released intrinsics are of the full-resolution capture
    k = np.array([F * m, 0, W / 2 * m, 0, F * m, H / 2 * m, 0, 0, 1])
    feature = {
        "image/encoded": [cv2.imencode(".png", image)[1].tobytes()],
        "image/filename": [b"box/batch-1/7/frame_0003.png"],
        "instance_num": [len(boxes)],
        "point_2d": np.concatenate([np.c_[p / [W, H], b[:, 2]] for p, b in zip(pixels, boxes)]).ravel(),
        "point_3d": np.concatenate([b * flip for b in boxes]).ravel(),
        "object/visibility": [visibility] * len(boxes),
        "object/name": [b"box"] * len(boxes),
        "camera/intrinsics": k,
        "plane/center": np.array([0.0, 0.3, 1.6]) * flip,
        "plane/normal": np.array([0.0, -1.0, 0.0]) * flip,
    }
    if drop:
        del feature[drop]

    def as_feature(v):
        if isinstance(v[0], bytes):
            return tf.train.Feature(bytes_list=tf.train.BytesList(value=v))
        if isinstance(v[0], int | np.integer):
            return tf.train.Feature(int64_list=tf.train.Int64List(value=v))
        return tf.train.Feature(float_list=tf.train.FloatList(value=v))

    return tf.train.Example(features=tf.train.Features(feature={k: as_feature(v) for k, v in feature.items()}))


def _write(path, examples):
    with tf.io.TFRecordWriter(str(path)) as writer:
        for e in examples:
            writer.write(e.SerializeToString())
    return path


def test_records_read_into_the_schema_with_poses_and_intrinsics(tmp_path):
    (a, ra, sa), (b, _, _) = _box(0.4, -0.2), _box(-1.0, 0.25)
    records = [_record([a, b]), _record([a], intrinsics_scale=3.0), _record([b], visibility=0.05)]
    _write(tmp_path / "box_train-00000-of-00001", records)
    cfg = configure(
        "datasets", ["data=objects", f"objectron={tmp_path}/box_train*", "data.split.val=0", "data.split.test=0"]
    )
    summary = build(cfg, tmp_path / "data")
    assert summary["splits"]["train"] == 3 and summary["sources"]["objectron"].endswith("box_train*")
    frames = sorted(tfds.as_numpy(load(tmp_path / "data", "train")), key=lambda ex: -len(ex["keypoints"]))
    two, one, none = frames
    assert len(two["keypoints"]) == 2 and len(one["keypoints"]) == 1 and len(none["keypoints"]) == 0  # vis 0.05: out
    np.testing.assert_allclose(two["keypoints_camera"][0], a, atol=1e-5)  # back in the schema's frame
    np.testing.assert_allclose(two["cuboid_rotation"][0], ra, atol=1e-5)
    np.testing.assert_allclose(two["cuboid_scale"][0], sa, atol=1e-5)
    np.testing.assert_allclose(two["plane"], [0, 0.3, 1.6, 0, -1, 0], atol=1e-6)
    for frame in (two, one):  # the recorded intrinsics, or (3x too large) the fitted ones: the same camera
        np.testing.assert_allclose(frame["camera"], [F, F, W / 2, H / 2], rtol=1e-3)
    projected = a[:, :2] / a[:, 2:] * F + [W / 2, H / 2]
    np.testing.assert_allclose(one["keypoints"][0][:, :2], projected, atol=1e-3)
    assert one["image"].shape == (H, W, 3) and one["subject_id"] == b"box/batch-1/7"


@pytest.mark.parametrize(
    "drop, message",
    [
        ("point_3d", "'point_3d' holds 0 values; expected 27 (instance_num 1 x 27)"),
        ("image/encoded", "missing field 'image/encoded'"),
    ],
)
def test_a_malformed_record_is_one_line_naming_file_and_record(tmp_path, drop, message):
    path = _write(tmp_path / "r.tfrecord", [_record([_box(0.0, 0.0)[0]]), _record([_box(0.0, 0.0)[0]], drop=drop)])
    cfg = configure("datasets", ["data=objects", f"objectron={path}"])
    with pytest.raises(BlazeforgeError, match="record 1") as error:
        build(cfg, tmp_path / "data")
    assert message in str(error.value)


def test_records_need_the_object_topology(tmp_path):
    path = _write(tmp_path / "r.tfrecord", [_record([_box(0.0, 0.0)[0]])])
    with pytest.raises(BlazeforgeError, match="expected data=objects"):
        build(configure("datasets", ["data=hands", f"objectron={path}"]), tmp_path / "data")
