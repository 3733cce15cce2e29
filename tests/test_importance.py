"""Importance sampling around the posterior mode (bwestimators._importance)."""

import warnings

import numpy as np
import pytest
from scipy import stats

from bwestimators import ColumnSpec, HierarchicalSlopeRegressor, inference
from bwestimators import _importance as importance
from tests.conftest import FAST

#: The normal-gamma model's prior and data (closed-form posterior).
M0, K0, A0, B0 = 0.5, 2.0, 3.0, 2.0


def _normal_gamma(data, cfg):
    """``tau ~ Gamma(A0, B0)``, ``mu ~ Normal(M0, (K0 tau)^-1/2)``, ``y ~ Normal(mu, tau^-1/2)``."""
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist

    tau = numpyro.sample("tau", dist.Gamma(A0, B0))
    mu = numpyro.sample("mu", dist.Normal(M0, 1.0 / jnp.sqrt(K0 * tau)))
    numpyro.sample("y", dist.Normal(mu, 1.0 / jnp.sqrt(tau)), obs=data["y"])


def _normal_gamma_posterior(y):
    """The posterior of ``tau`` (a gamma) and of ``mu`` (a Student t), by conjugacy."""
    n, ybar = len(y), float(np.mean(y))
    k_n, a_n = K0 + n, A0 + n / 2
    m_n = (K0 * M0 + n * ybar) / k_n
    b_n = B0 + 0.5 * np.sum((y - ybar) ** 2) + K0 * n * (ybar - M0) ** 2 / (2 * k_n)
    tau = stats.gamma(a_n, scale=1 / b_n)
    mu = stats.t(2 * a_n, loc=m_n, scale=np.sqrt(b_n / (a_n * k_n)))
    return tau, mu


def test_normal_gamma_posterior_matches_closed_form():
    rng = np.random.default_rng(3)
    datasets = [{"y": rng.normal(1.0, 0.7, n).astype(np.float32)} for n in (6, 6)]
    datasets[1]["y"] = datasets[1]["y"] * 2 + 1  # another dataset, the same shape
    out = importance.run_importance_batched(_normal_gamma, None, datasets, [1, 2], num_draws=4000)
    assert out is not None
    for draws, stat, data in zip(*out, datasets, strict=True):
        assert stat["reliable"] and stat["pareto_k"] < 0.5 and stat["psis_ess"] > 1000
        tau, mu = _normal_gamma_posterior(data["y"].astype(float))
        for name, exact in (("tau", tau), ("mu", mu)):
            x = draws[name].ravel()
            se = exact.std() / np.sqrt(stat["psis_ess"])
            assert abs(x.mean() - exact.mean()) < 4 * se, name
            assert abs(x.std() / exact.std() - 1) < 0.08, name
            for q in (0.05, 0.5, 0.95):
                assert abs(np.mean(x <= exact.ppf(q)) - q) < 0.03, (name, q)


def test_newton_finds_mode_and_hessian_of_quadratic():
    import jax.numpy as jnp

    a = jnp.array([[3.0, 1.0], [1.0, 2.0]])
    b = jnp.array([1.0, -2.0])

    def f(x):  # minimum at a^-1 b, Hessian a
        return 0.5 * x @ a @ x - b @ x

    x, decrement, h = importance._newton_mode(f, jnp.array([40.0, -30.0]))
    exact = np.linalg.solve(np.asarray(a), np.asarray(b))
    np.testing.assert_allclose(np.asarray(x), exact, atol=1e-4)
    np.testing.assert_allclose(np.asarray(h), np.asarray(a), rtol=1e-3)
    assert float(decrement) < 1e-6


def test_newton_leaves_a_flat_region_without_overshooting():
    """A log-scale whose density is flat on one side (a group sd towards 0): the trust
    region keeps the steps short, and the mode is found."""
    import jax.numpy as jnp

    def f(x):  # -log density e^u / (1 + e^2u) of u = log sd: flat far below its mode u = 0
        u = x[0]
        return -(u - jnp.logaddexp(0.0, 2.0 * u)) + 0.5 * x[1] ** 2

    x, decrement, _ = importance._newton_mode(f, jnp.array([-8.0, 1.0]))
    assert abs(float(x[0])) < 1e-3 and abs(float(x[1])) < 1e-4
    assert float(decrement) < importance._MODE_TOL


def test_smoothed_weights_of_zero_density_draws():
    lr = np.random.default_rng(0).normal(0, 0.3, 1000)
    lr[:5] = -np.inf  # 0.5 %: weight 0
    log_weights, k = importance._smoothed(lr)
    assert np.all(np.exp(log_weights[:5]) == 0) and k < 0.7
    assert np.isclose(np.exp(log_weights).sum(), 1)
    lr[:20] = -np.inf  # 2 %: more than _MAX_ZERO_SHARE, not trusted
    assert importance._smoothed(lr)[1] == np.inf
    lr[:20] = 0.0
    lr[0] = np.inf
    assert importance._smoothed(lr)[1] == np.inf
    lr[0] = np.nan  # the log density failed numerically: not trusted either
    assert importance._smoothed(lr)[1] == np.inf


