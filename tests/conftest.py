import importlib.util
import os
import sys
import tempfile
from pathlib import Path

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


def load_benchmark(name):
    """A script of ``benchmarks/`` (not a package) imported as a module, once per session."""
    module_name = f"_bwestimators_benchmarks_{name}"
    if module_name not in sys.modules:
        path = Path(__file__).parent.parent / "benchmarks" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return sys.modules[module_name]


#: Prelude of the subprocess scripts that run a tiny sampler against a fresh compile cache:
#: ``inference``, ``slope_model``, the cache ``root``, a 4-cell ``cfg``/``data`` and sampler ``kw``.
TINY_SAMPLER_SCRIPT = """
import os, sys, warnings
from pathlib import Path
import numpy as np
from bwestimators import inference
from bwestimators.models import slope_model, SlopeConfig
root = Path(os.environ["BWESTIMATORS_JAX_CACHE"])
cfg = SlopeConfig("normal", 0, 0, 0, False, False, False, False, False, "partial", ())
data = dict(t=np.r_[0, 1, 0, 1.0].astype("f4"), g=np.zeros(4, "i4"), g2=np.zeros(4, "i4"),
            c=np.zeros(4, "i4"), n=np.full(4, 3, "f4"), ybar=np.r_[0, 1, 0.1, 0.9].astype("f4"),
            ss=np.ones(4, "f4"), alpha_loc=np.float32(0), alpha_scale=np.float32(2.5),
            beta_scale=np.float32(2.5), sd_scale=np.float32(1), resid_scale=np.float32(1),
            log_var_ref=np.float32(0))
kw = dict(num_warmup=20, num_samples=20, num_chains=1, target_accept_prob=0.8, max_tree_depth=4)
"""
