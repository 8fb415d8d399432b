"""The calculators graphs are made of; importing this package registers them all by class name."""

from blazeforge.runtime.calculators import box_tracking, effects, gestures, io, iris, render, smoothing, tracking  # noqa: F401
