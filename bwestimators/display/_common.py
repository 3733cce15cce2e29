"""Data helpers of the Display objects: what they read from estimators and effects tables.

Displays read an estimator's effects table and public fitted attributes only
(``effects_``, ``condition_columns_``, ``spec_``, ``intercepts_``, ...); the
drawing scaffolding lives in :mod:`bwestimators.display._base`.
"""

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from bwestimators._base import final_estimator, transform_to_final

__all__ = [
    "RESULT_COLUMNS",
    "effects_condition_columns",
    "fitted_parts",
    "hdi",
    "is_bayesian",
    "labels_of",
    "raw_frame",
    "transform_to_final",
]
from bwestimators.spec import ColumnSpec

#: Columns of the effects table that follow the decoded condition column(s).
RESULT_COLUMNS = (
    "treatment_level",
    "estimate",
    "std_error",
    "lower",
    "upper",
    "p_value",
    "prob_positive",
    "ess_bulk",
    "ess_tail",
    "r_hat",
)


def fitted_parts(estimator):
    """The fitted final estimator and the ColumnSpec that reads raw X for it.

    Works for an estimator with ``spec=`` and for a pipeline whose first step
    is a ColumnSpec. Raises NotFittedError for an unfitted estimator.
    """
    model = final_estimator(estimator)
    check_is_fitted(model, "effects_")
    if model is estimator:
        return model, getattr(model, "spec_", None)
    first = estimator.steps[0][1]
    return model, first if isinstance(first, ColumnSpec) else None


def effects_condition_columns(effects):
    """The decoded condition columns of an effects table: those before its result columns.

    Parameters
    ----------
    effects : DataFrame
        An effects table (``est.effects_``, or one saved and read back).

    Returns
    -------
    columns : list of str

    Raises
    ------
    ValueError
        When the table lacks ``estimate``, ``lower`` or ``upper``.

    Examples
    --------
    >>> import pandas as pd
    >>> from bwestimators.display._common import effects_condition_columns
    >>> effects = pd.DataFrame({"region": ["a", "b"], "estimate": [1.0, 2.0],
    ...                         "lower": [0.5, 1.5], "upper": [1.5, 2.5]})
    >>> effects_condition_columns(effects)
    ['region']
    """
    missing = [c for c in ("estimate", "lower", "upper") if c not in effects.columns]
    if missing:
        raise ValueError(
            f"An effects table needs the columns estimate, lower and upper; {missing} missing "
            f"from {list(effects.columns)}."
        )
    columns = list(effects.columns)
    first = min(columns.index(c) for c in RESULT_COLUMNS if c in columns)
    return columns[:first]


def is_bayesian(model):
    return hasattr(model, "effect_draws")


def hdi(draws, prob):
    """HDI of every column of draws (n_draws, k) -> (k, 2)."""
    from bwestimators._arviz import array_stats

    return np.asarray(array_stats().hdi(np.moveaxis(np.asarray(draws), 0, -1), prob, axis=-1))


def labels_of(frame, columns):
    """One text label per row from the given columns."""
    if not columns:
        return ["all"] * len(frame)
    if len(columns) == 1:
        return [str(v) for v in frame[columns[0]]]
    return [", ".join(str(v) for v in row) for row in frame[columns].itertuples(index=False)]


def raw_frame(X, y, y_name):
    """A copy of X with y as a column named y_name (the caller's frame is untouched)."""
    frame = X.copy() if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
    frame[y_name] = np.asarray(y)
    return frame
