"""Labels in and out of other annotation tools: COCO keypoints, CVAT for images 1.1 XML, Label
Studio's JSON export, and our own schema (labels.jsonl).

    samples = read("person_keypoints.json", "coco", topology.get("pose"))
    write(samples, "annotations.xml", "cvat", topology.get("pose"))

Every format keeps x and y to 1/1000 pixel (the schema's precision) and which points are labelled
and visible; what else each keeps:

| format      | visibility                               | z   | handedness           | meta                |
|-------------|------------------------------------------|-----|----------------------|---------------------|
| schema      | [N, K] 0 / 1                             | yes | yes                  | all                 |
| coco        | v: 0 unlabelled, 1 occluded, 2 visible   | no  | an annotation field  | image fields        |
| cvat        | outside="1" unlabelled, occluded="1"     | no  | a skeleton attribute | skeleton attributes |
| labelstudio | a per-point choice: visible / occluded   | no  | a per-point choice   | the task's data     |

Boxes in CVAT and Label Studio are the bounds of each instance's labelled points. Image names must
stay inside the folder they are relative to: absolute paths and `..` are refused (one line naming
the file; our own labels.jsonl may point anywhere). A file whose points are not the topology's
(other names or another count) is refused
with one line naming both.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qs, quote, urlparse

import numpy as np

from blazeforge.datasets.schema import META_KEYS, Sample, append_jsonl, read_jsonl
from blazeforge.errors import BlazeforgeError
from blazeforge.topology import Topology

LOCAL_FILES = "/data/local-files/?d="  # Label Studio's URL of a file under its local-files root
LS_POINTS, LS_VISIBILITY, LS_INSTANCE, LS_HANDEDNESS = "keypoints", "visibility", "instance", "handedness"


def safe_name(name: str, where: str) -> str:
    """`name` as a relative POSIX path that stays inside its folder; one line otherwise."""
    path = PurePosixPath(str(name).replace("\\", "/"))
    if not str(name) or path.is_absolute() or ".." in path.parts:
        raise BlazeforgeError(where, f"image path {name!r} must be relative to the image folder, without '..'")
    return str(path)


def _labelled_box(points: np.ndarray, labelled: np.ndarray) -> list[float]:
    if not labelled.any():
        return [0.0, 0.0, 0.0, 0.0]
    xy = points[labelled, :2]
    return [*map(float, xy.min(0)), *map(float, xy.max(0))]


def _sample(image, width, height, instances, meta) -> Sample:
    """A Sample from [(points [K, 2], labelled [K], visible [K], handedness)] instances."""
    k = len(instances[0][0]) if instances else 0
    n = len(instances)
    points = np.zeros((n, k, 3), np.float32)
    mask = np.zeros((n, k, 3), bool)
    for i, (xy, labelled, _, _) in enumerate(instances):
        points[i, :, :2] = np.where(labelled[:, None], xy, 0)
        mask[i, :, :2] = labelled[:, None]
    return Sample(
        image=image,
        width=int(width),
        height=int(height),
        keypoints=points,
        keypoint_mask=mask,
        visibility=np.asarray([v & m for _, m, v, _ in instances], np.float32).reshape(n, k),
        boxes=np.asarray([_labelled_box(p, m) for p, m, _, _ in instances], np.float32).reshape(n, 4),
        presence=np.ones(n, np.float32),
        handedness=np.asarray([h for *_, h in instances], np.float32).reshape(n),
        meta=meta,
    )


def _check_names(names: list[str], topo: Topology, where: str) -> None:
    if list(names) == list(topo.names):
        return
    if topo.coco_points and list(names) == [topo.names[i] for i in topo.coco_points]:
        return  # COCO's 17 person keypoints, placed at the topology's coco_points
    raise BlazeforgeError(
        where,
        f"its {len(names)} points ({', '.join(names[:3])}, ...) are not the {topo.name} topology's "
        f"{topo.num_keypoints} ({', '.join(topo.names[:3])}, ...)",
    )


def _handedness_name(value: float) -> str | None:
    return {1.0: "right", 0.0: "left"}.get(float(value))


def _handedness_value(name) -> float:
    return {"right": 1.0, "left": 0.0}.get(str(name).lower(), 0.5)


# ---- our schema ------------------------------------------------------------------------------------


def read_schema(path: Path, topo: Topology) -> list[Sample]:
    return list(read_jsonl(path, topo.num_keypoints))


def write_schema(samples: list[Sample], path: Path, topo: Topology) -> None:
    path.write_text("")
    for sample in samples:
        append_jsonl(path, sample)


# ---- COCO keypoints --------------------------------------------------------------------------------


def read_coco_file(path: Path, topo: Topology) -> list[Sample]:
    from blazeforge.datasets.sources import read_coco

    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise BlazeforgeError(path, f"not valid JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise BlazeforgeError(path, "expected a COCO object with 'images' and 'annotations'")
    for category in data.get("categories", []):
        if "keypoints" in category:
            _check_names(list(category["keypoints"]), topo, f"{path}: category {category.get('name', '?')!r}")
    for image in data["images"]:
        safe_name(image.get("file_name", ""), f"{path}: image {image.get('id', '?')}")
    folder = path.parent
    samples = []
    for image_path, sample in read_coco(path, folder, topo.num_keypoints, topo.coco_points):
        sample.image = str(Path(image_path).relative_to(folder))
        samples.append(sample)
    return samples


def write_coco(samples: list[Sample], path: Path, topo: Topology) -> None:
    images, annotations = [], []
    for image_id, sample in enumerate(samples, 1):
        images.append(
            {"id": image_id, "file_name": sample.image, "width": sample.width, "height": sample.height, **sample.meta}
        )
        for i in range(sample.num_instances):
            labelled = sample.keypoint_mask[i, :, :2].all(1)
            v = np.where(labelled, np.where(sample.visibility[i] > 0.5, 2, 1), 0)
            xy = np.where(labelled[:, None], np.round(sample.keypoints[i, :, :2].astype(np.float64), 3), 0)
            x0, y0, x1, y1 = (round(float(c), 3) for c in sample.boxes[i])
            record = {
                "id": len(annotations) + 1,
                "image_id": image_id,
                "category_id": 1,
                "keypoints": [c for (x, y), vis in zip(xy.tolist(), v.tolist()) for c in (x, y, vis)],
                "num_keypoints": int(labelled.sum()),
                "bbox": [x0, y0, round(x1 - x0, 3), round(y1 - y0, 3)],
                "area": round((x1 - x0) * (y1 - y0), 3),
                "iscrowd": 0,
            }
            if _handedness_name(sample.handedness[i]):
                record["handedness"] = _handedness_name(sample.handedness[i])
            annotations.append(record)
    category = {
        "id": 1,
        "name": topo.name,
        "supercategory": topo.name,
        "keypoints": list(topo.names),
        "skeleton": [[i + 1, j + 1] for i, j in topo.edges],
    }
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": [category]}))


# ---- CVAT for images 1.1 ------------------------------------------------------------------------


def read_cvat(path: Path, topo: Topology) -> list[Sample]:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise BlazeforgeError(path, f"not valid XML ({e})") from None
    if root.tag != "annotations":
        raise BlazeforgeError(path, "expected CVAT for images XML (<annotations> with <image> elements)")
    labels = root.findall("meta/task/labels/label") + root.findall("meta/project/labels/label")
    skeletons = {label.findtext("name") for label in labels if label.findtext("type") == "skeleton"}
    for name in skeletons:
        children = [label.findtext("name") for label in labels if label.findtext("parent") == name]
        _check_names(children, topo, f"{path}: skeleton {name!r}")
    index = {name: k for k, name in enumerate(topo.names)}
    samples = []
    for image in root.iter("image"):
        where = f"{path}: image {image.get('name')!r}"
        name = safe_name(image.get("name", ""), where)
        instances, meta = [], {}
        for skeleton in image.findall("skeleton"):
            xy = np.zeros((topo.num_keypoints, 2))
            labelled = np.zeros(topo.num_keypoints, bool)
            visible = np.zeros(topo.num_keypoints, bool)
            for point in skeleton.findall("points"):
                label = point.get("label")
                if label not in index:
                    raise BlazeforgeError(where, f"point {label!r} is not one of the {topo.name} topology's")
                k = index[label]
                if point.get("outside", "0") == "1":
                    continue
                try:
                    xy[k] = [float(c) for c in point.get("points", "").split(";")[0].split(",")]
                except ValueError:
                    raise BlazeforgeError(
                        where, f"point {label!r} has points={point.get('points')!r}, expected 'x,y'"
                    ) from None
                labelled[k], visible[k] = True, point.get("occluded", "0") != "1"
            attributes = {a.get("name"): a.text or "" for a in skeleton.findall("attribute")}
            meta = meta or {key: attributes[key] for key in META_KEYS if key in attributes}
            instances.append((xy, labelled, visible, _handedness_value(attributes.get("handedness"))))
        samples.append(_sample(name, image.get("width"), image.get("height"), instances, meta))
    return samples


def _svg(topo: Topology) -> str:
    """The skeleton's drawing CVAT keeps with its label: points on a circle, edges between them."""
    angles = np.linspace(0, 2 * np.pi, topo.num_keypoints, endpoint=False)
    at = [(50 + 40 * np.cos(a), 50 + 40 * np.sin(a)) for a in angles]
    parts = [
        f'<line x1="{at[i][0]:.2f}" y1="{at[i][1]:.2f}" x2="{at[j][0]:.2f}" y2="{at[j][1]:.2f}" stroke="black" '
        f'data-type="edge" data-node-from="{i + 1}" stroke-width="0.5" data-node-to="{j + 1}"></line>'
        for i, j in topo.edges
    ]
    parts += [
        f'<circle r="1.5" stroke="black" fill="#b3b3b3" cx="{x:.2f}" cy="{y:.2f}" stroke-width="0.1" '
        f'data-type="element node" data-element-id="{k + 1}" data-node-id="{k + 1}" '
        f'data-label-name="{name}"></circle>'
        for k, ((x, y), name) in enumerate(zip(at, topo.names))
    ]
    return "".join(parts)


