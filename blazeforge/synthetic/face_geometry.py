"""The face mesh the face renderer builds on: MediaPipe's 468-vertex topology and a canonical shape.

Triangles: the 3-cycles of the pinned wheel's FACEMESH_TESSELATION edges. Canonical shape (offline,
nothing downloaded): the 3D mesh the published face_landmark model predicts on matplotlib's Grace
Hopper photo (found by the published face detector, cropped by MediaPipe's rule), turned to face
the camera (the face oval's best-fit plane normal to +z, the eye corners level), centred on the
nose tip and scaled so that the outer eye corners are 90 mm apart (an adult's typical outer
canthal distance). Units: metres; x towards the image's right (the subject's left), y up, z
towards the viewer.

Regions (vertex index sets) come from the wheel's connection sets: eyes, brows, lips, oval.
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache

import numpy as np

from blazeforge.topology.face_mesh import NOSE_TIP, OUTER_EYE_CORNERS, region

OUTER_EYE_CORNER_MM = 90.0


@lru_cache(maxsize=1)
def triangles() -> np.ndarray:
    """[T, 3] vertex indices of the mesh's triangles (about 850), wound counter-clockwise seen
    from outside (normals away from a point 10 cm behind the canonical face's nose tip)."""
    from blazeforge.zoo.connections import connections

    edges = connections("face_mesh")["FACEMESH_TESSELATION"]
    adjacent = defaultdict(set)
    for a, b in edges:
        adjacent[a].add(b)
        adjacent[b].add(a)
    found = np.array(sorted({tuple(sorted((a, b, c))) for a, b in edges for c in adjacent[a] & adjacent[b]}))
    mesh = canonical_mesh()
    v0, v1, v2 = (mesh[found[:, i]] for i in range(3))
    normals = np.cross(v1 - v0, v2 - v0)
    outward = (v0 + v1 + v2) / 3 - np.array([0.0, 0.0, -0.1])
    inward = (normals * outward).sum(1) < 0
    found[inward] = found[inward][:, ::-1]
    return found


@lru_cache(maxsize=1)
def canonical_mesh() -> np.ndarray:
    """[468, 3] metres: the canonical face (see the module docstring), facing +z."""
    import matplotlib.cbook
    from PIL import Image

    from blazeforge import zoo
    from blazeforge.geometry import anchors
    from blazeforge.geometry.detections import detection_roi
    from blazeforge.runtime.detector import SsdDetector
    from blazeforge.runtime.interpreter import TfliteModel
    from blazeforge.runtime.models import load_landmarks

    with Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg")) as image:
        photo = np.asarray(image.convert("RGB"))
    spec = anchors.FACE_DETECTION_SHORT_RANGE
    detector = SsdDetector(TfliteModel(zoo.tflite_path("face_detection_short_range")), spec, value_range=(-1.0, 1.0))
    h, w = photo.shape[:2]
    roi = detection_roi(detector(photo)[0], (w, h), **spec.roi)
    points = load_landmarks(zoo.tflite_path("face_landmark"), "face_mesh")[0](photo, roi)[:, :3]
    mesh = points * np.array([1.0, -1.0, -1.0])  # image (x right, y down, z away) -> x right, y up, z towards
    return frontal(mesh)


def frontal(mesh: np.ndarray) -> np.ndarray:
    """The mesh turned to face +z (its oval's best-fit plane), eye corners level, centred on the
    nose tip, scaled to OUTER_EYE_CORNER_MM between the outer eye corners; metres."""
    oval = mesh[region("FACEMESH_FACE_OVAL")]
    centred = oval - oval.mean(0)
    normal = np.linalg.svd(centred)[2][2]
    normal = normal if normal[2] > 0 else -normal
    out = mesh - mesh[NOSE_TIP]
    out = out @ _rotation_between(normal, np.array([0.0, 0.0, 1.0])).T
    a, b = OUTER_EYE_CORNERS
    across = out[b] - out[a]
    angle = -np.arctan2(across[1], across[0])
    c, s = np.cos(angle), np.sin(angle)
    out = out @ np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]).T
    scale = OUTER_EYE_CORNER_MM / 1000 / np.linalg.norm(out[b, :2] - out[a, :2])
    return out * scale


def _rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The rotation matrix taking unit vector a to unit vector b (Rodrigues)."""
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    v, c = np.cross(a, b), float(np.dot(a, b))
    if np.linalg.norm(v) < 1e-9:
        return np.eye(3)
    k = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + k + k @ k * (1 / (1 + c))


@lru_cache(maxsize=1)
def lower_lip() -> np.ndarray:
    """Vertex indices of the lower lip: the arcs of the lips' outer and inner loops between the mouth
    corners (61 and 291 outside, 78 and 308 inside) that do not pass the upper lip's middle (0, 13)."""
    from blazeforge.runtime.effects import lip_loops

    out = []
    for loop in lip_loops():
        loop = list(loop)
        a, b = (61, 291) if 61 in loop else (78, 308)
        top = 0 if 0 in loop else 13
        i, j = sorted((loop.index(a), loop.index(b)))
        arc = loop[i + 1 : j]
        out += [v for v in (arc if top not in arc else loop[j + 1 :] + loop[:i])]
    return np.array(sorted(out))
