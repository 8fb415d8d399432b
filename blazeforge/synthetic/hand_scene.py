"""One labelled frame of a synthetic hand, built and rendered with Blender (bpy, Cycles on the CPU).

scene.hand_model=makehuman (the default): MakeHuman's body, shaped per identity, its arm posed at
random and its fingers by the gesture library (`makehuman_hand`), skinned, clothed, its skin in a
Monk tone (`human`); the camera faces the palm or the back of the hand. scene.hand_model=procedural:
a Skin-modifier hull over the posed skeleton (forearm, a palm of five fanned bones, tapering
fingers with knuckle bulges), smoothed by Subdivision Surface, with nails on the distal segments
and a subsurface-scattering skin material. Around either, from `scene.BlenderScene`: a photo,
procedural or HDRI backdrop, an HDRI / sky / colour world, 1-3 area lights and random occluders.
"""

from __future__ import annotations

import math
from pathlib import Path

import bpy
import numpy as np
from mathutils import Matrix, Vector

from blazeforge.synthetic.gestures import random_pose
from blazeforge.synthetic.kinematics import HandShape, forward_kinematics, random_rotation
from blazeforge.synthetic.scene import MONK, BlenderScene, cube_mesh, srgb_to_linear
from blazeforge.topology.hand import FINGERS, finger_chain

# Skin radii (metres) at each joint of a finger, base to tip, before the per-finger scale.
FINGER_RADII = (0.0118, 0.0104, 0.0093, 0.0084)
FINGER_SCALE = {"thumb": 1.12, "index": 1.0, "middle": 1.04, "ring": 0.96, "pinky": 0.84}


def _clear_view(vertices: np.ndarray, target: np.ndarray, hand_radius: float) -> bool:
    """Whether the ray from the camera (the origin) to `target` meets the mesh only within
    `hand_radius` metres of the target (the hand itself), not the arm or body in front of it."""
    from mathutils.bvhtree import BVHTree

    from blazeforge.synthetic import makehuman

    data = makehuman.compiled()
    quads = data["faces"][makehuman.group_faces(("body",))]
    tree = BVHTree.FromPolygons(vertices.tolist(), quads.tolist())
    direction = Vector(target / np.linalg.norm(target))
    hit, _, _, distance = tree.ray_cast(Vector((0, 0, 0)), direction)
    return hit is None or distance > np.linalg.norm(target) - hand_radius


