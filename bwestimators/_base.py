"""What every estimator shares: reading X through a ColumnSpec, checking input, decoding labels."""

import warnings

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.exceptions import DataConversionWarning

from bwestimators._spec_checks import as_frame
from bwestimators.exceptions import InputError, InputTypeError
from bwestimators.spec import CATEGORICAL_ROLES, SPEC_ATTR, ColumnSpec


def final_estimator(estimator):
    """The last step of a pipeline, or the estimator itself."""
    return estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator


def transform_to_final(estimator, X):
    """X passed through every step of a pipeline but the last (X itself otherwise)."""
    if hasattr(estimator, "steps"):
        for _, step in estimator.steps[:-1]:
            X = step.transform(X)
    return X


def _role_spec_for_frame(Z):
    """A ColumnSpec over a frame that already has role columns (the output of a ColumnSpec)."""
    if "treatment" not in Z.columns:
        raise InputError(
            "With spec=None, X must be the output of a ColumnSpec, with a 'treatment' column; "
            f"got columns {list(Z.columns)[:10]}. Pass spec=ColumnSpec('your treatment', ...) "
            "or put a ColumnSpec before the estimator in a pipeline."
        )
    roles = {r: r for r in CATEGORICAL_ROLES if r in Z.columns}
    return ColumnSpec("treatment", **roles)


def _aligned(y, index):
    """y reordered to ``index`` when it holds the same labels; an InputError otherwise."""
    if y.index.equals(index):
        return y
    same = (
        len(y) == len(index) and y.index.is_unique and index.is_unique and y.index.isin(index).all()
    )
    if not same:
        missing = index.difference(y.index) if index.is_unique else index[~index.isin(y.index)]
        shown = ", ".join(map(repr, list(missing[:3])))
        raise InputError(
            f"The index of y does not match the index of X ({len(missing)} label(s) of X are "
            f"not in y{': ' + shown if shown else ''}; or labels repeat). Pass y with X's index "
            "(e.g. df['y'] for X=df), or y.to_numpy() to pair them by position."
        )
    return y.reindex(index)


def align_target(X, y):
    """y aligned to X by label when both are pandas objects (see :func:`_aligned`), else y."""
    if isinstance(y, pd.Series) and isinstance(X, (pd.DataFrame, pd.Series)):
        return _aligned(y, X.index)
    return y


class _RoleData:
    """Role columns of X, coded, with the original names for decoding results."""

    def __init__(self, Z, spec, meta, labelled=True):
        self.Z = Z
        self.spec = spec
        self.meta = meta or {}
        #: X's index when X came with one (a pandas object), to align y with; else None
        self.index = Z.index if labelled else None
        columns = dict(meta.get("columns", {})) if meta else {}
        self.names = {role: columns.get(role, role) for role in spec.columns_}
        self.condition_levels = meta.get("condition_levels") if meta else None

    def codes(self, role):
        """Integer codes of a role (-1 where missing), or None when the role is absent."""
        if role not in self.Z.columns:
            return None
        return self.Z[role].cat.codes.to_numpy().astype(np.int64)

    def n_levels(self, role):
        return len(self.spec.categories_.get(role, []))


