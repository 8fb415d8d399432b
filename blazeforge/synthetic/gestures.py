"""A library of named hand gestures as joint-angle tables, blends between them, anatomical limits.

A pose maps each finger to four angles in degrees:
- thumb: (cmc_flex, cmc_abd, mcp, ip): cmc_flex > 0 swings the thumb across the palm, cmc_abd > 0
  lifts it out of the palm plane (opposition);
- index..pinky: (mcp_flex, mcp_abd, pip, dip): mcp_abd > 0 turns the finger towards the thumb.
"""

from __future__ import annotations

import numpy as np

from blazeforge.topology.hand import FINGERS

JOINTS = {"thumb": ("cmc_flex", "cmc_abd", "mcp", "ip")} | {
    f: ("mcp_flex", "mcp_abd", "pip", "dip") for f in FINGERS[1:]
}

# Anatomical limits, degrees: (low, high) per joint.
LIMITS = {"thumb": ((-20, 70), (-10, 60), (-10, 75), (-15, 85))} | {
    f: ((-20, 95), (-20, 20), (0, 110), (-5, 85)) for f in FINGERS[1:]
}

# Finger states (mcp_flex, mcp_abd, pip, dip).
S = (0, 0, 0, 0)  # straight
C = (85, 0, 100, 65)  # curled into the fist
H = (45, 0, 50, 30)  # half bent
K = (5, 0, 95, 60)  # hooked
F = (85, 0, 5, 5)  # bent flat at the knuckle
T = (40, 0, 45, 25)  # tip meeting the thumb
R = (20, 0, 25, 15)  # relaxed
# Thumb states (cmc_flex, cmc_abd, mcp, ip).
OUT = (0, 0, 0, 0)
SIDE = (25, 0, 5, 5)
TUCK = (35, 12, 40, 35)
ACROSS = (60, 8, 20, 20)
PINCH = (30, 22, 20, 15)
UP = (10, 10, -5, -5)


def _g(thumb, index, middle, ring, pinky, abd=(0, 0, 0, 0)) -> dict:
    pose = {"thumb": tuple(float(v) for v in thumb)}
    for finger, state, a in zip(FINGERS[1:], (index, middle, ring, pinky), abd):
        pose[finger] = (float(state[0]), float(state[1] + a), float(state[2]), float(state[3]))
    return pose


TOGETHER = (-6, 0, 6, 12)  # cancels the rest splay: fingers side by side
SPREAD = (12, 2, -10, -18)

GESTURES = {
    "open_palm": _g(OUT, S, S, S, S),
    "spread": _g((-15, 0, 0, 0), S, S, S, S, SPREAD),
    "flat_hand": _g(SIDE, S, S, S, S, TOGETHER),
    "relaxed": _g((10, 10, 10, 10), R, R, R, R),
    "fist": _g(TUCK, C, C, C, C),
    "half_fist": _g(SIDE, H, H, H, H),
    "thumbs_up": _g(UP, C, C, C, C),
    "point": _g(TUCK, S, C, C, C),
    "point_bent": _g(TUCK, K, C, C, C),
    "victory": _g(TUCK, S, S, C, C, (8, -8, 0, 0)),
    "scissors": _g(TUCK, S, S, C, C, (-6, 2, 0, 0)),
    "count_one": _g(ACROSS, S, C, C, C),
    "count_two": _g(ACROSS, S, S, C, C),
    "count_three": _g(ACROSS, S, S, S, C),
    "count_four": _g(ACROSS, S, S, S, S),
    "three_thumb": _g(OUT, S, S, C, C),
    "l_shape": _g((-15, 0, 0, 0), S, C, C, C),
    "gun": _g(UP, S, S, C, C, (-4, 4, 0, 0)),
    "rock": _g(TUCK, S, C, C, S),
    "i_love_you": _g(OUT, S, C, C, S),
    "call_me": _g((-15, 5, 0, 0), C, C, C, S, (0, 0, 0, -10)),
    "pinky_up": _g(TUCK, C, C, C, S),
    "ok": _g(PINCH, T, S, S, S, (0, -3, -3, -3)),
    "pinch": _g(PINCH, T, H, H, H),
    "pinch_middle": _g((35, 22, 25, 20), S, (45, -5, 50, 30), S, S),
    "money": _g(PINCH, T, C, C, C),
    "o_shape": _g(PINCH, (45, 0, 55, 40), (45, 0, 55, 40), (45, 0, 55, 40), (45, 0, 55, 40)),
    "c_shape": _g((10, 20, 15, 10), (25, 0, 40, 30), (25, 0, 40, 30), (25, 0, 40, 30), (25, 0, 40, 30)),
    "grab": _g((15, 20, 30, 30), K, K, K, K),
    "claw": _g((15, 20, 40, 40), (30, 0, 80, 60), (30, 0, 80, 60), (30, 0, 80, 60), (30, 0, 80, 60), SPREAD),
    "duck": _g(SIDE, F, F, F, F, TOGETHER),
    "hook": _g(SIDE, K, K, K, K),
    "vulcan": _g(OUT, S, S, S, S, (-2, 3, -4, 2)),
}


def clamp(pose: dict) -> dict:
    """The pose with every angle inside LIMITS."""
    return {f: tuple(float(np.clip(v, lo, hi)) for v, (lo, hi) in zip(pose[f], LIMITS[f])) for f in pose}


def blend(a: dict, b: dict, t: float) -> dict:
    """(1 - t) * a + t * b, joint by joint."""
    return {f: tuple((1 - t) * x + t * y for x, y in zip(a[f], b[f])) for f in a}


def random_pose(rng: np.random.Generator, blend_probability: float = 0.5, noise_deg: float = 6.0) -> tuple[dict, str]:
    """(pose, name): a library gesture, sometimes blended with another, jittered, clamped.

    The name is the gesture's, or "a+b@t" for a blend.
    """
    names = sorted(GESTURES)
    name = names[rng.integers(len(names))]
    pose = GESTURES[name]
    if rng.random() < blend_probability:
        other = names[rng.integers(len(names))]
        t = float(rng.uniform(0.2, 0.8))
        pose = blend(pose, GESTURES[other], t)
        name = f"{name}+{other}@{t:.2f}"
    noisy = {f: tuple(v + float(rng.normal(0, noise_deg)) for v in pose[f]) for f in pose}
    return clamp(noisy), name
