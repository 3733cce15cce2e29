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
    "display_title",
    "effect_label",
    "effects_condition_columns",
    "fitted_parts",
    "interval_label",
    "is_bayesian",
    "labels_of",
    "method_label",
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


def labels_of(frame, columns, sep=", ", empty="all"):
    """One text label per row from the given columns.

    Parameters
    ----------
    frame : DataFrame
    columns : list of str
        The columns whose values make the label, joined by ``sep``.
    sep : str, default=", "
        Between the values of several columns (``"\\n"`` stacks them).
    empty : str, default="all"
        The label of every row when ``columns`` is empty.

    Returns
    -------
    labels : list of str

    Examples
    --------
    >>> import pandas as pd
    >>> from bwestimators.display._common import labels_of
    >>> frame = pd.DataFrame({"phase": [0.0, 0.25], "inverted": [False, True]})
    >>> labels_of(frame, ["phase", "inverted"], sep=" · ")
    ['0.0 · False', '0.25 · True']
    """
    if not columns:
        return [empty] * len(frame)
    if len(columns) == 1:
        return [str(v) for v in frame[columns[0]]]
    return [sep.join(str(v) for v in row) for row in frame[columns].itertuples(index=False)]


#: Readable names of the ``method`` of an effects table.
METHOD_NAMES = {"bayes": "Bayesian hierarchical", "lme": "Mixed model (LME)", "anova": "ANOVA"}


def method_label(attrs, fallback=None):
    """The readable name of the method of an effects table (``attrs["method"]``).

    Examples
    --------
    >>> from bwestimators.display._common import method_label
    >>> method_label({"method": "lme"}), method_label({}, "my model")
    ('Mixed model (LME)', 'my model')
    """
    method = attrs.get("method")
    if method is None:
        return fallback
    return METHOD_NAMES.get(method, str(method))


def interval_label(attrs):
    """The interval of an effects table in words, ``"94 % HDI"`` or ``"95 % CI"`` (None if unsaid).

    Examples
    --------
    >>> from bwestimators.display._common import interval_label
    >>> interval_label({"interval": "hdi", "level": 0.94})
    '94 % HDI'
    >>> interval_label({"interval": "ci", "level": 0.95})
    '95 % CI'
    """
    kind, level = attrs.get("interval"), attrs.get("level")
    if kind is None:
        return None
    text = str(kind).upper()
    return text if level is None else f"{100 * float(level):.3g} % {text}"


def display_title(attrs, estimator_name=None):
    """Title of an effects display: the method and the interval, from the table's attrs.

    Examples
    --------
    >>> from bwestimators.display._common import display_title
    >>> display_title({"method": "bayes", "interval": "hdi", "level": 0.94})
    'Bayesian hierarchical (94 % HDI)'
    >>> display_title({"interval": "ci", "level": 0.95}), display_title({}, "my model")
    ('estimate and 95 % CI', 'my model')
    """
    name = estimator_name or method_label(attrs)
    interval = interval_label(attrs)
    if name and interval:
        return f"{name} ({interval})"
    return name or (f"estimate and {interval}" if interval else None)


def effect_label(attrs, y_name=None):
    """The axis label of the effects: ``"effect of stim on Log power"`` from the table's attrs.

    Examples
    --------
    >>> from bwestimators.display._common import effect_label
    >>> effect_label({"treatment": "stim", "y": "isi"})
    'effect of stim on isi'
    >>> effect_label({"treatment": "dose", "y": "count", "scale": "log"})
    'effect of dose on count (log scale)'
    >>> effect_label({})
    'treatment effect'
    """
    treatment, y = attrs.get("treatment"), attrs.get("y") or y_name
    text = "effect" + (f" of {treatment}" if treatment else "") + (f" on {y}" if y else "")
    if text == "effect":
        text = "treatment effect"
    scale = attrs.get("scale")
    if scale and scale != "y":
        text += f" ({scale} scale)"
    return text


def raw_frame(X, y, y_name):
    """A copy of X with y as a column named y_name (the caller's frame is untouched)."""
    frame = X.copy() if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
    frame[y_name] = np.asarray(y)
    return frame