class EffectsEstimatorMixin:
    """Helpers shared by the estimators: input resolution, validation and decoding."""

    def _resolve(self, X, *, fit):
        labelled = isinstance(X, (pd.DataFrame, pd.Series))
        X = as_frame(X)
        if fit:
            if len(X) < 2:
                raise InputError(
                    f"Found array with {len(X)} sample(s) (n_samples={len(X)}) while a minimum "
                    f"of 2 is required by {type(self).__name__}."
                )
            if self.spec is not None:
                if not isinstance(self.spec, ColumnSpec):
                    raise InputTypeError(
                        f"spec must be a ColumnSpec or None, got {type(self.spec)}."
                    )
                self.spec_ = clone(self.spec).fit(X)
                self._meta_ = self.spec_._attrs()
            else:
                self.spec_ = _role_spec_for_frame(X).fit(X)
                self._meta_ = X.attrs.get(SPEC_ATTR)
            self.n_features_in_ = X.shape[1]
            if all(isinstance(c, str) for c in X.columns):
                self.feature_names_in_ = np.asarray(X.columns, dtype=object)
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        elif not hasattr(self, "feature_names_in_"):  # fitted on an array: positions matter
            if X.shape[1] != self.n_features_in_:
                raise InputError(
                    f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                    f"{self.n_features_in_} features as input."
                )
        Z = self.spec_.transform(X)
        return _RoleData(Z, self.spec_, self._meta_, labelled)

    def _check_predict_roles(self, data, unseen_condition_ok=False):
        """Missing treatment values, and (unless allowed) condition levels unseen at fit time."""
        if data.Z["treatment"].isna().any():
            raise InputError(
                f"Treatment column {data.names['treatment']!r} has missing values in X."
            )
        if unseen_condition_ok or "condition" not in data.Z.columns:
            return
        if data.Z["condition"].isna().any():
            raise InputError(
                f"Condition column {data.names['condition']!r} has "
                f"{int(data.Z['condition'].isna().sum())} row(s) with levels not seen at fit time."
            )

    def _check_y(self, y, data, *, fit=True):
        """y as a float array in the row order of X (``data``: the resolved X).

        When X and y both carry a pandas index, y is aligned to X by label; an
        index of y that does not hold exactly X's labels is an error (never a
        silent match by position). At fit, a constant y, or one whose spread
        overflows float64, is refused.
        """
        if y is None:
            raise InputError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        n_rows, y_in = len(data.Z), y
        if isinstance(y, pd.Series) and data.index is not None:
            y = _aligned(y, data.index)
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected; using y.ravel().",
                DataConversionWarning,
                stacklevel=3,
            )
            y = y[:, 0]
        if y.ndim != 1:
            raise InputError(f"y must be one-dimensional, got shape {y.shape}.")
        if len(y) != n_rows:
            raise InputError(f"y has {len(y)} values but X has {n_rows} rows.")
        if np.iscomplexobj(y):  # astype(float) would only warn and drop the imaginary part
            raise InputError("Complex data not supported in y.")
        if y.dtype == bool:
            y = y.astype(float)
        try:
            y = y.astype(float)
        except (TypeError, ValueError) as exc:
            raise InputError(f"y must be numeric, got dtype {y.dtype}.") from exc
        bad = ~np.isfinite(y)
        if bad.any():
            raise InputError(
                f"y has {int(bad.sum())} missing or infinite value(s) (first at row "
                f"{int(np.flatnonzero(bad)[0])}); drop those rows before fitting."
            )
        if fit:
            self._y_name = getattr(y_in, "name", None)
        if fit and np.ptp(y) == 0:
            raise InputError(f"y is constant ({y[0]!r}); there is no effect to estimate.")
        with np.errstate(over="ignore"):
            overflow = fit and not np.isfinite(np.var(y))
        if overflow:
            raise InputError(
                "y's values are too large for float64 arithmetic (its variance overflows); "
                "rescale y (e.g. divide by a power of 10) before fitting."
            )
        return y

    def _check_roles(self, data, *, need_group=False):
        """Missing values, a single treatment level, one group, conditions without contrast."""
        Z, names = data.Z, data.names
        t = Z["treatment"].to_numpy()
        if np.isnan(t).any():
            raise InputError(
                f"Treatment column {names['treatment']!r} has {int(np.isnan(t).sum())} missing "
                "value(s); drop those rows or fill them."
            )
        for role in CATEGORICAL_ROLES:
            if role in Z.columns and role != "detail" and Z[role].isna().any():
                raise InputError(
                    f"{role.capitalize()} column {names[role]!r} has "
                    f"{int(Z[role].isna().sum())} missing value(s); drop those rows or fill them."
                )
        if np.unique(t).size < 2:
            raise InputError(
                f"Treatment column {names['treatment']!r} has a single level ({t[0]!r}); an "
                "effect needs at least two."
            )
        if need_group:
            if "group" not in Z.columns:
                raise InputError(
                    "This model needs a group column: ColumnSpec(..., group='mouse'), or switch "
                    "off the group terms."
                )
            if Z["group"].nunique() < 2:
                raise InputError(
                    f"Group column {names['group']!r} has a single level; group effects need at "
                    "least two groups. Drop the group role or switch off the group terms."
                )
        if "condition" in Z.columns:
            levels = Z.groupby("condition", observed=True)["treatment"].nunique()
            flat = levels[levels < 2]
            if len(flat):
                shown = ", ".join(map(str, flat.index[:5]))
                raise InputError(
                    f"Condition {names['condition']!r} level(s) {shown} have a single treatment "
                    "level, so their treatment effect cannot be estimated; drop those rows or "
                    "merge the levels."
                )

    def _condition_frame(self, data):
        """Decoded condition columns, one row per condition level, in code order."""
        labels = data.spec.categories_["condition"]
        if data.condition_levels is not None:
            frame = data.condition_levels.loc[list(labels)].reset_index(drop=True)
        else:
            name = data.names["condition"]
            frame = pd.DataFrame({name: labels})
        return frame

    def _label_column(self, data, role):
        name = data.names[role]
        return name if isinstance(name, str) else str(name)

    def score(self, X, y, sample_weight=None):
        """Coefficient of determination R² of the predictions, y aligned to X by label.

        Parameters
        ----------
        X : DataFrame
        y : array-like of shape (n_samples,)
            When X and y are pandas objects, y is matched to X's rows by index.
        sample_weight : array-like of shape (n_samples,) or None, default=None

        Returns
        -------
        score : float
        """
        from sklearn.metrics import r2_score

        y = align_target(X, y)
        return r2_score(y, self.predict(X), sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        # only the role columns are used: on random data with many features the score is poor
        tags.regressor_tags.poor_score = True
        return tags

    def _effects_table(self, data, values):
        """Prepend the decoded condition columns to per-condition result columns.

        The table's ``attrs`` say what it is (see :meth:`_effects_attrs`).
        """
        values = pd.DataFrame(values)
        meta = data.meta or {}
        if meta.get("treatment_kind") == "categorical":  # rows: (condition, level), condition-major
            others = list(meta["treatment_levels"])[1:]
            n_rows = len(values) // len(others)
            values.insert(0, "treatment_level", others * n_rows)
            if "condition" in data.Z.columns:
                cond = self._condition_frame(data).loc[np.repeat(np.arange(n_rows), len(others))]
                values = pd.concat([cond.reset_index(drop=True), values], axis=1)
            table = values
        elif "condition" in data.Z.columns:
            table = pd.concat([self._condition_frame(data), values], axis=1)
        else:
            table = values.reset_index(drop=True)
        table.attrs = self._effects_attrs(data)
        return table

    def _interval_attrs(self):
        """Method, interval kind and level, and scale of a frequentist estimator."""
        name = type(self).__name__.removesuffix("Comparator").lower()
        return {"method": name, "interval": "ci", "level": 1 - self.alpha, "scale": "y"}

    def _effects_attrs(self, data):
        """``effects_.attrs``: method, interval kind and level, scale, y and treatment."""
        meta = data.meta or {}
        levels = meta.get("treatment_levels")
        kind = meta.get("treatment_kind")
        if kind is None:
            n_values = np.unique(data.Z["treatment"].dropna()).size
            kind = "binary" if levels is not None or n_values == 2 else "continuous"
        attrs = {
            **self._interval_attrs(),
            "y": getattr(self, "_y_name", None),
            "treatment": data.names.get("treatment"),
            "treatment_kind": kind,
        }
        if levels is not None:
            attrs["reference"] = meta.get("treatment_reference", levels[0])
        return attrs

    def summary(self):
        """The effects table as a reader wants it: one verdict per row.

        Returns
        -------
        table : DataFrame
            The decoded condition column(s), ``estimate``, ``lower``,
            ``upper``, the method's test numbers (``p_value`` or
            ``prob_positive``) and ``verdict``: for Bayesian fits whether the
            HDI excludes 0, for the others whether ``p_value < alpha``. The
            ``attrs`` of ``effects_`` are kept.

        Examples
        --------
        >>> from bwestimators import ColumnSpec, LMEComparator
        >>> from bwestimators.datasets import generate_fake_lfp
        >>> df = generate_fake_lfp(n_trials=5, random_state=0).df
        >>> lme = LMEComparator(ColumnSpec("stim", group="mouse")).fit(df, df["Log power"])
        >>> table = lme.summary()
        >>> list(table.columns)
        ['estimate', 'p_value', 'lower', 'upper', 'verdict']
        >>> table.attrs["method"], table.attrs["interval"], table.attrs["treatment"]
        ('lme', 'ci', 'stim')
        """
        from sklearn.utils.validation import check_is_fitted

        from bwestimators.effects import verdict

        check_is_fitted(self, "effects_")
        effects = self.effects_
        hidden = ("std_error", "z", "t", "ess_tail")
        table = effects[[c for c in effects.columns if c not in hidden]].copy()
        table["verdict"] = [verdict(self, row) for row in effects.to_dict("records")]
        table.attrs = dict(effects.attrs)
        return table

    @property
    def condition_columns_(self):
        """Names of the decoded condition columns at the front of ``effects_``.

        The original column names of the condition role (several when the
        ColumnSpec combines them), in the order of ``effects_``; an empty list
        without a condition. Raises :class:`~sklearn.exceptions.NotFittedError`
        (an ``AttributeError``) before ``fit``, so ``hasattr`` is False then.

        Examples
        --------
        >>> from bwestimators import ColumnSpec, LMEComparator
        >>> from bwestimators.datasets import generate_fake_lfp
        >>> df = generate_fake_lfp(n_trials=5, random_state=0).df
        >>> lme = LMEComparator(ColumnSpec("stim", group="mouse"))
        >>> hasattr(lme, "condition_columns_")
        False
        >>> lme.fit(df, df["Log power"]).condition_columns_
        []
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "effects_")
        names = ((getattr(self, "_meta_", None) or {}).get("columns") or {}).get("condition")
        if names is None and getattr(self, "spec_", None) is not None:
            names = self.spec_.columns_.get("condition")
        if names is None:
            return []
        names = names if isinstance(names, list) else [names]
        return [n for n in names if n in self.effects_.columns]
