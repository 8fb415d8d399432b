"""BlazePalm, MediaPipe's palm detector (palm_detection_full / _lite, arXiv:2006.10214), as Keras layers.

An encoder of 5x5 BlazeBlocks with PReLU from 96x96 down to 6x6 at 192, then an FPN-like decoder:
the 6x6 map is upsampled (bilinear) to 12x12, projected by a 1x1 convolution + PReLU, added to the
encoder's 12x12 map and refined by two blocks; the same again to 24x24. SSD heads read the 24x24
(2 anchors a cell, first in the anchor order) and 12x12 (6 anchors) maps. Outputs, in the
published file's order and layout:
- "regressors" [B, 2016, 18]: per anchor dx, dy, w, h of the palm box and (dx, dy) of 7 palm
  keypoints, in input pixels relative to the anchor (`geometry.detections.decode`);
- "classificators" [B, 2016, 1]: logits of a palm at each anchor.

Input: float32 [B, 192, 192, 3] RGB in [0, 1].
"""

from __future__ import annotations

import keras
from keras import layers

from blazeforge.models.blaze import BlazeBlock
from blazeforge.models.blazeface import ssd_heads

# Encoder stages: (channels, blocks after the stage's first, strided block); the first stage has
# no strided block (the stem halves the input). Full and lite differ in blocks per stage.
ENCODER = {
    "full": ((32, 4), (64, 4), (128, 4), (256, 4), (256, 4)),
    "lite": ((32, 3), (64, 3), (128, 3), (256, 3), (256, 3)),
}
OUTPUTS = ("regressors", "classificators")


def _block(x, filters, stride, name, norm):
    return BlazeBlock(filters, stride, kernel_size=5, norm=norm, activation="prelu", name=name)(x)


def _prelu_conv(x, filters, name, norm, kernel_size=1, strides=1):
    """Convolution (+ BatchNorm when training from scratch) + PReLU."""
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding="same", use_bias=not norm, name=name)(x)
    if norm:
        x = layers.BatchNormalization(momentum=0.9, name=f"{name}_norm")(x)
    return layers.PReLU(shared_axes=[1, 2], name=f"{name}_prelu")(x)


def blazepalm_model(
    variant: str = "full", input_size: int = 192, decoder: str = "fpn", regressor_scale: float = 1.0, norm: bool = False
) -> keras.Model:
    """The published palm detector: 2016 anchors at 192x192; `variant` is "full" or "lite".

    decoder="none" is the ablation without the decoder: the SSD heads read the encoder's own 24x24
    and 12x12 maps (the 6x6 stage, which only feeds the decoder, is left out); same anchors, same
    outputs. regressor_scale: see `blazeface.ssd_heads` (1 for the published weights).
    norm=True puts BatchNorm after every convolution but the heads, for training from scratch (the
    published file has it folded into the biases: norm=False imports it; a converter folds ours).
    """
    if variant not in ENCODER:
        raise ValueError(f"palm detection variant must be one of {sorted(ENCODER)}, got {variant!r}")
    if decoder not in ("fpn", "none"):
        raise ValueError(f"palm detection decoder must be fpn or none, got {decoder!r}")
    inputs = keras.Input((input_size, input_size, 3), name="image")
    x = _prelu_conv(inputs, 32, "stem", norm, kernel_size=5, strides=2)
    skips = []
    stages = ENCODER[variant] if decoder == "fpn" else ENCODER[variant][:-1]
    for stage, (filters, blocks) in enumerate(stages):
        if stage:
            skips.append(x)
            x = _block(x, filters, 2, f"stage{stage}_down", norm)
        for i in range(blocks):
            x = _block(x, filters, 1, f"stage{stage}_block{i}", norm)
    if decoder == "none":
        regressors, classificators = ssd_heads(
            [x, skips[-1]], [6, 2], 18, anchor_order=[1, 0], regressor_scale=regressor_scale
        )
        return keras.Model(inputs, [regressors, classificators], name=f"palm_detection_{variant}_nodecoder")
    features = []
    for skip, filters in ((skips[-1], 256), (skips[-2], 128)):
        size = skip.shape[1]
        x = layers.UpSampling2D(2, interpolation="bilinear", name=f"fpn{size}_up")(x)
        x = layers.Add(name=f"fpn{size}_add")([skip, _prelu_conv(x, filters, f"fpn{size}_project", norm)])
        for i in range(2):
            x = _block(x, filters, 1, f"fpn{size}_block{i}", norm)
        features.append(x)
    regressors, classificators = ssd_heads(
        features,
        [6, 2],
        18,
        anchor_order=[1, 0],  # stride 8 first
        regressor_scale=regressor_scale,
    )
    return keras.Model(inputs, [regressors, classificators], name=f"palm_detection_{variant}")
