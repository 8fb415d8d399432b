"""One labelled frame of a synthetic face, built and rendered with Blender (bpy, Cycles on the CPU).

scene.face_model=makehuman (the default): MakeHuman's whole head on its body (`makehuman`), shaped by
a random identity (the macro blends, the three ethnic blends) and face details, in an expression of
MakeHuman's expression units (`makehuman_face`), the head turned by the neck; skin in a Monk tone
with brows, lashes, eyes with an 11.7 mm iris, hair or a cap, a top on the shoulders (`human`).
The camera faces the body at the face's height. Labels: the refined mesh's 478 points bound to the
head (`makehuman_face.keypoints`). scene.face_model=mediapipe_mesh: MediaPipe's 468-vertex mesh
(`face_geometry`: its tesselation over a canonical shape), varied per frame by identity (width /
height / depth scales, smooth Gaussian bumps) and expression (jaw open, brow raise, blink, smile),
with eyeballs and a mouth cavity behind it. Around either, from `scene.BlenderScene`: backdrop,
world, lights and occluders (glasses, a cap, a hand).

Labels: the 478 points (the 468 mesh points, then 5 per iris: the `face_mesh_iris` topology)
projected (pixels; z relative to the nose tip at x's scale) and in camera metres, their ray-cast
visibility, the face box (of the mask for the mesh; of the 468 points for a head, whose mask is the
whole person), skin tone, the expression and (heads) the identity.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import bpy  # first: Blender's own modules (bmesh, mathutils) load with it

# isort: split
import bmesh
import numpy as np
from mathutils import Matrix, Vector

from blazeforge.synthetic import body_poses, human, makehuman, makehuman_body, makehuman_face
from blazeforge.synthetic.face_geometry import canonical_mesh, lower_lip, region, triangles
from blazeforge.synthetic.gestures import random_pose as random_gesture
from blazeforge.synthetic.kinematics import orientation
from blazeforge.synthetic.scene import MONK, BlenderScene, srgb_to_linear
from blazeforge.topology.face_mesh import NOSE_TIP

EYEBALL_RADIUS = 0.012  # metres
IRIS_RADIUS = 0.00585  # 11.7 mm iris diameter (MediaPipe Iris)
HEAD_VISIBLE_M = 0.004  # a bound point lies this close to the rendered (subdivided) skin


@dataclasses.dataclass
class Head:
    """A posed person framed for its face (`makehuman`'s frame, metres): its vertices [V, 3], the
    478 points [478, 3], and what it was made of."""

    vertices: np.ndarray
    keypoints: np.ndarray
    tone: int
    identity: makehuman.Identity
    expression: dict[str, float]
    angles: tuple[float, float, float]
    regions: np.ndarray


@dataclasses.dataclass
class Framing:
    """The camera on a head: its field of view (radians), its distance to the face (metres), its
    axes (rotation [3, 3], rows: right, up, back in `makehuman`'s frame) and position (eye [3])."""

    fov: float
    distance: float
    rotation: np.ndarray
    eye: np.ndarray

    def view(self, points: np.ndarray) -> np.ndarray:
        """`makehuman`'s frame [..., 3] -> the world the scene renders (the camera at the origin
        looking down -Z, +Y up)."""
        return (points - self.eye) @ self.rotation.T


class FaceScene(BlenderScene):
    """A Blender scene that renders labelled face frames; reuse one per process."""

    def render(self, rng: np.random.Generator, frame_path: Path, mask_path: Path) -> dict:
        """Render one randomized face to `frame_path` (RGB PNG) and `mask_path` (uint8 PNG, 1 = the
        face mesh, or the person a head is on).

        Returns the labels: keypoints [478, 3] (pixels; z relative to the nose tip), keypoints_camera
        [478, 3] (metres), visibility [478], box [4], camera intrinsics and meta (skin tone,
        expression parameters)."""
        self._clear()
        cfg = self.cfg
        if cfg.get("face_model", "mediapipe_mesh") == "makehuman":
            head = self.head(rng)
            return self.photograph(rng, head, self.frame(rng, head), frame_path, mask_path)
        tone = int(rng.integers(cfg.skin_tones[0], cfg.skin_tones[1] + 1))
        expression = {
            "jaw_open": float(rng.uniform(0, 1) ** 2 * cfg.expressions.jaw_open),
            "brow_raise": float(rng.uniform(0, 1) ** 2 * cfg.expressions.brow_raise),
            "blink": float(rng.uniform(0, 1) ** 3 * cfg.expressions.blink),
            "smile": float(rng.uniform(0, 1) ** 2 * cfg.expressions.smile),
        }
        local = _express(_identity(canonical_mesh(), rng, cfg.identity), expression)

        fov = math.radians(rng.uniform(*cfg.camera.fov_deg))
        self.camera.data.angle = fov
        distance = float(rng.uniform(*cfg.camera.distance_m))
        half = distance * math.tan(fov / 2)
        target = np.array([rng.uniform(-0.3, 0.3) * half, rng.uniform(-0.3, 0.3) * half, -distance])
        yaw, pitch, roll = (math.radians(rng.uniform(-a, a)) for a in cfg.head_pose_deg)
        rotation = orientation(yaw, pitch, roll)
        mesh = local @ rotation.T + target
        face, iris = self._face(mesh, rotation, tone, rng)
        world = np.concatenate([mesh, iris])  # the refined mesh's 478 points
        return {
            **self._shoot(
                rng, face, world, target, distance, fov, frame_path, mask_path, root=NOSE_TIP, tolerance=0.002
            ),
            "handedness": 0.0,
            "meta": {
                "skin_tone": tone,
                "expression": " ".join(f"{k}={v:.3f}" for k, v in expression.items()),
                "background": self.background,
            },
        }

    def head(self, rng: np.random.Generator, identity: makehuman.Identity | None = None, **fixed) -> Head:
        """A random head (see the module docstring); `identity`, and `expression` {name: strength}
        or `angles` (turn left, nod down, tilt left, degrees: scene.head_pose_deg's order) in
        `fixed`, replace the drawn ones."""
        cfg = self.cfg
        identity = identity or makehuman.Identity.random(rng)
        details = makehuman_face.random_details(rng, int(cfg.identity.details), float(cfg.identity.detail_weight))
        expression = {name: float(rng.uniform(0, 1) ** 2 * cfg.expressions[name]) for name in cfg.expressions}
        if rng.random() < cfg.get("wink_probability", 0.0):  # one eye closed instead of a blink
            expression["blink"] = 0.0
            expression[f"wink_{'left' if rng.random() < 0.5 else 'right'}"] = float(rng.uniform(0.5, 1.0))
        expression = fixed.get("expression", expression)
        angles = tuple(float(rng.uniform(-a, a)) for a in cfg.head_pose_deg)
        angles = tuple(fixed.get("angles", angles))
        morphs = details | makehuman_face.expression_morphs(expression, identity.ethnicity)
        body = makehuman.Body.shaped(identity, morphs)
        pose = dataclasses.replace(body_poses.POSES["standing"], head=(angles[1], angles[0], angles[2]))
        gestures = {side: random_gesture(rng, 0.5, 6.0)[0] for side in ("left", "right")}
        posed = body.pose(makehuman_body.rotations(body, pose, rng, gestures))
        regions, _ = human.outfit(rng)
        tone = int(rng.integers(cfg.skin_tones[0], cfg.skin_tones[1] + 1))
        keypoints = makehuman_face.keypoints(posed)
        return Head(posed.vertices, keypoints, tone, identity, expression, angles, regions)

    def frame(self, rng: np.random.Generator, head: Head) -> Framing:
        """The camera in front of the body (looking along +y) at a random distance from the face's
        centre, the face off the image's centre by up to camera.jitter of the half frame."""
        cfg = self.cfg.camera
        fov = math.radians(rng.uniform(*cfg.fov_deg))
        distance = float(rng.uniform(*cfg.distance_m))
        half = distance * math.tan(fov / 2)
        jitter = float(cfg.get("jitter", 0.3))
        centre = head.keypoints[:468].mean(0)
        target = centre + np.array([rng.uniform(-jitter, jitter), 0.0, rng.uniform(-jitter, jitter)]) * half
        rotation = np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]])  # rows: the camera's right, up, back
        return Framing(fov, distance, rotation, target - np.array([0.0, distance, 0.0]))

    def photograph(
        self, rng: np.random.Generator, head: Head, framing: Framing, frame_path: Path, mask_path: Path
    ) -> dict:
        """Dress and render `head` through `framing` (the frame, and the mask: 1 on the person);
        returns the labels as `render` does, the box that of the 468 points."""
        self._clear()
        self.camera.data.angle = framing.fov
        vertices = framing.view(head.vertices)
        parts = [
            self._link(o)
            for o in human.dress(rng, head.tone, head.regions, vertices, framing.fov, self.cfg.hair_probability)
        ]
        world = framing.view(head.keypoints)
        target = world[:468].mean(0)
        self._surroundings(rng, world, target, framing.distance, framing.fov)
        self._render(rng, frame_path)
        self._mask(parts, mask_path)
        keypoints, cam = self.project(world, framing.fov, NOSE_TIP)
        visibility = self._visibility(world, parts, keypoints[:, :2], HEAD_VISIBLE_M)
        turn, nod, tilt = head.angles
        return {
            "keypoints": keypoints,
            "keypoints_camera": cam,
            "visibility": visibility,
            "box": np.concatenate([keypoints[:468, :2].min(0), keypoints[:468, :2].max(0)]).astype(np.float32),
            "size": self.size,
            "camera": self.intrinsics(framing.fov),
            "handedness": 0.0,
            "meta": {
                "skin_tone": head.tone,
                "expression": " ".join(f"{k}={v:.3f}" for k, v in head.expression.items()),
                "head_pose": f"turn {turn:.0f} deg, nod {nod:.0f} deg, tilt {tilt:.0f} deg",
                "identity": head.identity.describe(),
                "background": self.background,
            },
        }

    def _face(self, world: np.ndarray, rotation: np.ndarray, tone: int, rng) -> tuple[list, np.ndarray]:
        """The face mesh, eyeballs with irises and the mouth cavity. Returns the face's objects and
        the 10 iris points [10, 3] (world metres) in the refined mesh's order: per eye (the subject's
        right first) the iris centre on the iris's front, then its rim towards the face's +x, +y,
        -x and -y for the right eye and mirrored (-x, +y, +x, -y) for the left, as MediaPipe's iris
        model gives them (it sees the left eye mirrored)."""
        mesh = bpy.data.meshes.new("face")
        mesh.from_pydata([tuple(v) for v in world], [], [tuple(int(i) for i in t) for t in triangles()])
        mesh.validate()
        for polygon in mesh.polygons:
            polygon.use_smooth = True
        skin = self._skin_material(srgb_to_linear(MONK[tone - 1]), rng)
        mesh.materials.append(skin)
        face = self._link(bpy.data.objects.new("face", mesh))
        forward = rotation @ np.array([0.0, 0.0, 1.0])
        objects = [face]
        iris_color = _linear_hsv(rng.uniform(0.05, 0.6), rng.uniform(0.3, 0.8), rng.uniform(0.05, 0.35))
        across, up = rotation @ np.array([1.0, 0.0, 0.0]), rotation @ np.array([0.0, 1.0, 0.0])
        points = []
        for side, mirror in (("RIGHT", 1.0), ("LEFT", -1.0)):
            rim = world[region(f"FACEMESH_{side}_EYE")]
            centre = rim.mean(0) - forward * EYEBALL_RADIUS * 0.75
            objects.append(self._sphere(f"eye_{side}", centre, EYEBALL_RADIUS, (0.8, 0.78, 0.75), 0.3))
            iris = centre + forward * EYEBALL_RADIUS * 0.92
            objects.append(self._sphere(f"iris_{side}", iris, IRIS_RADIUS, iris_color, 0.2, flatten=(rotation, 0.35)))
            side_way = mirror * across
            points += [
                iris + forward * IRIS_RADIUS * 0.35,
                iris + side_way * IRIS_RADIUS,
                iris + up * IRIS_RADIUS,
                iris - side_way * IRIS_RADIUS,
                iris - up * IRIS_RADIUS,
            ]
        lips = world[region("FACEMESH_LIPS")]
        objects.append(
            self._sphere(
                "mouth", lips.mean(0) - forward * 0.012, 0.022, (0.08, 0.02, 0.02), 0.8, flatten=(rotation, 0.5)
            )
        )
        return objects, np.array(points)

    def _occluder(self, rng, points: np.ndarray, fov: float):
        """One of scene.occluders.kinds in front of the face (its 478 points, metres): glasses (two
        rims and a bridge over the eyes), hair (a cap over the brow line) or a hand (a palm-sized
        slab of skin over the mouth, chin or a cheek). The ray-cast visibility labels what it hides."""
        kinds = list(self.cfg.occluders.kinds)
        kind = kinds[int(rng.integers(len(kinds)))]
        across = points[263] - points[33]
        across /= np.linalg.norm(across)
        up = points[10] - points[152]  # forehead top minus chin
        up -= across * (up @ across)
        up /= np.linalg.norm(up)
        basis = np.stack([across, up, np.cross(across, up)], 1)  # columns: the face's x, y, forward
        forward = basis[:, 2]
        if kind == "glasses":
            color = _linear_hsv(rng.random(), rng.uniform(0, 0.6), rng.uniform(0.02, 0.4))
            radius = float(rng.uniform(0.018, 0.026))
            for side in ("RIGHT", "LEFT"):
                centre = points[region(f"FACEMESH_{side}_EYE")].mean(0) + forward * 0.014
                self._rim(f"glasses_{side}", centre, basis, radius, color)
            bridge = (points[133] + points[362]) / 2 + forward * 0.016
            self._slab("bridge", bridge, basis, (0.012, 0.002, 0.002), color, 0.4)
        elif kind == "hair":
            color = _linear_hsv(rng.uniform(0.02, 0.12), rng.uniform(0.3, 0.8), rng.uniform(0.02, 0.5))
            brow = points[region("FACEMESH_RIGHT_EYEBROW")].tolist() + points[region("FACEMESH_LEFT_EYEBROW")].tolist()
            top = np.mean(brow, 0) + up * float(rng.uniform(0.055, 0.085)) - forward * 0.03
            width = float(np.linalg.norm(points[454] - points[234]))  # the face's width at the cheeks
            self._slab("hair", top, basis, (width * 0.62, 0.06, 0.11), color, 0.8, sphere=True)
        else:  # "hand" (render._validate allows these three)
            tone = MONK[int(rng.integers(len(MONK)))]
            target = points[[13, 152, 234, 454][int(rng.integers(4))]]
            centre = target + forward * float(rng.uniform(0.01, 0.03)) + rng.normal(0, 0.01, 3)
            turn = float(rng.uniform(-0.8, 0.8))
            c, s = math.cos(turn), math.sin(turn)
            tilted = basis @ np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
            self._slab("hand", centre, tilted, (0.04, 0.05, 0.012), srgb_to_linear(tone), 0.5, sphere=True)

    def _rim(self, name: str, centre, basis: np.ndarray, radius: float, color):
        """An open ring (a glasses rim) of `radius` around `centre`, facing the face's forward axis."""
        mesh = bpy.data.meshes.new(name)
        bm = bmesh.new()
        bmesh.ops.create_cone(bm, cap_ends=False, segments=24, radius1=radius, radius2=radius * 1.02, depth=0.004)
        bm.to_mesh(mesh)
        bm.free()
        self._place(name, mesh, centre, basis, (1, 1, 1), color, 0.3)

    def _slab(self, name: str, centre, basis: np.ndarray, half: tuple, color, roughness: float, sphere: bool = False):
        """A box (or an ellipsoid) of half-extents `half` along the basis' axes at `centre`."""
        mesh = bpy.data.meshes.new(name)
        bm = bmesh.new()
        if sphere:
            bmesh.ops.create_uvsphere(bm, u_segments=24, v_segments=12, radius=1.0)
        else:
            bmesh.ops.create_cube(bm, size=2.0)
        bm.to_mesh(mesh)
        bm.free()
        self._place(name, mesh, centre, basis, half, color, roughness)

    def _place(self, name: str, mesh, centre, basis: np.ndarray, scale: tuple, color, roughness: float):
        """Link `mesh` smooth-shaded in a plain material, scaled along and turned to the columns of
        `basis` [3, 3], at `centre`; returns the object."""
        for polygon in mesh.polygons:
            polygon.use_smooth = True
        mat = bpy.data.materials.new(name)
        mat.use_nodes = True
        bsdf = mat.node_tree.nodes["Principled BSDF"]
        bsdf.inputs["Base Color"].default_value = (*color, 1)
        bsdf.inputs["Roughness"].default_value = roughness
        mesh.materials.append(mat)
        obj = self._link(bpy.data.objects.new(name, mesh))
        rotation = Matrix([tuple(r) for r in basis]).to_4x4()
        obj.matrix_world = Matrix.Translation(Vector(tuple(centre))) @ rotation @ Matrix.Diagonal((*scale, 1))
        return obj

    def _sphere(self, name: str, centre, radius: float, color, roughness: float, flatten=None):
        """A UV sphere (flattened along the face's forward axis by `flatten` = (rotation, factor))."""
        mesh = bpy.data.meshes.new(name)
        bm = bmesh.new()
        bmesh.ops.create_uvsphere(bm, u_segments=24, v_segments=12, radius=radius)
        bm.to_mesh(mesh)
        bm.free()
        rotation, factor = flatten if flatten is not None else (np.eye(3), 1.0)
        return self._place(name, mesh, centre, np.asarray(rotation), (1, 1, factor), color, roughness)


