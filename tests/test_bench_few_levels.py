"""benchmarks/bench_few_levels.py: its simulator's truth, and a tiny run."""

import numpy as np
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
    assert 0 <= auto["coverage"] <= 1 and auto["rmse"] < 1.0
