"""Tiny datasets the tests build themselves: fake render shards and COCO files of drawn hands."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from blazeforge.datasets.schema import Sample, append_jsonl
from blazeforge.synthetic.gestures import GESTURES
from blazeforge.synthetic.kinematics import forward_kinematics
from blazeforge.topology.hand import EDGES, PALM_KEYPOINTS


def hand_points(rng: np.random.Generator, size: int = 128, gesture: str | None = None) -> np.ndarray:
    """[21, 3] pixel keypoints of a library gesture (random unless named), rotated and placed inside
    a size x size image."""
    names = sorted(GESTURES)
    gesture = gesture or names[rng.integers(len(names))]
    joints = forward_kinematics(GESTURES[gesture]) * np.array([1, -1, 1])
    angle = rng.uniform(-np.pi, np.pi)
    c, s = np.cos(angle), np.sin(angle)
    xy = joints[:, :2] @ np.array([[c, s], [-s, c]])
    scale = size * 0.25 / 0.1
    center = rng.uniform(0.4, 0.6, 2) * size
    kp = np.zeros((21, 3))
    kp[:, :2] = (xy - xy.mean(0)) * scale + center
    kp[:, 2] = (joints[:, 2] - joints[0, 2]) * scale
    return kp


def draw_hand(kp: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    image = np.full((size, size, 3), rng.integers(0, 255, 3), np.uint8)
    image = cv2.add(image, rng.integers(0, 40, (size, size, 3)).astype(np.uint8))
    for i, j in EDGES:
        cv2.line(image, tuple(int(v) for v in kp[i, :2]), tuple(int(v) for v in kp[j, :2]), (220, 180, 150), 3)
    return image


def fake_renders(
    root: Path, shards: int = 2, per_shard: int = 6, size: int = 128, seed: int = 0, occluded_every: int = 0
) -> Path:
    """A render run directory in the renderer's layout, with drawn hands instead of Blender frames:
    frames/, masks/ (1 on the hull of the hand's landmarks), labels.jsonl. occluded_every=n: every n-th frame
    a grey card hides the palm (in the frame and the mask), as a render's occluder would."""
    rng = np.random.default_rng(seed)
    for shard in range(shards):
        folder = root / f"shard-{shard:05d}"
        (folder / "frames").mkdir(parents=True)
        (folder / "masks").mkdir()
        for frame in range(per_shard):
            gesture = sorted(GESTURES)[rng.integers(len(GESTURES))]
            kp = hand_points(rng, size, gesture)
            name = f"frames/{frame:06d}.png"
            image = draw_hand(kp, size, rng)
            mask = np.zeros((size, size), np.uint8)  # the hand: the hull of its landmarks
            cv2.fillConvexPoly(mask, cv2.convexHull(np.round(kp[:, :2]).astype(np.int32)), 1)
            if occluded_every and frame % occluded_every == occluded_every - 1:
                palm = kp[list(PALM_KEYPOINTS), :2]
                x0, y0 = (palm.min(0) - 6).astype(int)
                x1, y1 = (palm.max(0) + 6).astype(int)
                cv2.rectangle(image, (x0, y0), (x1, y1), (128, 128, 128), -1)
                cv2.rectangle(mask, (x0, y0), (x1, y1), 0, -1)
            cv2.imwrite(str(folder / name), image)
            cv2.imwrite(str(folder / f"masks/{frame:06d}.png"), mask)
            append_jsonl(
                folder / "labels.jsonl",
                Sample(
                    image=name,
                    mask=f"masks/{frame:06d}.png",
                    width=size,
                    height=size,
                    keypoints=kp[None].astype(np.float32),
                    keypoint_mask=np.ones((1, 21, 3), bool),
                    visibility=np.ones((1, 21), np.float32),
                    boxes=np.array([[*kp[:, :2].min(0), *kp[:, :2].max(0)]], np.float32),
                    presence=np.ones(1, np.float32),
                    handedness=np.array([frame % 2], np.float32),
                    meta={
                        "source": "synthetic",
                        "subject_id": f"s{shard}-{frame}",
                        "skin_tone": str(1 + frame % 10),
                        "gesture": gesture,
                    },
                ),
            )
    return root


def fake_coco(root: Path, count: int = 6, size: int = 128, seed: int = 1) -> Path:
    """A COCO-keypoints file of drawn hands (real-data layout: 2D, v flags) with its images."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for i in range(count):
        kp = hand_points(rng, size)
        cv2.imwrite(str(root / f"{i}.jpg"), draw_hand(kp, size, rng))
        images.append({"id": i, "file_name": f"{i}.jpg", "width": size, "height": size})
        flat = np.concatenate([kp[:, :2], np.full((21, 1), 2.0)], 1)
        flat[3, 2] = 1  # one labelled but occluded point
        annotations.append(
            {
                "id": i,
                "image_id": i,
                "category_id": 1,
                "keypoints": flat.ravel().tolist(),
                "num_keypoints": 21,
                "handedness": "right" if i % 2 else "left",
                "subject_id": f"person-{i // 2}",
            }
        )
    path = root / "hands.json"
    path.write_text(
        json.dumps({"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "hand"}]})
    )
    return path


def _labelled_faces() -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(photo uint8 RGB, face box [4] x0, y0, x1, y1 px, 6 keypoints [6, 2] px) for the package
    photos with a face, labelled by MediaPipe's short-range detector (tests/zoo/mediapipe_outputs.json)."""
    from blazeforge.zoo.parity import photos

    recorded = json.loads((Path(__file__).parent / "zoo" / "mediapipe_outputs.json").read_text())["photos"]
    out = []
    for name, image in photos().items():
        if name not in recorded:
            continue
        face = recorded[name]["face_detection_short_range"][0]
        h, w = image.shape[:2]
        out.append((image, np.array(face["box"]) * (w, h, w, h), np.array(face["keypoints"]) * (w, h)))
    return out


def pasted_faces(root: Path, count: int = 24, size: int = 160, seed: int = 2, empty_every: int = 6) -> Path:
    """A COCO-style face set (boxes + the 6 BlazeFace keypoints) made by pasting the package photos'
    faces, scaled, moved and mirrored, with a feathered oval edge, onto the package's other photos
    and noise; labelled by construction (the paste's affine map moves the source labels). Every
    `empty_every`-th image has no face. Returns the JSON path (images beside it)."""
    from blazeforge.topology.face import FACE_KEYPOINTS
    from blazeforge.zoo.parity import photos

    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    faces = _labelled_faces()
    backgrounds = [image for name, image in photos().items() if name in ("skimage.coffee", "skimage.chelsea")]
    images, annotations = [], []
    for i in range(count):
        if i % 3 == 2:
            canvas = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
            canvas = cv2.resize(canvas, (size, size), interpolation=cv2.INTER_CUBIC)
        else:
            bg = backgrounds[i % len(backgrounds)]
            y, x = rng.integers(0, bg.shape[0] - size), rng.integers(0, bg.shape[1] - size)
            canvas = bg[y : y + size, x : x + size].copy()
        if i % empty_every != empty_every - 1:
            photo, box, points = faces[int(rng.integers(len(faces)))]
            side = rng.uniform(0.25, 0.55) * size / (box[2] - box[0])  # face box side 25-55% of the image
            flip = rng.random() < 0.5
            centre = (box[:2] + box[2:]) / 2
            target = rng.uniform(0.3, 0.7, 2) * size
            m = np.array([[side * (-1 if flip else 1), 0, 0], [0, side, 0]], np.float64)
            m[:, 2] = target - m[:, :2] @ centre
            warped = cv2.warpAffine(photo, m, (size, size), flags=cv2.INTER_AREA)
            alpha = np.zeros((size, size), np.float32)
            axes = (int(0.8 * side * (box[2] - box[0])), int(1.0 * side * (box[3] - box[1])))
            cv2.ellipse(alpha, (int(target[0]), int(target[1])), axes, 0, 0, 360, 1.0, -1)
            alpha = cv2.GaussianBlur(alpha, (0, 0), max(1.0, 0.08 * axes[0]))[..., None]
            canvas = (alpha * warped + (1 - alpha) * canvas).astype(np.uint8)
            corners = np.c_[box.reshape(2, 2), np.ones(2)] @ m.T
            moved = np.c_[points, np.ones(6)] @ m.T
            if flip:  # the subject's right eye and ear are now on the other side
                moved = moved[FACE_KEYPOINTS.flip_permutation()]
            x0, x1 = sorted(corners[:, 0])
            y0, y1 = sorted(corners[:, 1])
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": i,
                    "category_id": 1,
                    "bbox": [x0, y0, x1 - x0, y1 - y0],
                    "num_keypoints": 6,
                    "keypoints": np.c_[moved, np.full(6, 2.0)].ravel().tolist(),
                    "subject_id": f"paste-{i}",
                }
            )
        cv2.imwrite(str(root / f"{i}.jpg"), canvas[..., ::-1])
        images.append({"id": i, "file_name": f"{i}.jpg", "width": size, "height": size})
    path = root / "faces.json"
    path.write_text(
        json.dumps(
            {
                "images": images,
                "annotations": annotations,
                "categories": [{"id": 1, "name": "face", "keypoints": list(FACE_KEYPOINTS.names)}],
            }
        )
    )
    return path


