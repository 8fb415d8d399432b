"""An articulated hand skeleton and forward kinematics to the 21 MediaPipe joints (pure numpy).

Hand frame (metres): wrist at the origin, fingers along +y, the palm facing +z, the thumb of a
RIGHT hand on +x. A left hand is the mirror image (x -> -x). Flexion curls a finger towards the
palm (+z); abduction spreads it sideways.

A pose is a dict of joint angles in degrees (see `gestures.JOINTS`):
finger (index..pinky): mcp_flex, mcp_abd, pip, dip; thumb: cmc_flex (across the palm), cmc_abd
(out of the palm plane, towards +z), mcp, ip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from blazeforge.topology.hand import FINGERS, finger_chain

# An average adult hand (metres): MCP (or thumb CMC) positions and segment lengths base -> tip.
BASES = {
    "thumb": (0.024, 0.028, 0.008),
    "index": (0.026, 0.088, 0.0),
    "middle": (0.006, 0.093, 0.0),
    "ring": (-0.013, 0.087, 0.0),
    "pinky": (-0.030, 0.077, 0.0),
}
LENGTHS = {
    "thumb": (0.041, 0.032, 0.027),
    "index": (0.040, 0.024, 0.021),
    "middle": (0.045, 0.028, 0.023),
    "ring": (0.042, 0.027, 0.022),
    "pinky": (0.033, 0.019, 0.019),
}
# Rest direction of each finger in the palm plane (degrees from +y towards +x), and the thumb's.
SPLAY = {"index": 6.0, "middle": 0.0, "ring": -6.0, "pinky": -13.0}
# The thumb's rest frame: turned from +y towards +x (yaw), raised towards +z (pitch), and rolled
# about its own axis so that its flexion curls it across the palm rather than straight forward.
THUMB_REST = (38.0, 12.0, -70.0)  # yaw, pitch, roll, degrees


@dataclass(frozen=True)
class HandShape:
    """Identity: overall size and per-finger length scales (a person's hand)."""

    scale: float = 1.0
    palm_width: float = 1.0
    finger_scale: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0, 1.0)

    @classmethod
    def random(cls, rng: np.random.Generator) -> HandShape:
        return cls(
            scale=float(rng.uniform(0.85, 1.12)),
            palm_width=float(rng.uniform(0.9, 1.1)),
            finger_scale=tuple(float(s) for s in rng.uniform(0.93, 1.07, 5)),
        )


def _rx(deg: float) -> np.ndarray:
    """Rotation about the local x axis turning +y towards +z (flexion)."""
    a = math.radians(deg)
    return np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])


def _rz(deg: float) -> np.ndarray:
    """Rotation about the local z axis turning +y towards +x (abduction, splay)."""
    a = math.radians(deg)
    return np.array([[math.cos(a), math.sin(a), 0], [-math.sin(a), math.cos(a), 0], [0, 0, 1]])


def _ry(deg: float) -> np.ndarray:
    """Rotation about the local y axis (a bone's own axis) turning +z towards +x."""
    a = math.radians(deg)
    return np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])


def _thumb_frame() -> np.ndarray:
    yaw, pitch, roll = THUMB_REST
    return _rz(yaw) @ _rx(pitch) @ _ry(roll)


def forward_kinematics(
    pose: dict, shape: HandShape = HandShape(), left: bool = False, frames: dict | None = None
) -> np.ndarray:
    """The 21 joints [21, 3] in metres in the hand frame, in MediaPipe order.

    If `frames` is a dict, it receives each finger's distal segment frame [3, 3] (columns: side,
    along the bone, palm side), e.g. to place the nails.
    """
    joints = np.zeros((21, 3))
    mirror = np.diag([-1.0, 1.0, 1.0]) if left else np.eye(3)
    for f, finger in enumerate(FINGERS):
        a = pose[finger]
        base = np.array(BASES[finger]) * shape.scale
        base[0] *= shape.palm_width
        lengths = np.array(LENGTHS[finger]) * shape.scale * shape.finger_scale[f]
        if finger == "thumb":  # CMC: flexion across the palm, abduction out of the palm plane
            frame = _thumb_frame() @ _rx(a[0]) @ _rz(a[1])
        else:
            frame = _rz(SPLAY[finger] + a[1]) @ _rx(a[0])
        bends = (0.0, a[2], a[3])
        chain = finger_chain(finger)
        joints[chain[0]] = base
        point = base
        for segment, (length, bend) in enumerate(zip(lengths, bends)):
            frame = frame @ _rx(bend)
            point = point + frame[:, 1] * length
            joints[chain[segment + 1]] = point
        if frames is not None:
            frames[finger] = mirror @ frame
    return joints @ mirror


def orientation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """R = Rz(roll) @ Rx(pitch) @ Ry(yaw), radians, right-handed rotations in the world frame (camera
    looking down -Z, +Y up): yaw about the object's vertical axis, then pitch towards or away from
    the camera, then roll in the image plane."""
    ry = np.array([[math.cos(yaw), 0, math.sin(yaw)], [0, 1, 0], [-math.sin(yaw), 0, math.cos(yaw)]])
    rx = np.array([[1, 0, 0], [0, math.cos(pitch), -math.sin(pitch)], [0, math.sin(pitch), math.cos(pitch)]])
    rz = np.array([[math.cos(roll), -math.sin(roll), 0], [math.sin(roll), math.cos(roll), 0], [0, 0, 1]])
    return rz @ rx @ ry


def random_rotation(
    rng: np.random.Generator, yaw_sd_deg: float | None = None, pitch_deg: float = math.degrees(0.9)
) -> np.ndarray:
    """A hand orientation: any roll in the image plane, palm or back towards the camera, tilted.

    yaw_sd_deg None: any turn about the finger axis (palm, side or back equally); a number: the
    palm or the back towards the camera, turned from it by a normal angle with this deviation.
    pitch_deg: the fingers tilted towards or away from the camera by up to this much."""
    if yaw_sd_deg is None:
        yaw = rng.uniform(-math.pi, math.pi)  # about the hand's finger axis: palm, side or back
    else:
        yaw = math.pi * float(rng.random() < 0.5) + math.radians(rng.normal(0, yaw_sd_deg))
    pitch = math.radians(rng.uniform(-pitch_deg, pitch_deg))  # fingers towards or away from the camera
    roll = rng.uniform(-math.pi, math.pi)  # in the image plane
    return orientation(yaw, pitch, roll)
