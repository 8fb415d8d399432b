"""SSD training targets: match labelled boxes to anchors and encode them as the detector regresses them.

The exact inverse of `detections.decode`, so that a model trained on these targets decodes
through the same code as MediaPipe's published detectors. Pure numpy.

Matching uses anchors with sizes (`generate_anchors` with fixed_anchor_size=False: each layer's
SSD scale), although the published detectors decode against unit anchors: an anchor is a positive
for a box when their IoU reaches `positive_iou`, every box also takes its best anchor, and anchors
whose best IoU stays under `negative_iou` are negatives; the rest are ignored. The anchors are
square: a box far from square (a standing person, 1:3) overlaps none by more than about 0.4, so
`square_boxes` gives what such a detector matches with: its box's circumscribed square.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from blazeforge.geometry.anchors import AnchorOptions, DecodeOptions, generate_anchors

IGNORE = -2  # an anchor between the thresholds: no classification loss
BACKGROUND = -1


def sized_anchors(options: AnchorOptions) -> np.ndarray:
    """[A, 4] (x0, y0, x1, y1) in [0, 1]: the anchors with their SSD scales, for matching."""
    a = generate_anchors(replace(options, fixed_anchor_size=False))
    half = a[:, 2:] / 2
    return np.concatenate([a[:, :2] - half, a[:, :2] + half], 1)


def square_boxes(boxes: np.ndarray) -> np.ndarray:
    """[G, 4] the squares circumscribing boxes [G, 4] (x0, y0, x1, y1): same centre, side the long side.

    What square anchors match a tall box by: a 1:3 person box overlaps the best of the pose
    detector's anchors by IoU 0.41, so it would have one positive anchor (its best) where its
    square has about 20 at IoU 0.5."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    half = (boxes[:, 2:] - boxes[:, :2]).max(1, keepdims=True) / 2
    return np.concatenate([centre - half, centre + half], 1)


def pairwise_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU [len(a), len(b)] of boxes (x0, y0, x1, y1)."""
    lo = np.maximum(a[:, None, :2], b[None, :, :2])
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=-1)
    area = lambda x: np.prod(np.clip(x[:, 2:] - x[:, :2], 0, None), axis=-1)  # noqa: E731
    return inter / np.maximum(area(a)[:, None] + area(b)[None, :] - inter, 1e-12)


def match(
    boxes: np.ndarray,
    anchor_boxes: np.ndarray,
    positive_iou: float = 0.5,
    negative_iou: float = 0.4,
    ignore_boxes: np.ndarray | None = None,
) -> np.ndarray:
    """For each anchor, the index of its box, BACKGROUND or IGNORE. boxes [G, 4], anchor_boxes [A, 4];
    ignore_boxes [M, 4] (regions that hold an object no one could see): a background anchor that
    overlaps one by negative_iou or more is ignored instead."""
    matched = np.full(len(anchor_boxes), BACKGROUND, np.int64)
    if ignore_boxes is not None and len(ignore_boxes):
        matched[pairwise_iou(anchor_boxes, ignore_boxes).max(1) >= negative_iou] = IGNORE
    if not len(boxes):
        return matched
    overlap = pairwise_iou(anchor_boxes, boxes)  # [A, G]
    best_box = overlap.argmax(1)
    best = overlap.max(1)
    matched[best >= negative_iou] = IGNORE
    matched[best >= positive_iou] = best_box[best >= positive_iou]
    for g in range(len(boxes)):  # every box keeps its best anchor, even under the threshold
        matched[overlap[:, g].argmax()] = g
    return matched


def encode(
    boxes: np.ndarray, keypoints: np.ndarray, matched: np.ndarray, anchors: np.ndarray, options: DecodeOptions
) -> np.ndarray:
    """Raw regression targets [A, 4 + 2K]: what `detections.decode` turns back into the matched boxes.

    boxes [G, 4] (x0, y0, x1, y1) and keypoints [G, K, 2] in [0, 1] of the model input; anchors
    [A, 4] (x_center, y_center, w, h) as the decoder uses them; rows of unmatched anchors are zeros.
    """
    k = options.num_keypoints
    out = np.zeros((len(anchors), 4 + 2 * k), np.float32)
    rows = np.flatnonzero(matched >= 0)
    if not len(rows):
        return out
    sx, sy, sw, sh = options.scale
    g = matched[rows]
    ax, ay, aw, ah = anchors[rows].T
    b = boxes[g]
    out[rows, 0] = ((b[:, 0] + b[:, 2]) / 2 - ax) / aw * sx
    out[rows, 1] = ((b[:, 1] + b[:, 3]) / 2 - ay) / ah * sy
    out[rows, 2] = (b[:, 2] - b[:, 0]) / aw * sw
    out[rows, 3] = (b[:, 3] - b[:, 1]) / ah * sh
    kp = keypoints[g]
    out[rows, 4::2] = (kp[..., 0] - ax[:, None]) / aw[:, None] * sx
    out[rows, 5::2] = (kp[..., 1] - ay[:, None]) / ah[:, None] * sy
    return out
