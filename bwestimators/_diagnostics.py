"""Rank-normalized split R-hat and bulk/tail effective sample sizes, vectorized over parameters.

The definitions of Vehtari, Gelman, Simpson, Carpenter and Bürkner (2021),
"Rank-normalization, folding, and localization: an improved R-hat", as in
ArviZ, computed for many parameters at once with numpy (ArviZ loops over
parameters, which dominated the cost of a small fit). Tests check the numbers
against ArviZ.
"""

import numpy as np
from scipy import stats


def _split(x):
    """(k, chains, draws) -> (k, 2 * chains, draws // 2)."""
    half = x.shape[-1] // 2
    first, second = x[..., :half], x[..., x.shape[-1] - half :]
    return np.concatenate([first, second], axis=-2)


def _z_scale(x):
    """Rank-normalize each parameter over all its chains and draws."""
    k, m, n = x.shape
    ranks = stats.rankdata(x.reshape(k, -1), axis=-1, method="average")
    return stats.norm.ppf((ranks - 0.375) / (m * n + 0.25)).reshape(k, m, n)


def _rhat(x):
    n = x.shape[-1]
    chain_mean = x.mean(axis=-1)
    chain_var = x.var(axis=-1, ddof=1)
    between = n * chain_mean.var(axis=-1, ddof=1)
    within = chain_var.mean(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(((n - 1) / n * within + between / n) / within)


def _ess(x):
    """ESS of (k, chains, draws) by Geyer's initial monotone sequence, per parameter."""
    m, n = x.shape[1:]
    centered = x - x.mean(axis=-1, keepdims=True)
    size = 1 << int(np.ceil(np.log2(2 * n)))
    f = np.fft.rfft(centered, n=size, axis=-1)
    acov = np.fft.irfft(f * np.conjugate(f), n=size, axis=-1)[..., :n] / n
    chain_mean = x.mean(axis=-1)
    mean_var = acov[..., 0].mean(axis=-1) * n / (n - 1)
    var_plus = mean_var * (n - 1) / n
    if m > 1:
        var_plus = var_plus + chain_mean.var(axis=-1, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = 1.0 - (mean_var[:, None] - acov.mean(axis=1)) / var_plus[:, None]
    rho[:, 0] = 1.0
    n_pairs = (n - 1) // 2
    pairs = rho[:, 0 : 2 * n_pairs : 2] + rho[:, 1 : 2 * n_pairs + 1 : 2]
    positive = np.cumprod(pairs > 0, axis=-1).astype(bool)
    monotone = np.minimum.accumulate(np.where(positive, pairs, np.inf), axis=-1)
    monotone = np.where(positive, monotone, 0.0)
    tau = -1.0 + 2.0 * monotone.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ess = m * n / tau
    return np.minimum(ess, m * n * np.log10(m * n))


def diagnostics(draws):
    """Bulk ESS, tail ESS and rank-normalized R-hat of every parameter.

    Parameters
    ----------
    draws : ndarray of shape (n_chains, n_draws, k)

    Returns
    -------
    ess_bulk, ess_tail, r_hat : ndarray of shape (k,)
    """
    x = np.moveaxis(np.asarray(draws, dtype=float), -1, 0)
    split = _split(x)
    ess_bulk = _ess(_z_scale(split))
    lo, hi = np.quantile(x.reshape(x.shape[0], -1), [0.05, 0.95], axis=-1)
    ess_tail = np.minimum(
        _ess(_split((x <= lo[:, None, None]).astype(float))),
        _ess(_split((x <= hi[:, None, None]).astype(float))),
    )
    if x.shape[1] > 1:
        folded = np.abs(x - np.median(x.reshape(x.shape[0], -1), axis=-1)[:, None, None])
        r_hat = np.maximum(_rhat(_z_scale(split)), _rhat(_z_scale(_split(folded))))
    else:
        r_hat = np.full(x.shape[0], np.nan)
    return ess_bulk, ess_tail, r_hat
