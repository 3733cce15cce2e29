"""The profile-likelihood start values of LMEComparator's fits (bwestimators._lme_start)."""

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from bwestimators import ColumnSpec, LMEComparator
from bwestimators._lme_start import (
    _cross_products,
    _profile_loglike,
    profile_optimum,
    start_factor,
)
from bwestimators.datasets import generate_fake_lfp

SPEC = ColumnSpec("stim", group="mouse")
# points of benchmarks/bench_power.py::predecessor_grid(40) (index: random_state)
GRID = {
    0: {"mouse_response_slope": 0.0, "n_trials": 8, "trial_baseline_randomness": 0.2},
    14: {"mouse_response_slope": 0.0, "n_trials": 22, "trial_baseline_randomness": 1.8},
    85: {
        "mouse_response_slope": 13.345899280575539,
        "n_trials": 15,
        "trial_baseline_randomness": 0.4,
    },
    92: {
        "mouse_response_slope": 16.319352517985614,
        "n_trials": 22,
        "trial_baseline_randomness": 1.8,
    },
}


def _grid(i):
    return generate_fake_lfp(**GRID[i], n_mice=6, random_state=i).df


def _slope_model(df):
    return smf.mixedlm("Q('Log power') ~ stim", df, groups=df["mouse"], re_formula="1 + stim")


def _dense_loglike(theta, df, reml):
    """statsmodels' profile log-likelihood from the full n x n covariance (no Woodbury)."""
    y = df["Log power"].to_numpy()
    X = np.column_stack([np.ones(len(df)), df["stim"].to_numpy(float)])
    L = np.zeros((2, 2))
    L[np.tril_indices(2)] = theta
    same = (df["mouse"].to_numpy()[:, None] == df["mouse"].to_numpy()[None, :]).astype(float)
    V = np.eye(len(y)) + same * (X @ L @ L.T @ X.T)
    Vi = np.linalg.inv(V)
    xvx = X.T @ Vi @ X
    beta = np.linalg.solve(xvx, X.T @ Vi @ y)
    r = y - X @ beta
    n, p = X.shape
    m = n - p if reml else n
    like = -np.linalg.slogdet(V)[1] / 2 - m * np.log(r @ Vi @ r) / 2
    if reml:
        like -= np.linalg.slogdet(xvx)[1] / 2
    return like - m * np.log(2 * np.pi) / 2 + m * np.log(m) / 2 - m / 2


@pytest.mark.parametrize("reml", [True, False])
def test_profile_loglike_equals_the_dense_computation(reml):
    df = _grid(0)
    cp = _cross_products(_slope_model(df))
    rng = np.random.default_rng(0)
    for theta in [*rng.normal(size=(3, 3)), np.array([4.0, -0.3, 0.0])]:
        ours = _profile_loglike(theta, cp, reml, np.tril_indices(2))
        assert ours == pytest.approx(_dense_loglike(theta, df, reml), rel=1e-10)


@pytest.mark.parametrize("i", [14, 85, 92])
def test_same_numbers_as_plain_statsmodels_where_it_converges(i):
    """Grid datasets whose plain statsmodels fit (default start and optimizers) converges
    inside the parameter space: the same fit, to statsmodels' optimizer tolerance."""
    df = _grid(i)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lme = LMEComparator(SPEC, add_group_slope=True).fit(df, df["Log power"])
        plain = _slope_model(df).fit(reml=True)
    assert plain.converged and lme.converged_ and lme.slope_correlation_
    eff = lme.effects_.iloc[0]
    assert eff["estimate"] == pytest.approx(plain.params["stim"], rel=1e-8)
    assert eff["std_error"] == pytest.approx(plain.bse["stim"], rel=1e-4)
    assert eff["p_value"] == pytest.approx(plain.pvalues["stim"], rel=1e-4, abs=1e-12)
    vc = lme.variance_components_["estimate"]
    sd = np.sqrt(np.diag(plain.cov_re))
    np.testing.assert_allclose(vc[["group", "group_slope"]], sd, rtol=1e-3)
    assert vc["residual"] == pytest.approx(np.sqrt(plain.scale), rel=1e-4)
    assert lme.result_.llf >= plain.llf - 1e-6


def test_correlation_at_one_is_known_before_fitting():
    """Grid dataset 0: the maximum of the correlated-slopes likelihood is singular (a
    correlation at +-1), higher than where statsmodels' optimizer stops; the dense
    likelihood confirms it. The estimator goes straight to uncorrelated slopes."""
    df = _grid(0)
    model = _slope_model(df)
    theta = profile_optimum(model, reml=True)
    L = start_factor(theta, 2)
    assert L[1, 1] < 1e-4 < L[0, 0]  # lme4's isSingular
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = _slope_model(df).fit(reml=True)
    plain_theta = np.linalg.cholesky(plain.cov_re.to_numpy() / plain.scale)[np.tril_indices(2)]
    assert _dense_loglike(theta, df, True) > _dense_loglike(plain_theta, df, True) + 0.1
    assert _dense_loglike(theta, df, True) == pytest.approx(
        _profile_loglike(theta, _cross_products(model), True, np.tril_indices(2)), rel=1e-10
    )
    with pytest.warns(Warning):
        lme = LMEComparator(SPEC).fit(df, df["Log power"])
    assert not lme.slope_correlation_
    assert any("is singular" in m for m in lme.warnings_)


def test_group_variance_at_zero_gives_ols():
    """No group effect in the data and a REML maximum at a zero group variance: the mixed
    model is ordinary least squares there (estimate, standard error, residual sd)."""
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"g": np.repeat(np.arange(6), 10), "t": np.tile([0, 1], 30)})
    df["y"] = 0.5 * df["t"] + rng.normal(size=60)
    model = smf.mixedlm("y ~ t", df, groups=df["g"])
    assert abs(profile_optimum(model, reml=True)[0]) < 1e-3
    with pytest.warns(Warning):
        lme = LMEComparator(ColumnSpec("t", group="g"), add_group_slope=False).fit(df, df["y"])
    ols = smf.ols("y ~ t", df).fit()
    assert lme.converged_
    assert lme.effects_["estimate"].iloc[0] == pytest.approx(ols.params["t"], rel=1e-6)
    assert lme.effects_["std_error"].iloc[0] == pytest.approx(ols.bse["t"], rel=1e-4)
    vc = lme.variance_components_["estimate"]
    assert vc["residual"] == pytest.approx(np.sqrt(ols.scale), rel=1e-4)
    assert vc["group"] < 1e-3 * vc["residual"]


def test_singular_correlated_fit_asked_for_is_statsmodels_own():
    """add_group_slope=True on grid dataset 0 (a singular maximum): statsmodels' likelihood
    is lost to rounding near a singular correlated cov_re, so the fit keeps statsmodels'
    default start: the plain statsmodels fit, with the singular-fit note."""
    df = _grid(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lme = LMEComparator(SPEC, add_group_slope=True).fit(df, df["Log power"])
        plain = _slope_model(df).fit(reml=True)
    assert lme.slope_correlation_
    assert lme.effects_["std_error"].iloc[0] == pytest.approx(plain.bse["stim"], rel=1e-10)
    assert lme.result_.llf == pytest.approx(plain.llf, rel=1e-12)
    assert any("is singular" in m for m in lme.warnings_) == bool(
        np.linalg.cholesky(plain.cov_re.to_numpy() / plain.scale)[1, 1] < 1e-4
    )
