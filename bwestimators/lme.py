"""LMEComparator: the linear mixed-effects model of statsmodels (MixedLM) on the common contract."""

import warnings
from numbers import Real
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from bwestimators._base import EffectsEstimatorMixin
from bwestimators._cells import varies_within
from bwestimators._frequentist import (
    FormulaPickleMixin,
    WarningLog,
    contrast_table,
    design_rows,
    model_spec_of,
    quote,
    working_frame,
)
from bwestimators._lme_predictive import predictive_variance
from bwestimators._lme_start import packed_start, profile_optimum, start_factor
from bwestimators._spec_checks import as_frame
from bwestimators._warn import warn
from bwestimators.exceptions import InputError
from bwestimators.spec import ColumnSpec


class LMEWarning(UserWarning):
    """Warnings statsmodels raised while fitting a mixed model (convergence, boundary)."""


def _fit_mixedlm(model, reml, free=None, start=None):
    """statsmodels' fit (from ``start``, packed, when given); when its gradient optimizer
    meets a singular matrix (a variance at the boundary), the derivative-free Powell method
    and then L-BFGS, with a warning."""
    try:
        return model.fit(reml=reml, free=free, start_params=start)
    except np.linalg.LinAlgError as exc:
        warnings.warn(
            f"MixedLM's default optimizer failed ({exc}: a variance component is probably at "
            "zero); refitted with method=['powell', 'lbfgs'].",
            LMEWarning,
            stacklevel=3,
        )
        return model.fit(reml=reml, method=["powell", "lbfgs"], free=free)


def _diagonal(model):
    """statsmodels' free-parameter pattern of uncorrelated random effects (``(1 || t)``)."""
    from statsmodels.regression.mixed_linear_model import MixedLMParams

    return MixedLMParams.from_components(
        fe_params=np.ones(model.k_fe), cov_re=np.eye(model.k_re), vcomp=np.ones(model.k_vc)
    )


_SINGULAR = 1e-4  # lme4's isSingular tolerance on the relative Cholesky factor


def _singular(result):
    """lme4's ``isSingular``: a relative Cholesky factor of the random effects near zero."""
    cov = np.asarray(result.cov_re, dtype=float) / result.scale
    try:
        factor = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        return True
    return _singular_factor(factor)


def _singular_factor(factor):
    """Whether a relative Cholesky factor has a diagonal entry under lme4's tolerance."""
    return bool(np.min(np.abs(np.diag(factor))) < _SINGULAR)


def _random_effects(result, messages):
    """The groups' BLUPs; none (all 0) when the random-effects covariance is singular."""
    try:
        return result.random_effects
    except ValueError as exc:
        if "singular" not in str(exc):
            raise
        messages.append(
            f"{exc}: the group variance is estimated at 0, so every known group's "
            "random effects are 0 (predictions use the fixed effects)."
        )
        return {}


def _treatment_scaling(t, formula, categorical=False):
    """Center and scale of the treatment column MixedLM is fitted on: ``(t - center) / scale``.

    A binary (0/1) or categorical (level codes) treatment, and any treatment
    under a user ``formula`` (which names the columns itself), are fitted as
    they are (0, 1). A continuous one
    is centered at its mean and scaled by its standard deviation: statsmodels'
    optimizer does not converge with a random slope on a treatment far from 0
    or with a wide range (days 1..64), and reports wrong standard errors.
    """
    t = np.asarray(t, dtype=float)
    if formula is not None or categorical or np.all((t == 0) | (t == 1)):
        return 0.0, 1.0
    scale = float(np.std(t))
    return float(np.mean(t)), scale if scale > 0 else 1.0


def _to_treatment_units(center, scale):
    """The matrix taking (intercept, slope) of the scaled treatment to the treatment's units:
    ``a + b (t - c) / s = (a - b c / s) + (b / s) t``."""
    return np.array([[1.0, -center / scale], [0.0, 1.0 / scale]])


def _scale_treatment(t, center, scale):
    """The treatment as MixedLM is fitted on it.

    Parameters
    ----------
    t : array-like
        The treatment in its own units.
    center, scale : float
        The internal scaling (``treatment_center_``, ``treatment_scale_``).

    Returns
    -------
    ndarray
        ``(t - center) / scale``.
    """
    return (np.asarray(t, dtype=float) - center) / scale


