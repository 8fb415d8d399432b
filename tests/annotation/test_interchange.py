"""COCO, CVAT and Label Studio round trips keep points (to 1/1000 px), labels and visibility."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from blazeforge import topology
from blazeforge.annotation import interchange
from blazeforge.datasets.schema import Sample
from blazeforge.errors import BlazeforgeError


def _samples(folder, topo, n=3, seed=0):
    rng = np.random.default_rng(seed)
    samples = []
    for s in range(n):
        name = f"img/{s}.png"
        (folder / "img").mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / name), np.zeros((120, 160, 3), np.uint8))
        count = 1 + s % 2
        k = topo.num_keypoints
        points = np.zeros((count, k, 3), np.float32)
        points[..., :2] = np.round(rng.uniform([0, 0], [160, 120], (count, k, 2)), 3)
        labelled = rng.random((count, k)) > 0.2
        points[~labelled] = 0
        mask = np.stack([labelled, labelled, np.zeros_like(labelled)], -1)
        visibility = ((rng.random((count, k)) > 0.3) & labelled).astype(np.float32)
        boxes = np.stack([np.r_[p[m, :2].min(0), p[m, :2].max(0)] for p, m in zip(points, labelled)]).astype(np.float32)
        samples.append(
            Sample(
                image=name,
                width=160,
                height=120,
                keypoints=points,
                keypoint_mask=mask,
                visibility=visibility,
                boxes=boxes,
                presence=np.ones(count, np.float32),
                handedness=np.asarray([1.0, 0.0][:count], np.float32),
                meta={"source": "real", "subject_id": f"p{s}", "annotator": "ann-a"},
            )
        )
    return samples


@pytest.mark.parametrize("fmt", ["schema", "coco", "cvat", "labelstudio"])
@pytest.mark.parametrize("name", ["hand", "pose"])
def test_round_trips_keep_points_visibility_and_labels(tmp_path, fmt, name):
    topo = topology.get(name)
    samples = _samples(tmp_path, topo)
    path = interchange.write(samples, tmp_path / f"labels{interchange.FORMATS[fmt].suffix}", fmt, topo)
    back = interchange.read(path, fmt, topo)
    assert [b.image for b in back] == [s.image for s in samples]
    for a, b in zip(samples, back):
        assert b.keypoints.shape == a.keypoints.shape
        np.testing.assert_array_equal(b.keypoint_mask[..., :2], a.keypoint_mask[..., :2])
        np.testing.assert_allclose(b.keypoints[..., :2], a.keypoints[..., :2], atol=1e-3)
        np.testing.assert_array_equal(b.visibility, a.visibility)
        np.testing.assert_allclose(b.boxes, a.boxes, atol=1e-3)
        if name == "hand" or fmt in ("schema", "coco", "cvat"):
            np.testing.assert_array_equal(b.handedness, a.handedness)
        assert (b.meta["subject_id"], b.meta["annotator"]) == (a.meta["subject_id"], "ann-a")


def test_a_file_of_another_topology_is_one_clear_error(tmp_path):
    hand, face = topology.get("hand"), topology.get("face_mesh")
    samples = _samples(tmp_path, hand, n=1)
    for fmt in ("coco", "cvat"):
        path = interchange.write(samples, tmp_path / f"hands{interchange.FORMATS[fmt].suffix}", fmt, hand)
        with pytest.raises(BlazeforgeError, match="are not the face_mesh topology's 468"):
            interchange.read(path, fmt, face)
    path = interchange.write(samples, tmp_path / "ls.json", "labelstudio", hand)
    with pytest.raises(BlazeforgeError, match="'wrist' is not one of the face_mesh topology's"):
        interchange.read(path, "labelstudio", face)


def test_coco_person_files_of_17_points_import_into_the_pose_topology(tmp_path):
    pose = topology.get("pose")
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((50, 60, 3), np.uint8))
    names = [pose.names[i] for i in pose.coco_points]
    keypoints = [c for k in range(17) for c in (k + 1.5, 2.0 * k + 0.25, 2 if k % 2 else 1)]
    data = {
        "images": [{"id": 7, "file_name": "a.png", "width": 60, "height": 50}],
        "annotations": [{"id": 1, "image_id": 7, "category_id": 1, "keypoints": keypoints}],
        "categories": [{"id": 1, "name": "person", "keypoints": names}],
    }
    (tmp_path / "p.json").write_text(json.dumps(data))
    (sample,) = interchange.read(tmp_path / "p.json", "coco", pose)
    at = list(pose.coco_points)
    np.testing.assert_allclose(sample.keypoints[0, at, 0], np.arange(17) + 1.5)
    assert sample.keypoint_mask[0, at, :2].all() and not np.delete(sample.keypoint_mask[0], at, 0).any()
    np.testing.assert_array_equal(sample.visibility[0, at], np.arange(17) % 2)


@pytest.mark.parametrize("bad", ["../outside.png", "/etc/passwd", "a/../../b.png"])
def test_image_paths_that_escape_the_folder_are_refused(tmp_path, bad):
    hand = topology.get("hand")
    samples = _samples(tmp_path, hand, n=1)
    samples[0].image = bad
    for fmt in ("cvat", "labelstudio", "coco"):
        path = interchange.write(samples, tmp_path / f"x{interchange.FORMATS[fmt].suffix}", fmt, hand)
        with pytest.raises(BlazeforgeError, match="must be relative to the image folder"):
            interchange.read(path, fmt, hand)
