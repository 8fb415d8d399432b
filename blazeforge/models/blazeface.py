"""BlazeFace (arXiv:1907.05047), the short-range face detector MediaPipe publishes, as Keras layers.

A 5x5 stem (stride 2) and a stack of single BlazeBlocks (3x3 depthwise in the published file)
down to 8x8 at 128, with SSD heads on the 16x16 (2 anchors a cell) and 8x8 (6 anchors) grids.
Outputs, in the published file's order and layout (a drop-in replacement for it):
- "regressors" [B, 896, 16]: per anchor dx, dy, w, h of the box and (dx, dy) of 6 keypoints, in
  input pixels relative to the anchor (decoded by `geometry.detections.decode`);
- "classificators" [B, 896, 1]: logits of a face at each anchor.

Input: float32 [B, 128, 128, 3] RGB in [-1, 1].
"""

from __future__ import annotations

import keras
from keras import layers

from blazeforge.models.blaze import BlazeBlock, FlattenGrid

# (filters, stride) of each BlazeBlock after the stem; the 16x16 head reads block 11, the 8x8 head
# the last one.
SHORT_RANGE_BLOCKS = ((24, 1), (28, 1), (32, 2), (36, 1), (42, 1), (48, 2), (56, 1), (64, 1), (72, 1),
                      (80, 1), (88, 1), (96, 2), (96, 1), (96, 1), (96, 1), (96, 1))
OUTPUTS = ("regressors", "classificators")


def ssd_heads(features: list, anchors_per_cell: list[int], values: int, anchor_order: list[int] | None = None):
    """1x1 convolution heads on each feature map, flattened to MediaPipe's anchor order and joined.

    Args:
        features: feature maps [B, H, W, C], in the order they are computed (the heads are built in
            that order, which is the order the importer pairs them with a published file's).
        anchors_per_cell: anchors per cell of each map.
        values: regressed values per anchor (4 box values + 2 per keypoint).
        anchor_order: the maps' order in the anchor list (default: as given; the anchors run from
            the finest stride to the coarsest).

    Returns (regressors [B, A, values], classificators [B, A, 1]) with A the sum over maps of
    H * W * anchors_per_cell.
    """
    regressors, scores = [], []
    for x, n in zip(features, anchors_per_cell):
        cells = x.shape[1]
        c = layers.Conv2D(n, 1, name=f"classifier_{cells}")(x)
        r = layers.Conv2D(n * values, 1, name=f"regressor_{cells}")(x)
        scores.append(FlattenGrid(row=1, name=f"classifier_{cells}_anchors")(c))
        regressors.append(FlattenGrid(row=values, name=f"regressor_{cells}_anchors")(r))
    order = range(len(features)) if anchor_order is None else anchor_order
    return (layers.Concatenate(axis=1, name="regressors")([regressors[i] for i in order]),
            layers.Concatenate(axis=1, name="classificators")([scores[i] for i in order]))


def blazeface_short_range_model(input_size: int = 128) -> keras.Model:
    """The published face_detection_short_range architecture: 896 anchors at 128x128."""
    inputs = keras.Input((input_size, input_size, 3), name="image")
    x = layers.Conv2D(24, 5, strides=2, padding="same", activation="relu", name="stem")(inputs)
    taps = []
    for i, (filters, stride) in enumerate(SHORT_RANGE_BLOCKS):
        x = BlazeBlock(filters, stride, kernel_size=3, norm=False, name=f"block{i}")(x)
        if i == 10:
            taps.append(x)
    taps.append(x)
    regressors, classificators = ssd_heads(taps, [2, 6], 16)
    return keras.Model(inputs, [regressors, classificators], name="face_detection_short_range")
