"""Run an SSD detector (MediaPipe's or an export of ours) on a whole image.

Letterbox to the model input as MediaPipe's ImageToTensorCalculator does (keep the aspect ratio, pad
with zeros on both sides, MediaPipe's sampling), run, decode with `geometry.detections`, undo the letterbox. Imports no
TensorFlow: the model is any callable from a float32 batch to its output arrays.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from blazeforge.errors import BlazeforgeError
from blazeforge.geometry.anchors import DetectorSpec, generate_anchors, spec_from_json
from blazeforge.geometry.detections import decode, non_max_suppression
from blazeforge.geometry.roi import letterbox_roi
from blazeforge.runs import read_sidecar, sidecar_path
from blazeforge.runtime.interpreter import TfliteModel
from blazeforge.runtime.landmarks import crop_tensor


def letterbox(image: np.ndarray, size: tuple[int, int], value_range: tuple[float, float] = (0.0, 1.0)):
    """image uint8 [H, W, 3] -> (tensor float32 [size, size, 3] in value_range, padding).

    As MediaPipe's ImageToTensorCalculator (keep_aspect_ratio, BORDER_ZERO): the image-centred square
    on the long side is warped onto the tensor with MediaPipe's sampling, so that its published
    detectors see exactly the tensor they see in MediaPipe. padding = (left, top, right, bottom) as
    fractions of the tensor's width and height.
    """
    th, tw = size
    if th != tw:
        raise ValueError(f"letterbox expects a square model input, got {size}")
    h, w = image.shape[:2]
    view = letterbox_roi(w, h)
    tensor = crop_tensor(image, view, tw, value_range, border="constant")
    px, py = (view.width - w) / 2 / view.width, (view.height - h) / 2 / view.height
    return tensor, (px, py, px, py)


def remove_letterbox(detections: np.ndarray, padding: tuple[float, float, float, float]) -> np.ndarray:
    """Detections [M, 5 + 2K] from letterboxed-tensor units to [0, 1] units of the original image."""
    left, top, right, bottom = padding
    out = detections.copy()
    xs = np.r_[1, 3, 5 : out.shape[1] : 2]
    ys = np.r_[2, 4, 6 : out.shape[1] : 2]
    out[:, xs] = (out[:, xs] - left) / (1 - left - right)
    out[:, ys] = (out[:, ys] - top) / (1 - top - bottom)
    return out


class SsdDetector:
    """A detector model plus its anchors and decoding options.

    model: callable float32 [1, H, W, 3] -> sequence of arrays holding raw boxes [1, A, 4 + 2K] and
    raw scores [1, A, 1] (told apart by their last dimension).
    """

    @classmethod
    def from_export(cls, path, threads: int = 1, weighted_nms: bool = True, delegate=None) -> SsdDetector:
        """A detector exported by `blazeforge export` (`<task>_<precision>.tflite`), with the
        decoding options in its sidecar (`<task>.json`)."""
        data = read_sidecar(path)
        if data is None:
            raise BlazeforgeError(
                path,
                f"expected the decoding options beside it ({sidecar_path(path).name}, written by blazeforge export)",
            )
        return cls(
            TfliteModel(path, threads, delegate),
            spec_from_json(data, str(sidecar_path(path))),
            tuple(data.get("input_range", (0.0, 1.0))),
            weighted_nms,
        )

    def __init__(self, model: Callable, spec: DetectorSpec, value_range=(0.0, 1.0), weighted_nms: bool = True):
        self.model = model
        self.spec = spec
        self.anchors = generate_anchors(spec.anchors)
        self.value_range = value_range
        self.weighted_nms = weighted_nms

    def __call__(self, image: np.ndarray, max_detections: int | None = None) -> np.ndarray:
        """Detections [M, 5 + 2K] (score, box x0 y0 x1 y1, keypoints) in [0, 1] units of `image`."""
        tensor, padding = letterbox(image, self.spec.anchors.input_size, self.value_range)
        outputs = self.model(tensor[None])
        outputs = list(outputs.values()) if isinstance(outputs, dict) else list(outputs)
        scores = next(o for o in outputs if o.shape[-1] == 1)
        boxes = next(o for o in outputs if o.shape[-1] > 1)
        raw = decode(boxes[0], scores[0], self.anchors, self.spec.decode)
        kept = non_max_suppression(
            raw,
            self.spec.decode.min_score,
            self.spec.decode.min_suppression_iou,
            weighted=self.weighted_nms,
            max_detections=max_detections,
        )
        return remove_letterbox(kept, padding)