def _cov_re_in_treatment_units(cov_re, center, scale):
    """The random-effects covariance of the scaled fit, back in the treatment's units.

    Parameters
    ----------
    cov_re : array-like of shape (k, k)
        ``result.cov_re`` of the fit on the scaled treatment.
    center, scale : float
        The internal scaling of the treatment.

    Returns
    -------
    ndarray
        With a slope (``k > 1``): the (intercept at treatment 0, slope per unit of
        treatment) block ``A @ cov_re[:2, :2] @ A.T``; else ``cov_re`` as it is.
    """
    cov_re = np.asarray(cov_re, dtype=float)
    if cov_re.shape[0] > 1:  # to (intercept at treatment 0, slope per unit of treatment)
        A = _to_treatment_units(center, scale)
        cov_re = A @ cov_re[:2, :2] @ A.T
    return cov_re


def _blups_in_treatment_units(blups, center, scale, slope):
    """Each group's BLUPs in the treatment's units, as arrays.

    Parameters
    ----------
    blups : dict
        Group to its random effects of the scaled fit (``result.random_effects``).
    center, scale : float
        The internal scaling of the treatment.
    slope : bool
        Whether the fit has a random slope per group.

    Returns
    -------
    dict
        Group to (intercept at treatment 0, slope per unit of treatment, others).
    """
    out = {}
    for g, effect in blups.items():
        effect = np.asarray(effect, dtype=float)
        if slope and effect.shape[0] > 1:
            A = _to_treatment_units(center, scale)
            effect = np.concatenate([A @ effect[:2], effect[2:]])
        out[g] = effect
    return out


def _random_part(groups, t, blups, slope, categorical=False):
    """The random part of the predictions: each row's group BLUPs (0 for unseen groups).

    Parameters
    ----------
    groups : ndarray of object
        Each row's group label (None or NaN when missing).
    t : ndarray
        Each row's treatment in its own units.
    blups : dict
        Group to its BLUPs in the treatment's units (``_blups_in_treatment_units``).
    slope : bool
        Whether the fit has a random slope per group.
    categorical : bool, default=False
        Whether ``t`` holds level codes whose random effects are dummies (the
        group's effect at level j > 0 is its BLUP number j).

    Returns
    -------
    ndarray of shape (n_rows,)
    """
    random = np.zeros(len(groups))
    for i, g in enumerate(groups):
        if g is not None and not (isinstance(g, float) and np.isnan(g)) and g in blups:
            effect = np.asarray(blups[g])
            if categorical:
                code = int(t[i])
                random[i] = effect[0] + (effect[code] if slope and code > 0 else 0.0)
            else:
                random[i] = effect[0] + (effect[1] * t[i] if slope else 0.0)
    return random


def _mixedlm_formulas(roles, slope, user_formula, nested_group2, categorical=False):
    """The formulas of MixedLM: fixed effects, random effects and variance components.

    Parameters
    ----------
    roles : dict
        Role (and ``"y"``) to the column name in the working frame.
    slope : bool
        Add a random treatment slope per group.
    user_formula : str or None
        The estimator's ``formula`` (its right side replaces the default fixed effects).
    nested_group2 : bool
        Add ``group2`` nested in group as a variance component.
    categorical : bool, default=False
        The treatment holds level codes: dummies against the reference (code 0).

    Returns
    -------
    formula : str
    re_formula : str
    vc_formula : dict or None
    """
    y, t = quote(roles["y"]), quote(roles["treatment"])
    if categorical:
        t = f"C({t})"
    if user_formula is not None:
        rhs = user_formula.split("~", 1)[1].strip() if "~" in user_formula else user_formula
        formula = f"{y} ~ {rhs}"
    elif "condition" in roles:
        c = f"C({quote(roles['condition'])})"
        formula = f"{y} ~ 0 + {c} + {c}:{t}"
    else:
        formula = f"{y} ~ {t}"
    re_formula = f"1 + {t}" if slope else "1"
    vc_formula = None
    if nested_group2:
        if "group2" not in roles:
            raise InputError("nested_group2=True needs a group2 column in the ColumnSpec.")
        vc_formula = {"group2": f"0 + C({quote(roles['group2'])})"}
    return formula, re_formula, vc_formula