class HandScene(BlenderScene):
    """A Blender scene that renders labelled hand frames; reuse one per process."""

    def render(self, rng: np.random.Generator, frame_path: Path, mask_path: Path) -> dict:
        """Render one randomized frame to `frame_path` (RGB PNG) and `mask_path` (uint8 PNG, 1 = hand).

        Returns the labels: keypoints [21, 3] (pixels; z relative to the wrist), keypoints_camera
        [21, 3] (metres), visibility [21], box [4], handedness, camera intrinsics and meta.
        """
        self._clear()
        cfg = self.cfg
        left = bool(rng.random() < cfg.left_fraction)
        tone = int(rng.integers(cfg.skin_tones[0], cfg.skin_tones[1] + 1))
        pose, gesture = random_pose(rng, cfg.gesture_blend, cfg.pose_noise_deg)
        shape = HandShape.random(rng)
        if cfg.get("hand_model", "procedural") == "makehuman":
            return self._makehuman(rng, left, tone, pose, gesture, shape, frame_path, mask_path)
        frames: dict = {}
        local = forward_kinematics(pose, shape, left, frames)

        fov = math.radians(rng.uniform(*cfg.camera.fov_deg))
        self.camera.data.angle = fov
        distance = float(rng.uniform(*cfg.camera.distance_m))
        rotation = random_rotation(rng)
        half = distance * math.tan(fov / 2)
        jitter = float(cfg.camera.get("jitter", 0.35))
        target = np.array([rng.uniform(-jitter, jitter) * half, rng.uniform(-jitter, jitter) * half, -distance])
        center = local.mean(0)
        world = (local - center) @ rotation.T + target
        frames = {f: rotation @ m for f, m in frames.items()}

        hand = self._hand(world, frames, tone, rng)
        return {
            **self._shoot(rng, hand, world, target, distance, fov, frame_path, mask_path, root=0),
            "handedness": 0.0 if left else 1.0,
            "meta": {"skin_tone": tone, "gesture": gesture, "left": left},
        }

    def _makehuman(
        self, rng, left: bool, tone: int, pose: dict, gesture: str, shape: HandShape, frame_path, mask_path
    ) -> dict:
        """The frame with MakeHuman's body: a random identity, the arm posed at random and the
        fingers by `pose`, the camera around the hand as `random_rotation` turns it."""
        from blazeforge.synthetic import human, makehuman, makehuman_hand

        cfg = self.cfg
        side = "left" if left else "right"
        identity = makehuman.Identity.random(rng)
        body = makehuman.Body.shaped(identity)
        arm = makehuman_hand.arm_rotations(body, side, rng)
        wrist = arm[makehuman_hand.bone("wrist", side)]
        fingers = makehuman_hand.finger_rotations(body, side, pose, wrist, shape)
        posed = body.pose(arm | fingers)
        keypoints = makehuman_hand.keypoints(posed, side)
        _, frame = makehuman_hand.hand_frame(posed, side)
        proper = frame @ np.diag([1.0 if not left else -1.0, 1, 1])  # a rotation for either hand

        fov = math.radians(rng.uniform(*cfg.camera.fov_deg))
        self.camera.data.angle = fov
        # The distance at which the hand (wrist to the farthest point) spans a random share of the frame.
        span = 2 * np.linalg.norm(keypoints - keypoints.mean(0), axis=1).max()
        share = float(rng.uniform(*cfg.camera.get("hand_share", (0.35, 0.7))))
        distance = float(np.clip(span / share / (2 * math.tan(fov / 2)), *cfg.camera.distance_m))
        half = distance * math.tan(fov / 2)
        jitter = float(cfg.camera.get("jitter", 0.35))
        target = np.array([rng.uniform(-jitter, jitter) * half, rng.uniform(-jitter, jitter) * half, -distance])
        center = keypoints.mean(0)
        for _ in range(12):  # a view that the rest of the body does not block
            turn = random_rotation(rng, cfg.camera.get("yaw_sd_deg"), cfg.camera.get("pitch_deg", math.degrees(0.9)))
            to_camera = turn @ proper.T
            vertices = (posed.vertices - center) @ to_camera.T + target
            if _clear_view(vertices, target, hand_radius=0.1):
                break
        world = (keypoints - center) @ to_camera.T + target

        sleeves = ("none", "short", "long")[int(rng.integers(3))]
        bare = human.bare_skin(side, sleeves)
        materials = [human.skin_material(tone, rng), human.cloth_material(rng)]
        regions = (~bare).astype(np.int32)  # 0 skin, 1 the sleeve
        obj = self._link(human.body_object(vertices, regions, materials, keep=human.in_view(vertices, fov)))
        return {
            **self._shoot(rng, [obj], world, target, distance, fov, frame_path, mask_path, root=0),
            "handedness": 0.0 if left else 1.0,
            "meta": {"skin_tone": tone, "gesture": gesture, "left": left, "background": self.background},
        }

    # ----------------------------------------------------------------------------------------
    def _hand(self, joints: np.ndarray, frames: dict, tone: int, rng) -> list:
        """The hand mesh (skin hull + nails) through `joints` [21, 3] (world metres); returns its objects."""
        verts, radii, edges = [], [], []

        def add(point, radius, parent=None):
            verts.append(tuple(point))
            radii.append(radius)
            if parent is not None:
                edges.append((parent, len(verts) - 1))
            return len(verts) - 1

        s = float(rng.uniform(0.92, 1.08))  # slimmer or fuller hands
        wrist = joints[0]
        palm_axis = joints[9] - wrist
        palm_axis /= np.linalg.norm(palm_axis)
        w = add(wrist, 0.021 * s)
        arm = add(wrist - palm_axis * 0.05, 0.023 * s, w)
        add(wrist - palm_axis * 0.09, 0.025 * s, arm)
        for finger in FINGERS:
            chain = finger_chain(finger)
            k = FINGER_SCALE[finger] * s
            if finger == "thumb":
                parent = add(wrist + (joints[chain[0]] - wrist) * 0.5, 0.016 * s, w)
                parent = add(joints[chain[0]], 0.0135 * k, parent)
            else:
                parent = add(wrist + (joints[chain[0]] - wrist) * 0.45, 0.0165 * s, w)
                parent = add(wrist + (joints[chain[0]] - wrist) * 0.8, 0.015 * s, parent)
                parent = add(joints[chain[0]], FINGER_RADII[0] * k * 1.2, parent)
            for j in range(1, 4):
                point, radius = joints[chain[j]], FINGER_RADII[j] * k
                if j == 3:  # the hull's cap reaches ~a radius past its last vertex
                    direction = point - joints[chain[2]]
                    point = point - direction / np.linalg.norm(direction) * radius * 0.9
                parent = add(point, radius, parent)

        mesh = bpy.data.meshes.new("hand")
        mesh.from_pydata(verts, edges, [])
        obj = self._link(bpy.data.objects.new("hand", mesh))
        skin = obj.modifiers.new("skin", "SKIN")
        skin.use_smooth_shade = True
        skin.branch_smoothing = 0.6
        for i, r in enumerate(radii):
            obj.data.skin_vertices[0].data[i].radius = (r, r)
        obj.data.skin_vertices[0].data[2].use_root = True
        sub = obj.modifiers.new("smooth", "SUBSURF")
        sub.levels = sub.render_levels = 2
        skin_color = srgb_to_linear(MONK[tone - 1])
        obj.data.materials.append(self._skin_material(skin_color, rng))

        nail_mat = self._nail_material(skin_color)
        objects = [obj]
        for finger in FINGERS:
            chain = finger_chain(finger)
            frame = frames[finger]
            side, along, palm = frame[:, 0], frame[:, 1], frame[:, 2]
            radius = FINGER_RADII[3] * FINGER_SCALE[finger] * s
            tip = joints[chain[3]]
            center = tip - along * radius * 1.5 - palm * radius * 0.78
            nail = bpy.data.objects.new(f"nail_{finger}", bpy.data.meshes.new("nail"))
            cube_mesh(nail.data)
            basis = Matrix([tuple(side), tuple(along), tuple(-palm)]).transposed()
            nail.matrix_world = (
                Matrix.Translation(Vector(center))
                @ basis.to_4x4()
                @ Matrix.Diagonal((radius * 0.75, radius * 1.3, 0.0012, 1.0))
            )
            nail.modifiers.new("smooth", "SUBSURF").render_levels = 2
            nail.data.materials.append(nail_mat)
            objects.append(self._link(nail))
        return objects

    def _nail_material(self, skin_color):
        mat = bpy.data.materials.new("nail")
        mat.use_nodes = True
        bsdf = mat.node_tree.nodes["Principled BSDF"]
        nail = tuple(0.45 * c + 0.55 * p for c, p in zip(skin_color, srgb_to_linear("f2d4cc")))
        bsdf.inputs["Base Color"].default_value = (*nail, 1)
        bsdf.inputs["Roughness"].default_value = 0.25
        bsdf.inputs["Coat Weight"].default_value = 0.5
        return mat
