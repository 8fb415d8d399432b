"""A simulated annotator: refines prelabels of renders toward their true labels, as a person would.

Where the annotator would put each point: the true point plus their own error, in % of the
topology's unit on the true points: a bias per point that is theirs for good (how they read that
point: `bias`, the spread across annotators) plus fresh noise each time (`noise`), both Gaussian per
axis. They move a prelabelled point to where they would put it when it lies farther than
`tolerance` from there, and leave it otherwise; an instance the prelabel missed they place point by
point; a prelabelled instance with no true one they delete. Time: `seconds_per_image` to look, then
`seconds_per_point` per point moved or placed, `seconds_per_point` per deletion. A point a person
moves is labelled and visible as the truth says.

Two annotators who both place every point disagree by about sqrt(2 (bias^2 + noise^2)) x 1.25 (the
mean length of a 2D Gaussian of unit spread per axis) in % of the unit, less where both leave
prelabelled points in place; `annotate agree` measures it.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace

import numpy as np

from blazeforge.datasets.schema import Sample
from blazeforge.geometry.detections import match_instances
from blazeforge.topology import Topology


@dataclass(frozen=True)
class SimulatedAnnotator:
    """One simulated person (see the module docstring); figures in % of the unit and seconds."""

    name: str
    bias: float = 1.0
    noise: float = 1.0
    tolerance: float = 2.0
    seconds_per_image: float = 10.0
    seconds_per_point: float = 1.0
    seed: int = 0

    def _rng(self, *key) -> np.random.Generator:
        return np.random.default_rng([self.seed, zlib.crc32(self.name.encode()), *key])

    def intended(self, truth: np.ndarray, image: str, instance: int, topo: Topology) -> np.ndarray:
        """[K, 2] pixels: where this annotator puts the true points truth [K, >=2] of one instance."""
        unit = topo.size(truth) / 100
        bias = self._rng(0).normal(0.0, self.bias, (len(truth), 2))
        noise = self._rng(1, zlib.crc32(image.encode()), instance).normal(0.0, self.noise, (len(truth), 2))
        return truth[:, :2] + unit * (bias + noise)

    def refine(self, prelabel: Sample, truth: Sample, topo: Topology) -> tuple[Sample, float]:
        """(the refined sample: the truth's instances, points as this annotator leaves them; seconds spent).
        x, y labelled where the truth labels them; z and the camera points are dropped (people label 2D)."""
        n, k = truth.num_instances, topo.num_keypoints
        keypoints = np.zeros((n, k, 3), np.float32)
        pairs, unmatched = match_instances(truth.boxes, prelabel.boxes)
        seconds = self.seconds_per_image
        for i, j in pairs:
            want = self.intended(truth.keypoints[i], truth.image, i, topo)
            labelled = truth.keypoint_mask[i, :, :2].all(1)
            if j is not None:
                have = prelabel.keypoints[j, :, :2]
                far = np.linalg.norm(have - want, axis=1) > self.tolerance * topo.size(truth.keypoints[i]) / 100
                move = far & labelled
                keypoints[i, :, :2] = np.where(move[:, None], want, have)
            else:
                move = labelled
                keypoints[i, :, :2] = want
            seconds += self.seconds_per_point * int(move.sum())
        seconds += self.seconds_per_point * len(unmatched)
        mask = np.zeros((n, k, 3), bool)
        mask[..., :2] = truth.keypoint_mask[..., :2]
        xy = keypoints[..., :2]
        boxes = np.concatenate([xy.min(1), xy.max(1)], axis=-1) if n else np.zeros((0, 4), np.float32)
        meta = {**truth.meta, "source": "real", "annotator": self.name}
        refined = replace(
            truth,
            keypoints=keypoints,
            keypoint_mask=mask,
            boxes=boxes.astype(np.float32),
            keypoints_camera=None,
            meta=meta,
        )
        return refined, seconds
