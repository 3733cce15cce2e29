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
    """Change of y between the lowest and highest treatment level.

    For every (group, condition, detail) combination present in the spec, the
    mean of y at the highest treatment level minus (``"subtract"``) or divided
    by (``"divide"``) the mean at the lowest level. Combinations seen at only
    one of the two levels are dropped with a warning that counts them, never
    silently misaligned.

    Parameters
    ----------
    df : DataFrame
        Data with the spec's columns and y.
    y : str
        Column of df with the outcome.
    spec : ColumnSpec
        Roles of the columns; fitted on df when not fitted yet.
    method : {"subtract", "divide"}, default="subtract"
        How the two levels are compared.

    Returns
    -------
    change : DataFrame
        One row per paired combination, with the original group, condition and
        detail columns and ``"{y} diff"``.

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
    lo, hi = np.nanmin(treatment), np.nanmax(treatment)
    if lo == hi:
        raise InputError(
            f"Treatment column {spec.treatment!r} has a single level; a change needs two."
        )
    frame = df[keys].copy() if keys else pd.DataFrame(index=df.index)
    frame["_level"] = np.where(treatment == hi, "hi", np.where(treatment == lo, "lo", None))
    frame["_y"] = df[y].to_numpy()
    frame = frame[frame["_level"].notna()]
    if keys:
        means = frame.groupby([*keys, "_level"], observed=True, sort=True)["_y"].mean()
        wide = means.unstack("_level").reindex(columns=["lo", "hi"])
    else:
        wide = frame.groupby("_level")["_y"].mean().reindex(["lo", "hi"]).to_frame().T
    unpaired = wide.isna().any(axis=1)
    if unpaired.any():
        warn(
            f"make_change dropped {int(unpaired.sum())} of {len(wide)} "
            f"({', '.join(map(str, keys)) or 'overall'}) combination(s) that lack one of the "
            f"treatment levels {lo:g} and {hi:g}.",
            UserWarning,
        )
        wide = wide[~unpaired]
    diff = wide["hi"] - wide["lo"] if method == "subtract" else wide["hi"] / wide["lo"]
    out = diff.rename(f"{y} diff")
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
