"""Anything that maps hand crops to landmarks: a Keras checkpoint, one of our .tflite exports, or a
MediaPipe model from the zoo (`mediapipe:hand_landmark_full`). One interface for evaluation and
export parity: `predict(crops uint8 [B, S, S, 3]) -> {"landmarks" [B, 63], "presence" [B, 1],
"handedness" [B, 1]}` (landmarks in crop pixels)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class Predictor:
    """name; input_size: the input's height, pixels; run: the model on float inputs in [0, 1];
    input_shape: (height, width), pixels (default: the square of input_size)."""

    name: str
    input_size: int
    run: Callable[[np.ndarray], dict]
    input_shape: tuple[int, int] | None = None

    def __post_init__(self):
        if self.input_shape is None:
            self.input_shape = (self.input_size, self.input_size)

    def __call__(self, crops: np.ndarray, batch: int = 32) -> dict:
        outs = [self._run(crops[i : i + batch].astype(np.float32) / 255.0) for i in range(0, len(crops), batch)]
        return {k: np.concatenate([o[k] for o in outs]) for k in outs[0]}

    def _run(self, x: np.ndarray) -> dict:
        """Outputs with the batch first: published files that reshape to a batch of 1 (the iris
        model's [1, 213]) give [1, B * 213] for a batch, here [B, 213]."""
        return {k: v if v.shape[0] == len(x) else v.reshape(len(x), -1) for k, v in self.run(x).items()}


def keras_predictor(model, name: str = "keras") -> Predictor:
    def run(x):
        out = model(x, training=False)
        return {k: np.asarray(v) for k, v in out.items()}

    return Predictor(name, int(model.input_shape[1]), run, (int(model.input_shape[1]), int(model.input_shape[2])))


def tflite_predictor(path: str | Path, threads: int = 1, rename: dict | None = None) -> Predictor:
    from blazeforge.runtime import TfliteModel

    model = TfliteModel(path, threads)

    def run(x):
        out = model(x)
        return {rename.get(k, k): v for k, v in out.items() if k in rename} if rename else out

    return Predictor(Path(path).name, model.input_shape[1], run, tuple(int(v) for v in model.input_shape[1:3]))


def load_predictor(checkpoint: str, threads: int = 1) -> Predictor:
    """`mediapipe:NAME`, a .tflite file, or a Keras checkpoint (.keras or train run directory)."""
    if str(checkpoint).startswith("mediapipe:"):
        from blazeforge import zoo

        name = str(checkpoint).split(":", 1)[1]
        predictor = tflite_predictor(zoo.tflite_path(name), threads, {o.tensor: o.name for o in zoo.get(name).outputs})
        predictor.name = checkpoint
        return predictor
    if str(checkpoint).endswith(".tflite"):
        return tflite_predictor(checkpoint, threads)
    from blazeforge.models import load_model

    return keras_predictor(load_model(checkpoint), str(checkpoint))


def landmark_model(checkpoint: str, role: str):
    """A runtime LandmarkModel (crop, run, project back) for a landmark role ("face_mesh",
    "iris"): `mediapipe:NAME`, a .tflite (the published layout or our export of the role's recipe),
    or a Keras checkpoint (.keras or train run directory) of that recipe."""
    from blazeforge import zoo
    from blazeforge.errors import BlazeforgeError
    from blazeforge.runtime.landmarks import LandmarkModel
    from blazeforge.runtime.models import ROLES, load_landmarks

    checkpoint = str(checkpoint)
    if checkpoint.startswith("mediapipe:"):
        return load_landmarks(zoo.tflite_path(checkpoint.split(":", 1)[1]), role)[0]
    if checkpoint.endswith(".tflite"):
        return load_landmarks(Path(checkpoint), role)[0]
    from blazeforge.models import load_model

    model = load_model(checkpoint, "evaluate.checkpoint")
    output = ROLES[role].landmarks
    if not isinstance(model.output, dict) or output not in model.output:
        raise BlazeforgeError(
            f"evaluate.checkpoint={checkpoint}", f"expected a {role} model (an output named {output})"
        )
    run = lambda batch: {k: np.asarray(v) for k, v in model(batch, training=False).items()}  # noqa: E731
    return LandmarkModel(run, int(model.input_shape[1]), output)
