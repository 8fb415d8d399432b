"""Objectron's calculators: the single-stage 3D box detector and the carrying of its boxes between
frames by the box tracker (MediaPipe's objectron graph: TensorsToObjects, then
FrameAnnotationTracker, then Lift2DFrameAnnotationTo3D).

A detected box's 9 projected points are stored in the units of its tracked 2D box (centre 0,
side 1); each frame the box tracker moves that 2D box, the points move with it, and EPnP
(`geometry.cuboid.lift_box`) lifts them again to a 3D box up to scale. The detector runs only on
the frames the gate lets through (fewer boxes tracked than wanted).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from blazeforge.geometry.cuboid import lift_box
from blazeforge.geometry.cuboid_decoding import DecoderConfig
from blazeforge.geometry.detections import iou
from blazeforge.geometry.roi import Roi
from blazeforge.runtime.calculators.tracking import model_of_role
from blazeforge.runtime.cuboids import camera_of
from blazeforge.runtime.graph import Calculator, calculator
from blazeforge.runtime.instance import Instance, roi_box


def cuboid_roi(pixels: np.ndarray) -> Roi:
    """The upright 2D box around a cuboid's 8 projected vertices ([9, 2] pixels, the centre first)."""
    (x0, y0), (x1, y1) = pixels[1:].min(0), pixels[1:].max(0)
    return Roi((x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0)


def cuboid_instance(pixels: np.ndarray, box: np.ndarray, score: float, roi: Roi, track: int | None = None):
    """An Instance of one 3D box: landmarks [9, 3] (x, y pixels; z the vertex's depth relative to
    the centre, in pixels at x's scale), extra "box" [9, 3] camera space up to scale (the centre 1
    unit in front)."""
    depth = (box[:, 2] - box[0, 2]) / max(box[0, 2], 1e-9) * np.linalg.norm(np.ptp(pixels[1:], axis=0))
    return Instance(np.c_[pixels, depth], float(score), roi, track=track, extra={"box": np.asarray(box)})


@calculator
class CuboidDetection(Calculator):
    """IMAGE -> CUBOIDS (each {"score", "pixels" [9, 2], "box" [9, 3] up to scale}, strongest
    first, at most `max_instances`) and ROIS (each box's upright 2D box, for the box tracker).

    fov_deg: the camera's horizontal field of view (EPnP needs intrinsics; a phone's main camera is
    about 60-70 degrees); threshold: the belief a peak needs (default: MediaPipe's 0.6)."""

    INPUTS = {"IMAGE": "image"}
    OUTPUTS = {"CUBOIDS": "cuboids", "ROIS": "rois"}

    def __init__(
        self,
        context=None,
        model: str = "cuboids",
        max_instances: int = 1,
        fov_deg: float = 60.0,
        threshold: float = DecoderConfig.heatmap_threshold,
    ):
        super().__init__(context)
        self.detector = model_of_role(self.context, model)
        self.max_instances, self.fov_deg = int(max_instances), float(fov_deg)
        self.config = replace(self.detector.config, heatmap_threshold=float(threshold))

    def process(self, timestamp, inputs):
        image = inputs["IMAGE"]
        h, w = image.shape[:2]
        found = self.detector(image, camera_of(w, h, self.fov_deg), self.config)[: self.max_instances]
        return {"CUBOIDS": found, "ROIS": [cuboid_roi(b["pixels"]) for b in found]}


@calculator
class CuboidTracking(Calculator):
    """IMAGE (the clock) + TRACKED (the box tracker's instances, with their track ids and ROIs)
    (+ DETECTED cuboids of this frame) -> INSTANCES: per tracked box holding a detection, its 9
    points moved with the tracked 2D box and lifted again by EPnP (`cuboid_instance`).

    A detection is bound to the tracked box its 2D box overlaps most (IoU >= `min_iou`), replacing
    what that track held; tracks that the box tracker lost are forgotten."""

    INPUTS = {"IMAGE": "image", "TRACKED": "instances", "DETECTED": "cuboids"}
    OPTIONAL = frozenset({"TRACKED", "DETECTED"})
    OUTPUTS = {"INSTANCES": "instances"}

    def __init__(self, context=None, min_iou: float = 0.5, fov_deg: float = 60.0):
        super().__init__(context)
        self.min_iou, self.fov_deg = float(min_iou), float(fov_deg)
        self.held: dict[int, tuple[np.ndarray, float]] = {}  # track -> (points in ROI units [9, 2], score)

    def process(self, timestamp, inputs):
        h, w = inputs["IMAGE"].shape[:2]
        tracked = [t for t in inputs.get("TRACKED") or [] if t.track is not None]
        self.held = {t.track: self.held[t.track] for t in tracked if t.track in self.held}
        boxes = np.array([roi_box(t.roi) for t in tracked]).reshape(-1, 4)
        for found in inputs.get("DETECTED") or []:
            if not len(boxes):
                break
            overlaps = iou(np.array(roi_box(cuboid_roi(found["pixels"]))), boxes)
            best = int(np.argmax(overlaps))
            if overlaps[best] >= self.min_iou:
                roi = tracked[best].roi
                units = (found["pixels"] - [roi.cx, roi.cy]) / [max(roi.width, 1e-9), max(roi.height, 1e-9)]
                self.held[tracked[best].track] = (units, float(found["score"]))
        camera = camera_of(w, h, self.fov_deg)
        out = []
        for t in tracked:
            if t.track not in self.held:
                continue
            units, score = self.held[t.track]
            pixels = units * [t.roi.width, t.roi.height] + [t.roi.cx, t.roi.cy]
            box = lift_box(pixels[1:], camera)
            if np.isfinite(box).all():
                out.append(cuboid_instance(pixels, box, score, t.roi, t.track))
        return {"INSTANCES": out}
