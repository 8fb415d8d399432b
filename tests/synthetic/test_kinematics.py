import numpy as np
import pytest

from blazeforge.synthetic.gestures import GESTURES, LIMITS, blend, clamp, random_pose
from blazeforge.synthetic.kinematics import LENGTHS, HandShape, forward_kinematics
from blazeforge.topology.hand import FINGERS, finger_chain


def test_the_library_has_at_least_30_gestures_within_limits():
    assert len(GESTURES) >= 30
    for name, pose in GESTURES.items():
        assert clamp(pose) == pose, name


@pytest.mark.parametrize("name", ["open_palm", "fist", "ok", "count_four"])
def test_forward_kinematics_keeps_bone_lengths(name):
    shape = HandShape(scale=1.1, finger_scale=(1.0, 0.95, 1.05, 1.0, 0.9))
    joints = forward_kinematics(GESTURES[name], shape)
    for f, finger in enumerate(FINGERS):
        chain = finger_chain(finger)
        lengths = np.linalg.norm(np.diff(joints[list(chain)], axis=0), axis=1)
        np.testing.assert_allclose(lengths, np.array(LENGTHS[finger]) * 1.1 * shape.finger_scale[f], rtol=1e-9)


def test_open_palm_points_up_and_a_fist_curls_towards_the_palm():
    open_palm = forward_kinematics(GESTURES["open_palm"])
    fist = forward_kinematics(GESTURES["fist"])
    assert open_palm[12, 1] > open_palm[9, 1] + 0.08  # middle tip well above its MCP
    assert fist[12, 1] < fist[9, 1] and fist[12, 2] > 0.01  # curled down, in front of the palm
    assert open_palm[4, 0] > 0.03  # a right thumb on +x


def test_left_hand_is_the_mirror_image():
    pose = GESTURES["victory"]
    right, left = forward_kinematics(pose), forward_kinematics(pose, left=True)
    np.testing.assert_allclose(left, right * [-1, 1, 1])


def test_random_poses_are_deterministic_and_clamped():
    a = random_pose(np.random.default_rng(3), noise_deg=40)
    b = random_pose(np.random.default_rng(3), noise_deg=40)
    assert a == b
    for finger, angles in a[0].items():
        for value, (lo, hi) in zip(angles, LIMITS[finger]):
            assert lo <= value <= hi
    mid = blend(GESTURES["fist"], GESTURES["open_palm"], 0.5)
    assert mid["index"][0] == pytest.approx((GESTURES["fist"]["index"][0] + GESTURES["open_palm"]["index"][0]) / 2)
