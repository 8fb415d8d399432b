"""Parity: our Keras models with imported weights against the published .tflite, on real photos.

Inputs are photos that packages ship (scikit-image's astronaut, coffee and cat; matplotlib's
Grace Hopper), prepared as MediaPipe prepares them: the whole photo letterboxed for every model;
for the landmark models also the face, eye, palm or body crops that the published detectors give
through MediaPipe's ROI rules (`runtime.detector`, `geometry.detections.detection_roi`); plus any
render frames given (`renders=`).

Differences are measured in the unit each output is read in (`zoo.Output.unit`): pixel outputs as
a share of the input size, logits after the sigmoid, probabilities and metres as they are.

    report = parity(["face_landmark"])   # {"face_landmark": {"landmarks": {"max_abs_diff": ...}}}
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from blazeforge import zoo
from blazeforge.errors import BlazeforgeError

TOLERANCE = 1e-3
# Outputs held to a wider tolerance, with the reason. pose_landmark_full's segmentation logits
# reach +-1700, so float32 rounding (relative 2e-4 of that range) moves the sigmoid by up to 5e-3
# at the few pixels near the mask's edge: the published file itself, run by LiteRT with XNNPack
# and with its reference kernels, differs by 3.1e-3 there (no pixel changes side of 0.5).
TOLERANCES = {("pose_landmark_full", "segmentation"): 1e-2}


def tolerance(name: str, output: str) -> float:
    """The max_abs_diff a parity check allows for one output of one model."""
    return TOLERANCES.get((name, output), TOLERANCE)


def photos() -> dict[str, np.ndarray]:
    """Real photos shipped by packages: {name: uint8 RGB [H, W, 3]}."""
    import matplotlib.cbook
    from PIL import Image
    from skimage import data

    with Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg")) as image:
        hopper = np.asarray(image.convert("RGB"))
    return {
        "skimage.astronaut": data.astronaut(),
        "skimage.coffee": data.coffee(),
        "skimage.chelsea": data.chelsea(),
        "matplotlib.grace_hopper": hopper,
    }


# Landmark models and the published detector whose ROIs (MediaPipe's detection-to-ROI rule) crop
# their inputs; iris_landmark takes eye crops around the face detector's eye keypoints.
ROI_SOURCES = {
    "face_landmark": "face_detection_short_range",
    "iris_landmark": "face_detection_short_range",
    "hand_landmark_full": "palm_detection_full",
    "hand_landmark_lite": "palm_detection_full",
    "pose_landmark_full": "pose_detection",
}


def published_rois(name: str, images: list[np.ndarray]) -> list[tuple[int, object]]:
    """(image index, Roi) of every crop `name` gets from its ROI source's detections."""
    from blazeforge.geometry import anchors
    from blazeforge.geometry.detections import detection_roi
    from blazeforge.geometry.roi import Roi
    from blazeforge.runtime.detector import SsdDetector
    from blazeforge.runtime.interpreter import TfliteModel

    source = zoo.get(ROI_SOURCES[name])
    spec = getattr(anchors, source.detector)
    detector = SsdDetector(TfliteModel(zoo.tflite_path(source.name)), spec, value_range=source.input_range)
    rois = []
    for i, image in enumerate(images):
        h, w = image.shape[:2]
        for d in detector(image):
            face = detection_roi(d, (w, h), **spec.roi)
            if name == "iris_landmark":  # a square of 0.6 eye distances around each eye, level
                kp = d[5:].reshape(-1, 2) * (w, h)  # right eye, left eye, nose, mouth, ears
                side = 0.6 * float(np.linalg.norm(kp[1] - kp[0]))
                rois += [(i, Roi(float(x), float(y), side, side, face.rotation)) for x, y in kp[:2]]
            else:
                rois.append((i, face))
    return rois


def model_inputs(name: str, images: list[np.ndarray]) -> np.ndarray:
    """float32 [N, H, W, 3] in the model's input range: every image letterboxed, and for landmark
    models the crops MediaPipe's pipeline would give them (ROIs from the published detector)."""
    from blazeforge.runtime.detector import letterbox
    from blazeforge.runtime.landmarks import crop_tensor

    m = zoo.get(name)
    tensors = [letterbox(image, m.input_size, m.input_range)[0] for image in images]
    if name in ROI_SOURCES:
        tensors += [
            crop_tensor(images[i], roi, m.input_size[0], m.input_range) for i, roi in published_rois(name, images)
        ]
    return np.stack(tensors).astype(np.float32)


