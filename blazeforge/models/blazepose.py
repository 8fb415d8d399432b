"""BlazePose (arXiv:2006.10204): the person detector and the full landmark model, as Keras layers.

Detector (`pose_detection_model`):

The encoder is the hand landmark model's MobileNetV2-like trunk (`mobilenet_trunk`, symmetric
padding before strided convolutions) down to 7x7 at 224, ending in a 1x1 expansion to 1152 and a
3x3 depthwise convolution. The decoder climbs back to 28x28 as BlazePalm's does: bilinear
upsampling, a 1x1 projection (ReLU6), the sum with a projected encoder map (depthwise 3x3 then 1x1
+ ReLU6), two BlazeBlocks (ReLU6). Each SSD head reads a depth-to-space (x2) of its level through
a padded 3x3 depthwise convolution of stride 2, then a 1x1 convolution; the heads read the
28x28 (2 anchors a cell), 14x14 (2) and 7x7 (6) levels. Outputs, in the published file's order:
- "regressors" [B, 2254, 12]: per anchor dx, dy, w, h of the box and (dx, dy) of 4 keypoints
  (hip centre, a point on the circle around the body, shoulder centre, a point above the head),
  in input pixels relative to the anchor;
- "classificators" [B, 2254, 1]: logits of a person at each anchor.

Input: float32 [B, 224, 224, 3] RGB in [-1, 1].

Landmarks (`pose_landmark_model`, the file pose_landmark_full): a MobileNetV2-like encoder
down to 8x8 at 256; a heatmap decoder back to 64x64 (bilinear upsampling, sums with projected
encoder maps) that predicts heatmaps and, climbing on to 256x256, the person segmentation; and a
regression encoder on the 8x8 features (BlazeBlocks down to 2x2) whose 2x2 valid convolutions
predict the landmarks. The regression branch reads the encoder through a stop-gradient
(`stop_gradient=True`), as the paper trains it: heatmap supervision trains the encoder, the
regression loss only the branch (no operator in an export). Outputs, in the published file's order:
- "landmarks" [B, 195]: per each of 33 + 6 landmarks (33 body points, 2 for the next frame's ROI,
  4 auxiliary) x, y, z in pixels of the 256x256 crop, then visibility and presence logits;
- "pose_flag" [B, 1]: probability that a person fills the crop (sigmoid inside the model);
- "segmentation" [B, 256, 256, 1]: logits of the person mask;
- "heatmap" [B, 64, 64, 39]: one heatmap per landmark;
- "world_landmarks" [B, 117]: x, y, z of the 39 landmarks in metres, origin at the hips' centre.

Input: float32 [B, 256, 256, 3] RGB in [0, 1].
"""

from __future__ import annotations

import math

import keras
from keras import layers, ops

from blazeforge.models.blaze import BlazeBlock, DepthToSpace, FlattenGrid
from blazeforge.models.hand_landmark import BLOCKS
from blazeforge.models.mobilenet import mobilenet_trunk

OUTPUTS = ("regressors", "classificators")


def _lateral(x, filters: int, name: str, depthwise_activation: str | None = None):
    """An encoder map projected for the decoder: depthwise 3x3 (linear or ReLU6), 1x1 + ReLU6."""
    x = layers.DepthwiseConv2D(3, padding="same", activation=depthwise_activation, name=f"{name}_depthwise")(x)
    return layers.Conv2D(filters, 1, activation="relu6", name=f"{name}_project")(x)


def _head(x, outputs: int, name: str, scale: float = 1.0):
    """Pad 1, depthwise 3x3 stride 2 (valid), 1x1 to `outputs` channels (times `scale` when it is
    not 1)."""
    x = layers.ZeroPadding2D(1, name=f"{name}_pad")(x)
    x = layers.DepthwiseConv2D(3, strides=2, padding="valid", name=f"{name}_depthwise")(x)
    x = layers.Conv2D(outputs, 1, name=name)(x)
    return x if scale == 1.0 else layers.Rescaling(scale, name=f"{name}_scale")(x)


