"""The 21 MediaPipe hand landmarks.

Order and names follow MediaPipe's `HandLandmark` enum: the wrist, then four joints per finger from
the base to the tip (thumb CMC, MCP, IP, TIP; other fingers MCP, PIP, DIP, TIP).
"""

from blazeforge.topology import Topology, register

FINGERS = ("thumb", "index", "middle", "ring", "pinky")
_JOINTS = {"thumb": ("cmc", "mcp", "ip", "tip")}
NAMES = ("wrist",) + tuple(
    f"{finger}_{joint}" for finger in FINGERS for joint in _JOINTS.get(finger, ("mcp", "pip", "dip", "tip"))
)

WRIST = 0
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
    (0, 1), (1, 2), (2, 3), (3, 4),
    (0, 5), (5, 6), (6, 7), (7, 8),
    (5, 9), (9, 10), (10, 11), (11, 12),
    (9, 13), (13, 14), (14, 15), (15, 16),
    (13, 17), (0, 17), (17, 18), (18, 19), (19, 20),
)

HAND = register(
    Topology(name="hand", names=NAMES, edges=EDGES, root=WRIST, normalizer=(WRIST, MIDDLE_MCP))
)
