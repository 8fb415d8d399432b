"""MediaPipe's hand landmark models (hand_landmark_full, hand_landmark_lite) as Keras layers.

A MobileNetV2-like trunk of inverted residual blocks (ReLU6) down to 7x7 at 224, a last 1x1
expansion and depthwise convolution, global average pooling, then four dense heads. Outputs, in
the published file's order:
- "landmarks" [B, 63]: x, y, z of the 21 keypoints in pixels of the input crop;
- "presence" [B, 1]: hand flag, a probability (sigmoid inside the model);
- "handedness" [B, 1]: probability of a right hand (MediaPipe assumes a mirrored, selfie image);
- "world_landmarks" [B, 63]: metric 3D keypoints in metres, origin at the hand's centre.

Input: float32 [B, 224, 224, 3] RGB in [0, 1] (any multiple of 32 builds; the weights are 224's).

Example:
    >>> model = hand_landmark_model("full")
    >>> blazeforge.zoo.load_tflite_weights(model, blazeforge.zoo.tflite_path("hand_landmark_full"))
"""

from __future__ import annotations

import keras
from keras import layers

from blazeforge.models.mobilenet import mobilenet_trunk

# (expand, filters, kernel, stride) of each inverted residual block after the stem, read off the
# published graphs; then the tail's expansion channels.
BLOCKS = {
    "full": (
        (64, 24, 3, 2),
        (144, 24, 3, 1),
        (144, 40, 5, 2),
        (240, 40, 5, 1),
        (240, 80, 3, 2),
        (480, 80, 3, 1),
        (480, 80, 3, 1),
        (480, 112, 5, 1),
        (672, 112, 5, 1),
        (672, 112, 5, 1),
        (672, 192, 5, 2),
        (1152, 192, 5, 1),
        (1152, 192, 5, 1),
        (1152, 192, 5, 1),
    ),
    "lite": (
        (64, 16, 3, 2),
        (96, 16, 3, 1),
        (96, 24, 5, 2),
        (144, 24, 5, 1),
        (144, 48, 3, 2),
        (288, 48, 3, 1),
        (288, 48, 3, 1),
        (288, 64, 5, 1),
        (384, 64, 5, 1),
        (384, 64, 5, 1),
        (384, 112, 5, 2),
        (672, 112, 5, 1),
        (672, 112, 5, 1),
        (672, 112, 5, 1),
    ),
}
TAIL = {"full": 1152, "lite": 672}
OUTPUTS = ("landmarks", "presence", "handedness", "world_landmarks")


def hand_landmark_model(variant: str = "full", input_size: int = 224) -> keras.Model:
    """The published hand landmark architecture; `variant` is "full" or "lite"."""
    if variant not in BLOCKS:
        raise ValueError(f"hand landmark variant must be one of {sorted(BLOCKS)}, got {variant!r}")
    inputs = keras.Input((input_size, input_size, 3), name="image")
    x = mobilenet_trunk(inputs, BLOCKS[variant])[-1]
    x = layers.Conv2D(TAIL[variant], 1, activation="relu6", name="tail_expand")(x)
    x = layers.DepthwiseConv2D(3, padding="same", activation="relu6", name="tail_depthwise")(x)
    features = layers.GlobalAveragePooling2D(name="pool")(x)
    landmarks = layers.Dense(63, name="landmarks")(features)
    presence = layers.Dense(1, activation="sigmoid", name="presence")(features)
    handedness = layers.Dense(1, activation="sigmoid", name="handedness")(features)
    world = layers.Dense(63, name="world_landmarks")(features)
    return keras.Model(inputs, [landmarks, presence, handedness, world], name=f"hand_landmark_{variant}")
