"""Rotated regions of interest: MediaPipe's ROI rules, crops and projection back to the image.

Conventions (the same as MediaPipe's `NormalizedRect`, but in pixels):
- Image coordinates are continuous pixels: x right, y down, the image spans [0, W] x [0, H], so the
  centre of pixel (i, j) is (i + 0.5, j + 0.5).
- A `Roi` is a rectangle of `width` x `height` pixels centred at (cx, cy) and rotated by `rotation`
  radians. A point (u, v) of the crop (continuous pixels of an S x S crop) maps to the image by
      p = c + R(rotation) @ ((u / S - 0.5) * width, (v / S - 0.5) * height)
  with R(a) = [[cos a, -sin a], [sin a, cos a]] (MediaPipe's LandmarkProjectionCalculator).
- z is in the same pixel units as x: z_image = z_crop * width / S.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from blazeforge.topology.hand import INDEX_MCP, MIDDLE_MCP, RING_MCP, WRIST

TARGET_ANGLE = math.pi / 2  # the wrist-to-fingers vector points up in the crop


def normalize_radians(angle: float) -> float:
    """`angle` wrapped into [-pi, pi)."""
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


@dataclass(frozen=True)
class Roi:
    """A rotated rectangle in image pixels: centre (cx, cy), size (width, height), rotation in radians."""

    cx: float
    cy: float
    width: float
    height: float
    rotation: float = 0.0

    def transformed(
        self,
        scale_x: float = 1.0,
        scale_y: float = 1.0,
        shift_x: float = 0.0,
        shift_y: float = 0.0,
        square_long: bool = True,
    ) -> Roi:
        """MediaPipe's RectTransformationCalculator: shift (in units of the size, along the rotated
        axes), make square on the long side, then scale."""
        c, s = math.cos(self.rotation), math.sin(self.rotation)
        dx, dy = self.width * shift_x, self.height * shift_y
        cx = self.cx + c * dx - s * dy
        cy = self.cy + s * dx + c * dy
        w, h = self.width, self.height
        if square_long:
            w = h = max(w, h)
        return Roi(cx, cy, w * scale_x, h * scale_y, self.rotation)

    def corners(self) -> np.ndarray:
        """[4, 2] image coordinates of the crop's corners (top-left, top-right, bottom-right, bottom-left)."""
        uv = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float64)
        return crop_to_image(uv, self, 1.0)


def rotation_from_points(start: np.ndarray, end: np.ndarray, target_angle: float = TARGET_ANGLE) -> float:
    """Rotation that turns the image vector start->end into `target_angle` (MediaPipe's rule).

    With the default target the vector ends up pointing up in the crop.
    """
    return normalize_radians(target_angle - math.atan2(-(end[1] - start[1]), end[0] - start[0]))


def rotated_bounds(xy: np.ndarray, rotation: float) -> Roi:
    """The tightest rectangle at `rotation` around points xy [K, 2] (MediaPipe's landmarks-to-rect)."""
    xy = np.asarray(xy, np.float64)
    center = (xy.min(0) + xy.max(0)) / 2
    c, s = math.cos(rotation), math.sin(rotation)
    unrotate = np.array([[c, s], [-s, c]])  # R(-rotation)
    local = (xy - center) @ unrotate.T
    lo, hi = local.min(0), local.max(0)
    mid = (lo + hi) / 2
    cx, cy = center + np.array([[c, -s], [s, c]]) @ mid
    return Roi(float(cx), float(cy), float(hi[0] - lo[0]), float(hi[1] - lo[1]), rotation)


# MediaPipe's hand_landmark "landmarks to ROI" options (hand_landmark_landmarks_to_roi.pbtxt).
HAND_ROI_SCALE = 2.0
HAND_ROI_SHIFT_Y = -0.1
# The subset of landmarks MediaPipe bounds: wrist, thumb CMC/MCP/IP, and MCP + PIP of each finger.
HAND_ROI_SUBSET = (0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18)


def hand_roi(xy: np.ndarray, scale: float = HAND_ROI_SCALE, shift_y: float = HAND_ROI_SHIFT_Y) -> Roi:
    """The crop the hand-landmark model sees, from 21 hand landmarks xy [21, 2] in image pixels.

    Rotation: from the wrist to the mean of the middle MCP and the midpoint of the index and ring
    MCPs, made to point up. Size: the rotated bounds of `HAND_ROI_SUBSET`, shifted towards the
    fingers by `shift_y`, squared on the long side and scaled by `scale`. This is the rule MediaPipe's
    tracking uses between frames, so training crops and runtime crops are made the same way.
    """
    xy = np.asarray(xy, np.float64)[:, :2]
    if xy.shape[0] != 21:
        raise ValueError(f"hand_roi expects 21 landmarks, got {xy.shape[0]}")
    fingers = ((xy[INDEX_MCP] + xy[RING_MCP]) / 2 + xy[MIDDLE_MCP]) / 2
    rotation = rotation_from_points(xy[WRIST], fingers)
    bounds = rotated_bounds(xy[list(HAND_ROI_SUBSET)], rotation)
    return bounds.transformed(scale, scale, 0.0, shift_y, square_long=True)


