"""BlazeBlocks in compiled inference graphs."""

import numpy as np


def test_a_strided_widening_block_runs_compiled_and_pads_its_shortcut_with_zeros():
    """The shortcut in a compiled inference graph: the max-pool, then zero channels.

    (With norm=False and random weights, TensorFlow 2.20's grappler remapper, oneDNN's fusions,
    crashes this graph with a segfault; with norm=True, as every from-scratch model, it does not.)
    """
    import keras
    import tensorflow as tf

    from blazeforge.models.blaze import BlazeBlock

    inputs = keras.Input((32, 32, 24))
    block = BlazeBlock(48, 2, kernel_size=3, norm=True, activation="relu")
    model = keras.Model(inputs, block(inputs))
    block.pointwise.kernel.assign(np.zeros(block.pointwise.kernel.shape))  # BatchNorm of zeros: the shortcut alone
    x = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 24)).astype("float32")
    y = tf.function(lambda t: model(t, training=False))(x).numpy()
    pooled = x.reshape(2, 16, 2, 16, 2, 24).max(axis=(2, 4))
    np.testing.assert_allclose(y[..., :24], np.maximum(pooled, 0.0), atol=1e-6)
    assert y.shape == (2, 16, 16, 48) and not y[..., 24:].any()