def write_cvat(samples: list[Sample], path: Path, topo: Topology) -> None:
    root = ET.Element("annotations")
    ET.SubElement(root, "version").text = "1.1"
    task = ET.SubElement(ET.SubElement(root, "meta"), "task")
    ET.SubElement(task, "name").text = f"blazeforge {topo.name}"
    ET.SubElement(task, "size").text = str(len(samples))
    ET.SubElement(task, "mode").text = "annotation"
    labels = ET.SubElement(task, "labels")
    skeleton_label = ET.SubElement(labels, "label")
    ET.SubElement(skeleton_label, "name").text = topo.name
    ET.SubElement(skeleton_label, "type").text = "skeleton"
    attributes = ET.SubElement(skeleton_label, "attributes")
    for key in ("handedness", *META_KEYS):
        attribute = ET.SubElement(attributes, "attribute")
        ET.SubElement(attribute, "name").text = key
        ET.SubElement(attribute, "mutable").text = "False"
        ET.SubElement(attribute, "input_type").text = "text"
    ET.SubElement(skeleton_label, "svg").text = _svg(topo)
    for name in topo.names:
        label = ET.SubElement(labels, "label")
        ET.SubElement(label, "name").text = name
        ET.SubElement(label, "type").text = "points"
        ET.SubElement(label, "parent").text = topo.name
    for image_id, sample in enumerate(samples):
        image = ET.SubElement(
            root, "image", id=str(image_id), name=sample.image, width=str(sample.width), height=str(sample.height)
        )
        source = "auto" if sample.meta.get("source") == "prelabel" else "manual"
        for i in range(sample.num_instances):
            skeleton = ET.SubElement(image, "skeleton", label=topo.name, source=source, z_order="0")
            labelled = sample.keypoint_mask[i, :, :2].all(1)
            for k, name in enumerate(topo.names):
                x, y = (float(c) for c in sample.keypoints[i, k, :2]) if labelled[k] else (0.0, 0.0)
                ET.SubElement(
                    skeleton,
                    "points",
                    label=name,
                    source=source,
                    outside="0" if labelled[k] else "1",
                    occluded="1" if labelled[k] and sample.visibility[i, k] <= 0.5 else "0",
                    points=f"{x:.3f},{y:.3f}",
                )
            values = {"handedness": _handedness_name(sample.handedness[i]) or "", **sample.meta}
            for key, value in values.items():
                if value:
                    ET.SubElement(skeleton, "attribute", name=key).text = str(value)
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


