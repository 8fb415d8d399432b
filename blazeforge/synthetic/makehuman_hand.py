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
# joint (tools/hand_keypoint_offsets.py on flat close-ups): (across towards the thumb's side,
# along from the wrist to the fingers), fractions of the palm size; our labels move by these.
# Fitted in two rounds (the second adding half the residuals): the published model's NME on the
# close-ups against our labels went from 7.2% to 5.4% of palm size after the first.
KEYPOINT_SHIFTS = {
    "wrist": (-0.008, 0.121),
    "thumb_cmc": (0.035, -0.004),
    "thumb_mcp": (0.03, 0.045),
    "thumb_tip": (0.02, -0.05),
    "index_mcp": (-0.03, -0.06),
    "index_pip": (0.01, 0.046),
    "index_dip": (0.011, 0.03),
    "index_tip": (-0.003, -0.045),
    "middle_mcp": (0.027, -0.04),
    "middle_pip": (0.027, 0.033),
    "middle_dip": (0.01, 0.0),
    "middle_tip": (0.0, -0.06),
    "ring_mcp": (0.025, -0.04),
    "ring_pip": (0.02, 0.03),
    "ring_dip": (0.025, 0.015),
    "ring_tip": (0.024, -0.05),
    "pinky_mcp": (0.045, -0.04),
    "pinky_pip": (0.022, 0.015),
    "pinky_dip": (0.018, 0.027),
    "pinky_tip": (0.024, -0.016),
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
    return _shifted(out)


def _shifted(points: np.ndarray) -> np.ndarray:
    """points [21, 3] moved by KEYPOINT_SHIFTS: the wrist and each finger's base along the hand's
    axes, the other joints along the bone that ends at them (and across the hand)."""
    palm, along, across = hand_axes(points)
    out = points.copy()
    for i, name in enumerate(NAMES):
        a, b = KEYPOINT_SHIFTS.get(name, (0.0, 0.0))
        axis = along
        if i not in (WRIST, *(finger_chain(f)[0] for f in FINGERS)):
            axis = points[i] - points[i - 1]
            axis /= np.linalg.norm(axis)
        out[i] = points[i] + (a * across + b * axis) * palm
    return out
