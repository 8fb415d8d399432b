"""Tiny datasets the tests build themselves: fake render shards and COCO files of drawn hands."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from blazeforge.datasets.schema import Sample, append_jsonl
from blazeforge.synthetic.gestures import GESTURES
from blazeforge.synthetic.kinematics import forward_kinematics
from blazeforge.topology.hand import EDGES


def hand_points(rng: np.random.Generator, size: int = 128) -> np.ndarray:
    """[21, 3] pixel keypoints of a random library gesture, rotated and placed inside a size x size image."""
    names = sorted(GESTURES)
    joints = forward_kinematics(GESTURES[names[rng.integers(len(names))]]) * np.array([1, -1, 1])
    angle = rng.uniform(-np.pi, np.pi)
    c, s = np.cos(angle), np.sin(angle)
    xy = joints[:, :2] @ np.array([[c, s], [-s, c]])
    scale = size * 0.25 / 0.1
    center = rng.uniform(0.4, 0.6, 2) * size
    kp = np.zeros((21, 3))
    kp[:, :2] = (xy - xy.mean(0)) * scale + center
    kp[:, 2] = (joints[:, 2] - joints[0, 2]) * scale
    return kp


def draw_hand(kp: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    image = np.full((size, size, 3), rng.integers(0, 255, 3), np.uint8)
    image = cv2.add(image, rng.integers(0, 40, (size, size, 3)).astype(np.uint8))
    for i, j in EDGES:
        cv2.line(image, tuple(int(v) for v in kp[i, :2]), tuple(int(v) for v in kp[j, :2]), (220, 180, 150), 3)
    return image


def fake_renders(root: Path, shards: int = 2, per_shard: int = 6, size: int = 128, seed: int = 0) -> Path:
    """A render run directory in the renderer's layout, with drawn hands instead of Blender frames."""
    rng = np.random.default_rng(seed)
    for shard in range(shards):
        folder = root / f"shard-{shard:05d}"
        (folder / "frames").mkdir(parents=True)
        for frame in range(per_shard):
            kp = hand_points(rng, size)
            name = f"frames/{frame:06d}.png"
            cv2.imwrite(str(folder / name), draw_hand(kp, size, rng))
            append_jsonl(folder / "labels.jsonl", Sample(
                image=name, width=size, height=size, keypoints=kp[None].astype(np.float32),
                keypoint_mask=np.ones((1, 21, 3), bool), visibility=np.ones((1, 21), np.float32),
                boxes=np.array([[*kp[:, :2].min(0), *kp[:, :2].max(0)]], np.float32),
                presence=np.ones(1, np.float32), handedness=np.array([frame % 2], np.float32),
                meta={"source": "synthetic", "subject_id": f"s{shard}-{frame}", "skin_tone": str(1 + frame % 10)}))
    return root


def fake_coco(root: Path, count: int = 6, size: int = 128, seed: int = 1) -> Path:
    """A COCO-keypoints file of drawn hands (real-data layout: 2D, v flags) with its images."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for i in range(count):
        kp = hand_points(rng, size)
        cv2.imwrite(str(root / f"{i}.jpg"), draw_hand(kp, size, rng))
        images.append({"id": i, "file_name": f"{i}.jpg", "width": size, "height": size})
        flat = np.concatenate([kp[:, :2], np.full((21, 1), 2.0)], 1)
        flat[3, 2] = 1  # one labelled but occluded point
        annotations.append({"id": i, "image_id": i, "category_id": 1, "keypoints": flat.ravel().tolist(),
                            "num_keypoints": 21, "handedness": "right" if i % 2 else "left",
                            "subject_id": f"person-{i // 2}"})
    path = root / "hands.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations,
                                "categories": [{"id": 1, "name": "hand"}]}))
    return path
