"""SSD anchors from MediaPipe's `SsdAnchorsCalculatorOptions`, and the published models' options.

One implementation for the detector recipes (target encoding), evaluation and the runtime
(decoding). Anchors are [A, 4] float32 rows (x_center, y_center, width, height) in [0, 1] units of
the model input; with `fixed_anchor_size` width = height = 1.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class AnchorOptions:
    """MediaPipe's SsdAnchorsCalculatorOptions (the fields the published detectors use)."""

    input_size: tuple[int, int]  # (height, width) pixels
    strides: tuple[int, ...]
    num_layers: int
    min_scale: float = 0.1484375
    max_scale: float = 0.75
    anchor_offset: tuple[float, float] = (0.5, 0.5)  # (x, y) within a cell
    aspect_ratios: tuple[float, ...] = (1.0,)
    interpolated_scale_aspect_ratio: float = 1.0
    reduce_boxes_in_lowest_layer: bool = False
    fixed_anchor_size: bool = True


def _scale(min_scale: float, max_scale: float, index: int, count: int) -> float:
    if count == 1:
        return (min_scale + max_scale) * 0.5
    return min_scale + (max_scale - min_scale) * index / (count - 1)


def generate_anchors(options: AnchorOptions) -> np.ndarray:
    """Anchors [A, 4] (x_center, y_center, w, h), in MediaPipe's order: layer, row, column, anchor."""
    o = options
    if len(o.strides) != o.num_layers:
        raise ValueError(f"anchor options: {len(o.strides)} strides for num_layers={o.num_layers}")
    rows = []
    layer = 0
    while layer < o.num_layers:
        widths, heights = [], []
        last = layer
        while last < len(o.strides) and o.strides[last] == o.strides[layer]:
            scale = _scale(o.min_scale, o.max_scale, last, len(o.strides))
            if last == 0 and o.reduce_boxes_in_lowest_layer:
                pairs = [(1.0, 0.1), (2.0, scale), (0.5, scale)]
            else:
                pairs = [(ar, scale) for ar in o.aspect_ratios]
                if o.interpolated_scale_aspect_ratio > 0:
                    nxt = (
                        1.0
                        if last == len(o.strides) - 1
                        else _scale(o.min_scale, o.max_scale, last + 1, len(o.strides))
                    )
                    pairs.append((o.interpolated_scale_aspect_ratio, math.sqrt(scale * nxt)))
            for ratio, s in pairs:
                heights.append(s / math.sqrt(ratio))
                widths.append(s * math.sqrt(ratio))
            last += 1
        stride = o.strides[layer]
        fh, fw = math.ceil(o.input_size[0] / stride), math.ceil(o.input_size[1] / stride)
        ys, xs = np.meshgrid(
            (np.arange(fh) + o.anchor_offset[1]) / fh, (np.arange(fw) + o.anchor_offset[0]) / fw, indexing="ij"
        )
        n = len(widths)
        centers = np.stack([xs, ys], -1).reshape(-1, 1, 2).repeat(n, axis=1)
        if o.fixed_anchor_size:
            sizes = np.ones((fh * fw, n, 2))
        else:
            sizes = np.broadcast_to(np.stack([widths, heights], -1), (fh * fw, n, 2))
        rows.append(np.concatenate([centers, sizes], -1).reshape(-1, 4))
        layer = last
    return np.concatenate(rows).astype(np.float32)


@dataclass(frozen=True)
class DecodeOptions:
    """MediaPipe's TensorsToDetectionsCalculatorOptions for SSD models with keypoints."""

    num_keypoints: int
    scale: tuple[float, float, float, float]  # x, y, w, h scales (the input size in pixels)
    score_clipping: float = 100.0
    min_score: float = 0.5
    min_suppression_iou: float = 0.3


@dataclass(frozen=True)
class DetectorSpec:
    anchors: AnchorOptions
    decode: DecodeOptions
    roi: dict = field(default_factory=dict)  # detection-to-ROI rule (see geometry.detections)


# The published detectors' options (MediaPipe's *_detection_cpu.pbtxt graphs).
PALM_DETECTION = DetectorSpec(
    AnchorOptions(input_size=(192, 192), strides=(8, 16, 16, 16), num_layers=4),
    DecodeOptions(num_keypoints=7, scale=(192.0,) * 4),
    roi=dict(start=0, end=2, scale=2.6, shift_y=-0.5),  # wrist centre -> middle-finger MCP
)
# Faces: the eyes (keypoints 0 and 1: right, left) made level, the box scaled 1.5x
# (face_detection_front_detection_to_roi.pbtxt).
FACE_ROI = dict(start=0, end=1, scale=1.5, target_angle=0.0)
FACE_DETECTION_SHORT_RANGE = DetectorSpec(
    AnchorOptions(input_size=(128, 128), strides=(8, 16, 16, 16), num_layers=4),
    DecodeOptions(num_keypoints=6, scale=(128.0,) * 4),
    roi=FACE_ROI,
)
FACE_DETECTION_FULL_RANGE = DetectorSpec(  # one anchor per cell of a 48x48 grid: 2304
    AnchorOptions(input_size=(192, 192), strides=(4,), num_layers=1, interpolated_scale_aspect_ratio=0.0),
    DecodeOptions(num_keypoints=6, scale=(192.0,) * 4, min_score=0.6),
    roi=FACE_ROI,
)
POSE_DETECTION = DetectorSpec(
    AnchorOptions(input_size=(224, 224), strides=(8, 16, 32, 32, 32), num_layers=5),
    DecodeOptions(num_keypoints=4, scale=(224.0,) * 4),
    # The hips' centre (keypoint 0) is the centre, the circle through keypoint 1 the size, the
    # body upright; scaled 1.25x (pose_detection_to_roi.pbtxt).
    roi=dict(start=0, end=1, scale=1.25, alignment=True),
)


def spec_to_json(spec: DetectorSpec) -> dict:
    """A DetectorSpec as plain JSON data (the sidecar an exported detector carries)."""
    from dataclasses import asdict

    return {"anchors": asdict(spec.anchors), "decode": asdict(spec.decode), "roi": dict(spec.roi)}


def spec_from_json(data: dict, where: str = "detector options") -> DetectorSpec:
    """The inverse of `spec_to_json`; tuples restored. Missing, unknown or ill-typed options raise
    a one-line BlazeforgeError naming `where` and the option."""
    from dataclasses import fields

    from blazeforge.errors import BlazeforgeError

    def options(cls, key):
        given = data.get(key) if isinstance(data, dict) else None
        if not isinstance(given, dict):
            raise BlazeforgeError(where, f"expected an object {key!r} of {cls.__name__} fields")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise BlazeforgeError(where, f"unknown {key} option(s) {unknown}; expected some of {sorted(known)}")
        missing = sorted(n for n, f in known.items() if n not in given and f.default is dataclasses.MISSING)
        if missing:
            raise BlazeforgeError(where, f"{key} misses {missing}")
        out = {k: tuple(v) if isinstance(v, list) else v for k, v in given.items()}
        number = lambda x: isinstance(x, (int, float))  # noqa: E731  (bool counts: the flags are bools)
        for name, value in out.items():
            if not (all(map(number, value)) if isinstance(value, tuple) else number(value)):
                raise BlazeforgeError(where, f"{key}.{name} = {value!r} is not a number or a list of numbers")
        return cls(**out)

    return DetectorSpec(
        options(AnchorOptions, "anchors"), options(DecodeOptions, "decode"), roi=dict(data.get("roi", {}))
    )
