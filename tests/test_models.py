"""The collapsed (sufficient-statistics) likelihood equals the per-row likelihood."""

import numpy as np
import pytest
from numpyro.handlers import seed, trace
from numpyro.infer.util import log_density
from scipy import stats

from bwestimators._cells import collapse
from bwestimators._families import get_family
from bwestimators.hierarchical import HierarchicalSlopeRegressor
from bwestimators.models import SlopeConfig, cell_loglik, cell_loglik_constant, slope_model
from bwestimators.spec import ColumnSpec
from tests.conftest import simulate_nested


@pytest.mark.parametrize("dist_y", ["normal", "lognormal"])
def test_collapsed_log_density_equals_rows(dist_y):
    df, _ = simulate_nested(n_rep=7, random_state=1)
    y = np.exp(df["y value"].to_numpy() / 3) if dist_y == "lognormal" else df["y value"].to_numpy()
    spec = ColumnSpec("stim", condition="brain region", group="mouse id")
    est = HierarchicalSlopeRegressor(spec, dist_y=dist_y)
    data = est._resolve(df, fit=True)
    codes = est._cell_codes(data)
    t = data.Z["treatment"].to_numpy(float)
    z = np.log(y) if dist_y == "lognormal" else y
    consts = {
        "alpha_loc": 0.0,
        "alpha_scale": 2.5,
        "beta_scale": 2.5,
        "sd_scale": 1.0,
        "resid_scale": 1.0,
    }
    cells = {**collapse(codes, t, z, get_family(dist_y)), **consts}
    assert cells["n"].sum() == len(df)
    assert (cells["n"] > 0).sum() == 6 * 3 * 2  # one cell per (group, condition, treatment)
    rows = {k: v.astype(np.int32) for k, v in codes.items()}
    rows.update(t=t, n=np.ones(len(t)), ybar=z, ss=np.zeros(len(t)), log_var_ref=0.0, **consts)
    cfg = SlopeConfig(dist_y, 6, 0, 3, True, True, True, True, True, "partial", ())
    for s in range(3):
        params = {
            k: v["value"]
            for k, v in trace(seed(slope_model, s)).get_trace(rows, cfg).items()
            if v["type"] == "sample"
        }
        lp_cells, _ = log_density(slope_model, (cells, cfg), {}, params)
        lp_rows, _ = log_density(slope_model, (rows, cfg), {}, params)
        lp_cells = float(lp_cells) + float(cell_loglik_constant(dist_y, cells).sum())
        lp_rows = float(lp_rows) + float(cell_loglik_constant(dist_y, rows).sum())
        np.testing.assert_allclose(lp_cells, lp_rows, rtol=2e-5)


def test_cell_loglik_matches_scipy():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(4, 5))
    mu, sigma = rng.normal(size=4), 0.7
    data = {
        "n": np.full(4, 5.0),
        "ybar": y.mean(1),
        "ss": ((y - y.mean(1, keepdims=True)) ** 2).sum(1),
        "log_var_ref": np.log(0.9),
    }
    got = np.asarray(cell_loglik("normal", mu, data, {"sigma": sigma}))
    got = got + np.asarray(cell_loglik_constant("normal", data))
    want = stats.norm.logpdf(y, mu[:, None], sigma).sum(1)
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_padding_cells_contribute_nothing():
    data = {"n": np.zeros(2), "ybar": np.zeros(2), "ss": np.zeros(2), "log_var_ref": 0.3}
    for dist_y in ("normal", "poisson", "gamma", "bernoulli"):
        params = {"sigma": 1.0, "shape": 2.0}
        assert np.all(np.asarray(cell_loglik(dist_y, np.zeros(2), data, params)) == 0)


def _consts():
    return {
        "alpha_loc": 0.0,
        "alpha_scale": 2.5,
        "beta_scale": 2.5,
        "sd_scale": 1.0,
        "resid_scale": 1.0,
        "log_var_ref": 0.0,
    }


