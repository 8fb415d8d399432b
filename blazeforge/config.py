"""Compose the Hydra config tree for a verb and make its run directory.

`compose("render", ["n=50", "experiment=smoke"])` returns the whole tree with the overrides
applied. A bare key that names a field of the verb's own section is that field (`n=50` means
`render.n=50`), so the command line reads like Ultralytics' `yolo TASK MODE key=value`.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from blazeforge.errors import BlazeforgeError

CONFIG_DIR = Path(__file__).parent / "configs"
GROUPS = ("scene", "data", "recipe", "trainer", "experiment")
VERBS = ("render", "datasets", "train", "evaluate", "export", "run", "demo", "bench")


def group_options(group: str) -> list[str]:
    """Names of the files of a config group, e.g. group_options("experiment") == ["demo", "full", "smoke"]."""
    return sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))


def _expand(verb: str, overrides: list[str]) -> list[str]:
    """Prefix bare keys of the verb's section with the section name; map hydra.run.dir to run_dir."""
    section = OmegaConf.load(CONFIG_DIR / "config.yaml").get(verb) or {}
    out = []
    for item in overrides:
        if "=" not in item:
            raise BlazeforgeError(item, "expected key=value")
        key, value = item.split("=", 1)
        if key == "hydra.run.dir":
            key = "run_dir"
        elif "." not in key and key[:1] not in "+~" and key not in GROUPS and key in section:
            key = f"{verb}.{key}"
        out.append(f"{key}={value}")
    return out


def compose(verb: str, overrides: list[str] = ()) -> DictConfig:
    """The composed config for `verb`; one-line BlazeforgeError on an unknown key, group or value."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    overrides = _expand(verb, list(overrides))
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
            cfg = hydra_compose(config_name="config", overrides=overrides)
    except (HydraException, OmegaConfBaseException) as e:
        raise BlazeforgeError("config", _one_line(e)) from None
    finally:
        GlobalHydra.instance().clear()
    return cfg


def _one_line(error: Exception) -> str:
    text = " ".join(str(error).split()).split(" Config search path:")[0]
    for group in GROUPS:  # name the choices when a group option is unknown
        if f"'{group}/" in text or f"group {group}" in text or f"group '{group}'" in text:
            return f"{text} (choices for {group}: {', '.join(group_options(group))})"
    return text


def make_run_dir(cfg: DictConfig, verb: str) -> Path:
    """cfg.run_dir, or outputs/VERB/YYYY-MM-DD/HH-MM-SS; created, with the resolved config.yaml in it."""
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
    (run_dir / "config.yaml").write_text(OmegaConf.to_yaml(resolved))
    return run_dir


def load_run_config(run_dir: str | Path, what: str) -> DictConfig:
    """The config.yaml of an earlier run directory (`what` names the field that pointed at it)."""
    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        raise BlazeforgeError(f"{what}={run_dir}", "expected a run directory holding config.yaml")
    return OmegaConf.load(path)


def write_metrics(run_dir: Path, metrics: dict) -> Path:
    path = Path(run_dir) / "metrics.json"
    path.write_text(json.dumps(metrics, indent=2, sort_keys=True, default=_json_default) + "\n")
    return path


def _json_default(value):
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
