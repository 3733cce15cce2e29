"""Repeated-measures ANOVA of :class:`~bwestimators.anova.AnovaComparator` (``kind="rm"``).

Every subject (group) is measured at every treatment level in every condition.
A factor treatment (binary or categorical) gets statsmodels' ``AnovaRM`` for the
omnibus F and, per condition and level, a paired t-test over subjects of that
level minus the reference. A continuous treatment gets a least-squares slope
per subject and condition, and a one-sample t-test of the slopes over subjects
(the two-stage "summary statistics" analysis of repeated measures).

In both cases each subject contributes one value per effect (a difference or a
slope), so the covariance of the effects is the sample covariance of those
values over subjects divided by their number, with ``n_subjects - 1`` degrees of
freedom: the paired and one-sample t-tests are its diagonal.
"""

import numpy as np
import pandas as pd
from scipy import stats

from bwestimators.exceptions import InputError


def _t_table(values, alpha):
    """Mean, standard error, t, p-value and interval of each column of ``values`` (subjects x k)."""
    n = values.shape[0]
    est = values.mean(axis=0)
    se = values.std(axis=0, ddof=1) / np.sqrt(n)
    stat = est / se
    q = stats.t.ppf(1 - alpha / 2, n - 1)
    return {
        "estimate": est,
        "std_error": se,
        "stat": stat,
        "p_value": 2 * stats.t.sf(np.abs(stat), n - 1),
        "lower": est - q * se,
        "upper": est + q * se,
    }


def oneway_rm_f(values):
    """F test of equal column means of a subjects x levels matrix (one-way repeated measures).

    Parameters
    ----------
    values : ndarray of shape (n_subjects, k)

    Returns
    -------
    F, df, df_resid, p_value : float

    Examples
    --------
    >>> import numpy as np
    >>> values = np.array([[1.0, 2.0, 4.0], [2.0, 2.5, 5.0], [0.5, 2.0, 3.5]])
    >>> F, df, df_resid, p = oneway_rm_f(values)
    >>> df, df_resid
    (2, 4)
    """
    values = np.asarray(values, dtype=float)
    n, k = values.shape
    grand = values.mean()
    col = values.mean(axis=0)
    row = values.mean(axis=1, keepdims=True)
    ss_level = n * np.sum((col - grand) ** 2)
    ss_error = np.sum((values - row - col + grand) ** 2)
    df, df_resid = k - 1, (n - 1) * (k - 1)
    F = (ss_level / df) / (ss_error / df_resid)
    return float(F), df, df_resid, float(stats.f.sf(F, df, df_resid))


def _within(roles):
    return [roles["treatment"]] + ([roles["condition"]] if "condition" in roles else [])


def _conditions(frame, roles):
    if "condition" not in roles:
        return [None]
    return list(frame[roles["condition"]].cat.categories)


def _rows_of(frame, roles, condition):
    if condition is None:
        return frame
    return frame[frame[roles["condition"]] == condition]


def check_complete(frame, roles, aggregate, continuous):
    """Every subject in every cell (factor) or with two treatment values per condition.

    Raises
    ------
    InputError
        When a subject misses a treatment x condition cell (a factor
        treatment), or has fewer than two treatment values in a condition (a
        continuous one).
    """
    subject = roles["group"]
    if continuous:
        by = [subject] + ([roles["condition"]] if "condition" in roles else [])
        n_values = frame.groupby(by, observed=False)[roles["treatment"]].nunique()
        short = n_values[n_values < 2]
        if len(short):
            raise InputError(
                "Repeated-measures ANOVA of a continuous treatment fits a slope per subject "
                "(group) and condition, which needs two or more treatment values in each; "
                f"{', '.join(map(str, short.index[:3]))} have fewer. Drop those subjects or "
                "use the LMEComparator for unbalanced data."
            )
        return
    counts = frame.groupby([subject, *_within(roles)], observed=False).size()
    if (counts == 0).any() or (aggregate is None and counts.nunique() > 1):
        missing = counts[counts == 0]
        where = ", ".join(map(str, missing.index[:3])) if len(missing) else "unequal counts"
        raise InputError(
            "Repeated-measures ANOVA needs every subject (group) in every treatment x "
            f"condition cell ({where}); use aggregate='group' for unequal trial counts, "
            "drop incomplete subjects, or use the LMEComparator for unbalanced data."
        )


