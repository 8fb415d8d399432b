"""The runtime: run exported models with LiteRT. Imports no TensorFlow (numpy, OpenCV, LiteRT only)."""

from blazeforge.runtime.interpreter import TfliteModel

__all__ = ["TfliteModel"]
