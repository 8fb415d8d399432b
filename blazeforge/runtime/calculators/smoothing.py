"""Temporal smoothing of landmarks: the One Euro filter as MediaPipe's LandmarksSmoothingCalculator
applies it, with track ids so that several objects keep their own filters.

One Euro (Casiez et al. 2012), MediaPipe's variant: the frequency comes from the timestamps; the
speed is measured in object sizes per second (values scaled by 1 / object size, the mean of the
landmarks' box width and height), so one setting serves near and far objects:

    alpha(cutoff) = 1 / (1 + (1 / (2 pi cutoff)) * frequency)
    speed = lowpass((x - x_prev_raw) * frequency / object_size, alpha(derivate_cutoff))
    x_filtered = lowpass(x, alpha(min_cutoff + beta * |speed|))

MediaPipe's landmark defaults (pose and face landmarkers): min_cutoff 0.05, beta 80, derivate_cutoff 1.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from blazeforge.geometry.detections import iou
from blazeforge.runtime.graph import Calculator, calculator


class OneEuroFilter:
    """One Euro filter over arrays of values (each element filtered on its own)."""

    def __init__(
        self, min_cutoff: float = 0.05, beta: float = 80.0, derivate_cutoff: float = 1.0, frequency: float = 30.0
    ):
        self.min_cutoff, self.beta, self.derivate_cutoff = min_cutoff, beta, derivate_cutoff
        self.frequency = frequency
        self.last_time: float | None = None
        self.raw = self.value = self.speed = None

    @staticmethod
    def _alpha(cutoff, frequency: float):
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau * frequency)

    def __call__(self, x: np.ndarray, seconds: float, value_scale: float = 1.0) -> np.ndarray:
        """Filter x (any shape) observed at time `seconds`; value_scale turns x's units into the
        units beta is tuned for (1 / object size)."""
        x = np.asarray(x, np.float64)
        if self.last_time is not None and seconds <= self.last_time:
            return x  # out of order: pass through, as MediaPipe does
        if self.last_time is not None:
            self.frequency = 1.0 / (seconds - self.last_time)
        self.last_time = seconds
        if self.value is None:
            self.raw, self.value, self.speed = x.copy(), x.copy(), np.zeros_like(x)
            return x
        speed = (x - self.raw) * value_scale * self.frequency
        a = self._alpha(self.derivate_cutoff, self.frequency)
        self.speed = a * speed + (1 - a) * self.speed
        a = self._alpha(self.min_cutoff + self.beta * np.abs(self.speed), self.frequency)
        self.value = a * x + (1 - a) * self.value
        self.raw = x.copy()
        return self.value.copy()


@calculator
class LandmarkSmoothing(Calculator):
    """INSTANCES -> INSTANCES with x, y, z smoothed per tracked object (One Euro, MediaPipe's
    parameters by default). An instance continues the track whose last box overlaps its box most
    (IoU >= `min_iou`); others start new tracks (ids ascending); a track that misses a frame ends
    (MediaPipe resets its filter when the landmarks are absent)."""

    INPUTS = {"INSTANCES": "instances"}
    OUTPUTS = {"INSTANCES": "instances"}

    def __init__(
        self,
        context=None,
        min_cutoff: float = 0.05,
        beta: float = 80.0,
        derivate_cutoff: float = 1.0,
        min_iou: float = 0.3,
    ):
        super().__init__(context)
        self.options = dict(min_cutoff=float(min_cutoff), beta=float(beta), derivate_cutoff=float(derivate_cutoff))
        self.min_iou = float(min_iou)
        self.tracks: dict[int, tuple[OneEuroFilter, tuple]] = {}
        self.next_id = 0

    def process(self, timestamp, inputs):
        seconds = timestamp / 1e6
        free = dict(self.tracks)
        tracks, out = {}, []
        for instance in inputs["INSTANCES"]:
            box = instance.box()
            track = None
            if free:
                ids = list(free)
                overlaps = iou(np.array(box), np.array([free[i][1] for i in ids]))
                best = int(np.argmax(overlaps))
                if overlaps[best] >= self.min_iou:
                    track = ids[best]
            if track is None:
                track, self.next_id = self.next_id, self.next_id + 1
                smoother = OneEuroFilter(**self.options, frequency=float(self.context.get("fps", 30.0)))
            else:
                smoother = free.pop(track)[0]
            size = ((box[2] - box[0]) + (box[3] - box[1])) / 2
            points = instance.landmarks.copy()
            if size > 1e-6:
                points[:, :3] = smoother(points[:, :3], seconds, 1.0 / size)
            tracks[track] = (smoother, box)
            out.append(replace(instance, landmarks=points, track=track, extra=dict(instance.extra)))
        self.tracks = tracks
        return {"INSTANCES": out}
