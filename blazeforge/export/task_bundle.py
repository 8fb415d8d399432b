"""`blazeforge export format=task`: MediaPipe Tasks bundles of a pipeline's two models.

A `.task` file is a zip of the pipeline's .tflite files under the names MediaPipe Tasks looks
for (`BUNDLES`); each file carries the TFLite metadata the Tasks read (`export.metadata`). The
models are those `run models=` takes (`runtime.models.resolve`): our export run directories for
the roles they fill, MediaPipe's published files for the others, so a bundle may hold our
landmark model with MediaPipe's detector. The Tasks read a model's outputs by position and decode
a detector with their own anchors, so each of our files must give the published file's output
shapes in its order, and a detector the published anchors: anything else is a one-line error.
FaceLandmarker reads a 478-point landmark model, which MediaPipe's wheel lacks:
`with_face_landmarks` makes one from the face mesh and iris models (`export.face_landmarks`).

With verification (export.verify, on by default) MediaPipe Tasks' own Python API runs the bundle
(`mediapipe_client`, in its own venv) on export.images (default: the photos packages ship) and
the bundle's models run in our runtime on the same images, cutting their crops as the Task does
(`Bundle.task_roi`); the figures are the distance between the two, in % of the topology's unit
(palm size, IOD, torso size).

    blazeforge export format=task pipeline=hands models=outputs/export/...
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from blazeforge import zoo
from blazeforge.errors import BlazeforgeError
from blazeforge.export.metadata import ModelInfo, with_metadata
from blazeforge.runs import read_sidecar
from blazeforge.runtime.models import ROLES, is_published, resolve
from blazeforge.topology import get as get_topology


@dataclass(frozen=True)
class Bundle:
    """One MediaPipe Task's bundle: its class in MediaPipe Tasks, the file name MediaPipe publishes
    it under, {role: the name the Task reads inside the zip} (detector first), its topology, and
    where the Task's detection-to-ROI rule departs from the published graph's (arguments of
    `geometry.detections.detection_roi`)."""

    task: str
    file: str
    members: dict[str, str]
    topology: str
    task_roi: dict = field(default_factory=dict)


# HandDetectorGraph (mediapipe 0.10.21) sets DetectionsToRectsCalculator's
# `rotation_vector_target_angle` to 90; that field is in radians (the legacy palm graph sets
# `rotation_vector_target_angle_degrees: 90`), so every hand crop HandLandmarker cuts from a palm
# detection is turned by 90 - 28.5 pi = 0.465 rad (26.6 degrees) from the published rule's.
TASKS_HAND_TARGET_ANGLE = 90.0


BUNDLES = {
    "hands": Bundle(
        "HandLandmarker",
        "hand_landmarker.task",
        {"palm_detector": "hand_detector.tflite", "hand_landmarks": "hand_landmarks_detector.tflite"},
        "hand",
        {"target_angle": TASKS_HAND_TARGET_ANGLE},
    ),
    "face_mesh": Bundle(
        "FaceLandmarker",
        "face_landmarker.task",
        {"face_detector": "face_detector.tflite", "face_landmarks": "face_landmarks_detector.tflite"},
        "face_mesh_iris",
    ),
    "pose": Bundle(
        "PoseLandmarker",
        "pose_landmarker.task",
        {"pose_detector": "pose_detector.tflite", "pose_landmarks": "pose_landmarks_detector.tflite"},
        "pose",
    ),
}


def bundle_for(pipeline: str) -> Bundle:
    if pipeline not in BUNDLES:
        raise BlazeforgeError(
            "export.pipeline", f"expected one of {', '.join(BUNDLES)} for format=task, got {pipeline!r}"
        )
    return BUNDLES[pipeline]


def _signature(path: Path) -> tuple[list[str], list[tuple[int, ...]], tuple[int, ...]]:
    """(output tensor names, output shapes, input shape) of a .tflite, in the file's order."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    outputs = interpreter.get_output_details()
    return (
        [o["name"] for o in outputs],
        [tuple(int(v) for v in o["shape"]) for o in outputs],
        tuple(int(v) for v in interpreter.get_input_details()[0]["shape"]),
    )


