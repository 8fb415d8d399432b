"""MediaPipe Holistic's hand re-crop model (hand_recrop) as Keras layers.

Holistic finds a hand's ROI from the pose landmarks, then this small model refines it: from a
256x256 crop around the pose's wrist it predicts two keypoints (the hand's centre and a point
that sets its size and rotation). A 3x3 stem (stride 2) + PReLU and a per-channel 1x1 scale,
then six pre-activation residual blocks, each halving the resolution (128 -> 2), and a 2x2 valid
convolution. Output:
- "keypoints" [B, 1, 1, 4]: x, y of the two keypoints in pixels of the 256x256 crop.

Input: float32 [B, 256, 256, 3] RGB in [0, 1].
"""

from __future__ import annotations

import keras
from keras import layers, ops

OUTPUTS = ("keypoints",)
# (bottleneck, output channels) of each block.
BLOCKS = ((8, 16), (16, 32), (32, 64), (32, 64), (16, 32), (8, 16))


@keras.saving.register_keras_serializable(package="blazeforge")
class RecropBlock(layers.Layer):
    """PReLU -> 1x1 depthwise -> 2x2 conv stride 2 to `bottleneck` -> PReLU -> 1x1 depthwise ->
    3x3 depthwise -> 1x1 conv to `filters`, plus the skip path: the input max-pooled (2x2) with its
    channels zero-padded or cut to `filters`.

    The 1x1 depthwise convolutions are per-channel scales and shifts (BatchNorm folded).

    Call: x [B, H, W, C_in] -> [B, H / 2, W / 2, filters].
    """

    def __init__(self, bottleneck: int, filters: int, **kwargs):
        super().__init__(**kwargs)
        self.bottleneck, self.filters = int(bottleneck), int(filters)
        self.act1 = layers.PReLU(shared_axes=[1, 2], name="prelu1")
        self.scale1 = layers.DepthwiseConv2D(1, name="scale1")
        self.reduce = layers.Conv2D(bottleneck, 2, strides=2, name="reduce")
        self.act2 = layers.PReLU(shared_axes=[1, 2], name="prelu2")
        self.scale2 = layers.DepthwiseConv2D(1, name="scale2")
        self.depthwise = layers.DepthwiseConv2D(3, padding="same", name="depthwise")
        self.expand = layers.Conv2D(filters, 1, name="expand")

    def build(self, input_shape):
        self.in_channels = int(input_shape[-1])
        shape = input_shape
        for layer in (self.act1, self.scale1, self.reduce, self.act2, self.scale2, self.depthwise, self.expand):
            layer.build(shape)
            shape = layer.compute_output_shape(shape)

    def call(self, x):
        y = self.reduce(self.scale1(self.act1(x)))
        y = self.expand(self.depthwise(self.scale2(self.act2(y))))
        skip = ops.max_pool(x, 2, 2, padding="valid")
        if self.filters > self.in_channels:
            skip = ops.pad(skip, [[0, 0], [0, 0], [0, 0], [0, self.filters - self.in_channels]])
        elif self.filters < self.in_channels:
            skip = skip[..., : self.filters]
        return y + skip

    def compute_output_shape(self, input_shape):
        b, h, w, _ = input_shape
        return (b, None if h is None else h // 2, None if w is None else w // 2, self.filters)

    def get_config(self):
        return {**super().get_config(), "bottleneck": self.bottleneck, "filters": self.filters}


def hand_recrop_model(input_size: int = 256) -> keras.Model:
    """The published hand_recrop architecture for a 256x256 crop."""
    inputs = keras.Input((input_size, input_size, 3), name="image")
    x = layers.Conv2D(8, 3, strides=2, padding="same", name="stem")(inputs)
    x = layers.PReLU(shared_axes=[1, 2], name="stem_prelu")(x)
    x = layers.DepthwiseConv2D(1, name="stem_scale")(x)
    for i, (bottleneck, filters) in enumerate(BLOCKS):
        x = RecropBlock(bottleneck, filters, name=f"block{i}")(x)
    return keras.Model(inputs, layers.Conv2D(4, 2, name="keypoints")(x), name="hand_recrop")
