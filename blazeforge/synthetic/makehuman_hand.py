"""MakeHuman's hands posed from the gesture library, and their 21 MediaPipe keypoints (numpy, no bpy).

A gesture (`gestures.random_pose`) gives joint angles; `kinematics.forward_kinematics` turns them
into the 21 joints of our hand model, whose bone directions (in its hand frame: fingers +y, palm
+z, a right hand's thumb +x) are given to the rig's finger bones: each bone turns by the smallest
rotation that takes its direction (after its parent's turn) to the model's, so flexion stays a pure
bend and the MakeHuman hand keeps its own proportions. The arm (shoulder, elbow, forearm twist,
wrist) is posed by random angles within limits.

Keypoints: wrist, thumb CMC / MCP / IP and each finger's MCP / PIP / DIP are the heads of the rig's
bones (the centres of MakeHuman's joint cubes); each tip is the finger's farthest skin vertex along
its last bone, moved `TIP_INSET_M` back along the bone (MediaPipe's tip lies just inside the end).
"""

from __future__ import annotations

from functools import cache

import numpy as np

from blazeforge.synthetic.kinematics import HandShape, forward_kinematics
from blazeforge.synthetic.makehuman import SIDES, Body, Posed, axis_angle, bone_share, group_faces, swing
from blazeforge.topology.hand import FINGERS, NAMES, WRIST, finger_chain, hand_axes

TIP_INSET_M = 0.002
# Where MediaPipe's hand landmark model puts each point on MakeHuman's hands relative to the rig's
# joint, as weights of the directions `shift_basis` names for it (fractions of the palm size);
# fitted by least squares by tools/hand_keypoint_offsets.py on 191 close-ups of all gestures, both
# hands: the published model's NME on the held-out half against our labels 10.8% of palm size
# unshifted, 9.8% with the earlier shifts (hand-plane offsets fitted on flat hands), 8.8% with these.
KEYPOINT_SHIFTS: dict[str, tuple[float, ...]] = {
    "wrist": (-0.013, 0.081, -0.003),  # x, y, z
    "thumb_cmc": (-0.065, -0.144, 0.005, 0.142, 0.019),  # x, y, z, a_out, n_out
    "thumb_mcp": (0.016, -0.018, 0.029, 0.043, -0.034),  # l_in, a_in, n_in, a_out, n_out
    "thumb_ip": (0.020, -0.063, 0.007, -0.027, -0.041),  # l_in, a_in, n_in, a_out, n_out
    "thumb_tip": (0.023, -0.172, -0.015),  # l_in, a_in, n_in
    "index_mcp": (-0.063, -0.105, -0.006, 0.014, 0.014),  # x, y, z, a_out, n_out
    "index_pip": (-0.031, -0.068, -0.006, 0.068, 0.015),  # l_in, a_in, n_in, a_out, n_out
    "index_dip": (-0.020, -0.114, -0.005, 0.098, 0.011),  # l_in, a_in, n_in, a_out, n_out
    "index_tip": (-0.020, -0.105, 0.007),  # l_in, a_in, n_in
    "middle_mcp": (0.003, -0.125, 0.010, 0.052, -0.002),  # x, y, z, a_out, n_out
    "middle_pip": (0.004, -0.053, -0.011, 0.044, 0.014),  # l_in, a_in, n_in, a_out, n_out
    "middle_dip": (0.009, -0.128, -0.008, 0.070, 0.014),  # l_in, a_in, n_in, a_out, n_out
    "middle_tip": (0.014, -0.132, 0.009),  # l_in, a_in, n_in
    "ring_mcp": (0.025, -0.129, 0.005, 0.072, -0.006),  # x, y, z, a_out, n_out
    "ring_pip": (0.015, -0.048, -0.019, 0.037, 0.010),  # l_in, a_in, n_in, a_out, n_out
    "ring_dip": (0.027, -0.103, -0.006, 0.067, 0.012),  # l_in, a_in, n_in, a_out, n_out
    "ring_tip": (0.033, -0.141, 0.007),  # l_in, a_in, n_in
    "pinky_mcp": (0.055, -0.110, -0.004, 0.055, -0.008),  # x, y, z, a_out, n_out
    "pinky_pip": (0.026, -0.044, -0.022, 0.016, 0.010),  # l_in, a_in, n_in, a_out, n_out
    "pinky_dip": (0.036, -0.083, -0.007, 0.031, 0.016),  # l_in, a_in, n_in, a_out, n_out
    "pinky_tip": (0.038, -0.129, 0.015),  # l_in, a_in, n_in
}
# MakeHuman's finger bones, base to tip: finger1 is the thumb (its first bone the CMC).
FINGER_BONES = {f: tuple(f"finger{i + 1}-{j}" for j in (1, 2, 3)) for i, f in enumerate(FINGERS)}


