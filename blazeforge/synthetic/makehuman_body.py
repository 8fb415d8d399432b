"""MakeHuman's whole body posed from `body_poses`, and BlazePose's 33 keypoints on it (numpy, no bpy).

Posing: the torso's pitch and lean turn the root (so the pelvis and spine follow rigidly), its twist
turns the chest (spine03 up), the head turns at the neck; each limb's upper bone turns by the
smallest rotation to its segment's direction and then twists about it until the elbow or knee's
hinge axis is normal to the bend the lower segment asks for (up to `MAX_TWIST_DEG`), so the joint
bends as a hinge; the lower bone then turns to its direction. Clavicles rise with the arms, feet
follow the shins with their plantar flexion, hands and fingers take a gesture (`makehuman_hand`).

Keypoints (MediaPipe's `PoseLandmark` order, `topology.pose`): shoulders, elbows, wrists, hips, knees
and ankles are the heads of the rig's bones (the centres of MakeHuman's joint cubes); the pinky,
index and thumb points are the hand's (`makehuman_hand.keypoints`: the pinky and index MCP, the thumb
IP); nose, eyes, ears, mouth corners, heels and toe tips are skin vertices found once on the rest
mesh: the nose tip (the head's most forward vertex), the eye corners (the lid vertices touching the
eyeball, innermost and outermost), the eye centre (the eyeball's most forward vertex), the ear (the
centre of the head's outermost 12 mm), the mouth corners (the lip mask's outermost vertices), the
heel (the foot's hindmost sole vertex) and the foot index (the foot's most forward vertex).
"""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np

from blazeforge.synthetic import makehuman, makehuman_hand
from blazeforge.synthetic.body_poses import BodyPose
from blazeforge.synthetic.makehuman import SIDES, Body, Posed, axis_angle, bone_share, swing
from blazeforge.topology.pose import NAMES

# Where MediaPipe's pose landmark model puts each point on MakeHuman's bodies relative to the point
# above (tools/pose_keypoint_offsets.py on frontal renders near the rest pose): (out towards the
# point's side, up), fractions of the torso size, in the frame of the bone that carries the point
# (`SHIFT_BONES`); our labels move by these.
KEYPOINT_SHIFTS: dict[str, tuple[float, float]] = {
    "nose": (0.003, 0.022),
    "left_eye_inner": (0.006, 0.0),
    "left_eye": (-0.009, -0.014),
    "left_eye_outer": (-0.022, -0.002),
    "right_eye_inner": (-0.014, -0.002),
    "right_eye": (-0.024, -0.013),
    "right_eye_outer": (-0.039, -0.003),
    "left_ear": (-0.057, 0.017),
    "right_ear": (-0.066, 0.019),
    "mouth_left": (-0.008, 0.018),
    "mouth_right": (-0.029, 0.015),
    "left_shoulder": (-0.025, 0.047),
    "right_shoulder": (-0.038, 0.037),
    "left_elbow": (-0.007, 0.013),
    "right_elbow": (-0.02, 0.004),
    "left_wrist": (-0.009, 0.007),
    "right_wrist": (-0.025, -0.001),
    "left_pinky": (0.01, 0.03),
    "right_pinky": (0.022, 0.015),
    "left_index": (-0.04, 0.048),
    "right_index": (-0.027, 0.034),
    "left_thumb": (-0.01, 0.088),
    "right_thumb": (-0.008, 0.076),
    "left_hip": (-0.04, 0.005),
    "right_hip": (-0.048, 0.014),
    "left_knee": (-0.029, -0.019),
    "right_knee": (-0.036, -0.025),
    "left_ankle": (-0.001, 0.03),
    "right_ankle": (-0.014, 0.016),
    "left_heel": (-0.019, 0.007),
    "right_heel": (-0.023, -0.005),
    "left_foot_index": (0.018, 0.063),
    "right_foot_index": (0.024, 0.059),
}
SHIFT_BONES = {"eye": "head", "ear": "head", "nose": "head", "mouth": "head", "shoulder": "spine01",
               "elbow": "upperarm02", "wrist": "lowerarm02", "pinky": "wrist", "index": "wrist", "thumb": "wrist",
               "hip": "root", "knee": "upperleg02", "ankle": "lowerleg02", "heel": "foot", "foot": "foot"}  # fmt: skip
MAX_TWIST_DEG = 110.0
CLAVICLE_RISE_DEG = 20.0  # a clavicle's rise with its arm straight up
EAR_DEPTH_M = 0.012


def bone(name: str, side: str) -> str:
    return f"{name}.{SIDES[side][0]}"


def _world(direction, side: str) -> np.ndarray:
    """A pose direction (out, forward, up) as a unit vector in the body's frame (left at +x, facing -y)."""
    out, forward, up = direction
    v = np.array([out if side == "left" else -out, -forward, up], np.float64)
    return v / np.linalg.norm(v)


