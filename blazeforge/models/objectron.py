"""Objectron's single-stage 3D box detector (arXiv:2003.03522 and 2012.09988) in Keras 3.

A MobileNetV2 encoder (`mobilenet.mobilenet_trunk`: inverted residual blocks down to 1/32 of the
input) and a decoder that upsamples back to 1/16, each step adding the encoder's map of that scale
through a 1x1 projection, then three heads on the 1/16 grid (40 x 30 cells for the published
640 x 480 input):
- heatmap [B, H/16, W/16, 1]: the centroid belief, a sigmoid probability;
- offsets [B, H/16, W/16, 16]: for each of the 8 vertices its projected x and y minus the cell's,
  in units of the grid's short side (`geometry.cuboid_decoding`);
- segmentation [B, H/8, W/8, 1]: the objects' mask, a sigmoid probability, one step further up.

Input float32 [B, H, W, 3] in [0, 1] (H and W multiples of 32). `width` scales every layer's
channels (1.0: MobileNetV2's).
"""

from __future__ import annotations

import keras
from keras import layers

from blazeforge.models.mobilenet import InvertedResidual, mobilenet_trunk

# (expand, filters, kernel, stride): MobileNetV2's stages at 1/4, 1/8, 1/16 and 1/32.
BLOCKS = (
    (96, 24, 3, 2), (144, 24, 3, 1),
    (144, 32, 3, 2), (192, 32, 3, 1), (192, 32, 3, 1),
    (192, 64, 3, 2), (384, 64, 3, 1), (384, 64, 3, 1), (384, 96, 3, 1), (576, 96, 3, 1),
    (576, 160, 3, 2), (960, 160, 3, 1), (960, 160, 3, 1),
)  # fmt: skip
STRIDE = 16
"""The heatmap's and offsets' cell size, input pixels."""


def _scaled(channels: int, width: float) -> int:
    return max(8, int(round(channels * width / 8)) * 8)


def objectron_model(height: int, width_px: int, width: float = 1.0, norm: bool = True) -> keras.Model:
    """The single-stage model for [B, height, width_px, 3] inputs; outputs a dict (see the module docstring)."""
    inputs = keras.Input((height, width_px, 3), name="image")
    x = layers.Rescaling(2.0, offset=-1.0, name="to_signed")(inputs)  # [-1, 1], the published input range
    blocks = [(_scaled(e, width), _scaled(f, width), k, s) for e, f, k, s in BLOCKS]
    features = mobilenet_trunk(x, blocks, norm=norm)
    by_stride, stride = {}, 2
    for block, (_, _, _, s) in zip(features[1:], blocks):
        stride *= s
        by_stride[stride] = block  # the last block of each scale
    channels = _scaled(128, width)

    def fuse(x, skip, name):
        x = layers.UpSampling2D(2, interpolation="bilinear", name=f"{name}_up")(x)
        skip = layers.Conv2D(channels, 1, use_bias=False, name=f"{name}_skip")(skip)
        x = layers.Add(name=f"{name}_add")([x, skip])
        return InvertedResidual(channels * 2, channels, 3, norm=norm, name=f"{name}_block")(x)

    x = layers.Conv2D(channels, 1, use_bias=False, name="decoder32")(by_stride[32])
    x = fuse(x, by_stride[16], "decoder16")
    x = InvertedResidual(channels * 2, channels, 5, norm=norm, name="decoder16_context")(x)
    heatmap = layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="heatmap")(x)
    offsets = layers.Conv2D(16, 3, padding="same", name="offsets")(x)
    seg = fuse(x, by_stride[8], "decoder8")
    segmentation = layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="segmentation")(seg)
    outputs = {"heatmap": heatmap, "offsets": offsets, "segmentation": segmentation}
    return keras.Model(inputs, outputs, name=f"objectron_{height}x{width_px}")
