"""Detect on the first frame or when tracking is lost; otherwise follow the ROIs the landmarks predict.

MediaPipe's tracking loop (hand_landmark_tracking_cpu.pbtxt), as calculators:

    DetectionGate   passes the image to the detector only while fewer than `max_instances` ROIs
                    were tracked from the previous frame
    Detector        runs an SSD detector (published or ours), decodes, NMS, ROIs by its rule
    AssociateRois   tracked ROIs first, then detected ROIs that overlap none of them (IoU < 0.5)
    Landmarks       crops each ROI, runs the landmark model, keeps instances whose presence
                    passes the threshold, projects to the image
    RoisFromLandmarks  the next frame's ROIs from the landmarks (`geometry.roi` rules)
"""

from __future__ import annotations

import numpy as np

from blazeforge.geometry.detections import detection_roi, iou
from blazeforge.geometry.roi import face_roi, hand_roi, pose_roi, turn_world
from blazeforge.runtime.graph import Calculator, calculator
from blazeforge.runtime.instance import Instance, roi_box


def model_of_role(context: dict, role: str):
    """The loaded model of a role, from the run's context (`runtime.pipeline` loads them)."""
    models = context.get("models", {})
    if role not in models:
        raise TypeError(f"model role {role!r} not provided (the run has {sorted(models)})")
    return models[role]


@calculator
class DetectionGate(Calculator):
    """IMAGE passes when fewer than `max_instances` ROIs came from the previous frame's landmarks,
    and (every > 0) on every `every`-th frame besides, so that tracked objects are detected again
    (Objectron's boxes, carried in 2D, drift as the camera turns around them)."""

    INPUTS = {"IMAGE": "image", "TRACKED": "rois"}
    OUTPUTS = {"IMAGE": "image"}

    def __init__(self, context=None, max_instances: int = 1, every: int = 0):
        super().__init__(context)
        self.max_instances, self.every, self.frames = int(max_instances), int(every), 0

    def process(self, timestamp, inputs):
        self.frames += 1
        due = self.every > 0 and self.frames % self.every == 0
        if due or len(inputs.get("TRACKED") or []) < self.max_instances:
            return {"IMAGE": inputs["IMAGE"]}
        return None


@calculator
class Detector(Calculator):
    """An SSD detector on the whole image: DETECTIONS [M, 5 + 2K] (score, box, keypoints in [0, 1]
    units of the image) and their ROIS (the detector's detection-to-ROI rule, `detection_roi`'s
    arguments, with any of them replaced by `roi`), best first."""

    INPUTS = {"IMAGE": "image"}
    OUTPUTS = {"DETECTIONS": "detections", "ROIS": "rois"}

    def __init__(self, context=None, model: str = "palm_detector", max_instances: int = 1, roi: dict | None = None):
        super().__init__(context)
        self.detector = model_of_role(self.context, model)
        self.max_instances = int(max_instances)
        self.roi = {**self.detector.spec.roi, **(roi or {})}

    def process(self, timestamp, inputs):
        image = inputs["IMAGE"]
        h, w = image.shape[:2]
        detections = self.detector(image, max_detections=self.max_instances)
        rois = [detection_roi(d, (w, h), **self.roi) for d in detections]
        return {"DETECTIONS": detections, "ROIS": rois}


@calculator
class AssociateRois(Calculator):
    """ROIS: the tracked ROIs, then each detected ROI whose unrotated rectangle overlaps no kept
    one by `min_iou` or more (MediaPipe's AssociationNormRectCalculator), at most `max_instances`.
    Fires once per frame (IMAGE is its clock)."""

    INPUTS = {"IMAGE": "image", "DETECTED": "rois", "TRACKED": "rois"}
    OPTIONAL = frozenset({"DETECTED"})
    OUTPUTS = {"ROIS": "rois"}

    def __init__(self, context=None, max_instances: int = 1, min_iou: float = 0.5):
        super().__init__(context)
        self.max_instances, self.min_iou = int(max_instances), float(min_iou)

    def process(self, timestamp, inputs):
        kept = list(inputs.get("TRACKED") or [])
        for roi in inputs.get("DETECTED") or []:
            boxes = np.array([roi_box(k) for k in kept]).reshape(-1, 4)
            if not len(boxes) or iou(np.array(roi_box(roi)), boxes).max() < self.min_iou:
                kept.append(roi)
        return {"ROIS": kept[: self.max_instances]}


