"""Faces on MakeHuman's head (`makehuman`), as numpy: the face's details per identity, expressions from
MakeHuman's expression units, and MediaPipe's refined mesh of 478 points carried by the head.

Details: MakeHuman's head, nose, mouth, eyes, ears and chin targets (`makehuman.FACE_TARGET_DIRS`),
a few drawn per face; a left-side target comes with its right-side twin (faces are near-symmetric).
Expressions: named in EXPRESSIONS as weights of MakeHuman's expression units (each unit exists per
ethnicity; a person's units blend by their ethnic shares, as MakeHuman blends them).

The 478 points (the `face_mesh_iris` topology): the 468 mesh points are bound to the skin's
triangles by barycentric coordinates (`face_binding.json`, fitted by `tools/face_binding.py`: the
published face model run on frontal renders of neutral heads, each predicted point cast onto the
head's surface and averaged over the renders where that surface faces the camera), so every
identity, expression and head pose carries them; the 10 iris points are the iris's geometry on the
eyeball helper (centre on the front of the eyeball, rim at the 11.7 mm iris's edge).
Frames and units: `makehuman`'s (z up, the body faces -y, its left at +x), metres.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from blazeforge.errors import BlazeforgeError
from blazeforge.synthetic import makehuman

BINDING_PATH = Path(__file__).with_name("face_binding.json")
IRIS_RADIUS_M = 0.00585  # 11.7 mm across (MediaPipe Iris)
# The head's bones: the skull and jaw and the face rig's (eyes, lids, lips, cheeks, tongue).
HEAD_BONES = ("head", "jaw", "eye", "levator", "oculi", "orbicularis", "oris", "risorius", "special",
              "temporalis", "tongue")  # fmt: skip
# Expressions as weights of MakeHuman's expression units (targets/expression/units/ETHNICITY/UNIT).
EXPRESSIONS = {
    "jaw_open": {"mouth-open": 1.0},
    "smile": {"mouth-corner-puller": 1.0, "mouth-elevation": 0.3},
    "blink": {"eye-left-closure": 1.0, "eye-right-closure": 1.0},
    "wink_left": {"eye-left-closure": 1.0},
    "wink_right": {"eye-right-closure": 1.0},
    "brow_raise": {"eyebrows-left-up": 1.0, "eyebrows-right-up": 1.0},
    "frown": {"eyebrows-left-down": 1.0, "eyebrows-right-down": 1.0, "mouth-depression": 0.5},
    "pucker": {"mouth-pursing": 1.0},
}


def detail_names() -> list[str]:
    """The face-detail targets one may draw: each of FACE_TARGET_DIRS' targets but the right-side
    ones (which follow their left twins)."""
    names = makehuman.compiled()["targets"]
    folders = tuple(f"{d}/" for d in makehuman.FACE_TARGET_DIRS)
    return sorted(n for n in names if n.startswith(folders) and "/r-" not in n)


def random_details(rng: np.random.Generator, count: int, amount: float) -> dict[str, float]:
    """{target: weight} of `count` face details, each of weight uniform in [0, amount]; a left-side
    target's right twin at the same weight within 10%."""
    names = detail_names()
    out = {}
    for i in rng.choice(len(names), size=min(count, len(names)), replace=False):
        name, weight = names[int(i)], float(rng.uniform(0, amount))
        out[name] = weight
        if "/l-" in name:
            out[name.replace("/l-", "/r-")] = weight * float(rng.uniform(0.9, 1.1))
    return out


def expression_morphs(expression: dict[str, float], ethnicity: tuple[float, float, float]) -> dict[str, float]:
    """{target: weight} of an expression {EXPRESSIONS name: strength in [0, 1]} for a person of
    `ethnicity` (shares of makehuman.ETHNICITIES)."""
    out: dict[str, float] = {}
    for name, strength in expression.items():
        if name not in EXPRESSIONS:
            raise BlazeforgeError(name, f"not an expression; expected one of {', '.join(EXPRESSIONS)}")
        for unit, weight in EXPRESSIONS[name].items():
            for share, ethnic in zip(ethnicity, makehuman.ETHNICITIES):
                key = f"expression/units/{ethnic}/{unit}"
                out[key] = out.get(key, 0.0) + strength * weight * share
    return {k: v for k, v in out.items() if v > 1e-6}


# ---- the 478 points ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Binding:
    """Points on a mesh by barycentric coordinates: vertices [P, 3] (base.obj indices of each
    point's triangle) and weights [P, 3] (summing to 1)."""

    vertices: np.ndarray
    weights: np.ndarray

    def points(self, mesh: np.ndarray) -> np.ndarray:
        """[P, 3] the bound points on `mesh` [V, 3] (base.obj's vertices, in any pose)."""
        return np.einsum("pk,pkc->pc", self.weights, mesh[self.vertices])


