"""BlazePose's person detector (pose_detection, arXiv:2006.10204) as Keras layers.

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
"""

from __future__ import annotations

import keras
from keras import layers

from blazeforge.models.blaze import BlazeBlock, DepthToSpace, FlattenGrid
from blazeforge.models.hand_landmark import BLOCKS
from blazeforge.models.mobilenet import mobilenet_trunk

OUTPUTS = ("regressors", "classificators")


def _lateral(x, filters: int, name: str):
    """An encoder map projected for the decoder: depthwise 3x3 (linear), 1x1 + ReLU6."""
    x = layers.DepthwiseConv2D(3, padding="same", name=f"{name}_depthwise")(x)
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
    skip28 = _lateral(trunk[4], 96, "lateral28")     # 28x28x40 -> 96
    skip14 = _lateral(trunk[10], 192, "lateral14")   # 14x14x112 -> 192
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
            _head(fine, anchors, f"classifier_{cells}"))
        regressors[cells] = FlattenGrid(row=12, name=f"regressor_{cells}_anchors")(
            _head(fine, anchors * 12, f"regressor_{cells}"))
    order = sorted(regressors, reverse=True)  # anchors: stride 8 (28x28) first
    return keras.Model(inputs, [layers.Concatenate(axis=1, name="regressors")([regressors[c] for c in order]),
                                layers.Concatenate(axis=1, name="classificators")([classificators[c] for c in order])],
                       name="pose_detection")
