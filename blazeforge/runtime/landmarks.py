"""A landmark model on a rotated ROI: crop as MediaPipe crops, run, project back to the image.

MediaPipe's landmark graphs crop the ROI with ImageToTensorCalculator (`geometry.roi.crop_image`
with sampling="mediapipe") and map the model's crop-pixel outputs back with
LandmarkProjectionCalculator (`geometry.roi.crop_to_image`): doing both the same way gives the
published models exactly the tensors they get in MediaPipe, and their outputs the same meaning.

    face = LandmarkModel(TfliteModel(zoo.tflite_path("face_landmark")), 192, output="conv2d_21")
    mesh = face(image, roi)      # [468, 3] image pixels (z at x's scale)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from blazeforge.geometry.heatmaps import refine_from_heatmap
from blazeforge.geometry.roi import Roi, crop_image, crop_to_image


def crop_tensor(
    image: np.ndarray, roi: Roi, size: int | tuple, value_range=(0.0, 1.0), border: str = "replicate"
) -> np.ndarray:
    """uint8 image [H, W, 3] -> float32 [size, size, 3] (or [h, w, 3] for size (w, h)) in
    value_range: the ROI, as MediaPipe's ImageToTensorCalculator samples it. Outside the image:
    the nearest edge pixel (its default, which the landmark graphs keep), or with
    border="constant" zeros, i.e. the low end of the range (BORDER_ZERO, which the detection
    graphs set)."""
    lo, hi = value_range
    tensor = crop_image(image, roi, size, border=border).astype(np.float32)
    tensor *= np.float32((hi - lo) / 255.0)
    if lo:
        tensor += np.float32(lo)
    return tensor


class LandmarkModel:
    """A landmark model (any callable batch -> {name: array}) with its input size and value range.

    output: the name of the output holding the landmarks; values: numbers per landmark in it
    (3: x, y, z; BlazePose's 5 add visibility and presence); heatmap: the name of an output of
    per-landmark heatmaps to refine x, y from (`geometry.heatmaps`, BlazePose). Returns
    [K, values] with x, y, z in image pixels (z at x's scale) and any further values as the model
    gives them.
    """

    def __init__(
        self,
        model: Callable,
        input_size: int,
        output: str,
        values: int = 3,
        value_range=(0.0, 1.0),
        heatmap: str | None = None,
    ):
        self.model, self.input_size, self.output = model, int(input_size), output
        self.values, self.value_range, self.heatmap = int(values), value_range, heatmap

    def __call__(self, image: np.ndarray, roi: Roi) -> np.ndarray:
        return self.predict(image, roi)[0]

    def predict(self, image: np.ndarray, roi: Roi, flip: bool = False) -> tuple[np.ndarray, dict]:
        """(landmarks [K, values] in image pixels, all model outputs by name).

        flip: mirror the crop before the model and the x of its output back (MediaPipe's iris graph
        runs the right eye this way through a model trained on left eyes)."""
        tensor = crop_tensor(image, roi, self.input_size, self.value_range)
        if flip:
            tensor = np.ascontiguousarray(tensor[:, ::-1])
        outputs = self.model(tensor[None])
        raw = np.asarray(outputs[self.output], np.float64).reshape(-1, self.values)
        if self.heatmap is not None:
            raw[:, :2] = refine_from_heatmap(raw[:, :2] / self.input_size, outputs[self.heatmap][0]) * self.input_size
        return self.to_image(raw, roi, flip), outputs

    def to_image(self, raw: np.ndarray, roi: Roi, flip: bool = False) -> np.ndarray:
        """Crop-pixel points [K, >=3] of this model (x mirrored back when the crop was flipped)
        projected to image pixels; further values are kept as they are."""
        out = np.asarray(raw, np.float64).copy()
        if flip:
            out[:, 0] = self.input_size - out[:, 0]
        out[:, :3] = crop_to_image(out[:, :3], roi, self.input_size)
        return out
