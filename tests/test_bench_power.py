"""benchmarks/bench_power.py --full: bayes-window's default grid, and a tiny run of it."""

import numpy as np

from tests.conftest import load_benchmark

bench = load_benchmark("bench_power")


def test_predecessor_grid_is_bayes_window_run_conditions():
    """180 nulls and 140 slopes from 0.03 to 18, 4 trial counts, 3 noise levels, 6 mice."""
    grid = bench.predecessor_grid()
    assert len(grid) == 3840 == 320 * 4 * 3
    slopes = np.array([p["mouse_response_slope"] for p in grid])
    assert (slopes == 0).sum() == 180 * 12
    positive = np.unique(slopes[slopes > 0])
    np.testing.assert_allclose(positive, np.linspace(0.03, 18, 140))
    assert sorted({p["n_trials"] for p in grid}) == [8, 15, 22, 29]
    assert sorted({p["trial_baseline_randomness"] for p in grid}) == [0.2, 0.4, 1.8]
    assert {p["n_mice"] for p in grid} == {6}
    assert bench.predecessor_grid(640) == grid[::640]


def test_full_run_reports_rates_convergence_and_memory():
    out = bench._full(n_jobs=1, batch_size=2, fraction=960, which=("anova",))
    assert out["datasets"] == 4
    anova = out["estimators"]["anova"]
    assert anova["errors"] == 0 and anova["unconverged_share"] == 0.0
    assert anova["fit_datasets_per_second"] > 0
    assert out["wall_seconds"] > 0 and out["datasets_per_second"] > 0
    assert out["peak_rss_mb"]["main_process"] > 0