def _check_stand_in(role: str, path: Path, bundle: Bundle) -> None:
    """A one-line error unless the export at `path` reads as the published file of `role` does."""
    published = zoo.tflite_path(ROLES[role].zoo)
    _, want, want_input = _signature(published)
    _, have, have_input = _signature(path)
    where = f"{bundle.task} ({bundle.members[role]})"
    if have_input != want_input:
        raise BlazeforgeError(
            path, f"{where} feeds it {list(want_input)} as {published.stem}; it takes {list(have_input)}"
        )
    if have != want:
        raise BlazeforgeError(
            path,
            f"{where} reads its outputs by position as {published.stem}'s {[list(s) for s in want]}; "
            f"it gives {[list(s) for s in have]} (train with init=mediapipe:{published.stem} to keep its outputs)",
        )
    sidecar = read_sidecar(path) or {}
    detector = zoo.get(published.stem).detector
    if detector and "anchors" in sidecar:
        from blazeforge.geometry import anchors
        from blazeforge.geometry.detections import spec_from_json

        if spec_from_json(sidecar, str(path)).anchors != getattr(anchors, detector).anchors:
            raise BlazeforgeError(path, f"{where} decodes {published.stem}'s anchors; this export has others")


def _input_range(path: Path) -> tuple[float, float]:
    if is_published(path):
        return tuple(zoo.get(path.stem).input_range)
    return tuple((read_sidecar(path) or {}).get("input_range", (0.0, 1.0)))


def build(bundle: Bundle, models: str, precision: str, out: Path) -> dict:
    """Write the bundle of `models` (as `run models=` takes them) to `out`; {role: source file}."""
    found = resolve(list(bundle.members), models, precision, pipeline=bundle.file)
    sources = {}
    partial = out.with_name(f"partial-{out.name}")
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED) as archive:
            for role, member in bundle.members.items():
                path = found[role].path
                if not is_published(path) and ROLES[role].zoo:
                    _check_stand_in(role, path, bundle)
                names, _, _ = _signature(path)
                origin = " (MediaPipe)" if is_published(path) else ""
                info = ModelInfo(
                    name=Path(member).stem,
                    description=f"{role} of {bundle.task}, from {path.name}{origin}",
                    input_range=_input_range(path),
                    outputs=tuple(names),
                )
                _write_aligned(archive, member, with_metadata(path.read_bytes(), info))
                sources[role] = str(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, out)
    return sources


def _write_aligned(archive: zipfile.ZipFile, name: str, data: bytes, alignment: int = 16) -> None:
    """Store `data` uncompressed (MediaPipe reads only stored members, in place) with its first
    byte at a multiple of `alignment` in the zip, padding the local header's extra field."""
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    header = archive.fp.tell() + 30 + len(name.encode()) + 4  # local header, name, the padding's own header
    info.extra = (
        (0xD935).to_bytes(2, "little") + (-header % alignment).to_bytes(2, "little") + bytes(-header % alignment)
    )
    archive.writestr(info, data)


def _images(value) -> dict[str, np.ndarray]:
    """{name: RGB uint8} of export.images (folders, as `annotate prelabel` reads them, or image
    files, one or a list), else the package photos."""
    from PIL import Image

    from blazeforge.annotation.prelabel import image_files

    if not value:
        from blazeforge.zoo.parity import photos

        return photos()
    paths = []
    for entry in [value] if isinstance(value, str) else list(value):
        entry = Path(entry)
        paths += [entry] if entry.is_file() else image_files(entry, "export.images")
    out = {}
    for path in paths:
        with Image.open(path) as image:
            out[str(path)] = np.asarray(image.convert("RGB"))
    return out


