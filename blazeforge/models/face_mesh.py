"""MediaPipe's FaceMesh landmark model (face_landmark, arXiv:1907.06724) as Keras layers.

A 3x3 stem (stride 2) and BlazeBlocks with PReLU down to 6x6 at 192, then two branches: the mesh
(three more blocks to 3x3, a 1x1 to 32 channels, one block, and a 3x3 valid convolution to 1404
values) and the face flag (one strided block, 1x1 to 32, one block, 3x3 valid to one logit).
Outputs, in the published file's order and layout:
- "landmarks" [B, 1, 1, 1404]: x, y, z of the 468 mesh points in pixels of the 192x192 crop;
- "face_flag" [B, 1, 1, 1]: logit that a face fills the crop (a probability after the sigmoid).

Input: float32 [B, 192, 192, 3] RGB in [0, 1].
"""

from __future__ import annotations

import keras
from keras import layers

from blazeforge.models.blaze import BlazeBlock

# (filters, stride) of the trunk's BlazeBlocks, 96x96 down to 6x6 at 192.
TRUNK = (
    (16, 1),
    (16, 1),
    (32, 2),
    (32, 1),
    (32, 1),
    (64, 2),
    (64, 1),
    (64, 1),
    (128, 2),
    (128, 1),
    (128, 1),
    (128, 2),
    (128, 1),
    (128, 1),
)
OUTPUTS = ("landmarks", "face_flag")


def _block(x, filters, stride, name):
    return BlazeBlock(filters, stride, kernel_size=3, norm=False, activation="prelu", name=name)(x)


def _branch(x, strided_blocks: int, outputs: int, name: str):
    """Blocks at 128 channels (the first strided) -> 1x1 to 32 + PReLU -> a block -> 3x3 valid conv."""
    for i in range(strided_blocks):
        x = _block(x, 128, 2 if i == 0 else 1, f"{name}_block{i}")
    x = layers.Conv2D(32, 1, name=f"{name}_reduce")(x)
    x = layers.PReLU(shared_axes=[1, 2], name=f"{name}_reduce_prelu")(x)
    x = _block(x, 32, 1, f"{name}_block{strided_blocks}")
    return layers.Conv2D(outputs, 3, padding="valid", name=name)(x)


def face_mesh_model(input_size: int = 192) -> keras.Model:
    """The published face_landmark architecture (468 points + face flag) for a 192x192 crop."""
    inputs = keras.Input((input_size, input_size, 3), name="image")
    x = layers.Conv2D(16, 3, strides=2, padding="same", name="stem")(inputs)
    x = layers.PReLU(shared_axes=[1, 2], name="stem_prelu")(x)
    for i, (filters, stride) in enumerate(TRUNK):
        x = _block(x, filters, stride, f"block{i}")
    landmarks = _branch(x, 3, 468 * 3, "landmarks")
    face_flag = _branch(x, 1, 1, "face_flag")
    return keras.Model(inputs, [landmarks, face_flag], name="face_landmark")
