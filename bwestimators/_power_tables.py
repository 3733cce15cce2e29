"""Tables from the results of a power sweep: power, false positives, ROC, sample sizes.

Every table leaves out, by default, the fits that did not converge (``converged``
False in the results, see :func:`bwestimators.power.fit_converged`) and reports
how many there were; ``include_unconverged=True`` counts them like the others.
"""

import numpy as np
import pandas as pd

from bwestimators.exceptions import InputError

#: Effects-table columns copied into the results, in the order of the results table.
_RESULT_ORDER = (
    "estimate",
    "std_error",
    "z",
    "t",
    "p_value",
    "lower",
    "upper",
    "prob_positive",
    "ess_bulk",
    "ess_tail",
    "r_hat",
)
_ROW_HEAD = ("estimator",)
_ROW_BASE = ("true_effect", "grid_index", "repeat", "seed", "error", "warnings")
_ROW_TAIL = ("detected", "score", "converged", "fit_seconds")
#: Column of a checkpoint with the digest of the sweep that wrote the row (its last column).
_SWEEP_COLUMN = "sweep"
#: Columns of a results table that are not grid parameters (a grid parameter may not have one
#: of these names).
_NOT_GRID = frozenset({*_ROW_HEAD, *_ROW_BASE, *_RESULT_ORDER, *_ROW_TAIL, _SWEEP_COLUMN})

#: Binomial intervals of a rate: scipy's ``proportion_ci`` method per name.
_INTERVALS = {"wilson": "wilson", "clopper-pearson": "exact"}

#: Extended dimensions of a sweep from pilot data, in the order ``sample_size_table`` tries.
_DESIGN_COLUMNS = ("n_group", "n_detail")


def _grid_columns(results):
    return [c for c in results.columns if c not in _NOT_GRID]


def _converged(results):
    """Boolean Series: the fit converged (True for results without the column)."""
    if "converged" not in results:
        return pd.Series(True, index=results.index)
    return results["converged"].astype("boolean").fillna(False).astype(bool)


def _usable(results, column, include_unconverged):
    ok = results[column].notna()
    if not include_unconverged:
        ok &= _converged(results)
    return results[ok]


def _rate_interval(k, n, confidence, interval):
    from scipy.stats import binomtest

    if interval not in _INTERVALS:
        raise InputError(f"interval must be one of {sorted(_INTERVALS)}, got {interval!r}.")
    if not n:
        return np.nan, np.nan
    ci = binomtest(k, n).proportion_ci(confidence, method=_INTERVALS[interval])
    return float(ci.low), float(ci.high)


def power_table(results, *, by=None, confidence=0.95, interval="wilson", include_unconverged=False):
    """Detection rate per estimator and grid point, with a binomial interval.

    Parameters
    ----------
    results : DataFrame
        Output of :meth:`PowerSimulation.run`.
    by : list of str or None
        Grouping columns; default: ``estimator`` and every grid column.
    confidence : float, default=0.95
        Level of the interval of the rate.
    interval : {"wilson", "clopper-pearson"}, default="wilson"
        The binomial interval: Wilson's score interval, or Clopper-Pearson's
        exact one (wider, never below its level).
    include_unconverged : bool, default=False
        Count the fits that did not converge (``converged`` False) like the
        others. By default they are left out of ``n`` and the rate.

    Returns
    -------
    table : DataFrame
        ``by`` columns, ``n`` (fits counted), ``detected``, ``rate``,
        ``lower``, ``upper``, ``errors`` (failed fits), ``unconverged``
        (successful fits that did not converge, counted or not) and
        ``unconverged_share`` (their share of the successful fits).
        ``table.attrs`` has ``interval`` and ``confidence`` (for the legends
        of :class:`~bwestimators.display.PowerCurveDisplay`).

    Examples
    --------
    >>> import pandas as pd
    >>> from bwestimators.power import power_table
    >>> results = pd.DataFrame({"estimator": "lme", "true_effect": 1.0,
    ...                         "detected": [True, True, False, True],
    ...                         "converged": [True, True, True, False]})
    >>> power_table(results)[["n", "detected", "rate", "unconverged"]].to_dict("records")
    [{'n': 3, 'detected': 2, 'rate': 0.6666666666666666, 'unconverged': 1}]
    """
    by = list(by or ["estimator", *_grid_columns(results)])
    converged = _converged(results)
    rows = []
    for key, g in results.groupby(by, sort=True, dropna=False):
        ok = g["detected"].notna()
        bad = ok & ~converged[g.index]
        used = ok if include_unconverged else ok & ~bad
        n, k = int(used.sum()), int(g.loc[used, "detected"].astype(bool).sum())
        lo, hi = _rate_interval(k, n, confidence, interval)
        key = key if isinstance(key, tuple) else (key,)
        rows.append(
            {
                **dict(zip(by, key, strict=True)),
                "n": n,
                "detected": k,
                "rate": k / n if n else np.nan,
                "lower": lo,
                "upper": hi,
                "errors": int((~ok).sum()),
                "unconverged": int(bad.sum()),
                "unconverged_share": float(bad.sum() / ok.sum()) if ok.any() else np.nan,
            }
        )
    table = pd.DataFrame(rows)
    table.attrs.update(interval=interval, confidence=confidence)
    return table


