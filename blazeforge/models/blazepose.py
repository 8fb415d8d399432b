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


def _head(x, outputs: int, name: str):
    """Depth-to-space x2, pad 1, depthwise 3x3 stride 2 (valid), 1x1 to `outputs` channels."""
    x = layers.ZeroPadding2D(1, name=f"{name}_pad")(x)
    x = layers.DepthwiseConv2D(3, strides=2, padding="valid", name=f"{name}_depthwise")(x)
    return layers.Conv2D(outputs, 1, name=name)(x)


def pose_detection_model(input_size: int = 224) -> keras.Model:
    """The published pose_detection architecture: 2254 anchors at 224x224."""
    inputs = keras.Input((input_size, input_size, 3), name="image")
    trunk = mobilenet_trunk(inputs, BLOCKS["full"], symmetric_pad=True)
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
            _head(fine, anchors * 12, f"regressor_{cells}")
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


def pose_landmark_model(input_size: int = 256, stop_gradient: bool = True) -> keras.Model:
    """The published pose_landmark_full architecture: 39 landmarks, flag, mask, heatmaps at 256x256."""
    inputs = keras.Input((input_size, input_size, 3), name="image")
    trunk = mobilenet_trunk(inputs, POSE_LANDMARK_BLOCKS, symmetric_pad=True)
    laterals = {
        f: _lateral(trunk[i], w, f"lateral{trunk[i].shape[1]}", "relu6")
        for f, i, w in ((128, 0, 8), (64, 2, 48), (32, 4, 48), (16, 10, 48))
    }
    x = layers.Conv2D(864, 1, activation="relu6", name="tail_expand")(trunk[-1])
    features = layers.DepthwiseConv2D(3, padding="same", activation="relu6", name="tail_depthwise")(x)

    # Heatmap decoder: 8x8 -> 64x64, then the heatmaps and, on to 256x256, the segmentation.
    x = _lateral(features, 48, "decoder8", "relu6")
    for size in (16, 32, 64):
        x = layers.UpSampling2D(2, interpolation="bilinear", name=f"decoder{size}_up")(x)
        x = layers.Add(name=f"decoder{size}_add")([x, laterals[size]])
    heatmap = layers.Conv2D(39, 1, name="heatmap")(x)
    x = _lateral(x, 8, "segmentation64", "relu6")
    x = layers.UpSampling2D(2, interpolation="bilinear", name="segmentation128_up")(x)
    x = layers.Add(name="segmentation128_add")([x, laterals[128]])
    for size in (128, 256):
        if size == 256:
            x = layers.UpSampling2D(2, interpolation="bilinear", name="segmentation256_up")(x)
        for i in range(2):
            x = _relu6_block(x, 8, name=f"segmentation{size}_block{i}")
    segmentation = layers.Conv2D(1, 3, padding="same", name="segmentation")(x)

    # Regression encoder: 8x8 -> 2x2 BlazeBlocks, then one 2x2 valid convolution per output.
    x = StopGradient(name="stop_gradient")(features) if stop_gradient else features
    x = _lateral(x, 288, "regression8", "relu6")
    for stage, blocks in ((4, 5), (2, 6)):
        for i in range(blocks):
            x = _relu6_block(x, 288, 2 if i == 0 else 1, name=f"regression{stage}_block{i}")
    landmarks = FlattenGrid(name="landmarks")(layers.Conv2D(195, 2, name="landmarks_conv")(x))
    world = FlattenGrid(name="world_landmarks")(layers.Conv2D(117, 2, name="world_landmarks_conv")(x))
    flag = layers.Conv2D(1, 2, activation="sigmoid", name="pose_flag_conv")(x)
    flag = FlattenGrid(name="pose_flag")(flag)
    return keras.Model(inputs, [landmarks, flag, segmentation, heatmap, world], name="pose_landmark_full")
