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
