"""Read samples from their sources: render shards, our labels.jsonl files (`annotate import`,
`annotate labelstudio`, the annotation loop), COCO-style files and WIDER FACE annotations.

Each reader yields `(image_path, Sample)` pairs with the image path resolved, and checks what a
training run would otherwise trip over later (missing or unreadable images, wrong shapes), for the
dataset's topology of K keypoints (cfg.data.topology: 21 for hands, 6 for face detection).
`check_instances` then clips boxes to the image and skips (or rejects, by config) the instances
no training can use: degenerate boxes and boxes wholly outside the image.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from blazeforge.datasets.schema import META_KEYS, Sample, read_jsonl
from blazeforge.errors import BlazeforgeError


def check_image(path: Path) -> None:
    """One-line error unless `path` is an image OpenCV can decode."""
    if not path.is_file():
        raise BlazeforgeError(path, "image file not found")
    if cv2.imread(str(path), cv2.IMREAD_UNCHANGED) is None:
        raise BlazeforgeError(path, "not a readable image (corrupt or not PNG/JPEG)")


def read_renders(
    render_dir: str | Path, num_keypoints: int, topology: str | None = None
) -> Iterator[tuple[Path, Sample]]:
    """Samples of every shard-*/labels.jsonl in a render run directory.

    With `topology` different from the renders' (their scene's), labels are derived where a rule
    exists (`topology.derivation`): face renders give the 468-point mesh and the face detectors'
    6 keypoints."""
    render_dir = Path(render_dir)
    shards = sorted(render_dir.glob("shard-*/labels.jsonl"))
    if not shards:
        raise BlazeforgeError(f"renders={render_dir}", "expected a render run directory with shard-*/labels.jsonl")
    rendered = _render_topology(render_dir)
    derive = None
    if topology and rendered and rendered != topology:
        from blazeforge.topology import derivation

        derive = derivation(rendered, topology)
        if derive is None:
            raise BlazeforgeError(f"renders={render_dir}", f"renders of {rendered} cannot give {topology} labels")
    for labels in shards:
        for sample in read_jsonl(labels, num_keypoints=None if derive else num_keypoints):
            if derive is not None:
                sample = _derived(sample, derive)
            yield _located(labels, sample)


def _located(labels: Path, sample: Sample) -> tuple[Path, Sample]:
    """(image path, the sample with its mask path) resolved against the folder of the labels file
    that names them; one line where either is not a readable image."""
    path = labels.parent / sample.image
    check_image(path)
    if sample.mask is not None:
        sample = replace(sample, mask=str(labels.parent / sample.mask))
        check_image(Path(sample.mask))
    return path, sample


def read_labels(files, num_keypoints: int) -> Iterator[tuple[Path, Sample]]:
    """Samples of labels.jsonl files (sample schema, image and mask paths relative to each file's folder)."""
    for labels in [files] if isinstance(files, (str, Path)) else files:
        labels = Path(str(labels))
        for sample in read_jsonl(labels, num_keypoints):
            yield _located(labels, sample)


def _render_topology(render_dir: Path) -> str | None:
    """The topology of a render run's labels (its config's scene), None when not recorded."""
    config = render_dir / "config.yaml"
    if not config.is_file():
        return None
    from omegaconf import OmegaConf

    return str(OmegaConf.load(config).get("scene", {}).get("topology", "") or "") or None


def _derived(sample: Sample, derive) -> Sample:
    """The sample with keypoints, mask and visibility mapped through `derive` ([K, C] -> [k, C])."""
    k = len(derive(np.zeros((sample.keypoints.shape[1], 1))))
    keypoints = (
        np.stack([derive(p) for p in sample.keypoints]) if len(sample.keypoints) else np.zeros((0, k, 3), np.float32)
    )
    mask = (
        np.stack([derive(m.astype(np.float32)) > 0.999 for m in sample.keypoint_mask])
        if len(sample.keypoints)
        else np.zeros((0, k, 3), bool)
    )
    visibility = (
        np.stack([derive(v[:, None])[:, 0] for v in sample.visibility])
        if len(sample.keypoints)
        else np.zeros((0, k), np.float32)
    )
    return replace(
        sample,
        keypoints=keypoints.astype(np.float32),
        keypoint_mask=mask,
        visibility=(visibility > 0.5).astype(np.float32),
        keypoints_camera=None,
    )


def _handedness(value) -> float:
    if isinstance(value, str):
        return {"right": 1.0, "left": 0.0}.get(value.lower(), 0.5)
    return 0.5 if value is None else float(value)


def read_coco(
    json_path: str | Path, images_dir: str | Path | None, num_keypoints: int, coco_points: tuple[int, ...] = ()
) -> Iterator[tuple[Path, Sample]]:
    """Samples of a COCO-style file of real photos (2D only): hands with 21 keypoints, faces with
    the 6 BlazeFace keypoints, bodies with BlazePose's 33 or COCO's 17 person keypoints (placed at
    `coco_points` of the K, the others unlabelled), or boxes alone.

    keypoints are [x, y, v] * K (v: 0 unlabelled, 1 labelled but occluded, 2 visible; absent: none
    labelled); z is set to 0 and masked out. bbox [x, y, w, h] (absent: the labelled keypoints'
    bounds). Optional fields: handedness ("left"/"right" or 0/1) per annotation; the schema's meta
    keys (source, subject_id, region, skin_tone, annotator, label_version) per image or on its
    first annotation. Images without annotations are read too (no instance: negatives for a
    detector).
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
        where = f"{json_path}: annotations[{i}]"
        if "image_id" not in ann:
            raise BlazeforgeError(where, "missing field 'image_id'")
        kp = np.asarray(ann.get("keypoints") or np.zeros(num_keypoints * 3), np.float32)
        if coco_points and kp.size == len(coco_points) * 3:  # COCO's 17 person keypoints
            full = np.zeros((num_keypoints, 3), np.float32)
            full[list(coco_points)] = kp.reshape(-1, 3)
            kp = full.ravel()
        if kp.size != num_keypoints * 3:
            also = f" or {len(coco_points)} x 3 (COCO's person keypoints)" if coco_points else ""
            raise BlazeforgeError(
                f"{where}.keypoints", f"has {kp.size} values, expected {num_keypoints} x 3 (x, y, v){also}"
            )
        if "bbox" not in ann and not (kp.reshape(-1, 3)[:, 2] > 0).any():
            raise BlazeforgeError(where, "has neither a bbox nor a labelled keypoint")
        by_image.setdefault(ann["image_id"], []).append({**ann, "keypoints": kp.reshape(num_keypoints, 3)})
    for image in data["images"]:
        anns = by_image.get(image["id"], [])
        path = images_dir / image["file_name"]
        check_image(path)
        kp = np.stack([a["keypoints"] for a in anns]) if anns else np.zeros((0, num_keypoints, 3), np.float32)
        labelled = kp[..., 2] > 0
        keypoints = np.concatenate([kp[..., :2], np.zeros_like(kp[..., :1])], -1)
        mask = np.stack([labelled, labelled, np.zeros_like(labelled)], -1)
        boxes = []
        for a, k, m in zip(anns, kp, labelled):
            if "bbox" in a:
                bbox = np.asarray(a["bbox"], np.float64).ravel() if isinstance(a["bbox"], list) else np.zeros(0)
                if bbox.size != 4:
                    raise BlazeforgeError(
                        f"{json_path}: annotation {a.get('id', '?')} of image {image['id']}",
                        f"bbox {a['bbox']!r} is not [x, y, width, height]",
                    )
                x, y, w, h = bbox
                boxes.append([x, y, x + w, y + h])
            else:
                boxes.append([*k[m, :2].min(0), *k[m, :2].max(0)])
        first = anns[0] if anns else {}
        sample = Sample(
            image=str(path),
            width=int(image["width"]),
            height=int(image["height"]),
            keypoints=keypoints,
            keypoint_mask=mask,
            visibility=(kp[..., 2] == 2).astype(np.float32),
            boxes=np.asarray(boxes, np.float32).reshape(-1, 4),
            presence=np.ones(len(anns), np.float32),
            handedness=np.asarray([_handedness(a.get("handedness")) for a in anns], np.float32),
            meta={
                "source": "real",
                "subject_id": f"coco-{image['id']}",
                "skin_tone": "",
                "region": "",
                **{key: str(record[key]) for record in (image, first) for key in META_KEYS if key in record},
            },
        )
        yield path, sample


def read_wider(
    annotation_path: str | Path, images_dir: str | Path | None, num_keypoints: int
) -> Iterator[tuple[Path, Sample]]:
    """Samples of a WIDER FACE annotation file (wider_face_{train,val}_bbx_gt.txt): boxes only.

    The file repeats: an image path (relative to images_dir, default the file's folder), a face
    count, then one line per face "x y w h blur expression illumination invalid occlusion pose"
    (pixels; an image with no face has count 0 and one line of zeros). Faces marked invalid are
    left out. Keypoints are unlabelled (keypoint_mask false): a detector learns their boxes only.
    """
    annotation_path = Path(annotation_path)
    if not annotation_path.is_file():
        raise BlazeforgeError(f"wider={annotation_path}", "file not found")
    images_dir = Path(images_dir) if images_dir else annotation_path.parent
    lines = annotation_path.read_text().split("\n")
    number = 0

    def next_line() -> tuple[int, str]:
        nonlocal number
        while number < len(lines) and not lines[number].strip():
            number += 1
        if number >= len(lines):
            raise BlazeforgeError(f"{annotation_path}:{number}", "ends in the middle of an image's faces")
        number += 1
        return number, lines[number - 1].strip()

    while any(line.strip() for line in lines[number:]):
        _, name = next_line()
        at, count = next_line()
        if not count.isdigit():
            raise BlazeforgeError(f"{annotation_path}:{at}", f"expected the face count of {name}, got {count!r}")
        boxes = []
        for _ in range(max(int(count), 1)):  # a count of 0 is followed by one line of zeros
            at, row = next_line()
            values = row.split()
            try:
                numbers = [float(v) for v in values[:10]]
            except ValueError:
                numbers = []
            if len(numbers) < 4:
                raise BlazeforgeError(
                    f"{annotation_path}:{at}",
                    f"expected 'x y w h blur expression illumination invalid occlusion pose', got {row!r}",
                )
            if int(count) and not (len(numbers) > 7 and numbers[7] == 1):
                x, y, w, h = numbers[:4]
                boxes.append([x, y, x + w, y + h])
        path = images_dir / name
        check_image(path)
        height, width = cv2.imread(str(path), cv2.IMREAD_UNCHANGED).shape[:2]
        n = len(boxes)
        yield (
            path,
            Sample(
                image=str(path),
                width=width,
                height=height,
                keypoints=np.zeros((n, num_keypoints, 3), np.float32),
                keypoint_mask=np.zeros((n, num_keypoints, 3), bool),
                visibility=np.zeros((n, num_keypoints), np.float32),
                boxes=np.asarray(boxes, np.float32).reshape(-1, 4),
                presence=np.ones(n, np.float32),
                handedness=np.full(n, 0.5, np.float32),
                meta={"source": "real", "subject_id": f"wider-{name}"},
            ),
        )


PROBLEMS = ("degenerate box", "box outside the image")


def check_instances(sample: Sample, where: str, policy: str) -> tuple[Sample, dict]:
    """(sample, counts): boxes clipped to the image; instances with a degenerate box (x1 <= x0,
    y1 <= y0 or not finite) or a box wholly outside the image skipped (policy "skip", counted by
    problem) or reported as a one-line BlazeforgeError naming `where` (policy "error")."""
    if policy not in ("skip", "error"):
        raise BlazeforgeError("datasets.invalid", f"expected skip | error, got {policy!r}")
    boxes = sample.boxes.astype(np.float64)
    counts = {problem: 0 for problem in PROBLEMS}
    keep = np.ones(len(boxes), bool)
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        if not (np.isfinite([x0, y0, x1, y1]).all() and x1 > x0 and y1 > y0):
            problem = "degenerate box"
        elif x1 <= 0 or y1 <= 0 or x0 >= sample.width or y0 >= sample.height:
            problem = "box outside the image"
        else:
            continue
        if policy == "error":
            raise BlazeforgeError(
                where,
                f"instance {i}: {problem} {[round(float(v), 2) for v in (x0, y0, x1, y1)]} "
                f"(expected x0 < x1, y0 < y1 inside {sample.width}x{sample.height}); "
                f"datasets.invalid=skip leaves such instances out",
            )
        counts[problem] += 1
        keep[i] = False
    clipped = np.clip(boxes, 0, [sample.width, sample.height, sample.width, sample.height])
    counts["clipped"] = int((np.abs(clipped - boxes).max(1) > 1e-6)[keep].sum()) if len(boxes) else 0
    pick = lambda a: None if a is None else a[keep]  # noqa: E731
    out = Sample(
        image=sample.image,
        width=sample.width,
        height=sample.height,
        keypoints=sample.keypoints[keep],
        keypoint_mask=sample.keypoint_mask[keep],
        visibility=sample.visibility[keep],
        boxes=clipped[keep].astype(np.float32),
        presence=sample.presence[keep],
        handedness=sample.handedness[keep],
        keypoints_camera=pick(sample.keypoints_camera),
        auxiliary=pick(sample.auxiliary),
        mask=sample.mask if keep.all() else None,  # its instance numbers would no longer hold
        camera=sample.camera,
        cuboid=None if sample.cuboid is None else {k: v[keep] for k, v in sample.cuboid.items()},
        plane=sample.plane,
        meta=sample.meta,
    )
    return out, counts
