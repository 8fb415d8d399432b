"""Landmark sets and their facts: names, edges, normalizers.

A `Topology` is pure data shared by the renderer (which joints to label), training (which points to
swap on a flip, what normalizes the loss), evaluation (the NME normalizer) and the runtime (what
to draw). Look one up with `get("hand")`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from blazeforge.errors import BlazeforgeError


@dataclass(frozen=True)
class Topology:
    """A named set of K landmarks.

    Attributes:
        name: registry key, e.g. "hand".
        names: K landmark names, in model output order.
        edges: pairs (i, j) of landmark indices to draw and to measure bone lengths.
        flip_pairs: pairs of indices that swap under a horizontal flip (empty for the hand: a flipped
            left hand is a right hand with the same landmark order).
        root: index of the landmark that z is relative to.
        normalizer: (i, j): the distance between these two landmarks normalizes errors (NME).
    """

    name: str
    names: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]
    root: int
    normalizer: tuple[int, int]
    flip_pairs: tuple[tuple[int, int], ...] = field(default=())

    @property
    def num_keypoints(self) -> int:
        return len(self.names)

    def flip_permutation(self) -> list[int]:
        """Index permutation to apply to landmarks after a horizontal image flip."""
        perm = list(range(self.num_keypoints))
        for i, j in self.flip_pairs:
            perm[i], perm[j] = j, i
        return perm


_REGISTRY: dict[str, Topology] = {}


def register(topology: Topology) -> Topology:
    _REGISTRY[topology.name] = topology
    return topology


def get(name: str) -> Topology:
    """The topology called `name`; a BlazeforgeError naming the known ones otherwise."""
    from blazeforge.topology import face, face_mesh, hand  # noqa: F401  (they register themselves)

    if name not in _REGISTRY:
        raise BlazeforgeError("topology", f"unknown topology {name!r}; expected one of {sorted(_REGISTRY)}")
    return _REGISTRY[name]


def derivation(source: str, target: str):
    """A function [K_source, C] -> [K_target, C] that makes `target` labels from `source` ones, or
    None when there is none: the refined face mesh gives the 468-point mesh, and either gives the
    face detectors' 6 keypoints (`face.from_face_mesh`)."""
    from blazeforge.topology.face import from_face_mesh

    first_468 = lambda points: points[:468]  # noqa: E731
    rules = {
        ("face_mesh_iris", "face_mesh"): first_468,
        ("face_mesh_iris", "face_keypoints"): lambda points: from_face_mesh(points[:468]),
        ("face_mesh", "face_keypoints"): from_face_mesh,
    }
    return rules.get((source, target))
