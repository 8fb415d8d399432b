"""Fit `makehuman_face`'s binding: where MediaPipe's face mesh puts its 468 points on MakeHuman's head.

1. Start: MediaPipe's canonical face (`face_geometry.canonical_mesh`) laid on the rest head by the
   similarity that best maps its nose tip, eye corners and mouth corners onto MakeHuman's
   (`makehuman_body.landmark_vertices`), each point bound to the closest head skin triangle.
2. Render `frames` neutral heads of random identities, turned as the default renders turn them
   (scene.head_pose_deg), without occluders, at 384 px; run the published face detector + face
   mesh through our runtime on each (as `evaluate realism` does).
3. Cast each predicted point's pixel ray onto the rendered head's skin and eyeballs; where it meets
   skin that faces the camera (cosine >= 0.3), the hit's triangle and barycentric coordinates give
   the point on the default identity's rest head (a hit on an eyeball gives the closest skin point
   to it: the lid's margin). A point's bound place is the median of those over the renders,
   snapped to the closest skin triangle.
4. Score both bindings (the model's NME against the labels each gives, % IOD) on the fitting
   renders and on `held_out` new identities (rendered after the fit), neutral and then the same
   identities with the scene's random expressions; write blazeforge/synthetic/face_binding.json
   when the fit is better.

    .venv/bin/python tools/face_binding.py [frames] [held_out]
"""

import json
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from blazeforge.config import compose
from blazeforge.evaluation.realism import PIPELINES, Referee
from blazeforge.synthetic import face_scene, makehuman, makehuman_body, makehuman_face
from blazeforge.synthetic.face_geometry import canonical_mesh

# MediaPipe's face mesh index -> MakeHuman's landmark (makehuman_body.landmark_vertices) for step 1.
ANCHORS = {1: "nose", 33: "right_eye_outer", 133: "right_eye_inner", 362: "left_eye_inner",
           263: "left_eye_outer", 61: "mouth_right", 291: "mouth_left"}  # fmt: skip
FACING_COS = 0.3