def moving_clip(
    path: Path,
    subject: str = "hand",
    frames: int = 60,
    absent: tuple[int, int] = (30, 40),
    size: tuple[int, int] = (384, 288),
    seed: int = 0,
    patch: tuple[np.ndarray, np.ndarray] | None = None,
    side: int | None = None,
) -> tuple[Path, np.ndarray]:
    """A video of a subject moving smoothly over a package photo, gone for the frames in `absent`.

    subject "hand": our render tests/zoo/renders/hand_0.png; "face": skimage's astronaut photo,
    cropped around the face; "body": the whole astronaut photo (head and torso, for pose); or, with
    `patch` (an RGB image [H, W, 3] uint8, its landmarks [K, 2] in pixels), that image. The subject
    patch is scaled to `side` pixels (its longer side; each subject has its own default), turned
    (within 12 degrees) and moved along a smooth path. Returns (path, truth) with truth [frames, K,
    2]: the landmarks MediaPipe found on the still subject (tests/zoo/mediapipe_outputs.json) or
    the patch's own, moved with it, in pixels, NaN where the subject is absent.
    """
    from blazeforge.zoo.parity import photos

    recorded = json.loads((Path(__file__).parent / "zoo" / "mediapipe_outputs.json").read_text())
    if patch is not None:
        patch, points = patch
        default_side = 260
    elif subject == "hand":
        patch = cv2.cvtColor(cv2.imread(str(Path(__file__).parent / "zoo/renders/hand_0.png")), cv2.COLOR_BGR2RGB)
        points = np.array(recorded["renders"]["render.hand_0"]["hands"]["landmarks"])[:, :2] * 256
        default_side = 280
    elif subject == "body":
        patch = photos()["skimage.astronaut"]
        points = np.array(recorded["photos"]["skimage.astronaut"]["pose"])[:, :2] * patch.shape[1::-1]
        default_side = 260
    else:
        photo = photos()["skimage.astronaut"]
        points = np.array(recorded["photos"]["skimage.astronaut"]["face_mesh"])[:, :2] * photo.shape[1::-1]
        x0, y0 = points.min(0)
        x1, y1 = points.max(0)
        c, half = ((x0 + x1) / 2, (y0 + y1) / 2), 0.9 * max(x1 - x0, y1 - y0)
        box = np.array([c[0] - half, c[1] - half, c[0] + half, c[1] + half]).round().astype(int)
        patch = photo[box[1] : box[3], box[0] : box[2]]
        points = points - box[:2]
        default_side = 180
    w, h = size
    background = cv2.resize(photos()["skimage.coffee"], (w, h), interpolation=cv2.INTER_AREA)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (w, h))
    truth = np.full((frames, len(points), 2), np.nan)
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 2 * np.pi, 3)
    ph, pw = patch.shape[:2]
    for i in range(frames):
        t = i / 30.0
        centre = np.array(
            [w / 2 + 0.18 * w * np.sin(1.3 * t + phase[0]), h / 2 + 0.12 * h * np.sin(0.9 * t + phase[1])]
        )
        angle = 12 * np.sin(0.7 * t + phase[2])
        scale = (side or default_side) / max(ph, pw)
        m = cv2.getRotationMatrix2D((pw / 2, ph / 2), angle, scale)
        m[:, 2] += centre - np.array([pw / 2, ph / 2])
        frame = background.copy()
        if not absent[0] <= i < absent[1]:
            warped = cv2.warpAffine(patch, m, (w, h), flags=cv2.INTER_LINEAR)
            mask = cv2.warpAffine(np.full((ph, pw), 255, np.uint8), m, (w, h)) > 127
            frame[mask] = warped[mask]
            truth[i] = np.c_[points, np.ones(len(points))] @ m.T
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path, truth


