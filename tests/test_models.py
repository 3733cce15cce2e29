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
