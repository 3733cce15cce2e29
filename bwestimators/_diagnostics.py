"""Rank-normalized split R-hat and bulk/tail effective sample sizes, vectorized over parameters.

The definitions of Vehtari, Gelman, Simpson, Carpenter and Bürkner (2021),
"Rank-normalization, folding, and localization: an improved R-hat", as in
ArviZ, computed for many parameters at once with numpy (ArviZ loops over
parameters, which dominated the cost of a small fit). Tests check the numbers
against ArviZ.
"""

import numpy as np
from scipy import fft, special


def _split(x):
    """(k, chains, draws) -> (k, 2 * chains, draws // 2)."""
    half = x.shape[-1] // 2
    first, second = x[..., :half], x[..., x.shape[-1] - half :]
    return np.concatenate([first, second], axis=-2)


def _ranks(flat):
    """Ranks (1-based, ties averaged) of each row of a 2-d array, as ``rankdata(method="average")``.

    One argsort per row; a tie group gets the mean of its first and last position.
    """
    order = np.argsort(flat, axis=-1)
    ordered = np.take_along_axis(flat, order, axis=-1)
    n = flat.shape[-1]
    pos = np.broadcast_to(np.arange(1.0, n + 1), flat.shape)
    differs = np.diff(ordered, axis=-1) != 0
    edge = np.ones((flat.shape[0], 1), dtype=bool)
    first = np.maximum.accumulate(np.where(np.hstack([edge, differs]), pos, 0.0), axis=-1)
    last_mark = np.where(np.hstack([differs, edge]), pos, n + 1.0)
    last = np.minimum.accumulate(last_mark[:, ::-1], axis=-1)[:, ::-1]
    ranks = np.empty(flat.shape)
    np.put_along_axis(ranks, order, (first + last) / 2, axis=-1)
    return ranks


def _z_scale(x):
    """Rank-normalize each parameter over all its chains and draws."""
    k, m, n = x.shape
    ranks = _ranks(x.reshape(k, -1))
    return special.ndtri((ranks - 0.375) / (m * n + 0.25)).reshape(k, m, n)


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
    # zero padding to 2n - 1 or more makes the circular autocovariance the linear one
    size = fft.next_fast_len(2 * n - 1, real=True)
    f = fft.rfft(centered, n=size, axis=-1)
    acov = fft.irfft(f * np.conjugate(f), n=size, axis=-1)[..., :n] / n
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


def diagnostics(draws, chunk=256):
    """Bulk ESS, tail ESS and rank-normalized R-hat of every parameter.

    Parameters
    ----------
    draws : ndarray of shape (n_chains, n_draws, k)
    chunk : int, default=256
        Parameters computed together (blocks that stay in the CPU cache).

    Returns
    -------
    ess_bulk, ess_tail, r_hat : ndarray of shape (k,)
    """
    x = np.moveaxis(np.asarray(draws, dtype=float), -1, 0)
    parts = [_diagnostics(x[i : i + chunk]) for i in range(0, max(x.shape[0], 1), chunk)]
    return tuple(np.concatenate(p) for p in zip(*parts, strict=True))


def _diagnostics(x):
    """:func:`diagnostics` of (k, chains, draws)."""
    z_split = _z_scale(_split(x))
    ess_bulk = _ess(z_split)
    lo, hi = np.quantile(x.reshape(x.shape[0], -1), [0.05, 0.95], axis=-1)
    ess_tail = np.minimum(
        _ess(_split((x <= lo[:, None, None]).astype(float))),
        _ess(_split((x <= hi[:, None, None]).astype(float))),
    )
    if x.shape[1] > 1:
        folded = np.abs(x - np.median(x.reshape(x.shape[0], -1), axis=-1)[:, None, None])
        r_hat = np.maximum(_rhat(z_split), _rhat(_z_scale(_split(folded))))
    else:
        r_hat = np.full(x.shape[0], np.nan)
    return ess_bulk, ess_tail, r_hat
