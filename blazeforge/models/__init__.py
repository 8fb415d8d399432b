"""Keras 3 layers and models (keras.ops only): BlazeBlocks, the published architectures, our own.

`load_model(path)` reads a checkpoint with the custom layers registered.
"""

from __future__ import annotations

from pathlib import Path

from blazeforge.errors import BlazeforgeError
from blazeforge.runs import checkpoint_path


def load_model(path: str | Path, what: str = "checkpoint"):
    """The Keras model of a checkpoint (.keras file or train run directory); one-line error otherwise."""
    import keras

    # the modules that register custom layers (keras.saving.register_keras_serializable)
    from blazeforge.models import blaze, blazepose, hand_recrop, iris, mobilenet  # noqa: F401

    file = checkpoint_path(path, what)
    try:
        return keras.saving.load_model(file, compile=False)
    except Exception as e:  # a truncated or foreign file
        raise BlazeforgeError(file, f"not a loadable Keras model ({type(e).__name__})") from None
