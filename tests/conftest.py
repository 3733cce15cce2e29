import os
import tempfile

import matplotlib
import numpy as np
import numpyro  # noqa: F401 - load numpyro before any test imports ArviZ (see bwestimators._arviz)
import pandas as pd
import pytest

matplotlib.use("Agg")
# The compile cache of the tests lives in the system's temporary folder, never in the user's
# home; it persists between runs on one machine, so a second run skips compilation.
os.environ.setdefault(
    "BWESTIMATORS_JAX_CACHE", os.path.join(tempfile.gettempdir(), "bwestimators-test-cache")
)

#: Sampler settings shared by the tests: few draws, one compiled program per model shape.
FAST = {"num_warmup": 300, "num_samples": 300, "num_chains": 2}


def simulate_nested(
    n_groups=6,
    slopes=(0.5, 1.0, -0.3),
    n_rep=10,
    group_sd=0.5,
    noise=0.5,
    intercept=1.0,
    random_state=0,
):
    """Gaussian data with known slopes per condition and group intercepts."""
    rng = np.random.default_rng(random_state)
    a_group = rng.normal(0, group_sd, n_groups)
    rows = []
    for g in range(n_groups):
        for c, slope in enumerate(slopes):
            for t in (0, 1):
                for r in range(n_rep):
                    mu = intercept + a_group[g] + 0.2 * c + slope * t
                    rows.append((f"m{g}", f"c{c}", t, r, mu))
    df = pd.DataFrame(rows, columns=["mouse id", "brain region", "stim", "trial", "mu"])
    df["y value"] = df["mu"] + rng.normal(0, noise, len(df))
    return df, a_group


@pytest.fixture(scope="session")
def lfp_small():
    from bwestimators.datasets import generate_fake_lfp

    return generate_fake_lfp(mouse_response_slope=9, n_trials=8, random_state=0).df
