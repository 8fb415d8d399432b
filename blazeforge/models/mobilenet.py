"""The inverted residual block (MobileNetV2) as MediaPipe's hand and pose landmark models use it.

Expand 1x1 -> ReLU6 -> depthwise kxk (stride 1 or 2) -> ReLU6 -> project 1x1 (linear), added to
the input when the channels match; a strided block with matching channels max-pools its skip path
(hand_landmark_lite's first stage). Convolutions carry biases: the published models' BatchNorm is
folded into them, and the importer loads them as they are. `mobilenet_trunk` stacks them behind a
3x3 stem as the hand landmark and pose detection models do.

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
        strides: 1, or 2 to halve the resolution.
        symmetric_pad: a strided depthwise pads k // 2 on every side, then convolves "valid"
            (pose_detection); otherwise "same" padding as TensorFlow pads (more after than before).

    Call: x [B, H, W, C_in] -> [B, ceil(H / strides), ceil(W / strides), filters].
    """

    def __init__(
        self,
        expand: int | None,
        filters: int,
        kernel_size: int = 3,
        strides: int = 1,
        symmetric_pad: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.expand_channels = None if expand is None else int(expand)
        self.filters, self.kernel_size, self.strides = int(filters), int(kernel_size), int(strides)
        self.symmetric_pad = bool(symmetric_pad) and self.strides == 2
        self.expand = (
            layers.Conv2D(self.expand_channels, 1, activation="relu6", name="expand") if expand is not None else None
        )
        self.depthwise = layers.DepthwiseConv2D(
            kernel_size,
            strides=strides,
            activation="relu6",
            name="depthwise",
            padding="valid" if self.symmetric_pad else "same",
        )
        self.project = layers.Conv2D(filters, 1, name="project")

    def build(self, input_shape):
        self.in_channels = int(input_shape[-1])
        shape = input_shape
        for layer in (self.expand, self.depthwise, self.project):
            if layer is not None:
                if layer is self.depthwise and self.symmetric_pad:
                    pad = 2 * (self.kernel_size // 2)
                    shape = (shape[0], *(None if d is None else d + pad for d in shape[1:3]), shape[3])
                layer.build(shape)
                shape = layer.compute_output_shape(shape)

    def call(self, x):
        y = self.expand(x) if self.expand is not None else x
        if self.symmetric_pad:
            p = self.kernel_size // 2
            y = ops.pad(y, [[0, 0], [p, p], [p, p], [0, 0]])
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
        return {
            **super().get_config(),
            "expand": self.expand_channels,
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "symmetric_pad": self.symmetric_pad,
        }


def mobilenet_trunk(inputs, blocks, symmetric_pad: bool = False) -> list:
    """Stem conv 3x3 stride 2 to 24 channels + ReLU6, an unexpanded block to 16, then `blocks`.

    Args:
        inputs: Keras tensor [B, S, S, 3].
        blocks: (expand, filters, kernel, stride) per inverted residual block.
        symmetric_pad: pad k // 2 on every side before each strided convolution, then "valid"
            (pose_detection), instead of "same".

    Returns the output of every block, the unexpanded one first: [B, S / 2, S / 2, 16], ...
    """
    if symmetric_pad:
        x = layers.ZeroPadding2D(1, name="stem_pad")(inputs)
        x = layers.Conv2D(24, 3, strides=2, padding="valid", activation="relu6", name="stem")(x)
    else:
        x = layers.Conv2D(24, 3, strides=2, padding="same", activation="relu6", name="stem")(inputs)
    outputs = [InvertedResidual(None, 16, 3, name="block0")(x)]
    for i, (expand, filters, kernel, stride) in enumerate(blocks, start=1):
        outputs.append(InvertedResidual(expand, filters, kernel, stride, symmetric_pad, name=f"block{i}")(outputs[-1]))
    return outputs