def bone(name: str, side: str) -> str:
    return f"{name}.{SIDES[side][0]}"


def hand_frame(body_or_posed, side: str) -> tuple[np.ndarray, np.ndarray]:
    """(origin [3], F [3, 3]): the hand frame of our hand model in the body's frame: columns x (the
    thumb's side for a right hand, mirrored for a left one), y (wrist -> middle MCP), z (the palm's
    normal); F is a rotation for the right hand and a reflection for the left (as our model's left
    hand is the mirror image of its right)."""
    head = body_or_posed.head if isinstance(body_or_posed, Posed) else _rest_head(body_or_posed)
    wrist = head(bone("wrist", side))
    y = head(bone("finger3-1", side)) - wrist
    y /= np.linalg.norm(y)
    u = head(bone("finger2-1", side)) - head(bone("finger5-1", side))
    u -= y * np.dot(u, y)
    u /= np.linalg.norm(u)
    s = 1.0 if side == "right" else -1.0
    return wrist, np.stack([s * u, y, s * np.cross(u, y)], 1)


def _rest_head(body: Body):
    return lambda name: body.heads[body.bone(name)]


def arm_rotations(body: Body, side: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Random world rotations of the upper arm, forearm and wrist: the shoulder raised or lowered
    and swung, the elbow bent, the forearm twisted, the wrist flexed and deviated."""
    s = 1.0 if side == "left" else -1.0  # the body's left side is at +x
    out = {}
    shoulder = axis_angle([0, 1, 0], -s * rng.uniform(-40, 50)) @ axis_angle([1, 0, 0], rng.uniform(-20, 70))
    out[bone("upperarm01", side)] = shoulder
    upper = shoulder @ (
        body.tails[body.bone(bone("upperarm02", side))] - body.heads[body.bone(bone("upperarm01", side))]
    )
    fore_rest = body.tails[body.bone(bone("lowerarm02", side))] - body.heads[body.bone(bone("lowerarm01", side))]
    bend_axis = np.cross(upper, shoulder @ fore_rest)
    elbow = axis_angle(bend_axis, rng.uniform(-45, 40)) @ shoulder
    out[bone("lowerarm01", side)] = elbow
    forearm = elbow @ fore_rest
    out[bone("lowerarm02", side)] = axis_angle(forearm, rng.uniform(-70, 70)) @ elbow
    _, frame = hand_frame(body, side)
    frame = out[bone("lowerarm02", side)] @ frame
    wrist = axis_angle(frame[:, 0], rng.uniform(-45, 45)) @ axis_angle(frame[:, 2], rng.uniform(-15, 15))
    out[bone("wrist", side)] = wrist @ out[bone("lowerarm02", side)]
    return out


def finger_rotations(
    body: Body, side: str, pose: dict, wrist: np.ndarray, shape: HandShape = HandShape()
) -> dict[str, np.ndarray]:
    """World rotations of the finger bones that give them our model's bone directions for `pose`,
    the wrist bone having turned by `wrist` [3, 3]."""
    joints = forward_kinematics(pose, shape, left=side == "left")
    _, frame = hand_frame(body, side)
    out = {}
    for finger in FINGERS:
        chain = finger_chain(finger)
        parent = wrist
        for j, name in enumerate(FINGER_BONES[finger]):
            b = body.bone(bone(name, side))
            rest = body.tails[b] - body.heads[b]
            target = wrist @ frame @ (joints[chain[j + 1]] - joints[chain[j]])
            out[bone(name, side)] = swing(parent @ rest, target) @ parent
            parent = out[bone(name, side)]
    return out


@cache
def tip_vertices(side: str) -> dict[str, int]:
    """{finger: the rest body's skin vertex farthest along the finger's last bone} (default shape)."""
    body = Body.shaped()
    skin = np.unique(_body_faces())
    out = {}
    for finger in FINGERS:
        name = bone(FINGER_BONES[finger][2], side)
        share = bone_share((name,))[skin]
        candidates = skin[share > 0.5]
        b = body.bone(name)
        axis = body.tails[b] - body.heads[b]
        out[finger] = int(candidates[np.argmax((body.vertices[candidates] - body.heads[b]) @ axis)])
    return out


@cache
def _body_faces() -> np.ndarray:
    from blazeforge.synthetic.makehuman import compiled

    return compiled()["faces"][group_faces(("body",))]


def keypoints(posed: Posed, side: str) -> np.ndarray:
    """[21, 3] MediaPipe's hand keypoints of a posed body (metres, the body's frame)."""
    out = np.zeros((21, 3))
    out[0] = posed.head(bone("wrist", side))
    tips = tip_vertices(side)
    for finger in FINGERS:
        chain = finger_chain(finger)
        names = FINGER_BONES[finger]
        for j in range(3):
            out[chain[j]] = posed.head(bone(names[j], side))
        last = bone(names[2], side)
        direction = posed.tail(last) - posed.head(last)
        direction /= np.linalg.norm(direction)
        out[chain[3]] = posed.vertices[tips[finger]] - direction * TIP_INSET_M
    return shifted(out, side)


# The directions a keypoint's shift is made of, by the keypoint's place in its chain: the hand's
# (x towards the thumb's side, y wrist -> middle MCP, z the palm's side) and those of the bones that
# meet there: `a` along a bone (from the wrist outwards), `l` across it (towards x, for the thumb
# towards z, made normal to the bone), `n` the bone's front (normal to both: z for a flat finger;
# all mirror with the hand, so one set of weights serves both), `_in` the bone ending at the point,
# `_out` the one starting there. Bent fingers move `n_in` / `n_out` with their bones, so a shift
# fitted on curled fingers (the skin's knuckle seen from outside, not the joint's centre) follows.
SHIFT_BASIS = {
    "wrist": ("x", "y", "z"),
    "base": ("x", "y", "z", "a_out", "n_out"),
    "middle": ("l_in", "a_in", "n_in", "a_out", "n_out"),
    "tip": ("l_in", "a_in", "n_in"),
}


def keypoint_kind(index: int) -> str:
    """ "wrist", "base" (thumb CMC, finger MCPs), "middle" or "tip": the place of keypoint `index`."""
    return "wrist" if index == WRIST else ("base", "middle", "middle", "tip")[(index - 1) % 4]


def shift_basis(points: np.ndarray, side: str) -> tuple[float, list[np.ndarray]]:
    """(palm size [same units as points], [21] arrays [m, 3] of unit directions: keypoint i's
    SHIFT_BASIS[keypoint_kind(i)]) for 21 unshifted keypoints `points` [21, 3] of a `side` hand."""
    p = np.asarray(points, np.float64)
    palm, along, across = hand_axes(p)
    s = 1.0 if side == "right" else -1.0
    frame = np.stack([across, along, s * np.cross(across, along)], 1)  # mirrored with the hand

    def unit(v):
        return v / max(np.linalg.norm(v), 1e-12)

    def bone_axes(i: int, j: int, thumb: bool) -> dict[str, np.ndarray]:
        a = unit(p[j] - p[i])
        ref = frame[:, 2] if thumb else frame[:, 0]
        lateral = unit(ref - a * (ref @ a))
        normal = s * (np.cross(a, lateral) if thumb else np.cross(lateral, a))  # s: a mirror flips a cross
        return {"a": a, "l": lateral, "n": normal}

    out = []
    for i in range(21):
        kind = keypoint_kind(i)
        thumb = 1 <= i <= 4
        named = {"x": frame[:, 0], "y": frame[:, 1], "z": frame[:, 2]}
        if kind != "wrist":
            if kind in ("base", "middle"):
                named |= {f"{k}_out": v for k, v in bone_axes(i, i + 1, thumb).items()}
            if kind in ("middle", "tip"):
                named |= {f"{k}_in": v for k, v in bone_axes(i - 1, i, thumb).items()}
        out.append(np.stack([named[name] for name in SHIFT_BASIS[kind]]))
    return palm, out


def shifted(points: np.ndarray, side: str, shifts: dict[str, tuple[float, ...]] | None = None) -> np.ndarray:
    """Unshifted keypoints `points` [21, 3] moved by `shifts` (default KEYPOINT_SHIFTS)."""
    shifts = KEYPOINT_SHIFTS if shifts is None else shifts
    palm, basis = shift_basis(points, side)
    out = np.asarray(points, np.float64).copy()
    for i, name in enumerate(NAMES):
        if name in shifts:
            out[i] += palm * np.asarray(shifts[name]) @ basis[i]
    return out
