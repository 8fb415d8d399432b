"""The calculators graphs are made of; importing this package registers them all by class name."""

from blazeforge.runtime.calculators import (  # noqa: F401
    box_tracking,
    cuboids,
    effects,
    gestures,
    io,
    iris,
    render,
    smoothing,
    tracking,
)
