"""Drawing results on frames: landmarks and their connections, ROIs, detections, labels."""

from __future__ import annotations

import cv2
import numpy as np

from blazeforge.runtime import draw
from blazeforge.runtime.graph import Calculator, calculator


@calculator
class Annotate(Calculator):
    """IMAGE + INSTANCES (+ DETECTIONS) -> IMAGE with landmarks (green), their `connections`,
    the ROIs they came from (blue), detections (red boxes), labels and iris circles drawn, and
    the instances' segmentation masks (BlazePose's) tinted in."""

    INPUTS = {"IMAGE": "image", "INSTANCES": "instances", "DETECTIONS": "detections"}
    OPTIONAL = frozenset({"INSTANCES", "DETECTIONS"})
    OUTPUTS = {"IMAGE": "image"}

    def __init__(self, context=None, connections: str = "hand", rois: bool = True, radius: int = 2):
        super().__init__(context)
        self.edges = draw.connections(connections)
        self.rois, self.radius = bool(rois), int(radius)

    def process(self, timestamp, inputs):
        image = inputs["IMAGE"].copy()
        h, w = image.shape[:2]
        for d in inputs.get("DETECTIONS") if inputs.get("DETECTIONS") is not None else ():
            x0, y0, x1, y1 = (d[1:5] * [w, h, w, h]).round().astype(int)
            cv2.rectangle(image, (x0, y0), (x1, y1), (255, 0, 0), 1, cv2.LINE_AA)
        for instance in inputs.get("INSTANCES") or ():
            if instance.mask is not None:  # tint the person: 40% purple where the mask says so
                alpha = (0.4 * instance.image_mask(w, h))[..., None]
                image = (image * (1 - alpha) + np.array([160, 32, 240]) * alpha).astype(np.uint8)
            if self.rois:
                draw.draw_roi(image, instance.roi, (0, 128, 255))
            image = draw.draw_landmarks(image, instance.landmarks, self.edges, (0, 255, 0), self.radius)
            for iris in np.asarray(instance.extra.get("iris", [])).reshape(-1, 5, 3):
                radius = np.linalg.norm(iris[1:, :2] - iris[0, :2], axis=1).mean()
                cv2.circle(
                    image,
                    tuple(int(v) for v in iris[0, :2].round()),
                    max(1, int(round(radius))),
                    (255, 255, 0),
                    1,
                    cv2.LINE_AA,
                )
            text = " ".join(
                str(v)
                for v in (instance.label, instance.extra.get("gesture"), _depth(instance.extra.get("depth_mm")))
                if v
            )
            if text:
                x0, y0 = instance.box()[:2]
                cv2.putText(
                    image,
                    text,
                    (int(x0), max(12, int(y0) - 4)),
                    cv2.FONT_HERSHEY_SIMPLEX,
                    0.45,
                    (255, 255, 255),
                    1,
                    cv2.LINE_AA,
                )
        return {"IMAGE": image}


def _depth(mm):
    return f"{mm / 10:.0f} cm" if mm else None
