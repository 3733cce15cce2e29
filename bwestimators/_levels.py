"""Level coding of :class:`~bwestimators.spec.ColumnSpec`'s roles.

The levels a role column holds in the user's order, Categoricals with the
levels learned at fit time, the kind of the treatment (binary, continuous,
categorical) and the coding of its levels (the reference first, coded 0), and
the levels of one or several condition columns.
"""

import numbers

import numpy as np
import pandas as pd

from bwestimators._spec_checks import check_level_kind, shown
from bwestimators.exceptions import InputError


def is_categorical(values):
    """Whether ``values`` have a pandas Categorical dtype."""
    return isinstance(getattr(values, "dtype", None), pd.CategoricalDtype)


def is_numeric(series):
    """Whether ``series`` is numeric and not boolean."""
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def sorted_levels(values):
    """Unique non-missing values in the user's order.

    A pandas Categorical gives its categories that occur in ``values``, in the
    order of its categories (ordered or not: the categories' order is the
    user's order). Other values are sorted when they are comparable, and kept
    in order of appearance otherwise.
    """
    values = pd.Series(values)
    if is_categorical(values):
        return values.cat.remove_unused_categories().cat.categories.tolist()
    levels = pd.unique(values.dropna())
    try:
        return list(sorted(levels))
    except TypeError:
        return list(levels)


def categorical(values, categories):
    """Categorical of values with fixed categories; values not among them become missing."""
    codes = pd.Index(categories).get_indexer(pd.Index(values))
    return pd.Categorical.from_codes(codes, categories=categories)


def _join_label(values):
    """The label of a combination of condition values: the values joined by ``", "``."""
    return ", ".join(str(v) for v in values)


TREATMENT_KINDS = ("auto", "binary", "continuous", "categorical")


def _python_scalar(value):
    """A numpy scalar as the Python scalar it holds (``np.int64(1)`` as ``1``)."""
    return value.item() if hasattr(value, "item") and not isinstance(value, str) else value


def _declared_levels(col, name, treatment_levels, kind):
    """The kind and levels of a treatment whose levels the user listed."""
    levels = [_python_scalar(v) for v in treatment_levels]
    if len(levels) < 2 or len(set(levels)) != len(levels):
        raise InputError(
            f"treatment_levels must name two different levels of column {name!r} (or three "
            f"or more for a categorical treatment), each once; got {treatment_levels!r}."
        )
    observed = set(pd.unique(col.dropna()))
    unknown = observed - set(levels)
    if unknown:
        raise InputError(
            f"Treatment column {name!r} has levels {sorted(map(str, unknown))} that are "
            f"not in treatment_levels={levels!r}; list every level present in the data "
            "(the reference first)."
        )
    if kind == "continuous":
        raise InputError(
            f"treatment_levels lists levels of column {name!r}, but treatment_kind="
            "'continuous' uses the values as they are; drop one of the two."
        )
    if kind == "binary" and len(levels) != 2:
        raise InputError(
            f"treatment_kind='binary' needs two treatment_levels, got {len(levels)}: "
            f"{levels!r}; use treatment_kind='categorical' for more."
        )
    if kind == "categorical" and len(levels) < 3:
        raise InputError(
            f"treatment_kind='categorical' needs three or more treatment levels of column "
            f"{name!r}, got {levels!r}; two levels are a binary treatment (the default)."
        )
    return ("binary" if len(levels) == 2 else "categorical"), levels


def learn_treatment(col, name, treatment_levels=None, treatment_kind="auto"):
    """The kind of a treatment and its levels, the reference first.

    Parameters
    ----------
    col : Series
        The treatment column at fit time.
    name : str or int
        Name of the treatment column, for the messages.
    treatment_levels : sequence or None, default=None
        Every level, the reference first. Without them levels are sorted, or a
        Categorical's are in the order of its categories.
    treatment_kind : {"auto", "binary", "continuous", "categorical"}, default="auto"
        ``"auto"``: two levels are binary, a numeric column with more values is
        continuous, a non-numeric one with three or more levels categorical.
        The others force a kind, and are an error where the data cannot have it.

    Returns
    -------
    kind : {"binary", "continuous", "categorical"}
    levels : list or None
        Every level, the reference (coded 0) first; None for a continuous treatment.

    Raises
    ------
    InputError
        When ``treatment_levels`` repeat a level or miss a level of the data,
        or the data cannot have the kind asked for.
    """
    kind = treatment_kind
    if kind not in TREATMENT_KINDS:
        raise InputError(
            f"treatment_kind must be one of {list(TREATMENT_KINDS)}, got {treatment_kind!r}."
        )
    if treatment_levels is not None:
        return _declared_levels(col, name, treatment_levels, kind)
    numeric = is_numeric(col)
    levels = [_python_scalar(v) for v in sorted_levels(col)]
    if is_categorical(col) and len(col.cat.categories) == 2 and kind in ("auto", "binary"):
        # the declared order, even where a subset of the data lacks one level
        levels = col.cat.categories.tolist()
    if kind == "continuous" and not numeric:
        raise InputError(
            f"treatment_kind='continuous' needs a numeric treatment, but column {name!r} is "
            f"{col.dtype} (levels {shown(levels)}); convert it with "
            f"df[{name!r}].astype(float), or use treatment_kind='categorical'."
        )
    if kind == "binary" and len(levels) != 2:
        raise InputError(
            f"treatment_kind='binary' needs two levels, but column {name!r} has "
            f"{len(levels)} ({shown(levels)}); use treatment_kind='auto' (or 'categorical' / "
            "'continuous'), or keep two levels."
        )
    if kind == "categorical" and len(levels) < 3:
        raise InputError(
            f"treatment_kind='categorical' needs three or more levels, but column {name!r} "
            f"has {len(levels)} ({shown(levels)}); two levels are a binary treatment."
        )
    if kind == "continuous" or (kind == "auto" and numeric and len(levels) != 2):
        return "continuous", None
    if len(levels) < 2:
        raise InputError(
            f"Treatment column {name!r} is not numeric and has {len(levels)} level(s) "
            f"{levels!r}; a treatment needs at least two levels."
        )
    return ("binary" if len(levels) == 2 else "categorical"), levels


