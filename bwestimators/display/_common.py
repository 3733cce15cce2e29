"""Helpers shared by the Display objects."""

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from bwestimators._base import final_estimator
from bwestimators.spec import ColumnSpec


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


def condition_columns(model):
    """Names of the decoded condition columns at the front of ``effects_``."""
    meta = getattr(model, "_meta_", None) or {}
    names = (meta.get("columns") or {}).get("condition")
    if names is None:
        spec = getattr(model, "spec_", None)
        names = spec.columns_.get("condition") if spec is not None else None
    if names is None:
        return []
    return [n for n in (names if isinstance(names, list) else [names]) if n in model.effects_]


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


def thin_ticks(ax, positions, labels, max_labels=25):
    """Tick labels at every position, or at every k-th when there are many."""
    step = max(1, int(np.ceil(len(positions) / max_labels)))
    ax.set_xticks(positions[::step])
    ax.set_xticklabels(labels[::step], rotation=90 if len(positions) > 8 else 0)


def raw_frame(X, y, y_name):
    """A copy of X with y as a column named y_name (the caller's frame is untouched)."""
    frame = X.copy() if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
    frame[y_name] = np.asarray(y)
    return frame
