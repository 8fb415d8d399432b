"""A library of named whole-body poses for MakeHuman's rig (`makehuman_body`), as a person would
describe them: where each limb segment points and how the torso and head turn.

A limb's segment is a direction (out, forward, up) in the world, "out" being towards the limb's own
side (so one tuple serves both arms); `makehuman_body.rotations` turns the rig's bones to them with
the elbows and knees bending as hinges. The torso is (forward pitch, lean to its left, twist to its
left) and the head (nod down, turn left, tilt left), in degrees; feet (plantar flexion, degrees).
Poses blend only within their group (upright, floor, prone, supine), so that a blend is a pose too.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

Direction = tuple[float, float, float]  # (out, forward, up), any length
Limb = tuple[Direction, Direction]  # upper segment, lower segment

OUT = (1, 0, 0)  # straight out to the side
ARM_REST: Limb = ((0.15, 0.0, -1.0), (0.12, 0.25, -1.0))  # hanging, the elbow a little bent
LEG_REST: Limb = ((0.06, 0.0, -1.0), (0.04, -0.03, -1.0))


@dataclass(frozen=True)
class BodyPose:
    """One pose (see the module docstring); left and right are the person's own."""

    group: str = "upright"
    torso: tuple[float, float, float] = (0.0, 0.0, 0.0)
    head: tuple[float, float, float] = (0.0, 0.0, 0.0)
    left_arm: Limb = ARM_REST
    right_arm: Limb = ARM_REST
    left_leg: Limb = LEG_REST
    right_leg: Limb = LEG_REST
    feet: tuple[float, float] = (0.0, 0.0)

    def mirrored(self) -> BodyPose:
        """The same pose with the person's left and right swapped."""
        (p, lean, twist), (nod, turn, tilt) = self.torso, self.head
        return replace(
            self,
            torso=(p, -lean, -twist),
            head=(nod, -turn, -tilt),
            left_arm=self.right_arm,
            right_arm=self.left_arm,
            left_leg=self.right_leg,
            right_leg=self.left_leg,
            feet=self.feet[::-1],
        )


def _pose(group="upright", arms=None, legs=None, **kwargs) -> BodyPose:
    """A pose with `arms` / `legs` for both sides unless left_* / right_* say otherwise."""
    for key, both in (("arm", arms), ("leg", legs)):
        if both is not None:
            kwargs.setdefault(f"left_{key}", both)
            kwargs.setdefault(f"right_{key}", both)
    return BodyPose(group=group, **kwargs)


