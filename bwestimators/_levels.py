"""Level coding of :class:`~bwestimators.spec.ColumnSpec`'s roles.

The levels a role column holds in the user's order, Categoricals with the
levels learned at fit time, the 0/1 coding of a two-level treatment (its
reference first), and the levels of one or several condition columns.
"""

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


def learn_treatment(col, name, treatment_levels=None):
    """The treatment levels coded 0 and 1, or None for a numeric treatment used as it is.

    Parameters
    ----------
    col : Series
        The treatment column at fit time.
    name : str or int
        Name of the treatment column, for the messages.
    treatment_levels : sequence of two values or None, default=None
        The levels to code as 0 and 1, in that order. Without them a
        non-numeric treatment is coded in sorted order, or a Categorical in the
        order of its categories.

    Returns
    -------
    levels : list of two values or None
        The level coded 0 (the reference) and the level coded 1; None when the
        treatment is numeric and no ``treatment_levels`` are given.

    Raises
    ------
    InputError
        When ``treatment_levels`` are not two different levels or miss a level
        of the data, or a non-numeric treatment has other than two levels.
    """
    if treatment_levels is not None:
        levels = list(treatment_levels)
        if len(levels) != 2 or levels[0] == levels[1]:
            raise InputError(
                f"treatment_levels must name two different levels of column {name!r}, "
                f"got {treatment_levels!r}."
            )
        observed = set(pd.unique(col.dropna()))
        unknown = observed - set(levels)
        if unknown:
            raise InputError(
                f"Treatment column {name!r} has levels {sorted(map(str, unknown))} that are "
                f"not in treatment_levels={levels!r}; list both levels present in the data."
            )
        return levels
    if is_numeric(col):
        return None
    levels = sorted_levels(col)
    if is_categorical(col) and len(col.cat.categories) == 2:
        # the declared order, even where a subset of the data lacks one level
        levels = col.cat.categories.tolist()
    if len(levels) >= 3:  # categorical treatment: levels coded 0..k-1, the first the reference
        return levels
    if len(levels) != 2:
        shown_levels = levels[:10]
        raise InputError(
            f"Treatment column {name!r} is not numeric and has {len(levels)} level(s) "
            f"{shown_levels!r}; a non-numeric treatment needs exactly two levels. Code it as "
            f"numbers (e.g. a stimulus strength), or use the extra levels as a condition."
        )
    return levels


def encode_treatment(col, name, levels):
    """The treatment column as float64: as it is when numeric, else coded 0/1.

    Parameters
    ----------
    col : Series
        The treatment column now.
    name : str or int
        Name of the treatment column, for the messages.
    levels : list of two values or None
        The levels coded 0 and 1 learned at fit time (see
        :func:`learn_treatment`); None for a numeric treatment.

    Returns
    -------
    coded : ndarray of float64
        One value per row; missing values stay NaN.

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
        new = pd.unique(values[unseen])
        raise InputError(
            f"Treatment column {name!r} has {int(unseen.sum())} row(s) with "
            f"{len(new)} level(s) not seen at fit time: {shown(new)}. The fitted levels are "
            f"{levels[0]!r} (coded 0, the reference) and {levels[1]!r} (coded 1); drop those "
            "rows, or refit on data with every level."
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
