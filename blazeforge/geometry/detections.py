"""Decode SSD detector outputs, weighted-blending NMS, and detections to rotated ROIs.

A detection here is a row of a float array [5 + 2 * K]: score, x0, y0, x1, y1, then K keypoints
(x, y), all in [0, 1] units of the model input. Pure numpy, shared by evaluation and the runtime.
"""

from __future__ import annotations

import numpy as np

from blazeforge.geometry.anchors import DecodeOptions
from blazeforge.geometry.roi import TARGET_ANGLE, Roi, alignment_roi, rotation_from_points


def decode(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray, options: DecodeOptions) -> np.ndarray:
    """Raw tensors [A, 4 + 2K] and [A, 1] (one image) -> detections [A, 5 + 2K] before thresholding.

    Boxes are (dx, dy, w, h) relative to the anchor in input pixels, keypoints (dx, dy), as MediaPipe's
    TensorsToDetectionsCalculator reads them (reverse_output_order: x before y).
    """
    k = options.num_keypoints
    if raw_boxes.ndim != 2 or raw_boxes.shape[1] < 4 + 2 * k or raw_boxes.shape[0] != anchors.shape[0]:
        raise ValueError(f"raw boxes {raw_boxes.shape} do not fit {anchors.shape[0]} anchors with {k} keypoints")
    sx, sy, sw, sh = options.scale
    ax, ay, aw, ah = anchors.T
    cx = raw_boxes[:, 0] / sx * aw + ax
    cy = raw_boxes[:, 1] / sy * ah + ay
    w = raw_boxes[:, 2] / sw * aw
    h = raw_boxes[:, 3] / sh * ah
    kp = raw_boxes[:, 4 : 4 + 2 * k].reshape(-1, k, 2)
    kx = kp[..., 0] / sx * aw[:, None] + ax[:, None]
    ky = kp[..., 1] / sy * ah[:, None] + ay[:, None]
    logits = np.clip(raw_scores.reshape(-1).astype(np.float64), -options.score_clipping, options.score_clipping)
    score = 1.0 / (1.0 + np.exp(-logits))
    box = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], -1)
    return np.concatenate([score[:, None], box, np.stack([kx, ky], -1).reshape(-1, 2 * k)], -1).astype(np.float32)


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one box [4] (x0, y0, x1, y1) against boxes [M, 4]."""
    lo = np.maximum(box[:2], boxes[:, :2])
    hi = np.minimum(box[2:], boxes[:, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
    area = lambda b: np.prod(np.clip(b[..., 2:] - b[..., :2], 0, None), axis=-1)  # noqa: E731
    return inter / np.maximum(area(box) + area(boxes) - inter, 1e-12)


def match_instances(
    a: np.ndarray, b: np.ndarray, min_iou: float = 0.3
) -> tuple[list[tuple[int, int | None]], list[int]]:
    """Greedy one-to-one matching of two sets of instance boxes [N, 4] and [M, 4] (x0, y0, x1, y1):
    in a's order, each takes the free box of b it overlaps most, if by IoU >= min_iou. Returns
    ([(i, j or None)] for every box of a, [the indices of b left unmatched])."""
    pairs, free = [], list(range(len(b)))
    for i in range(len(a)):
        overlaps = iou(np.asarray(a[i]), np.asarray(b)[free]) if free else np.zeros(0)
        j = free.pop(int(np.argmax(overlaps))) if len(overlaps) and overlaps.max() >= min_iou else None
        pairs.append((i, j))
    return pairs, free


def non_max_suppression(
    detections: np.ndarray,
    min_score: float,
    iou_threshold: float,
    weighted: bool = True,
    max_detections: int | None = None,
) -> np.ndarray:
    """Detections above `min_score` after NMS, best first.

    weighted=True is MediaPipe's weighted blending (BlazeFace): each kept detection's box and
    keypoints become the score-weighted mean of the candidates it suppresses; False is plain NMS.
    """
    candidates = detections[detections[:, 0] >= min_score]
    candidates = candidates[np.argsort(-candidates[:, 0], kind="stable")]
    kept = []
    while len(candidates) and (max_detections is None or len(kept) < max_detections):
        overlap = iou(candidates[0, 1:5], candidates[:, 1:5])
        group = overlap > iou_threshold
        group[0] = True
        best = candidates[0].copy()
        if weighted:
            w = candidates[group, 0:1]
            best[1:] = (candidates[group, 1:] * w).sum(0) / w.sum()
        kept.append(best)
        candidates = candidates[~group]
    width = detections.shape[1]
    return np.stack(kept) if kept else np.zeros((0, width), np.float32)


def detection_roi(
    detection: np.ndarray,
    image_size: tuple[int, int],
    start: int,
    end: int,
    scale: float,
    shift_y: float = 0.0,
    shift_x: float = 0.0,
    target_angle: float = TARGET_ANGLE,
    alignment: bool = False,
) -> Roi:
    """MediaPipe's detection-to-ROI rules: the ROI of the next model from one detection.

    The detection is in [0, 1] units of an image of `image_size` = (width, height) pixels; the
    vector from keypoint `start` to keypoint `end` sets the rotation (it is turned to
    `target_angle`, radians: pi / 2 points it up). The box gives centre and size
    (DetectionsToRectsCalculator: palms, faces), or with `alignment` the start keypoint gives the
    centre and twice the start-end distance the side (AlignmentPointsRectsCalculator: BlazePose's
    virtual keypoints). Then RectTransformationCalculator: shift, square on the long side, scale.
    """
    w_img, h_img = image_size
    x0, y0, x1, y1 = detection[1:5]
    kp = detection[5:].reshape(-1, 2) * np.array([w_img, h_img])
    if alignment:
        return alignment_roi(kp[start], kp[end], scale, target_angle)
    rotation = rotation_from_points(kp[start], kp[end], target_angle)
    box = Roi((x0 + x1) / 2 * w_img, (y0 + y1) / 2 * h_img, (x1 - x0) * w_img, (y1 - y0) * h_img, rotation)
    return box.transformed(scale, scale, shift_x, shift_y, square_long=True)