POSES: dict[str, BodyPose] = {
    # standing
    "standing": _pose(),
    "attention": _pose(arms=((0.05, 0, -1), (0.03, 0.05, -1)), legs=((0.02, 0, -1), (0.02, 0, -1))),
    "relaxed_weight_shift": _pose(
        torso=(0, -5, 0), left_leg=((0.0, 0.15, -1), (0.05, -0.25, -1)), right_leg=((0.1, 0, -1), (0.08, 0, -1))
    ),
    "t_pose": _pose(arms=(OUT, OUT)),
    "a_pose": _pose(arms=((1, 0, -0.8), (1, 0, -0.8))),
    "arms_up": _pose(arms=((0.25, 0, 1), (0.2, 0, 1)), head=(-10, 0, 0)),
    "arms_forward": _pose(arms=((0.1, 1, 0), (0.05, 1, 0.05))),
    "hands_on_hips": _pose(arms=((0.8, -0.25, -0.6), (-0.6, 0.35, -0.7))),
    "arms_crossed": _pose(arms=((0.25, 0.35, -1), (-1, 0.35, 0.35))),
    "hands_behind_head": _pose(arms=((0.8, 0.1, 0.8), (-0.6, -0.45, 0.5)), head=(-5, 0, 0)),
    "waving": _pose(left_arm=((1, 0.1, 0.2), (0.15, 0.1, 1)), head=(0, 10, 0)),
    "pointing": _pose(left_arm=((0.2, 1, 0.15), (0.15, 1, 0.15)), head=(0, 15, 0)),
    "phone_call": _pose(left_arm=((0.35, 0.45, -0.9), (-0.25, 0.05, 1)), head=(10, 0, 10)),
    "hand_on_chin": _pose(left_arm=((0.1, 0.6, -0.9), (-0.3, 0.2, 1)), head=(15, 0, 0)),
    "lateral_raise": _pose(arms=((1, 0.15, -0.3), (1, 0.15, -0.3))),
    "bowing": _pose(torso=(45, 0, 0), arms=((0.05, 0.3, -1), (0.05, 0.3, -1))),
    "touching_toes": _pose(torso=(105, 0, 0), head=(-20, 0, 0), arms=((0.05, 0.1, -1), (0.03, 0.1, -1))),
    "side_bend": _pose(torso=(0, 22, 0), right_arm=((0.45, 0, 1), (-0.55, 0, 1)), left_arm=((0.2, 0, -1), ARM_REST[1])),
    "reaching_up": _pose(left_arm=((0.1, 0.2, 1), (0.05, 0.2, 1)), head=(-20, 0, 0), feet=(20, 20)),
    "reaching_forward": _pose(torso=(25, 0, 0), arms=((0.1, 1, 0.2), (0.05, 1, 0.2))),
    "walking": _pose(
        left_leg=((0, 0.4, -1), (0, 0.1, -1)),
        right_leg=((0.03, -0.35, -1), (0.03, -0.7, -1)),
        left_arm=((0.1, -0.35, -1), (0.08, -0.1, -1)),
        right_arm=((0.1, 0.35, -1), (0.05, 0.8, -1)),
        feet=(-10, 15),
    ),
    "walking_passing": _pose(
        left_leg=((0.02, 0.05, -1), (0.02, -0.05, -1)),
        right_leg=((0.04, 0.3, -1), (0.03, -0.6, -1)),
        left_arm=((0.1, 0.05, -1), (0.08, 0.3, -1)),
        right_arm=((0.1, -0.05, -1), (0.08, 0.2, -1)),
    ),
    "running": _pose(
        torso=(12, 0, 0),
        left_leg=((0, 0.9, -0.7), (0, -0.25, -1)),
        right_leg=((0.03, -0.55, -1), (0.03, -1, -0.45)),
        left_arm=((0.15, -0.6, -1), (0.05, 1, 0.25)),
        right_arm=((0.15, 0.6, -1), (0.05, 0.35, 1)),
        feet=(0, 30),
    ),
    "high_knee_march": _pose(left_leg=((0.05, 1, -0.05), (0.03, 0.05, -1)), left_arm=((0.1, -0.3, -1), (0.05, 1, 0.2)),
                             right_arm=((0.1, 0.4, -1), (0.05, 0.4, 1))),
    "squat": _pose(
        torso=(35, 0, 0),
        legs=((0.3, 1, -0.3), (0.12, -0.35, -1)),
        arms=((0.1, 1, 0), (0.05, 1, 0)),
    ),
    "crouch": _pose(
        torso=(45, 0, 0),
        legs=((0.35, 1, 0.15), (0.15, -0.5, -1)),
        arms=((0.15, 0.6, -1), (0.05, 0.6, -1)),
        feet=(15, 15),
    ),
    "chair_pose": _pose(
        torso=(30, 0, 0), legs=((0.05, 0.85, -0.6), (0.03, -0.35, -1)), arms=((0.1, 0.5, 1), (0.05, 0.5, 1))
    ),
    "lunge": _pose(
        left_leg=((0.02, 1, -0.15), (0.02, 0, -1)),
        right_leg=((0.05, -0.6, -1), (0.05, -1, -0.2)),
        arms=((0.8, -0.25, -0.6), (-0.6, 0.35, -0.7)),
        feet=(0, 60),
    ),
    "warrior_1": _pose(
        left_leg=((0.05, 1, -0.2), (0.02, 0.05, -1)),
        right_leg=((0.1, -0.75, -1), (0.1, -0.75, -1)),
        arms=((0.15, 0.1, 1), (0.05, 0.1, 1)),
        head=(-15, 0, 0),
        feet=(0, 40),
    ),
    "warrior_2": _pose(
        torso=(0, 0, -70),
        left_leg=((1, 0.05, -0.15), (0.05, 0, -1)),
        right_leg=((0.7, 0, -1), (0.7, 0, -1)),
        arms=(OUT, OUT),
        head=(0, 70, 0),
    ),
    "tree": _pose(
        right_leg=((0.02, 0, -1), (0.02, 0, -1)),
        left_leg=((1, 0.3, -0.25), (-1, 0, -0.55)),
        arms=((0.25, 0.05, 1), (-0.45, 0.05, 1)),
    ),
    "jumping_jack": _pose(arms=((0.8, 0, 0.7), (0.5, 0, 1)), legs=((0.45, 0, -1), (0.4, 0, -1)), feet=(20, 20)),
    "star": _pose(arms=((1, 0, 0.5), (1, 0, 0.5)), legs=((0.6, 0, -1), (0.6, 0, -1))),
    "dancing_disco": _pose(
        torso=(0, 8, 15),
        left_arm=((0.5, 0.2, 1), (0.4, 0.2, 1)),
        right_arm=((-0.2, 0.4, -1), (-0.3, 0.4, -1)),
        left_leg=((0.1, 0, -1), (0.08, 0, -1)),
        right_leg=((0.15, 0.35, -1), (0.1, -0.4, -1)),
        head=(-10, 15, 0),
    ),
    "dancing_arms_bent": _pose(
        torso=(0, -6, -10),
        arms=((0.9, 0.1, -0.2), (0.2, 0.3, 1)),
        left_leg=((0.1, 0.5, -1), (0.05, -0.3, -1)),
        head=(0, -10, 8),
    ),
    "dancing_swing": _pose(
        torso=(5, 10, 20),
        left_arm=((1, 0.4, 0.1), (0.5, 0.9, 0.2)),
        right_arm=((0.5, -0.5, -1), (0.2, -0.2, -1)),
        right_leg=((0.25, 0, -1), (0.2, -0.15, -1)),
    ),
    "boxing_guard": _pose(
        torso=(10, 0, -20),
        arms=((0.35, 0.25, -1), (-0.2, 0.6, 0.8)),
        left_leg=((0.15, 0.25, -1), (0.1, -0.1, -1)),
        right_leg=((0.15, -0.3, -1), (0.1, -0.2, -1)),
    ),
    "throwing": _pose(
        torso=(0, 0, 30),
        left_arm=((0.2, 1, 0.1), (0.1, 1, 0.1)),
        right_arm=((1, -0.2, 0.1), (0.2, -0.4, 1)),
        left_leg=((0.1, 0.45, -1), (0.05, 0, -1)),
        right_leg=((0.1, -0.3, -1), (0.1, -0.3, -1)),
    ),
    "sitting": _pose(
        legs=((0.12, 1, -0.05), (0.08, 0.05, -1)),
        arms=((0.15, 0.4, -1), (0.05, 1, -0.35)),
    ),
    "sitting_leaning_back": _pose(
        torso=(-15, 0, 0),
        legs=((0.12, 1, 0.05), (0.08, 0.4, -1)),
        arms=((0.2, -0.5, -1), (0.1, 0.1, -1)),
    ),
    # on the floor
    "sitting_cross_legged": _pose(
        "floor", legs=((0.8, 0.6, -0.15), (-0.9, 0.35, -0.1)), arms=((0.2, 0.4, -1), (0.1, 0.9, -0.4))
    ),
    "kneeling": _pose("floor", legs=((0.08, 0.05, -1), (0.05, -1, -0.05)), feet=(70, 70)),
    "kneeling_one_knee": _pose(
        "floor",
        left_leg=((0.05, 1, 0), (0.03, 0.05, -1)),
        right_leg=((0.05, 0.05, -1), (0.05, -1, -0.05)),
        feet=(0, 70),
        left_arm=((0.15, 0.6, -1), (0.05, 1, -0.3)),
    ),
    "sitting_legs_out": _pose(
        "floor", torso=(10, 0, 0), legs=((0.15, 1, 0), (0.1, 1, 0)), arms=((0.25, -0.6, -1), (0.1, -0.2, -1))
    ),
    # prone (face down)
    "plank": _pose("prone", torso=(90, 0, 0), head=(-30, 0, 0), arms=((0.1, 0, -1), (0.05, 0, -1)),
                   legs=((0.06, -1, -0.12), (0.04, -1, -0.12)), feet=(-10, -10)),
    "forearm_plank": _pose("prone", torso=(90, 0, 0), head=(-30, 0, 0), arms=((0.1, 0, -1), (-0.1, 1, 0)),
                           legs=((0.06, -1, -0.2), (0.04, -1, -0.2)), feet=(-10, -10)),
    "push_up_low": _pose("prone", torso=(90, 0, 0), head=(-30, 0, 0), arms=((0.6, -0.6, 0.5), (-0.15, 0.25, -1)),
                         legs=((0.06, -1, -0.05), (0.04, -1, -0.05)), feet=(-10, -10)),
    "downward_dog": _pose("prone", torso=(135, 0, 0), head=(0, 0, 0), arms=((0.1, 1, -1), (0.08, 1, -1)),
                          legs=((0.08, -0.55, -1), (0.06, -0.55, -1)), feet=(-30, -30)),
    "cobra": _pose("prone", torso=(60, 0, 0), head=(-30, 0, 0), arms=((0.2, -0.2, -1), (0.1, 0.3, -1)),
                   legs=((0.06, -1, -0.5), (0.04, -1, -0.1)), feet=(70, 70)),
    # supine (face up)
    "lying_on_back": _pose("supine", torso=(-90, 0, 0), arms=((0.25, 1, 0), (0.15, 1, 0)),
                           legs=((0.08, 1, 0), (0.06, 1, 0)), head=(10, 0, 0)),
    "lying_knees_up": _pose("supine", torso=(-90, 0, 0), arms=((1, 0.3, 0), (1, 0.5, 0)),
                            legs=((0.1, 0.6, 0.8), (0.06, 0.8, -0.6)), head=(10, 0, 0)),
    "sit_up": _pose("supine", torso=(-40, 0, 0), arms=((0.2, 1, 0.2), (0.1, 1, 0.2)),
                    legs=((0.1, 0.6, 0.8), (0.06, 0.8, -0.6)), head=(15, 0, 0)),
}  # fmt: skip
GROUPS = ("upright", "floor", "prone", "supine")


