"""Drawing landmarks, connections and boxes on images (OpenCV; shared by reports and the runner)."""

from __future__ import annotations

import cv2
import numpy as np


def draw_landmarks(
    image: np.ndarray, points: np.ndarray, edges, color=(0, 255, 0), radius: int = 2, thickness: int = 1
) -> np.ndarray:
    """Draw points [K, >=2] (pixels) and the edges between them on a copy of `image` (BGR or RGB)."""
    out = image.copy()
    pts = [tuple(int(round(v)) for v in p[:2]) for p in points]
    for i, j in edges:
        cv2.line(out, pts[i], pts[j], color, thickness, cv2.LINE_AA)
    for p in pts:
        cv2.circle(out, p, radius, color, -1, cv2.LINE_AA)
    return out


def draw_roi(image: np.ndarray, roi, color=(255, 0, 0), thickness: int = 1) -> None:
    """Draw a rotated ROI (`geometry.roi.Roi`) on `image` in place."""
    corners = np.round(roi.corners()).astype(np.int32)
    cv2.polylines(image, [corners], True, color, thickness, cv2.LINE_AA)


def connections(name: str) -> tuple[tuple[int, int], ...]:
    """Edges to draw for a topology: hand (21 points), face_mesh (468, MediaPipe's tesselation),
    face_contours (its contours), pose (33), box (4 corners), cuboid (Objectron's 12 box edges), or none."""
    if name == "none":
        return ()
    if name == "box":  # BoxTracker's 4 corners
        return ((0, 1), (1, 2), (2, 3), (3, 0))
    if name in ("hand", "cuboid"):
        from blazeforge.topology import get

        return tuple(get(name).edges)
    from blazeforge.zoo.connections import connections as published

    sets = {
        "face_mesh": ("face_mesh", "FACEMESH_TESSELATION"),
        "face_contours": ("face_mesh", "FACEMESH_CONTOURS"),
        "pose": ("pose", "POSE_CONNECTIONS"),
    }
    if name not in sets:
        raise TypeError(
            f"connections must be one of hand, face_mesh, face_contours, pose, box, cuboid, none; got {name!r}"
        )
    topology, key = sets[name]
    return tuple(sorted(published(topology)[key]))