@cache
def binding() -> Binding:
    """The 468 face-mesh points' binding (face_binding.json)."""
    if not BINDING_PATH.is_file():
        raise BlazeforgeError(BINDING_PATH, "missing; fit it with tools/face_binding.py")
    data = json.loads(BINDING_PATH.read_text())
    return Binding(np.array(data["vertices"], np.int64), np.array(data["weights"], np.float64))


def skin_triangles() -> np.ndarray:
    """[T, 3] base.obj vertex indices of the head's skin as triangles (each quad split in two)."""
    data = makehuman.compiled()
    quads = data["faces"][makehuman.group_faces(("body",))]
    head = makehuman.bone_share(tuple(b for b in map(str, data["bones"]) if b.startswith(HEAD_BONES))) > 0.5
    quads = quads[head[quads].any(1)]
    return np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]])


def closest_on_triangles(points: np.ndarray, mesh: np.ndarray, triangles: np.ndarray) -> Binding:
    """The closest surface points of `triangles` [T, 3] on `mesh` [V, 3] to `points` [P, 3], as a
    Binding (exact point-triangle distance, by projecting onto each triangle's plane and clamping
    to its edges)."""
    a, b, c = (mesh[triangles[:, i]] for i in range(3))
    out_v, out_w = [], []
    for p in points:
        w = _barycentric_closest(p, a, b, c)
        q = w[:, :1] * a + w[:, 1:2] * b + w[:, 2:] * c
        best = int(np.argmin(np.sum((q - p) ** 2, 1)))
        out_v.append(triangles[best])
        out_w.append(w[best])
    return Binding(np.array(out_v), np.array(out_w))


def _barycentric_closest(p: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """[T, 3] barycentric weights of the closest point to p [3] on each triangle (a, b, c [T, 3])."""
    ab, ac, ap = b - a, c - a, p - a
    d00, d01, d11 = (ab * ab).sum(1), (ab * ac).sum(1), (ac * ac).sum(1)
    d20, d21 = (ap * ab).sum(1), (ap * ac).sum(1)
    denom = np.maximum(d00 * d11 - d01 * d01, 1e-18)
    v = (d11 * d20 - d01 * d21) / denom
    w = (d00 * d21 - d01 * d20) / denom
    weights = np.stack([1 - v - w, v, w], 1)
    inside = (weights >= 0).all(1)
    best = np.where(inside[:, None], weights, np.nan)
    best_d = np.where(
        inside, np.sum((weights[:, :1] * a + weights[:, 1:2] * b + weights[:, 2:] * c - p) ** 2, 1), np.inf
    )
    for i, j in ((0, 1), (1, 2), (2, 0)):  # the closest point on each edge
        x, y = (a, b, c)[i], (a, b, c)[j]
        t = np.clip(((p - x) * (y - x)).sum(1) / np.maximum(((y - x) ** 2).sum(1), 1e-18), 0, 1)
        q = x + t[:, None] * (y - x)
        d = np.sum((q - p) ** 2, 1)
        better = d < best_d
        edge = np.zeros_like(weights)
        edge[:, i], edge[:, j] = 1 - t, t
        best = np.where(better[:, None], edge, best)
        best_d = np.where(better, d, best_d)
    return best


def iris_points(posed: makehuman.Posed) -> np.ndarray:
    """[10, 3] the irises' points in the refined mesh's order: per eye (the subject's right first)
    the iris centre on the front of the eyeball, then its rim towards the face's +x (the subject's
    left), +y, -x and -y for the right eye and mirrored (-x, +y, +x, -y) for the left, as MediaPipe's
    iris model gives them (it sees the left eye mirrored)."""
    rest = makehuman.compiled()["vertices"]
    head = posed.rotations[posed.body.bone("head")]
    across, up = head @ np.array([1.0, 0, 0]), head @ np.array([0, 0, 1.0])
    out = []
    for side, mirror in (("right", 1.0), ("left", -1.0)):
        eye = makehuman._group_vertices()[f"helper-{makehuman.SIDES[side][1]}-eye"]
        centre = posed.vertices[eye].mean(0)
        pole = posed.vertices[eye[np.argmin(rest[eye, 1])]]
        radius = np.linalg.norm(pole - centre)
        forward = (pole - centre) / radius
        angle = np.arcsin(min(1.0, IRIS_RADIUS_M / radius))
        rim = []
        for direction in (mirror * across, up, -mirror * across, -up):
            d = direction - forward * (direction @ forward)
            d /= np.linalg.norm(d)
            rim.append(centre + radius * (np.cos(angle) * forward + np.sin(angle) * d))
        out += [pole, *rim]
    return np.array(out)


def keypoints(posed: makehuman.Posed) -> np.ndarray:
    """[478, 3] the refined face mesh's points on a posed head (see the module docstring)."""
    return np.concatenate([binding().points(posed.vertices), iris_points(posed)])
