"""The group effects (and alpha, beta) integrated out: closed forms against dense Gaussians."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import multivariate_normal

from bwestimators import ColumnSpec, HierarchicalSlopeRegressor
from bwestimators._cells import group_factors, group_regressions
from bwestimators._configs import SlopeConfig
from bwestimators.datasets import generate_fake_lfp
from bwestimators.models._marginal import integrate_groups, integrate_linear

G = 4
CFG = SlopeConfig(
    "normal", G, 0, 0, True, True, False, False, False, "partial", (), marginal="groups"
)


def _cells(seed=0, n_pad=3):
    """Cells of G groups x treatment 0/1 (two cells per level in group 0), padded."""
    rng = np.random.default_rng(seed)
    g = np.r_[0, 0, 0, 0, np.repeat(np.arange(1, G), 2)]
    t = np.r_[0.0, 1, 0, 1, np.tile([0.0, 1], G - 1)]
    n = rng.integers(2, 9, len(g)).astype(float)
    ybar = rng.normal(0, 1, len(g)) + 0.5 * t
    ss = rng.uniform(0.5, 3.0, len(g)) * (n - 1)
    cells = {
        "g": np.r_[g, np.zeros(n_pad)].astype(np.int32),
        "t": np.r_[t, np.zeros(n_pad)].astype(np.float32),
        "n": np.r_[n, np.zeros(n_pad)].astype(np.float32),
        "ybar": np.r_[ybar, np.zeros(n_pad)].astype(np.float32),
        "ss": np.r_[ss, np.zeros(n_pad)].astype(np.float32),
        "log_var_ref": np.float32(np.log(ss.sum() / n.sum())),
    }
    return cells, len(g)


def _dense_loglik(cells, k, mean, cov_effects, sigma):
    """log p(cells) by the dense normal of the cell means, plus the within-cell terms."""
    n, ss, ybar = (cells[key][:k].astype(float) for key in ("n", "ss", "ybar"))
    cov = cov_effects + np.diag(sigma**2 / n)
    within = -0.5 * (n - 1) * np.log(sigma**2) - ss / (2 * sigma**2)
    return multivariate_normal(mean, cov).logpdf(ybar) + within.sum() + 0.5 * np.log(n).sum()


def _design(cells, k):
    z = np.column_stack([np.ones(k), cells["t"][:k]])
    same = cells["g"][:k, None] == cells["g"][None, :k]
    return z, same


@pytest.mark.parametrize("sds", [(0.7, 0.4), (0.05, 1.3)])
def test_integrate_groups_is_the_gaussian_marginal(sds):
    """Differences of the log-likelihood between two residual sds, and between two mean
    vectors, equal those of the dense normal of the cell means (constants cancel)."""
    cells, k = _cells()
    z, same = _design(cells, k)
    data = {key: jnp.asarray(v) for key, v in cells.items()}
    data["group_chol"] = jnp.asarray(group_factors(cells, G)[0], dtype=jnp.float32)
    zj = jnp.asarray(np.r_[z, np.zeros((len(cells["n"]) - k, 2))], dtype=jnp.float32)
    d = np.diag(np.square(sds))
    cov_effects = (z @ d @ z.T) * same
    rng = np.random.default_rng(1)
    m = rng.normal(0, 0.5, len(cells["n"])).astype(np.float32)
    values, dense = [], []
    for sigma, shift in ((0.8, 0.0), (1.3, 0.0), (0.8, 0.3)):
        mm = m + np.float32(shift)
        ll, _ = integrate_groups(CFG, data, zj, jnp.asarray(mm), sigma, jnp.asarray(sds))
        values.append(float(ll))
        dense.append(_dense_loglik(cells, k, mm[:k], cov_effects, sigma))
    np.testing.assert_allclose(np.diff(values), np.diff(dense), atol=2e-3)


def test_integrate_linear_is_the_gaussian_marginal():
    """The same with alpha and beta integrated out too (their normal prior in the dense
    covariance), from every group's own regression (group_regressions)."""
    cells, k = _cells(seed=2)
    z, same = _design(cells, k)
    data = {key: jnp.asarray(v) for key, v in cells.items()}
    data.update({key: jnp.asarray(v) for key, v in group_regressions(cells, G).items()})
    loc, scale = np.array([0.3, 0.0]), np.array([2.0, 1.5])
    values, dense = [], []
    for sigma, sds in ((0.8, (0.7, 0.4)), (1.3, (0.7, 0.4)), (0.8, (0.1, 1.1))):
        d = np.diag(np.square(sds))
        cov = (z @ d @ z.T) * same + z @ np.diag(scale**2) @ z.T
        args = (sigma, jnp.asarray(sds), jnp.asarray(loc), jnp.asarray(scale))
        values.append(float(integrate_linear(data, *args)[0]))
        dense.append(_dense_loglik(cells, k, z @ loc, cov, sigma))
    np.testing.assert_allclose(np.diff(values), np.diff(dense), atol=2e-3)


