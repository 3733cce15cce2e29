"""What every estimator shares: reading X through a ColumnSpec, checking input, decoding labels."""

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.exceptions import DataConversionWarning

from bwestimators._spec_checks import as_frame
from bwestimators._warn import warn
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
    # the coded treatment passes through as it is; its kind comes with the frame's attrs
    numeric = pd.api.types.is_numeric_dtype(Z["treatment"]) and Z["treatment"].dtype != bool
    return ColumnSpec("treatment", treatment_kind="continuous" if numeric else "auto", **roles)


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


def _infer_kind(Z, meta, spec):
    """Treatment kind, levels and reference when X's attrs do not say them.

    The attrs of a ColumnSpec's output say them; a frame of role columns without
    them (or from an older ColumnSpec) gets them from its treatment levels, or
    from its values: two values are a binary treatment, more a continuous one.
    """
    levels = meta.get("treatment_levels")
    if levels is None and getattr(spec, "treatment_levels_", None) is not None:
        levels = spec.treatment_levels_
    if levels is not None:
        kind = "binary" if len(levels) == 2 else "categorical"
        return {
            "treatment_kind": kind,
            "treatment_levels": list(levels),
            "treatment_reference": meta.get("treatment_reference", levels[0]),
        }
    n_values = np.unique(Z["treatment"].dropna()).size
    return {"treatment_kind": "binary" if n_values == 2 else "continuous"}


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
        if "treatment_kind" not in self.meta:
            self.meta = {**self.meta, **_infer_kind(Z, self.meta, spec)}

    @property
    def kind(self):
        """The kind of the treatment: ``"binary"``, ``"continuous"`` or ``"categorical"``."""
        return self.meta["treatment_kind"]

    @property
    def levels(self):
        """Every treatment level, the reference first (None for a continuous treatment)."""
        return self.meta.get("treatment_levels")

    def codes(self, role):
        """Integer codes of a role (-1 where missing), or None when the role is absent."""
        if role not in self.Z.columns:
            return None
        return self.Z[role].cat.codes.to_numpy().astype(np.int64)

    def n_levels(self, role):
        return len(self.spec.categories_.get(role, []))


def _with_labels(values, data, cond):
    """``values`` after the condition columns ``cond`` (and ``treatment_level``), see
    :meth:`EffectsEstimatorMixin._effects_table`."""
    values = pd.DataFrame(values).reset_index(drop=True)
    front = []
    n_each = 1
    if data.kind == "categorical":
        compared = list(data.levels[1:])
        n_each = len(compared)
    if "condition" in data.Z.columns:
        cond = cond.iloc[np.repeat(np.arange(len(cond)), n_each)].reset_index(drop=True)
        front.append(cond)
    if data.kind == "categorical":
        n_cond = len(values) // n_each
        front.append(pd.DataFrame({"treatment_level": compared * n_cond}))
    if len(front) and sum(len(f) for f in front) != len(front) * len(values):
        raise ValueError(
            f"{len(values)} effect rows do not match {len(front[0])} condition x level rows"
        )
    table = pd.concat([*front, values], axis=1) if front else values
    return table


def _treatment_attrs(data):
    """The treatment part of ``effects_.attrs``: name, kind, reference, (categorical) levels."""
    attrs = {"treatment": data.names.get("treatment"), "treatment_kind": data.kind}
    if data.levels is not None:
        attrs["reference"] = data.meta.get("treatment_reference", data.levels[0])
        attrs["treatment_levels"] = list(data.levels)  # in code order: 0, 1, ...
    return attrs


def _check_categorical(est, data):
    """A categorical treatment: supported here, and every level in every condition."""
    names, levels = data.names, data.levels
    if not est._categorical_treatment:
        raise InputError(
            f"{type(est).__name__} does not fit a categorical treatment yet (column "
            f"{names['treatment']!r} has {len(levels)} levels); use LMEComparator or "
            "AnovaComparator, or compare two levels at a time (treatment_levels=[a, b] on "
            "the rows of those two levels)."
        )
    codes = data.Z["treatment"].to_numpy().astype(np.int64)
    if "condition" in data.Z.columns:
        cond = data.codes("condition")
        n_cond = data.n_levels("condition")
    else:
        cond, n_cond = np.zeros(len(codes), dtype=np.int64), 1
    counts = np.zeros((n_cond, len(levels)), dtype=np.int64)
    np.add.at(counts, (cond, codes), 1)
    empty = np.argwhere(counts == 0)
    if len(empty):
        where = [
            f"{levels[j]!r}"
            + (
                f" in condition {data.spec.categories_['condition'][i]!r}"
                if "condition" in data.Z.columns
                else ""
            )
            for i, j in empty[:5]
        ]
        raise InputError(
            f"Treatment column {names['treatment']!r} has no rows at level(s) "
            f"{', '.join(where)}, so the effect of every level against the reference "
            f"{levels[0]!r} cannot be estimated there; drop that level (list the others "
            "in treatment_levels) or those condition levels."
        )


