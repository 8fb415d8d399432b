"""The landmark family: a crop in, K 3D points (and a presence score, a label) out.

Three tasks, one `LandmarkTask` each, differing only in data (their configs are
`configs/recipe/{hand_landmarks,face_mesh,iris}.yaml`):

| task | topology | outputs (MediaPipe's names) | crops |
|---|---|---|---|
| hand_landmarks | hand, 21 | landmarks [B, 63], presence, handedness (P(right)) | `geometry.roi.hand_roi` |
| face_mesh | face_mesh, 468 | landmarks [B, 1404], face_flag (logit) | `geometry.roi.face_roi` |
| iris | eye, 71 + 5 | eye_contour [B, 213], iris [B, 15] | both eyes of a refined mesh (`eye_roi`) |

Landmarks are x, y, z in crop pixels (z at x's scale, from the recipe's z_origin). The parts:
`model` (the model, targets, losses, metric), `data` (ROI crops made exactly as the runtime makes
them), `evaluate` (NME / PCK / presence AUC against a mean-shape baseline, report.html), `export`
(TFLite with parity and NME per precision). This module imports neither TensorFlow nor Keras.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from blazeforge.recipes.base import Task


@dataclass(frozen=True, repr=False)
class LandmarkTask(Task):
    """A landmark task.

    outputs: (output name, points) of the landmark outputs, in the topology's order; score: the
    presence output (a probability, or a logit where score_is_logit), None without one; label: a
    binary label output (P(right hand)), None without one; metric: the output whose crop NME is
    logged in training; normalizer: what divides the NME, in words; own_architecture: whether
    blazeforge's BlazeBlock regressor can train it (else only the
    published architecture); roles: the runtime roles its exports fill.
    """

    name: str
    topology: str
    outputs: tuple[tuple[str, int], ...]
    roles: dict = field(default_factory=dict)
    score: str | None = None
    score_is_logit: bool = False
    label: str | None = None
    metric: str = "landmarks"
    own_architecture: bool = True
    normalizer: str = "palm size"
    config_dir: Path | None = None

    @property
    def landmark_outputs(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.outputs)

    @property
    def num_keypoints(self) -> int:
        return sum(k for _, k in self.outputs)

    def build_model(self, recipe):
        from blazeforge.recipes.landmarks.model import build_model

        return build_model(self, recipe)

    def losses(self, recipe):
        from blazeforge.recipes.landmarks.model import losses

        return losses(self, recipe)

    def metrics(self, recipe):
        from blazeforge.recipes.landmarks.model import metrics

        return metrics(self, recipe)

    def pack_targets(self, targets):
        from blazeforge.recipes.landmarks.model import pack_targets

        return pack_targets(self, targets)

    def dataset(self, cfg, dataset_dir, split, training):
        from blazeforge.recipes.landmarks.data import make_dataset

        return make_dataset(cfg, dataset_dir, split, training)

    def published(self):
        from blazeforge import zoo

        return sorted(
            n for n, m in zoo.MODELS.items() if m.builder and m.detector is None and m.topology == self.topology
        )

    def evaluate(self, cfg, run_dir):
        from blazeforge.recipes.landmarks.evaluate import evaluate

        return evaluate(self, cfg, run_dir)

    def export(self, cfg, run_dir):
        from blazeforge.recipes.landmarks.export import export

        return export(self, cfg, run_dir)

    def summary(self, metrics):
        from blazeforge.recipes.landmarks.evaluate import summary

        return summary(self, metrics)


def binding(landmarks: str = "landmarks", score: str | None = None, logit: bool = False, label: str | None = None):
    """How a runtime landmark role reads a model's outputs (`runtime.models.Role`'s fields)."""
    return {"landmarks": landmarks, "values": 3, "score": score, "score_is_logit": logit, "label": label}


HAND_LANDMARKS = LandmarkTask(
    "hand_landmarks",
    "hand",
    (("landmarks", 21),),
    roles={"hand_landmarks": binding(score="presence", label="handedness")},
    score="presence",
    label="handedness",
)
FACE_MESH = LandmarkTask(
    "face_mesh",
    "face_mesh",
    (("landmarks", 468),),
    roles={"face_mesh": binding(score="face_flag", logit=True)},
    score="face_flag",
    score_is_logit=True,
    normalizer="IOD",
)
IRIS = LandmarkTask(
    "iris",
    "eye",
    (("eye_contour", 71), ("iris", 5)),
    roles={"iris": binding(landmarks="iris")},
    metric="iris",
    own_architecture=False,
    normalizer="eye width",
)
