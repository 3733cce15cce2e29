"""Pareto-smoothed importance sampling (PSIS) of draws from an approximation.

Draws ``theta_s`` from a proposal ``q`` are reweighted towards a target ``p``
by the importance ratios ``p(theta_s) / q(theta_s)``, whose largest values are
replaced by the order statistics of a generalized Pareto fit (Vehtari et al.
2024, "Pareto smoothed importance sampling", JMLR 25). The shape estimate
``k`` of that fit says how far the weights can be trusted: below 0.7 the
weighted draws estimate posterior expectations well, above it they do not.
Corrected variational inference (Yao et al. 2018, "Yes, but did it work?")
resamples the guide's draws by these weights.
"""

import numpy as np

#: Pareto k-hat above which importance weights are unusable (Vehtari et al. 2024).
MAX_PARETO_K = 0.7


def psis_weights(log_ratios):
    """Pareto-smoothed, normalized importance log-weights and their k-hat.

    Parameters
    ----------
    log_ratios : array-like of shape (n,)
        ``log p(theta) - log q(theta)`` of draws from ``q``, up to a constant.

    Returns
    -------
    log_weights : ndarray of shape (n,)
        Smoothed log-weights, normalized (``logsumexp`` 0); all ``-log n`` when
        the ratios are not finite.
    k : float
        The Pareto k-hat; ``inf`` when a ratio is not finite.

    Examples
    --------
    A proposal wider than the target gives bounded weights (small k-hat),
    a narrower one heavy-tailed weights (for sd 0.4 against 1, k = 1 - 0.4**2):

    >>> import numpy as np
    >>> from scipy import stats
    >>> x = np.random.default_rng(0).normal(0, 2, 4000)
    >>> lw, k = psis_weights(stats.norm.logpdf(x) - stats.norm.logpdf(x, 0, 2))
    >>> bool(k < 0.5), bool(np.isclose(np.exp(lw).sum(), 1))
    (True, True)
    >>> y = np.random.default_rng(0).normal(0, 0.4, 4000)
    >>> bool(psis_weights(stats.norm.logpdf(y) - stats.norm.logpdf(y, 0, 0.4))[1] > 0.7)
    True
    """
    from bwestimators._arviz import array_stats

    lr = np.asarray(log_ratios, dtype=float).ravel()
    if not np.all(np.isfinite(lr)):
        return np.full(lr.shape, -np.log(lr.size)), float("inf")
    # arviz_stats' psislw takes log-likelihoods, as PSIS-LOO does: it smooths the
    # weights exp(-input), so the log ratios go in negated
    log_weights, k = array_stats().psislw(-(lr - lr.max()), r_eff=1.0)
    return np.asarray(log_weights, dtype=float), float(k)


def psis_ess(log_weights):
    """Effective sample size ``1 / sum(w**2)`` of normalized log-weights.

    Examples
    --------
    >>> float(psis_ess(np.log(np.full(100, 0.01))))
    100.0
    """
    w = np.exp(np.asarray(log_weights, dtype=float))
    w = w / w.sum()
    return float(1.0 / np.sum(w**2))


def resample_ess(ess, n):
    """Effective sample size of ``n`` draws resampled from weighted draws of ``ess``.

    The mean of the resampled draws has the error of the weighted mean plus that
    of the resampling, ``var / ess + var / n`` (multinomial resampling; the
    systematic resampling of :func:`systematic_resample` errs less), so the
    resampled draws count as ``1 / (1 / ess + 1 / n)`` independent ones.

    Examples
    --------
    >>> resample_ess(4000.0, 4000)
    2000.0
    """
    return 1.0 / (1.0 / float(ess) + 1.0 / int(n))


def systematic_resample(log_weights, n, rng):
    """Indices of ``n`` draws resampled by their weights (systematic resampling), shuffled.

    Each draw of weight ``w`` appears ``floor(n w)`` or ``ceil(n w)`` times,
    the least variance of the unbiased schemes (Douc et al. 2005); the indices
    come in random order, so that no two copies of a draw are neighbours by
    construction.

    Parameters
    ----------
    log_weights : array-like of shape (m,)
    n : int
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of int, shape (n,)

    Examples
    --------
    >>> idx = systematic_resample(np.log([0.5, 0.25, 0.25]), 4, np.random.default_rng(0))
    >>> np.bincount(idx, minlength=3).tolist()
    [2, 1, 1]
    """
    w = np.exp(np.asarray(log_weights, dtype=float))
    cdf = np.cumsum(w / w.sum())
    cdf[-1] = 1.0
    positions = (rng.uniform() + np.arange(n)) / n
    idx = np.searchsorted(cdf, positions, side="right")
    return rng.permutation(np.minimum(idx, len(w) - 1))
