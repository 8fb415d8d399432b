"""Effects as calculators: lip makeup, face semantics and a puppet they drive (`runtime.effects`)."""

from __future__ import annotations

import math
from dataclasses import replace

from blazeforge.geometry.roi import FACE_ROI_ROTATION, rotation_from_points
from blazeforge.runtime.effects import draw_puppet, face_semantics, lip_makeup
from blazeforge.runtime.graph import Calculator, calculator


@calculator
class LipMakeup(Calculator):
    """IMAGE + INSTANCES (faces) -> IMAGE with lipstick of `color` (RGB) on every face."""

    INPUTS = {"IMAGE": "image", "INSTANCES": "instances"}
    OPTIONAL = frozenset({"INSTANCES"})
    OUTPUTS = {"IMAGE": "image"}

    def __init__(self, context=None, color: tuple = (170, 20, 60), strength: float = 0.7, gloss: float = 0.4):
        super().__init__(context)
        self.color, self.strength, self.gloss = tuple(int(c) for c in color), float(strength), float(gloss)

    def process(self, timestamp, inputs):
        image = inputs["IMAGE"]
        for face in inputs.get("INSTANCES") or ():
            image = lip_makeup(image, face.landmarks, self.color, self.strength, self.gloss)
        return {"IMAGE": image}


@calculator
class FaceSemantics(Calculator):
    """INSTANCES (faces) -> INSTANCES with extra eye_blink_left, eye_blink_right, mouth_open and
    brow_raise in [0, 1]."""

    INPUTS = {"INSTANCES": "instances"}
    OUTPUTS = {"INSTANCES": "instances"}

    def process(self, timestamp, inputs):
        return {
            "INSTANCES": [replace(f, extra={**f.extra, **face_semantics(f.landmarks)}) for f in inputs["INSTANCES"]]
        }


@calculator
class Puppet(Calculator):
    """IMAGE + INSTANCES (faces with semantics) -> IMAGE with a cartoon face in the corner that
    blinks, opens its mouth, raises its brows and tilts with the first face."""

    INPUTS = {"IMAGE": "image", "INSTANCES": "instances"}
    OPTIONAL = frozenset({"INSTANCES"})
    OUTPUTS = {"IMAGE": "image"}

    def process(self, timestamp, inputs):
        faces = inputs.get("INSTANCES") or []
        if not faces:
            return {"IMAGE": inputs["IMAGE"]}
        face = faces[0]
        start, end = FACE_ROI_ROTATION
        roll = -rotation_from_points(face.landmarks[start], face.landmarks[end], 0.0)
        roll = math.atan2(math.sin(roll), math.cos(roll))
        return {"IMAGE": draw_puppet(inputs["IMAGE"], face.extra, roll)}
