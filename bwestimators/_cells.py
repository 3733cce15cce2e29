"""The model data of a Bayesian fit: rows collapsed to cells, padded shapes, prior constants,
and the choice of parameterization (which random effects are centered).

Pure numpy; the numpyro models read the arrays made here (see
:mod:`bwestimators.models._slope` for their meaning).
"""

import numpy as np

#: Default prior scales (on the internal scale); ``priors=`` overrides them by name.
DEFAULT_PRIORS = {
    "intercept_scale": 2.5,
    "slope_scale": 2.5,
    "sd_scale": 1.0,
    "residual_scale": 1.0,
}

_ROLE_KEYS = {"group": "g", "group2": "g2", "condition": "c"}


def bucket(n):
    """Padded size for n cells: the next of 8, 12, 16, 24, 32, 48, ... (at most 1.5x)."""
    size = 8
    while size < n:
        size = size * 3 // 2 if size & (size - 1) == 0 else size * 4 // 3
    return size


def nested(inner, outer):
    """Whether every level of ``inner`` lies within a single level of ``outer``."""
    inner, outer = np.asarray(inner, dtype=np.int64), np.asarray(outer, dtype=np.int64)
    base = int(outer.max(initial=0)) + 1
    levels = np.unique(inner * base + outer) // base
    return bool(len(levels) == len(np.unique(levels)))


def informative(keys, z, t):
    """Median rows per level times the between-level over the within-level variance of z.

    The within-level variance is pooled within (level, treatment) cells, so a
    treatment effect does not count as noise; the between-level variance is the
    method-of-moments estimate (variance of the level means less their
    sampling variance), so pure noise scores 0.
    """
    _, level = np.unique(keys, return_inverse=True)
    t_values, t_code = np.unique(t, return_inverse=True)
    cell = level.ravel() * len(t_values) + t_code.ravel()
    n_cell = np.bincount(cell)
    sum_cell = np.bincount(cell, weights=z)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_cell = sum_cell / n_cell
        dev = np.bincount(cell, weights=(z - mean_cell[cell]) ** 2, minlength=len(n_cell))
        var_cell = dev / (n_cell - 1)
    within = var_cell[n_cell > 1].mean() if (n_cell > 1).any() else np.nan
    size = np.bincount(level.ravel()).astype(float)
    if not np.isfinite(within) or within <= 0 or len(size) < 2:
        return 0.0
    means = np.bincount(level.ravel(), weights=z) / size
    between = means.var(ddof=1) - within * np.mean(1.0 / size)
    return float(np.median(size) * max(between, 0.0) / within)


def unique_rows(codes, t):
    """The distinct (codes, treatment) rows: their first positions and each row's index.

    Hash-based (pandas), so millions of rows cost a fraction of a second.

    Returns
    -------
    first : ndarray of int
        Position of the first row of each distinct combination, in order of appearance.
    inverse : ndarray of int
        For every row, the index of its combination in ``first``.
    """
    import pandas as pd

    frame = pd.DataFrame({**codes, "t": t})
    inverse = frame.groupby(list(frame.columns), sort=False).ngroup().to_numpy()
    first = np.full(inverse.max(initial=-1) + 1, len(inverse))
    np.minimum.at(first, inverse, np.arange(len(inverse)))
    return first, inverse


def collapse(codes, t, z, family):
    """Rows collapsed to cells (collapsible families) or kept one per cell, then padded.

    Sums are taken in float64; the arrays handed to jax are float32, with the
    within-cell sum of squares centered on each cell's mean.

    Returns
    -------
    cells : dict of ndarray
        ``g``, ``g2``, ``c`` (codes), ``t``, ``n``, ``ybar``, ``ss``, padded to
        :func:`bucket` of the number of cells, and the 0-d ``log_var_ref`` (log
        of the pooled within-cell variance, the reference of the normal cell
        likelihood).
    """
    if family.collapsible:
        first, inverse = unique_rows(codes, t)
        n = np.bincount(inverse).astype(float)
        ybar = np.bincount(inverse, weights=z) / n
        ss = np.bincount(inverse, weights=(z - ybar[inverse]) ** 2)
        cell_codes = {k: v[first] for k, v in codes.items()}
        cell_t = t[first]
    else:
        n, ybar, ss = np.ones(len(t)), z, np.zeros(len(t))
        cell_codes, cell_t = codes, t
    # reference variance of the normal cell likelihood (see models._likelihoods._normal_cells)
    ref = ss.sum() / n.sum() if family.collapsible and ss.sum() > 0 else 1.0
    pad = bucket(len(n)) - len(n)
    cells = {k: np.pad(v, (0, pad)).astype(np.int32) for k, v in cell_codes.items()}
    for name, values in (("t", cell_t), ("n", n), ("ybar", ybar), ("ss", ss)):
        cells[name] = np.pad(values, (0, pad)).astype(np.float32)
    cells["log_var_ref"] = np.float32(np.log(ref))
    return cells


def prior_constants(priors, family, y, t):
    """The 0-d prior constants of the model data (``alpha_loc``, ``beta_scale``, ...)."""
    priors = {**DEFAULT_PRIORS, **(priors or {})}
    return {
        "alpha_loc": family.intercept_location(y),
        "alpha_scale": priors["intercept_scale"],
        "beta_scale": priors["slope_scale"] / (float(np.std(t)) or 1.0),
        "sd_scale": priors["sd_scale"],
        "resid_scale": priors["residual_scale"],
    }


def choose_centered(parameterization, codes, z, t, family, method):
    """Roles whose random effects are centered (a tuple, part of the model configuration).

    ``"auto"``: a role is centered when the data inform its levels strongly
    (:func:`informative` above 1), except a grouping whose conditions are
    nested in it (each condition level within one group): the condition
    effects then absorb most of its variation, and it stays non-centered.
    SVI fits, and families whose data inform effects weakly (binary), are
    non-centered.
    """
    if parameterization != "auto":
        return tuple(_ROLE_KEYS) if parameterization == "centered" else ()
    if method == "svi" or not family.centering_allowed:
        return ()
    proxy = family.link_proxy(z)
    has_cond = "c" in codes and codes["c"].max() > 0
    centered = []
    for role, key in _ROLE_KEYS.items():
        if key not in codes or codes[key].max() == 0:
            continue
        if role != "condition" and has_cond and nested(codes["c"], codes[key]):
            continue
        if informative(codes[key], proxy, t) > 1.0:
            centered.append(role)
    return tuple(centered)
