"""Objectron's boxes: layout, exact 3D IoU against known overlaps and an independent hull, EPnP."""

import numpy as np
import pytest

from blazeforge.geometry.cuboid import (
    EDGES,
    UNIT_BOX,
    box_keypoints,
    box_size,
    iou_3d,
    lift_box,
    scale_to_plane,
    scale_to_size,
)


def _rotation(axis, degrees):
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    t = np.radians(degrees)
    return np.eye(3) + np.sin(t) * k + (1 - np.cos(t)) * k @ k


def test_vertex_layout_is_objectrons():
    assert UNIT_BOX[1].tolist() == [-0.5, -0.5, -0.5] and UNIT_BOX[2].tolist() == [-0.5, -0.5, 0.5]
    assert UNIT_BOX[5].tolist() == [0.5, -0.5, -0.5] and UNIT_BOX[8].tolist() == [0.5, 0.5, 0.5]
    for k, axis in ((0, 0), (4, 1), (8, 2)):  # each group of 4 edges runs along one axis
        for i, j in EDGES[k : k + 4]:
            delta = UNIT_BOX[j] - UNIT_BOX[i]
            assert delta[axis] == 1 and np.count_nonzero(delta) == 1


@pytest.mark.parametrize(
    ("b", "expected"),
    [
        (box_keypoints(np.eye(3), [0, 0, 0], [1, 1, 1]), 1.0),  # identical
        (box_keypoints(np.eye(3), [3, 0, 0], [1, 1, 1]), 0.0),  # disjoint
        (box_keypoints(np.eye(3), [0.5, 0, 0], [1, 1, 1]), 1 / 3),  # shifted by half its side
        (box_keypoints(np.eye(3), [1, 0, 0], [1, 1, 1]), 0.0),  # touching
        (box_keypoints(np.eye(3), [0, 0, 0], [0.5, 0.5, 0.5]), 1 / 8),  # inside
        (box_keypoints(_rotation([0, 1, 0], 45), [0, 0, 0], [1, 1, 1]), 1 / np.sqrt(2)),  # an octagonal prism
    ],
)
def test_iou_of_boxes_with_known_overlap(b, expected):
    a = box_keypoints(np.eye(3), [0, 0, 0], [1, 1, 1])
    assert iou_3d(a, b) == pytest.approx(expected, abs=1e-9)
    assert iou_3d(b, a) == pytest.approx(expected, abs=1e-9)


def test_iou_equals_an_independent_convex_hull_computation():
    from scipy.optimize import linprog
    from scipy.spatial import ConvexHull, HalfspaceIntersection

    def halfspaces(box):  # A x + c <= 0 from the hull of the 8 vertices
        return ConvexHull(box[1:]).equations

    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(40):
        boxes = [
            box_keypoints(
                _rotation(rng.normal(size=3), rng.uniform(0, 180)), rng.uniform(-0.4, 0.4, 3), rng.uniform(0.5, 1.5, 3)
            )
            for _ in range(2)
        ]
        ours = iou_3d(*boxes)
        h = np.concatenate([halfspaces(boxes[0]), halfspaces(boxes[1])])
        norm = np.linalg.norm(h[:, :3], axis=1)
        res = linprog([0, 0, 0, -1], A_ub=np.c_[h[:, :3], norm], b_ub=-h[:, 3], bounds=[(None, None)] * 3 + [(0, None)])
        if res.x[3] < 1e-6:  # no interior point: the boxes do not overlap
            assert ours == pytest.approx(0.0, abs=1e-9)
            continue
        inter = ConvexHull(HalfspaceIntersection(h, res.x[:3]).intersections).volume
        volumes = [ConvexHull(b[1:]).volume for b in boxes]
        assert ours == pytest.approx(inter / (sum(volumes) - inter), rel=1e-7)
        checked += 1
    assert checked > 20