def test_categorical_slope_model_uses_reference_coded_dummies():
    """k = 4 levels: beta (3,), b_condition (n_c, 3), b_group (n_g, 3); level 0 gets no slope."""
    from numpyro.handlers import substitute

    from bwestimators.models import slope_linear_predictor

    rng = np.random.default_rng(0)
    n = 40
    data = {
        "t": rng.integers(0, 4, n).astype(np.float32),
        "g": rng.integers(0, 5, n).astype(np.int32),
        "g2": np.zeros(n, np.int32),
        "c": rng.integers(0, 2, n).astype(np.int32),
        **_consts(),
    }
    cfg = SlopeConfig(
        "normal", 5, 0, 2, True, True, False, True, True, "partial", (), n_treatment_levels=4
    )
    tr = trace(seed(slope_linear_predictor, 0)).get_trace(cfg, data)
    assert tr["beta"]["value"].shape == (3,)
    assert tr["b_condition"]["value"].shape == (2, 3)
    assert tr["b_group"]["value"].shape == (5, 3)
    v = {k: np.asarray(site["value"]) for k, site in tr.items()}
    mu = np.asarray(substitute(seed(slope_linear_predictor, 1), v)(cfg, data))
    level = data["t"].astype(int)
    slope = v["beta"][None, :] + v["b_condition"][data["c"]] + v["b_group"][data["g"]]
    expected = v["alpha"] + v["a_condition"][data["c"]] + v["a_group"][data["g"]]
    expected = expected + np.where(level > 0, slope[np.arange(n), np.maximum(level - 1, 0)], 0)
    np.testing.assert_allclose(mu, expected, rtol=1e-5, atol=1e-5)


def test_means_model_group_intercepts_are_iid_normal():
    """Mean plus zero-sum deviations: a priori the intercepts are iid Normal(0, sigma_group)."""
    import jax
    from numpyro.handlers import condition
    from numpyro.infer import Predictive

    from bwestimators.models import MeansConfig, means_model

    n = 8
    data = {
        "t": np.zeros(n, np.float32),
        "g": np.arange(n, dtype=np.int32) % 4,
        "c": np.zeros(n, np.int32),
        "n": np.zeros(n, np.float32),  # no observations: the prior
        "ybar": np.zeros(n, np.float32),
        "ss": np.zeros(n, np.float32),
        **_consts(),
    }
    for centered in ((), ("group",)):
        cfg = MeansConfig("normal", 4, 2, True, centered)
        model = condition(means_model, {"sigma_group": 0.7})
        draws = Predictive(model, num_samples=20000)(jax.random.PRNGKey(0), data, cfg)
        a = np.asarray(draws["a_group"])
        cov = np.cov(a, rowvar=False)
        np.testing.assert_allclose(cov, 0.49 * np.eye(4), atol=0.025)
        # the population cell means keep their Normal(alpha_loc, alpha_scale) prior
        assert np.asarray(draws["cell_mean"]).std(axis=0) == pytest.approx([2.5, 2.5], rel=0.03)


def test_through_mean_and_unpooled_effects_keep_the_priors():
    """alpha/beta sampled through the mean of non-centered effects are still Normal(loc, scale),
    independent of the effects; unpooled group2 intercepts: 0, then Normal(0, alpha_scale)."""
    import jax
    from numpyro.infer import Predictive

    n = 12
    data = {
        "t": np.tile([0.0, 1.0], n // 2).astype(np.float32),
        "g": (np.arange(n) % 4).astype(np.int32),
        "g2": (np.arange(n) % 3).astype(np.int32),
        "c": np.zeros(n, np.int32),
        "n": np.zeros(n, np.float32),  # no observations: the prior
        "ybar": np.zeros(n, np.float32),
        "ss": np.zeros(n, np.float32),
        **_consts(),
        "alpha_loc": 0.7,
        "alpha_scale": 1.5,
        "beta_scale": 2.0,
    }
    cfg = SlopeConfig("normal", 4, 3, 0, True, True, True, False, False, "none", ())
    cfg = cfg._replace(group2_pooling="none")
    draws = Predictive(slope_model, num_samples=40000)(jax.random.PRNGKey(0), data, cfg)
    d = {k: np.asarray(v) for k, v in draws.items()}
    assert "alpha_observed" in d and "beta_observed" in d and "sigma_group2" not in d
    se = 1.5 / np.sqrt(40000)
    assert abs(d["alpha"].mean() - 0.7) < 4 * se and abs(d["alpha"].std() - 1.5) < 4 * se
    assert abs(d["beta"].mean()) < 4 * 2.0 / 200 and abs(d["beta"].std() - 2.0) < 0.03
    for name, effect in (("alpha", "a_group"), ("beta", "b_group")):
        r = np.corrcoef(d[name], d[effect].mean(axis=1))[0, 1]
        assert abs(r) < 4 / np.sqrt(40000), (name, r)
    assert np.all(d["a_group2"][:, 0] == 0)
    np.testing.assert_allclose(d["a_group2"][:, 1:].std(axis=0), 1.5, rtol=0.02)
    np.testing.assert_allclose(d["a_group2"][:, 1:].mean(axis=0), 0.0, atol=4 * se)
