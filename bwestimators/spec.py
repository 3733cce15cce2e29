"""ColumnSpec: name the roles of DataFrame columns.

A :class:`ColumnSpec` is a scikit-learn transformer that learns the levels of the
role columns of a DataFrame (treatment, condition, group, group2, detail) and
returns a frame with one column per role, ready for the estimators.
"""

import difflib
import numbers

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from bwestimators.exceptions import InputError, InputTypeError

ROLES = ("treatment", "condition", "group", "group2", "detail")
CATEGORICAL_ROLES = ROLES[1:]
SPEC_ATTR = "bwestimators_spec"


def _sorted_levels(values):
    """Unique non-missing values, sorted when they are comparable."""
    levels = pd.unique(pd.Series(values).dropna())
    try:
        return list(sorted(levels))
    except TypeError:
        return list(levels)


def _as_frame(X):
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


def _is_numeric(series):
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _missing_column_error(name, role, columns):
    listed = [str(c) for c in columns]
    close = difflib.get_close_matches(str(name), listed, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    shown = ", ".join(repr(c) for c in listed[:20]) + (", ..." if len(listed) > 20 else "")
    return InputError(
        f"Column {name!r} (role {role!r}) is not in X.{hint} "
        f"Available columns: {shown} (n_features={len(listed)}). "
        f"Pass the right name to ColumnSpec({role}=...)."
    )


def _categorical(values, categories):
    """Categorical of values with fixed categories; values not among them become missing."""
    codes = pd.Index(categories).get_indexer(pd.Index(values))
    return pd.Categorical.from_codes(codes, categories=categories)


def _join_label(values):
    return ", ".join(str(v) for v in values)


class ColumnSpec(TransformerMixin, BaseEstimator):
    """Name the roles of the columns of a DataFrame.

    Parameters
    ----------
    treatment : str or int
        Column with the treatment. A numeric column is used as it is (0/1 or
        continuous). A non-numeric column with exactly two levels (bool,
        ``"off"``/``"on"``) is coded 0/1 in sorted order, or in the order of
        ``treatment_levels``.
    condition : str, int, list or None, default=None
        Column(s) whose levels get their own treatment effect. Several columns
        are combined into one categorical whose labels are the values joined by
        ``", "``; :attr:`condition_levels_` decodes every label back to the
        original columns.
    group : str, int or None, default=None
        Grouping column, e.g. the animal.
    group2 : str, int or None, default=None
        Second grouping column, e.g. the recording session.
    detail : str, int or None, default=None
        Finest unit, e.g. the trial id; used by plots and to pair treatment levels.
    treatment_levels : sequence of two values or None, default=None
        The treatment levels coded as 0 and 1, in that order.

    Attributes
    ----------
    columns_ : dict
        Role name to the original column name(s), for the roles given.
    categories_ : dict
        Role name to the list of levels learned at fit time (for ``condition``
        with several columns: the joined labels).
    condition_levels_ : DataFrame or None
        One row per condition level, in code order, with the original condition
        column(s) and their original dtypes; indexed by the condition label.
    treatment_levels_ : list or None
        For a coded (non-numeric or ``treatment_levels``) treatment: the levels
        coded 0 and 1. None when the treatment is numeric and used as it is.
    n_features_in_ : int
        Number of columns of X at fit time.
    feature_names_in_ : ndarray
        Column names of X at fit time, when they are all strings.

    Notes
    -----
    The output frame keeps the roles' original names in ``frame.attrs``, so an
    estimator after a ``ColumnSpec`` in a pipeline can report effects with the
    original condition columns. The caller's frame is never modified. A level
    not seen at fit time becomes missing (NaN) in that role.

    Examples
    --------
    >>> import pandas as pd
    >>> from bwestimators import ColumnSpec
    >>> df = pd.DataFrame({"stim": ["off", "on", "off", "on"],
    ...                    "mouse": ["a", "a", "b", "b"],
    ...                    "Log power": [1.0, 1.5, 0.8, 1.2]})
    >>> Z = ColumnSpec("stim", group="mouse").fit_transform(df)
    >>> Z["treatment"].tolist()
    [0.0, 1.0, 0.0, 1.0]
    >>> Z["group"].cat.categories.tolist()
    ['a', 'b']
    """

    def __init__(
        self,
        treatment=None,
        *,
        condition=None,
        group=None,
        group2=None,
        detail=None,
        treatment_levels=None,
    ):
        self.treatment = treatment
        self.condition = condition
        self.group = group
        self.group2 = group2
        self.detail = detail
        self.treatment_levels = treatment_levels

    def _role_columns(self):
        if self.treatment is None:
            raise InputError(
                "ColumnSpec needs a treatment column: ColumnSpec('stim', group='mouse')."
            )
        columns = {"treatment": self.treatment}
        if self.condition is not None:
            cond = self.condition
            if isinstance(cond, (str, numbers.Integral)) or not hasattr(cond, "__iter__"):
                cond = [cond]
            cond = list(cond)
            if not cond:
                raise InputError("condition is an empty list; pass None for no condition.")
            columns["condition"] = cond
        for role in ("group", "group2", "detail"):
            value = getattr(self, role)
            if value is not None:
                columns[role] = value
        return columns

    def _check_columns(self, X, columns):
        for role, names in columns.items():
            for name in names if isinstance(names, list) else [names]:
                if name not in X.columns:
                    raise _missing_column_error(name, role, X.columns)

    def fit(self, X, y=None):
        """Learn the levels of every role column.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Data with the role columns. With an array, roles are integer positions.
        y : ignored

        Returns
        -------
        self : ColumnSpec
        """
        X = _as_frame(X)
        columns = self._role_columns()
        self._check_columns(X, columns)
        if len(X) == 0:
            raise InputError("X has no rows; ColumnSpec needs data to learn the levels from.")
        self.columns_ = columns
        self.n_features_in_ = X.shape[1]
        if all(isinstance(c, str) for c in X.columns):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.treatment_levels_ = self._learn_treatment(X[columns["treatment"]])
        self.categories_ = {}
        self.condition_levels_ = None
        if "condition" in columns:
            cond = X[columns["condition"]].drop_duplicates().dropna()
            try:
                cond = cond.sort_values(list(cond.columns), kind="stable")
            except TypeError:
                pass
            cond = cond.reset_index(drop=True)
            if len(columns["condition"]) == 1:
                labels = list(cond.iloc[:, 0])
            else:
                labels = [_join_label(row) for row in cond.itertuples(index=False)]
            cond.index = pd.Index(labels, name="condition")
            self.condition_levels_ = cond
            self.categories_["condition"] = labels
        for role in ("group", "group2", "detail"):
            if role in columns:
                self.categories_[role] = _sorted_levels(X[columns[role]])
        return self

    def _learn_treatment(self, col):
        name = self.treatment
        if self.treatment_levels is not None:
            levels = list(self.treatment_levels)
            if len(levels) != 2 or levels[0] == levels[1]:
                raise InputError(
                    f"treatment_levels must name two different levels of column {name!r}, "
                    f"got {self.treatment_levels!r}."
                )
            observed = set(pd.unique(col.dropna()))
            unknown = observed - set(levels)
            if unknown:
                raise InputError(
                    f"Treatment column {name!r} has levels {sorted(map(str, unknown))} that are "
                    f"not in treatment_levels={levels!r}; list both levels present in the data."
                )
            return levels
        if _is_numeric(col):
            return None
        levels = _sorted_levels(col)
        if len(levels) != 2:
            shown = levels[:10]
            raise InputError(
                f"Treatment column {name!r} is not numeric and has {len(levels)} level(s) "
                f"{shown!r}; a non-numeric treatment needs exactly two levels. Code it as numbers "
                f"(e.g. a stimulus strength), or use the extra levels as a condition."
            )
        return levels

    def _encode_treatment(self, col):
        if self.treatment_levels_ is None:
            if not _is_numeric(col):
                raise InputError(
                    f"Treatment column {self.treatment!r} was numeric at fit time but is "
                    f"{col.dtype} now."
                )
            return col.astype("float64").to_numpy(copy=True)
        mapping = {self.treatment_levels_[0]: 0.0, self.treatment_levels_[1]: 1.0}
        return col.map(mapping).astype("float64").to_numpy()

    def transform(self, X):
        """Return the role columns, coded.

        Parameters
        ----------
        X : DataFrame or array-like
            Data with the same role columns as at fit time.

        Returns
        -------
        Z : DataFrame
            Columns ``treatment`` (float64) and, where given, ``condition``,
            ``group``, ``group2``, ``detail`` as Categoricals with the original
            labels; same index as X. Unseen levels are missing.
        """
        check_is_fitted(self, "columns_")
        X = _as_frame(X)
        if not hasattr(self, "feature_names_in_") and X.shape[1] != self.n_features_in_:
            raise InputError(
                f"X has {X.shape[1]} features, but ColumnSpec is expecting "
                f"{self.n_features_in_} features as input."
            )
        self._check_columns(X, self.columns_)
        out = {"treatment": self._encode_treatment(X[self.columns_["treatment"]])}
        if "condition" in self.columns_:
            out["condition"] = self._encode_condition(X)
        for role in ("group", "group2", "detail"):
            if role in self.columns_:
                out[role] = _categorical(X[self.columns_[role]], self.categories_[role])
        Z = pd.DataFrame(out, index=X.index)
        Z.attrs[SPEC_ATTR] = self._attrs()
        return Z

    def _encode_condition(self, X):
        names = self.columns_["condition"]
        labels = self.categories_["condition"]
        if len(names) == 1:
            return _categorical(X[names[0]], labels)
        levels = pd.MultiIndex.from_frame(self.condition_levels_)
        codes = levels.get_indexer(pd.MultiIndex.from_frame(X[names]))
        return pd.Categorical.from_codes(codes, categories=labels)

    def _attrs(self):
        return {
            "columns": {
                k: (list(v) if isinstance(v, list) else v) for k, v in self.columns_.items()
            },
            "condition_levels": self.condition_levels_,
            "treatment_levels": self.treatment_levels_,
        }

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns: the roles given, in a fixed order.

        Parameters
        ----------
        input_features : ignored

        Returns
        -------
        feature_names_out : ndarray of str
        """
        check_is_fitted(self, "columns_")
        return np.asarray([r for r in ROLES if r in self.columns_], dtype=object)

    def decode_condition(self, labels):
        """Original condition column(s) for condition labels.

        Parameters
        ----------
        labels : sequence
            Condition labels as found in the ``condition`` output column.

        Returns
        -------
        frame : DataFrame
            One row per label, with the original condition column(s).
        """
        check_is_fitted(self, "columns_")
        if self.condition_levels_ is None:
            raise InputError("This ColumnSpec has no condition to decode.")
        return self.condition_levels_.loc[list(labels)].reset_index(drop=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.transformer_tags.preserves_dtype = []
        return tags
