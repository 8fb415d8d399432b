"""Parametric meshes of Objectron's categories, in pure numpy (the object scene makes them Blender
objects): each draw of a category's parameters is a new object instance.

Object frame (Objectron's): x right, y up, z front, metres; the mesh's tight axis-aligned box is
centred at the origin, so the object's 9-DOF box is (R, t, `Shape.scale`). Categories:

| category | parameters (ranges in `PARAMETERS`) | parts | symmetry |
|---|---|---|---|
| shoe | length, width, collar height, toe spring, sole thickness, laces or not | sole, upper, laces | none |
| box | width, height, depth | print | half-turn |
| cup | top radius, height, taper, handle or not (on +x) | glaze | axial without a handle, else none |
| bottle | body radius and height, shoulder, neck, cap | body, label, cap | axial |
| chair | seat size and height, leg width, back height, slats or solid back | frame, seat | none |
| camera | body size, lens radius and length, viewfinder hump, grip | body, lens, glass | none |

Symmetry names the turns about the object's y axis that leave its shape unchanged: "axial" any,
"half-turn" 180 degrees, "none". `canonical_rotation` picks, among a symmetric object's equivalent
rotations, the one whose front faces the camera, so that a label is a function of what the image
shows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

CATEGORIES = ("shoe", "box", "cup", "bottle", "chair", "camera")
SYMMETRIES = ("none", "half-turn", "axial")


@dataclass
class Shape:
    """One object instance: triangles in the object frame and what each is made of.

    vertices [V, 3] metres (tight box centred at 0); faces [F, 3] vertex indices, counter-clockwise
    seen from outside; parts [F] indices into part_names; smooth [F] shaded smooth (curved surfaces).
    """

    category: str
    vertices: np.ndarray
    faces: np.ndarray
    parts: np.ndarray
    smooth: np.ndarray
    part_names: tuple[str, ...]
    symmetry: str
    params: dict = field(default_factory=dict)

    @property
    def scale(self) -> np.ndarray:
        """[3] the box's edge lengths along x, y, z (metres)."""
        return np.ptp(self.vertices, axis=0)

    def describe(self) -> str:
        return f"{self.category}: " + ", ".join(f"{k} {v}" for k, v in self.params.items())


