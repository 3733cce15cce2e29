"""Pairwise differences of the rows of an effects table: between conditions or treatment levels.

A frequentist estimator gives the estimates of its effects with their
covariance (``_effect_covariance``); a Bayesian one gives their joint posterior
draws (``effect_draws``). Either way a difference of two effects is a linear
contrast of them: its standard error comes from the covariance, its interval
and probability of being positive from the differences of the draws.
"""

import numpy as np
import pandas as pd
from scipy import stats

from bwestimators.exceptions import InputError

ADJUSTMENTS = ("holm", "bonferroni", None)


def adjusted_p(p, method):
    """p-values adjusted for multiple comparisons (Holm's step-down or Bonferroni).

    Parameters
    ----------
    p : array-like of float
    method : {"holm", "bonferroni"} or None

    Returns
    -------
    ndarray
        Adjusted p-values, at most 1; ``p`` itself when ``method`` is None.

    Examples
    --------
    >>> adjusted_p([0.01, 0.04, 0.03], "holm").round(2).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p, dtype=float)
    if method is None or p.size == 0:
        return p.copy()
    m = p.size
    if method == "bonferroni":
        return np.minimum(p * m, 1.0)
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate(p[order] * (m - np.arange(m)))
    out = np.empty(m)
    out[order] = np.minimum(stepped, 1.0)
    return out


def _labels(effects, columns):
    """One label per effects row: the value of a single column, or the values joined by ", "."""
    if len(columns) == 1:
        return effects[columns[0]].tolist()
    return [", ".join(map(str, row)) for row in effects[columns].itertuples(index=False)]


def _pairs(effects, est, by):
    """The pairs of rows to compare, their sides' labels and the shared columns.

    Returns
    -------
    rows : ndarray of int, shape (n_pairs, 2)
        Indices ``(a, b)`` into the rows of ``effects``; ``b = -1`` stands for
        the reference level (effect 0) for ``by="treatment"``.
    shared : DataFrame
        The columns both sides share, one row per pair.
    sides : dict
        Column name to the labels of each side, one per pair.
    """
    conditions = list(est.condition_columns_)
    categorical = "treatment_level" in effects.columns
    if by == "condition":
        if not conditions:
            raise InputError(
                "pairwise_effects(by='condition') needs a condition: this fit has one effect "
                "per treatment level only. Give ColumnSpec(..., condition=...), or use "
                "by='treatment' for a categorical treatment."
            )
        keys = effects["treatment_level"].tolist() if categorical else [None] * len(effects)
        labels = _labels(effects, conditions)
        side, shared_col = "condition", (["treatment_level"] if categorical else [])
    else:
        if not categorical:
            kind = effects.attrs.get("treatment_kind", "binary")
            raise InputError(
                f"pairwise_effects(by='treatment') compares levels of a categorical treatment "
                f"(three or more levels); this treatment is {kind}, with one effect per "
                "condition. Use by='condition'."
            )
        keys = _labels(effects, conditions) if conditions else [None] * len(effects)
        labels = effects["treatment_level"].tolist()
        side, shared_col = "treatment_level", conditions
    rows, a_labels, b_labels = [], [], []
    for key in dict.fromkeys(keys):
        members = [i for i, k in enumerate(keys) if k == key]
        if by == "treatment":  # the reference, index -1: effect 0 in every condition
            members = [-1, *members]
        for i in range(len(members)):
            for j in range(i):
                a, b = members[i], members[j]  # a > b >= -1: a is a row of effects
                rows.append((a, b))
                a_labels.append(labels[a])
                b_labels.append(effects.attrs.get("reference") if b < 0 else labels[b])
    if not rows:
        raise InputError(
            f"pairwise_effects(by={by!r}) found no pair to compare: every "
            f"{'condition' if by == 'condition' else 'condition has one treatment level'}."
        )
    rows = np.asarray(rows)
    shared = effects.iloc[rows[:, 0]][shared_col].reset_index(drop=True)
    return rows, shared, {f"{side}_a": a_labels, f"{side}_b": b_labels}


def _contrasts(rows, n):
    """Contrast matrix (a minus b) over ``n`` effects; ``b = -1`` is the reference (effect 0)."""
    L = np.zeros((len(rows), n))
    for r, (a, b) in enumerate(rows):
        L[r, a] += 1.0
        if b >= 0:
            L[r, b] -= 1.0
    return L


def _frequentist(est, L, adjust):
    """Estimate, standard error, interval and (adjusted) p-value of each contrast."""
    values, cov, df = est._effect_covariance()
    diff = L @ np.asarray(values, dtype=float)
    se = np.sqrt(np.einsum("ij,jk,ik->i", L, np.asarray(cov, dtype=float), L))
    stat = diff / se
    dist = stats.norm if df is None else stats.t(df)
    q = dist.ppf(1 - est.alpha / 2)
    p = 2 * dist.sf(np.abs(stat))
    return {
        "estimate": diff,
        "std_error": se,
        "lower": diff - q * se,
        "upper": diff + q * se,
        "p_value": p,
        "p_adjusted": adjusted_p(p, adjust),
    }


def _bayesian(est, L):
    """Posterior mean, sd, HDI and probability of being positive of each contrast's draws."""
    from bwestimators._summaries import summarize_draws

    draws = np.asarray(est.effect_draws(), dtype=float) @ L.T
    s = summarize_draws(draws[None], est.hdi_prob, with_diagnostics=False)
    return {
        "estimate": s["mean"],
        "std_error": s["sd"],
        "lower": s["lower"],
        "upper": s["upper"],
        "prob_positive": s["prob_positive"],
    }


def pairwise_table(est, by="condition", adjust="holm"):
    """The table of :meth:`~bwestimators._base.EffectsEstimatorMixin.pairwise_effects`.

    Parameters
    ----------
    est : fitted estimator
        With ``effects_`` and either ``_effect_covariance()`` (frequentist:
        estimates, covariance and residual degrees of freedom or None, aligned
        with the rows of ``effects_``) or ``effect_draws()`` (Bayesian).
    by : {"condition", "treatment"}
    adjust : {"holm", "bonferroni"} or None

    Returns
    -------
    DataFrame
    """
    if by not in ("condition", "treatment"):
        raise InputError(f"by must be 'condition' or 'treatment', got {by!r}.")
    if adjust not in ADJUSTMENTS:
        raise InputError(f"adjust must be 'holm', 'bonferroni' or None, got {adjust!r}.")
    effects = est.effects_
    rows, shared, sides = _pairs(effects, est, by)
    L = _contrasts(rows, len(effects))
    if hasattr(est, "_effect_covariance"):
        numbers = _frequentist(est, L, adjust)
    elif hasattr(est, "effect_draws"):
        numbers = _bayesian(est, L)
    else:
        raise InputError(f"{type(est).__name__} gives neither a covariance nor draws of effects.")
    table = pd.concat([shared, pd.DataFrame(sides), pd.DataFrame(numbers)], axis=1)
    table.attrs = {**effects.attrs, "by": by, "adjust": adjust if "p_adjusted" in table else None}
    return table