def pose_detection_model(input_size: int = 224, regressor_scale: float = 1.0, norm: bool = False) -> keras.Model:
    """The published pose_detection architecture: 2254 anchors at 224x224.

    regressor_scale: a constant the regressor heads' outputs are multiplied by (1: none, as
    published; `models.blazeface.ssd_heads` says why training from scratch wants more). norm:
    BatchNorm in the encoder (training from scratch, `models.mobilenet`; the published file has
    none).
    """
    inputs = keras.Input((input_size, input_size, 3), name="image")
    trunk = mobilenet_trunk(inputs, BLOCKS["full"], symmetric_pad=True, norm=norm)
    # The lateral maps are computed where the encoder passes their level, as in the published graph.
    skip28 = _lateral(trunk[4], 96, "lateral28")  # 28x28x40 -> 96
    skip14 = _lateral(trunk[10], 192, "lateral14")  # 14x14x112 -> 192
    x = layers.Conv2D(1152, 1, activation="relu6", name="tail_expand")(trunk[-1])
    x = layers.DepthwiseConv2D(3, padding="same", activation="relu6", name="tail_depthwise")(x)
    levels = [x]
    for skip, filters in ((skip14, 192), (skip28, 96)):
        size = skip.shape[1]
        up = layers.UpSampling2D(2, interpolation="bilinear", name=f"fpn{size}_up")(x)
        up = layers.Conv2D(filters, 1, activation="relu6", name=f"fpn{size}_project")(up)
        x = layers.Add(name=f"fpn{size}_add")([skip, up])
        for i in range(2):
            x = BlazeBlock(filters, 1, kernel_size=3, norm=False, activation="relu6", name=f"fpn{size}_block{i}")(x)
        levels.append(x)
    regressors, classificators = {}, {}
    for level, anchors in zip(levels, (6, 2, 2)):
        cells = level.shape[1]
        fine = DepthToSpace(2, name=f"level{cells}_d2s")(level)
        classificators[cells] = FlattenGrid(row=1, name=f"classifier_{cells}_anchors")(
            _head(fine, anchors, f"classifier_{cells}")
        )
        regressors[cells] = FlattenGrid(row=12, name=f"regressor_{cells}_anchors")(
            _head(fine, anchors * 12, f"regressor_{cells}", regressor_scale)
        )
    order = sorted(regressors, reverse=True)  # anchors: stride 8 (28x28) first
    return keras.Model(
        inputs,
        [
            layers.Concatenate(axis=1, name="regressors")([regressors[c] for c in order]),
            layers.Concatenate(axis=1, name="classificators")([classificators[c] for c in order]),
        ],
        name="pose_detection",
    )


# The landmark model's encoder blocks (expand, filters, kernel, stride) after the stem's block.
POSE_LANDMARK_BLOCKS = (
    (64, 24, 3, 2),
    (144, 24, 3, 1),
    (144, 32, 5, 2),
    (192, 32, 5, 1),
    (192, 64, 3, 2),
    (384, 64, 3, 1),
    (384, 64, 3, 1),
    (384, 88, 5, 1),
    (528, 88, 5, 1),
    (528, 88, 5, 1),
    (528, 144, 5, 2),
    (864, 144, 5, 1),
    (864, 144, 5, 1),
    (864, 144, 5, 1),
)
POSE_LANDMARK_OUTPUTS = ("landmarks", "pose_flag", "segmentation", "heatmap", "world_landmarks")


@keras.saving.register_keras_serializable(package="blazeforge")
class StopGradient(layers.Layer):
    """Identity forward, no gradient backward (`keras.ops.stop_gradient`)."""

    def call(self, x):
        return ops.stop_gradient(x)


def _relu6_block(x, filters: int, strides: int = 1, name: str = ""):
    return BlazeBlock(
        filters, strides, kernel_size=3, norm=False, activation="relu6", activate_depthwise=True, name=name
    )(x)


def _scaled(channels: int, width: float) -> int:
    """channels x width, rounded to a multiple of 8 (at least 8)."""
    return channels if width == 1.0 else max(8, int(round(channels * width / 8)) * 8)