# ---- Label Studio -----------------------------------------------------------------------------------


def label_config(topo: Topology, max_instances: int = 4) -> str:
    """Label Studio's labelling config for a topology: one keypoint label per point, and per point
    a visibility choice, the instance it belongs to and (hands) the hand's side."""
    labels = "".join(f'<Label value="{name}"/>' for name in topo.names)
    instances = "".join(f'<Choice value="{i}"/>' for i in range(1, max_instances + 1))
    sides = (
        f'<Choices name="{LS_HANDEDNESS}" toName="image" perRegion="true" choice="single">'
        '<Choice value="left"/><Choice value="right"/></Choices>'
        if topo.name == "hand"
        else ""
    )
    return (
        '<View><Image name="image" value="$image" zoom="true"/>'
        f'<KeyPointLabels name="{LS_POINTS}" toName="image" smart="false">{labels}</KeyPointLabels>'
        f'<Choices name="{LS_VISIBILITY}" toName="image" perRegion="true" choice="single">'
        '<Choice value="visible"/><Choice value="occluded"/></Choices>'
        f'<Choices name="{LS_INSTANCE}" toName="image" perRegion="true" choice="single">{instances}</Choices>'
        f"{sides}</View>"
    )


def ls_result(sample: Sample, topo: Topology) -> list[dict]:
    """A sample's points as Label Studio result items (x, y in percent of the image)."""
    result = []
    for i in range(sample.num_instances):
        labelled = sample.keypoint_mask[i, :, :2].all(1)
        for k in np.flatnonzero(labelled):
            x, y = (float(c) for c in sample.keypoints[i, k, :2])
            value = {"x": 100 * x / sample.width, "y": 100 * y / sample.height, "width": 0.5}
            common = {
                "id": f"i{i}k{k}",
                "to_name": "image",
                "original_width": sample.width,
                "original_height": sample.height,
                "image_rotation": 0,
            }
            result.append(
                {
                    **common,
                    "type": "keypointlabels",
                    "from_name": LS_POINTS,
                    "value": {**value, "keypointlabels": [topo.names[k]]},
                }
            )
            visible = "visible" if sample.visibility[i, k] > 0.5 else "occluded"
            result.append(
                {**common, "type": "choices", "from_name": LS_VISIBILITY, "value": {**value, "choices": [visible]}}
            )
            result.append(
                {**common, "type": "choices", "from_name": LS_INSTANCE, "value": {**value, "choices": [str(i + 1)]}}
            )
            side = _handedness_name(sample.handedness[i])
            if topo.name == "hand" and side:
                result.append(
                    {**common, "type": "choices", "from_name": LS_HANDEDNESS, "value": {**value, "choices": [side]}}
                )
    return result


