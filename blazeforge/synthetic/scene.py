"""What every synthetic scene shares, built with Blender (bpy, Cycles on the CPU): the render
settings and camera, a procedural or photographic backdrop, a sky / colour / HDRI world with 1-3
area lights, random occluders, a skin material in a Monk-scale tone, the object mask pass and
ray-cast visibility. Scenes (`hand_scene.HandScene`, `face_scene.FaceScene`, `body_scene.BodyScene`)
add their subject and labels and implement `render(rng, frame_path, mask_path) -> labels`.

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
from blazeforge.synthetic.kinematics import random_rotation

# The Monk Skin Tone scale's ten published swatches (sRGB), tone 1 (lightest) to 10.
MONK = ("f6ede4", "f3e7db", "f7ead0", "eadaba", "d7bd96", "a07e56", "825c43", "604134", "3a312a", "292420")


LUMA = (0.2126, 0.7152, 0.0722)  # Rec. 709 luminance weights of linear R, G, B


def srgb_decode(srgb) -> np.ndarray:
    """sRGB-encoded values in [0, 1] (any shape) -> linear ones."""
    srgb = np.asarray(srgb, np.float64)
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def srgb_encode(linear) -> np.ndarray:
    """Linear values in [0, 1] (any shape) -> sRGB-encoded ones."""
    linear = np.asarray(linear, np.float64)
    return np.where(linear <= 0.0031308, linear * 12.92, 1.055 * linear ** (1 / 2.4) - 0.055)


def srgb_to_linear(hex_or_rgb) -> tuple[float, float, float]:
    """A colour ("rrggbb" hex, or sRGB values in [0, 1]) as linear RGB."""
    rgb = [int(hex_or_rgb[i : i + 2], 16) / 255 for i in (0, 2, 4)] if isinstance(hex_or_rgb, str) else hex_or_rgb
    return tuple(float(c) for c in srgb_decode(rgb))


class BlenderScene:
    """A Blender scene that renders labelled frames; reuse one per process (subclasses add the subject)."""

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
        scene.render.use_persistent_data = True  # images and kernels stay loaded between frames
        scene.render.resolution_x = scene.render.resolution_y = self.size
        scene.render.resolution_percentage = 100
        scene.render.image_settings.file_format = "PNG"
        scene.render.image_settings.color_mode = "RGB"
        if scene_cfg.camera.get("denoise"):  # OpenImageDenoise: a phone's processed look, not Monte Carlo grain
            scene.cycles.use_denoising = True
            scene.cycles.denoiser = "OPENIMAGEDENOISE"
        clamp = scene_cfg.camera.get("clamp_indirect")
        if clamp:  # no fireflies: indirect light (subsurface, glossy bounces) clamped, glossy blurred
            scene.cycles.sample_clamp_indirect = float(clamp)
            scene.cycles.blur_glossy = 1.0
        if scene_cfg.camera.get("view_transform"):  # AgX (Blender's default) or Standard (a camera's sRGB curve)
            scene.view_settings.view_transform = str(scene_cfg.camera.view_transform)
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
    def _shoot(
        self,
        rng,
        subject: list,
        world: np.ndarray,
        target: np.ndarray,
        distance: float,
        fov: float,
        frame_path: Path,
        mask_path: Path,
        root: int,
        tolerance: float = 0.02,
    ) -> dict:
        """Backdrop, lights and occluders around the subject (its objects; its labelled points `world`
        [K, 3], metres), render the frame and its mask, and project the points. Returns keypoints
        [K, 3] (pixels; z relative to point `root` at x's scale), keypoints_camera [K, 3] (metres),
        visibility [K] (ray cast within `tolerance` metres), box [4] (the mask's), camera, size."""
        self._surroundings(rng, world, target, distance, fov)
        self._render(rng, frame_path)
        mask = self._mask(subject, mask_path)
        keypoints, cam = self.project(world, fov, root)
        visibility = self._visibility(world, subject, keypoints[:, :2], tolerance)
        return {
            "keypoints": keypoints,
            "keypoints_camera": cam,
            "visibility": visibility,
            "box": mask_box(mask, 1, keypoints),
            "size": self.size,
            "camera": self.intrinsics(fov),
        }

    def _surroundings(self, rng, world: np.ndarray, target: np.ndarray, distance: float, fov: float) -> None:
        """The world light (an HDRI, a sky or a colour), the backdrop or the HDRI behind the subject,
        area lights aimed at `target`, and occluders in front of the points `world` [K, 3]."""
        cfg = self.cfg
        hdri = None
        if self.hdris and rng.random() < cfg.lighting.get("hdri_fraction", 0.5):
            hdri = self.hdris[rng.integers(len(self.hdris))]
        if hdri is not None and rng.random() < cfg.background.get("hdri_fraction", 0.0):
            self.background = f"hdri:{hdri.stem}"  # the environment itself, seen behind the subject
        else:
            self._backdrop(rng, distance, fov)
        self._lighting(rng, target, hdri)
        if rng.random() < cfg.occluders.probability:
            for _ in range(int(rng.integers(1, cfg.occluders.max_count + 1))):
                self._occluder(rng, world, fov)

    def _render(self, rng, frame_path: Path) -> None:
        """Render the frame to `frame_path`, with the phone's look if the scene asks for it."""
        self.scene.cycles.seed = int(rng.integers(2**31 - 1))
        self.scene.render.filepath = str(frame_path)
        render_quietly()
        if self.cfg.camera.get("phone"):
            phone_effects(rng, frame_path)

    def intrinsics(self, fov: float) -> dict:
        f = self.size / 2 / math.tan(fov / 2)
        return {"fx": f, "fy": f, "cx": self.size / 2, "cy": self.size / 2}

    def project(self, world: np.ndarray, fov: float, root) -> tuple[np.ndarray, np.ndarray]:
        """(keypoints [K, 3]: pixels, z relative to `root` (a point's index, or a point [3] in the
        world) at x's scale; camera coordinates [K, 3], metres) of world points [K, 3]."""
        f = self.size / 2 / math.tan(fov / 2)
        cam = world * np.array([1, -1, -1])  # camera coordinates, metres
        uv = cam[:, :2] / cam[:, 2:3] * f + self.size / 2
        depth = cam[root, 2] if np.ndim(root) == 0 else float(root[2]) * -1
        z = (cam[:, 2] - depth) * f / depth
        return np.concatenate([uv, z[:, None]], 1), cam

    def _link(self, obj):
        self.scene.collection.objects.link(obj)
        self.frame_objects.append(obj)
        return obj

    def _clear(self):
        for obj in self.frame_objects:
            bpy.data.objects.remove(obj, do_unlink=True)
        self.frame_objects = []
        for collection in (bpy.data.meshes, bpy.data.materials, bpy.data.lights, bpy.data.images, bpy.data.node_groups):
            for block in list(collection):
                if block.users == 0:
                    collection.remove(block)

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
        noise_bump(mat, scale=900.0, strength=0.08)  # pores
        return mat

    def _backdrop(self, rng, distance: float, fov: float):
        depth = distance + float(rng.uniform(*self.cfg.background.get("depth_m", (0.15, 1.0))))
        size = 2.4 * depth * math.tan(fov / 2)
        mesh = bpy.data.meshes.new("backdrop")
        mesh.from_pydata([(-1, -1, 0), (1, -1, 0), (1, 1, 0), (-1, 1, 0)], [], [(0, 1, 2, 3)])
        mesh.uv_layers.new()
        obj = self._link(bpy.data.objects.new("backdrop", mesh))
        tilt = Matrix.Rotation(float(rng.uniform(-0.3, 0.3)), 4, "X") @ Matrix.Rotation(
            float(rng.uniform(-0.3, 0.3)), 4, "Y"
        )
        obj.matrix_world = Matrix.Translation((0, 0, -depth)) @ tilt @ Matrix.Diagonal((size, size, 1, 1))
        mat = bpy.data.materials.new("backdrop")
        mat.use_nodes = True
        nodes, links = mat.node_tree.nodes, mat.node_tree.links
        bsdf = nodes["Principled BSDF"]
        bsdf.inputs["Roughness"].default_value = float(rng.uniform(0.3, 1.0))
        use_photo = self.backgrounds and rng.random() >= self.cfg.background.procedural_fraction
        self.background = "procedural"
        if use_photo:
            photo = self.backgrounds[rng.integers(len(self.backgrounds))]
            self.background = photo.name
            tex = nodes.new("ShaderNodeTexImage")
            tex.image = bpy.data.images.get(photo.name) or bpy.data.images.load(str(photo))
            tex.image.use_fake_user = True  # kept loaded for the next frames
            links.new(tex.outputs["Color"], bsdf.inputs["Base Color"])
        else:
            kind = (
                "ShaderNodeTexNoise",
                "ShaderNodeTexVoronoi",
                "ShaderNodeTexWave",
                "ShaderNodeTexChecker",
                "ShaderNodeTexMagic",
                "ShaderNodeTexBrick",
            )[rng.integers(6)]
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

    def _lighting(self, rng, target: np.ndarray, hdri: Path | None = None):
        """The world (an HDRI turned about the vertical by a random angle, else a sky or a plain
        colour) and 1-3 area lights aimed at `target`."""
        world = self.scene.world
        nodes, links = world.node_tree.nodes, world.node_tree.links
        for node in list(nodes):
            if node.type not in ("BACKGROUND", "OUTPUT_WORLD"):
                nodes.remove(node)
        background = nodes["Background"]
        background.inputs["Strength"].default_value = float(rng.uniform(*self.cfg.lighting.sky_strength))
        if hdri is not None:
            env = nodes.new("ShaderNodeTexEnvironment")
            env.image = bpy.data.images.get(hdri.name) or bpy.data.images.load(str(hdri))
            env.image.use_fake_user = True  # kept loaded for the next frames
            mapping = nodes.new("ShaderNodeMapping")
            mapping.inputs["Rotation"].default_value = (0.0, 0.0, float(rng.uniform(0, 2 * math.pi)))
            coords = nodes.new("ShaderNodeTexCoord")
            links.new(coords.outputs["Generated"], mapping.inputs["Vector"])
            links.new(mapping.outputs["Vector"], env.inputs["Vector"])
            links.new(env.outputs["Color"], background.inputs["Color"])
            background.inputs["Strength"].default_value = float(
                rng.uniform(*self.cfg.lighting.get("hdri_strength", (0.5, 1.5)))
            )
        elif rng.random() < 0.75:
            sky = nodes.new("ShaderNodeTexSky")
            sky.sun_elevation = float(rng.uniform(0.1, 1.4))
            sky.sun_rotation = float(rng.uniform(0, 2 * math.pi))
            links.new(sky.outputs["Color"], background.inputs["Color"])
            background.inputs["Strength"].default_value *= 0.3
        else:
            background.inputs["Color"].default_value = (
                *srgb_to_linear(_hsv_to_rgb(rng.random(), rng.uniform(0, 0.3), rng.uniform(0.3, 1))),
                1,
            )
        lo, hi = self.cfg.lighting.area_lights
        for _ in range(int(rng.integers(lo, hi + 1))):
            light = bpy.data.lights.new("area", "AREA")
            light.size = float(rng.uniform(*self.cfg.lighting.get("area_size_m", (0.1, 0.6))))
            light.energy = float(rng.uniform(*self.cfg.lighting.get("area_energy_w", (2, 20))))
            kelvin_tint = _hsv_to_rgb(
                rng.uniform(0.02, 0.12) if rng.random() < 0.7 else rng.uniform(0.5, 0.65), rng.uniform(0, 0.35), 1.0
            )
            light.color = kelvin_tint
            obj = self._link(bpy.data.objects.new("area", light))
            direction = _unit(np.array([rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(0.2, 1.2)]))
            position = target + direction * rng.uniform(*self.cfg.lighting.get("area_distance_m", (0.4, 1.5)))
            obj.location = Vector(position)
            obj.rotation_euler = Vector(target - position).to_track_quat("-Z", "Y").to_euler()

    def _occluder(self, rng, joints: np.ndarray, fov: float):
        """A primitive between the camera and a random point of the subject, partly covering it."""
        joint = joints[rng.integers(21)]
        t = float(rng.uniform(0.6, 0.92))  # share of the way from the camera to the joint
        center = joint * t + rng.normal(0, 0.015, 3) * t
        size = float(rng.uniform(*self.cfg.occluders.get("size_m", (0.012, 0.035)))) * t
        mesh = bpy.data.meshes.new("occluder")
        kind = rng.integers(3)
        if kind == 0:
            cube_mesh(mesh)
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
        obj.matrix_world = (
            Matrix.Translation(Vector(center)) @ Matrix(random_rotation(rng)).to_4x4() @ Matrix.Diagonal(stretch)
        )
        mat = bpy.data.materials.new("occluder")
        mat.use_nodes = True
        bsdf = mat.node_tree.nodes["Principled BSDF"]
        bsdf.inputs["Base Color"].default_value = (
            *srgb_to_linear(_hsv_to_rgb(rng.random(), rng.uniform(0, 1), rng.uniform(0.1, 0.9))),
            1,
        )
        bsdf.inputs["Roughness"].default_value = float(rng.uniform(0.1, 0.9))
        bsdf.inputs["Metallic"].default_value = float(rng.random() < 0.2)
        mesh.materials.append(mat)

    def _mask(self, subject: list, path: Path, instances: list[list] | None = None) -> np.ndarray:
        """Render the subject's visible pixels (emission, all else black) at 1 sample; save uint8:
        1 on the subject's objects, or i + 1 on those of instances[i] (up to 3, one colour channel
        each)."""
        scene = self.scene
        instances = instances or [subject]
        if len(instances) > 3:
            raise ValueError(f"{len(instances)} instances; a mask render separates up to 3")
        colours = [(1.0, 1.0, 1.0)] if len(instances) == 1 else [(1.0, 0, 0), (0, 1.0, 0), (0, 0, 1.0)]
        paints = [_emission(f"mask_{i}", 1.0, c) for i, c in enumerate(colours)]
        black = _emission("mask_black", 0.0)
        owner = {o.name: i for i, objects in enumerate(instances) for o in objects}
        saved = {}
        for obj in self.frame_objects:
            if obj.type == "MESH":
                saved[obj.name] = list(obj.data.materials)
                obj.data.materials.clear()
                obj.data.materials.append(paints[owner[obj.name]] if obj.name in owner else black)
            elif obj.type == "LIGHT":
                obj.hide_render = True
        world_tree = scene.world.node_tree
        strength = world_tree.nodes["Background"].inputs["Strength"]
        old_strength = strength.default_value
        strength.default_value = 0.0
        settings = (
            scene.cycles.samples,
            scene.cycles.use_denoising,
            scene.cycles.filter_width,
            scene.view_settings.view_transform,
        )
        scene.cycles.samples, scene.cycles.use_denoising, scene.cycles.filter_width = 1, False, 0.01
        scene.view_settings.view_transform = "Standard"
        scene.render.filepath = str(path)
        render_quietly()
        (
            scene.cycles.samples,
            scene.cycles.use_denoising,
            scene.cycles.filter_width,
            scene.view_settings.view_transform,
        ) = settings
        strength.default_value = old_strength
        for obj in self.frame_objects:
            if obj.name in saved:
                obj.data.materials.clear()
                for mat in saved[obj.name]:
                    obj.data.materials.append(mat)
            elif obj.type == "LIGHT":
                obj.hide_render = False
        bgr = cv2.imread(str(path))
        if len(instances) == 1:
            mask = (cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY) > 127).astype(np.uint8)
        else:
            lit = bgr[..., ::-1] > 127  # R, G, B: instances 0, 1, 2
            mask = np.where(lit.any(-1), lit.argmax(-1) + 1, 0).astype(np.uint8)
        cv2.imwrite(str(path), mask)
        return mask

    def _visibility(self, joints: np.ndarray, subject: list, uv: np.ndarray, tolerance: float = 0.02) -> np.ndarray:
        """[K]: 1 where a ray from the camera reaches the subject's surface within `tolerance` metres
        of the point (world metres, joints [K, 3]) and the point is in the image."""
        depsgraph = bpy.context.evaluated_depsgraph_get()
        names = {o.name for o in subject}
        visible = np.zeros(len(joints), np.float32)
        for i, point in enumerate(joints):
            inside = (0 <= uv[i, 0] < self.size) and (0 <= uv[i, 1] < self.size)
            hit, location, _, _, obj, _ = self.scene.ray_cast(depsgraph, Vector((0, 0, 0)), Vector(_unit(point)))
            near = hit and obj.name in names and (Vector(point) - location).length < tolerance
            visible[i] = float(inside and near)
        return visible


def noise_bump(mat, scale: float, strength: float) -> None:
    """A bump from a noise texture of `scale` on the material's Principled BSDF (pores, weave)."""
    nodes, links = mat.node_tree.nodes, mat.node_tree.links
    noise = nodes.new("ShaderNodeTexNoise")
    noise.inputs["Scale"].default_value = scale
    bump = nodes.new("ShaderNodeBump")
    bump.inputs["Strength"].default_value = strength
    links.new(noise.outputs["Fac"], bump.inputs["Height"])
    links.new(bump.outputs["Normal"], nodes["Principled BSDF"].inputs["Normal"])


EXPOSURE_TARGET = 0.18  # the metered mean a phone exposes for: middle grey, linear
MAX_EXPOSURE_GAIN = 8.0  # at most three stops brighter


def auto_exposure(image: np.ndarray) -> np.ndarray:
    """A phone's auto-exposure on an 8-bit sRGB image [H, W, 3] (BGR): brightened until its
    centre-weighted mean luminance (linear; a Gaussian weight of sigma a third of the frame) reaches
    EXPOSURE_TARGET, by at most MAX_EXPOSURE_GAIN; frames at or above the target are kept. Renders
    lit by the dim HDRIs (night, interior) come out a few stops under what a phone would record."""
    linear = srgb_decode(image / 255)
    h, w = image.shape[:2]
    y, x = np.ogrid[:h, :w]
    weight = np.exp(-(((x - w / 2) / w) ** 2 + ((y - h / 2) / h) ** 2) * 4.5)
    metered = float((linear @ LUMA[::-1] * weight).sum() / weight.sum())
    gain = min(EXPOSURE_TARGET / max(metered, 1e-6), MAX_EXPOSURE_GAIN)
    if gain <= 1.0:
        return image
    return np.round(srgb_encode(np.clip(linear * gain, 0.0, 1.0)) * 255).astype(np.uint8)


def phone_effects(rng, path: Path) -> None:
    """A phone camera's look on the PNG at `path`, in place: its auto-exposure (`auto_exposure`),
    sometimes a slight defocus blur, sensor noise, and JPEG compression at a random quality."""
    image = auto_exposure(cv2.imread(str(path)))
    if rng.random() < 0.5:
        image = cv2.GaussianBlur(image, (0, 0), float(rng.uniform(0.3, 1.0)))
    noisy = image.astype(np.float32) + rng.normal(0, rng.uniform(0.5, 4.0), image.shape)
    image = np.clip(noisy, 0, 255).astype(np.uint8)
    if rng.random() < 0.8:
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(55, 96))])
        image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    cv2.imwrite(str(path), image)


