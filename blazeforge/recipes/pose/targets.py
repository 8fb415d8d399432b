"""BlazePose's crop and training targets for one person, in numpy (no TensorFlow).

The crop is the paper's alignment: the hip centre at the middle, hips -> shoulders turned upright,
the side 2 x the distance hip centre -> body-circle point x 1.25 (`geometry.roi.pose_roi`'s rule,
which the runtime applies to the model's own virtual keypoints). The virtual keypoints come from
the sample (renders: from the mesh) or, where it has none (real photos), from the labelled points.

Targets of a crop of side S (heatmaps of side H = S / 4, stride 4), for the 39 landmarks of the
published layout (33 body points, the 2 virtual keypoints, 4 auxiliary ones nobody labels):
- landmarks [39, 5]: x, y, z in crop pixels (z at x's scale, from the hip centre), visibility (1
  where the point is in the crop and not occluded) and presence (1 in the crop), with a mask [39, 5]
  of what is labelled (z only on renders; the virtual points' x, y only);
- heatmap [H, H, 39]: a Gaussian of `sigma` cells around each point, cell (i, j) standing for crop
  pixel (j, i) x stride (MediaPipe's heatmap refinement reads cell c as c / H of the crop), zero for
  points outside; channel mask [39];
- offsets [H, H, 78]: (dx, dy) from each cell to its point, in cells, and their weight [H, H, 39]
  (cells where the Gaussian exceeds 0.1);
- segmentation [S, S]: the person's mask, with a weight (0 where the sample has no mask);
- world [39, 3]: the 33 points in metres from the hip centre (the published world landmarks), x
  and y turned with the crop (MediaPipe's graph turns them back by the ROI's rotation in its
  WorldLandmarkProjectionCalculator), with a mask [39, 3]: renders only (camera-space labels).
"""

from __future__ import annotations

import numpy as np

from blazeforge.geometry.roi import POSE_ROI_SCALE, Roi, alignment_roi, crop_image, image_to_crop, turn_world
from blazeforge.topology.pose import LEFT_HIP, LEFT_SHOULDER, RIGHT_HIP, RIGHT_SHOULDER, virtual_keypoints

BODY, VIRTUAL, LANDMARKS = 33, 2, 39  # points labelled, the virtual keypoints, the published layout
VALUES = 5  # x, y, z, visibility logit, presence logit
HEATMAP_STRIDE = 4
TORSO = (LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_HIP, RIGHT_HIP)
LABELLED_RADIUS_SCALE = 1.1  # real photos: the body circle is this times the labelled points' radius
MAX_ROI_SHARE = 4.0  # a crop more than this many image sides across is a broken label, not a person


def person_virtual_keypoints(
    keypoints: np.ndarray, mask: np.ndarray, auxiliary: np.ndarray | None
) -> np.ndarray | None:
    """[2, 2] the person's virtual keypoints (pixels): the sample's where finite, else from the
    labelled points (the hips and shoulders needed; radius 1.1x the labelled points'); None when
    the torso is not labelled."""
    if auxiliary is not None and np.isfinite(auxiliary).all():
        return np.asarray(auxiliary, np.float64)[:, :2]
    labelled = np.asarray(mask)[:, 0].astype(bool)
    if not labelled[list(TORSO)].all():
        return None
    xy = np.asarray(keypoints, np.float64)[:BODY, :2]
    hips, top = virtual_keypoints(xy, xy[labelled[:BODY]])
    return np.stack([hips, hips + (top - hips) * LABELLED_RADIUS_SCALE])


def person_roi(keypoints: np.ndarray, mask: np.ndarray, auxiliary: np.ndarray | None) -> Roi:
    """The person's crop (see the module docstring); without a labelled torso, a square 1.25x the
    labelled points' extent."""
    virtual = person_virtual_keypoints(keypoints, mask, auxiliary)
    if virtual is not None:
        return alignment_roi(virtual[0], virtual[1], POSE_ROI_SCALE)
    xy = np.asarray(keypoints, np.float64)[np.asarray(mask)[:, 0].astype(bool), :2]
    lo, hi = xy.min(0), xy.max(0)
    side = max(float((hi - lo).max()), 1.0) * POSE_ROI_SCALE
    return Roi(*((lo + hi) / 2), side, side, 0.0)


def usable(roi: Roi, width: int, height: int) -> bool:
    """Whether a person's crop is one to train or score on: at most MAX_ROI_SHARE image sides wide.
    (A body render's other person standing beside the camera, part of it behind the lens, projects
    its far points thousands of sides away.)"""
    return bool(np.isfinite([roi.cx, roi.cy, roi.width]).all() and roi.width <= MAX_ROI_SHARE * max(width, height))