def false_positive_rate(results, **kwargs):
    """:func:`power_table` at true effect 0: the rate of false detections.

    Keywords go to :func:`power_table` (``include_unconverged`` among them).

    Examples
    --------
    >>> import pandas as pd
    >>> results = pd.DataFrame({
    ...     "estimator": "lme",
    ...     "true_effect": [0.0, 0.0, 0.0, 1.0, 1.0, 1.0],
    ...     "detected": [False, True, False, True, True, False],
    ...     "score": [0.1, 2.0, -0.3, 3.0, 2.5, 0.5],
    ...     "converged": True,
    ... })
    >>> from bwestimators.power import false_positive_rate
    >>> false_positive_rate(results)[["estimator", "n", "detected"]].to_dict("records")
    [{'estimator': 'lme', 'n': 3, 'detected': 1}]
    """
    null = results[results["true_effect"] == 0]
    if not len(null):
        raise ValueError("results have no true effect of 0; add 0 to the effect grid.")
    return power_table(null, **kwargs)


def roc_table(results, *, by=("estimator",), include_unconverged=False):
    """ROC curve points per estimator: datasets with a true effect > 0 against those with 0.

    Unconverged fits are left out unless ``include_unconverged``.

    Returns
    -------
    table : DataFrame
        ``by`` columns, ``fpr``, ``tpr``, ``threshold`` (of ``score``).

    Examples
    --------
    >>> import pandas as pd
    >>> results = pd.DataFrame({
    ...     "estimator": "lme",
    ...     "true_effect": [0.0, 0.0, 0.0, 1.0, 1.0, 1.0],
    ...     "detected": [False, True, False, True, True, False],
    ...     "score": [0.1, 2.0, -0.3, 3.0, 2.5, 0.5],
    ...     "converged": True,
    ... })
    >>> from bwestimators.power import roc_table
    >>> roc_table(results)[["fpr", "tpr"]].iloc[-1].tolist()
    [1.0, 1.0]
    """
    from sklearn.metrics import roc_curve

    frames = []
    for key, g in _roc_groups(results, by, include_unconverged):
        fpr, tpr, thr = roc_curve(g["true_effect"] > 0, g["score"])
        frames.append(pd.DataFrame({**key, "fpr": fpr, "tpr": tpr, "threshold": thr}))
    return pd.concat(frames, ignore_index=True)


def roc_auc_table(results, *, by=("estimator",), include_unconverged=False):
    """Area under the ROC curve per estimator (true effect > 0 against 0).

    Unconverged fits are left out unless ``include_unconverged``; ``n`` counts
    the fits used, ``unconverged`` those left out (or, when included, counted).

    Examples
    --------
    >>> import pandas as pd
    >>> results = pd.DataFrame({
    ...     "estimator": "lme",
    ...     "true_effect": [0.0, 0.0, 0.0, 1.0, 1.0, 1.0],
    ...     "detected": [False, True, False, True, True, False],
    ...     "score": [0.1, 2.0, -0.3, 3.0, 2.5, 0.5],
    ...     "converged": True,
    ... })
    >>> from bwestimators.power import roc_auc_table
    >>> round(float(roc_auc_table(results)["auc"].iloc[0]), 3)  # 8 of 9 pairs ranked right
    0.889
    """
    from sklearn.metrics import roc_auc_score

    rows = []
    for key, g in _roc_groups(results, by, include_unconverged):
        mask = pd.Series(True, index=results.index)
        for col, value in key.items():
            mask &= results[col] == value
        bad = int((results["score"].notna() & mask & ~_converged(results)).sum())
        auc = roc_auc_score(g["true_effect"] > 0, g["score"])
        rows.append({**key, "auc": auc, "n": len(g), "unconverged": bad})
    return pd.DataFrame(rows)


def _roc_groups(results, by, include_unconverged):
    by = list(by)
    ok = _usable(results, "score", include_unconverged)
    for key, g in ok.groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        if g["true_effect"].eq(0).all() or g["true_effect"].gt(0).all():
            raise ValueError("ROC needs datasets with a true effect of 0 and with one above 0.")
        yield dict(zip(by, key, strict=True)), g


