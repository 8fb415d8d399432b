"""The task spec: what every engine needs of one trainable task, in one object.

A family (`recipes/<family>/`) subclasses `Task` once and makes one instance per task (hand
landmarks, face mesh and iris are three `LandmarkTask`s); `recipes/__init__.py` registers each
with one line. The engines never name a task: `engine.run_stage` looks the task up (by
`recipe.name` for `train`, by the `task:` a run directory or export sidecar records for the
others) and hands it to the stage:

| engine | calls |
|---|---|
| `training.trainer.train` | `build_model`, `losses`, `metrics`, `pack_targets`, `dataset`, `data_topology`, |
| | `published` (train.init=mediapipe:NAME) |
| `engine` evaluate / export | `evaluate(cfg, run_dir)`, `export(cfg, run_dir)`: the family's, on the engines' parts |
| `engine` reports | `summary(metrics)`: the figures the terminal shows |
| `runtime` (through the sidecar) | `roles`: the pipeline roles an export fills and how its outputs bind to them |
| `config.compose` | `config_dir`: a Hydra folder with `recipe/<name>.yaml`, for tasks outside blazeforge |
"""

from __future__ import annotations

from pathlib import Path

from blazeforge.errors import BlazeforgeError


class Task:
    """One trainable task. Subclasses set the attributes and implement the hooks.

    Attributes:
        name: the task's registry key, recorded as `task:` in run directories and export sidecars;
            also its recipe config (`configs/recipe/<name>.yaml`, or `config_dir/recipe/<name>.yaml`).
        topology: the landmark set its datasets hold (`topology.get`).
        roles: {runtime role: output binding} its exports fill, written into their sidecars (for a
            landmark model: its landmark output, values per point, score and label outputs).
        config_dir: an extra Hydra config folder (None for the built-in tasks, whose configs live
            in blazeforge/configs).
    """

    name: str
    topology: str
    roles: dict
    config_dir: Path | None

    # ---- training (training.trainer) ------------------------------------------------------

    def build_model(self, recipe):
        """The Keras model for a recipe config: float32 [B, S, S, 3] -> {output name: tensor}."""
        raise NotImplementedError(f"{type(self).__name__}.build_model")

    def adapt_init(self, model, recipe) -> None:
        """After the trainer copied train.init's weights into `model` (in place): what the task's
        architecture changes in them (nothing, by default)."""

    def losses(self, recipe) -> tuple[dict, dict]:
        """(losses, loss_weights) keyed by output name, on `pack_targets`' y_true."""
        raise NotImplementedError(f"{type(self).__name__}.losses")

    def metrics(self, recipe) -> dict:
        """Keras metrics keyed by output name (logged as val_<output>_<metric>)."""
        return {}

    def pack_targets(self, targets: dict) -> dict:
        """The input pipeline's target dict -> one y_true per model output."""
        raise NotImplementedError(f"{type(self).__name__}.pack_targets")

    def dataset(self, cfg, dataset_dir, split: str, training: bool):
        """tf.data batches of (images, targets) from a datasets run directory."""
        raise NotImplementedError(f"{type(self).__name__}.dataset")

    def data_topology(self, recipe) -> str:
        """The topology of the datasets it reads (recipe.data_topology where its crops show part of
        each instance, as iris crops of a refined face mesh), else `topology`."""
        return str(recipe.get("data_topology") or self.topology)

    def published(self) -> list[str]:
        """The zoo models whose architecture and weights it can start from (train.init=mediapipe:NAME)."""
        return []

    # ---- the other stages ---------------------------------------------------------------------

    def evaluate(self, cfg, run_dir: Path) -> dict:
        """Score cfg.evaluate.checkpoint; writes its report into run_dir; returns metrics.json."""
        raise NotImplementedError(f"{type(self).__name__}.evaluate")

    def export(self, cfg, run_dir: Path) -> dict:
        """TFLite files of cfg.export.checkpoint at cfg.export.quantize, checked, and their sidecar."""
        raise NotImplementedError(f"{type(self).__name__}.export")

    def summary(self, metrics: dict) -> list[tuple[str, str]]:
        """(figure, value) rows of a stage's metrics for the terminal: the figures a person reads."""
        return []

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


def published_architecture(task: Task, recipe, **options):
    """The Keras architecture of the published model recipe.architecture (one of task.published())
    at recipe.input_size, its outputs a dict keyed by the zoo's output names; options go to its
    builder."""
    from blazeforge import zoo

    name, size = str(recipe.architecture), int(recipe.input_size)
    if name not in task.published():
        raise BlazeforgeError("recipe.architecture", f"expected blazeforge or one of {task.published()}, got {name!r}")
    spec = zoo.get(name)
    if size != spec.input_size[0]:
        raise BlazeforgeError("recipe.input_size", f"expected {spec.input_size[0]} for architecture {name}, got {size}")
    return zoo.build_keras(name, named_outputs=True, **options)
