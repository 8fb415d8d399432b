"""A detector and a landmark model on one whole image, as MediaPipe's solutions run on static images.

    still = StillImage("palm_detector", "hand_landmarks")          # MediaPipe's published files
    instances = still(rgb)                                          # [Instance], image pixels

Used where single images are judged or labelled: `evaluate realism` and `annotate`'s prelabels.
"""

from __future__ import annotations

import numpy as np

from blazeforge.runtime.instance import Instance


class StillImage:
    """`detector` and `landmarks` roles (runtime.models.ROLES) from `models` ("mediapipe", or export
    run directories / .tflite files as `resolve` takes them); called on an RGB image [H, W, 3] uint8,
    the landmark instances of up to `max_instances` detections. `roi` replaces arguments of the
    detector's detection-to-ROI rule (`geometry.detections.detection_roi`); `precision`: which of
    our exports to run (fp32 | fp16 | dynamic | int8)."""

    def __init__(
        self, detector: str, landmarks: str, models="mediapipe", max_instances: int = 1, roi=None, precision="fp32"
    ):
        from blazeforge.runtime.calculators.tracking import Detector, Landmarks
        from blazeforge.runtime.models import resolve
        from blazeforge.runtime.pipeline import load_models

        self.models = resolve([detector, landmarks], models, precision)
        context = {"models": load_models(self.models)[0]}
        self.detector = Detector(context, model=detector, max_instances=max_instances, roi=roi)
        self.landmarks = Landmarks(context, model=landmarks)

    def __call__(self, rgb: np.ndarray) -> list[Instance]:
        rois = self.detector.process(0, {"IMAGE": rgb})["ROIS"]
        return self.landmarks.process(0, {"IMAGE": rgb, "ROIS": rois})["INSTANCES"]
