"""Run MediaPipe's own Python package on a clip (the runtime benchmark calls this in a venv of its own,
since mediapipe pins its own numpy and protobuf). Prints JSON: fps over the whole clip (decode
included, as ours) and per frame the first instance's landmarks in pixels (or null).

    python benchmarks/_mediapipe_solutions.py hands|face_mesh CLIP.mp4
"""

import json
import sys
import time

import cv2
import mediapipe as mp


def main(pipeline: str, clip: str) -> None:
    if pipeline == "hands":
        solution = mp.solutions.hands.Hands(static_image_mode=False, max_num_hands=1, model_complexity=1)
        read = lambda r: r.multi_hand_landmarks  # noqa: E731
    else:
        solution = mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1, refine_landmarks=False)
        read = lambda r: r.multi_face_landmarks  # noqa: E731
    capture = cv2.VideoCapture(clip)
    frames, out = 0, []
    start = time.perf_counter()
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        h, w = bgr.shape[:2]
        found = read(solution.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
        out.append([[p.x * w, p.y * h] for p in found[0].landmark] if found else None)
        frames += 1
    seconds = time.perf_counter() - start
    print(json.dumps({"fps": frames / seconds, "frames": frames, "landmarks": out, "mediapipe": mp.__version__}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
