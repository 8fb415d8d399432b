"""Whole MakeHuman bodies: the pose library, posing with hinged elbows and knees, BlazePose's
keypoints on the mesh, and a tiny real render of two people."""

import cv2
import numpy as np
import pytest

from blazeforge.config import compose
from blazeforge.datasets.schema import read_jsonl
from blazeforge.errors import BlazeforgeError
from blazeforge.synthetic import body_poses, makehuman, makehuman_body
from blazeforge.synthetic.gestures import GESTURES
from blazeforge.synthetic.render import render
from blazeforge.topology.pose import NAMES, virtual_keypoints

K = {name: i for i, name in enumerate(NAMES)}
OPEN = {"left": GESTURES["open_palm"], "right": GESTURES["open_palm"]}


def _posed(name: str, identity=makehuman.Identity()):
    body = makehuman.Body.shaped(identity)
    posed = body.pose(makehuman_body.rotations(body, body_poses.POSES[name], np.random.default_rng(0), OPEN))
    return posed, makehuman_body.keypoints(posed)


def test_the_library_has_forty_named_poses_in_every_group():
    assert len(body_poses.POSES) >= 40
    assert {p.group for p in body_poses.POSES.values()} == set(body_poses.GROUPS)
    for name in ("standing", "walking", "sitting", "squat", "lunge", "plank", "warrior_1", "tree", "downward_dog"):
        assert name in body_poses.POSES


def test_mirroring_swaps_the_sides_and_blends_stay_in_their_group():
    tree = body_poses.POSES["tree"]
    assert tree.mirrored().left_leg == tree.right_leg and tree.mirrored().mirrored() == tree
    rng = np.random.default_rng(1)
    for _ in range(20):
        pose, name = body_poses.random_pose(rng, 1.0, 5.0, {"prone": 1.0})
        assert pose.group == "prone" and "+" in name
    with pytest.raises(ValueError, match="flying"):
        body_poses.random_pose(rng, 0.0, 0.0, {"flying": 1.0})


def test_keypoints_sit_where_mediapipe_puts_them_on_a_standing_body():
    _, k = _posed("standing")
    for name in NAMES:  # the body's left at +x
        side = name.split("_")[0] if name.split("_")[0] in ("left", "right") else name.split("_")[-1]
        if side in ("left", "right"):
            assert (k[K[name], 0] > 0) == (side == "left"), name
    assert k[K["nose"], 1] == k[:, 1].min() or k[K["nose"], 1] < k[K["left_ear"], 1]  # the nose in front (-y)
    assert k[K["left_eye"], 2] > k[K["mouth_left"], 2] > k[K["left_shoulder"], 2] > k[K["left_hip"], 2]
    assert k[K["left_hip"], 2] > k[K["left_knee"], 2] > k[K["left_ankle"], 2] > k[K["left_heel"], 2] - 0.05
    assert k[K["left_heel"], 1] > k[K["left_ankle"], 1] > k[K["left_foot_index"], 1]  # heel behind, toes ahead
    assert 1.4 < np.ptp(k[:, 2]) < 1.9  # nose to heel, metres


def test_elbows_and_knees_bend_as_hinges():
    _, squat = _posed("squat")
    # Knees forward of the hips and ankles (the shin leans back to the heel), never sideways inside out.
    assert squat[K["left_knee"], 1] < squat[K["left_hip"], 1] - 0.2
    assert squat[K["left_knee"], 1] < squat[K["left_ankle"], 1]
    _, crossed = _posed("arms_crossed")
    # The forearm turns in across the chest: the wrist ends nearer the midline than the elbow.
    assert abs(crossed[K["left_wrist"], 0]) < abs(crossed[K["left_elbow"], 0])
    _, kneel = _posed("kneeling")
    assert kneel[K["left_ankle"], 1] > kneel[K["left_knee"], 1] + 0.3  # shins back along the floor


def test_the_virtual_keypoints_are_the_hips_and_the_circle_above_them():
    posed, k = _posed("arms_up")
    body = posed.vertices[np.unique(makehuman.compiled()["faces"][makehuman.group_faces(("body",))])]
    hips, top = virtual_keypoints(k, body)
    np.testing.assert_allclose(hips, k[[K["left_hip"], K["right_hip"]]].mean(0))
    assert top[2] > k[:, 2].max()  # above every keypoint: the raised hands are inside the circle
    assert np.linalg.norm(top - hips) == pytest.approx(np.linalg.norm(body - hips, axis=1).max())


@pytest.mark.slow
def test_a_tiny_render_of_two_people_labels_each_with_its_own_mask(tmp_path):
    overrides = ["scene=bodies", "render.n=1", "render.shards=1", "render.resolution=128", "render.samples=2",
                 "scene.people=[2,2]", "scene.camera.distance_m=[4,6]"]  # fmt: skip
    assert render(compose("render", overrides), tmp_path)["rendered"] == 1
    sample = next(iter(read_jsonl(tmp_path / "shard-00000" / "labels.jsonl", num_keypoints=33)))
    assert sample.num_instances == 2 and sample.auxiliary.shape == (2, 2, 2)
    assert sample.meta["people"] == "2" and sample.meta["label_version"] == "bodies-v2" and "pose" in sample.meta
    mask = cv2.imread(str(tmp_path / "shard-00000" / sample.mask), cv2.IMREAD_GRAYSCALE)
    assert mask.shape == (128, 128) and set(np.unique(mask)) <= {0, 1, 2} and (mask == 1).any()
    assert set(np.unique(sample.visibility)) <= {0.0, 1.0} and sample.visibility[0].sum() > 10
    near = cv2.dilate((mask == 1).astype(np.uint8), np.ones((5, 5), np.uint8))
    for (x, y, _), v in zip(sample.keypoints[0], sample.visibility[0]):
        if v:
            assert near[int(y), int(x)] == 1  # a visible keypoint lies on its own person
    x0, y0, x1, y1 = sample.boxes[0]
    ys, xs = np.nonzero(mask == 1)
    assert (x0, y0, x1, y1) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    hips = sample.keypoints[0, [K["left_hip"], K["right_hip"]]].mean(0)
    np.testing.assert_allclose(sample.auxiliary[0, 0], hips[:2], atol=0.01)
    assert abs(hips[2]) < 0.5  # z relative to the hip centre
    labels = tmp_path / "shard-00000" / "labels.jsonl"
    first = labels.read_text()
    labels.unlink()  # lost: rendered again, the same
    assert render(compose("render", overrides), tmp_path)["rendered"] == 1 and labels.read_text() == first
    with pytest.raises(BlazeforgeError, match="scene.people"):
        render(compose("render", overrides[:-2] + ["scene.people=[1,4]"]), tmp_path / "bad")
    with pytest.raises(BlazeforgeError, match="scene.pose_groups"):
        render(compose("render", overrides + ["+scene.pose_groups.flying=1"]), tmp_path / "bad")
    with pytest.raises(BlazeforgeError, match="scene.pose_groups"):
        render(compose("render", overrides + ["scene.pose_groups.upright=-1"]), tmp_path / "bad")