def landmark_targets(
    keypoints: np.ndarray,
    mask: np.ndarray,
    visibility: np.ndarray,
    virtual: np.ndarray | None,
    roi: Roi,
    size: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(values [39, 5], mask [39, 5]) in the crop `roi` of side `size` (see the module docstring)."""
    values, labels = np.zeros((LANDMARKS, VALUES), np.float32), np.zeros((LANDMARKS, VALUES), np.float32)
    crop = image_to_crop(np.asarray(keypoints, np.float64)[:BODY], roi, size)
    inside = ((crop[:, :2] >= 0) & (crop[:, :2] < size)).all(1)
    labelled = np.asarray(mask, bool)[:BODY]
    values[:BODY, :3] = crop
    values[:BODY, 3] = np.asarray(visibility, np.float32)[:BODY] * inside
    values[:BODY, 4] = inside
    labels[:BODY, :3] = labelled
    labels[:BODY, 3] = labels[:BODY, 4] = labelled[:, 0]
    if virtual is not None:
        values[BODY : BODY + VIRTUAL, :2] = image_to_crop(virtual, roi, size)
        labels[BODY : BODY + VIRTUAL, :2] = 1.0
    return values, labels


def world_targets(keypoints_camera: np.ndarray | None, roi: Roi) -> tuple[np.ndarray, np.ndarray]:
    """(world [39, 3] metres from the hip centre, x and y in the crop's axes; mask [39, 3]) of a
    person's camera-space points [33+, 3] (metres; x right, y down, z forward), NaN where unknown."""
    world, mask = np.zeros((LANDMARKS, 3), np.float32), np.zeros((LANDMARKS, 3), np.float32)
    if keypoints_camera is None:
        return world, mask
    points = np.asarray(keypoints_camera, np.float64)[:BODY]
    hips = points[[LEFT_HIP, RIGHT_HIP]].mean(0)
    if not np.isfinite(hips).all():
        return world, mask
    turned = turn_world(points - hips, roi.rotation, to="crop")
    known = np.isfinite(turned).all(1)
    world[:BODY][known] = turned[known]
    mask[:BODY][known] = 1.0
    return world, mask


def heatmap_targets(values: np.ndarray, labels: np.ndarray, size: int, sigma: float):
    """(heatmap [H, H, 39], channel mask [39], offsets [H, H, 78], offset weight [H, H, 39]) of
    crop points values [39, >=2] (pixels) with their mask labels [39, >=2]; H = size / 4, sigma in
    cells."""
    h = size // HEATMAP_STRIDE
    u = values[:, 0] / HEATMAP_STRIDE  # cell coordinates: cell j stands for pixel j * stride
    v = values[:, 1] / HEATMAP_STRIDE
    cols = np.arange(h, dtype=np.float32)[None, :, None]
    rows = np.arange(h, dtype=np.float32)[:, None, None]
    dx, dy = np.broadcast_arrays(u[None, None, :] - cols, v[None, None, :] - rows)  # [H, H, 39] each
    heat = np.exp(-(dx**2 + dy**2) / (2 * sigma**2)).astype(np.float32)
    channel = labels[:, 0].astype(np.float32)
    heat *= channel
    weight = (heat > 0.1).astype(np.float32)
    offsets = np.stack([dx, dy], -1).reshape(h, h, 2 * LANDMARKS).astype(np.float32) * np.repeat(weight, 2, -1)
    return heat, channel, offsets, weight


def segmentation_target(person_mask: np.ndarray | None, roi: Roi, size: int) -> tuple[np.ndarray, float]:
    """(mask [S, S] float in [0, 1], weight): the person's mask (bool [H, W]) in the crop; zeros
    and weight 0 without one."""
    if person_mask is None:
        return np.zeros((size, size), np.float32), 0.0
    crop = crop_image(person_mask.astype(np.float32), roi, size, border="constant")
    return np.clip(crop, 0.0, 1.0).astype(np.float32), 1.0


def occlude(crop: np.ndarray, values: np.ndarray, rng: np.random.Generator, count: int) -> None:
    """Paint 1..count random rectangles (a tenth to a third of the crop side, random colour) on
    crop [S, S, 3] uint8 in place; points under them lose their visibility (values [39, 5])."""
    size = crop.shape[0]
    for _ in range(int(rng.integers(1, count + 1))):
        w, h = (rng.uniform(0.1, 0.33, 2) * size).astype(int)
        x0, y0 = int(rng.integers(0, size - w)), int(rng.integers(0, size - h))
        crop[y0 : y0 + h, x0 : x0 + w] = rng.integers(0, 256, 3, dtype=np.uint8)
        hidden = (values[:BODY, 0] >= x0) & (values[:BODY, 0] < x0 + w)
        hidden &= (values[:BODY, 1] >= y0) & (values[:BODY, 1] < y0 + h)
        values[:BODY, 3][hidden] = 0.0


def flip(crop, values, labels, heat_inputs, permutation, world=None):
    """Mirror a crop [S, S, C] and its points values, labels [39, 5] left-right (x -> S - x, the
    sides swapped by `permutation` of the 33); returns the flipped copies. heat_inputs: other
    [S, S] maps to mirror alongside (the segmentation); world: (world, mask) [39, 3] each, whose x
    changes sign (returned last, flipped, where given)."""
    size = crop.shape[1]
    crop = np.ascontiguousarray(crop[:, ::-1])
    order = list(permutation) + list(range(BODY, LANDMARKS))
    values, labels = values[order].copy(), labels[order].copy()
    values[:, 0] = np.where(labels[:, 0] > 0, size - values[:, 0], 0.0)
    flipped = crop, values, labels, [np.ascontiguousarray(m[:, ::-1]) for m in heat_inputs]
    if world is None:
        return flipped
    points, known = world[0][order].copy(), world[1][order].copy()
    points[:, 0] = -points[:, 0]
    return (*flipped, (points, known))
