"""`blazeforge annotate prelabel`: the runtime's models label real images for people to refine.

    blazeforge annotate prelabel images=DIR topology=face_mesh [models=mediapipe|EXPORT_DIR,...]

Every image under `images` (PNG / JPEG, recursively, in name order; for a render run directory its
frames only, their labels ignored) is labelled by the runtime's detector + landmark pipeline
(`ml_backend.Prelabeler`, so crops are MediaPipe's) and again on its mirror image. The mirror's
points, flipped back and their sides swapped (the topology's flip pairs), should land where the
first ones did; how far they land measures how unsure the model is. An image's uncertainty is the
largest over its instances of that mean point distance, in % of the topology's unit (IOD, palm
size, torso size); an instance found in one view only counts UNMATCHED (100%).

Writes prelabels.jsonl in the run directory (sample schema, image paths relative to it, x and y
labelled, z not), sorted for people to look at: most uncertain first, images where nothing was
found last. Each record's meta: source=prelabel, model_version, uncertainty (% of the unit, or
"none" where nothing was found), priority (1 = first). Records are appended as images are done, so
a killed run loses at most the image in flight; re-running on the same run_dir labels only the
images not yet in the file, then sorts the whole file again.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from blazeforge.annotation.ml_backend import Prelabeler
from blazeforge.console import progress
from blazeforge.datasets.schema import Sample, append_jsonl, complete_lines, read_jsonl
from blazeforge.errors import BlazeforgeError
from blazeforge.geometry.detections import match_instances
from blazeforge.topology import Topology

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
UNMATCHED = 100.0  # % of the unit: an instance one view found and the other did not


def image_files(folder: str | Path, what: str = "annotate.images") -> list[Path]:
    """The images under `folder`, in name order: a render run directory's frames (shard-*/frames/),
    else every PNG / JPEG below it. One line naming the `what` key where there is none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BlazeforgeError(f"{what}={folder}", "expected a folder of images")
    renders = sorted(folder.glob("shard-*/frames"))
    found = (
        [p for frames in renders for p in sorted(frames.iterdir())]
        if renders
        else sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    )
    found = [p for p in found if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
    if not found:
        raise BlazeforgeError(f"{what}={folder}", f"no {' / '.join(IMAGE_SUFFIXES)} images in it")
    return found


def mirrored_back(sample: Sample, topo: Topology) -> Sample:
    """A prelabel of the mirrored image in the original image's frame: x -> width - x, sides swapped."""
    perm = topo.flip_permutation()
    keypoints = sample.keypoints[:, perm].copy()
    keypoints[..., 0] = sample.width - keypoints[..., 0]
    boxes = sample.boxes.copy()
    boxes[:, [0, 2]] = sample.width - sample.boxes[:, [2, 0]]
    return replace(sample, keypoints=keypoints, visibility=sample.visibility[:, perm], boxes=boxes)


def disagreement(first: Sample, second: Sample, topo: Topology) -> list[float]:
    """Per instance of either prelabel of one image: the mean 2D distance between the matched
    instances' points (`match_instances`), % of the unit measured on `first`'s; UNMATCHED for an
    instance the other prelabel lacks."""
    pairs, unmatched = match_instances(first.boxes, second.boxes)
    out = []
    for i, j in pairs:
        if j is None:
            out.append(UNMATCHED)
            continue
        a, b = first.keypoints[i, :, :2], second.keypoints[j, :, :2]
        distance = np.linalg.norm(a - b, axis=1).mean()
        out.append(min(UNMATCHED, float(100 * distance / max(topo.size(a), 1e-6))))
    return out + [UNMATCHED] * len(unmatched)


def uncertainty(prelabeler: Prelabeler, rgb: np.ndarray, name: str, topo: Topology) -> tuple[Sample, float | None]:
    """(the prelabel of `rgb`, its uncertainty in % of the unit; None where neither view found anything)."""
    sample, _ = prelabeler.label(rgb, name, topo.num_keypoints)
    mirror, _ = prelabeler.label(np.ascontiguousarray(rgb[:, ::-1]), name, topo.num_keypoints)
    values = disagreement(sample, mirrored_back(mirror, topo), topo)
    return sample, max(values) if values else None


def _order(samples: list[Sample]) -> list[Sample]:
    """Most uncertain first, nothing found last (by name among equals); meta.priority = rank from 1."""

    def key(sample: Sample):
        value = sample.meta["uncertainty"]
        return (value == "none", -float(value) if value != "none" else 0.0, sample.image)

    return [replace(s, meta={**s.meta, "priority": str(rank)}) for rank, s in enumerate(sorted(samples, key=key), 1)]


def prelabel(files: list[Path], topo: Topology, run_dir: Path, models="mediapipe", max_instances: int = 2) -> dict:
    """Prelabel image files (`image_files`) into run_dir/prelabels.jsonl (see the module docstring)."""
    out = Path(run_dir) / "prelabels.jsonl"
    complete_lines(out)
    done = {s.image for s in read_jsonl(out, topo.num_keypoints)} if out.is_file() else set()
    names = [os.path.relpath(p.resolve(), Path(run_dir).resolve()) for p in files]
    todo = [(p, n) for p, n in zip(files, names) if n not in done]
    if todo:
        prelabeler = Prelabeler(topo.name, models, max_instances)
        with progress("prelabel", len(todo), "images") as advance:
            for path, name in todo:
                image = cv2.imread(str(path))
                if image is None:
                    raise BlazeforgeError(path, "not a readable image")
                sample, value = uncertainty(prelabeler, cv2.cvtColor(image, cv2.COLOR_BGR2RGB), name, topo)
                sample.meta["uncertainty"] = "none" if value is None else f"{value:.2f}"
                append_jsonl(out, sample)
                advance()
    samples = _order(list(read_jsonl(out, topo.num_keypoints)))
    partial = out.with_suffix(".sorting")
    partial.write_text("".join(json.dumps(s.to_json(), separators=(",", ":")) + "\n" for s in samples))
    os.replace(partial, out)  # a kill here leaves the old file whole
    values = np.array([float(s.meta["uncertainty"]) for s in samples if s.meta["uncertainty"] != "none"])
    return {
        "labels": str(out),
        "images": len(samples),
        "instances": int(sum(s.num_instances for s in samples)),
        "images_found": len(values),
        "uncertainty_median": round(float(np.median(values)), 2) if len(values) else None,
        "unit": topo.unit,
        "model_version": samples[0].meta["model_version"] if samples else None,
        "first": samples[0].image if samples else None,
    }