def _segment(body: Body, first: str, last: str) -> np.ndarray:
    """The rest direction from bone `first`'s head to bone `last`'s tail."""
    return body.tails[body.bone(last)] - body.heads[body.bone(first)]


def _hinged(parent: np.ndarray, upper_rest, lower_rest, hinge_rest, upper, lower) -> tuple[np.ndarray, np.ndarray]:
    """(upper bone's, lower bone's) world rotations that point a two-bone limb along `upper` and
    `lower` (unit [3]) bending about the hinge (its rest axis hinge_rest [3]), from the parent's
    world rotation `parent` [3, 3]."""
    q = swing(parent @ upper_rest, upper) @ parent
    bend = np.degrees(np.arccos(np.clip(np.dot(upper, lower), -1, 1)))
    if bend > 5:
        wanted = np.cross(upper, lower)
        wanted /= np.linalg.norm(wanted)
        hinge = q @ hinge_rest
        hinge -= upper * np.dot(hinge, upper)
        hinge /= np.linalg.norm(hinge)
        angle = np.degrees(np.arctan2(np.dot(np.cross(hinge, wanted), upper), np.dot(hinge, wanted)))
        weight = min(1.0, (bend - 5) / 15)  # no twist for a straight limb, where the hinge is free
        q = axis_angle(upper, float(np.clip(angle * weight, -MAX_TWIST_DEG, MAX_TWIST_DEG))) @ q
    return q, swing(q @ lower_rest, lower) @ q


def rotations(body: Body, pose: BodyPose, rng: np.random.Generator, gestures: dict) -> dict[str, np.ndarray]:
    """World rotations of the rig's bones for `pose`; gestures {side: finger pose} (`gestures`'
    joint angles) for the hands, whose wrists flex and forearms twist at random within limits."""
    pitch, lean, twist = pose.torso
    root = axis_angle([1, 0, 0], pitch) @ axis_angle([0, 1, 0], lean)
    chest = axis_angle(root @ [0, 0, 1], twist) @ root
    nod, turn, tilt = pose.head
    out = {"root": root, "spine03": chest, "neck01": chest @ axis_angle([1, 0, 0], nod) @ axis_angle([0, 0, 1], turn)
           @ axis_angle([0, 1, 0], tilt)}  # fmt: skip
    knee_hinge = np.array([1.0, 0, 0])
    for side in ("left", "right"):
        s = 1.0 if side == "left" else -1.0
        arm = [_world(d, side) for d in getattr(pose, f"{side}_arm")]
        leg = [_world(d, side) for d in getattr(pose, f"{side}_leg")]
        rise = CLAVICLE_RISE_DEG * max(0.0, float(np.dot(arm[0], chest @ [0, 0, 1])))
        clavicle = axis_angle(chest @ [0, 1, 0], -s * rise) @ chest
        out[bone("clavicle", side)] = clavicle
        upper_rest = _segment(body, bone("upperarm01", side), bone("upperarm02", side))
        fore_rest = _segment(body, bone("lowerarm01", side), bone("lowerarm02", side))
        elbow_hinge = np.cross(upper_rest, fore_rest)
        upper, fore = _hinged(clavicle, upper_rest, fore_rest, elbow_hinge / np.linalg.norm(elbow_hinge), *arm)
        out[bone("upperarm01", side)] = upper
        out[bone("lowerarm01", side)] = fore
        forearm = axis_angle(arm[1], rng.uniform(-40, 60)) @ fore
        out[bone("lowerarm02", side)] = forearm
        _, frame = makehuman_hand.hand_frame(body, side)
        frame = forearm @ frame
        wrist = axis_angle(frame[:, 0], rng.uniform(-30, 30)) @ axis_angle(frame[:, 2], rng.uniform(-15, 15))
        out[bone("wrist", side)] = wrist @ forearm
        out |= makehuman_hand.finger_rotations(body, side, gestures[side], out[bone("wrist", side)])
        thigh_rest = _segment(body, bone("upperleg01", side), bone("upperleg02", side))
        shin_rest = _segment(body, bone("lowerleg01", side), bone("lowerleg02", side))
        thigh, shin = _hinged(root, thigh_rest, shin_rest, knee_hinge, *leg)
        out[bone("upperleg01", side)] = thigh
        out[bone("lowerleg01", side)] = shin
        flex = pose.feet[0 if side == "left" else 1]
        out[bone("foot", side)] = axis_angle(shin @ [1, 0, 0], flex) @ shin
    return out


