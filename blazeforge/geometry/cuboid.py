"""Objectron's 9-keypoint boxes: their layout, exact 3D IoU and EPnP lifting from projections.

A box is [9, 3]: its centre, then 8 vertices. Vertex i (1..8) sits at (+-0.5, +-0.5, +-0.5) x scale
in the object's frame, the x, y and z signs given by bits 4, 2 and 1 of i - 1 (1 = (-, -, -),
2 = (-, -, +), 5 = (+, -, -), 8 = (+, +, +)), as Objectron's records lay them out. Points are in
camera space, the frame of the sample schema's `keypoints_camera` (x right, y down, z forward,
metres); projections are pixels under `camera` {fx, fy, cx, cy}. Pure numpy: the evaluator and the
runtime share it.
"""

from __future__ import annotations

import math

import numpy as np

VERTEX_SIGNS = np.array([[1 if (i >> bit) & 1 else -1 for bit in (2, 1, 0)] for i in range(8)], np.float64)
"""[8, 3] the signs of vertices 1..8 along the object's x, y and z axes."""

UNIT_BOX = np.concatenate([np.zeros((1, 3)), 0.5 * VERTEX_SIGNS])
"""[9, 3] the unit box's keypoints: the centre, then vertices 1..8."""

EDGES = (
    (1, 5), (2, 6), (3, 7), (4, 8),  # along x
    (1, 3), (5, 7), (2, 4), (6, 8),  # along y
    (1, 2), (3, 4), (5, 6), (7, 8),  # along z
)  # fmt: skip
"""The 12 edges as pairs of keypoint indices (1..8)."""


def _faces() -> tuple[tuple[int, int, int, int], ...]:
    """The 6 faces as keypoint indices in a cycle around each face."""
    faces = []
    for axis in range(3):
        u, v = [a for a in range(3) if a != axis]
        for sign in (-1, 1):
            cycle = []
            for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
                signs = np.zeros(3)
                signs[[axis, u, v]] = sign, su, sv
                cycle.append(1 + int(np.flatnonzero((VERTEX_SIGNS == signs).all(axis=1))[0]))
            faces.append(tuple(cycle))
    return tuple(faces)


FACES = _faces()
"""The 6 faces (-x, +x, -y, +y, -z, +z), each 4 keypoint indices in a cycle."""


