"""Posterior draws of the slope model turned into rows and effects (numpy, no jax).

The linear predictor of rows from the draws of
:func:`bwestimators.models.slope_model`'s sites, and the treatment effect per
condition (and, for a categorical treatment, per non-reference level).
"""

import numpy as np


def take(values, idx, dummy=None):
    """Draws (draws x rows) of the levels ``idx`` (rows), 0 where a level is unseen (-1).

    ``dummy`` (one per row): the dummy of a categorical treatment to read from
    ``values`` of shape (draws, levels, dummies).
    """
    ix = np.clip(idx, 0, None)
    picked = values[:, ix] if dummy is None else values[:, ix, dummy]
    return np.where(idx[None, :] >= 0, picked, 0.0)


def population(draws, fixed, per_condition):
    """The population-level intercept or slope: the fixed one, else the mean over conditions.

    ``draws`` of shape (chains, draws, ...), the conditions on axis 2.
    """
    if fixed in draws:
        return draws[fixed]
    return draws[per_condition].mean(axis=2)


def row_mu(draws, codes, t, n_levels=0):
    """Linear predictor (draws x rows) from flat draws of the slope model's sites.

    Parameters
    ----------
    draws : dict of ndarray
        Draws (draws, ...) of ``alpha``, ``beta``, ``a_group``, ``b_group``,
        ``a_group2``, ``a_condition``, ``b_condition`` (those present).
    codes : dict of ndarray
        Row codes ``g``, ``g2``, ``c`` (-1: a level unseen at fit time).
    t : ndarray
        The treatment per row (the level index 0..k-1 of a categorical one).
    n_levels : int, default=0
        Levels k of a categorical treatment (slopes with a last axis of k - 1
        reference-coded dummies); 0 for a binary or continuous one.

    Returns
    -------
    mu : ndarray of shape (n_draws, n_rows)
    """
    n = len(t)
    dummy, x = None, t
    if n_levels:
        level = np.asarray(t).astype(np.int64)
        dummy, x = np.clip(level - 1, 0, None), (level > 0).astype(float)
    if "alpha" in draws:
        mu = np.repeat(draws["alpha"][:, None], n, axis=1)
        if "a_condition" in draws:
            mu = mu + take(draws["a_condition"], codes["c"])
    else:
        mu = take(draws["a_condition"], codes["c"])
    if "beta" in draws:
        beta = draws["beta"]
        slope = beta[:, dummy] if n_levels else np.repeat(beta[:, None], n, axis=1)
        if "b_condition" in draws:
            slope = slope + take(draws["b_condition"], codes["c"], dummy)
    else:
        slope = take(draws["b_condition"], codes["c"], dummy)
    if "a_group" in draws:
        mu = mu + take(draws["a_group"], codes["g"])
    if "b_group" in draws:
        slope = slope + take(draws["b_group"], codes["g"], dummy)
    if "a_group2" in draws:
        mu = mu + take(draws["a_group2"], codes["g2"])
    return mu + slope * x[None, :]


def effect_draws(draws, n_conditions, n_levels=0):
    """Draws (chains, draws, rows) of the treatment effect per row of ``effects_``.

    One row per condition (one without a condition); for a categorical
    treatment of k levels, one row per (condition, non-reference level),
    condition-major. On the model's internal scale.
    """
    cat = n_levels > 0
    if "beta" in draws:
        slopes = draws["beta"][..., None, :] if cat else draws["beta"][..., None]
        if "b_condition" in draws:
            slopes = slopes + draws["b_condition"]
        elif n_conditions:
            slopes = np.repeat(slopes, n_conditions, axis=2)
    else:
        slopes = draws["b_condition"]
    return slopes.reshape(*slopes.shape[:2], -1)
