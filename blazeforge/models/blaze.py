"""BlazeBlocks and a landmark backbone, written with `keras.ops` so they also run on JAX/PyTorch.

The BlazeBlock (BlazeFace, arXiv:1907.05047) is a depthwise convolution (5x5 by default, 3x3 where
a receptive field that large is not needed) and a 1x1 projection, added to a skip path. A strided
block (stride 2) max-pools the skip path and zero-pads its channels up to the block's width, so
that no parameters are spent on the shortcut. BatchNorm uses momentum 0.9 so that its moving
statistics settle within the few hundred steps of a CPU run. The double BlazeBlock runs two such depthwise +
pointwise pairs, the first projecting to a narrower bottleneck, before the single addition.

Example:
    >>> inputs = keras.Input((224, 224, 3))
    >>> features = landmark_backbone(inputs, "full")   # [B, 7, 7, 288]
"""

from __future__ import annotations

import math

import keras
from keras import layers, ops


def _strided_skip(x, strides: int, extra_channels: int):
    """The shortcut of a Blaze block: max-pool when strided, zero-pad the new channels."""
    if strides == 2:
        x = ops.max_pool(x, pool_size=2, strides=2, padding="same")
    if extra_channels:
        x = ops.pad(x, [[0, 0], [0, 0], [0, 0], [0, extra_channels]])
    return x


