"""One labelled frame of 1-3 objects of one category on a table, built and rendered with Blender
(bpy, Cycles on the CPU), for Objectron's 9-DOF boxes.

Each object is a new instance of the category (`objects.random_shape`: its parameters drawn, its
parts given random materials: printed card, glaze, plastic, glass, wood, metal, fabric), standing
upright on the ground plane at a random turn; the others stand around the first, apart from it.
The ground is a table top (a package photo or a procedural grain) or, under an HDRI shown behind,
a shadow catcher. The camera looks at the group as a phone held over a table would: from an
azimuth and an elevation drawn from `camera`, the group's circle a share of the frame. With
`sequence_length` L > 1, frames come in clips of L: a clip's scene (objects, materials, lights,
backdrop) is drawn once from the clip's rng and the camera moves along a path through it
(`path_deg` around the objects, `path_elevation_deg` up and down, the distance breathing by 10%).

Labels per object (the sample schema's instances, in that order), topology `cuboid`: the box's 9
keypoints (centre, then vertices 1..8 in `geometry.cuboid`'s layout) projected (pixels, z relative
to the centre at x's scale) and in camera metres; per-keypoint visibility (in the image, and the
ray from the camera reaches it without crossing another object first); the box of the object's
mask pixels; `cuboid` (rotation object -> camera [3, 3], translation [3] and scale [3], metres);
per frame, the ground `plane` (a point and its upward normal, camera metres) and the intrinsics.
Symmetric categories carry their canonical rotation (`objects.canonical_rotation`).
"""

from __future__ import annotations

import colorsys
import functools
import math
from pathlib import Path

import bpy
import numpy as np
from mathutils import Vector

from blazeforge.geometry.cuboid import box_keypoints
from blazeforge.synthetic import objects
from blazeforge.synthetic.scene import BlenderScene, mask_box, noise_bump, srgb_to_linear

TO_CAMERA = np.diag([1.0, -1.0, -1.0])  # Blender's world (camera at the origin, looking down -Z) -> camera
UPRIGHT = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])  # object (y up, z front) -> floor (z up)
MATERIALS = {  # a part's name -> the kinds of material it may be made of
    "print": ("print",),
    "sole": ("rubber", "plastic"),
    "upper": ("fabric", "fabric", "plastic", "print"),
    "laces": ("fabric",),
    "glaze": ("glaze",),
    "body": ("plastic", "plastic", "glass"),
    "label": ("print",),
    "cap": ("plastic", "metal"),
    "frame": ("wood", "wood", "metal", "plastic"),
    "seat": ("fabric", "wood", "plastic"),
    "lens": ("rubber",),
    "glass": ("lens glass",),
}


def _colour(rng, saturation=(0.0, 0.8), value=(0.1, 0.9)) -> tuple:
    return (*srgb_to_linear(colorsys.hsv_to_rgb(rng.random(), rng.uniform(*saturation), rng.uniform(*value))), 1)


def _photo(nodes, path: Path):
    """An image texture node of the photo at `path` (loaded once per process)."""
    tex = nodes.new("ShaderNodeTexImage")
    tex.image = bpy.data.images.get(path.name) or bpy.data.images.load(str(path))
    tex.image.use_fake_user = True
    return tex


def _turn_z(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])


