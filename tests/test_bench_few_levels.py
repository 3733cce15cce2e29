"""benchmarks/bench_few_levels.py: its simulator's truth, and a tiny run."""

import numpy as np
import pytest
import statsmodels.formula.api as smf

from tests.conftest import load_benchmark

bench = load_benchmark("bench_few_levels")


def test_simulated_data_have_the_promised_shape_and_truth():
    rng = np.random.default_rng(0)
    effects, levels = [], set()
    for _ in range(200):
        df, n_group2 = bench.simulate(rng, effect=0.3)
        levels.add(n_group2)
        assert df["session"].nunique() == n_group2 and df["mouse"].nunique() == 8
        assert (df.groupby(["mouse", "session", "t"]).size() == 6).all()
        fit = smf.ols("y ~ C(mouse) + C(session) + t", df).fit()
        effects.append(fit.params["t"])
    assert levels == {2, 3}
    # per dataset: sd of the within-mouse effect, sqrt(0.2^2 / 8 + residual part)
    assert abs(np.mean(effects) - 0.3) < 4 * np.std(effects) / np.sqrt(200)


def test_tiny_run_picks_unpooled_sessions():
    sampler = {"num_warmup": 100, "num_samples": 100, "num_chains": 1}
    doc = bench.run(n_datasets=2, settings=("auto",), **sampler)
    auto = doc["settings"]["auto"]
    assert auto["fits"] == 2 and auto["group2_pooling"] == ["none"]
    # the estimates are those of OLS with mouse and session dummies on the same datasets
    # (balanced: its slope is the mean of the mice's), up to the Monte Carlo error of 100
    # draws (about 0.15 posterior sd, itself 1-2 OLS se): measured 0.24 and 0.14 OLS se
    rng = np.random.default_rng(0)  # run's datasets: seed 0, simulated in order
    for error in auto["errors"]:
        df, _ = bench.simulate(rng, effect=0.3)
        fit = smf.ols("y ~ C(mouse) + C(session) + t", df).fit()
        assert abs(0.3 + error - fit.params["t"]) < 0.75 * fit.bse["t"]
    # the 94% HDIs: none of 2 covering the truth has probability 0.06**2 = 0.0036
    assert auto["coverage"] >= 0.5
    assert auto["mean_error"] == pytest.approx(np.mean(auto["errors"]), abs=1e-4)
