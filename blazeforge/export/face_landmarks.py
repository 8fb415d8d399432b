"""The 478-point face landmark file FaceLandmarker reads, made from a face mesh and an iris model.

`export format=task pipeline=face_mesh` bundles a `face_landmarks` export: the mesh and the iris
models of `models=` in one graph (`models.face_landmarks.mesh_with_iris`). Each comes from the
checkpoint an export of ours was made from (its metrics.json names it), else from MediaPipe's
published weights (face_landmark, iris_landmark), so our FaceMesh can ship with MediaPipe's iris
model and the other way round. Written as an export of ours (`face_landmarks_<precision>.tflite`
and its sidecar), so the runtime runs it as any other.

    made = write_face_landmarks("outputs/export/...", "fp32", run_dir)   # {"path", "mesh", "iris"}
"""

from __future__ import annotations

from pathlib import Path

from blazeforge import zoo
from blazeforge.errors import BlazeforgeError
from blazeforge.runs import PRECISIONS, export_path, read_metrics, write_sidecar

TASK = "face_landmarks"
ROLE = {TASK: {"score": "face_flag", "score_is_logit": True}}
PARTS = {"face_mesh": "face_landmark", "iris": "iris_landmark"}  # role -> the published model


def _part(role: str, found: dict):
    """(Keras model of `role`, where it came from): the checkpoint behind our export that fills the
    role in `found` (`runtime.models.resolve`'s), else MediaPipe's published weights."""
    from blazeforge.models import load_model
    from blazeforge.runtime.models import is_published

    path = found[role].path
    if is_published(path):
        return zoo.keras_model(PARTS[role], named_outputs=True), f"{path.stem} (MediaPipe's weights)"
    checkpoint = (read_metrics(path.parent) or {}).get("checkpoint")
    if not checkpoint:
        raise BlazeforgeError(path.parent, "expected the run's metrics.json to name the checkpoint it exported")
    return load_model(checkpoint, f"the checkpoint of {path}"), str(checkpoint)


def write_face_landmarks(models: str, precision: str, run_dir: Path) -> dict:
    """Write `face_landmarks_<precision>.tflite` (478 points) and its sidecar into run_dir from the
    face_mesh and iris of `models` (as `run models=` takes them); {"path", "mesh", "iris"}."""
    from blazeforge.export.tflite import convert
    from blazeforge.models.face_landmarks import mesh_with_iris
    from blazeforge.runtime.models import resolve

    quantize = {v: k for k, v in PRECISIONS.items()}.get(precision)
    if quantize not in ("none", "fp16", "dynamic"):
        raise BlazeforgeError(
            "export.precision", f"the 478-point face model is made at fp32, fp16 or dynamic, got {precision!r}"
        )
    found = resolve(["face_detector", *PARTS], models, precision, pipeline="face_mesh")
    mesh, mesh_from = _part("face_mesh", found)
    iris, iris_from = _part("iris", found)
    model = mesh_with_iris(mesh, iris)
    path = export_path(run_dir, TASK, quantize)
    path.write_bytes(convert(model, quantize))
    size = int(model.input_shape[1])
    write_sidecar(run_dir, TASK, ROLE, input_size=size, outputs=["landmarks", "face_flag"], topology="face_mesh_iris")
    return {"path": str(path), "mesh": mesh_from, "iris": iris_from}
