"""AnovaComparator: between-subjects ANOVA on cell means, or repeated-measures ANOVA."""

from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from bwestimators import _anova_rm
from bwestimators._base import EffectsEstimatorMixin
from bwestimators._frequentist import (
    FormulaPickleMixin,
    contrast_table,
    design_rows,
    model_spec_of,
    quote,
    working_frame,
)
from bwestimators._warn import warn
from bwestimators.exceptions import InputError
from bwestimators.spec import ColumnSpec


def _one_per_cell(frame, roles):
    by = [roles["treatment"]] + ([roles["condition"]] if "condition" in roles else [])
    return bool((frame.groupby(by, observed=True).size() <= 1).all())


def _cell_frame(frame, roles):
    """One row per treatment x condition cell of the frame, sorted."""
    by = [roles["treatment"]] + ([roles["condition"]] if "condition" in roles else [])
    return frame[by].drop_duplicates().sort_values(by).reset_index(drop=True)


def _aggregated(data, y, y_name, aggregate):
    """The working frame, averaged over the levels of ``aggregate`` in every cell."""
    frame, roles = working_frame(data, y, y_name)
    if aggregate is not None:
        if aggregate not in data.Z.columns:
            raise InputError(
                f"aggregate={aggregate!r} needs a {aggregate} column in the "
                "ColumnSpec; pass aggregate=None to use the rows as they are."
            )
        key = aggregate
        if key not in roles:
            frame[str(data.names[key])] = data.Z[key]
            roles[key] = str(data.names[key])
        by = [roles[key], roles["treatment"]]
        if "condition" in roles:
            by.append(roles["condition"])
        frame = frame.groupby(by, observed=True, sort=True)[roles["y"]].mean().reset_index()
    return frame, roles


def _slope_mode(est, data):
    """Whether the treatment enters as a slope (else as a factor); errors for impossible asks."""
    kind = data.kind
    if est.treatment_as == "numeric" and est.kind == "rm":
        raise InputError(
            "treatment_as='numeric' needs kind='between'; with kind='rm' a continuous "
            "treatment gets a slope per subject by itself (treatment_as='auto')."
        )
    if est.treatment_as == "numeric" and kind == "categorical":
        raise InputError(
            f"treatment_as='numeric' cannot fit a slope on the categorical treatment "
            f"{data.names['treatment']!r} (levels {data.levels!r}); use treatment_as='auto'."
        )
    if est.treatment_as == "factor" and kind == "continuous":
        raise InputError(
            f"Treatment {data.names['treatment']!r} is continuous, so the ANOVA fits a slope "
            "(treatment_as='auto'). To compare its values as levels of a factor, declare "
            f"ColumnSpec({data.names['treatment']!r}, ..., treatment_kind='categorical')."
        )
    return est.treatment_as == "numeric" or kind == "continuous"


