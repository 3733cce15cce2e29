"""AnovaComparator: between-subjects ANOVA on cell means, or repeated-measures ANOVA."""

import warnings
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from bwestimators._base import EffectsEstimatorMixin
from bwestimators._frequentist import (
    FormulaPickleMixin,
    contrast_table,
    design_rows,
    model_spec_of,
    quote,
    working_frame,
)
from bwestimators.exceptions import InputError
from bwestimators.spec import ColumnSpec


def _one_per_cell(frame, roles):
    by = [roles["treatment"]] + ([roles["condition"]] if "condition" in roles else [])
    return bool((frame.groupby(by, observed=True).size() <= 1).all())


def _cell_frame(frame, roles):
    """One row per treatment x condition cell of the frame, sorted."""
    by = [roles["treatment"]] + ([roles["condition"]] if "condition" in roles else [])
    return frame[by].drop_duplicates().sort_values(by).reset_index(drop=True)


def _paired(frame, roles, low, high, alpha):
    """Paired t-test over subjects of the high minus the low treatment level, per condition."""
    subject, t = roles["group"], roles["treatment"]
    by = [subject] + ([roles["condition"]] if "condition" in roles else [])
    wide = frame.groupby([*by, t], observed=True)[roles["y"]].mean().unstack(t)
    diff = (wide[high] - wide[low]).dropna()
    groups = (
        [d for _, d in diff.groupby(level=1, observed=True, sort=True)]
        if "condition" in roles
        else [diff]
    )
    est, se = np.array([d.mean() for d in groups]), np.array([d.sem() for d in groups])
    df = np.array([len(d) - 1 for d in groups])
    stat = est / se
    q = stats.t.ppf(1 - alpha / 2, df)
    return {
        "estimate": est,
        "std_error": se,
        "stat": stat,
        "p_value": 2 * stats.t.sf(np.abs(stat), df),
        "lower": est - q * se,
        "upper": est + q * se,
    }


def _with_residual_sd(anova, pred, return_std):
    """The predictions, and with ``return_std`` the residual sd per row (between only).

    The residual sd is the spread of the values the ANOVA was fitted on (group means
    with ``aggregate``) around the cell means; the ANOVA knows no groups.
    """
    if not return_std:
        return pred
    if anova.kind != "between":
        raise InputError(
            "return_std needs kind='between' (the repeated-measures ANOVA has no residual "
            "variance of single values); use the LMEComparator."
        )
    return pred, np.full(len(pred), float(np.sqrt(anova.result_.mse_resid)))


