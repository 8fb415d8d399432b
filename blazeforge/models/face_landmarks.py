"""The 478-point face landmark model MediaPipe's FaceLandmarker reads: a face mesh and an iris model in one graph.

FaceLandmarker (MediaPipe Tasks) decodes 478 points, x y z in crop pixels, from its landmark
model's first output and the face-presence logit from its second (face_landmarks_detector_graph.cc,
tensors_to_face_landmarks_graph.cc). MediaPipe's own 478-point file is not in the mediapipe wheel.
`mesh_with_iris` makes one out of a 468-point mesh model and an iris model, chained as MediaPipe's
iris graph chains them:

- the mesh runs on the face crop [B, S, S, 3] in [0, 1];
- each eye's crop is cut from the face crop at the iris model's size E by the runtime's rule
  (`geometry.roi.eye_roi`: the bounds of the eye's two corners, turned level, squared, 2.3x),
  sampled as `geometry.roi.crop_image` samples (crop pixel index (i, j) reads the bilinear value
  at crop_matrix @ (i, j, 1), edge pixels outside); the subject's left eye (`MIRRORED_EYE`) is
  mirrored, as the iris model knows image-left eyes;
- the iris model's 5 iris points go back into face-crop pixels; their z is the mean mesh z of the
  eye's 16 lid points, FaceLandmarker's rule for refined irises (its eye contour points are not
  written into the mesh).

Outputs: "landmarks" [B, 1434] = 478 x (x, y, z) in face-crop pixels, the 468 mesh points then the
irises in `topology.face_mesh.IRIS` order (468-472 the subject's right eye, the image's left), and
"face_flag" [B, 1], the mesh's logit. The crops are float, so the eyes are resampled from the
resampled face: the irises differ a little from the runtime's two-stage face_mesh pipeline, which
cuts the eyes from the image itself.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from blazeforge.geometry.roi import EYE_CORNERS, EYE_ROI_SCALE, MIRRORED_EYE
from blazeforge.topology.face_mesh import EYE_CONTOUR, NUM_LANDMARKS

EYES = ("right", "left")  # the order of the irises after the mesh (topology.face_mesh.IRIS)
LID_POINTS = 16  # the first 16 of each eye's contour: its lower then upper lid, corners included


class _EyeLayer(layers.Layer):
    """A layer of one eye ("right" or "left", as `geometry.roi.EYE_CORNERS`) at the iris model's
    input size (pixels)."""

    def __init__(self, eye: str, size: int, **kwargs):
        super().__init__(**kwargs)
        self.eye, self.size = eye, int(size)

    def get_config(self):
        return {**super().get_config(), "eye": self.eye, "size": self.size}


@keras.saving.register_keras_serializable("blazeforge")
class EyeCrop(_EyeLayer):
    """Face crop [B, S, S, 3] + mesh [B, 468, 3] (crop pixels) -> one eye's crop [B, E, E, 3] and
    its crop matrix [B, 2, 3] (eye-crop pixels -> face-crop pixels, `geometry.roi.crop_matrix`)."""

    def call(self, inputs):
        image, mesh = inputs
        start, end = EYE_CORNERS[self.eye]
        p0, p1 = mesh[:, start, :2], mesh[:, end, :2]
        d = p1 - p0
        rotation = -ops.arctan2(-d[:, 1], d[:, 0])  # turned level: target angle 0 (geometry.roi)
        side = ops.maximum(ops.abs(d[:, 0]), ops.abs(d[:, 1])) * EYE_ROI_SCALE / self.size
        c, s = ops.cos(rotation) * side, ops.sin(rotation) * side
        center = (p0 + p1) / 2
        half = self.size / 2
        tx = center[:, 0] - (c - s) * half
        ty = center[:, 1] - (s + c) * half
        matrix = ops.stack([ops.stack([c, -s, tx], -1), ops.stack([s, c, ty], -1)], 1)

        grid = ops.arange(self.size, dtype="float32")
        u = grid[::-1] if self.eye == MIRRORED_EYE else grid  # the mirrored crop's column i reads E-1-i
        u, v = ops.reshape(ops.tile(u[None], (self.size, 1)), (-1,)), ops.repeat(grid, self.size)
        sx = c[:, None] * u - s[:, None] * v + tx[:, None]  # [B, E*E] face-crop pixel indices
        sy = s[:, None] * u + c[:, None] * v + ty[:, None]
        return _bilinear(image, sx, sy, self.size), matrix


def _bilinear(image, sx, sy, size: int):
    """image [B, H, W, C] sampled at pixel indices (sx, sy) [B, N] (bilinear, edge pixels outside)
    -> [B, size, size, C]."""
    h, w, channels = image.shape[1], image.shape[2], image.shape[3]
    flat = ops.reshape(image, (-1, channels))  # [B * H * W, C]
    first = ops.arange(ops.shape(image)[0], dtype="int32")[:, None] * (h * w)  # each image's first pixel
    x0, y0 = ops.floor(sx), ops.floor(sy)
    fx, fy = (sx - x0)[..., None], (sy - y0)[..., None]

    def at(x, y):
        x = ops.cast(ops.clip(x, 0, w - 1), "int32")
        y = ops.cast(ops.clip(y, 0, h - 1), "int32")
        return ops.take(flat, first + y * w + x, axis=0)  # [B, N, C]

    top = at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx
    bottom = at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx
    return ops.reshape(top * (1 - fy) + bottom * fy, (-1, size, size, channels))


@keras.saving.register_keras_serializable("blazeforge")
class IrisToFace(_EyeLayer):
    """Iris model output [B, 15] (eye-crop pixels) + its crop matrix [B, 2, 3] + mesh [B, 468, 3]
    -> the eye's 5 iris points [B, 5, 3] in face-crop pixels, z the mean of the lid points' z."""

    def call(self, inputs):
        iris, matrix, mesh = inputs
        points = ops.reshape(iris, (-1, 5, 3))
        x, y = points[..., 0], points[..., 1]
        if self.eye == MIRRORED_EYE:
            x = self.size - x
        fx = matrix[:, 0, 0:1] * x + matrix[:, 0, 1:2] * y + matrix[:, 0, 2:3]
        fy = matrix[:, 1, 0:1] * x + matrix[:, 1, 1:2] * y + matrix[:, 1, 2:3]
        lids = ops.take(mesh[..., 2], list(EYE_CONTOUR[self.eye][:LID_POINTS]), axis=1)
        z = ops.repeat(ops.mean(lids, axis=1, keepdims=True), 5, axis=1)
        return ops.stack([fx, fy, z], -1)


def mesh_with_iris(mesh: keras.Model, iris: keras.Model, name: str = "face_landmarks") -> keras.Model:
    """One model of `mesh` (dict outputs "landmarks" [B, 1404] or [B, 1, 1, 1404] and "face_flag",
    a logit) and `iris` (dict output "iris" [B, 15]), both taking crops in [0, 1]: input the face
    crop [B, S, S, 3] in [0, 1], outputs "landmarks" [B, 1434] and "face_flag" [B, 1]."""
    size = int(mesh.input_shape[1])
    eye_size = int(iris.input_shape[1])
    image = keras.Input((size, size, 3), name="image")
    out = mesh(image)
    points = layers.Reshape((NUM_LANDMARKS, 3), name="mesh")(out["landmarks"])
    irises = []
    for eye in EYES:
        crop, matrix = EyeCrop(eye, eye_size, name=f"{eye}_eye_crop")([image, points])
        irises.append(IrisToFace(eye, eye_size, name=f"{eye}_iris")([iris(crop)["iris"], matrix, points]))
    landmarks = layers.Concatenate(axis=1, name="with_irises")([points, *irises])
    outputs = {
        "landmarks": layers.Reshape((3 * (NUM_LANDMARKS + 5 * len(EYES)),), name="landmarks")(landmarks),
        "face_flag": layers.Reshape((1,), name="face_flag")(out["face_flag"]),
    }
    return keras.Model(image, outputs, name=name)