def render_quietly():
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


def mask_box(mask: np.ndarray, value: int, points: np.ndarray) -> np.ndarray:
    """[4] x0, y0, x1, y1 (pixels) of the mask's pixels equal to `value`; of points [K, >=2] where none are."""
    ys, xs = np.nonzero(mask == value)
    if not len(xs):
        return np.concatenate([points[:, :2].min(0), points[:, :2].max(0)]).astype(np.float32)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)


def _emission(name: str, strength: float, colour=(1.0, 1.0, 1.0)):
    mat = bpy.data.materials.get(name) or bpy.data.materials.new(name)
    mat.use_nodes = True
    nodes = mat.node_tree.nodes
    nodes.clear()
    emit = nodes.new("ShaderNodeEmission")
    emit.inputs["Strength"].default_value = strength
    emit.inputs["Color"].default_value = (*colour, 1)
    out = nodes.new("ShaderNodeOutputMaterial")
    mat.node_tree.links.new(emit.outputs["Emission"], out.inputs["Surface"])
    return mat


def cube_mesh(mesh):
    v = [(x, y, z) for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)]
    faces = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    mesh.from_pydata(v, [], faces)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _hsv_to_rgb(h: float, s: float, v: float) -> tuple[float, float, float]:
    import colorsys

    return colorsys.hsv_to_rgb(float(h), float(s), float(v))