def pose_landmark_model(
    input_size: int = 256,
    stop_gradient: bool = True,
    width: float = 1.0,
    offsets: bool = False,
    crop_units: bool = False,
    norm: bool = False,
    regression_skips: bool = False,
) -> keras.Model:
    """The published pose_landmark_full architecture: 39 landmarks, flag, mask, heatmaps at 256x256.

    Args:
        input_size: crop side S, a multiple of 32 (256 published); heatmaps are S/4, the mask S.
        stop_gradient: the regression branch reads the encoder through a stop-gradient.
        width: channel multiplier of the encoder, decoder and regression branch (1.0 published;
            blazeforge's `lite` is 0.5, not MediaPipe's pose_landmark_lite, whose file the wheel lacks).
        offsets: also an "offsets" output [B, S/4, S/4, 78]: per landmark the (dx, dy) from each
            heatmap cell to the point, in cells (the paper's offset supervision; training only,
            the runtime reads no such output).
        crop_units: for training from scratch: the landmark convolution reads its features scaled
            by 1/sqrt(fan-in), starts every point at the crop centre and predicts units of the
            crop, which a Rescaling turns into pixels (x, y, z times S; the logits as they are), so
            early Adam steps move points by a little of the crop, not by hundreds of pixels. The
            outputs keep the published layout and units.
        norm: BatchNorm in the encoder (training from scratch, `models.mobilenet`; the published
            file has none).
        regression_skips: the paper's Figure 4 (not the published file, whose regression branch
            reads the S/32 features only): the regression encoder starts from the decoder's S/4
            map and climbs down through a 1x1 widening and a stride-2 BlazeBlock per step, adding at S/8 and S/16 the
            decoder's maps and at S/32 the encoder's features, each projected and (with
            `stop_gradient`) behind its own stop-gradient; from there it runs as published.
    """
    w = lambda c: _scaled(c, float(width))  # noqa: E731
    inputs = keras.Input((input_size, input_size, 3), name="image")
    blocks = [(w(e), w(f), k, st) for e, f, k, st in POSE_LANDMARK_BLOCKS]
    trunk = mobilenet_trunk(inputs, blocks, symmetric_pad=True, norm=norm)
    laterals = {
        f: _lateral(trunk[i], w(c), f"lateral{trunk[i].shape[1]}", "relu6")
        for f, i, c in (
            (input_size // 2, 0, 8),
            (input_size // 4, 2, 48),
            (input_size // 8, 4, 48),
            (input_size // 16, 10, 48),
        )
    }
    x = layers.Conv2D(w(864), 1, activation="relu6", name="tail_expand")(trunk[-1])
    features = layers.DepthwiseConv2D(3, padding="same", activation="relu6", name="tail_depthwise")(x)

    # Heatmap decoder: S/32 -> S/4, then the heatmaps and, on to S, the segmentation.
    x = _lateral(features, w(48), "decoder8", "relu6")
    decoded = {}  # the decoder's maps by side: the regression's skips
    for size in (input_size // 16, input_size // 8, input_size // 4):
        x = layers.UpSampling2D(2, interpolation="bilinear", name=f"decoder{size}_up")(x)
        x = layers.Add(name=f"decoder{size}_add")([x, laterals[size]])
        decoded[size] = x
    heatmap = layers.Conv2D(39, 1, name="heatmap")(x)
    offset = layers.Conv2D(78, 1, name="offsets")(x) if offsets else None
    x = _lateral(x, w(8), "segmentation64", "relu6")
    x = layers.UpSampling2D(2, interpolation="bilinear", name="segmentation128_up")(x)
    x = layers.Add(name="segmentation128_add")([x, laterals[input_size // 2]])
    for size in (128, 256):
        if size == 256:
            x = layers.UpSampling2D(2, interpolation="bilinear", name="segmentation256_up")(x)
        for i in range(2):
            x = _relu6_block(x, w(8), name=f"segmentation{size}_block{i}")
    segmentation = layers.Conv2D(1, 3, padding="same", name="segmentation")(x)

    # Regression encoder: S/32 -> S/128 BlazeBlocks, then one valid convolution per output.
    guard = lambda t, name: StopGradient(name=name)(t) if stop_gradient else t  # noqa: E731
    x = _lateral(guard(features, "stop_gradient"), w(288), "regression8", "relu6")
    if regression_skips:
        skip = guard(decoded[input_size // 4], f"stop_gradient_skip{input_size // 4}")
        for size, channels in ((input_size // 8, 96), (input_size // 16, 192), (input_size // 32, 288)):
            # widened by a learnt 1x1 projection, not by the strided block's zero-padded shortcut (without
            # BatchNorm, a widening block at random init segfaults TensorFlow's remapper: models.blaze)
            skip = layers.Conv2D(w(channels), 1, activation="relu6", name=f"regression_skip{size}_widen")(skip)
            skip = _relu6_block(skip, w(channels), 2, name=f"regression_skip{size}_down")
            if size == input_size // 32:
                beside = x
            else:
                beside = guard(decoded[size], f"stop_gradient_skip{size}")
                beside = _lateral(beside, w(channels), f"regression_skip{size}", "relu6")
            skip = layers.Add(name=f"regression_skip{size}_add")([skip, beside])
        x = skip
    for stage, blocks in ((4, 5), (2, 6)):
        for i in range(blocks):
            x = _relu6_block(x, w(288), 2 if i == 0 else 1, name=f"regression{stage}_block{i}")
    grid = x.shape[1]
    if crop_units:
        fan_in = grid * grid * x.shape[-1]
        scaled = layers.Rescaling(1.0 / math.sqrt(fan_in), name="landmarks_head_scale")(x)
        start = keras.initializers.Constant([0.5, 0.5, 0.0, 0.0, 0.0] * 39)
        unit = layers.Conv2D(195, grid, kernel_initializer="zeros", bias_initializer=start, name="landmarks_conv")(
            scaled
        )
        size = float(input_size)
        landmarks = layers.Rescaling([size, size, size, 1.0, 1.0] * 39, name="landmarks_pixels")(unit)
        landmarks = FlattenGrid(name="landmarks")(landmarks)
    else:
        landmarks = FlattenGrid(name="landmarks")(layers.Conv2D(195, grid, name="landmarks_conv")(x))
    world = FlattenGrid(name="world_landmarks")(layers.Conv2D(117, grid, name="world_landmarks_conv")(x))
    flag = layers.Conv2D(1, grid, activation="sigmoid", name="pose_flag_conv")(x)
    flag = FlattenGrid(name="pose_flag")(flag)
    outputs = [landmarks, flag, segmentation, heatmap, world] + ([offset] if offsets else [])
    return keras.Model(inputs, outputs, name="pose_landmark_full")
