"""Recipes: one module per task, looked up by the config's recipe.name.

A recipe module provides `build_model(recipe_cfg) -> keras.Model`, `make_losses(recipe_cfg) ->
(losses, loss_weights)` and `make_metrics(recipe_cfg)` keyed by output name,
`pack_targets(targets) -> y_true per output` (what the trainer feeds `model.compile`'s losses), and
`make_dataset(cfg, dataset_dir, split, training)` -> batches of (images, targets).
"""

from __future__ import annotations

import importlib

from blazeforge.errors import BlazeforgeError

RECIPES = {"hand_landmarks": "blazeforge.recipes.hand_landmarks",
           "palm_detection": "blazeforge.recipes.palm_detection"}


def names() -> list[str]:
    return sorted(RECIPES)


def get(name: str):
    """The recipe module called `name`; a one-line BlazeforgeError naming the choices otherwise."""
    if name not in RECIPES:
        raise BlazeforgeError("recipe.name", f"unknown recipe {name!r}; expected one of {names()}")
    return importlib.import_module(RECIPES[name])


def of_checkpoint(checkpoint, default: str) -> str:
    """The recipe a checkpoint belongs to: the zoo entry's task for mediapipe:NAME (palm detectors
    -> palm_detection, hand landmark models -> hand_landmarks), the recipe a train run directory was
    trained with (its config.yaml), else `default` (a bare .keras or .tflite file)."""
    checkpoint = str(checkpoint or "")
    if checkpoint.startswith("mediapipe:"):
        from blazeforge import zoo

        return "palm_detection" if zoo.get(checkpoint.split(":", 1)[1]).detector == "PALM_DETECTION" \
            else "hand_landmarks"
    if checkpoint and not checkpoint.endswith((".keras", ".tflite")):
        from blazeforge.training.trainer import train_config

        trained = train_config(checkpoint)
        if trained is not None:
            return str(trained.recipe.name)
    return default
