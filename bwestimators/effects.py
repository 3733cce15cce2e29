"""Change of the data between treatment levels, and helpers for the effects table."""

import warnings

import numpy as np
import pandas as pd
from sklearn.base import clone

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
        warnings.warn(
            f"make_change dropped {int(unpaired.sum())} of {len(wide)} "
            f"({', '.join(map(str, keys)) or 'overall'}) combination(s) that lack one of the "
            f"treatment levels {lo:g} and {hi:g}.",
            UserWarning,
            stacklevel=2,
        )
        wide = wide[~unpaired]
    diff = wide["hi"] - wide["lo"] if method == "subtract" else wide["hi"] / wide["lo"]
    out = diff.rename(f"{y} diff")
    return out.reset_index() if keys else out.reset_index(drop=True).to_frame()
