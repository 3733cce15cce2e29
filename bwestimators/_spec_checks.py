"""Input checks of :class:`~bwestimators.spec.ColumnSpec`: X as a frame, the role columns.

The checks refuse what ColumnSpec cannot read (sparse or 1D arrays, MultiIndex
columns, a role column missing or present twice) and explain a column whose
values changed between numbers and strings since fit, with messages that say
how to fix the input.
"""

import difflib
import numbers

import numpy as np
import pandas as pd

from bwestimators.exceptions import InputError, InputTypeError


def as_frame(X):
    """X as a DataFrame: DataFrames as they are, arrays checked and given integer column labels.

    Arrays go through scikit-learn's ``check_array`` (no sparse or complex
    input, no NaN or infinity, at least one sample and one feature); numeric
    object arrays become float.
    """
    if isinstance(X, pd.DataFrame):
        return X
    if hasattr(X, "to_pandas"):
        return X.to_pandas()
    from sklearn.utils.validation import check_array

    if hasattr(X, "toarray") or hasattr(X, "tocsr"):
        raise InputTypeError(
            "Sparse input is not supported: pass a DataFrame or a dense array (X.toarray())."
        )
    arr = np.asarray(X)
    if arr.ndim == 1:
        raise InputError(
            "Expected a 2D array, got a 1D array instead. Reshape your data either using "
            "X.reshape(-1, 1) for a single feature, or pass a DataFrame."
        )
    if arr.dtype.kind in "US":
        raise InputError(
            "X is an array of text: numpy turns rows that mix strings and numbers into "
            "strings, numbers included. Pass a DataFrame with named columns instead, e.g. "
            "pd.DataFrame(rows, columns=['mouse', 'stim', ...])."
        )
    if arr.dtype == object:
        try:
            arr = arr.astype(float)
        except (TypeError, ValueError):
            for value in arr.ravel():
                if not isinstance(value, (str, numbers.Number, type(None))):
                    raise InputTypeError(
                        f"argument must be a string or a number, not {type(value).__name__!r} "
                        "(in an object array X)."
                    ) from None
            return pd.DataFrame(check_array(arr, dtype=None, ensure_all_finite=False))
    return pd.DataFrame(check_array(arr, dtype="numeric"))


def _missing_column_error(name, role, columns):
    """The InputError for a role column that is not in X, with the closest name as a hint.

    Parameters
    ----------
    name : str or int
        The column the spec names.
    role : str
        Its role, for the message.
    columns : Index
        The columns of X.

    Returns
    -------
    error : InputError
    """
    listed = [str(c) for c in columns]
    close = difflib.get_close_matches(str(name), listed, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    shown = ", ".join(repr(c) for c in listed[:20]) + (", ..." if len(listed) > 20 else "")
    return InputError(
        f"Column {name!r} (role {role!r}) is not in X.{hint} "
        f"Available columns: {shown} (n_features={len(listed)}). "
        f"Pass the right name to ColumnSpec({role}=...)."
    )


def check_columns(X, columns):
    """Every role column present, once; MultiIndex columns refused.

    Duplicated names among the columns the spec does not name are harmless.

    Parameters
    ----------
    X : DataFrame
        The data.
    columns : dict
        Role name to the column name, or the list of column names, it uses.

    Raises
    ------
    InputError
        When X has MultiIndex columns, or a role column is missing or appears
        more than once.
    """
    if isinstance(X.columns, pd.MultiIndex):
        example = " ".join(map(str, X.columns[0]))
        raise InputError(
            "X has MultiIndex columns, which ColumnSpec does not support. Flatten them "
            "first, e.g. df.columns = [' '.join(map(str, c)) for c in df.columns] "
            f"(the first column becomes {example!r}), and name the flat columns."
        )
    repeated = X.columns[X.columns.duplicated()]
    for role, names in columns.items():
        for name in names if isinstance(names, list) else [names]:
            if name not in X.columns:
                raise _missing_column_error(name, role, X.columns)
            if name in repeated:
                count = int((X.columns.get_indexer_for([name]) >= 0).sum())
                raise InputError(
                    f"Column {name!r} (role {role!r}) appears {count} times in X, so "
                    "ColumnSpec cannot tell which one to use. Rename or drop the copies, "
                    "e.g. X = X.loc[:, ~X.columns.duplicated()] to keep the first."
                )


def shown(values, n=3):
    """The first ``n`` values as a readable, comma-separated list of reprs."""
    values = [v.item() if isinstance(v, np.generic) else v for v in values]
    return ", ".join(repr(v) for v in values[:n]) + (", ..." if len(values) > n else "")


def _value_kind(values):
    """``"number"``, ``"string"``, or None (mixed, bool or other) for non-missing values."""
    kinds = set()
    for value in values:
        if isinstance(value, (bool, np.bool_)):
            return None
        if isinstance(value, numbers.Number):
            kinds.add("number")
        elif isinstance(value, str):
            kinds.add("string")
        else:
            return None
    return kinds.pop() if len(kinds) == 1 else None


def _string_forms(value):
    """How a number may have been written as a string (``1`` and ``1.0`` for 1.0)."""
    forms = {str(value)}
    if isinstance(value, numbers.Real) and float(value).is_integer():
        forms.add(str(int(value)))
    return forms


def check_level_kind(role, name, col, known):
    """InputError when a column changed between numbers and strings since fit.

    Raised only when no non-missing value of ``col`` is among the ``known``
    levels while their string forms match known levels (1 at fit, "1" now, or
    the other way round): such values would otherwise all become unseen levels.
    Called only once the coding found no known level, so that the usual case
    costs nothing.

    Parameters
    ----------
    role : str
        Role of the column, for the message.
    name : str or int
        Name of the column in X.
    col : Series
        The column now.
    known : list
        Levels of the column seen at fit time.

    Raises
    ------
    InputError
        When the column changed between numbers and strings since fit.
    """
    new = list(pd.unique(col.dropna()))
    if not new or not known:
        return
    if (pd.Index(known).get_indexer(pd.Index(new, dtype=object)) >= 0).any():
        return
    was, now = _value_kind(known), _value_kind(new)
    if was is None or now is None or was == now:
        return
    if was == "number":
        converted = pd.to_numeric(pd.Index(new, dtype=object), errors="coerce")
        if not (pd.Index(known).get_indexer(converted) >= 0).any():
            return
        to = "int" if all(isinstance(v, numbers.Integral) for v in known) else "float"
        was_words, now_words = "numeric", "strings"
    else:
        known_str = set(known)
        if not any(_string_forms(v) & known_str for v in new):
            return
        to, was_words, now_words = "str", "strings", "numbers"
    raise InputError(
        f"{role.capitalize()} column {name!r} was {was_words} at fit time and holds "
        f"{now_words} now ({shown(new)}; levels at fit: {shown(known)}), so none of its "
        f"values match a level seen at fit. Convert it with df[{name!r}].astype({to})."
    )