def box_keypoints(rotation: np.ndarray, translation: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """[9, 3] keypoints of the box R diag(scale) unit + t (rotation [3, 3], translation and scale [3], metres)."""
    unit = UNIT_BOX * np.asarray(scale, np.float64)
    return unit @ np.asarray(rotation, np.float64).T + np.asarray(translation, np.float64)


def box_volume(box: np.ndarray) -> float:
    """The volume of a box (any parallelepiped) from its [9, 3] keypoints, in cubic units of them."""
    box = np.asarray(box, np.float64)
    return float(abs(np.dot(box[5] - box[1], np.cross(box[3] - box[1], box[2] - box[1]))))


def _planes(box: np.ndarray) -> list[tuple[np.ndarray, float]]:
    """Each face's outward unit normal n and offset d: the box is where n . x <= d for all six."""
    planes = []
    for face in FACES:
        points = box[list(face)]
        normal = np.cross(points[1] - points[0], points[2] - points[0])
        normal /= np.linalg.norm(normal)
        if np.dot(normal, points.mean(axis=0) - box[0]) < 0:
            normal = -normal
        planes.append((normal, float(np.dot(normal, points.mean(axis=0)))))
    return planes


def _clip(polygon: np.ndarray, normal: np.ndarray, offset: float, tolerance: float) -> np.ndarray:
    """Sutherland-Hodgman: the part of a convex planar polygon [M, 3] where normal . x <= offset."""
    if len(polygon) == 0:
        return polygon
    distance = polygon @ normal - offset
    inside = distance <= tolerance  # points this close outside count as on the plane
    kept = []
    for i in range(len(polygon)):
        j = (i + 1) % len(polygon)
        if inside[i]:
            kept.append(polygon[i])
        if inside[i] != inside[j]:  # where the edge crosses the plane (an end, if it only grazes it)
            t = np.clip(distance[i] / (distance[i] - distance[j]), 0.0, 1.0)
            kept.append(polygon[i] + t * (polygon[j] - polygon[i]))
    return np.array(kept).reshape(-1, 3)


def intersection_volume(a: np.ndarray, b: np.ndarray) -> float:
    """The volume of the intersection of two boxes given as [9, 3] keypoints, in cubic units of them.

    Each box's faces are clipped to the other box (Sutherland-Hodgman); the clipped polygons'
    corners are the intersection's vertices, and its volume is their convex hull's (scipy's Qhull,
    as Objectron's own evaluation computes it). Labelled boxes in float32 are parallelepipeds only to
    about 1e-7 of their size, so points within 1e-6 of it outside a plane count as on it.
    """
    from scipy.spatial import ConvexHull, QhullError

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    tolerance = 1e-6 * max(np.ptp(a[1:], axis=0).max(), np.ptp(b[1:], axis=0).max())
    corners = []
    for box, other in ((a, b), (b, a)):
        planes = _planes(other)
        for face in FACES:
            polygon = box[list(face)]
            for normal, offset in planes:
                polygon = _clip(polygon, normal, offset, tolerance)
            corners.append(polygon)
    corners = np.concatenate(corners)
    if len(corners) < 4:
        return 0.0
    try:
        return float(ConvexHull(corners).volume)
    except QhullError:  # flat or empty: the boxes touch at most
        return 0.0


def iou_3d(a: np.ndarray, b: np.ndarray) -> float:
    """The 3D intersection over union of two boxes given as [9, 3] keypoints (0 to 1)."""
    inter = intersection_volume(a, b)
    union = box_volume(a) + box_volume(b) - inter
    return inter / union if union > 0 else 0.0


def _epnp_alphas() -> np.ndarray:
    """[9, 4] weights of the control points (the centre and the ends of the 3 half-axes) per keypoint."""
    signs = np.concatenate([np.zeros((1, 3)), VERTEX_SIGNS])
    return np.concatenate([1 - signs.sum(axis=1, keepdims=True), signs], axis=1)


def lift_box(pixels: np.ndarray, camera: dict, use_centre: bool = True) -> np.ndarray:
    """EPnP with the box's own control points: [9, 3] camera-space keypoints from [9, 2] projections.

    The control points are the centre and the centre plus each half-axis, so any parallelepiped
    (the box's shape and pose) is 12 unknowns; each projected vertex gives two linear equations
    (MediaPipe's Objectron decoder solves the same system). The solution is the null vector of the
    [18, 12] system, known up to scale: it is returned with the centre 1 unit in front of the camera
    (scale it with `scale_to_plane` or `scale_to_size`). pixels: [9, 2] or [8, 2] (the vertices
    alone; then `use_centre` is moot).
    """
    pixels = np.asarray(pixels, np.float64)
    alphas = _epnp_alphas()
    if len(pixels) == 8:
        alphas, use_centre = alphas[1:], True
    elif not use_centre:
        alphas, pixels = alphas[1:], pixels[1:]
    fx, fy, cx, cy = (float(camera[k]) for k in ("fx", "fy", "cx", "cy"))
    rows = []
    for alpha, (u, v) in zip(alphas, pixels):
        rows.append(np.kron(alpha, [fx, 0.0, cx - u]))
        rows.append(np.kron(alpha, [0.0, fy, cy - v]))
    _, _, vt = np.linalg.svd(np.array(rows))
    control = vt[-1].reshape(4, 3)
    box = _epnp_alphas() @ control
    return box / box[0, 2]


def scale_to_plane(box: np.ndarray, plane_point: np.ndarray, plane_normal: np.ndarray) -> np.ndarray:
    """The box known up to scale, scaled so that its 4 lowest vertices lie on the ground plane.

    box: [9, 3] keypoints (the camera at the origin); plane_point, plane_normal: [3], the normal
    pointing up, away from the ground. Objectron's evaluation suggests this rule for boxes that rest
    on the ground.
    """
    box, normal = np.asarray(box, np.float64), np.asarray(plane_normal, np.float64)
    height = (box[1:] - box[0]) @ normal
    lowest = box[1:][np.argsort(height)[:4]]
    return box * float(np.mean(np.dot(plane_point, normal) / (lowest @ normal)))


def project(points: np.ndarray, camera: dict) -> np.ndarray:
    """[N, 2] pixels of camera-space points [N, 3] under `camera` {fx, fy, cx, cy}."""
    points = np.asarray(points, np.float64)
    z = points[:, 2]
    return np.stack(
        [camera["fx"] * points[:, 0] / z + camera["cx"], camera["fy"] * points[:, 1] / z + camera["cy"]], axis=1
    )


def fit_upright(
    box: np.ndarray, pixels: np.ndarray, camera: dict, plane_point: np.ndarray, plane_normal: np.ndarray
) -> np.ndarray:
    """The box standing upright on the ground plane that best fits the 8 projected vertices.

    An object resting on the ground, with gravity known (an AR session's plane gives both), has 6
    unknowns: its turn about the plane's normal, its foot on the plane (2) and its 3 edge lengths,
    in metres (the plane fixes the scale). They start from `box` [9, 3] (EPnP's box, any scale) and
    are fitted to `pixels` [8, 2] (vertices 1..8) by Levenberg-Marquardt on the reprojection error;
    EPnP's 12 free unknowns (any parallelepiped) turn a few pixels of noise into large errors of
    depth and shape, this fit does not. Returns [9, 3], the box's y axis along the normal.
    """
    point, up = np.asarray(plane_point, np.float64), np.asarray(plane_normal, np.float64)
    up = up / np.linalg.norm(up)
    pixels = np.asarray(pixels, np.float64)[-8:]
    rotation, centre, size = box_pose(scale_to_plane(box, point, up))
    e1 = np.cross(up, [0.0, 0.0, 1.0]) if abs(up[2]) < 0.9 else np.cross(up, [1.0, 0.0, 0.0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(up, e1)
    # the start's heading: whichever of its x and z axes lies flatter (turned to stand for x)
    x, z = rotation[:, 0], rotation[:, 2]
    heading = x if abs(x @ up) <= abs(z @ up) else np.cross(up, z)
    foot = centre - ((centre - point) @ up) * up - point

    def make(p: np.ndarray) -> np.ndarray:
        turn, a, b = p[:3]
        ax = np.cos(turn) * e1 + np.sin(turn) * e2
        axes = np.stack([ax, up, np.cross(ax, up)], axis=1)
        sizes = np.exp(p[3:])
        return box_keypoints(axes, point + a * e1 + b * e2 + up * sizes[1] / 2, sizes)

    def residual(p: np.ndarray) -> np.ndarray:
        if np.abs(p[3:]).max() > 20:  # edge lengths beyond e^+-20 m: a diverging fit
            return np.full(16, np.inf)
        with np.errstate(all="ignore"):
            return (project(make(p)[1:], camera) - pixels).ravel()

    params = np.array([math.atan2(heading @ e2, heading @ e1), foot @ e1, foot @ e2, *np.log(np.maximum(size, 1e-6))])
    cost, damping = float(np.sum(residual(params) ** 2)), 1e-3
    if not np.isfinite(cost):  # EPnP's box is degenerate or behind the camera
        return np.full((9, 3), np.nan)
    for _ in range(50):
        r = residual(params)
        jacobian = np.stack([(residual(params + step) - r) / 1e-6 for step in 1e-6 * np.eye(6)], axis=1)
        if not np.isfinite(jacobian).all():
            break
        normal = jacobian.T @ jacobian
        delta = np.linalg.solve(normal + damping * np.diag(np.diag(normal) + 1e-12), -jacobian.T @ r)
        trial = float(np.sum(residual(params + delta) ** 2))
        if np.isfinite(trial) and trial < cost:
            params, damping = params + delta, damping / 3
            if cost - trial < 1e-10 * cost:
                break
            cost = trial
        else:
            damping *= 4
            if damping > 1e8:
                break
    return make(params)


def box_size(box: np.ndarray) -> np.ndarray:
    """[3] the lengths of a box's x, y and z edges (the mean of each axis's 4 edges)."""
    box = np.asarray(box, np.float64)
    return np.array([np.mean([np.linalg.norm(box[i] - box[j]) for i, j in EDGES[k : k + 4]]) for k in (0, 4, 8)])


def scale_to_size(box: np.ndarray, size: np.ndarray) -> np.ndarray:
    """The box known up to scale, scaled so that its volume equals that of a box of edge lengths `size` [3]."""
    ratio = np.prod(np.asarray(size, np.float64)) / np.prod(box_size(box))
    return np.asarray(box, np.float64) * float(np.cbrt(ratio))


def box_pose(box: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rotation [3, 3], translation [3], scale [3]) of a box's [9, 3] keypoints, so that
    `box_keypoints` gives them back: the axes along its x, y and z edges (the nearest rotation
    to them, by SVD), the centre, the edge lengths."""
    box = np.asarray(box, np.float64)
    axes = np.stack(
        [np.mean([box[j] - box[i] for i, j in EDGES[k : k + 4]], axis=0) for k in (0, 4, 8)], axis=1
    )  # [3, 3]: column a is the mean edge along the object's axis a
    u, _, vt = np.linalg.svd(axes)
    rotation = u @ np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))]) @ vt
    return rotation, box[0].copy(), box_size(box)
