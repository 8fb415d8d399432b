"""Compose the Hydra config tree for a verb.

`compose("render", ["n=50", "experiment=smoke"])` returns the whole tree with the overrides
applied. A bare key that names a field of the verb's own section is that field (`n=50` means
`render.n=50`), so the command line reads like Ultralytics' `yolo TASK MODE key=value`.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from omegaconf import DictConfig, OmegaConf

from blazeforge.errors import BlazeforgeError

CONFIG_DIR = Path(__file__).parent / "configs"
GROUPS = ("scene", "data", "recipe", "trainer", "experiment")
VERBS = ("render", "datasets", "train", "evaluate", "export", "run", "annotate", "demo", "bench")


def group_options(group: str, search_paths: list[Path] = ()) -> list[str]:
    """Names of the files of a config group, e.g. group_options("experiment") == ["demo", "full", "smoke"]
    (files named _*.yaml are shared parts of the others, not choices)."""
    folders = [CONFIG_DIR, *map(Path, search_paths)]
    return sorted({p.stem for folder in folders for p in (folder / group).glob("*.yaml") if not p.stem.startswith("_")})


def section_of(verb: str) -> str:
    """The config section of a verb: its name, with "-" as "_" (serve-demo -> serve_demo)."""
    return verb.replace("-", "_")


def _expand(verb: str, overrides: list[str]) -> list[str]:
    """Prefix bare keys of the verb's section with the section name; map hydra.run.dir to run_dir."""
    name = section_of(verb)
    section = OmegaConf.load(CONFIG_DIR / "config.yaml").get(name) or {}
    out = []
    for item in overrides:
        if "=" not in item:
            raise BlazeforgeError(item, "expected key=value")
        key, value = item.split("=", 1)
        if key == "hydra.run.dir":
            key = "run_dir"
        elif "." not in key and key[:1] not in "+~" and key not in GROUPS and key in section:
            key = f"{name}.{key}"
        out.append(f"{key}={value}")
    return out


def compose(verb: str, overrides: list[str] = (), search_paths: list[Path] = ()) -> DictConfig:
    """The composed config for `verb`; one-line BlazeforgeError on an unknown key, group or value.

    search_paths: more config folders (tasks registered from outside blazeforge keep their
    recipe/<name>.yaml there: `recipes.config_dirs()`)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    overrides = _expand(verb, list(overrides))
    if search_paths:
        overrides.append("hydra.searchpath=[" + ",".join(f"file://{Path(p).resolve()}" for p in search_paths) + "]")
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


def plain(section: DictConfig) -> SimpleNamespace:
    """A config section resolved into nested SimpleNamespaces: the same attribute access at no cost
    (OmegaConf's costs about as much as cropping an image, too much inside an input pipeline)."""

    def convert(tree):
        if isinstance(tree, dict):
            return SimpleNamespace(**{key: convert(value) for key, value in tree.items()})
        return tree

    return convert(OmegaConf.to_container(section, resolve=True))
