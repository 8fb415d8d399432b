"""The iris stage of face_mesh: both eyes cropped from the face landmarks, MediaPipe's iris model,
and metric depth from the iris diameter (`geometry.iris`)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from blazeforge.geometry.iris import focal_from_fov, iris_depth_mm
from blazeforge.geometry.roi import MIRRORED_EYE, eye_roi
from blazeforge.runtime.calculators.tracking import model_of_role
from blazeforge.runtime.graph import Calculator, calculator


@calculator
class Iris(Calculator):
    """IMAGE + INSTANCES (faces, 468 landmarks) -> INSTANCES with extra "iris" [2, 5, 3] (the
    subject's right then left eye, image pixels), "eye_contours" [2, 71, 3] and "depth_mm" (mean of
    both eyes).

    The subject's left eye runs mirrored (the model knows image-left eyes). Focal length: `focal_px`, else the
    run's (EXIF of the source images), else from `fov_deg`, the horizontal field of view.
    """

    INPUTS = {"IMAGE": "image", "INSTANCES": "instances"}
    OUTPUTS = {"INSTANCES": "instances"}

    def __init__(self, context=None, model: str = "iris", focal_px: float | None = None, fov_deg: float = 63.0):
        super().__init__(context)
        self.model, _ = model_of_role(self.context, model)
        self.focal_px, self.fov_deg = focal_px, float(fov_deg)

    def process(self, timestamp, inputs):
        image = inputs["IMAGE"]
        h, w = image.shape[:2]
        focal = self.focal_px or self.context.get("focal_px") or focal_from_fov(w, self.fov_deg)
        out = []
        for face in inputs["INSTANCES"]:
            irises, contours, depths = [], [], []
            for eye in ("right", "left"):
                roi = eye_roi(face.landmarks, eye)
                iris, outputs = self.model.predict(image, roi, flip=eye == MIRRORED_EYE)
                contour = np.asarray(outputs["eye_contour"]).reshape(-1, 3)
                contours.append(self.model.to_image(contour, roi, flip=eye == MIRRORED_EYE))
                irises.append(iris)
                depths.append(iris_depth_mm(iris, focal, (w, h)))
            extra = {
                **face.extra,
                "iris": np.stack(irises),
                "eye_contours": np.stack(contours),
                "depth_mm": round(float(np.mean(depths)), 1),
            }
            out.append(replace(face, extra=extra))
        return {"INSTANCES": out}
