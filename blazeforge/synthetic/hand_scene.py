"""One labelled frame of a synthetic hand, built and rendered with Blender (bpy, Cycles on the CPU).

The hand is a Skin-modifier hull over the posed skeleton (forearm, a palm of five fanned bones,
tapering fingers with knuckle bulges), smoothed by Subdivision Surface, with nails on the distal
segments and a subsurface-scattering skin material in a Monk-scale tone. Around it: a procedural or
photographic backdrop, a sky / colour / HDRI world, 1-3 area lights and random occluders.

World frame: the camera sits at the origin looking down -Z with +Y up, so camera coordinates
(x right, y down, z forward) are (X, -Y, -Z).
"""

from __future__ import annotations

import math
from pathlib import Path

import bpy
import cv2
import numpy as np
from mathutils import Matrix, Vector

from blazeforge.synthetic.assets import HDRI_SUFFIXES, IMAGE_SUFFIXES, list_files
from blazeforge.synthetic.gestures import random_pose
from blazeforge.synthetic.kinematics import HandShape, forward_kinematics, random_rotation
from blazeforge.topology.hand import FINGERS, finger_chain

# The Monk Skin Tone scale's ten published swatches (sRGB), tone 1 (lightest) to 10.
MONK = ("f6ede4", "f3e7db", "f7ead0", "eadaba", "d7bd96", "a07e56", "825c43", "604134", "3a312a", "292420")
# Skin radii (metres) at each joint of a finger, base to tip, before the per-finger scale.
FINGER_RADII = (0.0118, 0.0104, 0.0093, 0.0084)
FINGER_SCALE = {"thumb": 1.12, "index": 1.0, "middle": 1.04, "ring": 0.96, "pinky": 0.84}
def srgb_to_linear(hex_or_rgb) -> tuple[float, float, float]:
    rgb = np.array([int(hex_or_rgb[i:i + 2], 16) / 255 for i in (0, 2, 4)]) if isinstance(hex_or_rgb, str) \
        else np.asarray(hex_or_rgb, float)
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return tuple(float(c) for c in lin)


