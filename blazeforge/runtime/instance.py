"""What flows between landmark calculators: one tracked object in one frame."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from blazeforge.geometry.roi import Roi, mask_to_image


@dataclass
class Instance:
    """One object (a hand, a face, a body) found in a frame.

    landmarks: [K, C] float64, x and y in image pixels, z in pixels at x's scale, then any further
    values the model gives (BlazePose: visibility, presence logits). score: the landmark model's
    presence probability. roi: the crop the landmarks came from. label / label_score: a class the
    model gives (handedness: "Left" or "Right"). track: an id kept while the object is tracked.
    extra: named results of later stages ({"iris": [2, 5, 3], "depth_mm": ..., "gesture": ...}).
    mask: the landmark model's segmentation in the crop of `roi`, float32 [S, S] probabilities, or
    None (drawn, not written to JSONL; `image_mask` lays it onto the frame).
    """

    landmarks: np.ndarray
    score: float
    roi: Roi
    label: str | None = None
    label_score: float | None = None
    track: int | None = None
    extra: dict = field(default_factory=dict)
    mask: np.ndarray | None = None

    def image_mask(self, width: int, height: int) -> np.ndarray | None:
        """`mask` laid back onto a width x height frame through the ROI (0 outside the crop)."""
        return None if self.mask is None else mask_to_image(self.mask, self.roi, width, height)

    def box(self) -> tuple[float, float, float, float]:
        """x0, y0, x1, y1 of the landmarks' bounding box, image pixels."""
        xy = self.landmarks[:, :2]
        x0, y0 = xy.min(0)
        x1, y1 = xy.max(0)
        return float(x0), float(y0), float(x1), float(y1)

    def to_json(self) -> str:
        """The JSONL record as JSON text: score, box and landmarks in pixels (rounded to 0.01),
        label, extras. The landmarks are formatted straight from the array: json.dumps of a face
        mesh's 1404 floats took a third of a frame's time beyond inference."""
        out = {"score": round(float(self.score), 4), "box": [round(v, 2) for v in self.box()]}
        if self.track is not None:
            out["track"] = self.track
        if self.label is not None:
            out["label"] = self.label
            out["label_score"] = round(float(self.label_score), 4)
        for key, value in self.extra.items():
            out[key] = np.round(value, 3).tolist() if isinstance(value, np.ndarray) else value
        points = self.landmarks[:, :3]
        text = ("[%.2f,%.2f,%.2f]," * len(points)) % tuple(points.ravel())
        return json.dumps(out, separators=(",", ":"))[:-1] + ',"landmarks":[' + text[:-1] + "]}"


def roi_box(roi: Roi) -> tuple[float, float, float, float]:
    """The ROI's unrotated rectangle as x0, y0, x1, y1 (what MediaPipe's rect association compares)."""
    return (roi.cx - roi.width / 2, roi.cy - roi.height / 2, roi.cx + roi.width / 2, roi.cy + roi.height / 2)