class ObjectScene(BlenderScene):
    """A Blender scene that renders labelled frames of objects of one category; reuse one per process."""

    @property
    def sequence_length(self) -> int:
        return int(self.cfg.get("sequence_length", 1))

    def render(self, rng: np.random.Generator, frame_path: Path, mask_path: Path, step: int = 0) -> dict:
        """Render frame `step` of the clip whose rng is `rng` (single frames: step 0) to `frame_path`
        (RGB PNG) and `mask_path` (uint8 PNG, i + 1 on object i). Returns the labels per object:
        keypoints [N, 9, 3] (pixels; z relative to the centre), keypoints_camera [N, 9, 3] (metres),
        visibility [N, 9], boxes [N, 4], cuboid {rotation [N, 3, 3], translation [N, 3], scale
        [N, 3]}, plane {point, normal}, camera intrinsics and meta."""
        self._clear()
        cfg = self.cfg
        count = int(cfg.objects[0])
        while count < cfg.objects[1] and rng.random() < cfg.extra_object_probability:
            count += 1
        shapes = [objects.random_shape(rng, str(cfg.category)) for _ in range(count)]
        places = self._places(rng, shapes)
        clip_seed = int(rng.integers(2**31 - 1))
        view, to_world, eye_distance, fov, target, azimuth, elevation = self._camera(rng, shapes, places, step)

        instances, rotations, translations = [], [], []
        for shape, (position, heading) in zip(shapes, places):
            turn = _turn_z(heading) @ UPRIGHT  # object -> floor
            vertices = view(shape.vertices @ turn.T + position)
            instances.append([self._object(rng, shape, vertices)])
            rotation = TO_CAMERA @ to_world @ turn
            translation = TO_CAMERA @ view(position[None])[0]
            rotations.append(objects.canonical_rotation(rotation, translation, shape.symmetry))
            translations.append(translation)
        world_centres = np.stack([view(p[None])[0] for p, _ in places])
        self._surroundings(rng, world_centres, view(target[None])[0], eye_distance, fov)
        shadow_catcher = self.background.startswith("hdri:") and rng.random() < cfg.ground.shadow_catcher_fraction
        self._ground(rng, view, shadow_catcher)

        frame_rng = np.random.default_rng([clip_seed, step])  # what differs between a clip's frames
        self._render(frame_rng, frame_path)
        mask = self._mask([o for parts in instances for o in parts], mask_path, instances)
        keypoints, cameras, visibility, boxes = [], [], [], []
        for i, (shape, rotation, translation) in enumerate(zip(shapes, rotations, translations)):
            cam = box_keypoints(rotation, translation, shape.scale)
            kp, _ = self.project(cam * [1, -1, -1], fov, 0)
            keypoints.append(kp)
            cameras.append(cam)
            visibility.append(self._unblocked(cam * [1, -1, -1], instances[i], kp[:, :2]))
            boxes.append(mask_box(mask, i + 1, kp))
        up = TO_CAMERA @ to_world @ np.array([0.0, 0, 1])
        return {
            "keypoints": np.stack(keypoints),
            "keypoints_camera": np.stack(cameras),
            "visibility": np.stack(visibility),
            "boxes": np.stack(boxes),
            "cuboid": {
                "rotation": np.stack(rotations),
                "translation": np.stack(translations),
                "scale": np.stack([s.scale for s in shapes]),
            },
            "plane": {"point": TO_CAMERA @ view(np.zeros((1, 3)))[0], "normal": up},
            "size": self.size,
            "camera": self.intrinsics(fov),
            "meta": {
                "category": str(cfg.category),
                "object": shapes[0].describe(),
                "objects": count,
                "view": f"azimuth {math.degrees(azimuth):.0f} deg, elevation {math.degrees(elevation):.0f} deg, "
                f"{eye_distance:.2f} m",
                "background": self.background,
            },
        }

    def _places(self, rng, shapes: list) -> list[tuple[np.ndarray, float]]:
        """(centre [3] in the floor's frame, heading in radians) per object: the first at the origin,
        the others around it at 1.05-1.8 times the sum of their footprint radii (never overlapping)."""
        radius = [float(np.hypot(s.scale[0], s.scale[2])) / 2 for s in shapes]
        places = [(np.array([0.0, 0.0, shapes[0].scale[1] / 2]), float(rng.uniform(-math.pi, math.pi)))]
        for shape, r in zip(shapes[1:], radius[1:]):
            for _ in range(20):
                angle = rng.uniform(-math.pi, math.pi)
                gap = float(rng.uniform(1.05, 1.8)) * (radius[0] + r)
                xy = np.array([math.cos(angle), math.sin(angle)]) * gap
                if all(np.hypot(*(xy - p[:2])) > (r + radius[j]) * 1.05 for j, (p, _) in enumerate(places)):
                    break
            places.append((np.array([*xy, shape.scale[1] / 2]), float(rng.uniform(-math.pi, math.pi))))
        return places

    def _camera(self, rng, shapes: list, places: list, step: int):
        """(view, to_world, distance, fov, target, azimuth, elevation) of frame `step`: view maps
        floor-frame points [M, 3] to Blender's world (the camera at the origin looking down -Z),
        to_world [3, 3] is its rotation. Azimuth 0 looks at the first object's front at heading 0."""
        cam = self.cfg.camera
        fov = math.radians(rng.uniform(*cam.fov_deg))
        self.camera.data.angle = fov
        centres = np.stack([p for p, _ in places])
        centre = (centres.min(0) + centres.max(0)) / 2
        radius = max(np.linalg.norm(p - centre) + np.linalg.norm(s.scale) / 2 for s, (p, _) in zip(shapes, places))
        share = float(rng.uniform(*cam.share))
        distance = float(np.clip(radius / share / math.tan(fov / 2), *cam.distance_m))
        azimuth = math.radians(rng.uniform(*cam.azimuth_deg))
        elevation = math.radians(rng.uniform(*cam.elevation_deg))
        jitter = rng.uniform(-cam.jitter, cam.jitter, 2) * distance * math.tan(fov / 2)
        roll = math.radians(rng.normal(0, cam.roll_sd_deg))
        phase = rng.uniform(0, 2 * math.pi, 3)
        if self.sequence_length > 1:  # the clip's path: a sweep around, a bob up and down, a breath in and out
            t = step / (self.sequence_length - 1) - 0.5
            azimuth += math.radians(cam.path_deg) * t
            elevation += math.radians(cam.path_elevation_deg) * 0.5 * math.sin(2 * math.pi * t + phase[0])
            distance *= 1 + 0.1 * math.sin(2 * math.pi * t + phase[1])
            roll += math.radians(2) * math.sin(2 * math.pi * t + phase[2])
        elevation = float(np.clip(elevation, math.radians(2), math.radians(88)))
        back = np.array(  # target -> camera, in the floor's frame
            [math.sin(azimuth) * math.cos(elevation), -math.cos(azimuth) * math.cos(elevation), math.sin(elevation)]
        )
        right = np.cross([0, 0, 1.0], back)
        right /= np.linalg.norm(right)
        up = np.cross(back, right)
        target = centre + right * jitter[0] + up * jitter[1]
        right, up = right * math.cos(roll) + up * math.sin(roll), up * math.cos(roll) - right * math.sin(roll)
        eye = target + back * distance
        to_world = np.stack([right, up, back])

        def view(points):
            return (points - eye) @ to_world.T

        return view, to_world, distance, fov, target, azimuth, elevation

    def _object(self, rng, shape: objects.Shape, vertices: np.ndarray):
        """The Blender object of a shape at `vertices` [V, 3] (world metres), its parts' materials drawn."""
        mesh = bpy.data.meshes.new(shape.category)
        mesh.vertices.add(len(vertices))
        mesh.vertices.foreach_set("co", vertices.astype(np.float32).ravel())
        faces = shape.faces.astype(np.int32)
        mesh.loops.add(faces.size)
        mesh.loops.foreach_set("vertex_index", faces.ravel())
        mesh.polygons.add(len(faces))
        mesh.polygons.foreach_set("loop_start", np.arange(0, faces.size, 3, dtype=np.int32))
        mesh.polygons.foreach_set("loop_total", np.full(len(faces), 3, np.int32))
        mesh.polygons.foreach_set("material_index", shape.parts)
        mesh.polygons.foreach_set("use_smooth", shape.smooth)
        mesh.update()
        for part in shape.part_names:
            kinds = MATERIALS[part]
            mesh.materials.append(self._material(rng, kinds[rng.integers(len(kinds))]))
        return self._link(bpy.data.objects.new(shape.category, mesh))

    def _material(self, rng, kind: str):
        """A material of `kind` (see MATERIALS) with random colour, finish and pattern."""
        mat = bpy.data.materials.new(kind)
        mat.use_nodes = True
        nodes, links = mat.node_tree.nodes, mat.node_tree.links
        bsdf = nodes["Principled BSDF"]
        inputs = bsdf.inputs
        inputs["Base Color"].default_value = _colour(rng)
        if kind == "print":  # a printed carton or label: a photo or a pattern over the object
            coords = nodes.new("ShaderNodeTexCoord")
            if self.backgrounds and rng.random() < 0.7:
                tex = _photo(nodes, self.backgrounds[rng.integers(len(self.backgrounds))])
                tex.projection = "BOX"
                tex.projection_blend = 0.1
            else:
                tex = nodes.new(("ShaderNodeTexChecker", "ShaderNodeTexWave", "ShaderNodeTexMagic")[rng.integers(3)])
                tex.inputs["Scale"].default_value = float(rng.uniform(2, 12))
            links.new(coords.outputs["Generated"], tex.inputs["Vector"])
            links.new(tex.outputs["Color"], inputs["Base Color"])
            inputs["Roughness"].default_value = float(rng.uniform(0.3, 0.8))
        elif kind == "glaze":
            inputs["Roughness"].default_value = float(rng.uniform(0.05, 0.35))
            inputs["Coat Weight"].default_value = float(rng.uniform(0, 0.6))
        elif kind == "plastic":
            inputs["Roughness"].default_value = float(rng.uniform(0.2, 0.6))
        elif kind == "glass":
            inputs["Base Color"].default_value = _colour(rng, (0, 0.5), (0.6, 1.0))
            inputs["Transmission Weight"].default_value = float(rng.uniform(0.7, 1.0))
            inputs["Roughness"].default_value = float(rng.uniform(0.0, 0.15))
        elif kind == "metal":
            inputs["Base Color"].default_value = _colour(rng, (0, 0.2), (0.5, 0.95))
            inputs["Metallic"].default_value = 1.0
            inputs["Roughness"].default_value = float(rng.uniform(0.15, 0.5))
        elif kind == "wood":
            wave = nodes.new("ShaderNodeTexWave")
            wave.inputs["Scale"].default_value = float(rng.uniform(2, 8))
            wave.inputs["Distortion"].default_value = float(rng.uniform(2, 10))
            ramp = nodes.new("ShaderNodeValToRGB")
            hue = rng.uniform(0.05, 0.1)
            ramp.color_ramp.elements[0].color = (*srgb_to_linear(colorsys.hsv_to_rgb(hue, 0.6, 0.25)), 1)
            ramp.color_ramp.elements[1].color = (*srgb_to_linear(colorsys.hsv_to_rgb(hue, 0.5, 0.6)), 1)
            links.new(wave.outputs["Fac"], ramp.inputs["Fac"])
            links.new(ramp.outputs["Color"], inputs["Base Color"])
            inputs["Roughness"].default_value = float(rng.uniform(0.3, 0.7))
        elif kind == "fabric":
            inputs["Roughness"].default_value = float(rng.uniform(0.7, 1.0))
            inputs["Sheen Weight"].default_value = float(rng.uniform(0.2, 0.6))
            noise_bump(mat, scale=800.0, strength=0.15)
        elif kind == "rubber":
            inputs["Base Color"].default_value = _colour(rng, (0, 0.1), (0.02, 0.12))
            inputs["Roughness"].default_value = float(rng.uniform(0.5, 0.9))
        elif kind == "lens glass":
            inputs["Base Color"].default_value = _colour(rng, (0, 0.4), (0.01, 0.06))
            inputs["Roughness"].default_value = 0.02
            inputs["Coat Weight"].default_value = 1.0
        return mat

    def _ground(self, rng, view, shadow_catcher: bool) -> None:
        """The ground plane (z = 0 of the floor's frame, seen through `view`): a shadow catcher 40 m
        across, or a table top 0.8-3 m across of a photo or a procedural grain."""
        half = 20.0 if shadow_catcher else float(rng.uniform(0.4, 1.5))
        corners = np.array([[-half, -half, 0], [half, -half, 0], [half, half, 0], [-half, half, 0]])
        mesh = bpy.data.meshes.new("ground")
        mesh.from_pydata([tuple(c) for c in view(corners @ _turn_z(rng.uniform(0, math.pi)).T)], [], [(0, 1, 2, 3)])
        mesh.uv_layers.new()
        obj = self._link(bpy.data.objects.new("ground", mesh))
        obj.is_shadow_catcher = shadow_catcher
        mat = bpy.data.materials.new("ground")
        mat.use_nodes = True
        nodes, links = mat.node_tree.nodes, mat.node_tree.links
        bsdf = nodes["Principled BSDF"]
        grounds = self.grounds
        if grounds and rng.random() >= self.cfg.ground.procedural_fraction:
            tex = _photo(nodes, grounds[rng.integers(len(grounds))])
            mapping = nodes.new("ShaderNodeMapping")
            mapping.inputs["Scale"].default_value = (float(rng.uniform(1, 4)),) * 3
            coords = nodes.new("ShaderNodeTexCoord")
            links.new(coords.outputs["UV"], mapping.inputs["Vector"])
            links.new(mapping.outputs["Vector"], tex.inputs["Vector"])
            links.new(tex.outputs["Color"], bsdf.inputs["Base Color"])
        else:
            noise = nodes.new(("ShaderNodeTexNoise", "ShaderNodeTexWave")[rng.integers(2)])
            noise.inputs["Scale"].default_value = float(rng.uniform(1, 12))
            ramp = nodes.new("ShaderNodeValToRGB")
            ramp.color_ramp.elements[0].color = _colour(rng, (0, 0.4), (0.1, 0.7))
            ramp.color_ramp.elements[1].color = _colour(rng, (0, 0.4), (0.2, 0.9))
            links.new(noise.outputs["Fac"], ramp.inputs["Fac"])
            links.new(ramp.outputs["Color"], bsdf.inputs["Base Color"])
        bsdf.inputs["Roughness"].default_value = float(rng.uniform(0.2, 0.9))
        mesh.materials.append(mat)

    @functools.cached_property
    def grounds(self) -> list:
        from blazeforge.synthetic.assets import IMAGE_SUFFIXES, list_files

        return list_files(self.cfg.ground.image_dir, IMAGE_SUFFIXES, "scene.ground.image_dir")

    def _unblocked(self, points: np.ndarray, own: list, uv: np.ndarray) -> np.ndarray:
        """[K] 1 where point k (world metres, [K, 3]) is in the image and the ray from the camera to it
        meets no other object (than those in `own`) or occluder before it; the ground is no blocker."""
        depsgraph = bpy.context.evaluated_depsgraph_get()
        names = {o.name for o in own}
        visible = np.zeros(len(points), np.float32)
        for k, point in enumerate(points):
            inside = (0 <= uv[k, 0] < self.size) and (0 <= uv[k, 1] < self.size)
            direction = Vector(point).normalized()
            hit, location, _, _, obj, _ = self.scene.ray_cast(depsgraph, Vector((0, 0, 0)), direction)
            blocked = (
                hit
                and obj.name not in names
                and obj.name.split(".")[0] not in ("ground", "backdrop")
                and location.length < Vector(point).length - 0.005
            )
            visible[k] = float(inside and not blocked)
        return visible