def fit_factor(frame, roles, n_levels, alpha):
    """``AnovaRM`` and the paired differences of every level against the reference.

    Parameters
    ----------
    frame : DataFrame
        The (aggregated) working frame; the treatment holds level codes 0..k-1.
    roles : dict
    n_levels : int
        Number of treatment levels k.
    alpha : float

    Returns
    -------
    dict
        ``result`` (AnovaResults), ``table`` (its ANOVA table, renamed),
        ``effects`` (per condition and non-reference level, condition-major),
        ``per_subject`` (subjects x effects: the differences), ``omnibus`` (per
        condition: F of the treatment levels within it), ``cell_means``.
    """
    from statsmodels.stats.anova import AnovaRM

    subject, t, within = roles["group"], roles["treatment"], _within(roles)
    counts = frame.groupby([subject, *within], observed=False).size()
    rm_frame = frame.copy()
    for col in (subject, *within):
        rm_frame[col] = rm_frame[col].astype(str)
    result = AnovaRM(
        rm_frame,
        roles["y"],
        subject,
        within=within,
        aggregate_func="mean" if counts.max() > 1 else None,
    ).fit()
    table = result.anova_table.rename(
        columns={"F Value": "F", "Num DF": "df", "Den DF": "df_resid", "Pr > F": "PR(>F)"}
    )
    columns, omnibus = [], []
    for condition in _conditions(frame, roles):
        rows = _rows_of(frame, roles, condition)
        wide = rows.groupby([subject, t], observed=True)[roles["y"]].mean().unstack(t)
        wide = wide[sorted(wide.columns)].to_numpy()
        columns.append(wide[:, 1:] - wide[:, :1])
        omnibus.append(oneway_rm_f(wide))
    per_subject = np.concatenate(columns, axis=1)
    means = frame.groupby(within, observed=True, sort=True)[roles["y"]].mean()
    return {
        "result": result,
        "table": table,
        "effects": _t_table(per_subject, alpha),
        "per_subject": per_subject,
        "omnibus": omnibus,
        "cell_means": means.rename("estimate").reset_index(),
    }


def _slope(t, y):
    """Least-squares intercept and slope of y on t."""
    tc = t - t.mean()
    b = float(np.sum(tc * (y - y.mean())) / np.sum(tc**2))
    return float(y.mean() - b * t.mean()), b


def fit_slopes(frame, roles, alpha):
    """Slopes per subject and condition, and their t-tests over subjects.

    Returns
    -------
    dict
        ``table`` (F = t² of the mean slope over conditions, and with a
        condition the one-way repeated-measures F of the slopes across
        conditions), ``effects`` (per condition), ``per_subject`` (subjects x
        conditions: the slopes), ``lines`` (per condition the mean intercept and
        slope), ``cell_means`` (the lines at the treatment values seen).
    """
    subject, t, y = roles["group"], roles["treatment"], roles["y"]
    subjects = list(frame[subject].cat.categories) if hasattr(frame[subject], "cat") else None
    slopes, lines = [], []
    for condition in _conditions(frame, roles):
        rows = _rows_of(frame, roles, condition)
        fits = {
            g: _slope(d[t].to_numpy(float), d[y].to_numpy(float))
            for g, d in rows.groupby(subject, observed=True, sort=True)
        }
        keys = [g for g in (subjects or sorted(fits)) if g in fits]
        slopes.append([fits[g][1] for g in keys])
        lines.append((np.mean([fits[g][0] for g in keys]), np.mean([fits[g][1] for g in keys])))
    per_subject = np.asarray(slopes, dtype=float).T
    overall = _t_table(per_subject.mean(axis=1, keepdims=True), alpha)
    n = per_subject.shape[0]
    F = float(overall["stat"][0] ** 2)
    rows = {t: [F, 1, n - 1, float(overall["p_value"][0])]}
    if "condition" in roles and per_subject.shape[1] > 1:
        rows[f"{t}:{roles['condition']}"] = list(oneway_rm_f(per_subject))
    table = pd.DataFrame.from_dict(rows, orient="index", columns=["F", "df", "df_resid", "PR(>F)"])
    cells = frame[_within(roles)].drop_duplicates().sort_values(_within(roles))
    cells = cells.reset_index(drop=True)
    index = (
        cells[roles["condition"]].cat.codes.to_numpy()
        if "condition" in roles
        else np.zeros(len(cells), dtype=int)
    )
    a, b = np.asarray(lines).T
    cells["estimate"] = a[index] + b[index] * cells[t].to_numpy(float)
    return {
        "result": None,
        "table": table,
        "effects": _t_table(per_subject, alpha),
        "per_subject": per_subject,
        "lines": np.asarray(lines),
        "cell_means": cells,
    }


def effect_covariance(per_subject):
    """Covariance of the mean of per-subject effect values, and its degrees of freedom."""
    n = per_subject.shape[0]
    cov = np.atleast_2d(np.cov(per_subject, rowvar=False, ddof=1)) / n
    return per_subject.mean(axis=0), cov, n - 1