def confusion_table(results, *, by=("estimator",), include_unconverged=False):
    """True/false positives and negatives of ``detected`` per estimator.

    Unconverged fits are left out unless ``include_unconverged``.

    Examples
    --------
    >>> import pandas as pd
    >>> results = pd.DataFrame({
    ...     "estimator": "lme",
    ...     "true_effect": [0.0, 0.0, 0.0, 1.0, 1.0, 1.0],
    ...     "detected": [False, True, False, True, True, False],
    ...     "score": [0.1, 2.0, -0.3, 3.0, 2.5, 0.5],
    ...     "converged": True,
    ... })
    >>> from bwestimators.power import confusion_table
    >>> confusion_table(results).iloc[0, 1:].tolist()
    [2, 1, 1, 2]
    """
    rows = []
    ok = _usable(results, "detected", include_unconverged)
    for key, g in ok.groupby(list(by), sort=True):
        key = key if isinstance(key, tuple) else (key,)
        truth, det = g["true_effect"] > 0, g["detected"].astype(bool)
        rows.append(
            {
                **dict(zip(by, key, strict=True)),
                "true_positive": int((truth & det).sum()),
                "false_negative": int((truth & ~det).sum()),
                "false_positive": int((~truth & det).sum()),
                "true_negative": int((~truth & ~det).sum()),
            }
        )
    return pd.DataFrame(rows)


def sample_size_table(
    results,
    target_power=0.8,
    *,
    along=None,
    by=None,
    criterion="rate",
    confidence=0.95,
    interval="wilson",
    include_unconverged=False,
):
    """The smallest design that reaches a target power, per estimator.

    Parameters
    ----------
    results : DataFrame
        Output of :meth:`PowerSimulation.run`, typically of a sweep made by
        :meth:`PowerSimulation.from_estimator`.
    target_power : float, default=0.8
        The power to reach, in (0, 1).
    along : str or None
        The design column to minimise; default: ``n_group`` (the number of
        groups of a sweep from pilot data), else ``n_detail``.
    by : list of str or None
        Columns the answer is given for; default: ``estimator`` and every
        other grid column (the true effect, trials per cell, ...).
    criterion : {"rate", "lower"}, default="rate"
        ``"rate"``: the estimated power reaches the target. ``"lower"``: the
        lower end of its binomial interval does (a conservative answer).
    confidence, interval, include_unconverged :
        As in :func:`power_table`.

    Returns
    -------
    table : DataFrame
        ``by`` columns, ``along`` (the smallest value that reaches the target;
        missing where none does), ``reached``, and the ``n``, ``rate``,
        ``lower``, ``upper`` and ``unconverged_share`` of that design (of the
        largest design tried where none reaches it).

    Examples
    --------
    >>> import pandas as pd
    >>> from bwestimators.power import sample_size_table
    >>> results = pd.DataFrame({"estimator": "lme", "true_effect": 0.5,
    ...                         "n_group": [4] * 10 + [8] * 10,
    ...                         "detected": [True] * 4 + [False] * 6 + [True] * 9 + [False]})
    >>> sample_size_table(results, 0.8)[["estimator", "n_group", "reached", "rate"]]
      estimator  n_group  reached  rate
    0       lme        8     True   0.9
    """
    if not 0 < target_power < 1:
        raise InputError(f"target_power must be in (0, 1), got {target_power!r}.")
    if criterion not in ("rate", "lower"):
        raise InputError(f"criterion must be 'rate' or 'lower', got {criterion!r}.")
    grid = _grid_columns(results)
    if along is None:
        found = [c for c in _DESIGN_COLUMNS if c in grid]
        if not found:
            raise InputError(
                "results have no n_group or n_detail column; pass along= the design "
                "column to minimise (a grid column of the sweep)."
            )
        along = found[0]
    if along not in results:
        raise InputError(f"along={along!r} is not a column of the results.")
    by = list(by or ["estimator", *(c for c in grid if c != along)])
    table = power_table(
        results,
        by=[*by, along],
        confidence=confidence,
        interval=interval,
        include_unconverged=include_unconverged,
    )
    rows = []
    for key, g in table.groupby(by, sort=True, dropna=False):
        g = g.sort_values(along)
        hit = g[g[criterion] >= target_power]
        reached = bool(len(hit))
        best = hit.iloc[0] if reached else g.iloc[-1]
        key = key if isinstance(key, tuple) else (key,)
        rows.append(
            {
                **dict(zip(by, key, strict=True)),
                along: best[along] if reached else np.nan,
                "reached": reached,
                **{c: best[c] for c in ("n", "rate", "lower", "upper", "unconverged_share")},
            }
        )
    out = pd.DataFrame(rows)
    out.attrs.update(
        target_power=target_power, criterion=criterion, interval=interval, confidence=confidence
    )
    return out
