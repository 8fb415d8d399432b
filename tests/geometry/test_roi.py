import math

import numpy as np
import pytest

from blazeforge.geometry.roi import (
    Roi,
    crop_image,
    crop_to_image,
    hand_roi,
    image_to_crop,
    normalize_radians,
    rotation_from_points,
)


def upright_hand(center=(100.0, 120.0), scale=10.0, angle=0.0):
    """A 21-point hand pointing up (fingers at smaller y), rotated by `angle` about its wrist."""
    xy = np.zeros((21, 2))
    xy[0] = (0, 0)
    for f, dx in enumerate((-3.0, -1.5, 0.0, 1.5, 3.0)):
        for j in range(4):
            xy[1 + 4 * f + j] = (dx * (1 + 0.1 * j), -(3 + 1.5 * j) if f else -(1 + j))
    c, s = math.cos(angle), math.sin(angle)
    xy = xy @ np.array([[c, s], [-s, c]])
    return xy * scale + np.asarray(center)


def test_normalize_radians_wraps_into_half_open_interval():
    assert normalize_radians(math.pi) == pytest.approx(-math.pi)
    assert normalize_radians(3 * math.pi / 2) == pytest.approx(-math.pi / 2)
    assert normalize_radians(0.25) == pytest.approx(0.25)


def test_rotation_is_zero_for_a_vector_pointing_up_and_quarter_turn_pointing_right():
    assert rotation_from_points(np.array([0, 0]), np.array([0, -1])) == pytest.approx(0)
    assert rotation_from_points(np.array([0, 0]), np.array([1, 0])) == pytest.approx(math.pi / 2)


@pytest.mark.parametrize("angle", [0.0, 0.7, -2.0, 3.0])
def test_hand_roi_puts_the_fingers_up_in_the_crop(angle):
    xy = upright_hand(angle=angle)
    roi = hand_roi(xy)
    assert roi.width == pytest.approx(roi.height)
    crop = image_to_crop(xy, roi, 224)
    assert crop[9, 1] < crop[0, 1] - 20  # middle MCP above the wrist
    assert abs(crop[9, 0] - crop[0, 0]) < 0.25 * abs(crop[9, 1] - crop[0, 1])
    assert ((crop > 0) & (crop < 224)).all()  # the hand is inside its crop


def test_roi_shift_moves_along_the_rotated_axis():
    roi = Roi(50, 50, 10, 10, rotation=math.pi / 2).transformed(shift_y=-0.5, square_long=False)
    # Up in the crop is +x in the image at a quarter turn.
    assert (roi.cx, roi.cy) == (pytest.approx(55), pytest.approx(50))


def test_crop_and_image_projections_are_inverse_including_z():
    roi = Roi(80, 60, 50, 50, 0.4)
    pts = np.random.default_rng(0).uniform(0, 128, (21, 3))
    back = crop_to_image(image_to_crop(pts, roi, 128), roi, 128)
    np.testing.assert_allclose(back, pts, atol=1e-9)
    assert image_to_crop(pts, roi, 128)[0, 2] == pytest.approx(pts[0, 2] * 128 / 50)


def test_crop_image_samples_the_point_the_projection_names():
    image = np.zeros((200, 240, 3), np.uint8)
    image[70, 150] = 255  # pixel centre (150.5, 70.5)
    roi = Roi(140, 80, 60, 60, 0.3)
    crop = crop_image(image, roi, 120, sampling="centers")
    u, v = image_to_crop(np.array([150.5, 70.5]), roi, 120)
    peak = np.unravel_index(crop[..., 0].argmax(), crop.shape[:2])
    assert abs(peak[1] + 0.5 - u) <= 1.0 and abs(peak[0] + 0.5 - v) <= 1.0


def test_mediapipe_sampling_maps_pixel_index_to_pixel_index_and_replicates_the_edge():
    image = np.zeros((64, 64, 3), np.uint8)
    image[8, 12] = 255
    image[:, -1] = 200  # the right edge column
    crop = crop_image(image, Roi(32, 32, 64, 64, 0.0), 16)  # 4x down: crop (i, j) reads image (4i, 4j)
    assert crop[2, 3, 0] == 255 and crop[..., 0].sum() == 255
    wide = crop_image(image, Roi(48, 32, 64, 64, 0.0), 16)  # half of it right of the image
    assert (wide[:, 12:, 0] == 200).all()  # the edge, replicated
    zeros = crop_image(image, Roi(48, 32, 64, 64, 0.0), 16, border="constant")
    assert (zeros[:, 13:, 0] == 0).all()


def test_corners_span_the_rotated_rectangle():
    corners = Roi(0, 0, 4, 2, 0).corners()
    np.testing.assert_allclose(corners, [[-2, -1], [2, -1], [2, 1], [-2, 1]])


def test_rectangular_crops_map_both_ways_and_letterbox_to_the_input_aspect():
    from blazeforge.geometry.roi import letterbox_roi

    view = letterbox_roi(256, 256, aspect=480 / 640)  # a square frame into the published portrait input
    assert (view.width, view.height) == pytest.approx((256, 256 * 640 / 480))
    wide = letterbox_roi(640, 360, aspect=480 / 640)
    assert (wide.width, wide.height) == pytest.approx((640, 640 * 640 / 480))
    roi = Roi(120.0, 90.0, 60.0, 80.0, 0.4)
    points = np.random.default_rng(0).uniform(0, 200, (7, 2))
    np.testing.assert_allclose(crop_to_image(image_to_crop(points, roi, (48, 64)), roi, (48, 64)), points, atol=1e-9)
    corners = crop_to_image(np.array([[0, 0], [48, 0], [48, 64]]), roi, (48, 64))
    assert np.linalg.norm(corners[1] - corners[0]) == pytest.approx(60) and np.linalg.norm(
        corners[2] - corners[1]
    ) == pytest.approx(80)
    image = np.zeros((200, 240, 3), np.uint8)
    assert crop_image(image, roi, (48, 64)).shape == (64, 48, 3)
