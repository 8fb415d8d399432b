"""blazeforge: build MediaPipe-class on-device perception models end to end.

Importing the package is cheap: no TensorFlow, no Blender. Subpackages that need them
(`recipes`, `training`, `export`, `synthetic`) import them on their own.
"""

__version__ = "0.1.0"

from blazeforge.errors import BlazeforgeError

__all__ = ["BlazeforgeError", "__version__"]