def _out_shape(input_shape, strides: int, filters: int):
    b, h, w, _ = input_shape
    return (b, None if h is None else -(-h // strides), None if w is None else -(-w // strides), filters)


@keras.saving.register_keras_serializable(package="blazeforge")
class BlazeBlock(layers.Layer):
    """Depthwise kxk (stride 1 or 2) -> pointwise 1x1 -> BatchNorm, plus the skip path, then ReLU (or PReLU).

    Args:
        filters: output channels, at least the input's (the skip path can only pad channels).
        strides: 1, or 2 to halve the resolution (the skip path is max-pooled).
        kernel_size: of the depthwise convolution, 5 (BlazeFace) or 3.
        norm: BatchNorm after the projection (convolutions without bias); False for the published
            models, whose BatchNorm is folded into convolution biases. (At random init, a
            widening block without norm segfaults TensorFlow 2.20's compiled inference graph in
            grappler's remapper, oneDNN's fusions; with the published weights it runs. Turning
            remapping off avoids it: tf.config.optimizer.set_experimental_options({"remapping": False}).)
        activation: "relu", "relu6" (BlazePose), or "prelu" (one learnt slope per channel:
            FaceMesh, BlazePalm, Iris).
        activate_depthwise: apply the activation after the depthwise convolution too (BlazePose's
            landmark model); relu or relu6 only.

    Call: x [B, H, W, C_in] -> [B, ceil(H / strides), ceil(W / strides), filters].
    """

    def __init__(
        self,
        filters: int,
        strides: int = 1,
        kernel_size: int = 5,
        norm: bool = True,
        activation: str = "relu",
        activate_depthwise: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if strides not in (1, 2):
            raise ValueError(f"BlazeBlock strides must be 1 or 2, got {strides}")
        if activation not in ("relu", "relu6", "prelu"):
            raise ValueError(f"BlazeBlock activation must be relu, relu6 or prelu, got {activation!r}")
        self.filters, self.strides, self.kernel_size = int(filters), int(strides), int(kernel_size)
        if activate_depthwise and activation == "prelu":
            raise ValueError("BlazeBlock activate_depthwise takes relu or relu6, not prelu")
        self.use_norm, self.activation, self.activate_depthwise = bool(norm), activation, bool(activate_depthwise)
        self.depthwise = layers.DepthwiseConv2D(
            kernel_size,
            strides=strides,
            padding="same",
            use_bias=not norm,
            activation=activation if activate_depthwise else None,
            name="depthwise",
        )
        self.pointwise = layers.Conv2D(filters, 1, use_bias=not norm, name="pointwise")
        self.norm = layers.BatchNormalization(momentum=0.9, name="norm") if norm else None
        self.act = (
            layers.PReLU(shared_axes=[1, 2], name="prelu")
            if activation == "prelu"
            else layers.ReLU(6.0 if activation == "relu6" else None)
        )

    def build(self, input_shape):
        self.in_channels = int(input_shape[-1])
        if self.filters < self.in_channels:
            raise ValueError(f"BlazeBlock cannot shrink channels ({self.in_channels} -> {self.filters})")
        self.depthwise.build(input_shape)
        shape = self.depthwise.compute_output_shape(input_shape)
        self.pointwise.build(shape)
        shape = self.pointwise.compute_output_shape(shape)
        if self.norm is not None:
            self.norm.build(shape)
        self.act.build(shape)

    def call(self, x, training=None):
        y = self.pointwise(self.depthwise(x))
        if self.norm is not None:
            y = self.norm(y, training=training)
        return self.act(y + _strided_skip(x, self.strides, self.filters - self.in_channels))

    def compute_output_shape(self, input_shape):
        return _out_shape(input_shape, self.strides, self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "strides": self.strides,
            "kernel_size": self.kernel_size,
            "norm": self.use_norm,
            "activation": self.activation,
            "activate_depthwise": self.activate_depthwise,
        }


@keras.saving.register_keras_serializable(package="blazeforge")
class DoubleBlazeBlock(layers.Layer):
    """Two depthwise + pointwise pairs around a bottleneck, one residual addition (BlazeFace).

    depthwise kxk (strides) -> 1x1 to `bottleneck` channels -> BN -> ReLU -> depthwise kxk ->
    1x1 to `filters` -> BN, plus the (pooled, zero-padded) skip path, then ReLU. Two of them see a
    larger receptive field for about the cost of one wide block.

    Args:
        filters: output channels, at least the input's.
        bottleneck: channels between the two pairs (BlazeFace uses 24 in front of 96).
        strides: 1 or 2.
        kernel_size: of both depthwise convolutions.
        norm: BatchNorm after each projection (convolutions without bias); False for published
            models, whose BatchNorm is folded into biases.
        residual: add the skip path; False makes a plain two-pair block (the stage transitions of
            face_detection_full_range, where channels grow without a shortcut).
        symmetric_pad: a strided block pads k // 2 on every side, then convolves "valid", as the
            published full-range model does; otherwise "same" (TensorFlow pads more after).

    Call: x [B, H, W, C_in] -> [B, ceil(H / strides), ceil(W / strides), filters].
    """

    def __init__(
        self,
        filters: int,
        bottleneck: int,
        strides: int = 1,
        kernel_size: int = 5,
        norm: bool = True,
        residual: bool = True,
        symmetric_pad: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if strides not in (1, 2):
            raise ValueError(f"DoubleBlazeBlock strides must be 1 or 2, got {strides}")
        self.filters, self.bottleneck = int(filters), int(bottleneck)
        self.strides, self.kernel_size = int(strides), int(kernel_size)
        self.use_norm, self.residual = bool(norm), bool(residual)
        self.symmetric_pad = bool(symmetric_pad) and self.strides == 2
        bias = not norm
        self.depthwise1 = layers.DepthwiseConv2D(
            kernel_size,
            strides=strides,
            use_bias=bias,
            name="depthwise1",
            padding="valid" if self.symmetric_pad else "same",
        )
        self.pointwise1 = layers.Conv2D(bottleneck, 1, use_bias=bias, name="pointwise1")
        self.norm1 = layers.BatchNormalization(momentum=0.9, name="norm1") if norm else None
        self.depthwise2 = layers.DepthwiseConv2D(kernel_size, padding="same", use_bias=bias, name="depthwise2")
        self.pointwise2 = layers.Conv2D(filters, 1, use_bias=bias, name="pointwise2")
        self.norm2 = layers.BatchNormalization(momentum=0.9, name="norm2") if norm else None

    def build(self, input_shape):
        self.in_channels = int(input_shape[-1])
        if self.residual and self.filters < self.in_channels:
            raise ValueError(f"DoubleBlazeBlock cannot shrink channels ({self.in_channels} -> {self.filters})")
        shape = input_shape
        if self.symmetric_pad:
            pad = 2 * (self.kernel_size // 2)
            shape = (shape[0], *(None if d is None else d + pad for d in shape[1:3]), shape[3])
        for layer in (self.depthwise1, self.pointwise1, self.norm1, self.depthwise2, self.pointwise2, self.norm2):
            if layer is not None:
                layer.build(shape)
                shape = layer.compute_output_shape(shape)

    def call(self, x, training=None):
        y = x
        if self.symmetric_pad:
            p = self.kernel_size // 2
            y = ops.pad(y, [[0, 0], [p, p], [p, p], [0, 0]])
        y = self.pointwise1(self.depthwise1(y))
        y = ops.relu(self.norm1(y, training=training) if self.norm1 is not None else y)
        y = self.pointwise2(self.depthwise2(y))
        if self.norm2 is not None:
            y = self.norm2(y, training=training)
        if self.residual:
            y = y + _strided_skip(x, self.strides, self.filters - self.in_channels)
        return ops.relu(y)

    def compute_output_shape(self, input_shape):
        return _out_shape(input_shape, self.strides, self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "bottleneck": self.bottleneck,
            "strides": self.strides,
            "kernel_size": self.kernel_size,
            "norm": self.use_norm,
            "residual": self.residual,
            "symmetric_pad": self.symmetric_pad,
        }


# The landmark backbone, per width: the stem's channels, then one stage per resolution, each
# (channels, single blocks, double blocks); every stage after the first opens with a stride-2
# block. At 224: 112 (stem and stage 0), 56, 28, 14, 7. Double blocks use a bottleneck of a
# quarter of the stage's channels.
WIDTHS = {
    "full": {"stem": 24, "stages": ((24, 2, 0), (48, 3, 0), (96, 4, 0), (192, 4, 1), (288, 6, 2))},
    "lite": {"stem": 16, "stages": ((16, 1, 0), (24, 2, 0), (48, 3, 0), (96, 3, 1), (144, 4, 2))},
}


def landmark_backbone(inputs, width: str = "full"):
    """Stem conv 3x3 (stride 2), then BlazeBlock stages down to 1/32 of the input.

    Args:
        inputs: a Keras tensor [B, S, S, 3] (S divisible by 32).
        width: "full" or "lite" (about half the channels, fewer blocks).

    Returns: features [B, S / 32, S / 32, C] with C = 288 (full) or 144 (lite); 7x7 at S = 224.
    """
    if width not in WIDTHS:
        raise ValueError(f"width must be one of {sorted(WIDTHS)}, got {width!r}")
    spec = WIDTHS[width]
    x = layers.Conv2D(spec["stem"], 3, strides=2, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = layers.BatchNormalization(momentum=0.9, name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    for stage, (filters, singles, doubles) in enumerate(spec["stages"]):
        for block in range(singles + doubles):
            strides = 2 if stage > 0 and block == 0 else 1
            name = f"stage{stage}_block{block}"
            if block < singles:
                x = BlazeBlock(filters, strides, name=name)(x)
            else:
                x = DoubleBlazeBlock(filters, max(filters // 4, 8), strides, name=name)(x)
    return x


@keras.saving.register_keras_serializable(package="blazeforge")
class FlattenGrid(layers.Layer):
    """[B, H, W, C] (H, W, C known) -> [B, H * W * C], or [B, H * W * C / row, row] with `row`.

    One reshape to a constant shape ([-1, H*W*C] or [-1, H*W*C/row, row]): Keras' Flatten and
    Reshape read the batch size from the tensor at run time, which a TFLite export keeps as SHAPE,
    STRIDED_SLICE and PACK ops in front of the reshape, outside the XNNPack delegate; this one
    exports as a single RESHAPE that XNNPack runs. With `row`, an SSD head's [B, H, W, anchors *
    values] becomes MediaPipe's [B, H * W * anchors, values] (anchors in row-major cell order).

    Args:
        row: values per output row (None: flatten to one row per sample).
    """

    def __init__(self, row: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.row = None if row is None else int(row)

    def call(self, x):
        return ops.reshape(x, (-1, *self.compute_output_shape(x.shape)[1:]))

    def compute_output_shape(self, input_shape):
        if any(d is None for d in input_shape[1:]):
            raise ValueError(f"FlattenGrid needs known height, width and channels, got {tuple(input_shape)}")
        units = 1
        for d in input_shape[1:]:
            units *= int(d)
        if self.row is None:
            return (input_shape[0], units)
        if units % self.row:
            raise ValueError(f"FlattenGrid: {units} values do not split into rows of {self.row}")
        return (input_shape[0], units // self.row, self.row)

    def get_config(self):
        return {**super().get_config(), "row": self.row}


@keras.saving.register_keras_serializable(package="blazeforge")
class DepthToSpace(layers.Layer):
    """[B, H, W, C] -> [B, H * b, W * b, C / b^2], TensorFlow's depth_to_space (DCR order):
    output[i * b + di, j * b + dj, c] = input[i, j, (di * b + dj) * C / b^2 + c]."""

    def __init__(self, block_size: int, **kwargs):
        super().__init__(**kwargs)
        self.block_size = int(block_size)

    def call(self, x):
        _, h, w, c = x.shape
        b = self.block_size
        x = ops.reshape(x, (-1, h, w, b, b, c // (b * b)))
        x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
        return ops.reshape(x, (-1, h * b, w * b, c // (b * b)))

    def compute_output_shape(self, input_shape):
        b = self.block_size
        n, h, w, c = input_shape
        return (n, None if h is None else h * b, None if w is None else w * b, c // (b * b))

    def get_config(self):
        return {**super().get_config(), "block_size": self.block_size}


def landmark_regressor(size: int, width: str, points: int, heads: dict, name: str) -> keras.Model:
    """The landmark recipes' own model: `landmark_backbone` and dense heads on its flattened grid.

    Args:
        size: crop side S, pixels (a multiple of 32, at least 64).
        width: "full" or "lite".
        points: K; output "landmarks" [B, 3K] is x, y, z in crop pixels, starting at the crop centre.
        heads: {output name: activation or None}: one unit each, [B, 1] (a probability with
            "sigmoid", a logit with None).
        name: the model's name.

    A one-line BlazeforgeError for a size or width out of range.
    """
    from blazeforge.errors import BlazeforgeError

    if size % 32 or size < 64:
        raise BlazeforgeError("recipe.input_size", f"expected a multiple of 32, at least 64; got {size}")
    if width not in WIDTHS:
        raise BlazeforgeError("recipe.width", f"expected full | lite, got {width!r}")
    inputs = keras.Input((size, size, 3), name="image")
    features = FlattenGrid(name="flatten")(landmark_backbone(inputs, width))
    # Adam moves every weight by about the learning rate per step, so a dense head's outputs move
    # by about fan_in * lr * |feature|: scaling its inputs by 1/sqrt(fan_in) keeps early steps from
    # throwing the landmarks across the crop (the head's fan-in is thousands).
    features = layers.Rescaling(1.0 / math.sqrt(features.shape[-1]), name="head_scale")(features)
    # Every landmark starts at the crop centre: the head learns offsets from there.
    center = keras.initializers.Constant([0.5, 0.5, 0.0] * points)
    unit = layers.Dense(3 * points, kernel_initializer="zeros", bias_initializer=center, name="landmarks_unit")(
        features
    )
    outputs = {"landmarks": layers.Rescaling(float(size), name="landmarks")(unit)}
    for head, activation in heads.items():
        outputs[head] = layers.Dense(1, activation=activation, name=head)(features)
    return keras.Model(inputs, outputs, name=name)
