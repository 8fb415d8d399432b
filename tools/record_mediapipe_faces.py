"""Record the face boxes MediaPipe's own Python package finds in package photos (run once).

The zoo test (tests/zoo/test_detectors.py) decodes the same photos with blazeforge's anchors and
decoder and compares boxes by IoU against this file. Run it in a venv of its own, since mediapipe
pins its own numpy and protobuf:

    python3.11 -m venv /tmp/mpvenv && /tmp/mpvenv/bin/pip install mediapipe==0.10.21 scikit-image matplotlib
    /tmp/mpvenv/bin/python tools/record_mediapipe_faces.py > tests/zoo/mediapipe_face_boxes.json

Output: {"mediapipe": version, "photos": {photo: {model: [{"score", "box": [x0, y0, x1, y1],
"keypoints": [[x, y] x 6]}]}}} in [0, 1] units of the photo.
"""

import json

import matplotlib.cbook
import mediapipe as mp
import numpy as np
from PIL import Image
from skimage import data

PHOTOS = {
    "skimage.astronaut": lambda: data.astronaut(),
    "matplotlib.grace_hopper": lambda: np.asarray(Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg"))),
}
MODELS = {"face_detection_short_range": 0, "face_detection_full_range_sparse": 1}


def main():
    out = {"mediapipe": mp.__version__, "photos": {}}
    for photo, load in PHOTOS.items():
        image = np.ascontiguousarray(load()[..., :3])
        out["photos"][photo] = {}
        for model, selection in MODELS.items():
            with mp.solutions.face_detection.FaceDetection(model_selection=selection,
                                                           min_detection_confidence=0.5) as detector:
                result = detector.process(image)
            faces = []
            for d in result.detections or []:
                b = d.location_data.relative_bounding_box
                faces.append({"score": round(float(d.score[0]), 6),
                              "box": [round(v, 6) for v in (b.xmin, b.ymin, b.xmin + b.width, b.ymin + b.height)],
                              "keypoints": [[round(k.x, 6), round(k.y, 6)]
                                            for k in d.location_data.relative_keypoints]})
            out["photos"][photo][model] = faces
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