@cache
def landmark_vertices() -> dict[str, int | tuple[int, ...]]:
    """{keypoint name: the vertex (or vertices, averaged) it sits on} for the skin keypoints."""
    data = makehuman.compiled()
    rest = Body.shaped()
    v = rest.vertices
    groups = makehuman._group_vertices()
    skin = groups["body"]
    head = skin[bone_share(("head", "jaw"))[skin] > 0.5]
    out: dict[str, int | tuple[int, ...]] = {"nose": int(head[np.argmin(v[head, 1])])}
    lips = _lip_vertices(data, skin)
    for side in ("left", "right"):
        s = 1.0 if side == "left" else -1.0
        eye = groups[f"helper-{SIDES[side][1]}-eye"]
        centre = v[eye].mean(0)
        radius = np.linalg.norm(v[eye] - centre, axis=1).max()
        lids = skin[np.linalg.norm(v[skin] - centre, axis=1) < radius + 0.0005]
        lids = lids[v[lids, 1] < centre[1]]
        out[f"{side}_eye_inner"] = int(lids[np.argmin(s * v[lids, 0])])
        out[f"{side}_eye_outer"] = int(lids[np.argmax(s * v[lids, 0])])
        out[f"{side}_eye"] = int(eye[np.argmin(v[eye, 1])])
        mine = head[s * v[head, 0] > 0]
        lateral = s * v[mine, 0]
        out[f"{side}_ear"] = tuple(int(i) for i in mine[lateral > lateral.max() - EAR_DEPTH_M])
        corner = lips[s * v[lips, 0] > 0]
        out[f"mouth_{side}"] = int(corner[np.argmax(s * v[corner, 0])])
        foot_bones = (bone("foot", side),) + tuple(bone(f"toe{i}-{j}", side) for i in range(1, 6) for j in (1, 2, 3))
        foot = skin[bone_share(foot_bones)[skin] > 0.5]
        sole = foot[v[foot, 2] < v[foot, 2].min() + 0.015]
        out[f"{side}_heel"] = int(sole[np.argmax(v[sole, 1])])
        out[f"{side}_foot_index"] = int(foot[np.argmin(v[foot, 1])])
    return out


def _lip_vertices(data: dict, skin: np.ndarray) -> np.ndarray:
    """Skin vertices inside MakeHuman's lip mask (by their UVs)."""
    mask = cv2.imread(str(makehuman.data_dir() / "textures" / "mpfb_lips.jpg"), cv2.IMREAD_GRAYSCALE)
    faces, face_uvs = data["faces"], data["face_uvs"]
    uv = data["uvs"][face_uvs.ravel()]
    h, w = mask.shape
    px = np.clip((uv[:, 0] * w).astype(int), 0, w - 1)
    py = np.clip(((1 - uv[:, 1]) * h).astype(int), 0, h - 1)
    inside = mask[py, px] > 127
    vertices = np.unique(faces.ravel()[inside])
    return np.intersect1d(vertices, skin)


def keypoints(posed: Posed) -> np.ndarray:
    """[33, 3] BlazePose's keypoints of a posed body (metres, the body's frame)."""
    marks = landmark_vertices()
    joints = {"shoulder": "upperarm01", "elbow": "lowerarm01", "wrist": "wrist", "hip": "upperleg01",
              "knee": "lowerleg01", "ankle": "foot"}  # fmt: skip
    hand_points = {"pinky": 17, "index": 5, "thumb": 3}
    hands = {side: makehuman_hand.keypoints(posed, side) for side in ("left", "right")}
    out = np.zeros((len(NAMES), 3))
    for i, name in enumerate(NAMES):
        side, _, part = name.partition("_")
        if part in joints and side in SIDES:
            out[i] = posed.head(bone(joints[part], side))
        elif part in hand_points and side in SIDES:
            out[i] = hands[side][hand_points[part]]
        else:
            out[i] = posed.vertices[np.asarray(marks[name])].reshape(-1, 3).mean(0)
    return _shifted(posed, out)


def _shifted(posed: Posed, points: np.ndarray) -> np.ndarray:
    """points [33, 3] moved by KEYPOINT_SHIFTS (see there)."""
    torso = np.linalg.norm(points[[11, 12]].mean(0) - points[[23, 24]].mean(0))
    out = points.copy()
    for i, name in enumerate(NAMES):
        if name not in KEYPOINT_SHIFTS:
            continue
        side = "right" if "right" in name else "left"
        part = next(p for p in SHIFT_BONES if p in name)
        carrier = SHIFT_BONES[part]
        q = posed.rotations[posed.body.bone(carrier if carrier in ("head", "spine01", "root") else bone(carrier, side))]
        a, b = KEYPOINT_SHIFTS[name]
        outward = 1.0 if side == "left" else -1.0  # the body's left is +x
        out[i] = points[i] + q @ np.array([a * outward, 0.0, b]) * torso
    return out
