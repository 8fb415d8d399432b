"""User-supplied assets for the renderer (HDRI maps, background photos). No bpy here: the parent
process of a multi-worker render must not import bpy, or its spawned workers cannot."""

from __future__ import annotations

from pathlib import Path

from blazeforge.errors import BlazeforgeError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
HDRI_SUFFIXES = (".hdr", ".exr")


def list_files(folder: str | None, suffixes: tuple[str, ...], field: str) -> list[Path]:
    """Sorted files of `folder` with one of `suffixes`; [] for None; one-line error when unusable."""
    if not folder:
        return []
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise BlazeforgeError(field, f"{folder} is not a folder")
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in suffixes)
    if not files:
        raise BlazeforgeError(field, f"{folder} holds no {'/'.join(suffixes)} files")
    return files
