"""Read samples from their sources: render shards and COCO-keypoints files of real hands.

Each reader yields `(image_path, Sample)` pairs with the image path resolved, and checks what a
training run would otherwise trip over later (missing or unreadable images, wrong shapes).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from blazeforge.datasets.schema import Sample, read_jsonl
from blazeforge.errors import BlazeforgeError

NUM_KEYPOINTS = 21


def check_image(path: Path) -> None:
    """One-line error unless `path` is an image OpenCV can decode."""
    if not path.is_file():
        raise BlazeforgeError(path, "image file not found")
    if cv2.imread(str(path), cv2.IMREAD_UNCHANGED) is None:
        raise BlazeforgeError(path, "not a readable image (corrupt or not PNG/JPEG)")


def read_renders(render_dir: str | Path) -> Iterator[tuple[Path, Sample]]:
    """Samples of every shard-*/labels.jsonl in a render run directory."""
    render_dir = Path(render_dir)
    shards = sorted(render_dir.glob("shard-*/labels.jsonl"))
    if not shards:
        raise BlazeforgeError(f"renders={render_dir}", "expected a render run directory with shard-*/labels.jsonl")
    for labels in shards:
        for sample in read_jsonl(labels, num_keypoints=NUM_KEYPOINTS):
            path = labels.parent / sample.image
            check_image(path)
            yield path, sample


def _handedness(value) -> float:
    if isinstance(value, str):
        return {"right": 1.0, "left": 0.0}.get(value.lower(), 0.5)
    return 0.5 if value is None else float(value)


def read_coco(json_path: str | Path, images_dir: str | Path | None = None) -> Iterator[tuple[Path, Sample]]:
    """Samples of a COCO-keypoints file with 21 hand keypoints per annotation (real photos, 2D only).

    keypoints are [x, y, v] * 21 (v: 0 unlabelled, 1 labelled but occluded, 2 visible); z is set to
    0 and masked out. Optional per-annotation fields: handedness ("left"/"right" or 0/1),
    subject_id, skin_tone, region.
    """
    json_path = Path(json_path)
    if not json_path.is_file():
        raise BlazeforgeError(f"coco={json_path}", "file not found")
    try:
        data = json.loads(json_path.read_text())
    except json.JSONDecodeError as e:
        raise BlazeforgeError(json_path, f"not valid JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(data, dict) or "images" not in data or "annotations" not in data:
        raise BlazeforgeError(json_path, "expected a COCO object with 'images' and 'annotations'")
    images_dir = Path(images_dir) if images_dir else json_path.parent
    by_image: dict = {}
    for i, ann in enumerate(data["annotations"]):
        kp = np.asarray(ann.get("keypoints", []), np.float32)
        if kp.size != NUM_KEYPOINTS * 3:
            raise BlazeforgeError(f"{json_path}: annotations[{i}].keypoints",
                                  f"has {kp.size} values, expected {NUM_KEYPOINTS} x 3 (x, y, v)")
        by_image.setdefault(ann["image_id"], []).append(ann)
    for image in data["images"]:
        anns = by_image.get(image["id"])
        if not anns:
            continue
        path = images_dir / image["file_name"]
        check_image(path)
        kp = np.stack([np.asarray(a["keypoints"], np.float32).reshape(NUM_KEYPOINTS, 3) for a in anns])
        labelled = kp[..., 2] > 0
        keypoints = np.concatenate([kp[..., :2], np.zeros_like(kp[..., :1])], -1)
        mask = np.stack([labelled, labelled, np.zeros_like(labelled)], -1)
        boxes = []
        for a, k, m in zip(anns, kp, labelled):
            if "bbox" in a:
                x, y, w, h = a["bbox"]
                boxes.append([x, y, x + w, y + h])
            else:
                boxes.append([*k[m, :2].min(0), *k[m, :2].max(0)])
        first = anns[0]
        sample = Sample(
            image=str(path), width=int(image["width"]), height=int(image["height"]), keypoints=keypoints,
            keypoint_mask=mask, visibility=(kp[..., 2] == 2).astype(np.float32), boxes=np.asarray(boxes, np.float32),
            presence=np.ones(len(anns), np.float32),
            handedness=np.asarray([_handedness(a.get("handedness")) for a in anns], np.float32),
            meta={"source": "real", "subject_id": str(first.get("subject_id", f"coco-{image['id']}")),
                  "skin_tone": str(first.get("skin_tone", "")), "region": str(first.get("region", ""))})
        yield path, sample
