"""The 6 face keypoints of MediaPipe's face detectors (BlazeFace).

Order and names follow MediaPipe's `FaceKeyPoint` enum: the subject's right eye (on the image's
left in a frontal photo), left eye, nose tip, mouth centre, right ear tragion, left ear tragion.
"""

import numpy as np

from blazeforge.topology.base import Topology, register
from blazeforge.topology.face_mesh import region

NAMES = ("right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear_tragion", "left_ear_tragion")
RIGHT_EYE, LEFT_EYE, NOSE_TIP, MOUTH_CENTER, RIGHT_EAR, LEFT_EAR = range(6)

FACE_KEYPOINTS = register(
    Topology(
        name="face_keypoints",
        names=NAMES,
        edges=(
            (RIGHT_EYE, LEFT_EYE),
            (RIGHT_EYE, NOSE_TIP),
            (LEFT_EYE, NOSE_TIP),
            (NOSE_TIP, MOUTH_CENTER),
            (RIGHT_EYE, RIGHT_EAR),
            (LEFT_EYE, LEFT_EAR),
        ),
        root=NOSE_TIP,
        normalizer=(RIGHT_EYE, LEFT_EYE),
        unit="IOD",
        flip_pairs=((RIGHT_EYE, LEFT_EYE), (RIGHT_EAR, LEFT_EAR)),
    )
)


# Where the published short-range detector puts its keypoints on MediaPipe's face mesh (read off its
# detections and the mesh on the package photos, tests/zoo/mediapipe_outputs.json: within 2-9% of
# the interocular distance): eye centres as the eye contours' means, nose 4, mouth between the
# inner lips 13 and 14, ears at the oval's 93 and 323.
MESH_EYES = {"right": "FACEMESH_RIGHT_EYE", "left": "FACEMESH_LEFT_EYE"}
MESH_NOSE, MESH_MOUTH, MESH_EARS = 4, (13, 14), (93, 323)


def from_face_mesh(mesh: np.ndarray) -> np.ndarray:
    """The 6 face keypoints [6, C] (this module's order) from 468 face-mesh landmarks [468, C]."""
    mesh = np.asarray(mesh)
    eyes = [mesh[region(MESH_EYES[side])].mean(0) for side in ("right", "left")]
    return np.stack([*eyes, mesh[MESH_NOSE], mesh[list(MESH_MOUTH)].mean(0), mesh[MESH_EARS[0]], mesh[MESH_EARS[1]]])