def encode_treatment(col, name, levels):
    """The treatment column as float64: the values (continuous) or the level codes.

    Parameters
    ----------
    col : Series
        The treatment column now.
    name : str or int
        Name of the treatment column, for the messages.
    levels : list or None
        Every level learned at fit time, the reference first (see
        :func:`learn_treatment`); None for a continuous treatment.

    Returns
    -------
    coded : ndarray of float64
        One value per row: the value itself (continuous), or the position of
        the row's level in ``levels`` (0/1 for a binary treatment, 0..k-1 for
        a categorical one); missing values stay NaN.

    Raises
    ------
    InputError
        When a numeric treatment is no longer numeric, or the treatment has a
        level not seen at fit time (or changed between numbers and strings).
    """
    if levels is None:
        if not is_numeric(col):
            raise InputError(
                f"Treatment column {name!r} was numeric at fit time but is {col.dtype} now; "
                f"convert it with df[{name!r}].astype(float)."
            )
        return col.astype("float64").to_numpy(copy=True)
    values = col.astype(object) if is_categorical(col) else col
    coded = values.map({level: float(i) for i, level in enumerate(levels)}).astype("float64")
    unseen = coded.isna() & values.notna()
    if unseen.any():
        if unseen.sum() == values.notna().sum():
            check_level_kind("treatment", name, col, levels)
            if all(isinstance(v, numbers.Number) for v in levels) and not is_numeric(col):
                raise InputError(
                    f"Treatment column {name!r} was numeric at fit time but is {col.dtype} "
                    f"now; convert it with df[{name!r}].astype(float)."
                )
        new = pd.unique(values[unseen])
        fitted = (
            f"{levels[0]!r} (coded 0, the reference) and {levels[1]!r} (coded 1)"
            if len(levels) == 2
            else f"{shown(levels, n=10)} (coded 0..{len(levels) - 1}, the reference first)"
        )
        raise InputError(
            f"Treatment column {name!r} has {int(unseen.sum())} row(s) with "
            f"{len(new)} level(s) not seen at fit time: {shown(new)}. The fitted levels are "
            f"{fitted}; drop those rows, or refit on data with every level."
        )
    return coded.to_numpy()


def learn_condition(frame):
    """The levels of the condition column(s) at fit time, with their labels.

    Parameters
    ----------
    frame : DataFrame
        The condition column(s) of X.

    Returns
    -------
    labels : list
        One label per level, in code order: the value itself for one column,
        the values joined by ``", "`` for several.
    levels : DataFrame
        The distinct non-missing rows of ``frame``, sorted where comparable,
        with their original dtypes, indexed by ``labels`` (index name
        ``"condition"``).
    """
    levels = frame.drop_duplicates().dropna()
    try:
        levels = levels.sort_values(list(levels.columns), kind="stable")
    except TypeError:
        pass
    levels = levels.reset_index(drop=True)
    if levels.shape[1] == 1:
        labels = list(levels.iloc[:, 0])
    else:
        labels = [_join_label(row) for row in levels.itertuples(index=False)]
    levels.index = pd.Index(labels, name="condition")
    return labels, levels


def encode_condition(X, names, labels, levels):
    """The condition column(s) of X as one Categorical of the labels learned at fit time.

    Parameters
    ----------
    X : DataFrame
        The data.
    names : list
        The condition column(s) of X.
    labels : list
        The condition labels learned at fit time (see :func:`learn_condition`).
    levels : DataFrame
        The condition levels learned at fit time, one row per label.

    Returns
    -------
    coded : Categorical
        One value per row; a combination not seen at fit time is missing.

    Raises
    ------
    InputError
        When no value matches a level seen at fit because a condition column
        changed between numbers and strings since fit.
    """
    if len(names) == 1:
        coded = categorical(X[names[0]], labels)
    else:
        known = pd.MultiIndex.from_frame(levels)
        codes = known.get_indexer(pd.MultiIndex.from_frame(X[names]))
        coded = pd.Categorical.from_codes(codes, categories=labels)
    if (coded.codes < 0).all() and X[names].notna().any(axis=None):
        for name in names:
            known_levels = pd.unique(levels[name].dropna()).tolist()
            check_level_kind("condition", name, X[name], known_levels)
    return coded


def treatment_dummies(t, n_levels):
    """The reference-coded dummies of a categorical treatment's level codes.

    Parameters
    ----------
    t : array-like of float
        Level codes 0..k-1 (0 the reference), as :func:`encode_treatment` gives them.
    n_levels : int
        k, the number of levels.

    Returns
    -------
    dummies : ndarray of float, shape (n_rows, k - 1)
        Column j - 1 is 1 where the row is at level j.

    Examples
    --------
    >>> treatment_dummies([0.0, 1.0, 2.0], 3)
    array([[0., 0.],
           [1., 0.],
           [0., 1.]])
    """
    return (np.asarray(t, dtype=float)[:, None] == np.arange(1, n_levels)).astype(float)