@calculator
class Landmarks(Calculator):
    """INSTANCES: for each ROI, the landmark model's points in image pixels, its presence score
    (kept when >= `min_presence`) and its label (handedness: "Right" when the model's probability
    exceeds 0.5, as MediaPipe's binary classification reads it). Instances whose landmark boxes
    overlap a better one by `dedup_iou` are dropped (MediaPipe's landmarks deduplication).
    keep: landmarks kept as the instance's, the rest go to extra "auxiliary" (BlazePose: 33 + 2);
    models with more than x, y, z per point add extra "visibility" (sigmoid of the 4th value);
    models whose role names a world output add extra "world_landmarks" (metres from the hip centre,
    x and y turned back to the image's axes by the ROI's rotation, as MediaPipe's
    WorldLandmarkProjectionCalculator; the first `keep`); a segmentation output gives the instance's
    `mask` (sigmoid of the logits, in the crop: `Instance.image_mask` lays it onto the frame)."""

    INPUTS = {"IMAGE": "image", "ROIS": "rois"}
    OUTPUTS = {"INSTANCES": "instances"}

    def __init__(
        self,
        context=None,
        model: str = "hand_landmarks",
        min_presence: float = 0.5,
        labels: tuple = ("Left", "Right"),
        dedup_iou: float = 0.5,
        keep: int | None = None,
    ):
        super().__init__(context)
        self.model, self.role = model_of_role(self.context, model)
        self.min_presence, self.labels, self.dedup_iou = float(min_presence), tuple(labels), float(dedup_iou)
        self.keep = keep

    def process(self, timestamp, inputs):
        image = inputs["IMAGE"]
        found = []
        for roi in inputs["ROIS"]:
            points, outputs = self.model.predict(image, roi)
            score = 1.0
            if self.role.score:
                score = float(np.asarray(outputs[self.role.score]).reshape(-1)[0])
                if self.role.score_is_logit:
                    score = float(1 / (1 + np.exp(-score)))
            if score < self.min_presence:
                continue
            instance = Instance(points[: self.keep], score, roi)
            if self.keep is not None:  # BlazePose: 33 landmarks, then 2 auxiliary ones for the next ROI
                instance.extra["auxiliary"] = points[self.keep :, :3]
            if points.shape[1] > 3:  # BlazePose: visibility and presence logits per landmark
                instance.extra["visibility"] = np.round(1 / (1 + np.exp(-points[: self.keep, 3])), 3)
            if self.role.world:
                world = np.asarray(outputs[self.role.world], np.float64).reshape(-1, 3)[: self.keep]
                instance.extra["world_landmarks"] = turn_world(world, roi.rotation, to="image")
            if self.role.segmentation:
                logits = np.asarray(outputs[self.role.segmentation], np.float32)[0, ..., 0]
                instance.mask = 1.0 / (1.0 + np.exp(-np.clip(logits, -80.0, 80.0)))
            if self.role.label:
                p = float(np.asarray(outputs[self.role.label]).reshape(-1)[0])
                instance.label = self.labels[int(p > 0.5)]
                instance.label_score = p if p > 0.5 else 1 - p
            found.append(instance)
        kept: list[Instance] = []
        for instance in sorted(found, key=lambda i: -i.score):
            if not kept or iou(np.array(instance.box()), np.array([k.box() for k in kept])).max() < self.dedup_iou:
                kept.append(instance)
        return {"INSTANCES": kept}


ROI_RULES = {
    "hand": lambda i: hand_roi(i.landmarks),
    "face": lambda i: face_roi(i.landmarks),
    "pose": lambda i: pose_roi(np.concatenate([i.landmarks[:, :3], i.extra["auxiliary"]])),
}


@calculator
class RoisFromLandmarks(Calculator):
    """ROIS for the next frame from INSTANCES, by `rule` (hand: `geometry.roi.hand_roi`; face:
    `geometry.roi.face_roi`; pose: `geometry.roi.pose_roi`, from the two auxiliary landmarks)."""

    INPUTS = {"INSTANCES": "instances"}
    OUTPUTS = {"ROIS": "rois"}

    def __init__(self, context=None, rule: str = "hand"):
        super().__init__(context)
        if rule not in ROI_RULES:
            raise TypeError(f"rule must be one of {sorted(ROI_RULES)}, got {rule!r}")
        self.rule = ROI_RULES[rule]

    def process(self, timestamp, inputs):
        return {"ROIS": [self.rule(i) for i in inputs["INSTANCES"]]}
