"""Faces on MakeHuman's head: the fitted binding of MediaPipe's mesh, irises, details and expressions."""

import numpy as np
import pytest

from blazeforge.errors import BlazeforgeError
from blazeforge.synthetic import makehuman, makehuman_body, makehuman_face
from blazeforge.topology.face_mesh import NOSE_TIP


def _points(expression=None, identity=makehuman.Identity()):
    morphs = makehuman_face.expression_morphs(expression or {}, identity.ethnicity)
    body = makehuman.Body.shaped(identity, morphs)
    return makehuman_face.keypoints(body.pose({}))


def test_the_binding_puts_mediapipes_points_on_makehumans_features():
    binding = makehuman_face.binding()
    assert binding.vertices.shape == (468, 3) and np.allclose(binding.weights.sum(1), 1, atol=1e-4)
    assert (binding.weights >= -1e-6).all()
    rest = makehuman.Body.shaped().vertices
    marks = makehuman_body.landmark_vertices()
    points = binding.points(rest)
    front = [0, 2]  # as the camera sees the face from the front (x, z)
    for index, name, tolerance in ((NOSE_TIP, "nose", 0.006), (33, "right_eye_outer", 0.005),
                                   (263, "left_eye_outer", 0.005), (61, "mouth_right", 0.006)):  # fmt: skip
        assert np.linalg.norm(points[index, front] - rest[marks[name], front]) < tolerance, name
    assert points[33, 0] < 0 < points[263, 0]  # the subject's right eye at -x (makehuman's frame)
    # On the front of the head: the mesh is 12 to 17 cm across and 12 to 18 cm high (forehead to chin).
    assert 0.12 < np.ptp(points[:, 0]) < 0.17 and 0.12 < np.ptp(points[:, 2]) < 0.18


def test_the_irises_are_11_7_mm_across_on_the_front_of_each_eyeball():
    points = _points()
    iris = points[468:].reshape(2, 5, 3)
    for eye in iris:
        centre, rim = eye[0], eye[1:]
        across = np.linalg.norm(rim[0] - rim[2]), np.linalg.norm(rim[1] - rim[3])
        assert np.allclose(across, 2 * makehuman_face.IRIS_RADIUS_M, atol=2e-4)
        assert centre[1] < rim[:, 1].min()  # the centre is the frontmost (the body faces -y)
    assert iris[0, 0, 0] < 0 < iris[1, 0, 0]  # the subject's right eye first
    # Rims in MediaPipe's order: towards the subject's left (+x) first on the right eye, mirrored
    # on the left one; then up (+z).
    assert iris[0, 1, 0] > iris[0, 0, 0] and iris[1, 1, 0] < iris[1, 0, 0]
    assert iris[0, 2, 2] > iris[0, 0, 2] and iris[1, 2, 2] > iris[1, 0, 2]


def test_expressions_move_the_bound_points_as_faces_do():
    neutral = _points()
    jaw = _points({"jaw_open": 1.0})
    assert neutral[152, 2] - jaw[152, 2] > 0.01  # the chin drops more than a centimetre
    assert np.linalg.norm(jaw[10] - neutral[10]) < 0.002  # the forehead stays
    blink = _points({"blink": 1.0})
    lids = lambda p: np.linalg.norm(p[159] - p[145])  # noqa: E731  the right eye's upper and lower lids
    assert lids(blink) < 0.4 * lids(neutral)
    smile = _points({"smile": 1.0})
    assert np.linalg.norm(smile[61] - smile[291]) > np.linalg.norm(neutral[61] - neutral[291]) + 0.003
    with pytest.raises(BlazeforgeError, match="not an expression"):
        makehuman_face.expression_morphs({"sneer": 1.0}, (1.0, 0.0, 0.0))


def test_expression_units_blend_by_ethnic_share_and_details_come_in_pairs():
    morphs = makehuman_face.expression_morphs({"jaw_open": 0.5}, (0.2, 0.3, 0.5))
    assert morphs == pytest.approx({f"expression/units/{e}/mouth-open": 0.5 * s for e, s in
                                    zip(makehuman.ETHNICITIES, (0.2, 0.3, 0.5))})  # fmt: skip
    details = makehuman_face.random_details(np.random.default_rng(0), 40, 0.6)
    assert all(0 <= w <= 0.6 * 1.1 for w in details.values())
    for name in details:
        if "/l-" in name:
            assert name.replace("/l-", "/r-") in details
    names = makehuman_face.detail_names()
    assert len(names) > 150 and not any("/r-" in n for n in names)
