"""What each SSD detector finds in a labelled sample: the detector kinds, one strategy object each.

A `DetectorKind` is the published detector a model replaces (its anchors and decoding options,
`geometry.anchors`, the same numpy code as the runtime's; its input range) and its label function:
how an instance of the dataset becomes the box and keypoints the detector regresses. Palms are a
square from 7 of the 21 hand landmarks (`palm_instance`, `topology.hand.palm_label`); faces are the
labelled box and 6 keypoints (`labelled_instance`); persons are the labelled box and BlazePose's 4
alignment points made from the 33 (`pose_instance`). A new detector is one more entry with its own
label function.
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
from blazeforge.topology.pose import LEFT_HIP, LEFT_SHOULDER, RIGHT_HIP, RIGHT_SHOULDER

# The pose detector's keypoints (MediaPipe's pose_detection, in its output order).
POSE_DETECTOR_POINTS = ("hip_centre", "body_circle", "shoulder_centre", "upper_body_circle")
UPPER_BODY = 25  # the points above the knees (0 nose .. 24 right hip): what the upper-body circle holds
FAR = 2.0  # alignment points farther than this many box sides from the person's box are not labels (`pose_instance`)


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
    return b, points, np.ones(kind.count, bool)


def _box(box, to_units, scale, flip) -> np.ndarray:
    """A labelled box [4] (pixels, x0 y0 x1 y1) in the output's units, mirrored where flip."""
    x0, y0, x1, y1 = np.asarray(box, np.float64)
    centre = to_units(np.array([[(x0 + x1) / 2, (y0 + y1) / 2]]))[0]
    half = np.array([x1 - x0, y1 - y0]) * scale / 2
    if flip:
        centre[0] = 1.0 - centre[0]
    return np.concatenate([centre - half, centre + half])


def labelled_instance(kind, kp, labelled, box, to_units, scale, flip):
    """(box [4], points [k, 2], mask [k]) of a labelled box and its keypoints (unlabelled ones
    masked); flipping swaps the topology's left and right keypoints."""
    index = list(kind.keypoints)
    points = to_units(np.asarray(kp, np.float64)[index, :2])
    if flip:
        points[:, 0] = 1.0 - points[:, 0]
        swap = [index.index(i) for i in np.asarray(topology.get(kind.topology).flip_permutation())[index]]
        points, labelled = points[swap], labelled[swap]
    return _box(box, to_units, scale, flip), points, labelled


def pose_alignment_points(xy: np.ndarray, labelled: np.ndarray) -> np.ndarray | None:
    """[4, 2] BlazePose's detector keypoints from the 33 landmarks xy [33, 2] (pixels) and their
    mask labelled [33]: the hip centre; the body-circle point (hips -> shoulders at 1.1x the
    labelled points' radius around the hips: `recipes.pose.targets.person_virtual_keypoints`, the
    landmark recipe's crop of a photo, the same for renders and photos); the shoulder centre; the
    upper-body point (the same direction at the largest distance from the shoulder centre to a
    labelled point above the knees). None without the hips and shoulders. (On 29 body renders the
    published detector's upper-body radius is 0.99x this one.)"""
    from blazeforge.recipes.pose.targets import person_virtual_keypoints

    if not labelled[[LEFT_HIP, RIGHT_HIP, LEFT_SHOULDER, RIGHT_SHOULDER]].all():
        return None
    mask = np.repeat(labelled[:, None], 2, 1)
    hips, circle = person_virtual_keypoints(xy, mask, None)
    shoulders = xy[[LEFT_SHOULDER, RIGHT_SHOULDER]].mean(0)
    up = (shoulders - hips) / max(float(np.linalg.norm(shoulders - hips)), 1e-9)
    upper = xy[:UPPER_BODY][labelled[:UPPER_BODY]]
    radius = float(np.linalg.norm(upper - shoulders, axis=1).max())
    return np.stack([hips, circle, shoulders, shoulders + up * radius])


def pose_instance(kind, kp, labelled, box, to_units, scale, flip):
    """(box [4], points [4, 2], mask [4]) of a person: the labelled box and the 4 alignment points
    (`pose_alignment_points`; None without the torso). They sit on the body's axis, so a mirror
    image only mirrors x. Points farther than FAR times the box's long side from its centre are
    masked (in whatever units the box and points share): a render's person standing half behind
    the lens projects its far points thousands of pixels away, and one such target would outweigh
    a batch of real ones."""
    points = pose_alignment_points(np.asarray(kp, np.float64)[:, :2], labelled)
    if points is None:
        return None
    points = to_units(points)
    if flip:
        points[:, 0] = 1.0 - points[:, 0]
    b = _box(box, to_units, scale, flip)
    near = np.linalg.norm(points - (b[:2] + b[2:]) / 2, axis=1) <= FAR * max(b[2] - b[0], b[3] - b[1])
    return b, points, near


@dataclass(frozen=True)
class DetectorKind:
    """What one published detector is: its options, input and what it finds in a sample.

    name: the `geometry.anchors` spec's name (recipe.detector); what: what it finds ("palm",
    "face", "person"); topology: the dataset's landmark set; keypoints: the indices of it the label
    reads (and, unless point_names says otherwise, regresses, in its output order); label: (kind,
    keypoints [K, >=2], labelled [k] bool, box [4], to_units, scale, flip) -> (box, points, mask)
    or None (`palm_instance`, `labelled_instance`, `pose_instance`); point_names: the names of
    the keypoints it regresses where they are not landmarks of the topology (the pose detector's);
    hull: the landmarks whose convex hull `hidden` measures (default: keypoints; a person's torso,
    which the body fills, where the hull of 33 points holds the background between spread limbs).
    """

    name: str
    what: str
    spec: DetectorSpec
    input_range: tuple[float, float]
    topology: str
    keypoints: tuple[int, ...]
    label: Callable
    point_names: tuple[str, ...] = ()
    hull: tuple[int, ...] = ()

    @property
    def names(self) -> list[str]:
        """The names of the keypoints the detector regresses, in its output order."""
        if self.point_names:
            return list(self.point_names)
        return [topology.get(self.topology).names[i] for i in self.keypoints]

    @property
    def count(self) -> int:
        """How many keypoints the detector regresses."""
        return len(self.point_names or self.keypoints)


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
        DetectorKind(
            "POSE_DETECTION",
            "person",
            anchor_specs.POSE_DETECTION,
            (-1.0, 1.0),
            "pose",
            tuple(range(33)),
            pose_instance,
            POSE_DETECTOR_POINTS,
            (LEFT_SHOULDER, RIGHT_SHOULDER, RIGHT_HIP, LEFT_HIP),
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

    An instance's region is the convex hull of the kind's hull keypoints (the 7 palm landmarks, the
    6 face keypoints, a person's shoulders and hips; keypoints [N, K, >=2] in image pixels,
    keypoint_mask [N, K, >=1]), the part in the image; segmentation uint8 [H, W] holds i + 1 on
    instance i's visible pixels (a render's mask: the hand, face or body itself hides none of it,
    an occluder in front does). Without a
    segmentation (real photos), with min_visible 0 or under 3 labelled keypoints: not hidden.
    """
    import cv2

    out = np.zeros(len(keypoints), bool)
    if segmentation is None or min_visible <= 0:
        return out
    index = list(kind.hull or kind.keypoints)
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
    k = kind.count
    return (
        np.array(out_boxes, np.float64).reshape(-1, 4),
        np.array(out_points, np.float64).reshape(-1, k, 2),
        np.array(out_mask, bool).reshape(-1, k),
        np.array(out_ignore, bool),
    )
