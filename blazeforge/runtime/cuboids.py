"""Run Objectron's single-stage model (an export of ours) on a whole image: 3D boxes up to scale.

The image's letterbox of the model's input aspect is fed to it (as training and evaluation see it), its belief
map and vertex offsets decoded (`geometry.cuboid_decoding.boxes_in_image`: peaks, voting, EPnP),
and each box's points mapped back to the image. Imports no TensorFlow.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from blazeforge.geometry.cuboid_decoding import DecoderConfig, boxes_in_image
from blazeforge.geometry.iris import focal_from_fov
from blazeforge.geometry.roi import letterbox_roi
from blazeforge.runtime.interpreter import TfliteModel
from blazeforge.runtime.landmarks import crop_tensor


def camera_of(width: int, height: int, fov_deg: float = 60.0) -> dict:
    """{fx, fy, cx, cy} pixels of a pinhole camera with `fov_deg` horizontal field of view about
    the frame's centre (square pixels): the intrinsics EPnP assumes where none are known."""
    f = focal_from_fov(width, fov_deg)
    return {"fx": f, "fy": f, "cx": width / 2, "cy": height / 2}


class CuboidDetector:
    """A model file (input [1, H, W, 3]; heatmap [1, H/16, W/16, 1] and offsets [1, H/16, W/16, 16]
    outputs) and its decoder.

    Call: image uint8 [H, W, 3] (RGB), camera {fx, fy, cx, cy} (pixels; default: `camera_of` the
    image at 60 degrees), config (default: the detector's) -> boxes, strongest first, each {"score", "pixels"
    [9, 2], "box" [9, 3] up to scale}.
    """

    def __init__(self, path: str | Path, threads: int = 1, config: DecoderConfig = DecoderConfig(), delegate=None):
        self.model = TfliteModel(path, threads, delegate)
        height, width = (int(v) for v in self.model.input_shape[1:3])
        self.size = (width, height)  # as the ROI functions take it
        self.config = config

    def __call__(
        self, image: np.ndarray, camera: dict | None = None, config: DecoderConfig | None = None
    ) -> list[dict]:
        h, w = image.shape[:2]
        camera = camera_of(w, h) if camera is None else camera
        view = letterbox_roi(w, h, self.size[0] / self.size[1])
        tensor = crop_tensor(image, view, self.size, (0.0, 1.0), border="constant")
        out = self.model(tensor[None])
        return boxes_in_image(
            out["heatmap"][0, ..., 0], out["offsets"][0], view, self.size, camera, config or self.config
        )
