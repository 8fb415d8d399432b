"""The sample schema, sources (renders, COCO keypoints), leak-free splits and the TFDS dataset."""

from blazeforge.datasets.builder import build, load, summary

__all__ = ["build", "load", "summary"]
