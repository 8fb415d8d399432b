"""Does a palm detector trained on real photos find our hands where our labels put them?

Runs a palm detector (MediaPipe's published one by default) on every full image of a split,
through the runtime's SsdDetector (our anchors, decoding and NMS). A hand counts as found when a
detection's wrist keypoint (0) and middle-finger-MCP keypoint (2) both lie within `tolerance` palm
sizes of the labelled wrist and middle MCP. This measures whether renders look like hands to a
model that has only seen real hands, and whether our labels follow MediaPipe's conventions.
"""

from __future__ import annotations

import numpy as np

from blazeforge.geometry.anchors import PALM_DETECTION
from blazeforge.topology.hand import MIDDLE_MCP, WRIST


def palm_detection_check(images: list, keypoints: np.ndarray, model_path, tolerance: float = 0.5) -> dict:
    """images: uint8 RGB [H, W, 3] each; keypoints [N, 21, >=2] image pixels. Returns recall and errors."""
    from blazeforge.runtime import TfliteModel
    from blazeforge.runtime.detector import SsdDetector

    detector = SsdDetector(TfliteModel(model_path), PALM_DETECTION)
    found, errors = [], []
    for image, kp in zip(images, keypoints):
        h, w = image.shape[:2]
        palm = np.linalg.norm(kp[WRIST, :2] - kp[MIDDLE_MCP, :2])
        best = None
        for det in detector(image):
            pts = det[5:].reshape(-1, 2) * [w, h]
            error = max(np.linalg.norm(pts[0] - kp[WRIST, :2]), np.linalg.norm(pts[2] - kp[MIDDLE_MCP, :2])) / palm
            best = error if best is None else min(best, error)
        found.append(best is not None and best <= tolerance)
        if best is not None:
            errors.append(best)
    return {
        "recall": float(np.mean(found)),
        "count": len(found),
        "tolerance_palm_sizes": tolerance,
        "median_keypoint_error": float(np.median(errors)) if errors else None,
    }