def _rotate(direction: np.ndarray, rng: np.random.Generator, sd_deg: float) -> np.ndarray:
    """direction [3] (unit) turned about a random axis normal to it by a normal(0, sd) angle."""
    axis = np.cross(direction, rng.normal(size=3))
    axis /= np.linalg.norm(axis)
    a = np.radians(rng.normal(0, sd_deg))
    return direction * np.cos(a) + np.cross(axis, direction) * np.sin(a)  # axis is normal to direction


def _unit(d) -> np.ndarray:
    d = np.asarray(d, np.float64)
    return d / np.linalg.norm(d)


def blend(a: BodyPose, b: BodyPose, t: float) -> BodyPose:
    """The pose a share t of the way from a to b (directions interpolated, then normalized)."""

    def limb(x: Limb, y: Limb) -> Limb:
        return tuple(tuple((1 - t) * _unit(u) + t * _unit(v)) for u, v in zip(x, y))

    def angles(x, y):
        return tuple((1 - t) * u + t * v for u, v in zip(x, y))

    return BodyPose(
        group=a.group,
        torso=angles(a.torso, b.torso),
        head=angles(a.head, b.head),
        left_arm=limb(a.left_arm, b.left_arm),
        right_arm=limb(a.right_arm, b.right_arm),
        left_leg=limb(a.left_leg, b.left_leg),
        right_leg=limb(a.right_leg, b.right_leg),
        feet=angles(a.feet, b.feet),
    )


