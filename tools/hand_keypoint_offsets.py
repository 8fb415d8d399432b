"""Where MediaPipe's hand landmark model puts the 21 points on MakeHuman's hands, against our labels.

Renders close-ups of MakeHuman's right and left hands (palm and back towards the camera, tilted up
to 30 degrees, flat gestures), runs the published hand_landmark_full through our runtime on the crop
MediaPipe's tracking would take (twice: from our labels, then from its own points) and prints each
keypoint's mean offset in % of palm size along the hand's own axes: `across` towards the thumb's
side, `along` from the wrist towards the fingers. `makehuman_hand.KEYPOINT_SHIFTS` holds the result.

    .venv/bin/python tools/hand_keypoint_offsets.py [frames]
"""

import sys
import tempfile
from pathlib import Path

import numpy as np

import blazeforge.synthetic.hand_scene as hand_scene
from blazeforge.config import compose
from blazeforge.geometry.roi import hand_roi
from blazeforge.runtime.models import resolve
from blazeforge.runtime.pipeline import load_models
from blazeforge.synthetic import gestures, kinematics, makehuman_hand
from blazeforge.topology.hand import NAMES, hand_axes

FLAT = ("open_palm", "spread", "flat_hand", "relaxed", "vulcan", "count_four")


def main(frames: int = 48) -> None:
    cfg = compose(
        "render",
        [
            "scene.occluders.probability=0",
            "scene.camera.phone=false",
            "scene.camera.distance_m=[0.28,0.4]",
            "scene.background.hdri_fraction=0",
        ],
    )
    scene = hand_scene.HandScene(cfg.scene, 256, 16)
    found = resolve(["hand_landmarks"], "mediapipe")
    model, _ = load_models(found)[0]["hand_landmarks"]
    offsets, kept = [], 0
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(frames):
            name = FLAT[k % len(FLAT)]
            yaw = np.pi * (k // len(FLAT) % 2) + rng.uniform(-0.5, 0.5)
            pitch, roll = rng.uniform(-0.3, 0.3), rng.uniform(-0.6, 0.6)
            hand_scene.random_pose = lambda rng, *a, name=name: (gestures.GESTURES[name], name)
            hand_scene.random_rotation = lambda rng, y=yaw, p=pitch, r=roll: kinematics.orientation(y, p, r)
            frame = Path(tmp) / f"{k}.png"
            labels = scene.render(np.random.default_rng(k), frame, Path(tmp) / f"m{k}.png")
            import cv2

            image = cv2.cvtColor(cv2.imread(str(frame)), cv2.COLOR_BGR2RGB)
            label = labels["keypoints"][:, :2]
            points, outputs = model.predict(image, hand_roi(label))
            points, outputs = model.predict(image, hand_roi(points[:, :2]))
            if float(np.ravel(outputs["presence"])[0]) < 0.5:
                continue
            kept += 1
            palm, up, across = hand_axes(label)
            delta = (points[:, :2] - label) / palm * 100
            offsets.append(np.stack([delta @ across, delta @ up], 1))
    offsets = np.array(offsets)
    print(f"{kept} of {frames} close-ups kept (presence >= 0.5); mean offset, % palm size (across, along):")
    for name, (a, b), spread in zip(NAMES, offsets.mean(0), np.linalg.norm(offsets - offsets.mean(0), axis=2).mean(0)):
        print(f"  {name:<11} {a:+6.1f} {b:+6.1f}   (scatter {spread:4.1f})")
    print("NME (% palm size):", np.linalg.norm(offsets, axis=2).mean().round(2))
    print("shift for KEYPOINT_SHIFTS:", repr(makehuman_hand.KEYPOINT_SHIFTS))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 48)
