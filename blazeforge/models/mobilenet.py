"""The inverted residual block (MobileNetV2) as MediaPipe's hand and pose landmark models use it.

Expand 1x1 -> ReLU6 -> depthwise kxk (stride 1 or 2) -> ReLU6 -> project 1x1 (linear), added to
the input when the channels match; a strided block with matching channels max-pools its skip path
(hand_landmark_lite's first stage). Convolutions carry biases: the published models' BatchNorm is
folded into them, and the importer loads them as they are; `norm=True` (training from scratch)
puts BatchNorm after each convolution instead, before its activation: without it the deep,
unnormalized stack trained from scratch settles on input-independent outputs (the pose detector's
boxes, the mean pose). `mobilenet_trunk` stacks them behind a 3x3 stem as the hand landmark and
pose detection models do.

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
        norm: BatchNorm after each convolution (no biases), the activation after it.

    Call: x [B, H, W, C_in] -> [B, ceil(H / strides), ceil(W / strides), filters].
    """

    def __init__(
        self,
        expand: int | None,
        filters: int,
        kernel_size: int = 3,
        strides: int = 1,
        symmetric_pad: bool = False,
        norm: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.expand_channels = None if expand is None else int(expand)
        self.filters, self.kernel_size, self.strides = int(filters), int(kernel_size), int(strides)
        self.symmetric_pad = bool(symmetric_pad) and self.strides == 2
        self.norm = bool(norm)
        act = None if self.norm else "relu6"
        bias = not self.norm
        self.expand = (
            layers.Conv2D(self.expand_channels, 1, activation=act, use_bias=bias, name="expand")
            if expand is not None
            else None
        )
        self.depthwise = layers.DepthwiseConv2D(
            kernel_size,
            strides=strides,
            activation=act,
            use_bias=bias,
            name="depthwise",
            padding="valid" if self.symmetric_pad else "same",
        )
        self.project = layers.Conv2D(filters, 1, use_bias=bias, name="project")
        convs = ("depthwise", "project") if expand is None else ("expand", "depthwise", "project")
        self.norms = {n: layers.BatchNormalization(momentum=0.9, name=f"{n}_norm") for n in convs} if self.norm else {}

    def build(self, input_shape):
        self.in_channels = int(input_shape[-1])
        shape = input_shape
        for name, layer in (("expand", self.expand), ("depthwise", self.depthwise), ("project", self.project)):
            if layer is not None:
                if layer is self.depthwise and self.symmetric_pad:
                    pad = 2 * (self.kernel_size // 2)
                    shape = (shape[0], *(None if d is None else d + pad for d in shape[1:3]), shape[3])
                layer.build(shape)
                shape = layer.compute_output_shape(shape)
                if self.norm:
                    self.norms[name].build(shape)

    def _normed(self, name: str, y, activate: bool = True):
        if not self.norm:
            return y
        y = self.norms[name](y)
        return ops.relu6(y) if activate else y

    def call(self, x):
        y = self._normed("expand", self.expand(x)) if self.expand is not None else x
        if self.symmetric_pad:
            p = self.kernel_size // 2
            y = ops.pad(y, [[0, 0], [p, p], [p, p], [0, 0]])
        y = self._normed("depthwise", self.depthwise(y))
        y = self._normed("project", self.project(y), activate=False)
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
            "norm": self.norm,
        }


def mobilenet_trunk(inputs, blocks, symmetric_pad: bool = False, norm: bool = False) -> list:
    """Stem conv 3x3 stride 2 to 24 channels + ReLU6, an unexpanded block to 16, then `blocks`.

    Args:
        inputs: Keras tensor [B, S, S, 3].
        blocks: (expand, filters, kernel, stride) per inverted residual block.
        symmetric_pad: pad k // 2 on every side before each strided convolution, then "valid"
            (pose_detection), instead of "same".
        norm: BatchNorm after every convolution (training from scratch; see the module docstring).

    Returns the output of every block, the unexpanded one first: [B, S / 2, S / 2, 16], ...
    """
    x = layers.ZeroPadding2D(1, name="stem_pad")(inputs) if symmetric_pad else inputs
    padding, act = "valid" if symmetric_pad else "same", None if norm else "relu6"
    x = layers.Conv2D(24, 3, strides=2, padding=padding, activation=act, use_bias=not norm, name="stem")(x)
    if norm:
        x = layers.ReLU(6.0, name="stem_relu")(layers.BatchNormalization(momentum=0.9, name="stem_norm")(x))
    outputs = [InvertedResidual(None, 16, 3, norm=norm, name="block0")(x)]
    for i, (expand, filters, kernel, stride) in enumerate(blocks, start=1):
        block = InvertedResidual(expand, filters, kernel, stride, symmetric_pad, norm, name=f"block{i}")
        outputs.append(block(outputs[-1]))
    return outputs