def similarity(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(s, R, t) minimizing |s R src + t - dst|^2 (Umeyama) for point sets [N, 3]."""
    ms, md = src.mean(0), dst.mean(0)
    a, b = src - ms, dst - md
    u, d, vt = np.linalg.svd(b.T @ a)
    sign = np.diag([1, 1, np.sign(np.linalg.det(u @ vt))])
    r = u @ sign @ vt
    s = float(np.trace(np.diag(d) @ sign) / (a**2).sum())
    return s, r, md - s * r @ ms


def bootstrap() -> makehuman_face.Binding:
    """Step 1 (see the module docstring)."""
    rest = makehuman.Body.shaped().vertices
    marks = makehuman_body.landmark_vertices()
    mp = canonical_mesh()  # x the subject's left, y up, z towards the viewer
    mp = np.stack([mp[:, 0], -mp[:, 2], mp[:, 1]], 1)  # makehuman's frame: faces -y, z up
    target = np.array([rest[np.asarray(marks[n])].reshape(-1, 3).mean(0) for n in ANCHORS.values()])
    s, r, t = similarity(mp[list(ANCHORS)], target)
    return makehuman_face.closest_on_triangles(mp @ r.T * s + t, rest, makehuman_face.skin_triangles())


def _ray_hits(origin_dirs: np.ndarray, mesh: np.ndarray, triangles: np.ndarray):
    """For rays from the origin along directions [P, 3]: (triangle index [P] or -1, barycentric
    [P, 3], facing cosine [P]) of the nearest hit (Moller-Trumbore)."""
    a, b, c = (mesh[triangles[:, i]] for i in range(3))
    e1, e2 = b - a, c - a
    normals = np.cross(e1, e2)
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    index, weights, facing = np.full(len(origin_dirs), -1), np.zeros((len(origin_dirs), 3)), np.zeros(len(origin_dirs))
    for k, d in enumerate(origin_dirs):
        p = np.cross(d, e2)
        det = (e1 * p).sum(1)
        ok = np.abs(det) > 1e-12
        inv = np.where(ok, 1 / np.where(ok, det, 1), 0)
        tvec = -a
        u = (tvec * p).sum(1) * inv
        q = np.cross(tvec, e1)
        v = (q * d).sum(1) * inv
        t = (e2 * q).sum(1) * inv
        hit = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0)
        if not hit.any():
            continue
        best = np.nonzero(hit)[0][np.argmin(t[hit])]
        index[k], weights[k] = best, (1 - u[best] - v[best], u[best], v[best])
        facing[k] = abs(float(normals[best] @ d))  # the winding is not consistent: the first hit faces us
    return index, weights, facing


def _render(scene, rng, tmp: Path, k: int, expression: dict | None = None):
    """A render of a head, neutral by default (expression None: the scene's random expressions)."""
    head = scene.head(rng, **({} if expression is None else {"expression": expression}))
    framing = scene.frame(rng, head)
    frame = tmp / f"{k}.png"
    labels = scene.photograph(rng, head, framing, frame, tmp / f"m{k}.png")
    image = cv2.cvtColor(cv2.imread(str(frame)), cv2.COLOR_BGR2RGB)
    return head, framing, labels, image


def _nme(pred: np.ndarray, label: np.ndarray) -> float:
    check = PIPELINES["faces"]
    return float(np.linalg.norm(pred - label[:468, :2], axis=1).mean() / check.length(label) * 100)


def main(frames: int = 24, held_out: int = 12) -> None:
    cfg = compose("render", ["scene=faces", "scene.occluders.probability=0", "scene.camera.jitter=0.1",
                             "scene.camera.phone=false", "scene.camera.distance_m=[0.45,0.6]"])  # fmt: skip
    start = bootstrap()
    makehuman_face.binding.cache_clear()
    makehuman_face.binding = lambda: current  # the binding the renders label with
    current = start
    scene = face_scene.FaceScene(cfg.scene, 384, 16)
    referee = Referee("faces")
    triangles = makehuman_face.skin_triangles()
    eyes = makehuman.compiled()["faces"][makehuman.group_faces(("helper-l-eye", "helper-r-eye"))]
    targets = np.concatenate([triangles, eyes[:, [0, 1, 2]], eyes[:, [0, 2, 3]]])
    rest = makehuman.Body.shaped().vertices
    f = 384 / 2
    placed = [[] for _ in range(468)]
    fits = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(frames):
            rng = np.random.default_rng(1000 + k)
            head, framing, labels, image = _render(scene, rng, Path(tmp), k, {})
            pred = referee(image, labels["keypoints"])
            if pred is None:
                print(f"render {k}: no face found")
                continue
            fits.append((pred, head, framing))
            mesh = framing.view(head.vertices)
            focal = f / np.tan(framing.fov / 2)
            dirs = np.stack([(pred[:, 0] - f) / focal, -(pred[:, 1] - f) / focal, -np.ones(468)], 1)
            dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
            index, weights, facing = _ray_hits(dirs, mesh, targets)
            for i in np.nonzero((index >= 0) & (facing >= FACING_COS))[0]:
                if index[i] < len(triangles):
                    placed[i].append(weights[i] @ rest[triangles[index[i]]])
                else:  # on an eyeball: the lid's margin nearest the hit
                    hit = weights[i] @ mesh[targets[index[i]]]
                    near = makehuman_face.closest_on_triangles(hit[None], mesh, triangles)
                    placed[i].append(near.weights[0] @ rest[near.vertices[0]])
            print(f"render {k}: NME {_nme(pred, labels['keypoints']):.2f}% IOD with the start binding")
        missing = [i for i in range(468) if not placed[i]]
        ref = start.points(rest)
        target = np.array([np.median(p, 0) if p else ref[i] for i, p in enumerate(placed)])
        fitted = makehuman_face.closest_on_triangles(target, rest, triangles)
        print(f"{len(fits)} of {frames} renders found; {len(missing)} points never hit facing skin (kept)")

        def score(binding, items):
            return float(np.mean([_nme(p, _project(binding, h, fr)) for p, h, fr in items]))

        before, after = score(start, fits), score(fitted, fits)
        print(f"fitting renders: NME {before:.2f}% IOD (start) -> {after:.2f}% (fitted)")
        current = fitted
        held, expressive = [], []
        for k in range(held_out):
            for items, expression in ((held, {}), (expressive, None)):  # the same identity, neutral and not
                rng = np.random.default_rng(5000 + k)
                head, framing, labels, image = _render(scene, rng, Path(tmp), frames + k, expression)
                pred = referee(image, labels["keypoints"])
                if pred is not None:
                    items.append((pred, head, framing))
        print(f"held-out renders ({len(held)} of {held_out} found): NME {score(start, held):.2f}% IOD (start) "
              f"-> {score(fitted, held):.2f}% (fitted)")  # fmt: skip
        print(f"the same identities with expressions ({len(expressive)} of {held_out} found): NME "
              f"{score(start, expressive):.2f}% IOD (start) -> {score(fitted, expressive):.2f}% (fitted)")  # fmt: skip
    if after < before:
        data = {"vertices": fitted.vertices.tolist(), "weights": np.round(fitted.weights, 5).tolist()}
        makehuman_face.BINDING_PATH.write_text(json.dumps(data, separators=(",", ":")) + "\n")
        print(f"wrote {makehuman_face.BINDING_PATH}")


def _project(binding, head, framing) -> np.ndarray:
    """[468, 2] pixels of a binding's points on a rendered head (384 px frames)."""
    world = framing.view(binding.points(head.vertices))
    focal = 192 / np.tan(framing.fov / 2)
    return np.stack([world[:, 0] / -world[:, 2] * focal + 192, -world[:, 1] / -world[:, 2] * focal + 192], 1)


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
