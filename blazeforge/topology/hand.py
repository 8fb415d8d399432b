"""The 21 MediaPipe hand landmarks.

Order and names follow MediaPipe's `HandLandmark` enum: the wrist, then four joints per finger from
the base to the tip (thumb CMC, MCP, IP, TIP; other fingers MCP, PIP, DIP, TIP).
"""

import numpy as np

from blazeforge.topology.base import Topology, register

FINGERS = ("thumb", "index", "middle", "ring", "pinky")
_JOINTS = {"thumb": ("cmc", "mcp", "ip", "tip")}
NAMES = ("wrist",) + tuple(
    f"{finger}_{joint}" for finger in FINGERS for joint in _JOINTS.get(finger, ("mcp", "pip", "dip", "tip"))
)

WRIST = 0
THUMB_CMC, THUMB_MCP = 1, 2
INDEX_MCP = 5
MIDDLE_MCP = 9
RING_MCP = 13
PINKY_MCP = 17
FINGERTIPS = (4, 8, 12, 16, 20)


def finger_chain(finger: str) -> tuple[int, int, int, int]:
    """Landmark indices of one finger from base to tip, e.g. finger_chain("index") == (5, 6, 7, 8)."""
    start = 1 + 4 * FINGERS.index(finger)
    return (start, start + 1, start + 2, start + 3)


EDGES = (
    (0, 1),
    (1, 2),
    (2, 3),
    (3, 4),
    (0, 5),
    (5, 6),
    (6, 7),
    (7, 8),
    (5, 9),
    (9, 10),
    (10, 11),
    (11, 12),
    (9, 13),
    (13, 14),
    (14, 15),
    (15, 16),
    (13, 17),
    (0, 17),
    (17, 18),
    (18, 19),
    (19, 20),
)

HAND = register(
    Topology(name="hand", names=NAMES, edges=EDGES, root=WRIST, normalizer=(WRIST, MIDDLE_MCP), unit="palm size")
)

# MediaPipe's palm detector: its 7 keypoints as hand landmarks (wrist, index, middle, ring and
# pinky MCPs, thumb CMC and MCP), and its box: a square on the centre of those keypoints' bounds,
# PALM_BOX_SCALE times their long side. Order and scale were read off the published
# palm_detection_full run on 200 of our renders (82 detections on the labelled hand: median
# offset of the box centre under 0.5% of the side, median side 0.77).
PALM_KEYPOINTS = (WRIST, INDEX_MCP, MIDDLE_MCP, RING_MCP, PINKY_MCP, THUMB_CMC, THUMB_MCP)
PALM_BOX_SCALE = 0.77


def palm_label(xy):
    """(box [4] x0, y0, x1, y1, keypoints [7, 2]) of the palm detector's target, from 21 hand
    landmarks xy [21, >=2] (any units; the result is in the same)."""
    points = np.asarray(xy, np.float64)[list(PALM_KEYPOINTS), :2]
    lo, hi = points.min(0), points.max(0)
    half = (hi - lo).max() * PALM_BOX_SCALE / 2
    centre = (lo + hi) / 2
    return np.concatenate([centre - half, centre + half]), points


def hand_axes(points) -> tuple[float, np.ndarray, np.ndarray]:
    """(palm size, along, across) of 21 hand landmarks points [21, D] (D = 2 or 3, any units): the
    wrist-to-middle-MCP length, its unit direction, and the unit direction from the pinky MCP to the
    index MCP made normal to it (towards the thumb's side)."""
    points = np.asarray(points, np.float64)
    along = points[MIDDLE_MCP] - points[WRIST]
    palm = float(np.linalg.norm(along))
    along = along / palm
    across = points[INDEX_MCP] - points[PINKY_MCP]
    across = across - along * (across @ along)
    return palm, along, across / np.linalg.norm(across)