def test_epnp_lifts_a_projected_box_up_to_scale():
    camera = {"fx": 500.0, "fy": 520.0, "cx": 240.0, "cy": 320.0}
    box = box_keypoints(_rotation([0.3, 1, 0.2], 70), [0.2, 0.1, 1.8], [0.3, 0.2, 0.45])
    pixels = np.stack(
        [camera["fx"] * box[:, 0] / box[:, 2] + camera["cx"], camera["fy"] * box[:, 1] / box[:, 2] + camera["cy"]],
        axis=1,
    )
    lifted = lift_box(pixels, camera)
    assert lifted[0, 2] == pytest.approx(1.0)
    scaled = scale_to_size(lifted, [0.3, 0.2, 0.45])
    assert np.abs(scaled - box).max() < 0.01 * 0.2  # within 1% of its smallest side
    np.testing.assert_allclose(box_size(scaled), [0.3, 0.2, 0.45], rtol=1e-6)
    noisy = lift_box(pixels + np.random.default_rng(1).normal(0, 0.5, pixels.shape), camera)
    assert iou_3d(scale_to_size(noisy, [0.3, 0.2, 0.45]), box) > 0.8  # half-pixel noise


def test_scale_to_plane_rests_the_box_on_the_ground():
    camera = {"fx": 400.0, "fy": 400.0, "cx": 200.0, "cy": 200.0}
    # a box on the ground 1.2 m below the camera (y down), its y axis pointing up
    rotation = _rotation([0, 1, 0], 30) @ np.diag([1.0, -1.0, -1.0])
    box = box_keypoints(rotation, [0.1, 1.2 - 0.15, 2.5], [0.4, 0.3, 0.5])
    pixels = np.stack([400 * box[:, 0] / box[:, 2] + 200, 400 * box[:, 1] / box[:, 2] + 200], axis=1)
    rested = scale_to_plane(lift_box(pixels, camera), plane_point=[0, 1.2, 0], plane_normal=[0, -1, 0])
    np.testing.assert_allclose(rested, box, atol=1e-6)


def test_iou_holds_for_boxes_stored_in_float32():
    """Labelled boxes are parallelepipeds only to float32's precision: nearly coplanar faces must
    neither vanish nor count twice."""
    rng = np.random.default_rng(3)
    for _ in range(20):
        box = box_keypoints(_rotation(rng.normal(size=3), rng.uniform(0, 180)), [0.1, 0.4, 1.5], [0.2, 0.3, 0.07])
        stored = box.astype(np.float32).astype(np.float64)
        nudged = box + rng.normal(0, 1e-5, box.shape)
        assert iou_3d(stored, box) == pytest.approx(1.0, abs=1e-5)
        assert iou_3d(nudged, stored) == pytest.approx(1.0, abs=2e-3)
        assert iou_3d(box_keypoints(np.eye(3), [5, 0, 0], [1, 1, 1]), stored) == 0.0


def test_fit_upright_stands_the_box_on_the_plane_and_resists_noise():
    from blazeforge.geometry.cuboid import fit_upright, project

    camera = {"fx": 300.0, "fy": 300.0, "cx": 128.0, "cy": 128.0}
    plane = (np.array([0.0, 1.2, 0.0]), np.array([0.0, -0.96, -0.28]))  # the ground, tilted towards the camera
    up = plane[1] / np.linalg.norm(plane[1])
    rng = np.random.default_rng(4)
    gains = []
    for _ in range(12):
        x = np.cross(up, [0.0, 0.0, 1.0])
        x = _rotation(up, rng.uniform(0, 360)) @ (x / np.linalg.norm(x))
        size = rng.uniform([0.1, 0.1, 0.03], [0.3, 0.3, 0.15])
        foot = plane[0] + np.array([rng.uniform(-0.3, 0.3), 0.0, rng.uniform(2.0, 2.6)])
        foot -= ((foot - plane[0]) @ up) * up
        box = box_keypoints(np.stack([x, up, np.cross(x, up)], 1), foot + up * size[1] / 2, size)
        pixels = project(box[1:], camera)
        np.testing.assert_allclose(fit_upright(lift_box(pixels, camera), pixels, camera, *plane), box, atol=1e-5)
        noisy = pixels + rng.normal(0, 3.0, pixels.shape)
        lifted = lift_box(noisy, camera)
        fitted = fit_upright(lifted, noisy, camera, *plane)
        assert abs((fitted[3] - fitted[1]) @ up - np.linalg.norm(fitted[3] - fitted[1])) < 1e-9  # y along the normal
        gains.append(iou_3d(fitted, box) - iou_3d(scale_to_plane(lifted, *plane), box))
    assert np.mean(gains) > 0.1  # 3 px of noise: standing it up is worth a tenth of 3D IoU and more