class AnovaComparator(FormulaPickleMixin, EffectsEstimatorMixin, RegressorMixin, BaseEstimator):
    """ANOVA of y on the treatment (as a factor), crossed with the condition.

    ``kind="between"`` fits an OLS model ``y ~ C(treatment) * C(condition)`` on
    the means of every (aggregate, treatment, condition) cell, as bayes-window
    did: with ``aggregate="group"`` each animal contributes one value per cell,
    so animals are the replicates and the animal-to-animal variation of the
    baseline stays in the error term. ``aggregate=None`` uses the rows as they
    are. ``kind="rm"`` is a repeated-measures ANOVA (statsmodels ``AnovaRM``)
    with ``group`` as the subject and treatment (and condition) within it.

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
    treatment_as : {"factor", "numeric"}, default="factor"
        ``"factor"``: the treatment levels are the factor of the ANOVA and the
        effect is the highest minus the lowest level's mean. ``"numeric"``
        (``between`` only): the treatment enters linearly (an ANCOVA-style
        model, for a continuous treatment) and the effect is per unit.

    Attributes
    ----------
    anova_table_ : DataFrame
        Indexed by term, with statsmodels' columns ``sum_sq``, ``df``, ``F``,
        ``PR(>F)`` (``rm``: ``F``, ``df``, ``df_resid``, ``PR(>F)``, as
        ``AnovaRM`` gives no sums of squares).
    pvalue_ : float
        p-value of the treatment main effect.
    effects_ : DataFrame
        Per condition: ``estimate`` (mean at the highest minus the lowest
        treatment level, in units of y), ``std_error``, ``t``, ``p_value`` (the
        treatment effect in that condition: a contrast of the cell means with
        the pooled error for ``between``, a paired t-test over subjects for
        ``rm``), ``lower``, ``upper``.
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
        "treatment_as": [StrOptions({"factor", "numeric"})],
    }

    def __init__(
        self,
        spec=None,
        *,
        kind="between",
        aggregate="group",
        typ=2,
        alpha=0.05,
        treatment_as="factor",
    ):
        self.spec = spec
        self.treatment_as = treatment_as
        self.kind = kind
        self.aggregate = aggregate
        self.typ = typ
        self.alpha = alpha

    def _aggregated(self, data, y, y_name, aggregate):
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
        if self.treatment_as == "numeric" and self.kind == "rm":
            raise InputError("treatment_as='numeric' needs kind='between'.")
        data = self._resolve(X, fit=True)
        y_arr = self._check_y(y, data)
        self._check_roles(data, need_group=self.kind == "rm")
        y_name = getattr(y, "name", None)
        self.aggregate_ = self.aggregate
        frame, roles = self._aggregated(data, y_arr, y_name, self.aggregate)
        if self.kind == "between" and self.aggregate is not None and _one_per_cell(frame, roles):
            warnings.warn(
                f"Averaging over {self.aggregate!r} leaves one value per treatment x condition "
                f"cell (the conditions are nested in {data.names[self.aggregate]!r}), so the "
                "ANOVA has no error term; it uses the rows as they are (aggregate=None).",
                UserWarning,
                stacklevel=2,
            )
            self.aggregate_ = None
            frame, roles = self._aggregated(data, y_arr, y_name, None)
        self._roles = roles
        self.data_ = frame
        self.treatment_values_ = np.sort(frame[roles["treatment"]].unique())
        if self.kind == "between":
            self._fit_between(frame, roles, data)
        else:
            self._fit_rm(frame, roles, data)
        return self

    # ---- between -----------------------------------------------------------------------
    def _treatment_term(self, roles):
        if self.treatment_as == "numeric":
            return quote(roles["treatment"])
        return f"C({quote(roles['treatment'])}{', Sum' if self.typ == 3 else ''})"

    def _formula(self, roles):
        contrast = ", Sum" if self.typ == 3 else ""
        t = self._treatment_term(roles)
        if "condition" in roles:
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
        hi, lo = self._contrast_frames(frame, roles)
        spec = model_spec_of(result)
        L = design_rows(spec, hi) - design_rows(spec, lo)
        tab = contrast_table(
            L,
            np.asarray(result.params),
            np.asarray(result.cov_params()),
            self.alpha,
            df=result.df_resid,
        )
        self.effects_ = self._table(data, tab)
        cells = _cell_frame(frame, roles)
        cells["estimate"] = design_rows(spec, cells) @ np.asarray(result.params)
        self.cell_means_ = cells

    def _contrast_frames(self, frame, roles):
        t = roles["treatment"]
        lo_v, hi_v = self.treatment_values_[0], self.treatment_values_[-1]
        if self.treatment_as == "numeric":
            lo_v, hi_v = 0.0, 1.0
        if "condition" in roles:
            levels = frame[roles["condition"]].cat.categories
            reps = pd.DataFrame({roles["condition"]: pd.Categorical(levels, categories=levels)})
        else:
            reps = pd.DataFrame(index=[0])
        return reps.assign(**{t: hi_v}), reps.assign(**{t: lo_v})

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

    # ---- repeated measures -------------------------------------------------------------
    def _fit_rm(self, frame, roles, data):
        from statsmodels.stats.anova import AnovaRM

        within = [roles["treatment"]] + ([roles["condition"]] if "condition" in roles else [])
        subject = roles["group"]
        counts = frame.groupby([subject, *within], observed=False).size()
        if (counts == 0).any() or (self.aggregate is None and counts.nunique() > 1):
            missing = counts[counts == 0]
            where = ", ".join(map(str, missing.index[:3])) if len(missing) else "unequal counts"
            raise InputError(
                "Repeated-measures ANOVA needs every subject (group) in every treatment x "
                f"condition cell ({where}); use aggregate='group' for unequal trial counts, "
                "drop incomplete subjects, or use the LMEComparator for unbalanced data."
            )
        rm_frame = frame.copy()
        for col in (subject, *within):
            rm_frame[col] = rm_frame[col].astype(str)
        result = AnovaRM(
            rm_frame,
            roles["y"],
            subject,
            within=within,
            aggregate_func="mean" if counts.max() > 1 else None,
        ).fit()
        table = result.anova_table.rename(
            columns={"F Value": "F", "Num DF": "df", "Den DF": "df_resid", "Pr > F": "PR(>F)"}
        )
        self.result_ = result
        self.formula_ = None
        self.anova_table_ = table
        self.pvalue_ = float(table.loc[roles["treatment"], "PR(>F)"])
        paired = _paired(
            frame, roles, self.treatment_values_[0], self.treatment_values_[-1], self.alpha
        )
        self.effects_ = self._table(data, paired)
        means = frame.groupby(within, observed=True, sort=True)[roles["y"]].mean()
        self.cell_means_ = means.rename("estimate").reset_index()

    # ---- prediction --------------------------------------------------------------------
    def predict(self, X, return_std=False):
        """Fitted mean of each row's treatment x condition cell.

        Parameters
        ----------
        X : DataFrame
        return_std : bool, default=False
            Also return ``sqrt(mse_resid)`` per row (between ANOVA; rows independent).

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
            if self.treatment_as == "numeric":
                known[:] = True
            if "condition" in roles:
                known &= frame[roles["condition"]].notna().to_numpy()
            if not known.all():
                raise InputError(
                    f"{int((~known).sum())} row(s) of X fall in treatment x condition cells not "
                    "seen at fit time; the ANOVA predicts only the cells it estimated: drop "
                    "those rows."
                )
            pred = design_rows(model_spec_of(self.result_), frame) @ np.asarray(self.result_.params)
            return _with_residual_sd(self, pred, return_std)
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
