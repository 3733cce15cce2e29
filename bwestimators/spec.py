"""ColumnSpec: name the roles of DataFrame columns.

A :class:`ColumnSpec` is a scikit-learn transformer that learns the levels of the
role columns of a DataFrame (treatment, condition, group, group2, detail) and
returns a frame with one column per role, ready for the estimators.
"""

import numbers

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from bwestimators._levels import (
    categorical,
    encode_condition,
    encode_treatment,
    learn_condition,
    learn_treatment,
    sorted_levels,
)
from bwestimators._spec_checks import as_frame, check_columns, check_level_kind
from bwestimators.exceptions import InputError

ROLES = ("treatment", "condition", "group", "group2", "detail")
CATEGORICAL_ROLES = ROLES[1:]
SPEC_ATTR = "bwestimators_spec"


class ColumnSpec(TransformerMixin, BaseEstimator):
    """Name the roles of the columns of a DataFrame.

    Parameters
    ----------
    treatment : str or int
        Column with the treatment. A numeric column is used as it is (0/1 or
        continuous). A non-numeric column with exactly two levels (bool,
        ``"off"``/``"on"``) is coded 0/1 in sorted order, or in the order of
        ``treatment_levels``. A pandas Categorical is coded in the order of its
        categories (ordered or not), so categories ``["pre", "post"]`` code
        ``"pre"`` as 0 and ``"post"`` as 1: with exactly two categories, those
        two, even where the data hold only one; with more, the two that occur.
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
        The treatment levels coded as 0 and 1, in that order. Takes precedence
        over the order of a Categorical's categories.

    Attributes
    ----------
    columns_ : dict
        Role name to the original column name(s), for the roles given.
    categories_ : dict
        Role name to the list of levels learned at fit time (for ``condition``
        with several columns: the joined labels), sorted, or for a pandas
        Categorical the categories that occur, in the order of its categories.
    condition_levels_ : DataFrame or None
        One row per condition level, in code order, with the original condition
        column(s) and their original dtypes; indexed by the condition label.
    treatment_levels_ : list or None
        For a coded (non-numeric or ``treatment_levels``) treatment: the levels
        coded 0 and 1. None when the treatment is numeric and used as it is.
    treatment_reference_ : object or None
        The reference (baseline) treatment level, coded 0: effects are of the
        other level against it. None when the treatment is numeric and used as
        it is (effects per unit of treatment).
    n_features_in_ : int
        Number of columns of X at fit time.
    feature_names_in_ : ndarray
        Column names of X at fit time, when they are all strings.

    Notes
    -----
    The output frame keeps the roles' original names in ``frame.attrs``, so an
    estimator after a ``ColumnSpec`` in a pipeline can report effects with the
    original condition columns, and the treatment levels and reference. The
    caller's frame is never modified.

    A condition, group, group2 or detail level not seen at fit time becomes
    missing (NaN) in that role. A treatment level not seen at fit time has no
    code and is an error that names it (a missing treatment value stays NaN).
    A column whose values changed between numbers and strings since fit (mouse
    ``1`` at fit, ``"1"`` now), so that none of them matches a fitted level, is
    an error that says how to convert it back.

    Duplicated column names are an error only for a column the spec names
    (ColumnSpec could not tell which copy to use); duplicates among the other
    columns are harmless. MultiIndex columns are not supported: flatten them
    first, e.g. ``df.columns = [" ".join(map(str, c)) for c in df.columns]``.

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
        named = [
            (role, name)
            for role, value in columns.items()
            for name in (value if isinstance(value, list) else [value])
        ]
        seen = {}
        for role, name in named:
            if name in seen:
                raise InputError(
                    f"Column {name!r} is given as both {seen[name]} and {role}; each role "
                    "needs a column of its own (a treatment cannot be its own group)."
                )
            seen[name] = role
        return columns

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
        X = as_frame(X)
        columns = self._role_columns()
        check_columns(X, columns)
        if len(X) == 0:
            raise InputError("X has no rows; ColumnSpec needs data to learn the levels from.")
        self.columns_ = columns
        self.n_features_in_ = X.shape[1]
        if all(isinstance(c, str) for c in X.columns):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.treatment_levels_ = learn_treatment(
            X[columns["treatment"]], self.treatment, self.treatment_levels
        )
        self.treatment_reference_ = (
            None if self.treatment_levels_ is None else self.treatment_levels_[0]
        )
        self.categories_ = {}
        self.condition_levels_ = None
        if "condition" in columns:
            labels, self.condition_levels_ = learn_condition(X[columns["condition"]])
            self.categories_["condition"] = labels
        for role in ("group", "group2", "detail"):
            if role in columns:
                self.categories_[role] = sorted_levels(X[columns[role]])
        return self

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

        Raises
        ------
        InputError
            When a role column is missing or duplicated, X has MultiIndex
            columns, the treatment has a level not seen at fit time, or a role
            column changed between numbers and strings since fit.
        """
        check_is_fitted(self, "columns_")
        X = as_frame(X)
        if not hasattr(self, "feature_names_in_") and X.shape[1] != self.n_features_in_:
            raise InputError(
                f"X has {X.shape[1]} features, but ColumnSpec is expecting "
                f"{self.n_features_in_} features as input."
            )
        check_columns(X, self.columns_)
        treatment = X[self.columns_["treatment"]]
        out = {"treatment": encode_treatment(treatment, self.treatment, self.treatment_levels_)}
        if "condition" in self.columns_:
            out["condition"] = encode_condition(
                X, self.columns_["condition"], self.categories_["condition"], self.condition_levels_
            )
        for role in ("group", "group2", "detail"):
            if role in self.columns_:
                col = X[self.columns_[role]]
                out[role] = categorical(col, self.categories_[role])
                if (out[role].codes < 0).all() and col.notna().any():
                    check_level_kind(role, self.columns_[role], col, self.categories_[role])
        Z = pd.DataFrame(out, index=X.index)
        Z.attrs[SPEC_ATTR] = self._attrs()
        return Z

    def _attrs(self):
        return {
            "columns": {
                k: (list(v) if isinstance(v, list) else v) for k, v in self.columns_.items()
            },
            "condition_levels": self.condition_levels_,
            "treatment_levels": self.treatment_levels_,
            "treatment_kind": _treatment_kind(self.treatment_levels_),
            # getattr: a ColumnSpec pickled before treatment_reference_ existed
            "treatment_reference": getattr(
                self, "treatment_reference_", (self.treatment_levels_ or [None])[0]
            ),
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


def _treatment_kind(levels):
    """The kind of a coded treatment: categorical (3+ levels), binary (2), None if numeric."""
    if levels is None:
        return None
    return "categorical" if len(levels) >= 3 else "binary"