def _match(ours: list[np.ndarray], theirs: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Pairs of instances (landmarks [K, 2], pixels), each of ours with the nearest of theirs by centroid."""
    pairs, left = [], list(theirs)
    for mine in ours:
        if not left:
            break
        k = int(np.argmin([np.linalg.norm(mine.mean(0) - t.mean(0)) for t in left]))
        pairs.append((mine, left.pop(k)))
    return pairs


def _distances(ours: list[np.ndarray], theirs: list[np.ndarray], topology) -> list[np.ndarray]:
    """Per matched instance, each landmark's distance in % of the topology's unit (the Tasks'
    points only: our pose instances carry the virtual keypoints after them)."""
    return [
        100 * np.linalg.norm(a[: len(b)] - b[: len(a)], axis=-1) / max(topology.size(b), 1e-6)
        for a, b in _match(ours, theirs)
    ]


def _spread(distances: list[np.ndarray]) -> dict:
    every = np.concatenate(distances) if distances else np.zeros(0)
    return {
        "matched": len(distances),
        "mean": float(every.mean()) if every.size else None,
        "max": float(every.max()) if every.size else None,
    }


def verify(bundle: Bundle, path: Path, models: str, precision: str, images: dict[str, np.ndarray]) -> dict:
    """MediaPipe Tasks' landmarks against our runtime's on `images`: instances each finds, and the
    distance between matched instances' 2D landmarks in % of the topology's unit, with our runtime
    cutting the crops as the Task does (`Bundle.task_roi`) and, under "published_rule", as the
    published graphs do."""
    import tempfile

    from PIL import Image

    from blazeforge.export.mediapipe_client import run_bundle
    from blazeforge.runtime.still import StillImage

    detector, landmarks = bundle.members
    topology = get_topology(bundle.topology)
    as_task = StillImage(detector, landmarks, models, 2, bundle.task_roi, precision)
    published = StillImage(detector, landmarks, models, 2, precision=precision) if bundle.task_roi else as_task
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for i, (name, rgb) in enumerate(images.items()):
            files[name] = Path(tmp) / f"{i:04d}.png"
            Image.fromarray(rgb).save(files[name])
        found = run_bundle(bundle.task, path, list(files.values()))
    errors, published_errors, rows = [], [], []
    for name, rgb in images.items():
        h, w = rgb.shape[:2]
        theirs = [np.asarray(i, np.float64)[:, :2] * (w, h) for i in found[str(files[name])]]
        ours = [i.landmarks[:, :2] for i in as_task(rgb)]
        distances = _distances(ours, theirs, topology)
        errors += distances
        published_errors += _distances([i.landmarks[:, :2] for i in published(rgb)], theirs, topology)
        rows.append(
            {
                "image": name,
                "ours": len(ours),
                "mediapipe": len(theirs),
                "mean": float(np.mean([d.mean() for d in distances])) if distances else None,
            }
        )
    return {
        "images": rows,
        **_spread(errors),
        "published_rule": _spread(published_errors),
        "task_roi": dict(bundle.task_roi),
        "unit": topology.unit,
    }


def with_face_landmarks(bundle: Bundle, models: str, precision: str, run_dir: Path) -> tuple[str, dict | None]:
    """(`models` for the bundle's roles, what was made): for FaceLandmarker, unless an entry already
    fills face_landmarks, the 478-point file made in run_dir from the face_mesh and iris of `models`
    (`export.face_landmarks`) in their place."""
    from blazeforge.export.face_landmarks import TASK, write_face_landmarks
    from blazeforge.runtime.models import exports_of

    if TASK not in bundle.members:
        return models, None
    entries = [] if models == "mediapipe" else [e for e in models.split(",") if e]
    filled = {e: set(exports_of(Path(e), precision)) for e in entries}
    if any(TASK in roles for roles in filled.values()):
        return models, None
    made = write_face_landmarks(models, precision, Path(run_dir))
    keep = [e for e in entries if filled[e] & set(bundle.members)]
    return ",".join([*keep, str(run_dir)]), made


def export_bundle(cfg: DictConfig, run_dir: Path) -> dict:
    """The export verb with format=task: the bundle of cfg.export.pipeline, then its verification."""
    bundle = bundle_for(str(cfg.export.pipeline))
    out = Path(run_dir) / bundle.file
    precision = str(cfg.export.precision)
    models, made = with_face_landmarks(bundle, str(cfg.export.models), precision, run_dir)
    sources = build(bundle, models, precision, out)
    metrics = {"bundle": str(out), "bytes": out.stat().st_size, "task_class": bundle.task, "sources": sources}
    if made:
        metrics["face_landmarks"] = made
    if cfg.export.verify:
        metrics["verification"] = verify(bundle, out, models, precision, _images(cfg.export.images))
    return metrics


def summary_rows(metrics: dict) -> list[tuple[str, str]]:
    """The terminal rows of `export format=task`."""
    rows = [("bundle", metrics["bundle"]), ("size", f"{metrics['bytes'] / 1e6:.1f} MB")]
    rows += [(f"  {role}", path) for role, path in metrics["sources"].items()]
    made = metrics.get("face_landmarks")
    if made:
        rows += [("    made from the mesh of", made["mesh"]), ("    and the iris model of", made["iris"])]
    check = metrics.get("verification")
    if check is None:
        return rows + [("MediaPipe Tasks", "not run (export.verify=false)")]
    task = metrics["task_class"]
    theirs = sum(r["mediapipe"] for r in check["images"])
    ours = sum(r["ours"] for r in check["images"])
    found = f"{task} found {theirs} in {len(check['images'])} images, our runtime {ours}"
    if not check["matched"]:
        return rows + [("MediaPipe Tasks", f"{found}; none to compare")]
    apart = f"mean {check['mean']:.2f}%, max {check['max']:.1f}% of {check['unit']} apart"
    rows.append(("MediaPipe Tasks", f"{found}; {check['matched']} compared: {apart}"))
    other, angle = check["published_rule"], check["task_roi"].get("target_angle")
    if angle is not None and other["matched"]:
        turn = np.degrees(angle - np.pi / 2) % 360
        rows.append(
            (
                "  with the published crops",
                f"mean {other['mean']:.2f}%, max {other['max']:.1f}% apart: {task} turns its crops "
                f"{turn:.1f} degrees (a target angle of {angle:g} radians)",
            )
        )
    return rows
