"""PSIS weights, their k-hat and the resampling, against closed forms."""

import numpy as np
from scipy import stats

from bwestimators._psis import psis_ess, psis_weights, resample_ess, systematic_resample


def test_weights_move_draws_to_the_target():
    """Draws of N(0, 1.5) weighted towards N(0.3, 0.9): the target's mean and sd."""
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1.5, 20_000)
    lw, k = psis_weights(stats.norm.logpdf(x, 0.3, 0.9) - stats.norm.logpdf(x, 0, 1.5))
    w = np.exp(lw)
    mean = np.sum(w * x)
    sd = np.sqrt(np.sum(w * (x - mean) ** 2))
    assert k < 0.5  # a wider proposal: bounded weights
    assert abs(mean - 0.3) < 0.03 and abs(sd - 0.9) < 0.03, (mean, sd)
    assert np.isclose(w.sum(), 1.0)
    # the ESS of normal-to-normal weights, closed form: n / E_q[(p/q)^2], where
    # E_q[(p/q)^2] = sq / (sp^2 sqrt(a)) exp(2 mu^2 / (sp^4 a) - mu^2 / sp^2), a = 2/sp^2 - 1/sq^2
    sq, sp, mu = 1.5, 0.9, 0.3
    a = 2 / sp**2 - 1 / sq**2
    second = sq / (sp**2 * np.sqrt(a)) * np.exp(2 * mu**2 / (sp**4 * a) - mu**2 / sp**2)
    assert abs(psis_ess(lw) / (x.size / second) - 1) < 0.03


def test_k_hat_of_the_ratios_not_of_their_inverse():
    """A proposal narrower than the target has heavy-tailed ratios p/q: k-hat above 0.7.

    For q = N(0, s) and p = N(0, 1) the ratios have a Pareto tail of shape
    k = 1 - s**2 (Vehtari et al. 2024, section 3.1): 0.64 at s = 0.6.
    """
    rng = np.random.default_rng(2)
    y = rng.normal(0, 0.6, 20_000)
    _, k = psis_weights(stats.norm.logpdf(y) - stats.norm.logpdf(y, 0, 0.6))
    assert abs(k - 0.64) < 0.1, k
    _, k_inverse = psis_weights(stats.norm.logpdf(y, 0, 0.6) - stats.norm.logpdf(y))
    assert k_inverse < 0.3


def test_weights_not_finite():
    lw, k = psis_weights([0.0, np.nan, 1.0])
    assert k == np.inf and np.allclose(np.exp(lw), 1 / 3)


def test_systematic_resample_counts():
    """Each draw appears floor(n w) or ceil(n w) times, in shuffled order."""
    rng = np.random.default_rng(3)
    w = rng.dirichlet(np.ones(50))
    idx = systematic_resample(np.log(w), 1000, rng)
    counts = np.bincount(idx, minlength=50)
    assert counts.sum() == 1000
    assert np.all(counts >= np.floor(1000 * w)) and np.all(counts <= np.ceil(1000 * w))
    assert not np.all(np.diff(idx) >= 0)  # not sorted


def _resampled_mean_variance(q_mean, q_sd, rng, reps=3000, m=400, n=100):
    """Variance of the mean of n draws resampled from m weighted draws of q, target N(0.3, 0.9)."""
    means, ess = [], []
    for _ in range(reps):
        x = rng.normal(q_mean, q_sd, m)
        lr = stats.norm.logpdf(x, 0.3, 0.9) - stats.norm.logpdf(x, q_mean, q_sd)
        w = np.exp(lr - lr.max())
        w /= w.sum()
        ess.append(1 / np.sum(w**2))
        means.append(x[rng.choice(m, n, p=w)].mean())
    return np.var(means), np.mean(ess)


def test_resample_ess():
    """The ESS of resampled draws: var / ess + var / n for the variance of their mean."""
    rng = np.random.default_rng(4)
    # q = p, equal weights: the variance of the mean is exactly var (1 / m + 1 / n)
    var_mean, ess = _resampled_mean_variance(0.3, 0.9, rng)
    assert np.isclose(ess, 400)
    assert abs(0.81 / var_mean / resample_ess(ess, 100) - 1) < 0.06
    # unequal weights: an ESS that errs low (measured 8 % low), never high
    var_mean, ess = _resampled_mean_variance(0.0, 1.5, rng)
    ratio = 0.81 / var_mean / resample_ess(ess, 100)
    assert 1.0 <= ratio < 1.2, ratio
