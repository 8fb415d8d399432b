"""`blazeforge annotate agree`: how far annotators land from each other on the images they both labelled.

    blazeforge annotate agree labels=[alice.jsonl,bob.jsonl] topology=face_mesh
    blazeforge annotate agree labels=outputs/annotate/.../annotations.jsonl     # one file, meta.annotator

Records are grouped by image (its resolved path) and annotator (meta.annotator, else the labels
file's name). On every image two annotators labelled, their instances are matched by box IoU
(`geometry.detections.match_instances`), and each matched pair's error is the mean 2D distance over the points both
labelled, in % of the topology's unit (IOD, palm size, torso size) on the first annotator's
points, as `evaluate fairness` measures a model against a label. Writes metrics.json: `agreement`
(the mean over every matched pair of instances: the annotators' disagreement, % of the unit),
`pairs` {"a / b": {nme, instances}} in the annotators' name order, `per_point` {name: % of the
unit}, the counts, and `topology`; `evaluate fairness human_variance=RUN_DIR` reads `agreement`
from it as the human variance it judges group spreads against.
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from blazeforge.datasets.schema import Sample, read_jsonl
from blazeforge.errors import BlazeforgeError
from blazeforge.evaluation.metrics import natural_key
from blazeforge.geometry.detections import match_instances
from blazeforge.topology import Topology


def by_image(files: list[Path], topo: Topology) -> dict[str, dict[str, Sample]]:
    """{image path: {annotator: sample}} of labels files; one line where an annotator labelled an
    image twice."""
    out: dict[str, dict[str, Sample]] = defaultdict(dict)
    for path in files:
        for sample in read_jsonl(path, topo.num_keypoints):
            annotator = sample.meta.get("annotator") or path.stem
            image = str((path.parent / sample.image).resolve())
            if annotator in out[image]:
                raise BlazeforgeError(path, f"annotator {annotator!r} labelled {image} twice; expected one label each")
            out[image][annotator] = sample
    return out


def pair_errors(first: Sample, second: Sample, topo: Topology) -> list[np.ndarray]:
    """Per matched instance pair (`match_instances`) with a point both labelled: [K] distances in %
    of the unit on `first`'s points (NaN where either left the point unlabelled)."""
    out = []
    for i, j in match_instances(first.boxes, second.boxes)[0]:
        if j is None:
            continue
        both = first.keypoint_mask[i, :, :2].all(1) & second.keypoint_mask[j, :, :2].all(1)
        a, b = first.keypoints[i, :, :2], second.keypoints[j, :, :2]
        distance = 100 * np.linalg.norm(a - b, axis=1) / max(topo.size(a), 1e-6)
        if both.any():
            out.append(np.where(both, distance, np.nan))
    return out


def agree(files: list[Path], topo: Topology) -> dict:
    """The agreement figures of the module docstring."""
    images = by_image(files, topo)
    pairs: dict[tuple[str, str], list[np.ndarray]] = defaultdict(list)
    doubly = 0
    for labels in images.values():
        names = sorted(labels, key=natural_key)
        doubly += len(names) >= 2
        for a, b in itertools.combinations(names, 2):
            pairs[(a, b)] += pair_errors(labels[a], labels[b], topo)
    errors = [e for values in pairs.values() for e in values]
    if not errors:
        raise BlazeforgeError(
            f"annotate.labels={','.join(map(str, files))}",
            f"no instance labelled by two annotators ({doubly} images have two or more); expected doubly labelled ones",
        )
    per_point = np.nanmean(np.stack(errors), axis=0)
    return {
        "topology": topo.name,
        "unit": topo.unit,
        "agreement": round(float(np.mean([np.nanmean(e) for e in errors])), 3),
        "images": len(images),
        "doubly_labelled": doubly,
        "instances": len(errors),
        "pairs": {
            f"{a} / {b}": {"nme": round(float(np.mean([np.nanmean(e) for e in v])), 3), "instances": len(v)}
            for (a, b), v in pairs.items()
            if v
        },
        "per_point": {name: round(float(v), 3) for name, v in zip(topo.names, per_point) if np.isfinite(v)},
    }


def human_variance(value, topology: str) -> tuple[float, str]:
    """(% of the unit, where it came from) of `evaluate.human_variance`: a number, or an `annotate
    agree` run directory whose agreement on `topology` labels it reads."""
    try:
        return float(value), "evaluate.human_variance"
    except (TypeError, ValueError):
        pass
    path = Path(str(value)) / "metrics.json"
    metrics = json.loads(path.read_text()) if path.is_file() else {}
    if "agreement" not in metrics:
        raise BlazeforgeError(f"evaluate.human_variance={value}", "expected a number (% IOD) or an annotate agree run")
    if metrics["topology"] != topology:
        raise BlazeforgeError(path, f"agreement on {metrics['topology']} labels; expected {topology}")
    return float(metrics["agreement"]), f"annotate agree on {metrics['instances']} doubly labelled instances ({value})"