def _between_omnibus(result, L, k):
    """Per condition: the joint F test of its k - 1 contrasts against the reference."""
    out = []
    for rows in np.split(L, len(L) // (k - 1)):
        test = result.f_test(rows)
        out.append((float(test.fvalue), k - 1, float(test.df_denom), float(test.pvalue)))
    return out


def _omnibus(est, data, rows):
    """The ``omnibus_`` table: condition columns, then F, df, df_resid, p_value."""
    values = pd.DataFrame(rows, columns=["F", "df", "df_resid", "p_value"])
    if "condition" in data.Z.columns:
        values = pd.concat([est._condition_frame(data), values], axis=1)
    return values


def _contrast_frames(frame, roles, data, slope, values):
    """Rows at each compared treatment value and at the reference, per condition level:
    the difference of their design rows is the effect (condition-major, level-minor)."""
    t = roles["treatment"]
    if slope:
        pairs = [(1.0, 0.0)]
    elif data.kind == "categorical":
        pairs = [(float(j), 0.0) for j in range(1, len(data.levels))]
    else:
        pairs = [(values[-1], values[0])]
    if "condition" in roles:
        levels = frame[roles["condition"]].cat.categories
        reps = pd.DataFrame({roles["condition"]: pd.Categorical(levels, categories=levels)})
    else:
        reps = pd.DataFrame(index=[0])
    reps = reps.loc[reps.index.repeat(len(pairs))].reset_index(drop=True)
    hi_v = np.tile([hi for hi, _ in pairs], len(reps) // len(pairs))
    lo_v = np.tile([lo for _, lo in pairs], len(reps) // len(pairs))
    return reps.assign(**{t: hi_v}), reps.assign(**{t: lo_v})


def _row_sd(anova, data, y, y_name):
    """The sd of single rows around the fitted cell means (``aggregate`` or not).

    With ``aggregate`` the model is fitted on group means, whose spread around the
    cell means is smaller than that of single rows (by the within-group
    variance); a prediction is for a row, so its sd comes from the rows.
    """
    frame, _ = working_frame(data, y, y_name)
    spec = model_spec_of(anova.result_)
    resid = y - design_rows(spec, frame) @ np.asarray(anova.result_.params)
    dof = max(len(y) - len(anova.result_.params), 1)
    return float(np.sqrt(resid @ resid / dof))


def _with_residual_sd(anova, pred, return_std):
    """The predictions, and with ``return_std`` the sd of a single row (between only).

    The sd of the rows around the cell means (:func:`_row_sd`); the ANOVA knows
    no groups, so a new group's rows are independent to it.
    """
    if not return_std:
        return pred
    if anova.kind != "between":
        raise InputError(
            "return_std needs kind='between' (the repeated-measures ANOVA has no residual "
            "variance of single values); use the LMEComparator."
        )
    return pred, np.full(len(pred), anova._row_sd)


class AnovaComparator(FormulaPickleMixin, EffectsEstimatorMixin, RegressorMixin, BaseEstimator):
    """ANOVA of y on the treatment, crossed with the condition.

    A binary or categorical treatment is a factor; a continuous one a slope
    (ANCOVA-style), never a factor (see ``treatment_as``).
    ``kind="between"`` fits an OLS model ``y ~ C(treatment) * C(condition)``
    (continuous: ``y ~ treatment * C(condition)``) on
    the means of every (aggregate, treatment, condition) cell, as bayes-window
    did: with ``aggregate="group"`` each animal contributes one value per cell,
    so animals are the replicates and the animal-to-animal variation of the
    baseline stays in the error term. ``aggregate=None`` uses the rows as they
    are. ``kind="rm"`` is a repeated-measures ANOVA (statsmodels ``AnovaRM``)
    with ``group`` as the subject and treatment (and condition) within it; for a
    continuous treatment, a least-squares slope per subject and condition and a
    one-sample t-test of the slopes over subjects (the two-stage analysis).

    Parameters
    ----------
    spec : ColumnSpec or None, default=None
        Roles of the columns of X; None when X is the output of a ColumnSpec.
    kind : {"between", "rm"}, default="between"
    aggregate : {"group", "group2", "detail"} or None, default="group"
        Role whose levels are averaged into one value per cell first. When
        that leaves a single value per treatment x condition cell (conditions
        nested in the groups, e.g. neurons within mice), the between ANOVA
        warns and uses the rows instead (``aggregate_`` says what was used).
    typ : {1, 2, 3}, default=2
        Type of sums of squares (``between``); type 3 uses sum-to-zero contrasts.
    alpha : float, default=0.05
        1 - confidence level of the intervals.
    treatment_as : {"auto", "factor", "numeric"}, default="auto"
        ``"auto"``: from the ColumnSpec's ``treatment_kind_``: a binary or
        categorical treatment is the factor of the ANOVA (effects: each level
        minus the reference), a continuous one enters linearly (effects per
        unit). ``"factor"`` insists on a factor (a continuous treatment is then
        an error: declare ``ColumnSpec(..., treatment_kind="categorical")`` to
        compare its values as levels). ``"numeric"`` (``between`` only) fits a
        slope also on a binary treatment (the same effect as the factor).

    Attributes
    ----------
    anova_table_ : DataFrame
        Indexed by term, with statsmodels' columns ``sum_sq``, ``df``, ``F``,
        ``PR(>F)`` (``rm``: ``F``, ``df``, ``df_resid``, ``PR(>F)``, as
        ``AnovaRM`` gives no sums of squares). For a categorical treatment
        the treatment row is the omnibus F of all its levels. For ``rm`` with
        a continuous treatment: the treatment row is the squared one-sample t
        of the subjects' slopes (averaged over conditions), and
        ``treatment:condition`` the repeated-measures F of the slopes across
        conditions.
    pvalue_ : float
        p-value of the treatment main effect (the omnibus test for a
        categorical treatment).
    effects_ : DataFrame
        Per condition (and, for a categorical treatment, per level compared
        with the reference, in a ``treatment_level`` column): ``estimate``
        (the mean at the level minus the mean at the reference, or the slope
        per unit of a continuous treatment, in units of y), ``std_error``,
        ``t``, ``p_value`` (a contrast of the fitted model with the pooled
        error for ``between``; for ``rm`` a paired t-test over subjects, or a
        one-sample t-test of the subjects' slopes), ``lower``, ``upper``.
    omnibus_ : DataFrame or None
        Categorical treatment only: per condition, the F test that all its
        levels have the same mean in that condition (``between``: the joint
        Wald F of the condition's contrasts with the pooled error; ``rm``: the
        one-way repeated-measures F within the condition), columns ``F``,
        ``df``, ``df_resid``, ``p_value``. None otherwise.
    cell_means_ : DataFrame
        Fitted mean of every treatment x condition cell.
    aggregate_ : str or None
        The aggregation actually used.
    result_ : statsmodels results (``between``) or AnovaResults (``rm``)
    data_ : DataFrame
        The (aggregated) data the ANOVA was fitted on.

    Examples
    --------
    >>> from bwestimators import AnovaComparator, ColumnSpec
    >>> from bwestimators.datasets import generate_fake_lfp
    >>> df = generate_fake_lfp(mouse_response_slope=9, n_trials=30, random_state=0).df
    >>> anova = AnovaComparator(ColumnSpec("stim", group="mouse")).fit(df, df["Log power"])
    >>> anova.anova_table_.index.tolist()
    ["C(Q('stim'))", 'Residual']
    """

    _parameter_constraints: ClassVar[dict] = {
        "spec": [ColumnSpec, None],
        "kind": [StrOptions({"between", "rm"})],
        "aggregate": [StrOptions({"group", "group2", "detail"}), None],
        "typ": [Interval(Integral, 1, 3, closed="both")],
        "alpha": [Interval(Real, 0, 1, closed="neither")],
        "treatment_as": [StrOptions({"auto", "factor", "numeric"})],
    }

    _categorical_treatment = True

    def __init__(
        self,
        spec=None,
        *,
        kind="between",
        aggregate="group",
        typ=2,
        alpha=0.05,
        treatment_as="auto",
    ):
        self.spec = spec
        self.treatment_as = treatment_as
        self.kind = kind
        self.aggregate = aggregate
        self.typ = typ
        self.alpha = alpha

    def fit(self, X, y):
        """Fit the ANOVA.

        Parameters
        ----------
        X : DataFrame
        y : array-like of shape (n_samples,)

        Returns
        -------
        self : AnovaComparator
        """
        self._validate_params()
        data = self._resolve(X, fit=True)
        self._slope = _slope_mode(self, data)
        y_arr = self._check_y(y, data)
        self._check_roles(data, need_group=self.kind == "rm")
        y_name = getattr(y, "name", None)
        self.aggregate_ = self.aggregate
        frame, roles = _aggregated(data, y_arr, y_name, self.aggregate)
        if self.kind == "between" and self.aggregate is not None and _one_per_cell(frame, roles):
            warn(
                f"Averaging over {self.aggregate!r} leaves one value per treatment x condition "
                f"cell (the conditions are nested in {data.names[self.aggregate]!r}), so the "
                "ANOVA has no error term; it uses the rows as they are (aggregate=None).",
                UserWarning,
            )
            self.aggregate_ = None
            frame, roles = _aggregated(data, y_arr, y_name, None)
        self._roles = roles
        self.data_ = frame
        self.treatment_values_ = np.sort(frame[roles["treatment"]].unique())
        self.omnibus_, self._lines = None, None
        if self.kind == "between":
            self._fit_between(frame, roles, data)
            self._row_sd = _row_sd(self, data, y_arr, y_name)
        else:
            self._fit_rm(frame, roles, data)
        return self

    # ---- between -----------------------------------------------------------------------
    def _treatment_term(self, roles):
        if self._slope:
            return quote(roles["treatment"])
        return f"C({quote(roles['treatment'])}{', Sum' if self.typ == 3 else ''})"

    def _formula(self, roles):
        contrast = ", Sum" if self.typ == 3 else ""
        t = self._treatment_term(roles)
        # a condition with a single level has no contrast to estimate: not a model term
        if "condition" in roles and self.data_[roles["condition"]].nunique() > 1:
            c = f"C({quote(roles['condition'])}{contrast})"
            return f"{quote(roles['y'])} ~ {t} * {c}"
        return f"{quote(roles['y'])} ~ {t}"

    def _fit_between(self, frame, roles, data):
        import statsmodels.api as sm
        import statsmodels.formula.api as smf

        self.formula_ = self._formula(roles)
        result = smf.ols(self.formula_, frame).fit()
        if result.df_resid < 1:
            raise InputError(
                "No residual degrees of freedom: one value per cell. Use aggregate=None or a "
                "finer aggregate, or the LMEComparator."
            )
        self.result_ = result
        self.anova_table_ = sm.stats.anova_lm(result, typ=self.typ)
        self.pvalue_ = float(self.anova_table_.loc[self._treatment_term(roles), "PR(>F)"])
        hi, lo = _contrast_frames(frame, roles, data, self._slope, self.treatment_values_)
        spec = model_spec_of(result)
        self._effect_L = design_rows(spec, hi) - design_rows(spec, lo)
        params, cov = np.asarray(result.params), np.asarray(result.cov_params())
        tab = contrast_table(self._effect_L, params, cov, self.alpha, df=result.df_resid)
        self.effects_ = self._table(data, tab)
        if data.kind == "categorical" and not self._slope:
            self.omnibus_ = _omnibus(
                self, data, _between_omnibus(result, self._effect_L, len(data.levels))
            )
        cells = _cell_frame(frame, roles)
        cells["estimate"] = design_rows(spec, cells) @ params
        self.cell_means_ = cells

    def _table(self, data, tab):
        return self._effects_table(
            data,
            {
                "estimate": tab["estimate"],
                "std_error": tab["std_error"],
                "t": tab["stat"],
                "p_value": tab["p_value"],
                "lower": tab["lower"],
                "upper": tab["upper"],
            },
        )

    def _effect_covariance(self):
        """Estimates, covariance and degrees of freedom of the rows of ``effects_``."""
        if self.kind == "rm":
            return _anova_rm.effect_covariance(self._per_subject)
        params = np.asarray(self.result_.params)
        cov = self._effect_L @ np.asarray(self.result_.cov_params()) @ self._effect_L.T
        return self._effect_L @ params, cov, float(self.result_.df_resid)

    # ---- repeated measures -------------------------------------------------------------
    def _fit_rm(self, frame, roles, data):
        _anova_rm.check_complete(frame, roles, self.aggregate, self._slope)
        if self._slope:
            fitted = _anova_rm.fit_slopes(frame, roles, self.alpha)
        else:
            k = len(data.levels) if data.levels is not None else len(self.treatment_values_)
            fitted = _anova_rm.fit_factor(frame, roles, k, self.alpha)
            if data.kind == "categorical":
                self.omnibus_ = _omnibus(self, data, fitted["omnibus"])
        self.result_ = fitted["result"]
        self.formula_ = None
        self.anova_table_ = fitted["table"]
        self.pvalue_ = float(fitted["table"].loc[roles["treatment"], "PR(>F)"])
        self._per_subject = fitted["per_subject"]
        self._lines = fitted.get("lines")
        self.effects_ = self._table(data, fitted["effects"])
        self.cell_means_ = fitted["cell_means"]

    # ---- prediction --------------------------------------------------------------------
    def predict(self, X, return_std=False):
        """Fitted mean of each row's treatment x condition cell.

        Parameters
        ----------
        X : DataFrame
        return_std : bool, default=False
            Also return the sd of a single row around its cell mean (between ANOVA; rows
            independent, also with ``aggregate``).

        Returns
        -------
        y_pred : ndarray of shape (n_samples,), and y_std with ``return_std=True``
        """
        check_is_fitted(self, "cell_means_")
        data = self._resolve(X, fit=False)
        roles = self._roles
        if self.kind == "between":
            frame, _ = working_frame(data, np.zeros(len(data.Z)), roles["y"])
            known = np.isin(frame[roles["treatment"]], self.treatment_values_)
            if self._slope:
                known[:] = True
            if "condition" in roles:
                known &= frame[roles["condition"]].notna().to_numpy()
            if not known.all():
                raise InputError(
                    f"{int((~known).sum())} row(s) of X fall in treatment x condition cells not "
                    "seen at fit time; the ANOVA predicts only the cells it estimated: drop "
                    "those rows."
                )
            spec = model_spec_of(self.result_)
            pred = design_rows(spec, frame) @ np.asarray(self.result_.params)
            return _with_residual_sd(self, pred, return_std)
        if self._lines is not None:  # rm, continuous: the mean line of each condition
            c = data.codes("condition") if "condition" in roles else np.zeros(len(data.Z), int)
            if (c < 0).any():
                raise InputError(
                    f"{int((c < 0).sum())} row(s) of X have a condition not seen at fit time; "
                    "the ANOVA predicts only the conditions it estimated: drop those rows."
                )
            t = data.Z["treatment"].to_numpy(float)
            return _with_residual_sd(self, self._lines[c, 0] + self._lines[c, 1] * t, return_std)
        keys = pd.DataFrame({roles["treatment"]: data.Z["treatment"].to_numpy()})
        if "condition" in roles:
            keys[roles["condition"]] = data.Z["condition"].astype(object).to_numpy()
        cells = self.cell_means_.copy()
        if "condition" in roles:
            cells[roles["condition"]] = cells[roles["condition"]].astype(object)
        merged = keys.merge(cells, how="left", on=list(keys.columns))
        missing = merged["estimate"].isna()
        if missing.any():
            raise InputError(
                f"{int(missing.sum())} row(s) of X fall in treatment x condition cells not seen "
                "at fit time; the ANOVA predicts only the cells it estimated: drop those rows."
            )
        return _with_residual_sd(self, merged["estimate"].to_numpy(), return_std)