def _irises(mesh: np.ndarray) -> np.ndarray:
    """[10, 2]: the right iris (centre, then its rim), then the left, from 468 mesh points [468, 2]."""
    from blazeforge.topology.face_mesh import region

    out = []
    for side in ("RIGHT", "LEFT"):
        eye = mesh[region(f"FACEMESH_{side}_EYE")]
        centre, r = eye.mean(0), np.ptp(eye[:, 0]) / 5
        out += [centre, centre + (r, 0), centre - (0, r), centre - (r, 0), centre + (0, r)]
    return np.array(out)


def face_mesh_coco(
    root: Path,
    count: int = 18,
    size: int = 256,
    seed: int = 3,
    regions: tuple[str, ...] = ("Northern Europe", "Eastern Asia", "Western Africa"),
    second_annotator_px: float | None = None,
    irises: bool = False,
) -> Path:
    """A COCO-style set of 468-point face meshes: the package photos' faces, each labelled with the
    mesh MediaPipe's own package found on it (tests/zoo/mediapipe_outputs.json), warped by random
    similarity transforms (labels moved with them) into size x size images. Image i's face gets
    region regions[i % len(regions)]. With second_annotator_px, each face is labelled twice: a
    second annotation moves every point by Gaussian noise of that many pixels a coordinate. With
    irises, each mesh gets the refined mesh's 10 iris points (topology face_mesh_iris): a centre at
    each eye contour's mean and a rim a fifth of the eye's width around it (+x, up, -x, down).
    Returns the JSON path (images beside it)."""
    from blazeforge.zoo.parity import photos

    recorded = json.loads((Path(__file__).parent / "zoo" / "mediapipe_outputs.json").read_text())["photos"]
    faces = [
        (photos()[name], np.array(r["face_mesh"])[:, :2] * photos()[name].shape[1::-1])
        for name, r in sorted(recorded.items())
        if r.get("face_mesh")
    ]
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for i in range(count):
        photo, mesh = faces[i % len(faces)]
        centre = (mesh.min(0) + mesh.max(0)) / 2
        scale = rng.uniform(0.45, 0.6) * size / np.ptp(mesh[:, 0])
        m = cv2.getRotationMatrix2D(tuple(centre), rng.uniform(-15, 15), scale)
        m[:, 2] += rng.uniform(0.4, 0.6, 2) * size - centre
        image = cv2.warpAffine(photo, m, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT)
        points = np.c_[mesh, np.ones(len(mesh))] @ m.T
        if irises:
            points = np.concatenate([points, _irises(points)])
        name = f"{i:03d}.png"
        cv2.imwrite(str(root / name), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        images.append({"id": i, "file_name": name, "width": size, "height": size})
        annotations.append(
            {
                "id": i,
                "image_id": i,
                "keypoints": np.c_[points, np.full(len(points), 2)].ravel().tolist(),
                "region": regions[i % len(regions)],
                "skin_tone": str(1 + i % 10),
                "subject_id": f"face-{i}",
            }
        )
        if second_annotator_px:
            moved = points + rng.normal(0, second_annotator_px, points.shape)
            annotations.append(
                {**annotations[-1], "id": count + i, "keypoints": np.c_[moved, np.full(len(moved), 2)].ravel().tolist()}
            )
    path = root / "faces.json"
    path.write_text(
        json.dumps({"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "face"}]})
    )
    return path


def evaluate(cfg, run_dir) -> dict:
    """The evaluate verb as the command line runs it (the checkpoint's task, config.yaml, metrics.json)."""
    from blazeforge.engine import run_stage

    return run_stage("evaluate", cfg, run_dir)[1]


def export(cfg, run_dir) -> dict:
    """The export verb as the command line runs it."""
    from blazeforge.engine import run_stage

    return run_stage("export", cfg, run_dir)[1]


# A standing person's 33 BlazePose points (x right, y down; hips centre at 0; about 1.8 tall).
_BODY = np.array([
    (0, -0.62), (0.015, -0.66), (0.03, -0.66), (0.045, -0.66), (-0.015, -0.66), (-0.03, -0.66), (-0.045, -0.66),
    (0.07, -0.64), (-0.07, -0.64), (0.02, -0.58), (-0.02, -0.58), (0.18, -0.45), (-0.18, -0.45),
    (0.22, -0.18), (-0.22, -0.18), (0.24, 0.05), (-0.24, 0.05), (0.25, 0.12), (-0.25, 0.12),
    (0.23, 0.13), (-0.23, 0.13), (0.21, 0.10), (-0.21, 0.10), (0.1, 0.0), (-0.1, 0.0),
    (0.11, 0.42), (-0.11, 0.42), (0.12, 0.82), (-0.12, 0.82), (0.11, 0.86), (-0.11, 0.86),
    (0.15, 0.9), (-0.15, 0.9),
])  # fmt: skip


def body_points(rng: np.random.Generator, size: int = 128) -> np.ndarray:
    """[33, 3] pixel keypoints of a standing person, arms raised at random, turned a little and placed
    in a size x size image (z: 0)."""
    xy = _BODY.copy()
    for side, (shoulder, elbow, wrist, *hand) in ((1, (11, 13, 15, 17, 19, 21)), (-1, (12, 14, 16, 18, 20, 22))):
        angle = side * rng.uniform(0, 2.5)  # the arm swings up about the shoulder
        c, s = np.cos(angle), np.sin(angle)
        arm = [elbow, wrist, *hand]
        xy[arm] = (xy[arm] - xy[shoulder]) @ np.array([[c, -s], [s, c]]).T + xy[shoulder]
    angle = rng.uniform(-0.4, 0.4)
    c, s = np.cos(angle), np.sin(angle)
    xy = xy @ np.array([[c, -s], [s, c]]).T
    kp = np.zeros((33, 3))
    kp[:, :2] = xy * size * rng.uniform(0.3, 0.45) + rng.uniform(0.4, 0.6, 2) * size
    return kp


def fake_bodies(root: Path, count: int = 8, size: int = 128, seed: int = 3) -> Path:
    """A render run directory of scene=bodies' layout with drawn stick people: frames/, masks/ (1 on
    the drawn body), labels.jsonl with visibility, the two virtual keypoints and camera-space points
    (a pinhole camera 3 m away), config.yaml naming the pose topology."""
    from blazeforge.topology.pose import EDGES as BODY_EDGES
    from blazeforge.topology.pose import virtual_keypoints

    rng = np.random.default_rng(seed)
    folder = root / "shard-00000"
    (folder / "frames").mkdir(parents=True)
    (folder / "masks").mkdir()
    (root / "config.yaml").write_text("scene:\n  topology: pose\n")
    for frame in range(count):
        kp = body_points(rng, size)
        image = np.full((size, size, 3), rng.integers(0, 255, 3), np.uint8)
        mask = np.zeros((size, size), np.uint8)
        for i, j in BODY_EDGES:
            a, b = tuple(int(v) for v in kp[i, :2]), tuple(int(v) for v in kp[j, :2])
            cv2.line(image, a, b, (200, 160, 140), 4)
            cv2.line(mask, a, b, 1, 4)
        cv2.circle(image, tuple(int(v) for v in kp[0, :2]), 6, (200, 160, 140), -1)
        cv2.circle(mask, tuple(int(v) for v in kp[0, :2]), 6, 1, -1)
        name = f"frames/{frame:06d}.png"
        cv2.imwrite(str(folder / name), image)
        cv2.imwrite(str(folder / f"masks/{frame:06d}.png"), mask)
        ys, xs = np.nonzero(mask)
        body = np.stack([xs, ys], -1).astype(np.float64)
        visibility = (rng.random(33) > 0.2).astype(np.float32)
        depth = 3.0 + kp[:, 2] * 3.0 / size  # metres: a pinhole camera of focal length `size` pixels, 3 m away
        camera = np.c_[(kp[:, :2] - size / 2) * depth[:, None] / size, depth]
        append_jsonl(
            folder / "labels.jsonl",
            Sample(
                image=name,
                mask=f"masks/{frame:06d}.png",
                width=size,
                height=size,
                keypoints=kp[None].astype(np.float32),
                keypoint_mask=np.ones((1, 33, 3), bool),
                visibility=visibility[None],
                boxes=np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], np.float32),
                presence=np.ones(1, np.float32),
                handedness=np.full(1, 0.5, np.float32),
                auxiliary=virtual_keypoints(kp[:, :2], body)[None].astype(np.float32),
                keypoints_camera=camera[None].astype(np.float32),
                meta={"source": "synthetic", "subject_id": f"p{frame}", "skin_tone": str(1 + frame % 10)},
            ),
        )
    return root


def fake_objects(root: Path, count: int = 8, size: int = 128, seed: int = 5) -> Path:
    """A render run directory of scene=objects' layout with drawn boxes: frames/, masks/ (i + 1 on
    box i's silhouette), labels.jsonl with the 9 keypoints projected and in camera metres, the
    cuboid (rotation, translation, scale) and the ground plane (1-2 boxes standing on it, 0.2 m
    below a level camera of focal length `size` pixels), config.yaml naming the cuboid topology."""
    from blazeforge.geometry.cuboid import box_keypoints

    rng = np.random.default_rng(seed)
    folder = root / "shard-00000"
    (folder / "frames").mkdir(parents=True)
    (folder / "masks").mkdir()
    (root / "config.yaml").write_text("scene:\n  topology: cuboid\n")
    f = float(size)
    for frame in range(count):
        image = np.full((size, size, 3), rng.integers(0, 255, 3), np.uint8)
        mask = np.zeros((size, size), np.uint8)
        rotations, translations, scales, pixels, cameras = [], [], [], [], []
        for i, x in enumerate([-0.25, 0.25][: int(rng.integers(1, 3))]):
            yaw = rng.uniform(-np.pi, np.pi)
            c, s = np.cos(yaw), np.sin(yaw)
            rotation = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]) @ np.diag([1.0, -1.0, -1.0])
            scale = rng.uniform(0.1, 0.3, 3)
            translation = np.array([x + rng.uniform(-0.05, 0.05), 0.2 - scale[1] / 2, rng.uniform(1.2, 1.8)])
            box = box_keypoints(rotation, translation, scale)
            px = box[:, :2] / box[:, 2:] * f + size / 2
            hull = cv2.convexHull(px[1:].astype(np.float32)).astype(np.int32)
            cv2.fillConvexPoly(image, hull, tuple(int(v) for v in rng.integers(0, 255, 3)))
            cv2.fillConvexPoly(mask, hull, i + 1)
            rotations.append(rotation)
            translations.append(translation)
            scales.append(scale)
            pixels.append(np.c_[px, (box[:, 2] - box[0, 2]) * f / box[0, 2]])
            cameras.append(box)
        name = f"frames/{frame:06d}.png"
        cv2.imwrite(str(folder / name), image)
        cv2.imwrite(str(folder / f"masks/{frame:06d}.png"), mask)
        kp = np.stack(pixels).astype(np.float32)
        n = len(kp)
        append_jsonl(
            folder / "labels.jsonl",
            Sample(
                image=name,
                mask=f"masks/{frame:06d}.png",
                width=size,
                height=size,
                keypoints=kp,
                keypoint_mask=np.ones((n, 9, 3), bool),
                visibility=np.ones((n, 9), np.float32),
                boxes=np.concatenate([kp[..., :2].min(1), kp[..., :2].max(1)], -1),
                presence=np.ones(n, np.float32),
                handedness=np.full(n, 0.5, np.float32),
                keypoints_camera=np.stack(cameras).astype(np.float32),
                camera={"fx": f, "fy": f, "cx": size / 2, "cy": size / 2},
                cuboid={
                    "rotation": np.stack(rotations),
                    "translation": np.stack(translations),
                    "scale": np.stack(scales),
                },
                plane={"point": np.array([0.0, 0.2, 0.0]), "normal": np.array([0.0, -1.0, 0.0])},
                meta={"source": "synthetic", "subject_id": f"o{frame}", "category": "box"},
            ),
        )
    return root
