"""The models a pipeline runs, by role: MediaPipe's published files or exports of ours.

A pipeline names roles ("palm_detector", "hand_landmarks", ...). `resolve` finds a .tflite for
each: with models="mediapipe", the published file of the role (from the zoo cache); with a run
directory (or several, comma-separated; `run models=[A,B]` on the command line), the export of
the role's recipe found there (`<recipe>_<precision>.tflite`, written by `blazeforge export`), and
the published file for roles no export covers. Our exports name their outputs as the zoo does ("landmarks", "presence",
"handedness", "face_flag", "eye_contour", "iris"), so one binding serves both.

    paths = resolve(["palm_detector", "hand_landmarks"], "outputs/export/...")
    detector = load_detector(paths["palm_detector"], threads=2)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from blazeforge.errors import BlazeforgeError


@dataclass(frozen=True)
class Role:
    """What a pipeline stage needs: the published model, the recipe whose exports can stand in,
    and for landmark models the landmark output (and its values per point), the score output
    (probability or logit) and the label output (a probability of the second label)."""

    zoo: str
    recipe: str | None = None
    values: int = 3
    landmarks: str = "landmarks"
    heatmap: str | None = None
    score: str | None = None
    score_is_logit: bool = False
    label: str | None = None


ROLES = {
    "palm_detector": Role("palm_detection_full", "palm_detection"),
    "hand_landmarks": Role("hand_landmark_full", "hand_landmarks", score="presence", label="handedness"),
    "face_detector": Role("face_detection_short_range", "face_detection"),
    "face_landmarks": Role("face_landmark", "face_mesh", score="face_flag", score_is_logit=True),
    "iris": Role("iris_landmark", "iris", landmarks="iris"),
    "pose_detector": Role("pose_detection", None),
    "pose_landmarks": Role("pose_landmark_full", None, values=5, heatmap="heatmap", score="pose_flag"),
}
PRECISIONS = ("fp32", "fp16", "dynamic", "int8")


def resolve(roles: list[str], models: str = "mediapipe", precision: str = "fp32") -> dict[str, Path]:
    """{role: .tflite path} for a pipeline's roles; one-line errors for missing folders or files."""
    from blazeforge import zoo

    if precision not in PRECISIONS:
        raise BlazeforgeError("precision", f"expected one of {', '.join(PRECISIONS)}, got {precision!r}")
    folders = _folders(models)
    out = {}
    for role in roles:
        spec = ROLES[role]
        found = _export(folders, spec.recipe, precision) if spec.recipe else None
        out[role] = found or zoo.tflite_path(spec.zoo)
    return out


def _folders(models: str) -> list[Path]:
    folders = [] if str(models) == "mediapipe" else [Path(p) for p in str(models).split(",") if p]
    for folder in folders:
        if not folder.exists():
            raise BlazeforgeError(folder, "models: expected `mediapipe` or export run directories (or .tflite files)")
    return folders


def find_export(models: str, recipe: str, precision: str = "fp32") -> Path | None:
    """An export of `recipe` among the run's `models` folders (None with models=mediapipe)."""
    return _export(_folders(models), recipe, precision)


def _export(folders: list[Path], recipe: str, precision: str) -> Path | None:
    """The export of `recipe` at `precision` among folders (searched recursively) or given files."""
    for folder in folders:
        if folder.is_file():
            if folder.suffix == ".tflite" and folder.stem.rsplit("_", 1)[0] == recipe:
                return folder
            continue
        hits = sorted(folder.rglob(f"{recipe}_{precision}.tflite"))
        if hits:
            return hits[-1]
    return None


def is_published(path: Path) -> bool:
    from blazeforge import zoo

    return Path(path).parent == zoo.cache_dir()


def load_detector(path: Path, threads: int = 1, delegate=None):
    """A `runtime.detector.Detector` for a published detector or an export of ours (on `delegate`
    when given: see `interpreter.gpu_delegate`)."""
    from blazeforge import zoo
    from blazeforge.geometry import anchors
    from blazeforge.runtime.detector import Detector
    from blazeforge.runtime.interpreter import TfliteModel

    if is_published(path):
        spec = zoo.get(Path(path).stem)
        return Detector(
            TfliteModel(path, threads, delegate), getattr(anchors, spec.detector), value_range=spec.input_range
        )
    return Detector.from_export(path, threads, delegate=delegate)


class NamedOutputs:
    """A TfliteModel whose outputs are renamed from tensor names to the zoo's names."""

    def __init__(self, model, names: dict[str, str]):
        self.model, self.names = model, names

    def __call__(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        return {self.names.get(k, k): v for k, v in self.model(batch).items()}


def load_landmarks(path: Path, role: str, threads: int = 1, delegate=None):
    """(LandmarkModel, TfliteModel) of a landmark role: the crop-and-project model (input size from
    the file, outputs under the zoo's names) and the file it runs."""
    from blazeforge import zoo
    from blazeforge.runtime.interpreter import TfliteModel
    from blazeforge.runtime.landmarks import LandmarkModel

    spec = ROLES[role]
    tflite = TfliteModel(path, threads, delegate)
    model = tflite
    if is_published(path):
        model = NamedOutputs(tflite, {o.tensor: o.name for o in zoo.get(Path(path).stem).outputs})
    return LandmarkModel(model, tflite.input_shape[1], spec.landmarks, spec.values, heatmap=spec.heatmap), tflite
