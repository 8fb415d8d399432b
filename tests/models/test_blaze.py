"""BlazeBlocks in compiled inference graphs."""

import numpy as np


def test_a_strided_widening_block_without_norm_runs_compiled_and_pads_its_shortcut_with_zeros():
    """Its shortcut once crashed TensorFlow's oneDNN inference graph (ops.pad after a max-pool)."""
    import keras
    import tensorflow as tf

    from blazeforge.models.blaze import BlazeBlock

    inputs = keras.Input((32, 32, 24))
    block = BlazeBlock(48, 2, kernel_size=3, norm=False, activation="relu")
    model = keras.Model(inputs, block(inputs))
    block.pointwise.kernel.assign(np.zeros(block.pointwise.kernel.shape))
    block.pointwise.bias.assign(np.zeros(block.pointwise.bias.shape))  # the output is the shortcut alone
    x = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 24)).astype("float32")
    y = tf.function(lambda t: model(t, training=False))(x).numpy()
    pooled = x.reshape(2, 16, 2, 16, 2, 24).max(axis=(2, 4))
    np.testing.assert_allclose(y[..., :24], np.maximum(pooled, 0.0), atol=1e-6)
    assert y.shape == (2, 16, 16, 48) and not y[..., 24:].any()