class _Builder:
    """Collects mesh pieces (vertices, triangles, part, smoothness) into one Shape."""

    def __init__(self):
        self.vertices, self.faces, self.parts, self.smooth = [], [], [], []
        self.count = 0

    def add(self, vertices: np.ndarray, faces: np.ndarray, part: int, smooth: bool) -> None:
        self.vertices.append(np.asarray(vertices, np.float64))
        self.faces.append(np.asarray(faces, np.int64) + self.count)
        self.parts += [part] * len(faces)
        self.smooth += [smooth] * len(faces)
        self.count += len(vertices)

    def cuboid(self, lo, hi, part: int) -> None:
        lo, hi = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
        corners = np.array([[(hi if (i >> b) & 1 else lo)[a] for a, b in zip(range(3), (2, 1, 0))] for i in range(8)])
        # corner i has x from bit 2, y from bit 1, z from bit 0 (as the 9-keypoint layout)
        quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
        self.add(corners, [t for q in quads for t in ((q[0], q[1], q[2]), (q[0], q[2], q[3]))], part, False)

    def lathe(self, profile, parts, segments: int = 32, axis=(0.0, 0.0), along: str = "y") -> None:
        """A surface of revolution: profile [(radius, height)] from bottom to top, each segment's
        part in parts [len(profile) - 1]; ends with radius 0 close on the axis. along "y": about
        the vertical line through (x, z) = axis; "z": about the line through (x, y) = axis."""
        angles = np.linspace(0, 2 * math.pi, segments, endpoint=False)
        rings = []
        for radius, height in profile:
            ring = np.stack([radius * np.cos(angles), np.full(segments, height), -radius * np.sin(angles)], 1)
            if along == "z":  # (x, y, z) -> (x, -z, y): the height runs along +z
                ring = np.stack([ring[:, 0], -ring[:, 2], ring[:, 1]], 1)
                ring[:, :2] += axis
            else:
                ring[:, [0, 2]] += axis
            rings.append(ring)
        for i, part in enumerate(parts):
            a, b = rings[i], rings[i + 1]
            j = np.arange(segments)
            k = (j + 1) % segments
            quads = np.stack([j, k, segments + k, segments + j], 1)
            tris = np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]])
            self.add(np.concatenate([a, b]), tris, part, True)

    def loft(self, rings: list[np.ndarray], part: int, smooth: bool = True) -> None:
        """A closed surface through cross-sections rings [S, 3] (each counter-clockwise seen from
        the next), its two ends closed by fans to their centroids."""
        segments = len(rings[0])
        j = np.arange(segments)
        k = (j + 1) % segments
        vertices = np.concatenate(rings + [rings[0].mean(0, keepdims=True), rings[-1].mean(0, keepdims=True)])
        first, last = len(rings) * segments, len(rings) * segments + 1
        tris = []
        for i in range(len(rings) - 1):
            a, b = i * segments, (i + 1) * segments
            tris += list(np.stack([a + j, b + j, b + k], 1)) + list(np.stack([a + j, b + k, a + k], 1))
        tris += list(np.stack([np.full(segments, first), k, j], 1))
        end = (len(rings) - 1) * segments
        tris += list(np.stack([np.full(segments, last), end + j, end + k], 1))
        self.add(vertices, np.array(tris), part, smooth)

    def tube(self, path: np.ndarray, radius: float, part: int, segments: int = 12) -> None:
        """A tube of `radius` along path [M, 3] (its ends open: they sit inside another part)."""
        path = np.asarray(path, np.float64)
        tangents = np.gradient(path, axis=0)
        tangents /= np.linalg.norm(tangents, axis=1, keepdims=True)
        rings = []
        for point, tangent in zip(path, tangents):
            side = np.cross(tangent, [0.0, 0.0, 1.0])
            side = side / np.linalg.norm(side) if np.linalg.norm(side) > 1e-6 else np.array([1.0, 0, 0])
            up = np.cross(side, tangent)
            angles = np.linspace(0, 2 * math.pi, segments, endpoint=False)
            rings.append(point + radius * (np.cos(angles)[:, None] * side + np.sin(angles)[:, None] * up))
        vertices = np.concatenate(rings)
        j = np.arange(segments)
        k = (j + 1) % segments
        tris = []
        for i in range(len(path) - 1):
            base = i * segments
            tris += list(np.stack([base + j, base + segments + j, base + segments + k], 1))
            tris += list(np.stack([base + j, base + segments + k, base + k], 1))
        self.add(vertices, np.array(tris), part, True)

    def shape(self, category: str, part_names, symmetry: str, params: dict) -> Shape:
        vertices = np.concatenate(self.vertices)
        vertices -= (vertices.min(0) + vertices.max(0)) / 2  # the tight box centred at 0
        return Shape(
            category=category,
            vertices=vertices,
            faces=np.concatenate(self.faces),
            parts=np.array(self.parts, np.int32),
            smooth=np.array(self.smooth, bool),
            part_names=tuple(part_names),
            symmetry=symmetry,
            params={k: round(float(v), 3) if not isinstance(v, bool) else v for k, v in params.items()},
        )


PARAMETERS = {
    "shoe": {
        "length": (0.22, 0.31),
        "width_share": (0.33, 0.40),
        "collar_share": (0.36, 0.48),
        "toe_spring": (0.005, 0.025),
        "sole": (0.012, 0.035),
        "laces": 0.75,
    },
    "box": {"width": (0.06, 0.30), "height": (0.08, 0.35), "depth": (0.03, 0.15)},
    "cup": {"radius": (0.03, 0.05), "height": (0.06, 0.12), "taper": (0.65, 1.0), "handle": 0.7},
    "bottle": {
        "radius": (0.025, 0.045),
        "body": (0.10, 0.22),
        "shoulder": (0.015, 0.05),
        "neck_share": (0.3, 0.5),
        "neck": (0.015, 0.05),
    },
    "chair": {
        "seat_width": (0.38, 0.52),
        "seat_depth": (0.38, 0.50),
        "seat_height": (0.40, 0.48),
        "leg": (0.025, 0.05),
        "back": (0.30, 0.50),
        "slats": 0.4,
    },
    "camera": {
        "width": (0.10, 0.15),
        "height": (0.06, 0.10),
        "depth": (0.035, 0.07),
        "lens_radius": (0.02, 0.035),
        "lens_length": (0.02, 0.08),
        "hump": 0.6,
    },
}
"""Per category: {parameter: (low, high) metres, uniform; or a probability for a yes/no part}."""


