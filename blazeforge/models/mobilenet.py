"""The inverted residual block (MobileNetV2) as MediaPipe's hand and pose landmark models use it.

Expand 1x1 -> ReLU6 -> depthwise kxk (stride 1 or 2) -> ReLU6 -> project 1x1 (linear), added to
the input when the channels match; a strided block with matching channels max-pools its skip path
(hand_landmark_lite's first stage). Convolutions carry biases: the published models' BatchNorm is
folded into them, and the importer loads them as they are.

Example:
    >>> x = InvertedResidual(expand=144, filters=24, kernel_size=3)(keras.Input((56, 56, 24)))
"""

from __future__ import annotations

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="blazeforge")
class InvertedResidual(layers.Layer):
    """Expand, depthwise, project, plus the skip path where channels match.

    Args:
        expand: channels after the 1x1 expansion (None: no expansion, the depthwise reads the input).
        filters: output channels of the 1x1 projection.
        kernel_size: of the depthwise convolution (3 or 5).
        strides: 1, or 2 to halve the resolution ("same" padding, as TensorFlow pads).

    Call: x [B, H, W, C_in] -> [B, ceil(H / strides), ceil(W / strides), filters].
    """

    def __init__(self, expand: int | None, filters: int, kernel_size: int = 3, strides: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.expand_channels = None if expand is None else int(expand)
        self.filters, self.kernel_size, self.strides = int(filters), int(kernel_size), int(strides)
        self.expand = (layers.Conv2D(self.expand_channels, 1, activation="relu6", name="expand")
                       if expand is not None else None)
        self.depthwise = layers.DepthwiseConv2D(kernel_size, strides=strides, padding="same", activation="relu6",
                                                name="depthwise")
        self.project = layers.Conv2D(filters, 1, name="project")

    def build(self, input_shape):
        self.in_channels = int(input_shape[-1])
        shape = input_shape
        for layer in (self.expand, self.depthwise, self.project):
            if layer is not None:
                layer.build(shape)
                shape = layer.compute_output_shape(shape)

    def call(self, x):
        y = self.expand(x) if self.expand is not None else x
        y = self.project(self.depthwise(y))
        if self.in_channels != self.filters:
            return y
        skip = ops.max_pool(x, pool_size=2, strides=2, padding="valid") if self.strides == 2 else x
        return y + skip

    def compute_output_shape(self, input_shape):
        b, h, w, _ = input_shape
        s = self.strides
        return (b, None if h is None else -(-h // s), None if w is None else -(-w // s), self.filters)

    def get_config(self):
        return {**super().get_config(), "expand": self.expand_channels, "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides}