def _with_columns(frame, raw, index, columns):
    """The working frame with the caller's other columns a user formula may name.

    Parameters
    ----------
    frame : DataFrame
        The working frame (y, treatment and roles).
    raw : DataFrame
        The caller's X.
    index : Index
        The rows of ``raw`` that ``frame`` holds.
    columns : iterable of str
        The columns wanted; those already in ``frame`` are kept from ``frame``.

    Returns
    -------
    DataFrame
    """
    extra = [c for c in columns if c not in frame.columns]
    return pd.concat([frame, raw.loc[index, extra]], axis=1)


def _condition_representatives(frame, roles):
    """One row per condition level, in the order of its codes (the first row without one).

    Parameters
    ----------
    frame : DataFrame
        The working frame.
    roles : dict
        Role to the column name in ``frame``.

    Returns
    -------
    DataFrame
    """
    if "condition" not in roles:
        return frame.iloc[:1]
    reps = frame.groupby(roles["condition"], observed=True, sort=False).head(1)
    order = np.argsort(reps[roles["condition"]].cat.codes.to_numpy())
    return reps.iloc[order]


def _fit_with_retry(model, reml, scaled, free=None, start=None):
    """Fit a MixedLM, refitting an unconverged scaled fit with Powell then L-BFGS.

    Parameters
    ----------
    model : statsmodels MixedLM
    reml : bool
    scaled : bool
        Whether the treatment is scaled internally; only then is the retry tried.
    free : MixedLMParams or None
        statsmodels' pattern of free parameters (a diagonal ``cov_re`` for
        uncorrelated random effects); None: all free.
    start : ndarray or None
        Packed start values of statsmodels' optimizer (its default when None).

    Returns
    -------
    result : MixedLMResults
    messages : list of str
        The warnings raised during the fit(s), with a note when the retry is kept.
    """
    with WarningLog() as log:
        result = _fit_mixedlm(model, reml, free, start)
    messages = log.messages
    if scaled and not result.converged:
        # statsmodels' gradient optimizers stop short on flat likelihoods (a variance
        # near zero); the derivative-free Powell method then L-BFGS often converge.
        # Only for a scaled (continuous) treatment: binary fits stay as they were.
        with WarningLog() as retry_log:
            try:
                retry = model.fit(reml=reml, method=["powell", "lbfgs"], free=free)
            except (np.linalg.LinAlgError, ValueError):
                retry = None
        if retry is not None and retry.converged:
            note = (
                "MixedLM's default optimizer did not converge; refitted with "
                "method=['powell', 'lbfgs'], which converged"
            )
            return retry, [*messages, note, *retry_log.messages]
    return result, messages


def _fit_structure(est, frame, roles, slope, diagonal=False, skip_singular=False):
    """Fit the model with or without group slopes; the result and its warnings.

    statsmodels' optimizer starts at the maximum of the profile likelihood found
    by :func:`bwestimators._lme_start.profile_optimum` (when the model has no
    variance components). With ``skip_singular``, a model with slopes whose
    maximum is singular (``_singular``'s tolerance) is not fitted: (None, []).
    """
    import statsmodels.formula.api as smf

    formula, re_formula, vc_formula = _mixedlm_formulas(
        roles, slope, est.formula, est.nested_group2, est._categorical
    )
    est.formula_, est.re_formula_, est.vc_formula_ = formula, re_formula, vc_formula
    key = (formula, re_formula, repr(vc_formula))
    models = getattr(est, "_models", {})  # fit's models: no second formula parse
    if key not in models:
        models[key] = smf.mixedlm(
            formula,
            frame,
            groups=frame[roles["group"]],
            re_formula=re_formula,
            vc_formula=vc_formula,
        )
    model = models[key]
    scaled = (est.treatment_center_, est.treatment_scale_) != (0.0, 1.0)
    start = profile_optimum(model, est.reml, diagonal)
    if start is not None:
        factor = start_factor(start, model.k_re)
        singular = _singular_factor(factor)
        if skip_singular and slope and singular:
            return None, []
        # statsmodels inverts cov_re: near a singular correlated one its likelihood is
        # lost to rounding, so such a fit (add_group_slope=True) keeps its default start
        start = None if singular and model.k_re > 1 and not diagonal else packed_start(factor)
    free = _diagonal(model) if diagonal else None
    return _fit_with_retry(model, est.reml, scaled, free, start)