class HandScene:
    """A Blender scene that renders labelled hand frames; reuse one per process."""

    def __init__(self, scene_cfg, resolution: int, samples: int, threads: int = 0):
        self.cfg = scene_cfg
        self.size = int(resolution)
        self.hdris = list_files(scene_cfg.lighting.hdri_dir, HDRI_SUFFIXES, "scene.lighting.hdri_dir")
        self.backgrounds = list_files(scene_cfg.background.image_dir, IMAGE_SUFFIXES, "scene.background.image_dir")
        bpy.ops.wm.read_factory_settings(use_empty=True)
        scene = bpy.context.scene
        scene.render.engine = "CYCLES"
        scene.cycles.device = "CPU"
        scene.cycles.samples = int(samples)
        scene.cycles.use_denoising = False  # OIDN costs more than the path tracing at 256 px
        scene.cycles.max_bounces = 4
        scene.render.resolution_x = scene.render.resolution_y = self.size
        scene.render.resolution_percentage = 100
        scene.render.image_settings.file_format = "PNG"
        scene.render.image_settings.color_mode = "RGB"
        if threads:
            scene.render.threads_mode = "FIXED"
            scene.render.threads = int(threads)
        camera = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
        scene.collection.objects.link(camera)
        camera.data.sensor_fit = "HORIZONTAL"
        scene.camera = camera
        scene.world = bpy.data.worlds.new("world")
        scene.world.use_nodes = True
        self.scene, self.camera = scene, camera
        self.frame_objects: list = []

    # ----------------------------------------------------------------------------------------
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
        frames: dict = {}
        local = forward_kinematics(pose, shape, left, frames)

        fov = math.radians(rng.uniform(*cfg.camera.fov_deg))
        self.camera.data.angle = fov
        distance = float(rng.uniform(*cfg.camera.distance_m))
        rotation = random_rotation(rng)
        half = distance * math.tan(fov / 2)
        target = np.array([rng.uniform(-0.35, 0.35) * half, rng.uniform(-0.35, 0.35) * half, -distance])
        center = local.mean(0)
        world = (local - center) @ rotation.T + target
        frames = {f: rotation @ m for f, m in frames.items()}

        hand = self._hand(world, frames, tone, rng)
        self._backdrop(rng, distance, fov)
        self._lighting(rng, target)
        if rng.random() < cfg.occluders.probability:
            for _ in range(int(rng.integers(1, cfg.occluders.max_count + 1))):
                self._occluder(rng, world, fov)

        self.scene.cycles.seed = int(rng.integers(2**31 - 1))
        self.scene.render.filepath = str(frame_path)
        _render_quietly()
        mask = self._mask(hand, mask_path)

        f = self.size / 2 / math.tan(fov / 2)
        cam = world * np.array([1, -1, -1])  # camera coordinates, metres
        uv = cam[:, :2] / cam[:, 2:3] * f + self.size / 2
        z = (cam[:, 2] - cam[0, 2]) * f / cam[0, 2]
        visibility = self._visibility(world, hand, uv)
        ys, xs = np.nonzero(mask)
        box = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1] if len(xs) else \
            [*uv.min(0), *uv.max(0)]
        return {
            "keypoints": np.concatenate([uv, z[:, None]], 1), "keypoints_camera": cam,
            "visibility": visibility, "box": np.asarray(box, np.float32), "handedness": 0.0 if left else 1.0,
            "camera": {"fx": f, "fy": f, "cx": self.size / 2, "cy": self.size / 2}, "size": self.size,
            "meta": {"skin_tone": tone, "gesture": gesture, "left": left},
        }

    # ----------------------------------------------------------------------------------------
    def _link(self, obj):
        self.scene.collection.objects.link(obj)
        self.frame_objects.append(obj)
        return obj

    def _clear(self):
        for obj in self.frame_objects:
            bpy.data.objects.remove(obj, do_unlink=True)
        self.frame_objects = []
        for collection in (bpy.data.meshes, bpy.data.materials, bpy.data.lights, bpy.data.images,
                           bpy.data.node_groups):
            for block in list(collection):
                if block.users == 0:
                    collection.remove(block)

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
            _cube(nail.data)
            basis = Matrix([tuple(side), tuple(along), tuple(-palm)]).transposed()
            nail.matrix_world = Matrix.Translation(Vector(center)) @ basis.to_4x4() @ \
                Matrix.Diagonal((radius * 0.75, radius * 1.3, 0.0012, 1.0))
            nail.modifiers.new("smooth", "SUBSURF").render_levels = 2
            nail.data.materials.append(nail_mat)
            objects.append(self._link(nail))
        return objects

    def _skin_material(self, color, rng):
        mat = bpy.data.materials.new("skin")
        mat.use_nodes = True
        nodes, links = mat.node_tree.nodes, mat.node_tree.links
        bsdf = nodes["Principled BSDF"]
        # Skin is redder at creases and knuckles: blend towards a flushed tone with a noise texture.
        flushed = tuple(c * f for c, f in zip(color, (1.05, 0.78, 0.72)))
        noise = nodes.new("ShaderNodeTexNoise")
        noise.inputs["Scale"].default_value = float(rng.uniform(40, 120))
        noise.inputs["Detail"].default_value = 1.0
        mix = nodes.new("ShaderNodeMix")
        mix.data_type = "RGBA"
        # The Mix node has one socket per data type under each name: pick the colour ones.
        socket = lambda sockets, identifier: next(x for x in sockets if x.identifier == identifier)  # noqa: E731
        socket(mix.inputs, "A_Color").default_value = (*color, 1)
        socket(mix.inputs, "B_Color").default_value = (*flushed, 1)
        links.new(noise.outputs["Fac"], socket(mix.inputs, "Factor_Float"))
        links.new(socket(mix.outputs, "Result_Color"), bsdf.inputs["Base Color"])
        bsdf.inputs["Roughness"].default_value = float(rng.uniform(0.4, 0.65))
        bsdf.inputs["Subsurface Weight"].default_value = float(rng.uniform(0.25, 0.5))
        bsdf.inputs["Subsurface Radius"].default_value = (1.0, 0.35, 0.2)
        bsdf.inputs["Subsurface Scale"].default_value = 0.004
        pores = nodes.new("ShaderNodeTexNoise")
        pores.inputs["Scale"].default_value = 900.0
        bump = nodes.new("ShaderNodeBump")
        bump.inputs["Strength"].default_value = 0.08
        links.new(pores.outputs["Fac"], bump.inputs["Height"])
        links.new(bump.outputs["Normal"], bsdf.inputs["Normal"])
        return mat

    def _nail_material(self, skin_color):
        mat = bpy.data.materials.new("nail")
        mat.use_nodes = True
        bsdf = mat.node_tree.nodes["Principled BSDF"]
        nail = tuple(0.45 * c + 0.55 * p for c, p in zip(skin_color, srgb_to_linear("f2d4cc")))
        bsdf.inputs["Base Color"].default_value = (*nail, 1)
        bsdf.inputs["Roughness"].default_value = 0.25
        bsdf.inputs["Coat Weight"].default_value = 0.5
        return mat

    def _backdrop(self, rng, distance: float, fov: float):
        depth = distance + float(rng.uniform(0.15, 1.0))
        size = 2.4 * depth * math.tan(fov / 2)
        mesh = bpy.data.meshes.new("backdrop")
        mesh.from_pydata([(-1, -1, 0), (1, -1, 0), (1, 1, 0), (-1, 1, 0)], [], [(0, 1, 2, 3)])
        mesh.uv_layers.new()
        obj = self._link(bpy.data.objects.new("backdrop", mesh))
        tilt = Matrix.Rotation(float(rng.uniform(-0.3, 0.3)), 4, "X") @ Matrix.Rotation(float(rng.uniform(-0.3, 0.3)), 4, "Y")
        obj.matrix_world = Matrix.Translation((0, 0, -depth)) @ tilt @ Matrix.Diagonal((size, size, 1, 1))
        mat = bpy.data.materials.new("backdrop")
        mat.use_nodes = True
        nodes, links = mat.node_tree.nodes, mat.node_tree.links
        bsdf = nodes["Principled BSDF"]
        bsdf.inputs["Roughness"].default_value = float(rng.uniform(0.3, 1.0))
        use_photo = self.backgrounds and rng.random() >= self.cfg.background.procedural_fraction
        if use_photo:
            tex = nodes.new("ShaderNodeTexImage")
            tex.image = bpy.data.images.load(str(self.backgrounds[rng.integers(len(self.backgrounds))]))
            links.new(tex.outputs["Color"], bsdf.inputs["Base Color"])
        else:
            kind = ("ShaderNodeTexNoise", "ShaderNodeTexVoronoi", "ShaderNodeTexWave", "ShaderNodeTexChecker",
                    "ShaderNodeTexMagic", "ShaderNodeTexBrick")[rng.integers(6)]
            tex = nodes.new(kind)
            tex.inputs["Scale"].default_value = float(rng.uniform(2, 25))
            ramp = nodes.new("ShaderNodeValToRGB")
            for element in ramp.color_ramp.elements:
                hsv = (rng.random(), rng.uniform(0, 0.8), rng.uniform(0.05, 0.9))
                element.color = (*srgb_to_linear(_hsv_to_rgb(*hsv)), 1)
            fac = tex.outputs["Fac"] if "Fac" in tex.outputs else tex.outputs[1]
            if kind == "ShaderNodeTexVoronoi":
                fac = tex.outputs["Distance"]
            links.new(fac, ramp.inputs["Fac"])
            links.new(ramp.outputs["Color"], bsdf.inputs["Base Color"])
        obj.data.materials.append(mat)

    def _lighting(self, rng, target: np.ndarray):
        world = self.scene.world
        nodes, links = world.node_tree.nodes, world.node_tree.links
        for node in list(nodes):
            if node.type not in ("BACKGROUND", "OUTPUT_WORLD"):
                nodes.remove(node)
        background = nodes["Background"]
        background.inputs["Strength"].default_value = float(rng.uniform(*self.cfg.lighting.sky_strength))
        choice = rng.random()
        if self.hdris and choice < 0.5:
            env = nodes.new("ShaderNodeTexEnvironment")
            env.image = bpy.data.images.load(str(self.hdris[rng.integers(len(self.hdris))]))
            links.new(env.outputs["Color"], background.inputs["Color"])
        elif choice < 0.75:
            sky = nodes.new("ShaderNodeTexSky")
            sky.sun_elevation = float(rng.uniform(0.1, 1.4))
            sky.sun_rotation = float(rng.uniform(0, 2 * math.pi))
            links.new(sky.outputs["Color"], background.inputs["Color"])
            background.inputs["Strength"].default_value *= 0.3
        else:
            background.inputs["Color"].default_value = (*srgb_to_linear(_hsv_to_rgb(rng.random(), rng.uniform(0, 0.3), rng.uniform(0.3, 1))), 1)
        lo, hi = self.cfg.lighting.area_lights
        for _ in range(int(rng.integers(lo, hi + 1))):
            light = bpy.data.lights.new("area", "AREA")
            light.size = float(rng.uniform(0.1, 0.6))
            light.energy = float(rng.uniform(2, 20))
            kelvin_tint = _hsv_to_rgb(rng.uniform(0.02, 0.12) if rng.random() < 0.7 else rng.uniform(0.5, 0.65),
                                      rng.uniform(0, 0.35), 1.0)
            light.color = kelvin_tint
            obj = self._link(bpy.data.objects.new("area", light))
            direction = _unit(np.array([rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(0.2, 1.2)]))
            position = target + direction * rng.uniform(0.4, 1.5)
            obj.location = Vector(position)
            obj.rotation_euler = Vector(target - position).to_track_quat("-Z", "Y").to_euler()

    def _occluder(self, rng, joints: np.ndarray, fov: float):
        """A primitive between the camera and a random joint, partly covering the hand."""
        joint = joints[rng.integers(21)]
        t = float(rng.uniform(0.6, 0.92))  # share of the way from the camera to the joint
        center = joint * t + rng.normal(0, 0.015, 3) * t
        size = float(rng.uniform(0.012, 0.035)) * t
        mesh = bpy.data.meshes.new("occluder")
        kind = rng.integers(3)
        if kind == 0:
            _cube(mesh)
        else:
            import bmesh
            bm = bmesh.new()
            if kind == 1:
                bmesh.ops.create_uvsphere(bm, u_segments=16, v_segments=8, radius=1.0)
            else:
                bmesh.ops.create_cone(bm, cap_ends=True, segments=16, radius1=1.0, radius2=1.0, depth=2.0)
            bm.to_mesh(mesh)
            bm.free()
        obj = self._link(bpy.data.objects.new("occluder", mesh))
        stretch = (size, size * rng.uniform(1, 4), size * rng.uniform(0.5, 1.5), 1)
        obj.matrix_world = Matrix.Translation(Vector(center)) @ Matrix(random_rotation(rng)).to_4x4() @ Matrix.Diagonal(stretch)
        mat = bpy.data.materials.new("occluder")
        mat.use_nodes = True
        bsdf = mat.node_tree.nodes["Principled BSDF"]
        bsdf.inputs["Base Color"].default_value = (*srgb_to_linear(_hsv_to_rgb(rng.random(), rng.uniform(0, 1), rng.uniform(0.1, 0.9))), 1)
        bsdf.inputs["Roughness"].default_value = float(rng.uniform(0.1, 0.9))
        bsdf.inputs["Metallic"].default_value = float(rng.random() < 0.2)
        mesh.materials.append(mat)

    def _mask(self, hand_objects: list, path: Path) -> np.ndarray:
        """Render the hand's visible pixels (white emission, all else black) at 1 sample; save uint8 0/1."""
        scene = self.scene
        white = _emission("mask_white", 1.0)
        black = _emission("mask_black", 0.0)
        saved = {}
        for obj in self.frame_objects:
            if obj.type == "MESH":
                saved[obj.name] = list(obj.data.materials)
                obj.data.materials.clear()
                obj.data.materials.append(white if obj in hand_objects else black)
            elif obj.type == "LIGHT":
                obj.hide_render = True
        world_tree = scene.world.node_tree
        strength = world_tree.nodes["Background"].inputs["Strength"]
        old_strength = strength.default_value
        strength.default_value = 0.0
        settings = (scene.cycles.samples, scene.cycles.use_denoising, scene.cycles.filter_width,
                    scene.view_settings.view_transform)
        scene.cycles.samples, scene.cycles.use_denoising, scene.cycles.filter_width = 1, False, 0.01
        scene.view_settings.view_transform = "Standard"
        scene.render.filepath = str(path)
        _render_quietly()
        (scene.cycles.samples, scene.cycles.use_denoising, scene.cycles.filter_width,
         scene.view_settings.view_transform) = settings
        strength.default_value = old_strength
        for obj in self.frame_objects:
            if obj.name in saved:
                obj.data.materials.clear()
                for mat in saved[obj.name]:
                    obj.data.materials.append(mat)
            elif obj.type == "LIGHT":
                obj.hide_render = False
        mask = (cv2.imread(str(path), cv2.IMREAD_GRAYSCALE) > 127).astype(np.uint8)
        cv2.imwrite(str(path), mask)
        return mask

    def _visibility(self, joints: np.ndarray, hand_objects: list, uv: np.ndarray) -> np.ndarray:
        """1 where a ray from the camera reaches the hand's surface near the joint and it is in the image."""
        depsgraph = bpy.context.evaluated_depsgraph_get()
        names = {o.name for o in hand_objects}
        visible = np.zeros(21, np.float32)
        for i, point in enumerate(joints):
            inside = (0 <= uv[i, 0] < self.size) and (0 <= uv[i, 1] < self.size)
            hit, location, _, _, obj, _ = self.scene.ray_cast(depsgraph, Vector((0, 0, 0)), Vector(_unit(point)))
            near = hit and obj.name in names and (Vector(point) - location).length < 0.02
            visible[i] = float(inside and near)
        return visible


def _render_quietly():
    """bpy.ops.render.render(write_still=True) with Blender's per-tile log lines kept off stdout."""
    import os
    import sys
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        bpy.ops.render.render(write_still=True)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def _emission(name: str, strength: float):
    mat = bpy.data.materials.get(name) or bpy.data.materials.new(name)
    mat.use_nodes = True
    nodes = mat.node_tree.nodes
    nodes.clear()
    emit = nodes.new("ShaderNodeEmission")
    emit.inputs["Strength"].default_value = strength
    emit.inputs["Color"].default_value = (1, 1, 1, 1)
    out = nodes.new("ShaderNodeOutputMaterial")
    mat.node_tree.links.new(emit.outputs["Emission"], out.inputs["Surface"])
    return mat


def _cube(mesh):
    v = [(x, y, z) for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)]
    faces = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    mesh.from_pydata(v, [], faces)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _hsv_to_rgb(h: float, s: float, v: float) -> tuple[float, float, float]:
    import colorsys
    return colorsys.hsv_to_rgb(float(h), float(s), float(v))
