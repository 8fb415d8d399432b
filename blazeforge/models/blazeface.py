"""BlazeFace (arXiv:1907.05047), MediaPipe's short- and full-range face detectors, as Keras layers.

Short range (`blazeface_short_range_model`): a 5x5 stem (stride 2) and single BlazeBlocks (3x3
depthwise in the published file) down to 8x8 at 128, SSD heads on the 16x16 (2 anchors a cell)
and 8x8 (6 anchors) grids: 896 anchors. Full range (`blazeface_full_range_model`, the file
face_detection_full_range_sparse): double BlazeBlocks down to 6x6 at 192, an FPN-like decoder
back to 48x48 and one anchor per cell there: 2304 anchors.
Outputs, in the published files' order and layout (a drop-in replacement for them):
- "regressors" [B, A, 16]: per anchor dx, dy, w, h of the box and (dx, dy) of 6 keypoints, in
  input pixels relative to the anchor (decoded by `geometry.detections.decode`);
- "classificators" [B, A, 1]: logits of a face at each anchor.

Input: float32 [B, S, S, 3] RGB in [-1, 1], S = 128 (short range) or 192 (full range).
"""

from __future__ import annotations

import keras
from keras import layers

from blazeforge.models.blaze import BlazeBlock, DepthToSpace, DoubleBlazeBlock, FlattenGrid

# (filters, stride) of each BlazeBlock after the stem; the 16x16 head reads block 11, the 8x8 head
# the last one.
SHORT_RANGE_BLOCKS = (
    (24, 1),
    (28, 1),
    (32, 2),
    (36, 1),
    (42, 1),
    (48, 2),
    (56, 1),
    (64, 1),
    (72, 1),
    (80, 1),
    (88, 1),
    (96, 2),
    (96, 1),
    (96, 1),
    (96, 1),
    (96, 1),
)
OUTPUTS = ("regressors", "classificators")


def ssd_heads(
    features: list,
    anchors_per_cell: list[int],
    values: int,
    anchor_order: list[int] | None = None,
    regressor_scale: float = 1.0,
):
    """1x1 convolution heads on each feature map, flattened to MediaPipe's anchor order and joined.

    Args:
        features: feature maps [B, H, W, C], in the order they are computed (the heads are built in
            that order, which is the order the importer pairs them with a published file's).
        anchors_per_cell: anchors per cell of each map.
        values: regressed values per anchor (4 box values + 2 per keypoint).
        anchor_order: the maps' order in the anchor list (default: as given; the anchors run from
            the finest stride to the coarsest).
        regressor_scale: a constant the regressor convolutions' outputs are multiplied by (1: none,
            as published). Training from scratch uses about a palm's size in pixels, so that the
            heads' weights need not grow to reach pixel-sized offsets; an export keeps it as one MUL.

    Returns (regressors [B, A, values], classificators [B, A, 1]) with A the sum over maps of
    H * W * anchors_per_cell.
    """
    regressors, scores = [], []
    for x, n in zip(features, anchors_per_cell):
        cells = x.shape[1]
        c = layers.Conv2D(n, 1, name=f"classifier_{cells}")(x)
        r = layers.Conv2D(n * values, 1, name=f"regressor_{cells}")(x)
        if regressor_scale != 1.0:
            r = layers.Rescaling(regressor_scale, name=f"regressor_{cells}_scale")(r)
        scores.append(FlattenGrid(row=1, name=f"classifier_{cells}_anchors")(c))
        regressors.append(FlattenGrid(row=values, name=f"regressor_{cells}_anchors")(r))
    order = range(len(features)) if anchor_order is None else anchor_order
    return (
        layers.Concatenate(axis=1, name="regressors")([regressors[i] for i in order]),
        layers.Concatenate(axis=1, name="classificators")([scores[i] for i in order]),
    )


