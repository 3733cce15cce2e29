"""benchmarks/bench_calibration.py: its simulator, its arithmetic, and a tiny run of main()."""

import json

import numpy as np
import pytest

from tests.conftest import load_benchmark

bench = load_benchmark("bench_calibration")


def test_simulated_data_have_the_promised_shape_and_truth():
    n_groups, n_rows = 8, 10
    df = bench.simulate("null", n_groups, n_rows, seed=1)
    assert len(df) == n_groups * 2 * n_rows
    assert (df.groupby(["animal", "stim"]).size() == n_rows).all()
    # Null scenarios: the data's own effect is 0 on average (its sd per dataset is
    # sqrt(2 / (n_groups * n_rows)) = 0.158, plus slope_sd / sqrt(n_groups) with slopes).
    reps = 400
    for scenario, (effect, slope_sd) in bench.SCENARIOS.items():
        effects = np.array(
            [
                bench.sample_effect(bench.simulate(scenario, n_groups, n_rows, s))
                for s in range(reps)
            ]
        )
        sd = np.sqrt(2 * bench.RESIDUAL_SD**2 / (n_groups * n_rows) + slope_sd**2 / n_groups)
        assert abs(effects.mean() - effect) < 4 * sd / np.sqrt(reps), scenario
        assert 0.85 < effects.std() / sd < 1.15, scenario
    # Group-slope heterogeneity shows in the spread of the per-animal differences.
    df = bench.simulate("null_slopes", 2000, 50, seed=3)
    cell = df.groupby(["animal", "stim"])["y"].mean().unstack("stim")
    spread = (cell[1] - cell[0]).var()
    assert spread == pytest.approx(0.3**2 + 2 / 50, rel=0.1)


def test_seeds_differ_between_scenarios_and_repetitions():
    seeds = {bench._seed(0, s, r) for s in bench.SCENARIOS for r in range(50)}
    assert len(seeds) == 150


def _rec(scenario, estimator, lower, upper, detected, **extra):
    truth = bench.SCENARIOS[scenario][0]
    return {
        "scenario": scenario,
        "estimator": estimator,
        "truth": truth,
        "data_effect": 0.0,
        "error": None,
        "estimate": (lower + upper) / 2,
        "lower": lower,
        "upper": upper,
        "detected": detected,
        "fit_seconds": 1.0,
        "divergences": extra.get("divergences", 0 if estimator == "bayes" else None),
        "max_r_hat": extra.get("max_r_hat", 1.0 if estimator == "bayes" else None),
    }


def test_summary_counts_rates_and_coverage_exactly():
    records = []
    # null, bayes: 10 fits, 2 exclude 0 (detected, not covering 0), one touches 0 at its
    # lower end (covers: intervals are closed), 3 with a divergence; one failed fit.
    for i in range(10):
        if i < 2:
            records.append(_rec("null", "bayes", 0.1, 0.5, True, divergences=int(i == 0)))
        elif i == 2:
            records.append(_rec("null", "bayes", 0.0, 0.4, False, divergences=2))
        else:
            records.append(
                _rec("null", "bayes", -0.3, 0.3, False, divergences=int(i == 3), max_r_hat=1.02)
            )
    records.append({**_rec("null", "bayes", 0, 0, False), "error": "ValueError: boom"})
    # effect_slopes, lme: truth 0.5; 4 fits: 3 detected, 2 cover 0.5.
    records += [
        _rec("effect_slopes", "lme", 0.1, 0.9, True),
        _rec("effect_slopes", "lme", 0.6, 0.9, True),
        _rec("effect_slopes", "lme", 0.2, 0.45, True),
        _rec("effect_slopes", "lme", -0.2, 0.5, False),
    ]
    out = bench.summarize(records, alpha=0.05, hdi_prob=0.94)
    b = out["null"]["bayes"]
    assert b["fits"] == 11 and b["failed"] == 1
    assert b["detection_rate"] == pytest.approx(0.2)
    assert b["detection_rate_kind"] == "false_positive_rate"
    assert b["coverage"] == pytest.approx(0.8)
    assert b["divergent_share"] == pytest.approx(0.3)
    assert b["median_max_r_hat"] == pytest.approx(1.02)
    assert b["nominal_false_positive_rate"] == pytest.approx(0.06)
    lo, hi = b["false_positive_band_95"]
    assert lo == 0.0 and hi == pytest.approx(0.2)  # binom(10, 0.06): 2.5 % and 97.5 % points 0, 2
    assert b["false_positive_within_band"] is True
    e = out["effect_slopes"]["lme"]
    assert e["detection_rate_kind"] == "power"
    assert e["detection_rate"] == pytest.approx(0.75)
    assert e["coverage"] == pytest.approx(0.5)
    assert e["bias"] == pytest.approx(np.mean([0.5, 0.75, 0.325, 0.15]) - 0.5)
    assert "false_positive_band_95" not in e and "divergent_share" not in e
    assert out["null_slopes"]["lme"]["fits"] == 0


def test_binomial_band():
    lo, hi = bench.binomial_band(100, 0.05)
    assert lo == pytest.approx(0.01) and hi == pytest.approx(0.10)
    assert bench.binomial_band(60, 0.06) == [pytest.approx(1 / 60), pytest.approx(8 / 60)]


def test_main_prints_one_json_document(capsys):
    argv = ["--reps", "2", "--n-groups", "4", "--n-rows", "3", "--num-warmup", "50",
            "--num-samples", "50", "--num-chains", "2", "--n-jobs", "1"]  # fmt: skip
    bench.main(argv)
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) >= {"settings", "scenarios", "results", "errors", "wall_seconds"}
    sampler = {"method": "nuts", "num_warmup": 50, "num_samples": 50, "num_chains": 2}
    assert doc["settings"]["sampler"] == sampler
    assert set(doc["results"]) == set(bench.SCENARIOS)
    for scenario, per in doc["results"].items():
        assert set(per) == {"bayes", "lme"}
        for name, entry in per.items():
            assert entry["fits"] == 2
            assert entry["failed"] == 0, doc["errors"]
            for key in ("detection_rate", "coverage"):
                assert 0.0 <= entry[key] <= 1.0, (scenario, name, key)
            if name == "bayes":
                assert 0.0 <= entry["divergent_share"] <= 1.0
                assert entry["median_max_r_hat"] > 0.9
            if bench.SCENARIOS[scenario][0] == 0:
                lo, hi = entry["false_positive_band_95"]
                assert 0.0 <= lo <= entry["nominal_false_positive_rate"] <= hi <= 1.0
            assert entry["median_fit_seconds"] > 0
