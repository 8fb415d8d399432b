"""The models a pipeline runs, by role: MediaPipe's published files or exports of ours.

A pipeline names roles ("palm_detector", "hand_landmarks", ...). `resolve` finds a .tflite for
each: with models="mediapipe", the published file of the role (`ROLES`, from the zoo cache); with
export run directories or .tflite files (comma-separated; `run models=[A,B]` on the command line),
the exports whose sidecar (`runs.read_sidecar`) says they fill a role of the pipeline, at the
run's precision, and the published file for the roles no export fills. An entry that fills no
role of the pipeline, or holds no export, is a one-line error, never silently replaced. The
sidecar also says how an export's outputs bind to its role (`Role`), so tasks registered outside
blazeforge run too.

    paths = resolve(["palm_detector", "hand_landmarks"], "outputs/export/...")
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from blazeforge.errors import BlazeforgeError
from blazeforge.runs import PRECISIONS, exports_in, read_sidecar, sidecar_path


@dataclass(frozen=True)
class Role:
    """How a pipeline stage reads a model: for landmark models the landmark output (and its values
    per point), the heatmap output, the score output (probability or logit), the label output
    (a probability of the second label), the world landmarks output (metres, x y z per point, in the
    crop's axes) and the segmentation output (the crop's mask logits); zoo: the published model that
    fills the role by default."""

    zoo: str | None = None
    values: int = 3
    landmarks: str = "landmarks"
    heatmap: str | None = None
    score: str | None = None
    score_is_logit: bool = False
    label: str | None = None
    world: str | None = None
    segmentation: str | None = None

    @classmethod
    def from_binding(cls, binding: dict, where: str) -> Role:
        """The Role an export's sidecar describes (its `roles` entry)."""
        known = {f.name for f in fields(cls)} - {"zoo"}
        unknown = sorted(set(binding) - known)
        if unknown:
            raise BlazeforgeError(where, f"unknown role binding key(s) {unknown}; expected some of {sorted(known)}")
        return cls(**binding)


ROLES = {
    "palm_detector": Role("palm_detection_full"),
    "hand_landmarks": Role("hand_landmark_full", score="presence", label="handedness"),
    "face_detector": Role("face_detection_short_range"),
    "face_mesh": Role("face_landmark", score="face_flag", score_is_logit=True),
    "iris": Role("iris_landmark", landmarks="iris"),
    # The 478 points (mesh, then irises) MediaPipe's FaceLandmarker reads; its published file is not
    # in the mediapipe wheel: `export format=task pipeline=face_mesh` makes one (`export.face_landmarks`).
    "face_landmarks": Role(None, score="face_flag", score_is_logit=True),
    "pose_detector": Role("pose_detection"),
    "pose_landmarks": Role(
        "pose_landmark_full",
        values=5,
        heatmap="heatmap",
        score="pose_flag",
        world="world_landmarks",
        segmentation="segmentation",
    ),
    "gesture_classifier": Role(None),  # no published file: the named rules stand in
    # Objectron's single-stage model: its vertex offsets (2 values per vertex) and belief map
    # (`runtime.cuboids`); MediaPipe's Objectron files are not in the mediapipe wheel.
    "cuboids": Role(None, values=2, landmarks="offsets", heatmap="heatmap", segmentation="segmentation"),
}


@dataclass(frozen=True)
class Found:
    """The model file of a role and how to read it."""

    path: Path
    role: Role


