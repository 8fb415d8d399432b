"""BlazePose's topology: names in MediaPipe's order, flips, torso size, the virtual keypoints."""

import numpy as np

from blazeforge.topology.pose import NAMES, POSE, torso_size, virtual_keypoints


def test_names_follow_mediapipes_order_and_flips_swap_left_and_right():
    assert NAMES[0] == "nose" and NAMES[11:13] == ("left_shoulder", "right_shoulder")
    assert NAMES[23] == "left_hip" and NAMES[32] == "right_foot_index"
    perm = POSE.flip_permutation()
    assert all(NAMES[perm[i]].replace("right", "left") == NAMES[i].replace("right", "left") for i in range(33))
    assert perm[15] == 16 and perm[0] == 0


def test_torso_size_and_the_virtual_keypoints():
    points = np.zeros((33, 2))
    points[[11, 12]] = (-10, -40), (10, -40)  # shoulders 40 px above the hips
    points[[23, 24]] = (-8, 0), (8, 0)
    assert torso_size(points) == 40.0
    body = np.array([[0, -100], [30, 50]])  # the body's farthest point from the hip centre: 100 px up
    hips, scale = virtual_keypoints(points, body)
    np.testing.assert_allclose(hips, (0, 0))
    np.testing.assert_allclose(scale, (0, -100))  # along hips -> shoulders, at the body's radius
