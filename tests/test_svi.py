"""SVI: run to a loss plateau, draws corrected by PSIS, degenerate guides refused."""

import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn.exceptions import ConvergenceWarning

from bwestimators import ColumnSpec, HierarchicalSlopeRegressor
from bwestimators import inference as inf
from bwestimators._psis import resample_ess
from bwestimators.datasets import generate_fake_lfp

SPEC = ColumnSpec("stim", group="mouse")


@pytest.fixture(scope="module")
def lfp():
    # the predecessor's data, on which [2/9] set the bar
    df = generate_fake_lfp(mouse_response_slope=9, n_trials=30, random_state=0, exact_null=False).df
    return df, df["Log power"]


@pytest.fixture(scope="module")
def nuts(lfp):
    X, y = lfp
    return _fit(X, y, num_warmup=500, num_samples=1000)


def _fit(X, y, random_state=0, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return HierarchicalSlopeRegressor(SPEC, random_state=random_state, **kwargs).fit(X, y)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_svi_slope_sd_close_to_nuts(lfp, nuts, seed):
    """[2/9]: slope sd within 25 % of NUTS, on any seed (measured 0.93-1.02 over 8 seeds)."""
    X, y = lfp
    svi = _fit(X, y, random_state=seed, method="svi")
    d = svi.diagnostics_
    assert d["svi_converged"] and d["psis_corrected"], d
    sd_nuts = nuts.effects_["std_error"].iloc[0]
    ratio = svi.effects_["std_error"].iloc[0] / sd_nuts
    assert 0.75 <= ratio <= 1.25, ratio
    # means within Monte Carlo error: the NUTS mean's error is about sd / sqrt(ESS ~ 2000)
    # and the SVI one's sd / sqrt(psis_ess ~ 2000); 0.25 sd is about 8 of these errors
    delta = svi.effects_["estimate"].iloc[0] - nuts.effects_["estimate"].iloc[0]
    assert abs(delta) < 0.25 * sd_nuts, delta / sd_nuts
    # the variance components too, and the population intercept
    for site in ("alpha", "sigma", "sigma_group", "sigma_group_slope"):
        sd_ratio = np.std(svi.draws_[site]) / np.std(nuts.draws_[site])
        assert 0.75 <= sd_ratio <= 1.25, (site, sd_ratio)


def test_svi_diagnostics(lfp):
    X, y = lfp
    est = _fit(X, y, method="svi")
    d = est.diagnostics_
    assert 0 < d["svi_steps"] <= est.num_steps
    assert np.isfinite(d["svi_final_loss"])
    assert d["pareto_k"] <= 0.7 and d["psis_corrected"]
    assert d["psis_proposal_scale"] in inf._SVI_PROPOSAL_SCALES
    assert est.warnings_ == [] and d["sampler"] == "svi"
    # mice informed by 60 rows each: intercepts and slopes centered (scores 1083 and 12,
    # above SVI's bar of 1; NUTS centers the intercepts only, its bar is 20)
    assert set(est.centered_) == {"group", "group_slope"}
    # resampled draws repeat some guide draws: the ESS is that of the weights and the
    # resampling, fewer than the draws, and there is no R-hat of one "chain"
    n = est.num_samples * est.num_chains
    assert 200 < d["psis_ess"] < n
    assert (est.effects_["ess_bulk"] == d["psis_ess"]).all()
    assert (est.effects_["ess_tail"] == d["psis_ess"]).all()
    assert est.effects_["r_hat"].isna().all()
    beta = np.asarray(est.draws_["beta"]).ravel()
    assert beta.size == n and 1 < len(np.unique(beta)) < n


def test_svi_uncorrectable_guide_warns(lfp):
    """A non-centered fit of well-informed mice: the guide is far too narrow (k-hat > 1).

    Its draws cannot be corrected: returned as they are, with the low ESS of
    their weights, and a warning that the intervals may be too narrow.
    """
    X, y = lfp
    with pytest.warns(ConvergenceWarning, match="could not be corrected"):
        est = HierarchicalSlopeRegressor(
            SPEC, method="svi", parameterization="noncentered", random_state=0
        ).fit(X, y)
    d = est.diagnostics_
    assert d["pareto_k"] > 0.7 and not d["psis_corrected"]
    assert d["psis_proposal_scale"] == 1.0
    assert d["psis_ess"] < 400
    assert any("Pareto k-hat" in w for w in est.warnings_)


def _proposals(scales_sd, rng, n=8000):
    """1-d proposals N(0, sd) of the target N(0, 1), as inference._svi_proposals gives them."""
    out = []
    for scale, sd in scales_sd:
        x = rng.normal(0, sd, n)
        out.append((scale, {"x": x}, stats.norm.logpdf(x) - stats.norm.logpdf(x, 0, sd)))
    return out


def test_resample_corrects_a_narrow_guide():
    """Guide N(0, 0.8) of a N(0, 1) posterior: resampled draws have sd 1, not 0.8."""
    rng = np.random.default_rng(0)
    draws, st = inf._svi_resample(_proposals([(1.0, 0.8), (1.1, 0.88)], rng), 4000, 1)
    x = draws["x"].ravel()
    assert draws["x"].shape == (1, 4000)
    assert st["psis_corrected"] and st["pareto_k"] <= 0.7
    # the wider proposal has the larger ESS (closed form: n / E_q[(p/q)^2])
    assert st["psis_proposal_scale"] == 1.1
    assert abs(np.std(x) - 1) < 0.05 and abs(np.mean(x)) < 0.05
    second = 0.88 / np.sqrt(2 - 1 / 0.88**2)  # E_q[(p/q)^2] for q = N(0, 0.88)
    assert abs(st["psis_ess"] / resample_ess(8000 / second, 4000) - 1) < 0.05


def test_resample_leaves_unusable_weights_alone():
    """Proposals N(0, 0.3) and N(0, 0.33) of N(0, 1): k-hat about 0.9, no correction."""
    rng = np.random.default_rng(1)
    proposals = _proposals([(1.0, 0.3), (1.1, 0.33)], rng)
    draws, st = inf._svi_resample(proposals, 4000, 1)
    assert not st["psis_corrected"] and st["pareto_k"] > 0.7
    assert st["psis_proposal_scale"] == 1.0
    np.testing.assert_array_equal(draws["x"][0], proposals[0][1]["x"][:4000])
    assert st["psis_ess"] < 400


def test_more_num_samples_raise_the_psis_ess(lfp):
    """The remedy of the low-ESS warning works: twice num_samples, about twice the ESS.

    The importance sampling weighs twice the draws returned (at least 8000), so the ESS
    of the weights doubles with them, and that of the resampled draws, ``1 / (1 / ess +
    1 / n)``, too (measured 2.0 on seeds 0 and 1). With the 8000 proposals of any number
    of draws up to 8000 it rose by 1.3 only (that of the resampling alone).
    """
    X, y = lfp
    ess = [_fit(X, y, method="svi", num_samples=k).diagnostics_["psis_ess"] for k in (1000, 2000)]
    assert 1.6 < ess[1] / ess[0] < 2.4, ess


def test_svi_report_few_effective_draws():
    """Corrected draws that count as few independent ones warn, with the remedy."""
    from bwestimators._summaries import svi_report

    base = {"converged": True, "num_steps": 3000, "final_loss": 1.0, "psis_proposal_scale": 1.1}
    numbers, problems = svi_report(
        {**base, "pareto_k": 0.6, "psis_corrected": True, "psis_ess": 115.0}, 20000
    )
    assert numbers["psis_ess"] == 115 and numbers["psis_proposal_scale"] == 1.1
    assert len(problems) == 1 and "115 independent draws" in problems[0]
    assert "increase num_samples" in problems[0]  # it works: test_more_num_samples_raise...
    _, problems = svi_report(
        {**base, "pareto_k": 0.6, "psis_corrected": True, "psis_ess": 1500.0}, 20000
    )
    assert problems == []


def test_svi_capped_before_plateau_warns(lfp):
    X, y = lfp
    with warnings.catch_warnings():
        # an unconverged guide is also a poor one (k-hat above 0.7): a second warning
        warnings.filterwarnings("ignore", "HierarchicalSlopeRegressor: the SVI guide is a poor")
        with pytest.warns(ConvergenceWarning, match="num_steps=500"):
            est = HierarchicalSlopeRegressor(SPEC, method="svi", num_steps=500, random_state=0).fit(
                X, y
            )
    assert not est.diagnostics_["svi_converged"]
    assert est.diagnostics_["svi_steps"] == 500
    assert any("increase num_steps" in w for w in est.warnings_)


def test_degenerate_guide_raises(lfp, monkeypatch):
    """A point-mass guide (as a Laplace fit at a singular Hessian gives) is an error."""
    X, y = lfp
    from numpyro.infer.autoguide import AutoLaplaceApproximation

    original = AutoLaplaceApproximation.get_posterior

    def collapsed(self, params):
        import numpyro.distributions as dist

        post = original(self, params)
        return dist.MultivariateNormal(
            post.loc, scale_tril=0.0 * post.scale_tril, validate_args=False
        )

    monkeypatch.setattr(AutoLaplaceApproximation, "get_posterior", collapsed)
    with pytest.raises(RuntimeError, match="degenerate"):
        _fit(X, y, method="svi", guide="laplace", num_steps=1000)


def test_plateau_criterion():
    rng = np.random.default_rng(0)
    flat = 100 + rng.normal(0, 3, 2 * inf._SVI_WINDOW)
    falling = np.linspace(200, 100, 2 * inf._SVI_WINDOW) + rng.normal(0, 1, 2 * inf._SVI_WINDOW)
    assert inf._plateau(flat)
    assert not inf._plateau(falling)
    assert not inf._plateau(flat[: inf._SVI_WINDOW])
    assert not inf._plateau(np.r_[flat[:-1], np.nan])
