"""MediaPipe's face detectors through our letterbox, anchors and decoder give MediaPipe's boxes."""

import json
from pathlib import Path

import numpy as np
import pytest

from blazeforge import zoo
from blazeforge.geometry import anchors
from blazeforge.geometry.detections import iou
from blazeforge.runtime import TfliteModel
from blazeforge.runtime.detector import SsdDetector
from blazeforge.zoo.parity import photos

RECORDED = json.loads((Path(__file__).parent / "mediapipe_outputs.json").read_text())


@pytest.mark.parametrize("model", ["face_detection_short_range", "face_detection_full_range_sparse"])
@pytest.mark.parametrize("photo", sorted(RECORDED["photos"]))
def test_face_boxes_match_the_ones_mediapipe_recorded(model, photo):
    """Recorded by tools/record_mediapipe_faces.py with the mediapipe package (same wheel's models)."""
    expected = RECORDED["photos"][photo][model]
    spec = zoo.get(model)
    detector = SsdDetector(
        TfliteModel(zoo.tflite_path(model)), getattr(anchors, spec.detector), value_range=spec.input_range
    )
    found = detector(photos()[photo])
    assert len(found) == len(expected) == 1
    assert iou(np.array(expected[0]["box"]), found[:, 1:5])[0] >= 0.95
    assert abs(found[0, 0] - expected[0]["score"]) < 0.01
    assert np.abs(found[0, 5:] - np.ravel(expected[0]["keypoints"])).max() < 0.01


def test_anchor_counts_match_the_published_detectors():
    for name in (
        "palm_detection_full",
        "face_detection_short_range",
        "face_detection_full_range_sparse",
        "pose_detection",
    ):
        spec = zoo.get(name)
        model = TfliteModel(zoo.tflite_path(name))
        rows = max(v.shape[1] for v in model(np.zeros((1, *spec.input_size, 3), np.float32)).values())
        assert len(anchors.generate_anchors(getattr(anchors, spec.detector).anchors)) == rows
