"""Predictive densities that integrate over random effects left unknown (new groups).

The random effects a prediction does not know (the effects of a group, group2
level or condition unseen at fit time) enter the linear predictor of a row as
``sum_j Z[i, j] * eta_j`` with independent ``eta_j ~ Normal(0, sd_j^2)``
(``Z[i, j]``: 1 for an intercept, the treatment for a slope). Rows that share a
new level share its ``eta_j``, so their predictive distribution is joint:

- normal observations: ``y ~ MVN(mu, sigma^2 I + Z diag(sd^2) Z')``, evaluated
  in O(rows * q^2) with the matrix determinant lemma and Woodbury's identity
  (q: the number of new levels, small), never forming the rows x rows matrix;
- other observations: Monte Carlo over ``eta`` (per posterior draw).

Everything here works on arrays (no estimator, no jax).
"""

import numpy as np
from scipy.special import logsumexp

#: Gauss-Hermite nodes (probabilists') for integrating one row over its new effects.
GH_NODES = 32


def gauss_hermite():
    """Nodes and normalized weights for ``E[f(u)]``, ``u ~ Normal(0, 1)``."""
    x, w = np.polynomial.hermite_e.hermegauss(GH_NODES)
    return x, w / w.sum()


def design_columns(terms, labels, n_rows):
    """The columns of ``Z`` for a set of rows: one per (effect, level) pair among them.

    Parameters
    ----------
    terms : list of (key, z, role)
        ``key`` names the effect (its sd), ``z`` (rows,) is the row's multiplier
        (0 where the effect is known), ``role`` names the level labels it varies over.
    labels : dict of role to ndarray
        Level labels of each row (rows sharing a label share the effect).
    n_rows : int

    Returns
    -------
    Z : ndarray of shape (rows, q)
    keys : list of str, length q
        The effect of each column (to look up its sd).
    """
    cols, keys = [], []
    for key, z, role in terms:
        active = z != 0
        if not active.any():
            continue
        lab = labels.get(role)
        if lab is None:
            lab = np.zeros(len(z), dtype=np.int64)
        codes, uniques = factorize(lab[active])
        block = np.zeros((len(z), len(uniques)))
        block[np.flatnonzero(active), codes] = z[active]
        cols.append(block)
        keys.extend([key] * len(uniques))
    if not cols:
        return np.zeros((n_rows, 0)), []
    return np.concatenate(cols, axis=1), keys


def factorize(values):
    """Integer codes (in order of appearance, missing values a level too) and the levels."""
    import pandas as pd

    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)
    return codes, uniques


def role_labels(spec, X, Z, labels=None):
    """Level labels of group, group2 and condition per row, to tell new levels apart.

    A ColumnSpec codes levels unseen at fit time as missing, so several new
    groups look alike in its output. ``labels`` (role to array) wins; else the
    raw column of X that ``spec`` names; else the role column of ``Z`` (the
    ColumnSpec output: all unseen levels of a role then share one label).

    Parameters
    ----------
    spec : ColumnSpec or None
    X : DataFrame or None
        The raw data (or None).
    Z : DataFrame
        The ColumnSpec output for the same rows.
    labels : dict or None

    Returns
    -------
    dict of role to ndarray of object
    """
    out = {}
    for role in ("group", "group2", "condition"):
        column = getattr(spec, role, None) if spec is not None else None
        if labels is not None and labels.get(role) is not None:
            out[role] = np.asarray(labels[role], dtype=object)
        elif isinstance(column, str) and hasattr(X, "columns") and column in X.columns:
            out[role] = X[column].astype(object).to_numpy()
        elif role in Z.columns:
            out[role] = Z[role].astype(object).to_numpy()
    return out


def lowrank_normal_logpdf(n, rr, ztr, ztz, var, sd):
    """Joint normal log density of rows, ``MVN(0, var I + Z diag(sd^2) Z')`` at a residual r.

    Takes the residual's sufficient statistics, so rows can be accumulated in blocks.

    Parameters
    ----------
    n : int
        Number of rows.
    rr : ndarray of shape (draws,)
        ``r'r`` per draw (r: observations minus their mean).
    ztr : ndarray of shape (draws, q)
        ``Z'r`` per draw.
    ztz : ndarray of shape (q, q)
        ``Z'Z``.
    var : ndarray of shape (draws,)
        Residual variance per draw.
    sd : ndarray of shape (draws, q)
        Standard deviation of each column's effect per draw.

    Returns
    -------
    ndarray of shape (draws,)

    Notes
    -----
    With ``B = Z diag(sd)`` and ``M = I + B'B / var``:
    ``log det Sigma = n log var + log det M`` (matrix determinant lemma) and
    ``r' Sigma^-1 r = r'r / var - w' M^-1 w`` with ``w = B'r / var`` (Woodbury).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import stats
    >>> Z, r = np.ones((3, 1)), np.array([[0.5, -0.2, 0.1]])
    >>> value = lowrank_normal_logpdf(3, (r**2).sum(1), r @ Z, Z.T @ Z, np.array([1.0]),
    ...                               np.array([[2.0]]))
    >>> cov = np.eye(3) + 4.0 * Z @ Z.T
    >>> bool(np.isclose(value[0], stats.multivariate_normal(np.zeros(3), cov).logpdf(r[0])))
    True
    """
    var = np.asarray(var, dtype=float)
    out = -0.5 * (n * np.log(2 * np.pi * var) + rr / var)
    if ztz.shape[0] == 0:
        return out
    sd = np.asarray(sd, dtype=float)
    q = ztz.shape[0]
    M = np.eye(q) + sd[:, :, None] * ztz[None] * sd[:, None, :] / var[:, None, None]
    w = sd * ztr / var[:, None]
    L = np.linalg.cholesky(M)
    logdet = 2 * np.log(np.diagonal(L, axis1=1, axis2=2)).sum(axis=1)
    v = np.linalg.solve(L, w[..., None])[..., 0]
    return out - 0.5 * (logdet - np.einsum("sq,sq->s", v, v))


def log_mean_exp(values, axis=0):
    """``log(mean(exp(values)))`` along an axis, stably."""
    values = np.asarray(values, dtype=float)
    return logsumexp(values, axis=axis) - np.log(values.shape[axis])
