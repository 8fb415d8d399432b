"""Run directories and export sidecars: the one module that reads and writes them.

Every verb writes a run directory (`make_run_dir`): the resolved `config.yaml` (with `task:`, the
registered task it ran for, where there is one), `metrics.json`, `log.txt` and its artifacts. A
later verb takes a run directory as input: `run_config` reads its config, `task_of_run` its task,
`checkpoint_path` the model a train run left. Each export writes beside its
`<task>_<precision>.tflite` files one sidecar, `<task>.json` (`write_sidecar`, `read_sidecar`):
`task`, the runtime `roles` it fills and how its outputs bind to them, and whatever the task needs
to decode it (anchors, classes). The runtime reads sidecars only, so this module imports no
OmegaConf at its top (the runtime ships without it).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path

from blazeforge.errors import BlazeforgeError

PRECISIONS = {"none": "fp32", "fp16": "fp16", "dynamic": "dynamic", "int8": "int8"}  # quantize -> file suffix


# ---- run directories --------------------------------------------------------------------------


def make_run_dir(cfg, verb: str, task: str | None = None) -> Path:
    """cfg.run_dir, or outputs/VERB/YYYY-MM-DD/HH-MM-SS; created, with the resolved config.yaml in it
    (and `task: <task>` where the verb ran for a registered task)."""
    from omegaconf import OmegaConf

    if cfg.run_dir:
        run_dir = Path(cfg.run_dir)
    else:
        now = _dt.datetime.now()
        run_dir = Path("outputs") / verb / now.strftime("%Y-%m-%d") / now.strftime("%H-%M-%S")
        while run_dir.exists():  # two runs in one second
            now += _dt.timedelta(seconds=1)
            run_dir = run_dir.parent / now.strftime("%H-%M-%S")
    run_dir.mkdir(parents=True, exist_ok=True)
    resolved = OmegaConf.to_container(cfg, resolve=True)
    resolved["run_dir"] = str(run_dir)
    if task is not None:
        resolved = {"task": task, **resolved}
    (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(resolved))
    return run_dir


def run_config(run_dir: str | Path, what: str):
    """The config.yaml of an earlier run directory (`what` names the field that pointed at it)."""
    from omegaconf import OmegaConf

    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        raise BlazeforgeError(f"{what}={run_dir}", "expected a run directory holding config.yaml")
    return OmegaConf.load(path)


def train_run(checkpoint: str | Path) -> Path | None:
    """The train run directory a checkpoint belongs to (the folder itself, or the run holding a
    model.keras or checkpoints/*.keras), None for a file outside one."""
    path = Path(checkpoint)
    folder = path if path.is_dir() else path.parent.parent if path.parent.name == "checkpoints" else path.parent
    return folder if (folder / "config.yaml").is_file() else None


def train_config(checkpoint: str | Path):
    """The resolved config of the train run a checkpoint came from (None for a bare .keras file)."""
    folder = train_run(checkpoint)
    return None if folder is None else run_config(folder, "checkpoint")


def dataset_of(dataset, checkpoint, verb: str) -> str:
    """`dataset` where given, else the datasets run the train run of `checkpoint` was trained on;
    one line naming `<verb>.dataset` when neither says."""
    if dataset:
        return str(dataset)
    trained = None if str(checkpoint or "").startswith("mediapipe:") or not checkpoint else train_config(checkpoint)
    if trained is None or not trained.get("train", {}).get("dataset"):
        raise BlazeforgeError(f"{verb}.dataset", "expected dataset=RUN_DIR (the checkpoint does not name one)")
    return str(trained.train.dataset)


def task_of_run(run_dir: str | Path, what: str) -> str:
    """The `task:` a run directory records; one line naming the key to add for older runs."""
    config = run_config(run_dir, what)
    if not config.get("task"):
        raise BlazeforgeError(
            Path(run_dir) / "config.yaml",
            f"expected a `task:` key (made before blazeforge recorded tasks: add `task: {config.recipe.name}`)",
        )
    return str(config.task)


def checkpoint_path(path: str | Path, what: str) -> Path:
    """A .keras file, or the model file of a train run directory (model.keras, else best, else last)."""
    path = Path(path)
    if path.is_file() and path.suffix == ".keras":
        return path
    for candidate in ("model.keras", "checkpoints/best.keras", "checkpoints/last.keras"):
        if (path / candidate).is_file():
            return path / candidate
    raise BlazeforgeError(f"{what}={path}", "expected a .keras file or a train run directory holding model.keras")


def write_metrics(run_dir: Path, metrics: dict) -> Path:
    """metrics.json, written whole or not at all (`atomic_write_text`): it marks a stage finished."""
    path = Path(run_dir) / "metrics.json"
    atomic_write_text(path, json.dumps(metrics, indent=2, sort_keys=True, default=_json_default) + "\n")
    return path


def atomic_write_text(path: Path, text: str) -> None:
    """Write a text file under a temporary name (partial-NAME), flushed to disk, then rename it into
    place: a kill at any moment leaves the old file or the new one, never a torn one."""
    path = Path(path)
    partial = path.with_name(f"partial-{path.name}")
    with partial.open("w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(partial, path)


def read_metrics(run_dir: Path) -> dict | None:
    """A finished run's metrics.json (None while it has none: not run, or interrupted)."""
    path = Path(run_dir) / "metrics.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _json_default(value):
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


# ---- exports ----------------------------------------------------------------------------------


def export_path(run_dir: Path, task: str, quantize: str) -> Path:
    """Where `blazeforge export` writes `task` at `quantize` (none | fp16 | dynamic | int8)."""
    return Path(run_dir) / f"{task}_{PRECISIONS[quantize]}.tflite"


def sidecar_path(path: str | Path) -> Path:
    """The sidecar of an export: `<task>.json` beside `<task>_<precision>.tflite`."""
    path = Path(path)
    return path.with_name(path.stem.rsplit("_", 1)[0] + ".json")


def write_sidecar(run_dir: Path, task: str, roles: dict, **fields) -> Path:
    """`<task>.json` in an export run directory: {"task", "roles": {role: binding}, **fields}."""
    path = Path(run_dir) / f"{task}.json"
    path.write_text(json.dumps({"task": task, "roles": roles, **fields}, indent=2) + "\n")
    return path


def read_sidecar(path: str | Path) -> dict | None:
    """The sidecar beside an export (see `sidecar_path`), None when there is none; a one-line
    BlazeforgeError when it is not JSON."""
    sidecar = sidecar_path(path)
    if not sidecar.is_file():
        return None
    try:
        return json.loads(sidecar.read_text())
    except json.JSONDecodeError as e:
        raise BlazeforgeError(sidecar, f"not valid JSON ({e.msg} at line {e.lineno})") from None


def exports_in(folder: str | Path) -> list[Path]:
    """The .tflite exports of an export run directory (searched recursively, as the demo nests
    its stages) that have a sidecar beside them, sorted."""
    return sorted(p for p in Path(folder).rglob("*.tflite") if sidecar_path(p).is_file())
