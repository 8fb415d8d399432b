"""Objectron's box as a landmark set: its centre and 8 vertices (`geometry.cuboid`'s layout).

Vertex i (1..8) sits at the object's left or right (x), bottom or top (y), back or front (z) by
bits 4, 2, 1 of i - 1. A sample's keypoints hold the box projected and keypoints_camera the box in
camera metres; its 9-DOF pose is the schema's `cuboid` field. A horizontal flip mirrors the object,
so left and right vertices swap.
"""

from __future__ import annotations

from blazeforge.geometry.cuboid import EDGES, VERTEX_SIGNS
from blazeforge.topology.base import Topology, register

NAMES = ("centre",) + tuple(
    f"{('left', 'right')[x > 0]}_{('bottom', 'top')[y > 0]}_{('back', 'front')[z > 0]}" for x, y, z in VERTEX_SIGNS
)

CUBOID = register(
    Topology(
        name="cuboid",
        names=NAMES,
        edges=EDGES,
        root=0,
        normalizer=(1, 8),  # the main diagonal
        unit="box diagonal",
        flip_pairs=((1, 5), (2, 6), (3, 7), (4, 8)),
    )
)
