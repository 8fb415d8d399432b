"""The Topology record and its registry (the landmark sets register themselves on import)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


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
        unit: what errors are reported in % of ("palm size", "IOD", "torso size").
        scale: where the unit is not the normalizer pair's distance, its length in pixels of points
            [K, >=2] (pose: the paper's torso size, shoulder centre to hip centre); None: the pair's.
        auxiliary: names of the extra points a sample may carry beside the K landmarks (BlazePose's
            two virtual keypoints), stored as the schema's `auxiliary` [N, A, 2].
        coco_points: where COCO's 17 person keypoints sit among the K (pose: 17 of the 33), so
            that COCO keypoint files import with the other points unlabelled; empty: none.
    """

    name: str
    names: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]
    root: int
    normalizer: tuple[int, int]
    flip_pairs: tuple[tuple[int, int], ...] = field(default=())
    auxiliary: tuple[str, ...] = field(default=())
    coco_points: tuple[int, ...] = field(default=())
    unit: str = "normalizer"
    scale: Callable[[np.ndarray], float] | None = field(default=None, compare=False)

    @property
    def num_keypoints(self) -> int:
        return len(self.names)

    def size(self, points: np.ndarray) -> float:
        """The unit's length in pixels for points [K, >=2] (`scale`, else the normalizer pair's 2D distance)."""
        if self.scale is not None:
            return float(self.scale(points))
        i, j = self.normalizer
        return float(np.linalg.norm(np.asarray(points, np.float64)[i, :2] - np.asarray(points, np.float64)[j, :2]))

    def flip_permutation(self) -> list[int]:
        """Index permutation to apply to landmarks after a horizontal image flip."""
        perm = list(range(self.num_keypoints))
        for i, j in self.flip_pairs:
            perm[i], perm[j] = j, i
        return perm


REGISTRY: dict[str, Topology] = {}


def register(topology: Topology) -> Topology:
    REGISTRY[topology.name] = topology
    return topology