def alignment_roi(center: np.ndarray, end: np.ndarray, scale: float, target_angle: float = TARGET_ANGLE) -> Roi:
    """MediaPipe's AlignmentPointsRectsCalculator + RectTransformation: a square centred on `center`
    with side twice the distance to `end`, rotated so that center -> end points at target_angle,
    then scaled. BlazePose's virtual keypoints (from the detector, and from the landmark model's
    two auxiliary landmarks for the next frame) give its ROI this way."""
    rotation = rotation_from_points(center, end, target_angle)
    side = 2.0 * float(np.linalg.norm(np.asarray(end, np.float64)[:2] - np.asarray(center, np.float64)[:2]))
    return Roi(float(center[0]), float(center[1]), side, side, rotation).transformed(scale, scale)


# MediaPipe's pose_landmark "landmarks to ROI" options (pose_landmarks_to_roi.pbtxt): the auxiliary
# landmarks 33 (hip centre) and 34 (scale and rotation), aligned up, scaled 1.25x.
POSE_ROI_POINTS = (33, 34)
POSE_ROI_SCALE = 1.25


def pose_roi(xy: np.ndarray) -> Roi:
    """The crop the pose-landmark model sees next frame, from its 35+ landmarks xy [K, >=2] (pixels)."""
    xy = np.asarray(xy, np.float64)
    start, end = POSE_ROI_POINTS
    return alignment_roi(xy[start, :2], xy[end, :2], POSE_ROI_SCALE)


# MediaPipe's face_landmark "landmarks to ROI" options (face_landmark_landmarks_to_roi.pbtxt): the
# axis-aligned bounds of the 468 landmarks, turned so that 33 -> 133 (the corners of one eye) is
# horizontal, squared on the long side and scaled 1.5x.
FACE_ROI_SCALE = 1.5
FACE_ROI_ROTATION = (33, 133)
# MediaPipe's iris graph: each eye's crop from its two corners, turned so the corners are level,
# squared and scaled 2.3x. Keyed by the subject's eye: the right eye (the image's left: 33, 133) and
# the left eye (362, 263). The iris model knows image-left eyes: the subject's left eye runs mirrored
# (MediaPipe's IS_RIGHT_EYE, named from the viewer's side).
EYE_CORNERS = {"right": (33, 133), "left": (362, 263)}
MIRRORED_EYE = "left"
EYE_ROI_SCALE = 2.3