def _draw(rng: np.random.Generator, category: str) -> dict:
    return {
        name: (bool(rng.random() < spec) if isinstance(spec, float) else float(rng.uniform(*spec)))
        for name, spec in PARAMETERS[category].items()
    }


def _shoe(p: dict) -> Shape:
    """A sneaker along z (heel at -z, toe at +z, the front): a sole following the footprint with
    the toe sprung up, an upper lofted over it from a high collar to a low toe, laces across the
    instep."""
    b = _Builder()
    length, sole = p["length"], p["sole"]
    width, collar = length * p["width_share"], length * p["collar_share"]
    t = np.linspace(0, 1, 24)
    heel = np.sqrt(np.clip(1 - ((0.1 - np.minimum(t, 0.1)) / 0.1) ** 2, 0.02, 1))
    toe = np.sqrt(np.clip(1 - ((np.maximum(t, 0.72) - 0.72) / 0.28) ** 2, 0.02, 1))
    half = width / 2 * (0.78 + 0.22 * np.sin(np.pi / 2 * np.minimum(t / 0.7, 1))) * heel * toe
    bottom = p["toe_spring"] * (np.maximum(t - 0.6, 0) / 0.4) ** 2
    fall = (1 + np.cos(np.pi * np.clip((t - 0.25) / 0.75, 0, 1))) / 2  # 1 at the heel to 0 at the toe
    top = sole + (collar - sole) * (0.3 + 0.7 * fall)
    z = (t - 0.5) * length
    angles = np.linspace(0, 2 * math.pi, 20, endpoint=False)
    c, s = np.cos(angles), np.sin(angles)

    def ring(i, y0, y1, roundness, grow=1.0):
        x = half[i] * grow * np.sign(c) * np.abs(c) ** (2 / roundness)
        y = y0 + (y1 - y0) * (1 + np.sign(s) * np.abs(s) ** (2 / roundness)) / 2
        return np.stack([x, y, np.full_like(x, z[i])], 1)

    b.loft([ring(i, bottom[i], bottom[i] + sole, 8, 1.04) for i in range(len(t))], 0)
    b.loft([ring(i, bottom[i] + sole * 0.8, bottom[i] + top[i], 2.5) for i in range(len(t))], 1)
    if p["laces"]:
        for ti in np.linspace(0.4, 0.66, 5):
            i = int(round(ti * (len(t) - 1)))
            y = bottom[i] + top[i]
            across = np.linspace(-0.45, 0.45, 7)
            path = np.stack([across * half[i], y + 0.004 - 0.01 * across**2, np.full(7, z[i])], 1)
            b.tube(path, 0.0025, 2, segments=8)
    return b.shape("shoe", ("sole", "upper", "laces"), "none", p)


def _box(p: dict) -> Shape:
    b = _Builder()
    w, h, d = p["width"], p["height"], p["depth"]
    b.cuboid([-w / 2, 0, -d / 2], [w / 2, h, d / 2], 0)
    return b.shape("box", ("print",), "half-turn", p)


def _cup(p: dict) -> Shape:
    b = _Builder()
    r, h, wall = p["radius"], p["height"], 0.004
    rb = r * p["taper"]
    profile = [(0, 0), (rb, 0), (r, h), (r - wall, h), (rb - wall, wall), (0, wall)]
    b.lathe(profile, [0] * 5)
    if p["handle"]:
        size = h * 0.32
        angles = np.linspace(-math.pi / 2, math.pi / 2, 13)
        mid = (rb + r) / 2 - wall
        path = np.stack([mid + size * 1.1 * np.cos(angles), h * 0.55 + size * np.sin(angles), np.zeros(13)], 1)
        b.tube(path, 0.0055, 0)
    return b.shape("cup", ("glaze",), "none" if p["handle"] else "axial", p)


def _bottle(p: dict) -> Shape:
    b = _Builder()
    r, body, shoulder, neck = p["radius"], p["body"], p["shoulder"], p["neck"]
    rn = max(0.009, r * p["neck_share"])
    top = body + shoulder + neck
    cap = 0.018
    profile = [
        (0, 0),
        (r * 0.96, 0),
        (r, 0.006),
        (r, body * 0.25),
        (r, body * 0.8),
        (r, body),
        (rn + (r - rn) * 0.5, body + shoulder * 0.6),
        (rn, body + shoulder),
        (rn, top),
        (rn * 1.15, top),
        (rn * 1.15, top + cap),
        (0, top + cap),
    ]
    parts = [0, 0, 0, 1, 0, 0, 0, 0, 2, 2, 2]
    b.lathe(profile, parts)
    return b.shape("bottle", ("body", "label", "cap"), "axial", p)


