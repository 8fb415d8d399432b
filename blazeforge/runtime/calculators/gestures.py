"""Gestures on tracked hands: the named rules, or a classifier trained with `recipe=gesture`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from blazeforge.errors import BlazeforgeError
from blazeforge.runs import read_sidecar
from blazeforge.runtime.gestures import features, rule_gesture
from blazeforge.runtime.graph import Calculator, calculator


class GestureClassifier:
    """An export of the gesture recipe (`gesture_<precision>.tflite` + `gesture.json` with the
    class names): landmarks [21, 3] -> (name or None, probability)."""

    def __init__(self, path: str | Path, threads: int = 1):
        from blazeforge.runtime.interpreter import TfliteModel

        sidecar = read_sidecar(path)
        if not sidecar or "classes" not in sidecar:
            raise BlazeforgeError(
                path,
                "expected a gesture export with its classes beside it (gesture.json, written by blazeforge export)",
            )
        self.model, self.classes = TfliteModel(path, threads), list(sidecar["classes"])

    def __call__(self, points: np.ndarray) -> tuple[str | None, float]:
        probs = np.asarray(next(iter(self.model(features(points)[None]).values()))).reshape(-1)
        best = int(np.argmax(probs))
        name = self.classes[best]
        return (None if name == "other" else name), float(probs[best])


@calculator
class Gestures(Calculator):
    """INSTANCES (hands) -> INSTANCES with extra "gesture" (a name, or left out when none applies):
    from `classifier` (a gesture export) when given and at least `min_score` sure, else the rules."""

    INPUTS = {"INSTANCES": "instances"}
    OUTPUTS = {"INSTANCES": "instances"}

    def __init__(self, context=None, classifier: str | None = None, min_score: float = 0.5):
        super().__init__(context)
        classifier = classifier or self.context.get("gesture_classifier")
        self.classifier = GestureClassifier(classifier) if classifier else None
        self.min_score = float(min_score)

    def process(self, timestamp, inputs):
        out = []
        for hand in inputs["INSTANCES"]:
            if self.classifier is not None:
                name, score = self.classifier(hand.landmarks)
                name = name if score >= self.min_score else None
            else:
                name = rule_gesture(hand.landmarks)
            extra = {**hand.extra, **({"gesture": name} if name else {})}
            out.append(replace(hand, extra=extra))
        return {"INSTANCES": out}
