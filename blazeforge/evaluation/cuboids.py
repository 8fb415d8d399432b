"""Objectron's box metrics (pure numpy): AP at a 3D IoU, 2D projection error, viewpoint errors.

Boxes are [9, 3] camera-space keypoints (`geometry.cuboid`'s layout) and [9, 2] projections in
pixels. A frame's predictions are matched to its labelled boxes greedily, strongest prediction
first, each to the free box of highest 3D IoU if it reaches the threshold; AP is the area under the interpolated
precision-recall curve (every recall point, as PASCAL VOC from 2010 and COCO's per-threshold AP).
"""

from __future__ import annotations

import math

import numpy as np

from blazeforge.geometry.cuboid import iou_3d


def viewpoint(box: np.ndarray) -> tuple[float, float]:
    """Azimuth and elevation of the camera seen from the box, in degrees (Objectron's definition).

    The camera's position in the box's own frame (x, y, z along its edges 1-5, 1-3, 1-2):
    azimuth atan2(z, x), elevation atan2(y, hypot(x, z)).
    """
    box = np.asarray(box, np.float64)
    axes = np.stack([box[5] - box[1], box[3] - box[1], box[2] - box[1]], axis=1)
    x, y, z = np.linalg.solve(axes / np.linalg.norm(axes, axis=0), -box[0])
    return math.degrees(math.atan2(z, x)), math.degrees(math.atan2(y, math.hypot(x, z)))


def viewpoint_errors(pred: np.ndarray, gt: np.ndarray) -> tuple[float, float]:
    """Absolute azimuth (wrapped to 0-180) and elevation errors between two boxes, in degrees."""
    (pa, pe), (ga, ge) = viewpoint(pred), viewpoint(gt)
    azimuth = abs(pa - ga) % 360
    return min(azimuth, 360 - azimuth), abs(pe - ge)


def projection_error(pred_pixels: np.ndarray, gt_pixels: np.ndarray) -> float:
    """Mean distance between the 8 projected vertices (the centre left out), in pixels."""
    return float(np.linalg.norm(np.asarray(pred_pixels)[1:] - np.asarray(gt_pixels)[1:], axis=-1).mean())


def match_frame(
    pred_boxes: list[np.ndarray], scores: list[float], gt_boxes: list[np.ndarray], threshold: float = 0.5
) -> list[tuple[int, float]]:
    """For each prediction (in the given order): its labelled box's index and their 3D IoU.

    Strongest prediction first, each takes the free labelled box of highest IoU if that reaches
    `threshold`; otherwise its index is -1 (the IoU is then its best with a free box, or 0).
    """
    taken: set[int] = set()
    matches = [(-1, 0.0)] * len(pred_boxes)
    for p in np.argsort(-np.asarray(scores, np.float64), kind="stable"):
        ious = [(iou_3d(pred_boxes[p], g), j) for j, g in enumerate(gt_boxes) if j not in taken]
        if ious:
            iou, j = max(ious)
            matches[p] = (j, iou) if iou >= threshold else (-1, iou)
            if iou >= threshold:
                taken.add(j)
    return matches


def average_precision(scores: np.ndarray, hits: np.ndarray, num_gt: int) -> float:
    """The area under the interpolated precision-recall curve of ranked predictions.

    scores [P] and hits [P] (1 where the prediction matched a labelled box at the threshold),
    pooled over frames; num_gt the labelled boxes in all of them.
    """
    if num_gt == 0:
        return float("nan")
    order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
    hits = np.asarray(hits, np.float64)[order]
    tp = np.cumsum(hits)
    precision = tp / np.arange(1, len(hits) + 1)
    recall = tp / num_gt
    precision = np.concatenate([[0.0], precision, [0.0]])
    recall = np.concatenate([[0.0], recall, [recall[-1] if len(recall) else 0.0]])
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    return float(np.sum(np.diff(recall) * precision[1:]))


def ap_at_iou(frames: list[dict], threshold: float = 0.5) -> float:
    """AP at a 3D IoU over frames, each {"pred": [[9, 3] ...], "scores": [...], "gt": [[9, 3] ...]}."""
    scores, hits, num_gt = [], [], 0
    for frame in frames:
        matches = match_frame(frame["pred"], frame["scores"], frame["gt"], threshold)
        scores += list(frame["scores"])
        hits += [j >= 0 for j, _ in matches]
        num_gt += len(frame["gt"])
    return average_precision(np.array(scores), np.array(hits), num_gt)
