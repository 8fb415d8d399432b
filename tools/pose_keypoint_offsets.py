"""Where MediaPipe's pose landmark model puts the 33 points on MakeHuman's bodies, against our labels.

Renders whole people standing near the rig's rest (standing, attention, a weight shift, the A pose,
walking's passing phase; a little jitter) seen from the front (yaw within +-15 degrees), runs the
published pose_landmark_full through our runtime on the crop MediaPipe's tracking would take (from
our labels' virtual keypoints, then from its own) and prints each keypoint's median offset in % of
torso size: `out` towards the point's own side (the person's left on screen right for left points,
and for the nose and mouth), `up` from the hips towards the shoulders. Divided by 100, those are
`makehuman_body.KEYPOINT_SHIFTS` (the shifts already there are in the labels: add the residuals).

    .venv/bin/python tools/pose_keypoint_offsets.py [frames]
"""

import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

import blazeforge.synthetic.body_scene as body_scene
from blazeforge.config import compose
from blazeforge.geometry.roi import pose_roi
from blazeforge.runtime.models import resolve
from blazeforge.runtime.pipeline import load_models
from blazeforge.synthetic import body_poses, makehuman_body
from blazeforge.topology.pose import LEFT_HIP, LEFT_SHOULDER, NAMES, RIGHT_HIP, RIGHT_SHOULDER

NEAR_REST = ("standing", "attention", "relaxed_weight_shift", "a_pose", "walking_passing")


def main(frames: int = 40) -> None:
    cfg = compose(
        "render",
        [
            "scene=bodies",
            "scene.people=[1,1]",
            "scene.camera.close_fraction=0",
            "scene.camera.yaw_sd_deg=7",
            "scene.camera.roll_sd_deg=0",
            "scene.camera.phone=false",
            "scene.camera.body_share=[0.8,0.95]",
        ],
    )
    scene = body_scene.BodyScene(cfg.scene, 256, 16)
    found = resolve(["pose_landmarks"], "mediapipe")
    model, _ = load_models(found)[0]["pose_landmarks"]
    offsets = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(frames):
            name = NEAR_REST[k % len(NEAR_REST)]
            body_scene.body_poses.random_pose = lambda rng, *a, n=name: (
                body_poses.jittered(body_poses.POSES[n], rng, 3.0),
                n,
            )
            frame = Path(tmp) / f"{k}.png"
            labels = scene.render(np.random.default_rng(k), frame, Path(tmp) / f"m{k}.png")
            image = cv2.cvtColor(cv2.imread(str(frame)), cv2.COLOR_BGR2RGB)
            label = labels["keypoints"][0][:, :2]
            points, outputs = model.predict(image, pose_roi(np.concatenate([label, labels["auxiliary"][0]])))
            points, outputs = model.predict(image, pose_roi(points[:, :2]))
            if float(np.ravel(outputs["pose_flag"])[0]) < 0.5:
                continue
            hips = label[[LEFT_HIP, RIGHT_HIP]].mean(0)
            up = label[[LEFT_SHOULDER, RIGHT_SHOULDER]].mean(0) - hips
            torso = np.linalg.norm(up)
            up /= torso
            right = np.array([-up[1], up[0]])  # the screen's right of `up`: the person's left, facing us
            delta = (points[:33, :2] - label) / torso * 100
            out = np.array([-1.0 if n.startswith("right") or n == "mouth_right" else 1.0 for n in NAMES])
            offsets.append(np.stack([delta @ right * out, delta @ up], 1))
    offsets = np.array(offsets)
    median = np.median(offsets, 0)
    print(f"{len(offsets)} of {frames} renders kept (pose score >= 0.5); median offset, % torso size (out, up):")
    for name, (a, b), spread in zip(NAMES, median, np.median(np.linalg.norm(offsets - median, axis=2), 0)):
        print(f"  {name:<17} {a:+6.1f} {b:+6.1f}   (scatter {spread:4.1f})")
    print("NME (% torso size):", np.linalg.norm(offsets, axis=2).mean().round(2))
    shifts = {n: (round(a / 100 + s[0], 3), round(b / 100 + s[1], 3)) for n, (a, b), s in zip(
        NAMES, median, (makehuman_body.KEYPOINT_SHIFTS.get(n, (0.0, 0.0)) for n in NAMES))}  # fmt: skip
    print("KEYPOINT_SHIFTS with these residuals added:", repr(shifts))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 40)
