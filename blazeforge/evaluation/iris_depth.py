"""Metric depth from the iris, scored on face renders where the true distance is known.

`blazeforge evaluate iris_depth renders=RUN_DIR [checkpoint=mediapipe:iris_landmark|RUN_DIR|FILE.tflite]`

For every eye of every render (`scene=faces`: the refined mesh's 478 labelled points, camera
intrinsics and each point's camera-space position): the eye is cropped from the labelled mesh as
MediaPipe's iris graph crops it (`geometry.roi.eye_roi`; the subject's left eye mirrored), the iris model
gives 5 iris points, and `geometry.iris.iris_depth_mm` turns their diameter into a distance with
the render's focal length. The truth is the distance from the camera to the labelled iris centre.
The same formula on the labelled iris points measures what the formula alone loses.
metrics.json: `relative_error` percentiles (|estimate - truth| / truth) and a histogram, the
signed mean, per-eye figures, and `labelled_relative_error` for the formula on the labels.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from omegaconf import DictConfig

from blazeforge.errors import BlazeforgeError


def _frames(render_dir: Path):
    """(image RGB, keypoints [478, 3] px, camera-space points [478, 3] m, fx) for each face render."""
    from blazeforge.datasets.sources import read_renders

    for path, sample in read_renders(render_dir, 478):
        if sample.keypoints_camera is None or not sample.camera:
            raise BlazeforgeError(path, "expected face renders with camera positions (blazeforge render scene=faces)")
        image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        yield (
            image,
            sample.keypoints[0].astype(np.float64),
            sample.keypoints_camera[0].astype(np.float64),
            float(sample.camera["fx"]),
        )


def evaluate_iris_depth(cfg: DictConfig, run_dir: Path) -> dict:
    from blazeforge.evaluation.predictors import landmark_model
    from blazeforge.geometry.iris import iris_depth_mm
    from blazeforge.geometry.roi import MIRRORED_EYE, eye_roi
    from blazeforge.topology.face_mesh import IRIS

    e = cfg.evaluate
    if not e.renders:
        raise BlazeforgeError("evaluate.renders", "expected renders=RUN_DIR of face renders (scene=faces)")
    checkpoint = str(e.checkpoint or "mediapipe:iris_landmark")
    model = landmark_model(checkpoint, "iris")
    estimated, labelled, truths = [], [], []
    for image, keypoints, camera, fx in _frames(Path(e.renders)):
        h, w = image.shape[:2]
        for eye in ("right", "left"):
            iris, _ = model.predict(image, eye_roi(keypoints[:468], eye), flip=eye == MIRRORED_EYE)
            centre = IRIS[eye][0]
            truth = float(np.linalg.norm(camera[centre]) * 1000)
            estimated.append(iris_depth_mm(iris, fx, (w, h)))
            labelled.append(iris_depth_mm(keypoints[list(IRIS[eye])], fx, (w, h)))
            truths.append(truth)
    truths = np.array(truths)
    errors = (np.array(estimated) - truths) / truths
    from_labels = np.abs(np.array(labelled) - truths) / truths
    counts, edges = np.histogram(np.abs(errors), bins=[0, 0.025, 0.05, 0.1, 0.2, 0.4, np.inf])
    return {
        "eyes": int(len(errors)),
        "checkpoint": checkpoint,
        "renders": str(e.renders),
        "relative_error": {f"p{q}": round(float(np.percentile(np.abs(errors), q)), 4) for q in (10, 25, 50, 75, 90)},
        "mean_signed_error": round(float(errors.mean()), 4),
        "within_10_percent": round(float((np.abs(errors) < 0.1).mean()), 4),
        "histogram": {"edges": [float(x) for x in edges[:-1]] + ["inf"], "counts": counts.tolist()},
        "labelled_relative_error": {
            "p50": round(float(np.median(from_labels)), 4),
            "max": round(float(from_labels.max()), 4),
        },
        "true_distance_mm": {"min": round(float(truths.min()), 1), "max": round(float(truths.max()), 1)},
    }
