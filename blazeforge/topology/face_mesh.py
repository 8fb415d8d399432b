"""MediaPipe's face mesh: 468 landmarks (the published face_landmark model's output order).

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