def _in_unit(x: np.ndarray, unit: str, size: int) -> np.ndarray:
    x = np.asarray(x, np.float64)
    sigmoid = lambda v: 1.0 / (1.0 + np.exp(-np.clip(v, -80.0, 80.0)))  # noqa: E731
    if unit == "pixels":
        return x / size
    if unit == "logit":
        return sigmoid(x)
    if unit == "pose":  # per landmark x, y, z in pixels, visibility and presence logits
        v = x.reshape(*x.shape[:-1], -1, 5)
        return np.concatenate([v[..., :3] / size, sigmoid(v[..., 3:])], -1).reshape(x.shape)
    return x


def _figures(name: str, ours: list[np.ndarray], inputs: np.ndarray) -> dict:
    """{output: figures} of our outputs (one array per registry output, in its order) against the
    published .tflite run on the same inputs."""
    from blazeforge.runtime.interpreter import TfliteModel

    m = zoo.get(name)
    reference = TfliteModel(zoo.tflite_path(name))
    theirs = [reference(x[None]) for x in inputs]
    report = {}
    for a, out in zip(ours, m.outputs):
        a = np.asarray(a, np.float64)
        b = np.concatenate([t[out.tensor] for t in theirs]).astype(np.float64).reshape(a.shape)
        diff = np.abs(_in_unit(a, out.unit, m.input_size[0]) - _in_unit(b, out.unit, m.input_size[0]))
        report[out.name] = {
            "max_abs_diff": float(diff.max()),
            "mean_abs_diff": float(diff.mean()),
            "raw_max_abs_diff": float(np.abs(a - b).max()),
            "unit": out.unit,
            "inputs": int(len(inputs)),
            "tolerance": tolerance(name, out.name),
        }
    return report


def compare(name: str, inputs: np.ndarray) -> dict:
    """{output: {max_abs_diff, mean_abs_diff, raw_max_abs_diff, unit, inputs, tolerance}} of our
    imported Keras model against the published .tflite over `inputs`."""
    ours = zoo.keras_model(name).predict(inputs, batch_size=8, verbose=0)
    return _figures(name, ours if isinstance(ours, (list, tuple)) else [ours], inputs)


def render_frames(renders: str | Path, limit: int = 8) -> list[np.ndarray]:
    """Up to `limit` PNG frames of a render run directory (or any folder of PNGs; segmentation masks,
    under a masks/ folder, are left out), as RGB uint8."""
    import cv2

    files = [f for f in sorted(Path(renders).rglob("*.png")) if "masks" not in f.parts]
    frames = [cv2.imread(str(f), cv2.IMREAD_COLOR) for f in files[:limit]]
    if not frames:
        raise BlazeforgeError(f"renders={renders}", "expected a folder holding PNG frames")
    return [f[..., ::-1] for f in frames if f is not None]


def parity(names: list[str] | None = None, renders: str | Path | None = None) -> tuple[dict, dict]:
    """Compare every named model that has a Keras architecture (default: all the wheel carries).

    Returns (report {model: {output: figures}}, skipped {model: reason}).
    """
    names = list(names or zoo.in_wheel())
    images = list(photos().values())
    if renders:
        images += render_frames(renders)
    report, skipped = {}, {}
    for name in names:
        m = zoo.get(name)
        if m.builder is None:
            skipped[name] = "no Keras architecture in blazeforge yet"
            continue
        report[name] = compare(name, model_inputs(name, images))
    return report, skipped


def failures(report: dict) -> list[str]:
    """ "model/output" of every output whose max_abs_diff exceeds its tolerance."""
    return [
        f"{name}/{output}"
        for name, outputs in report.items()
        for output, f in outputs.items()
        if f["max_abs_diff"] > tolerance(name, output)
    ]


def reexport(name: str, path: str | Path) -> Path:
    """Export our imported Keras model of `name` to a float32 .tflite at `path` (outputs named)."""
    from blazeforge.export.tflite import convert

    path = Path(path)
    path.write_bytes(convert(zoo.keras_model(name, named_outputs=True), "none"))
    return path


def compare_reexport(name: str, path: str | Path, inputs: np.ndarray) -> dict:
    """{output: figures} of a re-exported .tflite against the published one, as `compare` measures."""
    from blazeforge.runtime.interpreter import TfliteModel

    ours = TfliteModel(path)
    runs = [ours(x[None]) for x in inputs]
    return _figures(name, [np.concatenate([r[out.name] for r in runs]) for out in zoo.get(name).outputs], inputs)
