"""One labelled frame of 1-3 whole people, built and rendered with Blender (bpy, Cycles on the CPU).

Each person is MakeHuman's body (`makehuman`), shaped by a random identity (gender, age, muscle,
weight, height, the three ethnic blends), posed from the library (`body_poses`: named poses,
mirrored, blended within their group, jittered) with hands in a gesture, skinned, in a Monk-tone
skin, a top, a bottom and shoes (`human.outfit`), eyes with an iris, hair or a cap; standing on the
floor. The first person is the one the camera frames: whole (its circumscribed circle a random
share of the frame, up to `camera.distance_m`) or, in `camera.close_fraction` of frames, the upper
body from the waist up; the others stand around. Around them, from `scene.BlenderScene`: an HDRI, a sky or a colour,
area lights, a photo or procedural backdrop or the HDRI itself (the floor then catches shadows).

Labels per person (the sample schema's instances, in that order): BlazePose's 33 keypoints
(`makehuman_body.keypoints`) in pixels (z relative to the hip centre, at x's scale) and camera
metres, their visibility (a ray from the camera reaches the person's own surface within
`VISIBLE_M` of the point, and the point is in the image), the two virtual keypoints (`auxiliary`:
the hip centre and the circle point, `topology.pose.virtual_keypoints` of the person's projected
skin), the box of the person's mask pixels (mask value i + 1); meta: pose, identity and outfit.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import bpy
import numpy as np

from blazeforge.synthetic import body_poses, human, makehuman, makehuman_body
from blazeforge.synthetic.gestures import random_pose as random_gesture
from blazeforge.synthetic.scene import BlenderScene, mask_box, srgb_to_linear
from blazeforge.topology.pose import LEFT_HIP, LEFT_SHOULDER, RIGHT_HIP, RIGHT_SHOULDER, virtual_keypoints

VISIBLE_M = 0.12  # a joint centre lies up to this deep under the skin that the camera sees
SKIN_GROUPS = ("body",)


@dataclasses.dataclass
class Person:
    """A posed, grounded person in the floor's frame (z up, metres): skin and helper vertices [V, 3],
    keypoints [33, 3], and what it was made of."""

    vertices: np.ndarray
    keypoints: np.ndarray
    tone: int
    pose: str
    identity: makehuman.Identity
    regions: np.ndarray
    outfit: dict


def _skin_vertices() -> np.ndarray:
    return np.unique(makehuman.compiled()["faces"][makehuman.group_faces(SKIN_GROUPS)])


def _turned(points: np.ndarray, heading_deg: float, position: np.ndarray) -> np.ndarray:
    return points @ makehuman.axis_angle([0, 0, 1], heading_deg).T + position


class BodyScene(BlenderScene):
    """A Blender scene that renders labelled frames of whole people; reuse one per process."""

    def person(self, rng: np.random.Generator) -> Person:
        """A random person (see the module docstring), its feet on z = 0, its hips above the origin."""
        cfg = self.cfg
        identity = dataclasses.replace(makehuman.Identity.random(rng), height=float(rng.uniform(*cfg.identity.height)))
        body = makehuman.Body.shaped(identity)
        groups = dict(cfg.pose_groups) if cfg.get("pose_groups") else None
        pose, name = body_poses.random_pose(rng, cfg.pose_blend, cfg.pose_noise_deg, groups)
        gestures = {side: random_gesture(rng, 0.5, 6.0)[0] for side in ("left", "right")}
        posed = body.pose(makehuman_body.rotations(body, pose, rng, gestures))
        keypoints = makehuman_body.keypoints(posed)
        skin = posed.vertices[_skin_vertices()]
        hips = keypoints[[LEFT_HIP, RIGHT_HIP]].mean(0)
        offset = np.array([-hips[0], -hips[1], -skin[:, 2].min()])
        regions, outfit = human.outfit(rng)
        return Person(
            vertices=posed.vertices + offset,
            keypoints=keypoints + offset,
            tone=int(rng.integers(cfg.skin_tones[0], cfg.skin_tones[1] + 1)),
            pose=name,
            identity=identity,
            regions=regions,
            outfit=outfit,
        )

    def render(self, rng: np.random.Generator, frame_path: Path, mask_path: Path) -> dict:
        """Render one randomized frame to `frame_path` (RGB PNG) and `mask_path` (uint8 PNG, i + 1 on
        person i). Returns the labels per person: keypoints [N, 33, 3] (pixels; z relative to the hip
        centre), keypoints_camera [N, 33, 3] (metres), visibility [N, 33], auxiliary [N, 2, 2]
        (pixels), boxes [N, 4], camera intrinsics and meta (the first person's)."""
        self._clear()
        cfg = self.cfg
        lo, hi = cfg.people
        count = int(lo)
        while count < hi and rng.random() < cfg.extra_person_probability:
            count += 1
        people = [self.person(rng)]
        for _ in range(count - 1):  # beside or behind the first, facing the camera's side roughly
            other = self.person(rng)
            side = 1.0 if rng.random() < 0.5 else -1.0
            where = np.array([side * rng.uniform(0.7, 2.0), rng.uniform(-0.5, 2.5), 0.0])
            heading = float(rng.uniform(-60, 60))
            other.vertices = _turned(other.vertices, heading, where)
            other.keypoints = _turned(other.keypoints, heading, where)
            people.append(other)

        first = people[0]
        fov, distance, yaw, close, centre, view = self._camera(rng, first)
        instances = [
            [
                self._link(o)
                for o in human.dress(rng, p.tone, p.regions, view(p.vertices), fov, self.cfg.hair_probability)
            ]
            for p in people
        ]
        objects = [o for parts in instances for o in parts]

        world = np.concatenate([view(p.keypoints) for p in people])
        self._surroundings(rng, world, view(centre), distance, fov)
        self._floor(rng, view, self.background.startswith("hdri:"))
        self._render(rng, frame_path)
        mask = self._mask(objects, mask_path, instances)
        keypoints, cameras, visibility, auxiliary, boxes = [], [], [], [], []
        for i, (p, parts) in enumerate(zip(people, instances)):
            points = view(p.keypoints)
            hips = points[[LEFT_HIP, RIGHT_HIP]].mean(0)
            kp, cam = self.project(points, fov, hips)
            skin_px, _ = self.project(view(p.vertices[_skin_vertices()[::7]]), fov, hips)
            keypoints.append(kp)
            cameras.append(cam)
            auxiliary.append(virtual_keypoints(kp[:, :2], skin_px[:, :2]))
            seen = self._visibility(points, parts, kp[:, :2], VISIBLE_M) if parts else np.zeros(len(kp), np.float32)
            visibility.append(seen)
            boxes.append(mask_box(mask, i + 1, kp))  # the labelled points' box where no pixel shows
        view_deg = math.degrees(yaw)
        return {
            "keypoints": np.stack(keypoints),
            "keypoints_camera": np.stack(cameras),
            "visibility": np.stack(visibility),
            "auxiliary": np.stack(auxiliary),
            "boxes": np.stack(boxes),
            "size": self.size,
            "camera": self.intrinsics(fov),
            "meta": {
                "skin_tone": first.tone,
                "pose": first.pose,
                "people": count,
                "view": f"{'upper body' if close else 'whole body'}, yaw {view_deg:.0f} deg, {distance:.1f} m",
                "identity": first.identity.describe(),
                "outfit": ", ".join(f"{k} {v}" for k, v in first.outfit.items()),
                "background": self.background,
            },
        }

    def _camera(self, rng, first: Person):
        """(fov, distance, yaw, close, centre, view): the camera framing the first person whole or
        its upper body (see the module docstring); view maps floor-frame points [..., 3] to the
        world frame the scene renders in (the camera at the origin looking down -Z)."""
        cfg = self.cfg
        fov = math.radians(rng.uniform(*cfg.camera.fov_deg))
        self.camera.data.angle = fov
        skin = first.vertices[_skin_vertices()]
        close = bool(rng.random() < cfg.camera.close_fraction)
        if close:  # waist up: from the hips to the head's top
            shoulders = first.keypoints[[LEFT_SHOULDER, RIGHT_SHOULDER]].mean(0)
            hips = first.keypoints[[LEFT_HIP, RIGHT_HIP]].mean(0)
            centre = hips + (shoulders - hips) * 0.75
            radius = np.linalg.norm(shoulders - hips) * 1.1
            share = float(rng.uniform(0.7, 1.0))
        else:
            centre = (skin.min(0) + skin.max(0)) / 2
            radius = np.linalg.norm(skin - centre, axis=1).max()
            share = float(rng.uniform(*cfg.camera.body_share))
        distance = float(np.clip(radius / share / math.tan(fov / 2), *cfg.camera.distance_m))
        if cfg.camera.yaw_sd_deg is None:  # any side of the person
            yaw = float(rng.uniform(-math.pi, math.pi))
        else:  # around its front
            yaw = math.radians(rng.normal(0, cfg.camera.yaw_sd_deg))
        height = float(rng.uniform(*cfg.camera.height_m))
        limit = math.sin(math.radians(cfg.camera.max_elevation_deg)) * distance
        rise = float(np.clip(height - centre[2], -limit, limit))
        ground = math.sqrt(distance**2 - rise**2)
        back = np.array([math.sin(yaw) * ground, -math.cos(yaw) * ground, rise]) / distance  # target -> camera
        half = distance * math.tan(fov / 2)
        jitter = float(cfg.camera.jitter)
        right = np.cross([0, 0, 1.0], back)
        right /= np.linalg.norm(right)
        up = np.cross(back, right)
        target = centre + (right * rng.uniform(-jitter, jitter) + up * rng.uniform(-jitter, jitter)) * half
        roll = math.radians(rng.normal(0, cfg.camera.roll_sd_deg))
        right, up = right * math.cos(roll) + up * math.sin(roll), up * math.cos(roll) - right * math.sin(roll)
        eye = target + back * distance
        to_camera = np.stack([right, up, back])  # rows: the camera's axes in the floor's frame

        def view(points):
            return (points - eye) @ to_camera.T

        return fov, distance, yaw, close, centre, view

    def _floor(self, rng, view, shadow_catcher: bool) -> None:
        """The floor (z = 0, 40 m across, seen through `view`): a shadow catcher under an HDRI
        background, else a matte surface in a muted colour with a noise grain."""
        corners = np.array([[-20, -20, 0], [20, -20, 0], [20, 20, 0], [-20, 20, 0]], np.float64)
        mesh = bpy.data.meshes.new("floor")
        mesh.from_pydata([tuple(c) for c in view(corners)], [], [(0, 1, 2, 3)])
        obj = self._link(bpy.data.objects.new("floor", mesh))
        mat = bpy.data.materials.new("floor")
        mat.use_nodes = True
        nodes, links = mat.node_tree.nodes, mat.node_tree.links
        bsdf = nodes["Principled BSDF"]
        import colorsys

        a, b = (
            srgb_to_linear(colorsys.hsv_to_rgb(rng.random(), rng.uniform(0, 0.35), rng.uniform(0.15, 0.75)))
            for _ in "ab"
        )
        noise = nodes.new("ShaderNodeTexNoise")
        noise.inputs["Scale"].default_value = float(rng.uniform(0.5, 8))
        ramp = nodes.new("ShaderNodeValToRGB")
        ramp.color_ramp.elements[0].color = (*a, 1)
        ramp.color_ramp.elements[1].color = (*b, 1)
        links.new(noise.outputs["Fac"], ramp.inputs["Fac"])
        links.new(ramp.outputs["Color"], bsdf.inputs["Base Color"])
        bsdf.inputs["Roughness"].default_value = float(rng.uniform(0.3, 0.95))
        mesh.materials.append(mat)
        obj.is_shadow_catcher = shadow_catcher
