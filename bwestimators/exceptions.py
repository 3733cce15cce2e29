"""Exceptions that tell a caller's mistake apart from a bug in the library.

Where bwestimators validates its input (column names, roles, levels, ``y``) it
raises :class:`InputError` (or :class:`InputTypeError` for a wrong type), with a
message that says what to do. Anything else that escapes the library is a bug
and keeps its traceback: the ``bwestimators`` command reports an
:class:`InputError` as one line with exit code 2 and lets every other exception
through.

Both subclass the built-in exceptions they replace (:class:`ValueError`, and
:class:`TypeError` for :class:`InputTypeError`), so ``except ValueError`` and
``pytest.raises(ValueError)`` keep working. This module imports nothing.
"""

__all__ = ["InputError", "InputTypeError"]


class InputError(ValueError):
    """The caller's data or arguments are wrong; the message says what to do.

    Raised by the input checks of :class:`~bwestimators.ColumnSpec` and of the
    estimators (missing columns, bad roles or levels, an empty X, missing or
    non-numeric values in ``y`` ...). It is a :class:`ValueError`, so code that
    catches ``ValueError`` keeps working.

    See Also
    --------
    InputTypeError : The same, for an argument or data of the wrong type.

    Examples
    --------
    >>> import pandas as pd
    >>> from bwestimators import ColumnSpec
    >>> from bwestimators.exceptions import InputError
    >>> df = pd.DataFrame({"stim": [0, 1, 0, 1], "mouse": ["a", "a", "b", "b"]})
    >>> try:
    ...     ColumnSpec("stim", group="mose").fit(df)
    ... except InputError as exc:
    ...     print(exc)
    Column 'mose' (role 'group') is not in X. Did you mean 'mouse'? ...
    >>> issubclass(InputError, ValueError)
    True
    """


class InputTypeError(InputError, TypeError):
    """An argument or the data has the wrong type; the message says what to pass.

    Both an :class:`InputError` (and so a :class:`ValueError`) and a
    :class:`TypeError`: ``except TypeError`` keeps working where a
    :class:`TypeError` was raised before.

    See Also
    --------
    InputError : The caller's data or arguments are wrong.

    Examples
    --------
    >>> from scipy import sparse
    >>> from bwestimators import ColumnSpec
    >>> from bwestimators.exceptions import InputError, InputTypeError
    >>> try:
    ...     ColumnSpec(0).fit(sparse.csr_matrix([[0.0], [1.0]]))
    ... except InputTypeError as exc:
    ...     print(exc)
    Sparse input is not supported: pass a DataFrame or a dense array (X.toarray()).
    >>> issubclass(InputTypeError, InputError) and issubclass(InputTypeError, TypeError)
    True
    """
