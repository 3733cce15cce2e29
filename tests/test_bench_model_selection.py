"""benchmarks/bench_model_selection.py: its simulator and its paired arithmetic (no fits)."""

import numpy as np
import pandas as pd
import pytest

from tests.conftest import load_benchmark

bench = load_benchmark("bench_model_selection")


@pytest.mark.parametrize("kind", ["hierarchical", "no_group", *bench.LIKELIHOODS])
def test_simulated_data_have_the_promised_shape(kind):
    X, y = bench.simulate(kind, random_state=0, n_rep=5)
    assert len(X) == len(y) == 8 * 2 * 5
    assert (X.groupby(["g", "t"]).size() == 5).all()
    if kind in ("lognormal", "gamma"):
        assert (y > 0).all()


def test_hierarchical_data_have_the_promised_group_sd():
    """Group means of many datasets: their spread is the group sd (0.8) plus noise / sqrt(n)."""
    sds = []
    for seed in range(200):
        X, y = bench.simulate("hierarchical", seed, n_rep=15)
        sds.append(y[X["t"] == 0].groupby(X["g"][X["t"] == 0]).mean().var(ddof=1))
    assert np.sqrt(np.mean(sds)) == pytest.approx(np.sqrt(0.8**2 + 0.5**2 / 15), rel=0.05)


def test_paired_difference_and_its_standard_error():
    table = pd.DataFrame(
        {
            "fold": [0, 0, 1, 1, 2, 2],
            "estimator": ["a", "b"] * 3,
            "group_log_predictive_density": [-1.0, -2.0, -1.5, -1.0, -2.0, -3.0],
            "n_groups": [2, 2, 2, 2, 2, 2],
        }
    )
    diff, se = bench._paired(table, "a", "b")
    per_fold = np.array([2.0, -1.0, 2.0])  # 2 * (a - b) per fold
    assert diff == pytest.approx(per_fold.sum())
    assert se == pytest.approx(np.sqrt(3) * per_fold.std(ddof=1))
