"""Run a .task bundle in MediaPipe Tasks' own Python API; a script for the mediapipe venv.

It imports neither blazeforge nor TensorFlow (the venv has only mediapipe and its few
dependencies: `export.mediapipe_client`). Usage:

    python tasks_client.py TASK BUNDLE OUT.json IMAGE [IMAGE ...]

TASK: HandLandmarker | FaceLandmarker | PoseLandmarker. Each image is run in IMAGE mode (the
detector on every image, up to 2 instances, MediaPipe's default confidences); OUT.json:
{"mediapipe": version, "images": {image: [[[x, y, z] per landmark] per instance]}}, x and y in
[0, 1] of the image's width and height, as the Tasks report them.
"""

import json
import sys

import mediapipe as mp
import numpy as np
from mediapipe.tasks.python import BaseOptions, vision
from PIL import Image


def landmarker(task: str, bundle: str):
    base = BaseOptions(model_asset_path=bundle)
    mode = vision.RunningMode.IMAGE
    if task == "HandLandmarker":
        options = vision.HandLandmarkerOptions(base_options=base, running_mode=mode, num_hands=2)
        return vision.HandLandmarker.create_from_options(options), "hand_landmarks"
    if task == "FaceLandmarker":
        options = vision.FaceLandmarkerOptions(base_options=base, running_mode=mode, num_faces=2)
        return vision.FaceLandmarker.create_from_options(options), "face_landmarks"
    if task == "PoseLandmarker":
        options = vision.PoseLandmarkerOptions(base_options=base, running_mode=mode, num_poses=2)
        return vision.PoseLandmarker.create_from_options(options), "pose_landmarks"
    raise SystemExit(f"unknown task {task}")


def main(task: str, bundle: str, out: str, images: list[str]) -> None:
    model, field = landmarker(task, bundle)
    found = {}
    with model:
        for path in images:
            rgb = np.ascontiguousarray(np.asarray(Image.open(path).convert("RGB")))
            result = model.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
            found[path] = [[[p.x, p.y, p.z] for p in instance] for instance in getattr(result, field)]
    with open(out, "w") as f:
        json.dump({"mediapipe": mp.__version__, "images": found}, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:])
