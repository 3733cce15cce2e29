"""Change of the data between treatment levels, and helpers for the effects table."""

import numpy as np
import pandas as pd
from sklearn.base import clone

from bwestimators._warn import warn
from bwestimators.exceptions import InputError, InputTypeError
from bwestimators.spec import ColumnSpec


def _fitted_spec(spec, df):
    if not isinstance(spec, ColumnSpec):
        raise InputTypeError(f"spec must be a ColumnSpec, got {type(spec).__name__}.")
    if hasattr(spec, "columns_"):
        return spec
    return clone(spec).fit(df)


def make_change(df, y, spec, method="subtract"):
    """Change of y with the treatment, per (group, condition, detail): the data of an effect.

    In the units of the effects table, so that the data can be drawn beside it:

    - binary treatment: the mean of y at the second level minus (``"subtract"``)
      or divided by (``"divide"``) the mean at the reference level;
    - categorical treatment: the same for every level against the reference,
      one row per level, with a ``treatment_level`` column;
    - continuous treatment: the least-squares slope of y on the treatment
      (change per unit), where the combination has two or more treatment
      values (``"subtract"`` only).

    Combinations that lack the levels to compare are dropped with a warning
    that counts them, never silently misaligned.

    Parameters
    ----------
    df : DataFrame
        Data with the spec's columns and y.
    y : str
        Column of df with the outcome.
    spec : ColumnSpec
        Roles of the columns; fitted on df when not fitted yet.
    method : {"subtract", "divide"}, default="subtract"
        How two levels are compared.

    Returns
    -------
    change : DataFrame
        One row per combination (and level), with the original condition,
        group and detail columns and ``"{y} diff"`` (``"{y} slope"`` for a
        continuous treatment).

    Examples
    --------
    >>> import pandas as pd
    >>> from bwestimators import ColumnSpec, make_change
    >>> df = pd.DataFrame({"stim": [0, 1, 0, 1], "mouse": ["a", "a", "b", "b"],
    ...                    "y": [1.0, 3.0, 2.0, 2.5]})
    >>> make_change(df, "y", ColumnSpec("stim", group="mouse"))
      mouse  y diff
    0     a     2.0
    1     b     0.5
    >>> days = pd.DataFrame({"day": [0, 1, 2] * 2, "rat": ["a"] * 3 + ["b"] * 3,
    ...                      "y": [1.0, 2.0, 3.0, 0.0, 0.0, 3.0]})
    >>> make_change(days, "y", ColumnSpec("day", group="rat"))
      rat  y slope
    0   a      1.0
    1   b      1.5
    """
    if method not in ("subtract", "divide"):
        raise InputError(f"method must be 'subtract' or 'divide', got {method!r}.")
    if not isinstance(y, str) or y not in df.columns:
        raise InputError(f"y must name a column of df; {y!r} is not one.")
    spec = _fitted_spec(spec, df)
    Z = spec.transform(df)
    keys = []
    for role in ("condition", "group", "detail"):
        names = spec.columns_.get(role)
        if names is not None:
            keys.extend(names if isinstance(names, list) else [names])
    treatment = Z["treatment"].to_numpy()
    if np.all(np.isnan(treatment)):
        raise InputError(
            f"Treatment column {spec.treatment!r} has no values in df (all missing, or levels "
            "the fitted spec has not seen); pass rows with treatment values."
        )
    if np.unique(treatment[~np.isnan(treatment)]).size < 2:
        raise InputError(
            f"Treatment column {spec.treatment!r} has a single level; a change needs two."
        )
    frame = df[keys].copy() if keys else pd.DataFrame(index=df.index)
    frame["_t"], frame["_y"] = treatment, df[y].to_numpy()
    frame = frame[~np.isnan(treatment)]
    kind = getattr(spec, "treatment_kind_", None)
    if kind == "continuous":
        if method != "subtract":
            raise InputError(
                "method='divide' compares two treatment levels; a continuous treatment's "
                "change is a slope per unit (method='subtract')."
            )
        return _slopes(frame, keys, y)
    levels = getattr(spec, "treatment_levels_", None) or [0, 1]
    if kind != "categorical":
        return _level_change(frame, keys, y, 1.0, method, levels)
    parts = [
        _level_change(frame, keys, y, float(j), method, levels).assign(treatment_level=levels[j])
        for j in range(1, len(levels))
    ]
    out = pd.concat(parts, ignore_index=True)
    return out[[*keys, "treatment_level", f"{y} diff"]]  # the change last, as for the others