def ls_task(sample: Sample, folder: str = "") -> dict:
    """A Label Studio task of a sample: the image's local-files URL (`folder`/image under Label
    Studio's document root), our path, size and meta."""
    data = {
        "image": LOCAL_FILES + quote(str(PurePosixPath(folder, sample.image))),
        "path": sample.image,
        "width": sample.width,
        "height": sample.height,
        "meta": dict(sample.meta),
    }
    return {"data": data}


def sample_from_ls_result(result: list, data: dict, topo: Topology, where: str, meta: dict) -> Sample:
    """The Sample that a Label Studio result list (one annotation or prediction) labels."""
    index = {name: k for k, name in enumerate(topo.names)}
    regions: dict = {}
    width, height = data.get("width"), data.get("height")
    for item in result:
        if not isinstance(item, dict) or "value" not in item:
            raise BlazeforgeError(where, "expected result items with 'value'")
        region = regions.setdefault(item.get("id"), {})
        width = width or item.get("original_width")
        height = height or item.get("original_height")
        value = item["value"]
        if item.get("type") == "keypointlabels":
            name = (value.get("keypointlabels") or [None])[0]
            if name not in index:
                raise BlazeforgeError(where, f"point {name!r} is not one of the {topo.name} topology's")
            region.update(k=index[name], x=float(value["x"]), y=float(value["y"]))
        elif item.get("type") == "choices":
            region[item.get("from_name")] = (value.get("choices") or [None])[0]
    if not width or not height:
        raise BlazeforgeError(where, "the image size is unknown (no width, height or original_width)")
    by_instance: dict = {}
    for region in regions.values():
        if "k" in region:
            by_instance.setdefault(int(region.get(LS_INSTANCE) or 1), []).append(region)
    instances = []
    for number in sorted(by_instance):
        xy = np.zeros((topo.num_keypoints, 2))
        labelled = np.zeros(topo.num_keypoints, bool)
        visible = np.zeros(topo.num_keypoints, bool)
        side = None
        for region in by_instance[number]:
            k = region["k"]
            xy[k] = [region["x"] * width / 100, region["y"] * height / 100]
            labelled[k] = True
            visible[k] = region.get(LS_VISIBILITY) != "occluded"
            side = side or region.get(LS_HANDEDNESS)
        instances.append((xy, labelled, visible, _handedness_value(side)))
    return _sample(image_name(data, where), width, height, instances, meta)


