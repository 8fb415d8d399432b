"""Landmark sets and their facts: names, edges, normalizers.

A `Topology` is pure data shared by the renderer (which joints to label), training (which points to
swap on a flip, what normalizes the loss), evaluation (the NME normalizer) and the runtime (what
to draw). Look one up with `get("hand")`.
"""

from __future__ import annotations

from blazeforge.errors import BlazeforgeError
from blazeforge.topology import cuboid, face, face_mesh, hand, pose  # noqa: F401  (they register themselves)
from blazeforge.topology.base import REGISTRY, Topology, register

__all__ = ["Topology", "derivation", "get", "register"]


def get(name: str) -> Topology:
    """The topology called `name`; a BlazeforgeError naming the known ones otherwise."""
    if name not in REGISTRY:
        raise BlazeforgeError("topology", f"unknown topology {name!r}; expected one of {sorted(REGISTRY)}")
    return REGISTRY[name]


def derivation(source: str, target: str):
    """A function [K_source, C] -> [K_target, C] that makes `target` labels from `source` ones, or
    None when there is none: the refined face mesh gives the 468-point mesh, and either gives the
    face detectors' 6 keypoints (`face.from_face_mesh`)."""
    first_468 = lambda points: points[:468]  # noqa: E731
    rules = {
        ("face_mesh_iris", "face_mesh"): first_468,
        ("face_mesh_iris", "face_keypoints"): lambda points: face.from_face_mesh(points[:468]),
        ("face_mesh", "face_keypoints"): face.from_face_mesh,
    }
    return rules.get((source, target))
