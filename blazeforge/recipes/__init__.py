"""The task registry: every trainable task, one line per family.

A task is a `base.Task` (what the engines call: model, targets, losses, data, evaluation, export,
runtime roles); each family folder holds its tasks' code and makes their instances. Adding a
family is its folder, its configs and one line below. Tasks defined elsewhere (a plugin, the
tests' toy task) join with `register(task)`, their configs under `task.config_dir`.

    task = recipes.get("hand_landmarks")
    recipes.for_checkpoint("mediapipe:palm_detection_full")   # -> the palm_detection task
"""

from __future__ import annotations

from pathlib import Path

from blazeforge.errors import BlazeforgeError
from blazeforge.recipes import detection, gesture, landmarks, objectron, pose
from blazeforge.recipes.base import Task

TASKS: dict[str, Task] = {}


def register(*tasks: Task) -> None:
    """Add tasks to the registry (a name already taken by another task is an error)."""
    for task in tasks:
        if TASKS.get(task.name, task) is not task:
            raise ValueError(f"task {task.name!r} is registered already ({TASKS[task.name]!r})")
        TASKS[task.name] = task


register(landmarks.HAND_LANDMARKS, landmarks.FACE_MESH, landmarks.IRIS)
register(detection.PALM_DETECTION, detection.FACE_DETECTION, detection.FACE_DETECTION_FULL)
register(gesture.GESTURE)
register(pose.POSE_LANDMARKS, detection.POSE_DETECTION)
register(objectron.OBJECTRON)


def names() -> list[str]:
    return sorted(TASKS)


def get(name: str, what: str = "recipe.name") -> Task:
    """The task called `name`; a one-line BlazeforgeError naming the choices otherwise."""
    if name not in TASKS:
        raise BlazeforgeError(what, f"unknown task {name!r}; expected one of {', '.join(names())}")
    return TASKS[name]


def config_dirs() -> list[Path]:
    """The Hydra folders of tasks whose configs live outside blazeforge/configs."""
    return [task.config_dir for task in TASKS.values() if task.config_dir is not None]


def for_checkpoint(checkpoint: str, what: str = "checkpoint") -> Task:
    """The task a checkpoint belongs to, from what it records, never from its contents:
    mediapipe:NAME -> the task that trains the published model NAME (`Task.published`); a .tflite
    -> its sidecar's `task` (a published file from the zoo cache: as mediapipe:NAME); a train run
    directory, or a .keras file inside one -> its config.yaml's `task:`. A bare .keras file records
    nothing: name its task with recipe=NAME (see `engine`)."""
    from blazeforge import runs, zoo

    checkpoint = str(checkpoint)
    if checkpoint.startswith("mediapipe:"):
        name = checkpoint.split(":", 1)[1]
        zoo.get(name)  # unknown names: one line listing the zoo
        for task in TASKS.values():
            if name in task.published():
                return task
        raise BlazeforgeError(f"{what}={checkpoint}", f"no registered task trains {name}")
    path = Path(checkpoint)
    if path.suffix == ".tflite":
        if path.parent == zoo.cache_dir():
            return for_checkpoint(f"mediapipe:{path.stem}", what)
        sidecar = runs.read_sidecar(path)
        if sidecar is None or "task" not in sidecar:
            raise BlazeforgeError(
                f"{what}={checkpoint}",
                f"expected an export of blazeforge with its sidecar {runs.sidecar_path(path).name}",
            )
        return get(str(sidecar["task"]), f"{runs.sidecar_path(path)}: task")
    folder = runs.train_run(path)
    if folder is None:
        raise BlazeforgeError(
            f"{what}={checkpoint}", "expected a train run directory, a .tflite export or mediapipe:NAME"
        )
    return get(runs.task_of_run(folder, what), f"{folder / 'config.yaml'}: task")
