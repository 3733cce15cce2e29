import subprocess
import sys

import pytest


def test_arviz_imported_before_numpyro_does_not_break_numpyro():
    """ArviZ loads numpyro lazily; the library mends numpyro's lost submodule attributes."""
    code = (
        "import arviz\n"
        "from bwestimators import inference\n"
        "import numpyro\n"
        "assert hasattr(numpyro.distributions, 'distribution')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("seed", [0, 1, 123_456_789, 2**31 - 2, 2**31, -5])
def test_host_prng_key_is_jax_key(seed):
    """The key made on the host (no compile) is jax's, and other seeds go to jax."""
    import jax
    import numpy as np

    from bwestimators.inference import _prng_key

    np.testing.assert_array_equal(np.asarray(_prng_key(seed)), np.asarray(jax.random.PRNGKey(seed)))
