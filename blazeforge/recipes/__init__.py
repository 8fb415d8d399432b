"""Recipes: a model, its losses, metrics and export signature, looked up by name."""

from __future__ import annotations

import importlib

from blazeforge.errors import BlazeforgeError

RECIPES = {"hand_landmarks": "blazeforge.recipes.hand_landmarks"}


def get(name: str):
    """The recipe module called `name` (build_model, losses, pack_targets, ...)."""
    if name not in RECIPES:
        raise BlazeforgeError("recipe", f"unknown recipe {name!r}; expected one of {sorted(RECIPES)}")
    return importlib.import_module(RECIPES[name])
