"""MediaPipe's face mesh: 468 landmarks (the published face_landmark model's output order), and the
refined 478 (`face_mesh_iris`: + 5 iris points per eye, the attention model's order).

Errors are normalized by the interocular distance (IOD), here the outer eye corners 33 and 263,
and z is relative to the nose tip (1). The mesh's edges (tesselation, contours) and its region sets
are read from the pinned wheel (`zoo.connections`), not retyped; flip pairs come with a recipe that
flips face crops (none does yet).
"""

from blazeforge.topology import Topology, register

NUM_LANDMARKS = 468
NOSE_TIP = 1
OUTER_EYE_CORNERS = (33, 263)

FACE_MESH = register(Topology(
    name="face_mesh", names=tuple(f"mesh_{i:03d}" for i in range(NUM_LANDMARKS)), edges=(),
    root=NOSE_TIP, normalizer=OUTER_EYE_CORNERS))

# The refined mesh's irises (the wheel's FACEMESH_RIGHT_IRIS / LEFT_IRIS rims, centres before them):
# centre, then four rim points around it; "right" is the subject's right eye (the image's left).
IRIS = {"right": (468, 469, 470, 471, 472), "left": (473, 474, 475, 476, 477)}

FACE_MESH_IRIS = register(Topology(
    name="face_mesh_iris", names=FACE_MESH.names + tuple(f"{side}_iris_{i}" for side in ("right", "left") for i in range(5)),
    edges=(), root=NOSE_TIP, normalizer=OUTER_EYE_CORNERS))
