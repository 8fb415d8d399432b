"""Assets for the renderer: HDRI maps and background photos from the user's folders, or
`image_dir: packages`, the photos scikit-image ships (no people in them), so that renders land on
real photos with nothing downloaded. No bpy here: the parent process of a multi-worker render
must not import bpy, or its spawned workers cannot."""

from __future__ import annotations

from pathlib import Path

from blazeforge.errors import BlazeforgeError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
HDRI_SUFFIXES = (".hdr", ".exr")


PACKAGE_PHOTOS = "packages"
BLENDER_HDRIS = "blender"  # hdri_dir: the eight CC0 environment maps (Poly Haven) the bpy wheel ships
# scikit-image's photos without a person (its astronaut and cameraman would add a second face).
_SKIMAGE_PHOTOS = (
    "brick.png",
    "chelsea.png",
    "coffee.png",
    "coins.png",
    "grass.png",
    "gravel.png",
    "hubble_deep_field.jpg",
    "moon.png",
    "motorcycle_left.png",
    "motorcycle_right.png",
    "page.png",
    "rocket.jpg",
    "text.png",
)


def package_photos(field: str) -> list[Path]:
    """The photos of `_SKIMAGE_PHOTOS` in the installed scikit-image (blazeforge[render] installs it)."""
    from importlib.util import find_spec

    spec = find_spec("skimage")
    if spec is None or not spec.origin:
        raise BlazeforgeError(field, f"{PACKAGE_PHOTOS} needs scikit-image (pip install 'blazeforge[render]')")
    folder = Path(spec.origin).parent / "data"
    found = [folder / name for name in _SKIMAGE_PHOTOS if (folder / name).is_file()]
    if not found:
        raise BlazeforgeError(field, f"no photos in {folder}; expected scikit-image's sample data")
    return found


def blender_hdris(field: str) -> list[Path]:
    """The studio-light worlds of the installed bpy wheel (blazeforge[render] installs it): city,
    courtyard, forest, interior, night, studio, sunrise, sunset (1K, CC0)."""
    from importlib.util import find_spec

    spec = find_spec("bpy")
    if spec is None or not spec.origin:
        raise BlazeforgeError(field, f"{BLENDER_HDRIS} needs bpy (pip install 'blazeforge[render]')")
    found = sorted(Path(spec.origin).parent.glob("*/datafiles/studiolights/world/*.exr"))
    if not found:
        raise BlazeforgeError(field, f"no .exr worlds under {Path(spec.origin).parent}/*/datafiles/studiolights/world")
    return found


def list_files(folder: str | None, suffixes: tuple[str, ...], field: str) -> list[Path]:
    """Sorted files of `folder` with one of `suffixes` (image_dir=packages: `package_photos`;
    hdri_dir=blender: `blender_hdris`); [] for None; one-line error when unusable."""
    if not folder:
        return []
    if folder == PACKAGE_PHOTOS and suffixes == IMAGE_SUFFIXES:
        return package_photos(field)
    if folder == BLENDER_HDRIS and suffixes == HDRI_SUFFIXES:
        return blender_hdris(field)
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise BlazeforgeError(field, f"{folder} is not a folder")
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in suffixes)
    if not files:
        raise BlazeforgeError(field, f"{folder} holds no {'/'.join(suffixes)} files")
    return files
