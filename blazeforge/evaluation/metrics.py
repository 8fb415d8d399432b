"""Landmark metrics (pure numpy): NME, PCK, ROC AUC, and per-group aggregation.

Shapes: predictions and ground truth [N, K, 2 or 3] in image pixels; mask [N, K] (1 where the
point is labelled); normalizer [N] (e.g. the palm size, wrist to middle-finger MCP, in pixels).
"""

from __future__ import annotations

import re
from collections import defaultdict

import numpy as np


def normalizer(gt: np.ndarray, pair: tuple[int, int]) -> np.ndarray:
    """[N] 2D distance between the landmarks of `pair` (the topology's normalizer), pixels."""
    i, j = pair
    return np.linalg.norm(gt[:, i, :2] - gt[:, j, :2], axis=-1)


def per_sample_nme(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray, norm: np.ndarray) -> np.ndarray:
    """[N] mean point error over labelled points divided by the normalizer (NaN where none labelled)."""
    error = np.linalg.norm(pred - gt, axis=-1)
    count = mask.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (error * mask).sum(1) / count / np.maximum(norm, 1e-6)


def nme(pred, gt, mask, norm) -> float:
    """Mean over samples of `per_sample_nme` (samples with no labelled point are skipped)."""
    values = per_sample_nme(pred, gt, mask, norm)
    return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


def pck(pred, gt, mask, norm, threshold: float = 0.2) -> float:
    """Share of labelled points within threshold * normalizer of the truth."""
    error = np.linalg.norm(pred[..., :2] - gt[..., :2], axis=-1) / np.maximum(norm, 1e-6)[:, None]
    return float(((error <= threshold) * mask).sum() / max(mask.sum(), 1))


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U with tied ranks averaged); NaN with one class only."""
    scores, labels = np.asarray(scores, float), np.asarray(labels).astype(bool)
    pos, neg = labels.sum(), (~labels).sum()
    if not pos or not neg:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[labels].sum() - pos * (pos + 1) / 2) / (pos * neg))


def natural_key(name: str) -> tuple:
    """Sort key that orders the numbers inside names as numbers: Monk 1, Monk 2, ..., Monk 10."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(name)))


def by_group(values: np.ndarray, groups: list[str]) -> dict:
    """{group: {"nme": mean, "count": n}} of per-sample values, groups in natural order (`natural_key`)."""
    buckets = defaultdict(list)
    for value, group in zip(values, groups):
        if np.isfinite(value):
            buckets[group or "unknown"].append(value)
    return {g: {"nme": float(np.mean(buckets[g])), "count": len(buckets[g])} for g in sorted(buckets, key=natural_key)}
