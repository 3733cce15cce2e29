"""Highest-density intervals of draws: ArviZ's ``"nearest"`` HDI, vectorized over columns.

The same numbers as ``arviz_stats.base.array_stats.hdi(x, prob)`` (its default
method), in numpy alone: a fit's summaries do not import ArviZ (and xarray).
"""

import numpy as np


def hdi(flat, prob):
    """The narrowest interval between two draws holding ``floor(prob * n)`` of the others.

    Parameters
    ----------
    flat : ndarray of shape (n_draws, k)
        Draws, one column per quantity.
    prob : float
        Probability mass of the interval, in (0, 1].

    Returns
    -------
    interval : ndarray of shape (k, 2)
        Lower and upper bound of each column's interval (the first of the
        narrowest intervals, as ArviZ; NaN draws sort last, as in ArviZ).

    Examples
    --------
    >>> import numpy as np
    >>> from bwestimators._hdi import hdi
    >>> hdi(np.arange(10.0)[:, None], 0.5)
    array([[0., 5.]])
    """
    flat = np.sort(np.asarray(flat), axis=0)
    n = flat.shape[0]
    if n == 0:
        raise ValueError("Too few elements for interval calculation.")
    inc = min(int(np.floor(prob * n)), n - 1)
    width = np.subtract(flat[inc:], flat[: n - inc], dtype=np.float64)
    lower = np.argmin(width, axis=0)
    columns = np.arange(flat.shape[1])
    return np.stack([flat[lower, columns], flat[lower + inc, columns]], axis=-1)