def _conv_relu(x, filters, kernel_size, strides, padding, norm, name):
    """Convolution + ReLU (+ BatchNorm before the ReLU when training from scratch)."""
    if not norm:
        return layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, activation="relu", name=name)(x)
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, use_bias=False, name=name)(x)
    x = layers.BatchNormalization(momentum=0.9, name=f"{name}_norm")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def blazeface_short_range_model(input_size: int = 128, norm: bool = False, regressor_scale: float = 1.0) -> keras.Model:
    """The published face_detection_short_range architecture: 896 anchors at 128x128.

    norm=True puts BatchNorm after the convolutions (training from scratch; the published file has
    it folded); regressor_scale: see `ssd_heads` (1 for the published weights).
    """
    inputs = keras.Input((input_size, input_size, 3), name="image")
    x = _conv_relu(inputs, 24, 5, 2, "same", norm, "stem")
    taps = []
    for i, (filters, stride) in enumerate(SHORT_RANGE_BLOCKS):
        x = BlazeBlock(filters, stride, kernel_size=3, norm=norm, name=f"block{i}")(x)
        if i == 10:
            taps.append(x)
    taps.append(x)
    regressors, classificators = ssd_heads(taps, [2, 6], 16, regressor_scale=regressor_scale)
    return keras.Model(inputs, [regressors, classificators], name="face_detection_short_range")


# Full range: (filters, bottleneck, residual blocks) per stage after the stem; every stage but the
# first opens with a strided, non-residual double block. The decoder's 1x1 widths and residual
# blocks per level (12, 24, 48), and the encoder stage each level adds (through a 1x1 + ReLU).
FULL_RANGE_STAGES = ((32, 8, 2), (64, 16, 2), (128, 32, 2), (192, 48, 2), (384, 96, 3))
FULL_RANGE_DECODER = ((96, 2, 3), (64, 2, 2), (48, 1, 1))


def _double(x, filters, bottleneck, strides=1, residual=True, norm=False, name=""):
    return DoubleBlazeBlock(
        filters, bottleneck, strides, kernel_size=3, norm=norm, residual=residual, symmetric_pad=True, name=name
    )(x)


def _full_range_head(x, anchors_values: int, name: str, scale: float = 1.0):
    """1x1 to 4x the outputs, pad 1, depthwise 3x3 stride 2, depth-to-space x2: back at x's grid
    (times `scale` when it is not 1)."""
    x = layers.Conv2D(4 * anchors_values, 1, name=name)(x)
    x = layers.ZeroPadding2D(1, name=f"{name}_pad")(x)
    x = layers.DepthwiseConv2D(3, strides=2, padding="valid", name=f"{name}_depthwise")(x)
    x = DepthToSpace(2, name=f"{name}_d2s")(x)
    return x if scale == 1.0 else layers.Rescaling(scale, name=f"{name}_scale")(x)


def blazeface_full_range_model(input_size: int = 192, norm: bool = False, regressor_scale: float = 1.0) -> keras.Model:
    """The published face_detection_full_range architecture: 2304 anchors at 192x192.

    norm and regressor_scale: as for `blazeface_short_range_model`.
    """
    inputs = keras.Input((input_size, input_size, 3), name="image")
    x = layers.ZeroPadding2D(1, name="stem_pad")(inputs)
    x = _conv_relu(x, 32, 3, 2, "valid", norm, "stem")
    stages = []
    for s, (filters, bottleneck, blocks) in enumerate(FULL_RANGE_STAGES):
        if s:
            x = _double(x, filters, bottleneck, 2, residual=False, norm=norm, name=f"stage{s}_down")
        for i in range(blocks):
            x = _double(x, filters, bottleneck, norm=norm, name=f"stage{s}_block{i}")
        stages.append(x)
    # The lateral 1x1s are computed as the encoder passes their level, as in the published graph.
    laterals = {
        stage: _conv_relu(stages[stage], filters, 1, 1, "valid", norm, f"lateral{stages[stage].shape[1]}")
        for filters, _, stage in FULL_RANGE_DECODER
    }
    for filters, blocks, stage in FULL_RANGE_DECODER:
        size = stages[stage].shape[1]
        x = _conv_relu(x, filters, 1, 1, "valid", norm, f"fpn{size}_project")
        x = layers.UpSampling2D(2, interpolation="bilinear", name=f"fpn{size}_up")(x)
        x = layers.Add(name=f"fpn{size}_add")([laterals[stage], x])
        for i in range(blocks):
            x = _double(x, filters, filters // 2, norm=norm, name=f"fpn{size}_block{i}")
    classificators = FlattenGrid(row=1, name="classificators")(_full_range_head(x, 1, "classifier"))
    regressors = FlattenGrid(row=16, name="regressors")(_full_range_head(x, 16, "regressor", regressor_scale))
    return keras.Model(inputs, [regressors, classificators], name="face_detection_full_range")
