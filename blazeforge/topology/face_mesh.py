"""MediaPipe's face mesh: 468 landmarks (the published face_landmark model's output order), and the
refined 478 (`face_mesh_iris`: + 5 iris points per eye, the attention model's order).

Errors are normalized by the interocular distance (IOD), here the outer eye corners 33 and 263,
and z is relative to the nose tip (1). The mesh's edges (tesselation, contours) and its region sets
are read from the pinned wheel (`zoo.connections`), not retyped. The flip pairs (which vertex a
horizontal flip turns each vertex into) are in face_mesh_flip.json, with how they were found.
"""

import json
from functools import cache
from pathlib import Path

import numpy as np

from blazeforge.topology.base import Topology, register

NUM_LANDMARKS = 468
NOSE_TIP = 1
OUTER_EYE_CORNERS = (33, 263)
FLIP_PAIRS = tuple(tuple(p) for p in json.loads((Path(__file__).parent / "face_mesh_flip.json").read_text())["pairs"])

FACE_MESH = register(
    Topology(
        name="face_mesh",
        names=tuple(f"mesh_{i:03d}" for i in range(NUM_LANDMARKS)),
        edges=(),
        root=NOSE_TIP,
        normalizer=OUTER_EYE_CORNERS,
        unit="IOD",
        flip_pairs=FLIP_PAIRS,
    )
)

# The refined mesh's irises (the wheel's FACEMESH_RIGHT_IRIS / LEFT_IRIS rims, centres before them):
# centre, then four rim points around it; "right" is the subject's right eye (the image's left).
IRIS = {"right": (468, 469, 470, 471, 472), "left": (473, 474, 475, 476, 477)}

FACE_MESH_IRIS = register(
    Topology(
        name="face_mesh_iris",
        names=FACE_MESH.names + tuple(f"{side}_iris_{i}" for side in ("right", "left") for i in range(5)),
        edges=(),
        root=NOSE_TIP,
        normalizer=OUTER_EYE_CORNERS,
        unit="IOD",
    )
)

# The iris model's 71 eye-contour and brow points (its "eye_contour" output, in order) as mesh
# vertices, per eye of the subject: MediaPipe's iris graph writes them back into the face mesh
# at these indices. Found by matching the published iris model's output to the published face
# model's mesh on skimage's astronaut photo (every point within 5.1% IOD of its vertex, 2% on
# average); the "left" list mirrors the "right" one point for point.
EYE_CONTOUR = {
    "right": (
        33,
        7,
        163,
        144,
        145,
        153,
        154,
        155,
        133,
        246,
        161,
        160,
        159,
        158,
        157,
        173,
        130,
        25,
        110,
        24,
        23,
        22,
        26,
        112,
        243,
        247,
        30,
        29,
        27,
        28,
        56,
        190,
        226,
        31,
        228,
        229,
        230,
        231,
        232,
        233,
        244,
        113,
        225,
        224,
        223,
        222,
        221,
        189,
        35,
        124,
        46,
        53,
        52,
        65,
        143,
        111,
        117,
        118,
        119,
        120,
        121,
        128,
        245,
        156,
        70,
        63,
        105,
        66,
        107,
        55,
        193,
    ),
    "left": (
        263,
        249,
        390,
        373,
        374,
        380,
        381,
        382,
        362,
        466,
        388,
        387,
        386,
        385,
        384,
        398,
        359,
        255,
        339,
        254,
        253,
        252,
        256,
        341,
        463,
        467,
        260,
        259,
        257,
        258,
        286,
        414,
        446,
        261,
        448,
        449,
        450,
        451,
        452,
        453,
        464,
        342,
        445,
        444,
        443,
        442,
        441,
        413,
        265,
        353,
        276,
        283,
        282,
        295,
        372,
        340,
        346,
        347,
        348,
        349,
        350,
        357,
        465,
        383,
        300,
        293,
        334,
        296,
        336,
        285,
        417,
    ),
}

# What the iris model labels of each eye: its 71 contour points, then the 5 iris points.
EYE_POINTS = {eye: EYE_CONTOUR[eye] + IRIS[eye] for eye in ("right", "left")}

# One eye as the iris model sees it (the subject's right eye, or the left one mirrored): 71
# eye-contour and brow points, then the iris centre and its rim. Errors are normalized by the eye's
# width (its corners, points 0 and 8), z is relative to the iris centre.
EYE = register(
    Topology(
        name="eye",
        names=tuple(f"eye_contour_{i:02d}" for i in range(71)) + tuple(f"iris_{i}" for i in range(5)),
        edges=(),
        root=71,
        normalizer=(0, 8),
        unit="eye width",
    )
)


@cache
def region(name: str) -> np.ndarray:
    """Vertex indices of one of MediaPipe's face-mesh connection sets, e.g. region("FACEMESH_LEFT_EYE")
    (read from the mediapipe wheel, `zoo.connections`)."""
    from blazeforge.zoo.connections import connections

    return np.array(sorted({i for edge in connections("face_mesh")[name] for i in edge}))