def _dense_posterior(cells, k, loc, scale, sds, sigma):
    """The normal posterior of (alpha, beta, u_1, ..., u_G) given the scales, densely."""
    z, _ = _design(cells, k)
    g = cells["g"][:k]
    phi = np.zeros((k, 2 + 2 * G))
    phi[:, :2] = z
    for i in range(k):
        phi[i, 2 + 2 * g[i] : 4 + 2 * g[i]] = z[i]
    prior_mean = np.r_[loc, np.zeros(2 * G)]
    prior_prec = np.diag(1 / np.r_[np.square(scale), np.tile(np.square(sds), G)])
    w = cells["n"][:k] / sigma**2
    prec = prior_prec + phi.T @ (w[:, None] * phi)
    cov = np.linalg.inv(prec)
    mean = cov @ (prior_prec @ prior_mean + phi.T @ (w * cells["ybar"][:k]))
    return mean, cov


def test_draws_are_the_conditional_posterior():
    """Draws of (alpha, beta, group effects) given the scales: the dense posterior's mean
    and covariance, within Monte Carlo error (20,000 draws)."""
    cells, k = _cells(seed=3)
    data = {key: jnp.asarray(v) for key, v in cells.items()}
    data.update({key: jnp.asarray(v) for key, v in group_regressions(cells, G).items()})
    loc, scale, sds, sigma = np.array([0.3, 0.0]), np.array([2.0, 1.5]), (0.7, 0.4), 0.9
    args = (sigma, jnp.asarray(sds), jnp.asarray(loc), jnp.asarray(scale))
    keys = jax.random.split(jax.random.PRNGKey(0), 20_000)
    gamma, effects = jax.vmap(lambda key: integrate_linear(data, *args, key)[1])(keys)
    draws = np.column_stack([np.asarray(gamma), np.asarray(effects).reshape(len(keys), -1)])
    mean, cov = _dense_posterior(cells, k, loc, scale, sds, sigma)
    se = np.sqrt(np.diag(cov) / len(keys))
    assert np.all(np.abs(draws.mean(0) - mean) < 4.5 * se)
    np.testing.assert_allclose(np.cov(draws.T), cov, atol=0.04 * np.abs(cov).max())
    # given alpha and beta (the mean m), the group effects alone: integrate_groups' draws
    z, _ = _design(cells, k)
    zj = jnp.asarray(np.r_[z, np.zeros((len(cells["n"]) - k, 2))], dtype=jnp.float32)
    m = jnp.asarray(np.r_[z @ mean[:2], np.zeros(len(cells["n"]) - k)], dtype=jnp.float32)
    eff = jax.vmap(lambda key: integrate_groups(CFG, data, zj, m, sigma, jnp.asarray(sds), key)[1])(
        keys
    )
    prior = np.diag(np.tile(np.square(sds), G))
    phi = np.zeros((k, 2 * G))
    for i in range(k):
        phi[i, 2 * cells["g"][i] : 2 * cells["g"][i] + 2] = z[i]
    w = cells["n"][:k] / sigma**2
    cov_u = np.linalg.inv(np.linalg.inv(prior) + phi.T @ (w[:, None] * phi))
    mean_u = cov_u @ (phi.T @ (w * (cells["ybar"][:k] - z @ mean[:2])))
    flat = np.asarray(eff).reshape(len(keys), -1)
    assert np.all(np.abs(flat.mean(0) - mean_u) < 4.5 * np.sqrt(np.diag(cov_u) / len(keys)))
    np.testing.assert_allclose(np.cov(flat.T), cov_u, atol=0.04 * np.abs(cov_u).max())