def _level_change(frame, keys, y, code, method, levels):
    """Mean of y at treatment code ``code`` against code 0, per combination of ``keys``."""
    part = frame[np.isin(frame["_t"], [0.0, code])].assign(
        _level=lambda f: np.where(f["_t"] == code, "hi", "lo")
    )
    if keys:
        means = part.groupby([*keys, "_level"], observed=True, sort=True)["_y"].mean()
        wide = means.unstack("_level").reindex(columns=["lo", "hi"])
    else:
        wide = part.groupby("_level")["_y"].mean().reindex(["lo", "hi"]).to_frame().T
    unpaired = wide.isna().any(axis=1)
    if unpaired.any():
        warn(
            f"make_change dropped {int(unpaired.sum())} of {len(wide)} "
            f"({', '.join(map(str, keys)) or 'overall'}) combination(s) that lack one of the "
            f"treatment levels {levels[0]!r} and {levels[int(code)]!r}.",
            UserWarning,
        )
        wide = wide[~unpaired]
    diff = wide["hi"] - wide["lo"] if method == "subtract" else wide["hi"] / wide["lo"]
    out = diff.rename(f"{y} diff")
    return out.reset_index() if keys else out.reset_index(drop=True).to_frame()


def _slopes(frame, keys, y):
    """Least-squares slope of y on the treatment per combination of ``keys``."""

    def slope(g):
        t = g["_t"].to_numpy()
        if np.unique(t).size < 2:
            return np.nan
        tc = t - t.mean()
        return float(tc @ (g["_y"].to_numpy() - g["_y"].mean()) / (tc @ tc))

    if keys:
        out = frame.groupby(keys, observed=True, sort=True)[["_t", "_y"]].apply(slope)
    else:
        out = pd.Series([slope(frame)])
    flat = out.isna()
    if flat.any():
        warn(
            f"make_change dropped {int(flat.sum())} of {len(out)} "
            f"({', '.join(map(str, keys)) or 'overall'}) combination(s) with a single "
            "treatment value (no slope).",
            UserWarning,
        )
        out = out[~flat]
    out = out.rename(f"{y} slope")
    return out.reset_index() if keys else out.reset_index(drop=True).to_frame()


def verdict(est, row):
    """One line on a row of ``est.effects_``, at the estimator's own level.

    Parameters
    ----------
    est : fitted estimator
        A Bayesian estimator (one with ``hdi_prob``) is judged by its HDI at
        that level; any other by ``p_value`` against its ``alpha``.
    row : mapping
        A row of ``est.effects_``: ``lower``, ``upper`` and, for frequentist
        estimators, ``p_value``.

    Returns
    -------
    text : str
        Bayesian: whether the ``hdi_prob`` HDI excludes 0 (``"94% HDI"`` for
        0.94). Frequentist: whether ``p_value < alpha``.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> verdict(SimpleNamespace(hdi_prob=0.9), {"lower": 0.2, "upper": 1.4})
    'effect > 0: 90% HDI excludes 0'
    >>> verdict(SimpleNamespace(alpha=0.01), {"lower": 0.1, "upper": 2, "p_value": 0.03})
    'not significant (p = 0.03 >= 0.01)'
    """
    hdi_prob = getattr(est, "hdi_prob", None)
    if hdi_prob is not None:
        level = f"{100 * hdi_prob:g}% HDI"
        lo, hi = row["lower"], row["upper"]
        if lo > 0 or hi < 0:
            return f"effect {'>' if lo > 0 else '<'} 0: {level} excludes 0"
        if lo <= 0 <= hi:
            return f"no clear effect: {level} includes 0"
        return f"no {level}"
    p, alpha = row.get("p_value"), est.alpha
    if p is None or p != p:  # absent or NaN
        return "no p-value"
    digits = 2  # enough digits that p never prints as alpha unless it is alpha
    while f"{p:.{digits}g}" == f"{alpha:g}" and p != alpha and digits < 6:
        digits += 1
    if p < alpha:
        return f"significant (p = {p:.{digits}g} < {alpha:g})"
    return f"not significant (p = {p:.{digits}g} >= {alpha:g})"
