"""The 6 face keypoints of MediaPipe's face detectors (BlazeFace).

Order and names follow MediaPipe's `FaceKeyPoint` enum: the subject's right eye (on the image's
left in a frontal photo), left eye, nose tip, mouth centre, right ear tragion, left ear tragion.
"""

from blazeforge.topology import Topology, register

NAMES = ("right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear_tragion", "left_ear_tragion")
RIGHT_EYE, LEFT_EYE, NOSE_TIP, MOUTH_CENTER, RIGHT_EAR, LEFT_EAR = range(6)

FACE_KEYPOINTS = register(Topology(
    name="face_keypoints", names=NAMES,
    edges=((RIGHT_EYE, LEFT_EYE), (RIGHT_EYE, NOSE_TIP), (LEFT_EYE, NOSE_TIP), (NOSE_TIP, MOUTH_CENTER),
           (RIGHT_EYE, RIGHT_EAR), (LEFT_EYE, LEFT_EAR)),
    root=NOSE_TIP, normalizer=(RIGHT_EYE, LEFT_EYE),
    flip_pairs=((RIGHT_EYE, LEFT_EYE), (RIGHT_EAR, LEFT_EAR))))
