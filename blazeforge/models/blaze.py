"""BlazeBlocks and a landmark encoder, written with `keras.ops` so they also run on JAX/PyTorch.

The BlazeBlock (BlazeFace, arXiv:1907.05047) is a 5x5 depthwise convolution and a 1x1 projection
with a residual connection; a strided block max-pools the skip path and zero-pads its channels.
"""

from __future__ import annotations

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="blazeforge")
class BlazeBlock(layers.Layer):
    """Depthwise 5x5 (stride 1 or 2) -> pointwise 1x1 -> BatchNorm, plus the skip path, then ReLU.

    Call: x [B, H, W, C_in] -> [B, H / stride, W / stride, filters] (H, W rounded up).
    """

    def __init__(self, filters: int, strides: int = 1, kernel_size: int = 5, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.strides, self.kernel_size = filters, strides, kernel_size
        self.depthwise = layers.DepthwiseConv2D(kernel_size, strides=strides, padding="same", use_bias=False)
        self.pointwise = layers.Conv2D(filters, 1, use_bias=False)
        self.norm = layers.BatchNormalization()
        self.pool = layers.MaxPooling2D(2, strides=2, padding="same") if strides == 2 else None

    def build(self, input_shape):
        self.in_channels = int(input_shape[-1])
        if self.filters < self.in_channels:
            raise ValueError(f"BlazeBlock cannot shrink channels ({self.in_channels} -> {self.filters})")
        self.depthwise.build(input_shape)
        dw_shape = self.depthwise.compute_output_shape(input_shape)
        self.pointwise.build(dw_shape)
        self.norm.build(self.pointwise.compute_output_shape(dw_shape))
        if self.pool is not None:
            self.pool.build(input_shape)

    def call(self, x, training=None):
        y = self.norm(self.pointwise(self.depthwise(x)), training=training)
        skip = self.pool(x) if self.pool is not None else x
        extra = self.filters - self.in_channels
        if extra:
            skip = ops.pad(skip, [[0, 0], [0, 0], [0, 0], [0, extra]])
        return ops.relu(y + skip)

    def compute_output_shape(self, input_shape):
        b, h, w, _ = input_shape
        s = self.strides
        return (b, None if h is None else -(-h // s), None if w is None else -(-w // s), self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "strides": self.strides,
                "kernel_size": self.kernel_size}


# Channels and blocks per resolution stage (after the stem), for the landmark encoders.
WIDTHS = {
    "full": {"stem": 24, "stages": ((24, 2), (48, 2), (96, 3), (192, 3), (192, 3), (192, 2))},
    "lite": {"stem": 16, "stages": ((16, 1), (32, 2), (64, 2), (128, 2), (128, 2), (128, 1))},
}


def landmark_encoder(inputs, width: str = "full"):
    """Stem conv (stride 2) then BlazeBlock stages, each but the first opening with a stride-2 block.

    inputs [B, S, S, 3] -> features [B, ceil(S / 64), ceil(S / 64), C] (C = 192 full, 128 lite);
    224 -> 112 (stem) -> 112, 56, 28, 14, 7, 4.
    """
    if width not in WIDTHS:
        raise ValueError(f"width must be one of {sorted(WIDTHS)}, got {width!r}")
    spec = WIDTHS[width]
    x = layers.Conv2D(spec["stem"], 3, strides=2, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = layers.BatchNormalization(name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    for stage, (filters, blocks) in enumerate(spec["stages"]):
        for block in range(blocks):
            strides = 2 if stage > 0 and block == 0 else 1
            x = BlazeBlock(filters, strides, name=f"stage{stage}_block{block}")(x)
    return x
