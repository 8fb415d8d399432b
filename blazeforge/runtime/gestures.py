"""Gestures derived from 21 hand landmarks: named rules, and the features a trained classifier reads.

Both work on the landmarks the hand model gives ([21, 3]: x, y in pixels, z at x's scale), so the
same code serves the runtime (`calculators.gestures.Gestures`), the gesture recipe's training
(`recipes.gesture`) and its evaluation.

Rules read which fingers are extended (the finger's joints nearly in line and its tip farther from
the wrist than its middle joint), whether the thumb and index tips touch, and which way the thumb
points; the names follow `synthetic.gestures` so renders label them.
"""

from __future__ import annotations

import numpy as np

from blazeforge.topology.hand import FINGERS, MIDDLE_MCP, WRIST, finger_chain

THUMB_TIP, INDEX_TIP = finger_chain("thumb")[3], finger_chain("index")[3]
PINKY_MCP = finger_chain("pinky")[0]

# Extended fingers (thumb, index, middle, ring, pinky) -> name, for poses without a thumb-index contact.
PATTERNS = {
    (1, 1, 1, 1, 1): "open_palm",
    (0, 0, 0, 0, 0): "fist",
    (0, 1, 0, 0, 0): "point",
    (0, 1, 1, 0, 0): "victory",
    (0, 1, 1, 1, 0): "count_three",
    (0, 1, 1, 1, 1): "count_four",
    (1, 1, 1, 0, 0): "three_thumb",
    (1, 1, 0, 0, 0): "l_shape",
    (0, 1, 0, 0, 1): "rock",
    (1, 1, 0, 0, 1): "i_love_you",
    (1, 0, 0, 0, 1): "call_me",
    (0, 0, 0, 0, 1): "pinky_up",
}
RULE_NAMES = tuple(sorted({*PATTERNS.values(), "thumbs_up", "ok", "pinch"}))


def palm_size(points: np.ndarray) -> float:
    """Wrist to middle-finger MCP, in the points' units (3D)."""
    return float(np.linalg.norm(points[MIDDLE_MCP, :3] - points[WRIST, :3]))


FINGER_CHAINS = np.array([finger_chain(f) for f in FINGERS[1:]])  # [4, 4]: index .. pinky, base to tip


def extended(points: np.ndarray, max_bend_deg: float = 52.0) -> tuple[int, ...]:
    """1 per finger (thumb first) that is extended, points [21, >=3]. Fingers: their joints bend
    less than max_bend_deg in all and the tip is farther from the wrist than the second joint.
    Thumb: its tip is more than 1.1 palm sizes from the pinky's MCP (out to the side or up, not
    across or along the palm)."""
    p = np.asarray(points, np.float64)[:, :3]
    thumb = np.linalg.norm(p[THUMB_TIP] - p[PINKY_MCP]) > 1.1 * palm_size(p)
    chains = p[FINGER_CHAINS]  # [4, 4, 3]
    bones = np.diff(chains, axis=1)  # [4, 3, 3]
    bones /= np.linalg.norm(bones, axis=2, keepdims=True) + 1e-9
    cosines = np.clip((bones[:, :-1] * bones[:, 1:]).sum(2), -1, 1)
    bend = np.degrees(np.arccos(cosines)).sum(1)  # [4]
    reach = np.linalg.norm(chains[:, 3] - p[WRIST], axis=1) > np.linalg.norm(chains[:, 1] - p[WRIST], axis=1)
    return (int(thumb), *(int(b) for b in (bend < max_bend_deg) & reach))


def rule_gesture(points: np.ndarray) -> str | None:
    """The named gesture the rules see in landmarks [21, >=3] (image pixels), or None."""
    p = np.asarray(points, np.float64)
    size = palm_size(p)
    if size <= 0:
        return None
    fingers = extended(p)
    contact = np.linalg.norm(p[THUMB_TIP, :3] - p[INDEX_TIP, :3]) < 0.3 * size
    if contact and fingers[2:] == (1, 1, 1):
        return "ok"
    if contact and not any(fingers[2:]):
        return "pinch"
    if fingers == (1, 0, 0, 0, 0):
        thumb = p[THUMB_TIP, :2] - p[finger_chain("thumb")[1], :2]
        return "thumbs_up" if -thumb[1] > 0.7 * np.linalg.norm(thumb) else None
    return PATTERNS.get(fingers)


def features(points: np.ndarray) -> np.ndarray:
    """[63] float32: landmarks [21, 3] relative to the wrist, turned so the wrist -> middle MCP
    vector points up, divided by the palm size. Left and right hands differ by a mirror in x; the
    classifier learns both (training mirrors at random), so no handedness is needed here."""
    p = np.asarray(points, np.float64)[:, :3] - np.asarray(points, np.float64)[WRIST, :3]
    angle = np.arctan2(p[MIDDLE_MCP, 0], -p[MIDDLE_MCP, 1])  # 0 when the palm points up in the image
    c, s = np.cos(angle), np.sin(angle)
    xy = p[:, :2] @ np.array([[c, -s], [s, c]])
    out = np.concatenate([xy, p[:, 2:3]], axis=1) / max(palm_size(p), 1e-9)
    return out.reshape(-1).astype(np.float32)