def _identity(mesh: np.ndarray, rng, cfg) -> np.ndarray:
    """A person's face: width, height and depth scaled apart, plus smooth Gaussian bumps."""
    out = mesh * rng.uniform(1 - cfg.scale, 1 + cfg.scale, 3)
    for _ in range(int(cfg.bumps)):
        centre = mesh[rng.integers(len(mesh))]
        width = rng.uniform(0.015, 0.04)
        weight = np.exp(-np.sum((mesh - centre) ** 2, 1) / (2 * width**2))[:, None]
        out = out + weight * rng.normal(0, cfg.bump_mm / 1000, 3)
    return out


def _express(mesh: np.ndarray, expression: dict) -> np.ndarray:
    """Jaw open (the lower face, lower lip included, turned down about an axis behind the mouth
    corners by up to 18 degrees, weighted smoothly by height below the mouth), brow raise (the
    brows and the skin within about a centimetre lifted by up to 6 mm), blink (the upper lids
    lowered onto the lower ones, the skin above following) and smile (the mouth corners 4 mm out
    and up, the cheeks around them following), each in [0, 1]."""
    out = mesh.copy()
    corners = mesh[[61, 291]]
    mouth_y = corners[:, 1].mean()
    pivot = np.array([0.0, mouth_y + 0.01, corners[:, 2].mean() - 0.05])
    below = np.clip((mouth_y + 0.004 - mesh[:, 1]) / 0.02, 0, 1)  # 0 above the mouth, 1 from 2 cm below
    below[region("FACEMESH_LIPS")] = 0  # the upper lip (and the corners) stay with the skull,
    below[lower_lip()] = 1  # the lower lip goes with the jaw
    angle = math.radians(18) * expression["jaw_open"] * below
    rel = mesh - pivot
    c, s = np.cos(angle), np.sin(angle)
    out[:, 1] = pivot[1] + rel[:, 1] * c - rel[:, 2] * s  # the chin goes down and back
    out[:, 2] = pivot[2] + rel[:, 1] * s + rel[:, 2] * c
    brows = np.concatenate([region("FACEMESH_LEFT_EYEBROW"), region("FACEMESH_RIGHT_EYEBROW")])
    out[:, 1] += _near(mesh, brows, 0.008) * 0.006 * expression["brow_raise"]
    for side in ("LEFT", "RIGHT"):  # blink: each upper-lid point moves down to the lower lid below it
        eye = region(f"FACEMESH_{side}_EYE")
        mid = mesh[eye, 1].mean()
        upper, lower = eye[mesh[eye, 1] > mid], eye[mesh[eye, 1] <= mid]
        shift = np.zeros((len(mesh), 3))
        for u in upper:
            below_u = lower[np.argmin(np.abs(mesh[lower, 0] - mesh[u, 0]))]
            shift[u] = (mesh[below_u] - mesh[u]) * 0.95 * expression["blink"]
        weight = _near(mesh, upper, 0.006)[:, None]
        spread = np.array([shift[upper[np.argmin(np.linalg.norm(mesh[upper] - v, axis=1))]] for v in mesh])
        out += np.where(np.isin(np.arange(len(mesh)), upper)[:, None], shift, weight * spread * 0.8)
    for corner, sign in ((61, -1.0), (291, 1.0)):  # smile: the mouth corners out and up, the cheeks with them
        weight = np.exp(-np.sum((mesh - mesh[corner]) ** 2, 1) / (2 * 0.012**2))[:, None]
        out += weight * np.array([sign * 0.004, 0.004, 0.0]) * expression["smile"]
    return out


def _near(mesh: np.ndarray, points: np.ndarray, width: float) -> np.ndarray:
    """[V] in [0, 1]: how close each vertex is to the nearest of `points` (Gaussian of width metres)."""
    d2 = ((mesh[:, None, :] - mesh[None, points, :]) ** 2).sum(-1).min(1)
    return np.exp(-d2 / (2 * width**2))


def _linear_hsv(h: float, s: float, v: float) -> tuple:
    import colorsys

    return srgb_to_linear(colorsys.hsv_to_rgb(h, s, v))
