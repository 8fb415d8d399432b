"""Objectron's single-stage decoder: centroid peaks, offset voting, then the box's 9 projected points.

The network's heads, on a grid of H x W cells (40 x 30 for the published 640 x 480 input):
- heatmap [H, W]: the centroid belief, a Gaussian at each box's projected centre;
- offsets [H, W, 16]: for each of the 8 vertices, its projected x and y minus the cell's own
  column and row, in units of the grid's short side (min(H, W) cells).
The rules and defaults are those of MediaPipe's Objectron decoder (its graph's decoder_config): a
peak is a cell at the maximum of its (2 d + 1)^2 neighbourhood and above `heatmap_threshold`; each
vertex is the belief-weighted mean of the votes of the cells within `voting_radius` of the peak
whose belief reaches `voting_threshold` and whose vote lies within `voting_allowance` cells of the
peak's own; a box whose vertices all lie within the allowance of a stronger box's is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DecoderConfig:
    """MediaPipe's decoder_config for its Objectron graphs (distances in grid cells)."""

    heatmap_threshold: float = 0.6
    local_max_distance: int = 2
    voting_radius: int = 2
    voting_allowance: float = 1.0
    voting_threshold: float = 0.2


def _cells(rows: int, cols: int) -> np.ndarray:
    """[H, W, 2] each cell's own column and row (x, y)."""
    return np.stack(np.meshgrid(np.arange(cols), np.arange(rows)), axis=-1).astype(np.float32)


def encode_offsets(vertices: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """[H, W, 16] offset targets of one box for every cell: vertices [8, 2] in grid cells (x, y)."""
    rows, cols = grid
    scale = min(rows, cols)
    cells = _cells(rows, cols)[:, :, None]
    return ((np.asarray(vertices, np.float32)[None, None] - cells) / scale).reshape(rows, cols, 16)


def encode_targets(
    boxes: list[np.ndarray], grid: tuple[int, int], sigma_scale: float = 0.1
) -> tuple[np.ndarray, np.ndarray]:
    """The heads' targets for one frame: heatmap [H, W] and offsets [H, W, 16].

    boxes: each [9, 2], the projected centre then vertices 1..8, in grid cells (x, y). Each box
    draws a Gaussian at its centre with sigma `sigma_scale` x the diagonal of its vertices' 2D
    bounding box (at least 1 cell), so larger boxes spread wider; the heatmap is their maximum, and
    each cell's offsets point at the vertices of the box whose Gaussian is highest there.
    """
    rows, cols = grid
    if not boxes:
        return np.zeros((rows, cols), np.float32), np.zeros((rows, cols, 16), np.float32)
    cells = _cells(rows, cols)
    heats = []
    for box in boxes:
        box = np.asarray(box, np.float32)
        sigma = max(1.0, sigma_scale * float(np.linalg.norm(np.ptp(box[1:], axis=0))))
        heats.append(np.exp(-((cells - box[0]) ** 2).sum(axis=-1) / (2 * sigma**2)))
    heats = np.stack(heats)
    owner = heats.argmax(axis=0)
    offsets = np.zeros((rows, cols, 16), np.float32)
    for i, box in enumerate(boxes):
        offsets[owner == i] = encode_offsets(np.asarray(box)[1:], grid)[owner == i]
    return heats.max(axis=0).astype(np.float32), offsets


def peaks(heatmap: np.ndarray, config: DecoderConfig = DecoderConfig()) -> np.ndarray:
    """[P, 2] (row, column) of the cells that are local maxima above the threshold, strongest first."""
    d = int(config.local_max_distance)
    padded = np.pad(heatmap, d, constant_values=-np.inf)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (2 * d + 1, 2 * d + 1))
    found = (heatmap >= windows.max(axis=(2, 3))) & (heatmap >= config.heatmap_threshold)
    cells = np.argwhere(found)
    return cells[np.argsort(-heatmap[found], kind="stable")]


def decode(heatmap: np.ndarray, offsets: np.ndarray, config: DecoderConfig = DecoderConfig()) -> list[dict]:
    """The boxes in one frame: each {"belief", "points": [9, 2] the centre then vertices 1..8,
    normalized to the frame (x by W, y by H, so 0..1 inside it)}, strongest first."""
    rows, cols = heatmap.shape
    if offsets.shape != (rows, cols, 16):
        raise ValueError(f"offsets: expected [{rows}, {cols}, 16], got {list(offsets.shape)}")
    scale = min(rows, cols)
    r, a = config.voting_radius, config.voting_allowance
    votes = offsets.reshape(rows, cols, 8, 2) * scale + _cells(rows, cols)[:, :, None]  # [H, W, 8, 2] cells
    boxes: list[dict] = []
    for row, col in peaks(heatmap, config):
        own = votes[row, col]
        if r > 1:
            top, left = max(0, row - r), max(0, col - r)  # the window MediaPipe takes, shifted in at the edges
            window = (slice(top, top + 2 * r + 1), slice(left, left + 2 * r + 1))
            belief = heatmap[window][..., None, None]
            near = votes[window]
            weight = (
                belief * (belief >= config.voting_threshold) * (np.abs(near - own).max(axis=-1, keepdims=True) <= a)
            )
            own = (near * weight).sum(axis=(0, 1)) / np.maximum(weight.sum(axis=(0, 1)), 1e-12)
        points = np.concatenate([[[col, row]], own]) / [cols, rows]
        box = {"belief": float(heatmap[row, col]), "points": points}
        if all(np.abs((box["points"][1:] - b["points"][1:]) * [cols, rows]).max() > a for b in boxes):
            boxes.append(box)
    return boxes


def boxes_in_image(
    heatmap: np.ndarray,
    offsets: np.ndarray,
    view,
    size: int | tuple,
    camera: dict,
    config: DecoderConfig = DecoderConfig(),
) -> list[dict]:
    """The boxes the heads found in a view of an image, lifted by EPnP: each {"score", "pixels"
    [9, 2] the centre and vertices in image pixels, "box" [9, 3] camera space up to scale (its
    centre 1 unit in front; `cuboid.scale_to_plane` or `scale_to_size` give it a size)}, strongest
    first. heatmap [H/16, W/16], offsets [H/16, W/16, 16] of the view `view` (a `roi.Roi`) cut at
    `size` pixels (a square's side or (W, H));
    camera {fx, fy, cx, cy} of the image. Boxes whose lifting is degenerate are left out."""
    from blazeforge.geometry.cuboid import lift_box
    from blazeforge.geometry.roi import crop_shape, crop_to_image

    found = []
    for box in decode(heatmap, offsets, config):
        pixels = crop_to_image(box["points"] * crop_shape(size), view, size)
        lifted = lift_box(pixels[1:], camera)
        if np.isfinite(lifted).all():
            found.append({"score": box["belief"], "pixels": pixels, "box": lifted})
    return found
