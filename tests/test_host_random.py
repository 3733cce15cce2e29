import numpy as np
import pytest


@pytest.mark.parametrize("partitionable", [True, False])
def test_split_is_jax_split_in_both_modes(partitionable):
    """numpy's keys are jax's ``split(key, num)``, bit for bit, for any key."""
    import jax

    from bwestimators import _host_random

    keys = np.array([[0, 0], [7, 123], [2**32 - 1, 2**31 + 5]], dtype=np.uint32)
    previous = jax.config.jax_threefry_partitionable
    jax.config.update("jax_threefry_partitionable", partitionable)
    try:
        for num in (1, 2, 3, 8):
            want = np.stack([np.asarray(jax.random.split(k, num)) for k in keys])
            got = _host_random.split(keys, num, partitionable)
            assert got.dtype == np.uint32
            np.testing.assert_array_equal(got, want)
    finally:
        jax.config.update("jax_threefry_partitionable", previous)


def test_uniform_is_jax_uniform():
    """numpy's uniform numbers are jax's (default mode), in [minval, maxval)."""
    import jax

    from bwestimators import _host_random

    keys = np.array([[0, 1], [99, 2**32 - 7]], dtype=np.uint32)
    previous = jax.config.jax_threefry_partitionable
    jax.config.update("jax_threefry_partitionable", True)
    try:
        got = _host_random.uniform(keys, 1000, -2.0, 2.0)
        for k, row in zip(keys, got, strict=True):
            want = np.asarray(jax.random.uniform(k, (1000,), minval=-2.0, maxval=2.0))
            np.testing.assert_array_equal(row, want)
    finally:
        jax.config.update("jax_threefry_partitionable", previous)
    assert got.dtype == np.float32 and got.min() >= -2 and got.max() < 2
    # uniform: the mean and variance of U(-2, 2) (0 and 4/3), within 4.5 standard errors
    assert abs(got.mean()) < 4.5 * np.sqrt(4 / 3 / got.size)
    assert abs(got.var() - 4 / 3) < 4.5 * np.sqrt((16 / 5 - 16 / 9) / got.size)