def jittered(pose: BodyPose, rng: np.random.Generator, noise_deg: float) -> BodyPose:
    """The pose with every segment turned and every angle moved by normal(0, noise_deg) degrees
    (the torso and feet by half as much: they carry the whole body or its balance)."""

    def limb(x: Limb) -> Limb:
        return tuple(tuple(_rotate(_unit(d), rng, noise_deg)) for d in x)

    def angles(x, sd):
        return tuple(v + float(rng.normal(0, sd)) for v in x)

    return BodyPose(
        group=pose.group,
        torso=angles(pose.torso, noise_deg / 2),
        head=angles(pose.head, noise_deg),
        left_arm=limb(pose.left_arm),
        right_arm=limb(pose.right_arm),
        left_leg=limb(pose.left_leg),
        right_leg=limb(pose.right_leg),
        feet=angles(pose.feet, noise_deg / 2),
    )


def random_pose(
    rng: np.random.Generator, blend_probability: float, noise_deg: float, groups: dict[str, float] | None = None
) -> tuple[BodyPose, str]:
    """(pose, name): a library pose of a group drawn by the weights `groups` (None: every pose
    alike), mirrored half the time, sometimes blended with another of its group, jittered. The name
    is the pose's, with "~" when mirrored and "+other@t" for a blend."""
    names = sorted(POSES)
    if groups:
        unknown = set(groups) - set(GROUPS)
        if unknown:
            raise ValueError(f"unknown pose groups {sorted(unknown)}; expected some of {', '.join(GROUPS)}")
        weights = np.array([groups.get(POSES[n].group, 0.0) / sum(POSES[m].group == POSES[n].group for m in names)
                            for n in names])  # fmt: skip
        name = names[rng.choice(len(names), p=weights / weights.sum())]
    else:
        name = names[rng.integers(len(names))]
    pose = POSES[name]
    if rng.random() < 0.5:
        pose, name = pose.mirrored(), f"{name}~"
    if rng.random() < blend_probability:
        group = sorted(n for n in POSES if POSES[n].group == pose.group)
        other = group[rng.integers(len(group))]
        t = float(rng.uniform(0.2, 0.6))
        pose, name = blend(pose, POSES[other], t), f"{name}+{other}@{t:.2f}"
    return jittered(pose, rng, noise_deg), name
