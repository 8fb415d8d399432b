"""BlazePose's 33 body landmarks, in MediaPipe's `PoseLandmark` order, and its two virtual keypoints.

0 nose; 1-3 left eye inner / centre / outer; 4-6 right eye; 7-8 ears; 9-10 mouth; then odd = left,
even = right: shoulders, elbows, wrists, pinky, index and thumb knuckles, hips, knees, ankles, heels,
foot index (the toe tip). The landmark model also predicts two virtual keypoints that give the next
frame's ROI (`geometry.roi.pose_roi`): 33 the hip centre and 34 a point above it, along the hip ->
shoulder centre line, at the radius of the circle around the whole body centred at the hips.
"""

from __future__ import annotations

import numpy as np

from blazeforge.topology.base import Topology, register

NAMES = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    *(
        f"{side}_{part}"
        for part in ("shoulder", "elbow", "wrist", "pinky", "index", "thumb")
        for side in ("left", "right")
    ),
    *(f"{side}_{part}" for part in ("hip", "knee", "ankle", "heel", "foot_index") for side in ("left", "right")),
)
LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_HIP, RIGHT_HIP = 11, 12, 23, 24
# COCO's 17 person keypoints (nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles; left
# before right) as indices of the 33, in COCO's order.
COCO_17 = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
EDGES = (
    (0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10),
    (11, 12), (11, 13), (13, 15), (15, 17), (15, 19), (15, 21), (17, 19),
    (12, 14), (14, 16), (16, 18), (16, 20), (16, 22), (18, 20),
    (11, 23), (12, 24), (23, 24), (23, 25), (24, 26), (25, 27), (26, 28),
    (27, 29), (28, 30), (29, 31), (30, 32), (27, 31), (28, 32),
)  # fmt: skip
FLIP_PAIRS = ((1, 4), (2, 5), (3, 6), (7, 8), (9, 10)) + tuple((i, i + 1) for i in range(11, 33, 2))


def torso_size(points: np.ndarray) -> float:
    """The BlazePose paper's torso size: shoulder centre to hip centre, points [33+, >=2] (2D)."""
    points = np.asarray(points, np.float64)
    shoulders = points[[LEFT_SHOULDER, RIGHT_SHOULDER], :2].mean(0)
    hips = points[[LEFT_HIP, RIGHT_HIP], :2].mean(0)
    return float(np.linalg.norm(shoulders - hips))


POSE = register(
    Topology(
        name="pose",
        names=NAMES,
        edges=EDGES,
        root=LEFT_HIP,
        normalizer=(LEFT_SHOULDER, RIGHT_HIP),
        flip_pairs=FLIP_PAIRS,
        auxiliary=("hip_centre", "body_circle"),
        coco_points=COCO_17,
        unit="torso size",
        scale=torso_size,
    )
)


def virtual_keypoints(points: np.ndarray, body: np.ndarray) -> np.ndarray:
    """[2, D] BlazePose's keypoints 33 and 34 from landmarks points [33, D] and every point of the
    body (its mesh or mask pixels) body [N, D] in the same units: the hip centre, and the point at
    the radius of the smallest hip-centred circle around the body along hips -> shoulders."""
    points = np.asarray(points, np.float64)
    hips = points[[LEFT_HIP, RIGHT_HIP]].mean(0)
    up = points[[LEFT_SHOULDER, RIGHT_SHOULDER]].mean(0) - hips
    radius = np.linalg.norm(np.asarray(body, np.float64) - hips, axis=1).max()
    return np.stack([hips, hips + up / np.linalg.norm(up) * radius])