def image_name(data: dict, where: str) -> str:
    """Our relative image path of a Label Studio task's data (its `path`, else the local-files URL's)."""
    if data.get("path"):
        return safe_name(data["path"], where)
    url = str(data.get("image", ""))
    query = parse_qs(urlparse(url).query)
    return safe_name(query["d"][0] if "d" in query else PurePosixPath(urlparse(url).path).name, where)


def read_labelstudio(path: Path, topo: Topology, which: str = "annotations") -> list[Sample]:
    """Samples of a Label Studio JSON export: one per annotation (meta.annotator: who completed it;
    meta.lead_time: seconds spent), or per prediction with which="predictions" (meta.source
    prelabel, meta.model_version)."""
    try:
        tasks = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise BlazeforgeError(path, f"not valid JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(tasks, list):
        raise BlazeforgeError(path, "expected Label Studio's JSON export: a list of tasks")
    return samples_from_tasks(tasks, topo, str(path), which)


def samples_from_tasks(tasks: list, topo: Topology, where: str, which: str = "annotations") -> list[Sample]:
    samples = []
    for t, task in enumerate(tasks):
        data = task.get("data", {}) if isinstance(task, dict) else {}
        for entry in task.get(which, []) if isinstance(task, dict) else []:
            if not isinstance(entry, dict) or entry.get("was_cancelled"):
                continue
            meta = dict(data.get("meta") or {})
            if which == "predictions":
                meta.update(source="prelabel", model_version=str(entry.get("model_version", "")))
            else:
                by = entry.get("completed_by")
                if by is not None:
                    meta["annotator"] = str(by.get("email", by.get("id")) if isinstance(by, dict) else by)
                if entry.get("lead_time") is not None:
                    meta["lead_time"] = f"{float(entry['lead_time']):.1f}"
            samples.append(sample_from_ls_result(entry.get("result", []), data, topo, f"{where}: task {t}", meta))
    return samples


def write_labelstudio(samples: list[Sample], path: Path, topo: Topology) -> None:
    """A Label Studio import file: one task per sample, its labels as predictions where they are
    prelabels (meta.source=prelabel), else as annotations."""
    tasks = []
    for sample in samples:
        task = ls_task(sample)
        entry = {"result": ls_result(sample, topo)}
        if sample.meta.get("source") == "prelabel":
            task["predictions"] = [{**entry, "model_version": sample.meta.get("model_version", "")}]
        else:
            task["annotations"] = [entry]
        tasks.append(task)
    path.write_text(json.dumps(tasks))


# ---- the table -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Format:
    """An interchange format: its reader (path, topology) -> samples and writer (samples, path, topology)."""

    read: Callable[[Path, Topology], list[Sample]]
    write: Callable[[list[Sample], Path, Topology], None]
    suffix: str


FORMATS = {
    "schema": Format(read_schema, write_schema, ".jsonl"),
    "coco": Format(read_coco_file, write_coco, ".json"),
    "cvat": Format(read_cvat, write_cvat, ".xml"),
    "labelstudio": Format(read_labelstudio, write_labelstudio, ".json"),
}


def format_of(name: str) -> Format:
    """The Format called `name`; one line naming the formats otherwise."""
    if name not in FORMATS:
        raise BlazeforgeError("annotate.format", f"expected {' | '.join(FORMATS)}, got {name!r}")
    return FORMATS[name]


def read(path: str | Path, fmt: str, topo: Topology) -> list[Sample]:
    """The samples of a file in format `fmt` (FORMATS), image paths relative to its folder."""
    path = Path(path)
    if not path.is_file():
        raise BlazeforgeError(path, "file not found")
    return format_of(fmt).read(path, topo)


def write(samples: list[Sample], path: str | Path, fmt: str, topo: Topology) -> Path:
    """Write samples (image paths relative to the file's folder) in format `fmt`; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    format_of(fmt).write(samples, path, topo)
    return path