def resolve(roles: list[str], models: str = "mediapipe", precision: str = "fp32", pipeline: str = "") -> dict:
    """{role: Found} for a pipeline's roles (those with no model at all left out); one-line errors
    for missing folders, entries holding no export and entries that fill no role of the pipeline."""
    from blazeforge import zoo

    if precision not in PRECISIONS.values():
        raise BlazeforgeError("precision", f"expected one of {', '.join(PRECISIONS.values())}, got {precision!r}")
    found = {}
    for entry in [] if str(models) == "mediapipe" else [Path(p) for p in str(models).split(",") if p]:
        filled = exports_of(entry, precision)
        takes = {role: f for role, f in filled.items() if role in roles}
        if not takes:
            offered = ", ".join(sorted(filled)) or "nothing"
            raise BlazeforgeError(
                f"models={entry}",
                f"no stage of pipeline {pipeline} takes it: it fills {offered}; the pipeline's "
                f"roles are {', '.join(roles)}",
            )
        found.update(takes)
    for role in roles:
        default = ROLES.get(role)
        if role in found:
            continue
        if default is None:
            raise BlazeforgeError(
                f"pipeline {pipeline}",
                f"no model fills role {role!r}: MediaPipe publishes none; pass models= an export that fills it",
            )
        if default.zoo:
            found[role] = Found(zoo.tflite_path(default.zoo), default)
    return found


def exports_of(entry: Path, precision: str, where: str | None = None) -> dict:
    """{role: Found} of the exports in an export run directory (at `precision`) or one .tflite file;
    errors name `where` (default: models=ENTRY)."""
    where = where or f"models={entry}"
    if not entry.exists():
        raise BlazeforgeError(where, "expected `mediapipe`, export run directories or .tflite files")
    if entry.is_file():
        if entry.suffix != ".tflite" or read_sidecar(entry) is None:
            raise BlazeforgeError(
                where,
                f"expected a .tflite written by blazeforge export, with {sidecar_path(entry).name} beside it",
            )
        files = [entry]
    else:
        exports = exports_in(entry)
        if not exports:
            raise BlazeforgeError(where, "expected an export run directory (blazeforge export writes one)")
        files = [p for p in exports if p.stem.endswith(f"_{precision}")]
        if not files:
            have = sorted({p.stem.rsplit("_", 1)[-1] for p in exports})
            raise BlazeforgeError(where, f"has no {precision} export (it has {', '.join(have)}): precision=")
    out = {}
    for path in files:
        sidecar = read_sidecar(path)
        for role, binding in (sidecar.get("roles") or {}).items():
            out[role] = Found(path, Role.from_binding(binding, f"{sidecar_path(path)}: roles.{role}"))
    return out


def is_published(path: Path) -> bool:
    from blazeforge import zoo

    return Path(path).parent == zoo.cache_dir()


def load_detector(path: Path, threads: int = 1, delegate=None):
    """A `runtime.detector.SsdDetector` for a published detector or an export of ours (on `delegate`
    when given: see `interpreter.gpu_delegate`)."""
    from blazeforge import zoo
    from blazeforge.geometry import anchors
    from blazeforge.runtime.detector import SsdDetector
    from blazeforge.runtime.interpreter import TfliteModel

    if is_published(path):
        spec = zoo.get(Path(path).stem)
        return SsdDetector(
            TfliteModel(path, threads, delegate), getattr(anchors, spec.detector), value_range=spec.input_range
        )
    return SsdDetector.from_export(path, threads, delegate=delegate)


class NamedOutputs:
    """A TfliteModel whose outputs are renamed from tensor names to the zoo's names."""

    def __init__(self, model, names: dict[str, str]):
        self.model, self.names = model, names

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        return {self.names.get(k, k): v for k, v in self.model(batch).items()}


def load_landmarks(path: Path, role: Role | str, threads: int = 1, delegate=None):
    """(LandmarkModel, TfliteModel) of a landmark role (a `Role`, or the name of a published one):
    the crop-and-project model (input size from the file, outputs under the zoo's names) and the
    file it runs."""
    from blazeforge import zoo
    from blazeforge.runtime.interpreter import TfliteModel
    from blazeforge.runtime.landmarks import LandmarkModel

    spec = ROLES[role] if isinstance(role, str) else role
    tflite = TfliteModel(path, threads, delegate)
    model = tflite
    if is_published(path):
        model = NamedOutputs(tflite, {o.tensor: o.name for o in zoo.get(Path(path).stem).outputs})
    return LandmarkModel(model, tflite.input_shape[1], spec.landmarks, spec.values, heatmap=spec.heatmap), tflite
