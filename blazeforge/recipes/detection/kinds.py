"""What each SSD detector finds in a labelled sample: the detector kinds, one strategy object each.

A `DetectorKind` is the published detector a model replaces (its anchors and decoding options,
`geometry.anchors`, the same numpy code as the runtime's; its input range) and its label function:
how an instance of the dataset becomes the box and keypoints the detector regresses. Palms are a
square from 7 of the 21 hand landmarks (`palm_instance`, `topology.hand.palm_label`); faces are the
labelled box and 6 keypoints (`labelled_instance`). A new detector (the pose detector's two
alignment keypoints) is one more entry with its own label function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from blazeforge import topology
from blazeforge.errors import BlazeforgeError
from blazeforge.geometry import anchors as anchor_specs
from blazeforge.geometry.anchors import DetectorSpec
from blazeforge.topology.hand import PALM_KEYPOINTS, palm_label


def palm_instance(kind, kp, labelled, box, to_units, scale, flip):
    """(box [4], points [k, 2], mask [k]) of a palm: a square from the 7 palm landmarks of 21 (all
    must be labelled, else None). A mirrored left palm is a right palm with the same keypoint
    order, so flipping mirrors the landmarks and recomputes the box."""
    if not labelled.all():
        return None
    xy = to_units(np.asarray(kp, np.float64)[:, :2])
    if flip:
        xy[:, 0] = 1.0 - xy[:, 0]
    b, points = palm_label(xy)
    return b, points, np.ones(len(kind.keypoints), bool)


def labelled_instance(kind, kp, labelled, box, to_units, scale, flip):
    """(box [4], points [k, 2], mask [k]) of a labelled box and its keypoints (unlabelled ones
    masked); flipping swaps the topology's left and right keypoints."""
    index = list(kind.keypoints)
    x0, y0, x1, y1 = np.asarray(box, np.float64)
    centre = to_units(np.array([[(x0 + x1) / 2, (y0 + y1) / 2]]))[0]
    half = np.array([x1 - x0, y1 - y0]) * scale / 2
    points = to_units(np.asarray(kp, np.float64)[index, :2])
    if flip:
        centre[0], points[:, 0] = 1.0 - centre[0], 1.0 - points[:, 0]
        swap = [index.index(i) for i in np.asarray(topology.get(kind.topology).flip_permutation())[index]]
        points, labelled = points[swap], labelled[swap]
    return np.concatenate([centre - half, centre + half]), points, labelled


@dataclass(frozen=True)
class DetectorKind:
    """What one published detector is: its options, input and what it finds in a sample.

    name: the `geometry.anchors` spec's name (recipe.detector); what: what it finds ("palm",
    "face"); topology: the dataset's landmark set; keypoints: the indices of it the detector
    regresses, in its output order; label: (kind, keypoints [K, >=2], labelled [k] bool, box [4],
    to_units, scale, flip) -> (box, points, mask) or None (`palm_instance`, `labelled_instance`).
    """

    name: str
    what: str
    spec: DetectorSpec
    input_range: tuple[float, float]
    topology: str
    keypoints: tuple[int, ...]
    label: Callable


DETECTORS = {
    kind.name: kind
    for kind in (
        DetectorKind(
            "PALM_DETECTION", "palm", anchor_specs.PALM_DETECTION, (0.0, 1.0), "hand", PALM_KEYPOINTS, palm_instance
        ),
        DetectorKind(
            "FACE_DETECTION_SHORT_RANGE",
            "face",
            anchor_specs.FACE_DETECTION_SHORT_RANGE,
            (-1.0, 1.0),
            "face_keypoints",
            tuple(range(6)),
            labelled_instance,
        ),
        DetectorKind(
            "FACE_DETECTION_FULL_RANGE",
            "face",
            anchor_specs.FACE_DETECTION_FULL_RANGE,
            (-1.0, 1.0),
            "face_keypoints",
            tuple(range(6)),
            labelled_instance,
        ),
    )
}


def detector(name: str) -> DetectorKind:
    """The entry of DETECTORS called `name`; a one-line error naming the choices otherwise."""
    if name not in DETECTORS:
        raise BlazeforgeError("recipe.detector", f"unknown detector {name!r}; expected one of {sorted(DETECTORS)}")
    return DETECTORS[name]


def min_visible(cfg) -> float:
    """data.min_visible: the share of an instance its render mask must show for it to count (0: all count)."""
    return float(cfg.data.get("min_visible", 0.0))


def hidden(kind: DetectorKind, keypoints, keypoint_mask, segmentation, min_visible: float) -> np.ndarray:
    """[N] bool: the instances that `segmentation` shows less than `min_visible` of.

    An instance's region is the convex hull of its detector keypoints (the 7 palm landmarks, the 6
    face keypoints; keypoints [N, K, >=2] in image pixels, keypoint_mask [N, K, >=1]), the part in
    the image; segmentation uint8 [H, W] holds i + 1 on instance i's visible pixels (a render's
    mask: the hand or face itself hides none of it, an occluder in front does). Without a
    segmentation (real photos), with min_visible 0 or under 3 labelled keypoints: not hidden.
    """
    import cv2

    out = np.zeros(len(keypoints), bool)
    if segmentation is None or min_visible <= 0:
        return out
    index = list(kind.keypoints)
    for i, (kp, mask) in enumerate(zip(keypoints, keypoint_mask)):
        points = np.asarray(kp, np.float64)[index, :2][np.asarray(mask)[index, 0].astype(bool)]
        if len(points) < 3:
            continue
        region = np.zeros(segmentation.shape[:2], np.uint8)
        cv2.fillConvexPoly(region, cv2.convexHull(np.round(points).astype(np.int32)), 1)
        inside = region.astype(bool)
        out[i] = inside.any() and (segmentation[inside] == i + 1).mean() < min_visible
    return out


def instances(
    kind: DetectorKind,
    keypoints,
    keypoint_mask,
    boxes,
    to_units: Callable,
    scale: float,
    flip: bool = False,
    hidden: np.ndarray | None = None,
):
    """(boxes [G, 4] x0, y0, x1, y1, points [G, k, 2], point_mask [G, k], ignore [G]) of what `kind`
    detects, by its label function.

    keypoints [N, K, >=2], keypoint_mask [N, K, >=1] and boxes [N, 4] in image pixels; to_units maps
    pixel xy [M, 2] to the output's units (the identity for image pixels; a training view's crop in
    [0, 1]) and scale is how lengths change under it (sizes of labelled boxes). flip mirrors x in
    [0, 1] units. Instances the label function cannot label (a palm without its 7 landmarks) are
    left out. ignore: the instance is in `hidden` [N] (see `hidden`): an ignore region, neither to
    be found nor a false detection.
    """
    index = list(kind.keypoints)
    hidden = np.zeros(len(keypoints), bool) if hidden is None else np.asarray(hidden, bool)
    out_boxes, out_points, out_mask, out_ignore = [], [], [], []
    for kp, mask, box, ignore in zip(keypoints, keypoint_mask, boxes, hidden):
        labelled = np.asarray(mask)[index, 0].astype(bool)
        found = kind.label(kind, kp, labelled, box, to_units, scale, flip)
        if found is None:
            continue
        out_boxes.append(found[0])
        out_points.append(found[1])
        out_mask.append(found[2])
        out_ignore.append(bool(ignore))
    k = len(index)
    return (
        np.array(out_boxes, np.float64).reshape(-1, 4),
        np.array(out_points, np.float64).reshape(-1, k, 2),
        np.array(out_mask, bool).reshape(-1, k),
        np.array(out_ignore, bool),
    )