def _checked_target(est, y, data, fit):
    """See :meth:`EffectsEstimatorMixin._check_y`."""
    if y is None:
        raise InputError(f"{type(est).__name__} requires y to be passed, but the target y is None.")
    n_rows, y_in = len(data.Z), y
    if isinstance(y, pd.Series) and data.index is not None:
        y = _aligned(y, data.index)
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        warn(
            "A column-vector y was passed when a 1d array was expected; using y.ravel().",
            DataConversionWarning,
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
        est._y_name = getattr(y_in, "name", None)
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
        return _checked_target(self, y, data, fit)

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
        if data.kind == "categorical":
            _check_categorical(self, data)
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

    #: whether the estimator fits a categorical (k >= 3 levels) treatment; the Bayesian
    #: estimators refuse one until they do (set it True on an estimator class to allow it)
    _categorical_treatment = False

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

        For a categorical treatment with k levels, ``values`` has one row per
        (condition, non-reference level), condition-major (every level of the
        first condition, then the second ...); the condition columns are
        repeated and a ``treatment_level`` column (the level compared with the
        reference) follows them. The table's ``attrs`` say what it is (see
        :meth:`_effects_attrs`).
        """
        table = _with_labels(
            values, data, self._condition_frame(data) if "condition" in data.Z else None
        )
        table.attrs = self._effects_attrs(data)
        return table

    def _interval_attrs(self):
        """Method, interval kind and level, and scale of a frequentist estimator."""
        name = type(self).__name__.removesuffix("Comparator").lower()
        return {"method": name, "interval": "ci", "level": 1 - self.alpha, "scale": "y"}

    def _effects_attrs(self, data):
        """``effects_.attrs``: method, interval kind and level, scale, y and treatment."""
        y_name = getattr(self, "_y_name", None)
        return {**self._interval_attrs(), "y": y_name, **_treatment_attrs(data)}

    def pairwise_effects(self, by="condition", adjust="holm"):
        """Every pairwise difference of the treatment effects, with its interval.

        Parameters
        ----------
        by : {"condition", "treatment"}, default="condition"
            ``"condition"``: the effect in each pair of condition levels (within
            each treatment level of a categorical treatment), e.g. whether the
            slope in females differs from the slope in males. ``"treatment"``
            (categorical treatments only): each pair of treatment levels within
            each condition, the reference included (whose effect is 0), so the
            table holds every k (k - 1) / 2 comparison of the levels.
        adjust : {"holm", "bonferroni"} or None, default="holm"
            Multiple-comparison adjustment of the p-values over all rows of
            the table (frequentist estimators; a ``p_adjusted`` column).

        Returns
        -------
        table : DataFrame
            One row per pair: the shared ``treatment_level`` or condition
            columns, the sides (``condition_a``/``_b`` or
            ``treatment_level_a``/``_b``; ``a`` the later in ``effects_``),
            ``estimate`` (effect at ``a`` minus at ``b``), ``std_error``,
            ``lower``, ``upper``, then ``p_value``, ``p_adjusted`` (frequentist:
            from the covariance of the estimates; t with the residual df where
            the model has them, else z) or ``prob_positive`` (Bayesian: from
            the joint draws, HDI at ``hdi_prob``). ``attrs``: those of
            ``effects_`` with ``by`` and ``adjust``.

        Examples
        --------
        >>> import pandas as pd
        >>> from bwestimators import AnovaComparator, ColumnSpec
        >>> from bwestimators.datasets import generate_fake_lfp
        >>> df = generate_fake_lfp(n_trials=5, random_state=0).df
        >>> df["half"] = (df["mouse"].astype(str) < "m5").map({True: "early", False: "late"})
        >>> anova = AnovaComparator(ColumnSpec("stim", condition="half", group="mouse"))
        >>> table = anova.fit(df, df["Log power"]).pairwise_effects()
        >>> list(table.columns[:4])
        ['condition_a', 'condition_b', 'estimate', 'std_error']
        """
        from sklearn.utils.validation import check_is_fitted

        from bwestimators._pairwise import pairwise_table

        check_is_fitted(self, "effects_")
        return pairwise_table(self, by=by, adjust=adjust)

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
