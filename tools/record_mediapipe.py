"""Record what MediaPipe's own Python package finds in package photos (run once, committed).

The zoo tests decode the same photos with blazeforge's letterbox, anchors, decoder, ROI rules and
projection and compare: face boxes by IoU (tests/zoo/test_detectors.py), face meshes and pose
landmarks and hand landmarks (on our renders) by their distance (tests/zoo/test_pipelines.py).
Run it in a venv of its own, since mediapipe pins its own numpy and protobuf:

    python3.11 -m venv /tmp/mpvenv && /tmp/mpvenv/bin/pip install mediapipe==0.10.21 scikit-image matplotlib
    /tmp/mpvenv/bin/python tools/record_mediapipe.py > tests/zoo/mediapipe_outputs.json

Output, all in [0, 1] units of the photo: {"mediapipe": version, "photos": {photo: {
  "face_detection_short_range" | "face_detection_full_range_sparse": [{"score", "box": [x0, y0, x1, y1],
      "keypoints": [[x, y] x 6]}],
  "face_mesh": [[x, y, z] x 468] or null (FaceMesh, static images, no refinement),
  "pose": [[x, y, z, visibility] x 33] or null (Pose, static images, model_complexity=1),
  "pose_world": [[x, y, z] x 33] metres from the hip centre, "pose_mask_64": the segmentation
      mask (enable_segmentation) averaged down to 64 x 64}},
 "renders": {render: {"hands": {"landmarks": [[x, y, z] x 21], "handedness"} or null}}}
(Hands: static images, one hand, model_complexity=1, i.e. palm_detection_full + hand_landmark_full.)
"""

import json
from pathlib import Path

import matplotlib.cbook
import mediapipe as mp
import numpy as np
from PIL import Image
from skimage import data

PHOTOS = {
    "skimage.astronaut": lambda: data.astronaut(),
    "matplotlib.grace_hopper": lambda: np.asarray(Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg"))),
}
# Our own hand renders (tests/zoo/renders, made by `blazeforge render scene=hands`), for the hands
# pipeline: no package ships a photo of a hand.
RENDERS = {f"render.{p.stem}": p for p in sorted((Path(__file__).parents[1] / "tests/zoo/renders").glob("*.png"))}
DETECTORS = {"face_detection_short_range": 0, "face_detection_full_range_sparse": 1}


def _round(values):
    return [round(float(v), 6) for v in values]


def faces(image, selection):
    with mp.solutions.face_detection.FaceDetection(model_selection=selection, min_detection_confidence=0.5) as d:
        result = d.process(image)
    out = []
    for det in result.detections or []:
        b = det.location_data.relative_bounding_box
        out.append(
            {
                "score": round(float(det.score[0]), 6),
                "box": _round((b.xmin, b.ymin, b.xmin + b.width, b.ymin + b.height)),
                "keypoints": [_round((k.x, k.y)) for k in det.location_data.relative_keypoints],
            }
        )
    return out


def face_mesh(image):
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=False) as m:
        result = m.process(image)
    if not result.multi_face_landmarks:
        return None
    return [_round((p.x, p.y, p.z)) for p in result.multi_face_landmarks[0].landmark]


def pose(image):
    """(landmarks, world landmarks, the segmentation mask averaged down to 64 x 64), or Nones."""
    import cv2

    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1, enable_segmentation=True) as p:
        result = p.process(image)
    if not result.pose_landmarks:
        return None, None, None
    mask = cv2.resize(result.segmentation_mask.astype(np.float32), (64, 64), interpolation=cv2.INTER_AREA)
    return (
        [_round((q.x, q.y, q.z, q.visibility)) for q in result.pose_landmarks.landmark],
        [_round((q.x, q.y, q.z)) for q in result.pose_world_landmarks.landmark],
        [[round(float(v), 3) for v in row] for row in mask],
    )


def hands(image):
    with mp.solutions.hands.Hands(static_image_mode=True, max_num_hands=1, model_complexity=1) as h:
        result = h.process(image)
    if not result.multi_hand_landmarks:
        return None
    return {
        "landmarks": [_round((p.x, p.y, p.z)) for p in result.multi_hand_landmarks[0].landmark],
        "handedness": result.multi_handedness[0].classification[0].label,
    }


def main():
    out = {"mediapipe": mp.__version__, "photos": {}}
    for photo, load in PHOTOS.items():
        image = np.ascontiguousarray(load()[..., :3])
        record = {model: faces(image, selection) for model, selection in DETECTORS.items()}
        record["face_mesh"] = face_mesh(image)
        record["pose"], record["pose_world"], record["pose_mask_64"] = pose(image)
        out["photos"][photo] = record
    out["renders"] = {
        name: {"hands": hands(np.asarray(Image.open(path).convert("RGB")))} for name, path in RENDERS.items()
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