def _ten_normals(data, cfg):
    import numpyro
    import numpyro.distributions as dist

    x = numpyro.sample("x", dist.Normal(0, 1).expand([10]).to_event(1))
    numpyro.sample("y", dist.Normal(x, 1).to_event(1), obs=data["y"])


def test_more_dimensions_than_the_limit_returns_none():
    data = {"y": np.zeros(10, dtype=np.float32)}
    assert importance.run_importance_batched(_ten_normals, None, [data], [0], num_draws=100) is None


@pytest.fixture(scope="module")
def lfp_fits(lfp_small):
    settings = {"num_warmup": 300, "num_samples": 1000, "num_chains": 2}
    spec = ColumnSpec("stim", group="mouse")
    nuts = HierarchicalSlopeRegressor(spec, random_state=0, **settings)
    nuts.fit(lfp_small, lfp_small["Log power"])
    imp = HierarchicalSlopeRegressor(spec, method="importance", random_state=0, **settings)
    imp.fit(lfp_small, lfp_small["Log power"])
    return nuts, imp


def test_estimator_matches_nuts(lfp_fits):
    nuts, imp = lfp_fits
    assert imp.marginalized_ == nuts.marginalized_ == ("alpha", "beta", "group", "group_slope")
    assert imp.diagnostics_["sampler"] == "importance" and nuts.diagnostics_["sampler"] == "nuts"
    assert imp.diagnostics_["pareto_k"] <= 0.7 and imp.diagnostics_["min_ess_bulk"] >= 400
    assert np.isnan(imp.diagnostics_["max_r_hat"]) and imp.warnings_ == []
    assert imp.draws_["beta"].shape == (1, 2000) and imp.diagnostics_["num_chains"] == 1
    for site in ("beta", "alpha", "sigma", "sigma_group", "sigma_group_slope"):
        a, b = np.ravel(imp.draws_[site]), np.ravel(nuts.draws_[site])
        se = b.std() * np.sqrt(1 / imp.diagnostics_["min_ess_bulk"] + 1 / 1000)
        assert abs(a.mean() - b.mean()) < 4 * se, site
        assert abs(a.std() / b.std() - 1) < 0.15, site
    e_imp, e_nuts = imp.effects_.iloc[0], nuts.effects_.iloc[0]
    assert np.isnan(e_imp["r_hat"]) and e_imp["ess_bulk"] == imp.diagnostics_["min_ess_bulk"]
    assert abs(e_imp["estimate"] - e_nuts["estimate"]) < 0.2 * e_nuts["std_error"]


def test_fit_many_equals_fits(lfp_fits, lfp_small):
    from bwestimators.datasets import generate_fake_lfp

    _, imp = lfp_fits
    other = generate_fake_lfp(mouse_response_slope=0, n_trials=8, random_state=5).df
    fitted = imp.fit_many([lfp_small, other], [lfp_small["Log power"], other["Log power"]])
    assert [f.diagnostics_["sampler"] for f in fitted] == ["importance"] * 2
    np.testing.assert_allclose(
        fitted[0].effects_["estimate"], imp.effects_["estimate"], rtol=1e-3, atol=1e-4
    )
    assert abs(fitted[1].effects_["estimate"].iloc[0]) < 3 * fitted[1].effects_["std_error"].iloc[0]


def test_untrusted_weights_fall_back_to_nuts(lfp_small, monkeypatch):
    monkeypatch.setattr(importance, "MAX_PARETO_K", -10.0)  # no k-hat passes
    est = HierarchicalSlopeRegressor(
        ColumnSpec("stim", group="mouse"), method="importance", random_state=0, **FAST
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FAST's short chains may warn
        est.fit(lfp_small, lfp_small["Log power"])
    assert est.diagnostics_["sampler"] == "nuts" and est.draws_["beta"].shape == (2, 300)
    assert est.diagnostics_["pareto_k"] < 0.7  # the k-hat of the weights that were rejected
    assert est._importance_stats["weights_ess"] >= 400  # accepted but for the patched k-hat
    assert np.isfinite(est.diagnostics_["max_r_hat"])


def test_many_dimensions_run_nuts(lfp_small, monkeypatch):
    """Too many dimensions to importance-sample: NUTS, in :meth:`fit` and, vectorized, in
    :meth:`fit_many`."""
    est = HierarchicalSlopeRegressor(
        ColumnSpec("stim", group="mouse"),
        method="importance",
        parameterization="noncentered",  # the group effects sampled: 25 dimensions
        random_state=0,
        **FAST,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(lfp_small, lfp_small["Log power"])
    assert est.diagnostics_["sampler"] == "nuts" and np.isnan(est.diagnostics_["pareto_k"])
    assert est.draws_["beta"].shape == (2, 300) and est.diagnostics_["num_chains"] == 2
    calls = []
    original = inference.run_nuts_batched
    monkeypatch.setattr(
        inference, "run_nuts_batched", lambda *a, **k: calls.append(1) or original(*a, **k)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = est.fit_many([lfp_small] * 2, [lfp_small["Log power"]] * 2)
    assert calls == [1] and [f.diagnostics_["sampler"] for f in fitted] == ["nuts", "nuts"]
    np.testing.assert_allclose(
        fitted[0].effects_["estimate"], est.effects_["estimate"], rtol=0.2, atol=0.02
    )