def _chair(p: dict) -> Shape:
    b = _Builder()
    w, d, hs, leg, back = p["seat_width"], p["seat_depth"], p["seat_height"], p["leg"], p["back"]
    seat = 0.035
    for sx in (-1, 1):
        for sz in (-1, 1):
            x, z = sx * (w / 2 - leg / 2), sz * (d / 2 - leg / 2)
            top = hs - seat if sz > 0 else hs + back  # the back legs rise into the back's posts
            b.cuboid([x - leg / 2, 0, z - leg / 2], [x + leg / 2, top, z + leg / 2], 0)
    b.cuboid([-w / 2, hs - seat, -d / 2], [w / 2, hs, d / 2], 1)
    z0 = -d / 2
    if p["slats"]:
        for i in range(3):
            y = hs + back * (0.35 + 0.25 * i)
            b.cuboid([-w / 2 + leg, y, z0], [w / 2 - leg, y + back * 0.12, z0 + 0.02], 0)
    else:
        b.cuboid([-w / 2 + leg, hs + back * 0.3, z0], [w / 2 - leg, hs + back, z0 + 0.025], 1)
    return b.shape("chair", ("frame", "seat"), "none", p)


def _camera(p: dict) -> Shape:
    b = _Builder()
    w, h, d, rl, length = p["width"], p["height"], p["depth"], p["lens_radius"], p["lens_length"]
    rl = min(rl, h * 0.45)
    b.cuboid([-w / 2, 0, -d / 2], [w / 2, h, d / 2], 0)
    b.cuboid([w / 2 - w * 0.22, 0, d / 2], [w / 2 - 0.005, h * 0.85, d / 2 + 0.015], 0)  # the grip
    if p["hump"]:
        b.cuboid([-w * 0.15, h, -d / 2 + 0.005], [w * 0.15, h + h * 0.25, d / 2 - 0.01], 0)
    lens_x, lens_y = -w * 0.08, h * 0.48
    profile = [(rl, d / 2 - 0.002), (rl, d / 2 + length), (rl * 0.85, d / 2 + length), (0, d / 2 + length)]
    b.lathe(profile, [1, 1, 2], axis=(lens_x, lens_y), along="z")
    return b.shape("camera", ("body", "lens", "glass"), "none", p)


_MAKERS = {"shoe": _shoe, "box": _box, "cup": _cup, "bottle": _bottle, "chair": _chair, "camera": _camera}


def random_shape(rng: np.random.Generator, category: str) -> Shape:
    """A new instance of `category` (one of CATEGORIES) with parameters drawn from PARAMETERS."""
    if category not in _MAKERS:
        raise ValueError(f"unknown category {category!r}; expected one of {', '.join(CATEGORIES)}")
    return _MAKERS[category](_draw(rng, category))


def rotation_y(angle: float) -> np.ndarray:
    """[3, 3] the turn by `angle` radians about the object's y axis (z towards x)."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def canonical_rotation(rotation: np.ndarray, translation: np.ndarray, symmetry: str) -> np.ndarray:
    """The object-to-camera rotation [3, 3] among those `symmetry` makes equivalent whose front
    (+z) faces the camera most: for "axial", the turn about y that puts the camera in the object's
    y-z half-plane of positive z; for "half-turn", R or R Ry(180 deg), whichever sees the camera at
    positive z; "none" keeps R. translation [3]: the object's centre in camera space."""
    rotation = np.asarray(rotation, np.float64)
    if symmetry == "none":
        return rotation
    eye = -rotation.T @ np.asarray(translation, np.float64)  # the camera in the object's frame
    if symmetry == "half-turn":
        return rotation if eye[2] >= 0 else rotation @ rotation_y(math.pi)
    if symmetry == "axial":
        return rotation @ rotation_y(math.atan2(eye[0], eye[2]))
    raise ValueError(f"unknown symmetry {symmetry!r}; expected one of {', '.join(SYMMETRIES)}")