def test_a_padded_group_adds_nothing():
    """A group without cells (padding): the same log-likelihood, prior draws for it."""
    cells, _ = _cells(seed=4)
    stats = group_regressions(cells, G)
    padded = {
        k: np.concatenate([v, np.zeros((1, *v.shape[1:]), v.dtype)])
        for k, v in stats.items()
        if np.ndim(v)
    }
    args = (0.9, jnp.asarray([0.7, 0.4]), jnp.asarray([0.3, 0.0]), jnp.asarray([2.0, 1.5]))
    one = integrate_linear({**cells, **stats}, *args)[0]
    two, (_, effects) = integrate_linear({**cells, **stats, **padded}, *args, jax.random.PRNGKey(0))
    assert abs(float(one) - float(two)) < 1e-4
    assert effects.shape == (G + 1, 2) and np.all(np.isfinite(np.asarray(effects)))


FIT = {"num_warmup": 500, "num_samples": 1000, "num_chains": 4}


def _moments(est, sites):
    out = {}
    for site in sites:
        v = np.asarray(est.draws_[site]).reshape(-1, *np.shape(est.draws_[site])[2:])
        out[site] = (v.mean(0), v.std(0))
    return out


@pytest.mark.parametrize(
    ("spec", "kind"),
    [
        (ColumnSpec("stim", group="mouse"), ("alpha", "beta", "group", "group_slope")),
        (ColumnSpec("stim", group="mouse", condition="region"), ("group", "group_slope")),
    ],
)
def test_marginal_fit_is_the_full_model(spec, kind):
    """The fit with the effects integrated out and the full (non-centered) model agree on
    every site's posterior mean within Monte Carlo error, with far fewer leapfrog steps."""
    rng = np.random.default_rng(0)
    df = generate_fake_lfp(mouse_response_slope=9, n_trials=10, n_mice=7, random_state=0).df
    df["region"] = rng.choice(["a", "b"], len(df))
    y = df["Log power"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        marginal = HierarchicalSlopeRegressor(spec, random_state=0, **FIT).fit(df, y)
        full = HierarchicalSlopeRegressor(
            spec, parameterization="noncentered", random_state=1, **FIT
        ).fit(df, y)
    assert marginal.marginalized_ == kind and full.marginalized_ == ()
    assert marginal.diagnostics_["divergences"] == 0
    sites = ["sigma", "sigma_group", "sigma_group_slope", "a_group", "b_group"]
    sites += ["alpha", "beta"] if "alpha" in kind else ["a_condition", "b_condition"]
    a, b = _moments(marginal, sites), _moments(full, sites)
    for site in sites:
        # Monte Carlo SE of a difference of two means of 4000 draws, ESS at least ~800 each
        tol = 4 * np.hypot(a[site][1], b[site][1]) / np.sqrt(800)
        assert np.all(np.abs(a[site][0] - b[site][0]) < tol), site
        np.testing.assert_allclose(a[site][1], b[site][1], rtol=0.15, err_msg=site)
    steps = (np.mean(marginal.sample_stats_["num_steps"]), np.mean(full.sample_stats_["num_steps"]))
    assert steps[0] < steps[1] / 2


def test_what_is_integrated_out():
    """alpha and beta with them only without other terms and with every group's regression
    identified; nothing for other families, explicit parameterizations, SVI, user models."""
    df = generate_fake_lfp(mouse_response_slope=9, n_trials=4, n_mice=6, random_state=0).df
    spec = ColumnSpec("stim", group="mouse")
    kw = {"num_warmup": 50, "num_samples": 50, "num_chains": 1, "random_state": 0}

    def fitted(data=df, **params):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return HierarchicalSlopeRegressor(spec, **kw, **params).fit(data, data["Log power"])

    assert fitted().config_.marginal == "linear"
    assert fitted(add_group_slope=False).marginalized_ == ("group",)
    assert fitted(parameterization="centered").marginalized_ == ()
    assert fitted(dist_y="student").marginalized_ == ()
    one_level = df[~((df["mouse"] == df["mouse"].iloc[0]) & (df["stim"] == 1))]
    assert fitted(one_level, add_group_slope=True).marginalized_ == ("group", "group_slope")
    assert fitted(method="svi", num_steps=200).marginalized_ == ()


def test_the_remedy_of_divergences_knows_the_effects_were_integrated_out():
    """No advice to sample the group effects non-centered when they were integrated out."""
    est = HierarchicalSlopeRegressor()
    est.centered_, est.diagnostics_ = (), {"divergences": 3}
    est.marginalized_ = ("group", "group_slope")
    assert "integrated out" in est._remedy() and "noncentered" not in est._remedy()
    est.marginalized_ = ()
    assert "parameterization='noncentered'" in est._remedy()
