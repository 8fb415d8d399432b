"""Box tracking by sparse optical flow (the role of MediaPipe's BoxTracking): cheap tracking of any
box, started from user boxes or from a detector's detections.

Each frame: corners (Shi-Tomasi) inside every box and in the background are followed to the new
frame with pyramidal Lucas-Kanade, kept when the backward flow returns within 1 px; the
background's median flow is the camera's motion; each box moves by a similarity (RANSAC) fitted to
its own points, and reports its motion relative to the background (the foreground's own motion).
A box whose points mostly disagree, or that keeps too few, is lost.
"""

from __future__ import annotations

import cv2
import numpy as np

from blazeforge.geometry.detections import iou
from blazeforge.geometry.roi import Roi
from blazeforge.runtime.graph import Calculator, calculator
from blazeforge.runtime.instance import Instance, roi_box

LK = dict(winSize=(21, 21), maxLevel=3, criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01))


def corners(roi: Roi) -> np.ndarray:
    """[4, 3] corners of a ROI as landmarks (z = 0), clockwise from the top left."""
    return np.c_[roi.corners(), np.zeros(4)]


def _features(gray: np.ndarray, mask: np.ndarray, count: int) -> np.ndarray:
    points = cv2.goodFeaturesToTrack(gray, count, 0.01, 4, mask=mask)
    return np.zeros((0, 2), np.float32) if points is None else points.reshape(-1, 2)


def _mask(shape, rois: list[Roi], inside: bool) -> np.ndarray:
    mask = np.zeros(shape, np.uint8) if inside else np.full(shape, 255, np.uint8)
    for roi in rois:
        cv2.fillPoly(mask, [np.round(roi.corners()).astype(np.int32)], 255 if inside else 0)
    return mask


def flow(previous: np.ndarray, current: np.ndarray, points: np.ndarray, max_error: float = 1.0):
    """(start, end) of the points LK follows from `previous` to `current` and back within max_error px."""
    if not len(points):
        return points, points
    p0 = points.reshape(-1, 1, 2).astype(np.float32)
    p1, ok, _ = cv2.calcOpticalFlowPyrLK(previous, current, p0, None, **LK)
    back, ok_back, _ = cv2.calcOpticalFlowPyrLK(current, previous, p1, None, **LK)
    good = (ok.ravel() == 1) & (ok_back.ravel() == 1) & (np.linalg.norm((back - p0).reshape(-1, 2), axis=1) < max_error)
    return p0.reshape(-1, 2)[good], p1.reshape(-1, 2)[good]


@calculator
class BoxTracker(Calculator):
    """IMAGE (+ DETECTED ROIs) -> INSTANCES (each box's 4 corners as landmarks, score = the share of
    its points that agree with its motion, extra "motion" = px/frame relative to the background)
    and ROIS (the tracked boxes, for a DetectionGate).

    boxes: [[x0, y0, x1, y1], ...] pixels, tracked from the first frame (default: the run's
    `boxes`); detected ROIs that overlap no tracked box (IoU < 0.5) start new tracks.
    """

    INPUTS = {"IMAGE": "image", "DETECTED": "rois"}
    OPTIONAL = frozenset({"DETECTED"})
    OUTPUTS = {"INSTANCES": "instances", "ROIS": "rois"}

    def __init__(
        self,
        context=None,
        boxes: list | None = None,
        points_per_box: int = 60,
        min_points: int = 6,
        min_agreement: float = 0.5,
        max_boxes: int = 8,
    ):
        super().__init__(context)
        start = boxes if boxes is not None else self.context.get("boxes") or []
        self.pending = [Roi((x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0) for x0, y0, x1, y1 in start]
        self.points_per_box, self.min_points = int(points_per_box), int(min_points)
        self.min_agreement, self.max_boxes = float(min_agreement), int(max_boxes)
        self.tracks: dict[int, Roi] = {}
        self.scores: dict[int, float] = {}
        self.motion: dict[int, np.ndarray] = {}
        self.previous = None
        self.next_id = 0

    def _add(self, rois):
        for roi in rois:
            boxes = np.array([roi_box(t) for t in self.tracks.values()]).reshape(-1, 4)
            if len(self.tracks) < self.max_boxes and (not len(boxes) or iou(np.array(roi_box(roi)), boxes).max() < 0.5):
                self.tracks[self.next_id], self.scores[self.next_id] = roi, 1.0
                self.motion[self.next_id] = np.zeros(2)
                self.next_id += 1

    def process(self, timestamp, inputs):
        gray = cv2.cvtColor(inputs["IMAGE"], cv2.COLOR_RGB2GRAY)
        if self.previous is not None and self.tracks:
            self._follow(self.previous, gray)
        self._add(self.pending + list(inputs.get("DETECTED") or []))
        self.pending = []
        self.previous = gray
        instances = [
            Instance(corners(roi), self.scores[i], roi, track=i, extra={"motion": np.round(self.motion[i], 2)})
            for i, roi in self.tracks.items()
        ]
        return {"INSTANCES": instances, "ROIS": list(self.tracks.values())}

    def _follow(self, previous: np.ndarray, current: np.ndarray) -> None:
        rois = list(self.tracks.values())
        background = _features(previous, _mask(previous.shape, rois, inside=False), 4 * self.points_per_box)
        b0, b1 = flow(previous, current, background)
        camera = np.median(b1 - b0, axis=0) if len(b0) >= self.min_points else np.zeros(2)
        for track, roi in list(self.tracks.items()):
            p0, p1 = flow(
                previous, current, _features(previous, _mask(previous.shape, [roi], inside=True), self.points_per_box)
            )
            if len(p0) < self.min_points:
                self._lose(track)
                continue
            m, inliers = cv2.estimateAffinePartial2D(p0, p1, method=cv2.RANSAC, ransacReprojThreshold=2.0)
            agreement = float(inliers.mean()) if inliers is not None else 0.0
            if m is None or agreement < self.min_agreement:
                self._lose(track)
                continue
            scale = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
            centre = m[:, :2] @ np.array([roi.cx, roi.cy]) + m[:, 2]
            moved = Roi(float(centre[0]), float(centre[1]), roi.width * scale, roi.height * scale, roi.rotation)
            self.motion[track] = centre - np.array([roi.cx, roi.cy]) - camera
            self.tracks[track], self.scores[track] = moved, agreement

    def _lose(self, track: int) -> None:
        for table in (self.tracks, self.scores, self.motion):
            table.pop(track, None)
