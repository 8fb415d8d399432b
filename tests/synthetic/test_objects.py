"""Objectron's categories as parametric meshes, canonical rotations of symmetric objects, and a
tiny real render of a two-frame clip of two objects: boxes, masks, ground plane, EPnP."""

import math

import cv2
import numpy as np
import pytest

from blazeforge.config import compose
from blazeforge.datasets.schema import read_jsonl
from blazeforge.errors import BlazeforgeError
from blazeforge.geometry.cuboid import box_keypoints, box_size, iou_3d, lift_box
from blazeforge.synthetic import objects
from blazeforge.synthetic.render import render


@pytest.mark.parametrize("category", objects.CATEGORIES)
def test_every_category_is_a_closed_box_of_varied_instances(category):
    rng = np.random.default_rng(0)
    shapes = [objects.random_shape(rng, category) for _ in range(5)]
    for shape in shapes:
        v = shape.vertices
        np.testing.assert_allclose(v.min(0), -v.max(0), atol=1e-9)  # the tight box centred at 0
        assert shape.faces.min() == 0 and shape.faces.max() < len(v) and shape.faces.shape[1] == 3
        assert len(shape.parts) == len(shape.faces) and shape.parts.max() < len(shape.part_names)
        assert (0.01 < shape.scale).all() and (shape.scale < 1.2).all()  # metres: table-top objects and chairs
        assert shape.symmetry in objects.SYMMETRIES
    sizes = np.stack([s.scale for s in shapes])
    assert (np.ptp(sizes, axis=0) > 0.005).any()  # instances differ
    with pytest.raises(ValueError, match="sofa"):
        objects.random_shape(rng, "sofa")


def test_a_cup_without_a_handle_is_axial_and_with_one_is_not():
    rng = np.random.default_rng(2)
    shapes = [objects.random_shape(rng, "cup") for _ in range(30)]
    assert {s.symmetry for s in shapes} == {"axial", "none"}
    for s in shapes:
        assert (s.symmetry == "none") == s.params["handle"]
        if s.symmetry == "axial":
            assert s.scale[0] == pytest.approx(s.scale[2])  # a round footprint


@pytest.mark.parametrize("symmetry", ["axial", "half-turn"])
def test_the_canonical_rotation_faces_the_camera_and_keeps_the_object_boxed(symmetry):
    rng = np.random.default_rng(3)
    scale = np.array([0.08, 0.12, 0.08]) if symmetry == "axial" else np.array([0.2, 0.3, 0.06])
    for _ in range(20):
        q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        rotation = q * np.sign(np.linalg.det(q))
        translation = np.array([0.1, -0.05, 0.8])
        canonical = objects.canonical_rotation(rotation, translation, symmetry)
        eye = -canonical.T @ translation  # the camera in the object's frame
        assert eye[2] >= 0 and np.linalg.det(canonical) == pytest.approx(1)
        if symmetry == "axial":
            assert abs(eye[0]) < 1e-9
        np.testing.assert_allclose(canonical[:, 1], rotation[:, 1], atol=1e-12)  # the up axis stays
        box, other = box_keypoints(rotation, translation, scale), box_keypoints(canonical, translation, scale)
        if symmetry == "half-turn":  # the same box, its vertices renumbered
            assert iou_3d(box, other) == pytest.approx(1, abs=1e-6)
        else:  # another tight box of the same round object: its top and bottom at the same heights
            up = rotation[:, 1]
            np.testing.assert_allclose(np.sort(box @ up), np.sort(other @ up), atol=1e-9)
    assert (objects.canonical_rotation(rotation, translation, "none") == rotation).all()


@pytest.mark.slow
def test_a_tiny_clip_of_two_objects_labels_boxes_masks_and_the_ground(tmp_path):
    overrides = ["scene=objects", "scene.category=chair", "scene.objects=[2,2]", "scene.sequence_length=2",
                 "render.n=2", "render.shards=1", "render.resolution=96", "render.samples=2"]  # fmt: skip
    assert render(compose("render", overrides), tmp_path)["rendered"] == 2
    frames = list(read_jsonl(tmp_path / "shard-00000" / "labels.jsonl", num_keypoints=9))
    assert [s.meta["subject_id"] for s in frames] == ["synthetic-0-0-0"] * 2  # one clip: one split
    for sample in frames:
        assert sample.num_instances == 2 and sample.meta["category"] == "chair"
        assert sample.meta["label_version"] == "objects-v1"
        mask = cv2.imread(str(tmp_path / "shard-00000" / sample.mask), cv2.IMREAD_GRAYSCALE)
        assert set(np.unique(mask)) <= {0, 1, 2}
        plane_point, normal = sample.plane["point"], sample.plane["normal"]
        for i in range(2):
            c = sample.cuboid
            box = box_keypoints(c["rotation"][i], c["translation"][i], c["scale"][i])
            np.testing.assert_allclose(sample.keypoints_camera[i], box, atol=2e-5)
            fx, cx = sample.camera["fx"], sample.camera["cx"]
            np.testing.assert_allclose(sample.keypoints[i, :, :2], box[:, :2] / box[:, 2:] * fx + cx, atol=2e-3)
            heights = (box[1:] - plane_point) @ normal
            assert np.sort(heights)[:4] == pytest.approx([0] * 4, abs=1e-4)  # standing on the ground
            assert heights.max() == pytest.approx(c["scale"][i][1], rel=1e-3)  # upright
            ys, xs = np.nonzero(mask == i + 1)
            if len(xs):  # the object's pixels lie inside its projected box
                lo, hi = sample.keypoints[i, 1:, :2].min(0), sample.keypoints[i, 1:, :2].max(0)
                assert xs.min() >= lo[0] - 1.5 and xs.max() <= hi[0] + 1.5
                assert ys.min() >= lo[1] - 1.5 and ys.max() <= hi[1] + 1.5
            # EPnP on the labelled projections recovers the box up to scale, within 1% of its size.
            lifted = lift_box(sample.keypoints[i, :, :2], sample.camera) * box[0, 2]
            assert np.abs(lifted - box).max() < 0.01 * box_size(box).max()
    first, second = frames
    np.testing.assert_allclose(first.cuboid["scale"], second.cuboid["scale"])  # the clip's objects ...
    assert not np.allclose(first.cuboid["translation"], second.cuboid["translation"])  # ... seen as the camera moves
    turn = first.cuboid["rotation"][0].T @ first.cuboid["rotation"][1]
    np.testing.assert_allclose(turn, second.cuboid["rotation"][0].T @ second.cuboid["rotation"][1], atol=1e-4)
    assert math.isfinite(float(first.camera["fx"]))
    with pytest.raises(BlazeforgeError, match="scene.category"):
        render(compose("render", overrides + ["scene.category=sofa"]), tmp_path / "bad")
    with pytest.raises(BlazeforgeError, match="scene.objects"):
        render(compose("render", overrides + ["scene.objects=[1,4]"]), tmp_path / "bad")