def _simplify(est, frame, roles):
    """After a singular fit with correlated group slopes: uncorrelated slopes, else none.

    A correlation estimated at +-1 is the usual cause with few groups; dropping
    the correlation keeps the slope variance, which protects the effect's
    standard error against animals that differ in their response. Only a slope
    variance at zero drops the slopes (lme4 practice, Matuschek et al. 2017).
    The uncorrelated fit is skipped when the maximum of its likelihood is
    already known to be singular (:func:`bwestimators._lme_start.profile_optimum`).
    """
    result, messages = _fit_structure(est, frame, roles, True, diagonal=True, skip_singular=True)
    if result is not None and not _singular(result):
        note = (
            "the fit with correlated random slopes per group is singular (a correlation "
            "at +-1); refitted with uncorrelated random intercepts and slopes"
        )
        return result, True, [*messages, note]
    result, messages = _fit_structure(est, frame, roles, False)
    note = (
        "the fit with a random slope per group is singular (its variance at zero, also "
        "without the correlation); refitted with a random intercept per group"
    )
    return result, False, [*messages, note]


def _fit_auto(est, frame, roles, slope, auto):
    """The fit of the structure asked for, simplified (``_simplify``) when singular and auto.

    Returns
    -------
    result, slope, correlated, messages
    """
    result, messages = _fit_structure(est, frame, roles, slope, skip_singular=auto)
    if result is None:  # the maximum is singular: the fit's outcome is known
        result, slope, messages = _simplify(est, frame, roles)
        return result, slope, False, messages
    if slope and not auto and _singular(result):
        messages = [
            *messages,
            "the fit with a random slope per group is singular (a variance at zero or a "
            "correlation at +-1); add_group_slope='auto' would refit without it",
        ]
    elif slope and _singular(result):
        result, slope, messages = _simplify(est, frame, roles)
        return result, slope, False, messages
    return result, slope, bool(slope), messages


def _auto_slope(data, t):
    """``add_group_slope="auto"``: whether the design supports random treatment slopes.

    The treatment must vary within enough groups (:func:`varies_within`); for a
    categorical treatment, whose k - 1 dummies each get a random slope, there
    must also be more rows than random effects (k per group), as lme4 requires:
    with one row per group and level the slopes are confounded with the residual.
    """
    if not varies_within(data.codes("group"), t):
        return False
    if data.kind == "categorical":
        return len(t) > data.n_levels("group") * len(data.levels)
    return True


def _contrasts(est, result, frame, roles, data):
    """The contrast rows over the fixed effects that give the rows of ``effects_``."""
    n_levels = len(data.levels) if est._categorical else 2
    hi, lo = est._contrast_frames(frame, roles, n_levels)
    spec = model_spec_of(result)
    return design_rows(spec, hi) - design_rows(spec, lo)


def _effects(est, result, data):
    """The effects table: each contrast row of ``est._effect_L`` with its Wald test."""
    values, cov, _ = est._effect_covariance()
    se = np.sqrt(np.diag(cov))
    tab = contrast_table(np.eye(len(values)), values, cov, est.alpha)
    return est._effects_table(
        data,
        {
            "estimate": tab["estimate"],
            "std_error": se,
            "z": tab["stat"],
            "p_value": tab["p_value"],
            "lower": tab["lower"],
            "upper": tab["upper"],
        },
    )


def _variance_components(est, result, data):
    """Standard deviations of the random effects and the residual (``variance_components_``).

    A categorical treatment's random slopes are its dummies: one ``group_slope[level]``
    row per non-reference level.
    """
    if est._categorical:
        cov_re = np.asarray(result.cov_re, dtype=float)
    else:
        cov_re = _cov_re_in_treatment_units(
            result.cov_re, est.treatment_center_, est.treatment_scale_
        )
    rows = {"group": np.sqrt(cov_re[0, 0])}
    if est.add_group_slope_ and cov_re.shape[0] > 1:
        if est._categorical:
            for j, level in enumerate(data.levels[1:], start=1):
                rows[f"group_slope[{level}]"] = np.sqrt(cov_re[j, j])
        else:
            rows["group_slope"] = np.sqrt(cov_re[1, 1])
    if est.vc_formula_ is not None and len(result.vcomp):
        rows["group2"] = np.sqrt(result.vcomp[0])
    rows["residual"] = np.sqrt(result.scale)
    vc = pd.DataFrame({"estimate": rows, "lower": np.nan, "upper": np.nan})
    vc.attrs = {**est._interval_attrs(), "quantity": "standard deviation"}
    vc.index.name = "component"
    return vc


