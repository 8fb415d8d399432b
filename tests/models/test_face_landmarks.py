"""The 478-point face model: MediaPipe's mesh and iris models in one graph land where the runtime's
two stages (the mesh, then the iris model on eye crops cut from the image) do."""

from __future__ import annotations

import numpy as np

from blazeforge import zoo
from blazeforge.geometry.roi import MIRRORED_EYE, crop_image, crop_matrix, crop_to_image, eye_roi
from blazeforge.models.face_landmarks import LID_POINTS, EyeCrop, mesh_with_iris
from blazeforge.runtime.calculators.iris import Iris
from blazeforge.runtime.landmarks import crop_tensor
from blazeforge.runtime.models import resolve
from blazeforge.runtime.pipeline import load_models
from blazeforge.runtime.still import StillImage
from blazeforge.topology.face_mesh import EYE_CONTOUR
from blazeforge.zoo.parity import photos

# FaceLandmarker averages these mesh points' z for each refined iris (tensors_to_face_landmarks_graph.cc).
TASKS_IRIS_Z = {
    "right": (33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173),
    "left": (263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398),
}


def test_the_lid_points_are_the_ones_face_landmarker_averages():
    for eye, points in TASKS_IRIS_Z.items():
        assert EYE_CONTOUR[eye][:LID_POINTS] == points


def test_mesh_and_iris_in_one_graph_land_where_the_two_stages_do():
    model = mesh_with_iris(
        zoo.keras_model("face_landmark", named_outputs=True), zoo.keras_model("iris_landmark", named_outputs=True)
    )
    still = StillImage("face_detector", "face_mesh")
    iris = Iris({"models": load_models(resolve(["iris"]))[0]}, model="iris")
    faces = 0
    for rgb in photos().values():
        for face in still(rgb):
            out = model.predict(crop_tensor(rgb, face.roi, 192)[None], verbose=0)
            assert out["landmarks"].shape == (1, 1434) and out["face_flag"].shape == (1, 1)
            points = crop_to_image(out["landmarks"].reshape(478, 3), face.roi, 192)
            assert np.abs(points[:468, :2] - face.landmarks[:, :2]).max() < 1e-2  # the mesh untouched, pixels
            two_stage = iris.process(0, {"IMAGE": rgb, "INSTANCES": [face]})["INSTANCES"][0].extra["iris"]
            iod = np.linalg.norm(face.landmarks[33, :2] - face.landmarks[263, :2])
            apart = np.linalg.norm(points[468:, :2].reshape(2, 5, 2) - two_stage[..., :2], axis=-1) / iod
            assert apart.max() < 0.006, apart  # < 0.6% of IOD: the eyes resampled from the 192 px face crop
            lids = [face.landmarks[list(TASKS_IRIS_Z[eye]), 2].mean() for eye in ("right", "left")]
            assert np.allclose(points[468:, 2].reshape(2, 5), np.array(lids)[:, None], atol=1e-2)
            faces += 1
    assert faces >= 2


def test_the_eye_crop_in_the_graph_is_the_runtimes_eye_crop():
    """EyeCrop's matrix is `crop_matrix(eye_roi(...))` and its pixels `crop_image`'s (mirrored for
    the subject's left eye), to OpenCV's 1/32-pixel sampling grid."""
    rng = np.random.default_rng(3)
    image = rng.random((1, 192, 192, 3), np.float32)
    mesh = rng.uniform(40, 150, (1, 468, 3)).astype(np.float32)
    for eye in ("right", "left"):
        crop, matrix = (np.asarray(t) for t in EyeCrop(eye, 64)([image, mesh]))
        roi = eye_roi(mesh[0], eye)
        assert np.allclose(matrix[0], crop_matrix(roi, 64), atol=1e-3)
        expected = crop_image(image[0], roi, 64)
        if eye == MIRRORED_EYE:
            expected = expected[:, ::-1]
        assert np.abs(crop[0] - expected).mean() < 0.01 and np.abs(crop[0] - expected).max() < 0.05