def bounds_roi(xy: np.ndarray, start: int, end: int, scale: float, target_angle: float = 0.0) -> Roi:
    """MediaPipe's landmarks -> detection -> rect rule: the axis-aligned bounds of points xy [K, >=2]
    (pixels), rotated so that xy[start] -> xy[end] points at `target_angle`, squared on the long
    side and scaled. Face: `face_roi`; eyes: `eye_roi`."""
    xy = np.asarray(xy, np.float64)[:, :2]
    rotation = rotation_from_points(xy[start], xy[end], target_angle)
    (x0, y0), (x1, y1) = xy.min(0), xy.max(0)
    return Roi((x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0, rotation).transformed(scale, scale)


def face_roi(xy: np.ndarray) -> Roi:
    """The crop the face-landmark model sees next frame, from 468 face landmarks xy [468, >=2] (pixels)."""
    return bounds_roi(xy, *FACE_ROI_ROTATION, FACE_ROI_SCALE)


def eye_roi(xy: np.ndarray, eye: str) -> Roi:
    """The iris model's crop of the subject's "right" or "left" eye from 468 face landmarks xy
    (pixels); the "left" one (`MIRRORED_EYE`) goes to the model mirrored."""
    return bounds_roi(np.asarray(xy)[list(EYE_CORNERS[eye])], 0, 1, EYE_ROI_SCALE)


def letterbox_roi(width: int, height: int, aspect: float = 1.0) -> Roi:
    """The rectangle a model's letterbox shows of a width x height image: centred, of the model's
    input aspect (its width / height; 1: the square of the long side), the image fitting inside
    (MediaPipe's ImageToTensorCalculator with keep_aspect_ratio)."""
    w, h = float(width), float(height)
    if w / h > aspect:
        h = w / aspect
    else:
        w = h * aspect
    return Roi(width / 2, height / 2, w, h, 0.0)


def crop_shape(size: float | tuple) -> tuple[float, float]:
    """A crop's (width, height) in pixels from `size`: a square's side, or (width, height)."""
    if isinstance(size, tuple | list):
        return float(size[0]), float(size[1])
    return float(size), float(size)


def crop_matrix(roi: Roi, size: float | tuple) -> np.ndarray:
    """[2, 3] affine map from crop continuous pixels (u, v) to image pixels; `size`: the crop's side
    or its (width, height)."""
    sw, sh = crop_shape(size)
    c, s = math.cos(roi.rotation), math.sin(roi.rotation)
    a = np.array([[c * roi.width / sw, -s * roi.height / sh], [s * roi.width / sw, c * roi.height / sh]])
    t = np.array([roi.cx, roi.cy]) - a @ np.array([sw / 2, sh / 2])
    return np.concatenate([a, t[:, None]], axis=1)


def crop_to_image(points: np.ndarray, roi: Roi, size: float | tuple) -> np.ndarray:
    """Project crop points [..., 2 or 3] (crop pixels; z in crop pixels of x's scale) into image pixels."""
    points = np.asarray(points, np.float64)
    m = crop_matrix(roi, size)
    out = points.copy()
    out[..., :2] = points[..., :2] @ m[:, :2].T + m[:, 2]
    if points.shape[-1] > 2:
        out[..., 2] = points[..., 2] * roi.width / crop_shape(size)[0]
    return out


def image_to_crop(points: np.ndarray, roi: Roi, size: float | tuple) -> np.ndarray:
    """Inverse of `crop_to_image`: image points [..., 2 or 3] into crop pixels."""
    points = np.asarray(points, np.float64)
    m = crop_matrix(roi, size)
    inv = np.linalg.inv(m[:, :2])
    out = points.copy()
    out[..., :2] = (points[..., :2] - m[:, 2]) @ inv.T
    if points.shape[-1] > 2:
        out[..., 2] = points[..., 2] * crop_shape(size)[0] / roi.width
    return out


def turn_world(points: np.ndarray, rotation: float, to: str) -> np.ndarray:
    """World points [..., 3] (metres) with x and y turned between the image's axes and those of a
    crop at `rotation`: to="crop" (R^T v, the training targets) or to="image" (R v, as MediaPipe's
    WorldLandmarkProjectionCalculator turns a model's world landmarks back by its ROI's rotation)."""
    if to not in ("crop", "image"):
        raise ValueError(f"to must be 'crop' or 'image', got {to!r}")
    c, s = math.cos(rotation), math.sin(rotation)
    turn = np.array([[c, -s], [s, c]]) if to == "crop" else np.array([[c, s], [-s, c]])
    out = np.array(points, np.float64)
    out[..., :2] = out[..., :2] @ turn
    return out


def mask_to_image(mask: np.ndarray, roi: Roi, width: int, height: int) -> np.ndarray:
    """A crop's mask [h, w] (float) laid back onto the image: float32 [height, width], 0 outside
    the crop (bilinear; crop pixel index (i, j) sits at crop_to_image((i, j)), as `crop_image`
    samples with MediaPipe's sampling)."""
    return cv2.warpAffine(
        np.asarray(mask, np.float32),
        crop_matrix(roi, (mask.shape[1], mask.shape[0])),
        (int(width), int(height)),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0.0,
    )


def crop_image(
    image: np.ndarray,
    roi: Roi,
    size: int | tuple,
    border_value: float | tuple = 0,
    sampling: str = "mediapipe",
    border: str = "replicate",
) -> np.ndarray:
    """The crop of `image` [H, W, C] under `roi` (bilinear): `size` x `size`, or `size` = (width,
    height).

    The defaults make the crop MediaPipe's landmark graphs feed their models, and training,
    evaluation and the runtime all crop this way, so that our exports are drop-ins for the
    published files and the published models can be fine-tuned on the crops they were made for.

    sampling="mediapipe": crop pixel index (i, j) samples image pixel index crop_to_image((i, j)), as
    MediaPipe's ImageToTensorCalculator warps; sampling="centers": crop pixel centre (i + 0.5,
    j + 0.5) samples image point crop_to_image((i + 0.5, j + 0.5)) (exact continuous geometry; at a
    4x downscale the two differ by 1.5 image pixels).
    border="replicate": outside the image, the nearest edge pixel (ImageToTensorCalculator's
    default, which the landmark graphs keep); border="constant": border_value (MediaPipe's
    detectors pad with zeros).
    """
    if sampling not in ("centers", "mediapipe"):
        raise ValueError(f"sampling must be 'centers' or 'mediapipe', got {sampling!r}")
    if border not in ("constant", "replicate"):
        raise ValueError(f"border must be 'constant' or 'replicate', got {border!r}")
    m = crop_matrix(roi, size)
    if sampling == "centers":  # shift both sides from continuous coordinates to pixel indices
        t = m[:, 2] + m[:, :2] @ np.array([0.5, 0.5]) - 0.5
        m = np.concatenate([m[:, :2], t[:, None]], axis=1)
    return cv2.warpAffine(
        image,
        m,
        tuple(int(v) for v in crop_shape(size)),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT if border == "constant" else cv2.BORDER_REPLICATE,
        borderValue=border_value,
    )