class LMEComparator(FormulaPickleMixin, EffectsEstimatorMixin, RegressorMixin, BaseEstimator):
    """Linear mixed-effects model of y on a treatment, fitted by statsmodels' MixedLM.

    The default model has a random intercept per group and fixed effects built
    from the roles: ``y ~ treatment`` without a condition, and an intercept and
    a treatment slope per condition level with one
    (``y ~ 0 + C(condition) + C(condition):treatment``), so that every condition
    gets its own test. A categorical treatment (three or more levels) enters
    as dummies against its reference level (``C(treatment)``, per condition
    with one), and ``effects_`` has a row per condition and compared level.
    Column names are quoted in the formula (``Q('Log power')``), so names with
    spaces and symbols work, and they are never renamed in the caller's data.

    Parameters
    ----------
    spec : ColumnSpec or None, default=None
        Roles of the columns of X; None when X is the output of a ColumnSpec.
    add_group_slope : bool or "auto", default="auto"
        Add a random treatment slope per group (correlated with the intercept).
        ``"auto"``: when the treatment varies within groups (at least five groups
        with two or more treatment values and three or more rows), the maximal
        structure the design supports (Barr et al. 2013); for a categorical
        treatment (a random slope per dummy) also more rows than random effects
        (levels x groups), as lme4 requires. A fit with slopes
        that is singular (a variance at zero or a correlation at ±1, as lme4's
        ``isSingular``) is then refitted with uncorrelated intercepts and slopes
        (lme4's ``(1 + t || g)``), and only when that is singular too with a
        random intercept only, with a warning kept in ``warnings_`` (with
        ``True`` the singular fit is kept, with a warning). The structure used
        is ``add_group_slope_`` and ``slope_correlation_``.
    nested_group2 : bool, default=False
        Add ``group2`` nested in group as a variance component.
    formula : str or None, default=None
        A statsmodels/patsy formula over the columns of X (quote names with
        spaces: ``Q('Log power') ~ stim``) replacing the default fixed effects.
        Its left side is replaced by y. The effects table then reports the
        change of the fixed-effects prediction per unit of treatment in each
        condition, whatever terms give it. The treatment is then fitted as it
        is in X (no internal scaling, see Notes).
    reml : bool, default=True
        Restricted maximum likelihood (else maximum likelihood).
    alpha : float, default=0.05
        1 - confidence level of the intervals.

    Attributes
    ----------
    effects_ : DataFrame
        Per condition level (decoded columns first; for a categorical
        treatment per condition and level, with ``treatment_level``):
        ``estimate`` (treatment effect, in units of y per unit of treatment, or
        of the level against the reference), ``std_error``, ``z``,
        ``p_value`` (Wald), ``lower``, ``upper`` (``1 - alpha`` interval);
        ``attrs``: ``method``, ``interval`` (``"ci"``), ``level``, ``scale``,
        ``y``, ``treatment``, ``treatment_kind`` (and ``reference``).
    variance_components_ : DataFrame
        Standard deviations ``group``, ``group_slope`` (categorical:
        ``group_slope[level]`` per dummy), ``group2``, ``residual`` in units
        of y; ``lower``/``upper`` are NaN (MixedLM gives no intervals for them).
        ``attrs`` say the method, the scale and that these are standard deviations.
    intercepts_ : DataFrame
        Per group: the fixed intercept (at treatment 0, first condition) plus
        the group's random intercept.
    result_ : statsmodels MixedLMResults
        Fitted on the internally scaled treatment (see Notes): its parameters
        of the treatment are per ``treatment_scale_`` units of treatment,
        around ``treatment_center_``.
    formula_ : str
        The formula fitted (with ``re_formula_`` and ``vc_formula_``). Its
        treatment name stands for the scaled column
        ``(treatment - treatment_center_) / treatment_scale_`` (the column
        as it is for a binary treatment or a user ``formula``).
    treatment_center_, treatment_scale_ : float
        The internal scaling of the treatment (0 and 1 when there is none).
    add_group_slope_ : bool
        Whether the fitted model has a random treatment slope per group.
    slope_correlation_ : bool
        Whether those slopes are correlated with the intercepts (False after
        the fallback to uncorrelated slopes, and without slopes).
    converged_ : bool
    warnings_ : list of str
        The warnings statsmodels raised during the fit, kept and re-emitted
        once as one :class:`LMEWarning`.

    Notes
    -----
    A continuous treatment (any values other than 0 and 1) is fitted
    centered and scaled, ``(t - mean(t)) / sd(t)``: statsmodels' MixedLM
    with a random slope on a raw treatment such as days 1..64 does not
    converge and reports wrong standard errors. This is a reparametrization
    of the same model: ``effects_`` (per unit of treatment),
    ``variance_components_`` (the group sd at treatment 0, the slope sd per
    unit of treatment), ``intercepts_`` (at treatment 0) and ``predict`` are
    reported in the treatment's units, as a converged fit on the raw
    treatment would give them. A binary 0/1 treatment is fitted as it is
    (already well conditioned), and so is everything under a user
    ``formula``, which names its own columns and transformations. A scaled
    fit that statsmodels' default optimizer leaves unconverged is refitted
    with ``method=["powell", "lbfgs"]`` and kept when that converges (noted
    in ``warnings_``); binary fits are left as statsmodels returns them.

    Without variance components (``nested_group2=False``), statsmodels'
    optimizer starts at the maximum of the profile likelihood, found on the
    per-group cross products (:mod:`bwestimators._lme_start`), so that it only
    confirms it: statsmodels' default start and optimizers stop short of the
    maximum on the flat likelihoods of few groups, and cannot reach a singular
    one (a correlation at +-1). A structure with slopes whose maximum is
    singular is not fitted: ``"auto"`` goes on with the simpler one at once.

    Examples
    --------
    >>> from bwestimators import ColumnSpec, LMEComparator
    >>> from bwestimators.datasets import generate_fake_lfp
    >>> df = generate_fake_lfp(mouse_response_slope=9, n_trials=30, random_state=0).df
    >>> lme = LMEComparator(ColumnSpec("stim", group="mouse")).fit(df, df["Log power"])
    >>> lme.formula_
    "Q('Log power') ~ Q('stim')"
    >>> bool(lme.effects_["p_value"].iloc[0] < 0.05)
    True
    """

    _categorical_treatment = True

    _parameter_constraints: ClassVar[dict] = {
        "spec": [ColumnSpec, None],
        "add_group_slope": ["boolean", StrOptions({"auto"})],
        "nested_group2": ["boolean"],
        "formula": [str, None],
        "reml": ["boolean"],
        "alpha": [Interval(Real, 0, 1, closed="neither")],
    }

    def __init__(
        self,
        spec=None,
        *,
        add_group_slope="auto",
        nested_group2=False,
        formula=None,
        reml=True,
        alpha=0.05,
    ):
        self.spec = spec
        self.add_group_slope = add_group_slope
        self.nested_group2 = nested_group2
        self.formula = formula
        self.reml = reml
        self.alpha = alpha

    def fit(self, X, y):
        """Fit the mixed model.

        Parameters
        ----------
        X : DataFrame
            Raw columns named by ``spec``, or a ColumnSpec's output when ``spec`` is None.
        y : array-like of shape (n_samples,)

        Returns
        -------
        self : LMEComparator
        """
        self._validate_params()
        data = self._resolve(X, fit=True)
        y_arr = self._check_y(y, data)
        self._check_roles(data, need_group=True)
        frame, roles = working_frame(data, y_arr, getattr(y, "name", None))
        t_raw = data.Z["treatment"].to_numpy(float)
        self._categorical = data.kind == "categorical"
        self.treatment_center_, self.treatment_scale_ = _treatment_scaling(
            t_raw, self.formula, self._categorical
        )
        frame[roles["treatment"]] = self._scaled(t_raw)
        if self.formula is not None:
            raw = as_frame(X)
            frame = _with_columns(frame, raw, data.Z.index, raw.columns)
        auto = self.add_group_slope == "auto"
        slope = self.add_group_slope
        if auto:
            slope = _auto_slope(data, t_raw)
        self._models = {}
        try:
            result, slope, correlated, messages = _fit_auto(self, frame, roles, slope, auto)
        finally:
            del self._models
        self.add_group_slope_ = bool(slope)
        self.slope_correlation_ = correlated
        self.warnings_ = messages
        if messages:
            warn(
                "LMEComparator: "
                + " | ".join(messages)
                + " (kept in warnings_; a boundary or singular fit often means a variance "
                "component is near zero: try a simpler model).",
                LMEWarning,
            )
        self.result_ = result
        self.converged_ = bool(result.converged)
        self._roles = roles
        self._effect_L = _contrasts(self, result, frame, roles, data)
        self.effects_ = _effects(self, result, data)
        self.variance_components_ = _variance_components(self, result, data)
        self._blups = _blups_in_treatment_units(
            _random_effects(result, self.warnings_),
            self.treatment_center_,
            self.treatment_scale_,
            self.add_group_slope_,
        )
        self.intercepts_ = self._intercepts(result, data)
        return self

    def _scaled(self, t):
        """The treatment as MixedLM is fitted on it (``(t - center) / scale``)."""
        return _scale_treatment(t, self.treatment_center_, self.treatment_scale_)

    def _contrast_frames(self, frame, roles, n_levels=2):
        """Rows at treatment 1 and 0 (scaled as fitted) for each condition level (or one
        pair overall): their design difference is the effect per unit of treatment. For a
        categorical treatment with ``n_levels`` levels, rows at each level code j > 0 and at
        0, condition-major: the effect of level j against the reference."""
        t = roles["treatment"]
        reps = _condition_representatives(frame, roles)
        if getattr(self, "_categorical", False):
            reps = reps.iloc[np.repeat(np.arange(len(reps)), n_levels - 1)]
            codes = np.tile(np.arange(1.0, n_levels), len(reps) // (n_levels - 1))
            return reps.assign(**{t: codes}), reps.assign(**{t: 0.0})
        one, zero = self._scaled([1.0, 0.0])
        return reps.assign(**{t: one}), reps.assign(**{t: zero})

    def _effect_covariance(self):
        """Estimates, covariance (Wald, df None) of the rows of ``effects_``."""
        k = len(self.result_.fe_params)
        cov = np.asarray(self.result_.cov_params())[:k, :k]
        L = self._effect_L
        return L @ np.asarray(self.result_.fe_params), L @ cov @ L.T, None

    def _intercepts(self, result, data):
        """Per group: the fixed intercept (of the first condition) plus the group's BLUP."""
        _, lo = self._contrast_frames(self._frame_like_fit(), self._roles)
        base = float((design_rows(model_spec_of(result), lo.iloc[:1]) @ result.fe_params)[0])
        labels = data.spec.categories_["group"]
        re = self._blups
        values = [base + float(np.asarray(re[g])[0]) if g in re else base for g in labels]
        return pd.DataFrame(
            {
                self._label_column(data, "group"): labels,
                "estimate": values,
                "lower": np.nan,
                "upper": np.nan,
            }
        )

    def _frame_like_fit(self):
        return self.result_.model.data.frame

    def predict(self, X, return_std=False):
        """Fixed effects plus the BLUPs of groups seen at fit time (fixed part for others).

        Parameters
        ----------
        X : DataFrame
        return_std : bool, default=False
            Also return the sd of a new observation (see :mod:`bwestimators._lme_predictive`).

        Returns
        -------
        y_pred : ndarray of shape (n_samples,), and y_std with ``return_std=True``
        """
        check_is_fitted(self, "result_")
        data = self._resolve(X, fit=False)
        roles = self._roles
        self._check_predict_roles(data)
        frame, _ = working_frame(data, np.zeros(len(data.Z)), roles["y"])
        t = data.Z["treatment"].to_numpy(float)
        frame[roles["treatment"]] = self._scaled(t)
        if self.formula is not None:
            columns = self._frame_like_fit().columns
            frame = _with_columns(frame, as_frame(X), data.Z.index, columns)
        fixed = design_rows(model_spec_of(self.result_), frame) @ np.asarray(self.result_.fe_params)
        groups = data.Z["group"].astype(object).to_numpy()
        categorical = getattr(self, "_categorical", False)
        pred = fixed + _random_part(groups, t, self._blups, self.add_group_slope_, categorical)
        return (pred, np.sqrt(predictive_variance(self, groups, t))) if return_std else pred
