"""Fit where MediaPipe's hand landmark model puts the 21 points on MakeHuman's hands: KEYPOINT_SHIFTS.

Renders close-ups of MakeHuman's right and left hands in all gestures (the default camera: palm or
back towards it, turned and tilted; no occluders, no phone effects, no HDRI backdrops) with their
labels unshifted, runs the published hand_landmark_full through our runtime on the crop MediaPipe's
tracking would take (from our labels, then again from its own points), and fits, per keypoint, the
weights of `makehuman_hand.shift_basis`'s directions that bring our projected points nearest its
points (least squares on the projection linearized at each point; weights in palm sizes). Renders
with presence < 0.5 or a mean error over 40% of palm size (another hand's reading) are left out.
Reports the NME on held-out close-ups (every other one) before and after the fit, per keypoint,
then prints the weights fitted on all, for `makehuman_hand.KEYPOINT_SHIFTS`.

    .venv/bin/python tools/hand_keypoint_offsets.py [frames] [workers] [samples.npy]
"""

import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from blazeforge.synthetic.makehuman_hand import SHIFT_BASIS, keypoint_kind, shift_basis
from blazeforge.topology.hand import NAMES, hand_axes

RIDGE = 1e-3  # weight of the squared shift (palm sizes) against the squared residual (palm sizes)


def collect(seeds: list[int]) -> list[dict]:
    """Per kept close-up: unshifted camera points [21, 3] (metres), focal length and centre
    (pixels), the model's points [21, 2] (pixels) and the hand's side."""
    import cv2

    import blazeforge.synthetic.hand_scene as hand_scene
    from blazeforge.config import compose
    from blazeforge.geometry.roi import hand_roi
    from blazeforge.runtime.models import resolve
    from blazeforge.runtime.pipeline import load_models
    from blazeforge.synthetic import makehuman_hand

    makehuman_hand.KEYPOINT_SHIFTS = {}
    overrides = ["scene.occluders.probability=0", "scene.camera.phone=false", "scene.background.hdri_fraction=0"]
    scene = hand_scene.HandScene(compose("render", overrides).scene, 256, 16)
    model, _ = load_models(resolve(["hand_landmarks"], "mediapipe"))[0]["hand_landmarks"]
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            frame = Path(tmp) / "frame.png"
            labels = scene.render(np.random.default_rng(seed), frame, Path(tmp) / "mask.png")
            image = cv2.cvtColor(cv2.imread(str(frame)), cv2.COLOR_BGR2RGB)
            points, _ = model.predict(image, hand_roi(labels["keypoints"][:, :2]))
            points, outputs = model.predict(image, hand_roi(points[:, :2]))
            if float(np.ravel(outputs["presence"])[0]) < 0.5:
                continue
            side = "left" if labels["handedness"] < 0.5 else "right"
            cam = labels["camera"]
            out.append({"seed": seed, "cam": labels["keypoints_camera"], "f": cam["fx"], "c": cam["cx"]})
            out[-1] |= {"pred": points[:, :2], "side": side}
    return out


def project(cam: np.ndarray, f: float, c: float) -> np.ndarray:
    return cam[:, :2] / cam[:, 2:3] * f + c


def design(sample: dict) -> tuple[float, list[np.ndarray], np.ndarray]:
    """(palm size in pixels, per keypoint [2, m] pixels moved per palm size of each direction,
    residual [21, 2] pixels: the model's points minus our unshifted ones)."""
    cam, f, c = sample["cam"], sample["f"], sample["c"]
    palm_m, basis = shift_basis(cam, sample["side"])
    blocks = []
    for i, directions in enumerate(basis):
        x, y, z = cam[i]
        jacobian = f / z * np.array([[1, 0, -x / z], [0, 1, -y / z]])
        blocks.append(jacobian @ directions.T * palm_m)
    uv = project(cam, f, c)
    return hand_axes(uv)[0], blocks, sample["pred"] - uv


def fit(samples: list[dict]) -> dict[str, np.ndarray]:
    rows = [design(s) for s in samples]
    shifts = {}
    for i, name in enumerate(NAMES):
        a = np.concatenate([blocks[i] / palm for palm, blocks, _ in rows])
        b = np.concatenate([residual[i] / palm for palm, _, residual in rows])
        m = a.shape[1]
        shifts[name] = np.linalg.solve(a.T @ a + RIDGE * len(rows) * np.eye(m), a.T @ b)
    return shifts


def errors(samples: list[dict], shifts: dict[str, np.ndarray] | None) -> np.ndarray:
    """[N, 21] distance from the model's points to our (shifted) ones, % of palm size."""
    out = []
    for palm, blocks, residual in map(design, samples):
        moved = np.stack([blocks[i] @ shifts[n] if shifts else np.zeros(2) for i, n in enumerate(NAMES)])
        out.append(np.linalg.norm(residual - moved, axis=1) / palm * 100)
    return np.array(out)


def main(frames: int = 160, workers: int = 2, samples_file: str | None = None) -> None:
    """samples_file: an .npy of collected close-ups, read if it exists (to refit), else written."""
    if samples_file and Path(samples_file).is_file():
        samples = list(np.load(samples_file, allow_pickle=True))
    else:
        seeds = list(range(frames))
        with ProcessPoolExecutor(workers) as pool:
            parts = pool.map(collect, [seeds[w::workers] for w in range(workers)])
            samples = [s for part in parts for s in part]
        if samples_file:
            np.save(samples_file, np.array(samples, dtype=object), allow_pickle=True)
    samples = [s for s in samples if errors([s], None).mean() < 40]
    samples.sort(key=lambda s: s["seed"])
    train, test = samples[::2], samples[1::2]
    print(f"{len(samples)} of {frames} close-ups kept (presence >= 0.5, NME < 40% of palm size)")
    before, after = errors(test, None), errors(test, fit(train))
    print(f"held-out NME ({len(test)} close-ups), % of palm size: ", end="")
    print(f"unshifted {before.mean():.1f}, fitted {after.mean():.1f}")
    for name, b, a in zip(NAMES, before.mean(0), after.mean(0)):
        print(f"  {name:<11} {b:5.1f} -> {a:5.1f}")
    shifts = fit(samples)
    print("KEYPOINT_SHIFTS = {")
    for i, name in enumerate(NAMES):
        weights = ", ".join(f"{w:.3f}" for w in shifts[name])
        print(f'    "{name}": ({weights}),  # {", ".join(SHIFT_BASIS[keypoint_kind(i)])}')
    print("}")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(*(int(a) for a in args[:2]), *args[2:3])
