"""MediaPipe's iris landmark model (iris_landmark, arXiv:2006.11341) as Keras layers.

A 3x3 stem (stride 2) and bottleneck residual blocks with PReLU from 32x32 down to 8x8 at 64,
then two branches of the same blocks down to 2x2, each ending in a 2x2 valid convolution.
Outputs, in the published file's order:
- "eye_contour" [B, 213]: x, y, z of 71 eye-contour and brow points in pixels of the 64x64 crop;
- "iris" [B, 15]: x, y, z of 5 iris points (centre first, then four on the rim).

Input: float32 [B, 64, 64, 3] RGB in [0, 1], one eye (MediaPipe mirrors right eyes onto left).
"""

from __future__ import annotations

import keras
from keras import layers, ops

from blazeforge.models.blaze import FlattenGrid

OUTPUTS = ("eye_contour", "iris")


@keras.saving.register_keras_serializable(package="blazeforge")
class BottleneckBlock(layers.Layer):
    """1x1 (or 2x2 stride 2) to half the channels + PReLU -> depthwise 3x3 -> 1x1, plus skip, PReLU.

    The strided block halves the resolution with a 2x2 convolution of stride 2 and max-pools its
    skip path (2x2, valid); new channels on the skip path are zeros.

    Args:
        filters: output channels (at least the input's); the bottleneck has filters // 2.
        strides: 1 or 2.

    Call: x [B, H, W, C_in] -> [B, H / strides, W / strides, filters].
    """

    def __init__(self, filters: int, strides: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.strides = int(filters), int(strides)
        self.reduce = layers.Conv2D(filters // 2, strides, strides=strides, name="reduce")
        self.reduce_act = layers.PReLU(shared_axes=[1, 2], name="reduce_prelu")
        self.depthwise = layers.DepthwiseConv2D(3, padding="same", name="depthwise")
        self.expand = layers.Conv2D(filters, 1, name="expand")
        self.act = layers.PReLU(shared_axes=[1, 2], name="prelu")

    def build(self, input_shape):
        self.in_channels = int(input_shape[-1])
        shape = input_shape
        for layer in (self.reduce, self.reduce_act, self.depthwise, self.expand):
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.act.build(shape)

    def call(self, x):
        y = self.expand(self.depthwise(self.reduce_act(self.reduce(x))))
        skip = ops.max_pool(x, 2, 2, padding="valid") if self.strides == 2 else x
        if self.filters > self.in_channels:
            skip = ops.pad(skip, [[0, 0], [0, 0], [0, 0], [0, self.filters - self.in_channels]])
        return self.act(y + skip)

    def compute_output_shape(self, input_shape):
        b, h, w, _ = input_shape
        s = self.strides
        return (b, None if h is None else h // s, None if w is None else w // s, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "strides": self.strides}


def _branch(x, outputs: int, name: str):
    """Two blocks at 8x8, then (strided block + block) to 4x4 and to 2x2, then a 2x2 valid conv."""
    for i, stride in enumerate((1, 1, 2, 1, 1, 2, 1, 1)):
        x = BottleneckBlock(128, stride, name=f"{name}_block{i}")(x)
    x = layers.Conv2D(outputs, 2, name=f"{name}_conv")(x)
    return FlattenGrid(name=name)(x)


def iris_landmark_model(input_size: int = 64) -> keras.Model:
    """The published iris landmark architecture for a 64x64 eye crop."""
    inputs = keras.Input((input_size, input_size, 3), name="image")
    x = layers.Conv2D(64, 3, strides=2, padding="same", name="stem")(inputs)
    x = layers.PReLU(shared_axes=[1, 2], name="stem_prelu")(x)
    for i, (filters, stride) in enumerate(((64, 1),) * 4 + ((128, 2),) + ((128, 1),) * 4 + ((128, 2),)):
        x = BottleneckBlock(filters, stride, name=f"block{i}")(x)
    return keras.Model(inputs, [_branch(x, 71 * 3, "eye_contour"), _branch(x, 5 * 3, "iris")], name="iris_landmark")
