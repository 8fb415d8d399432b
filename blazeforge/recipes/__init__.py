"""Recipes: one module per task, looked up by the config's recipe.name.

A recipe module provides `build_model(recipe_cfg) -> keras.Model`, `make_losses(recipe_cfg) ->
(losses, loss_weights)` and `make_metrics(recipe_cfg)` keyed by output name,
`pack_targets(targets) -> y_true per output` (what the trainer feeds `model.compile`'s losses), and
`make_dataset(cfg, dataset_dir, split, training)` -> batches of (images, targets).
"""

from __future__ import annotations

import importlib

from blazeforge.errors import BlazeforgeError

RECIPES = {
    "hand_landmarks": "blazeforge.recipes.hand_landmarks",
    "face_mesh": "blazeforge.recipes.face_mesh",
    "iris": "blazeforge.recipes.iris",
    "palm_detection": "blazeforge.recipes.detection",  # one family: configs/recipe/*_detection.yaml
    "face_detection": "blazeforge.recipes.detection",
    "face_detection_full": "blazeforge.recipes.detection",
    "gesture": "blazeforge.recipes.gesture",
}


def names() -> list[str]:
    return sorted(RECIPES)


def get(name: str):
    """The recipe module called `name`; a one-line BlazeforgeError naming the choices otherwise."""
    if name not in RECIPES:
        raise BlazeforgeError("recipe.name", f"unknown recipe {name!r}; expected one of {names()}")
    return importlib.import_module(RECIPES[name])


def architectures(recipe) -> list[str]:
    """The published models whose Keras architecture recipe.architecture may name (and
    train.init=mediapipe: load): zoo entries with a builder for the recipe's detector (detector
    recipes) or its landmark topology (the others)."""
    from blazeforge import zoo

    detector = recipe.get("detector")
    return sorted(
        n
        for n, m in zoo.MODELS.items()
        if m.builder
        and (m.detector == detector if detector else (m.detector is None and m.topology == recipe.topology))
    )


def published_model(recipe):
    """The Keras architecture of published model recipe.architecture (one of `architectures`) at
    recipe.input_size, its outputs a dict keyed by the zoo's output names."""
    from blazeforge import zoo

    name, size = str(recipe.architecture), int(recipe.input_size)
    if name not in architectures(recipe):
        raise BlazeforgeError(
            "recipe.architecture", f"expected blazeforge or one of {architectures(recipe)}, got {name!r}"
        )
    spec = zoo.get(name)
    if size != spec.input_size[0]:
        raise BlazeforgeError("recipe.input_size", f"expected {spec.input_size[0]} for architecture {name}, got {size}")
    return zoo.build_keras(name, named_outputs=True)


def landmark_recipe(topology: str) -> str:
    """The landmark recipe that trains models of `topology` (hand -> hand_landmarks, face_mesh ->
    face_mesh, eye -> iris)."""
    found = {"hand": "hand_landmarks", "face_mesh": "face_mesh", "eye": "iris"}
    if topology not in found:
        raise BlazeforgeError("topology", f"no landmark recipe for {topology!r}; expected one of {sorted(found)}")
    return found[topology]


def is_detector(name: str) -> bool:
    """Whether recipe `name` is one of the SSD detector family (`recipes.detection`)."""
    return RECIPES.get(name) == RECIPES["palm_detection"]


def of_checkpoint(checkpoint, default: str) -> str:
    """The recipe a checkpoint belongs to: the zoo entry's task for mediapipe:NAME (palm detectors
    -> palm_detection, face detectors -> face_detection[_full], landmark models -> the recipe of
    their topology),
    the recipe a train run directory was trained with (its config.yaml) or a .tflite export was
    exported from (the decoding options beside it), else `default` (a bare .keras or .tflite file)."""
    checkpoint = str(checkpoint or "")
    if checkpoint.startswith("mediapipe:"):
        from blazeforge import zoo

        spec = zoo.get(checkpoint.split(":", 1)[1])
        detectors = {
            "PALM_DETECTION": "palm_detection",
            "FACE_DETECTION_SHORT_RANGE": "face_detection",
            "FACE_DETECTION_FULL_RANGE": "face_detection_full",
        }
        if spec.detector in detectors:
            return detectors[spec.detector]
        return landmark_recipe(spec.topology) if spec.topology in ("hand", "face_mesh", "eye") else default
    if checkpoint.endswith(".tflite"):
        from blazeforge.runtime.detector import read_sidecar

        return str((read_sidecar(checkpoint) or {}).get("recipe", default))
    if checkpoint and not checkpoint.endswith(".keras"):
        from blazeforge.training.trainer import train_config

        trained = train_config(checkpoint)
        if trained is not None:
            return str(trained.recipe.name)
    return default
