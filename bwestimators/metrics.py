"""Probabilistic scores: log predictive density of held-out rows or groups; scorers."""

import numpy as np
from scipy import stats
from sklearn.utils.validation import check_is_fitted

from bwestimators._base import align_target, final_estimator, transform_to_final
from bwestimators._densities import factorize, role_labels
from bwestimators.exceptions import InputError, InputTypeError


def _spec_of(estimator):
    """The ColumnSpec that reads the raw X: a pipeline's ColumnSpec step, or the model's spec."""
    from bwestimators.spec import ColumnSpec

    for _, step in getattr(estimator, "steps", [])[:-1]:
        if isinstance(step, ColumnSpec):
            return step
    return getattr(final_estimator(estimator), "spec", None)


def density_kind(estimator):
    """``"discrete"`` (counts, binary) or ``"continuous"``: which densities compare.

    A probability mass and a probability density are not on one scale, so
    models of the two kinds cannot be ranked by their log predictive density.

    Parameters
    ----------
    estimator : estimator or Pipeline

    Returns
    -------
    str

    Examples
    --------
    >>> from bwestimators import HierarchicalSlopeRegressor, LMEComparator
    >>> from bwestimators.metrics import density_kind
    >>> density_kind(HierarchicalSlopeRegressor(dist_y="poisson")), density_kind(LMEComparator())
    ('discrete', 'continuous')
    """
    from bwestimators._families import get_family

    dist_y = final_estimator(estimator).get_params().get("dist_y")
    if dist_y is not None and get_family(dist_y).support in ("count", "binary"):
        return "discrete"
    return "continuous"


def check_comparable(estimators):
    """An InputError when continuous and discrete likelihoods are mixed.

    Parameters
    ----------
    estimators : dict of str to estimator

    Examples
    --------
    >>> from bwestimators import HierarchicalSlopeRegressor, LMEComparator
    >>> from bwestimators.metrics import check_comparable
    >>> check_comparable({"lme": LMEComparator(), "gamma": HierarchicalSlopeRegressor(
    ...     dist_y="gamma")})
    >>> check_comparable({"lme": LMEComparator(), "poisson": HierarchicalSlopeRegressor(
    ...     dist_y="poisson")})
    Traceback (most recent call last):
    ...
    bwestimators.exceptions.InputError: Cannot compare log predictive densities of discrete ...
    """
    kinds = {name: density_kind(est) for name, est in estimators.items()}
    if len(set(kinds.values())) > 1:
        listing = ", ".join(f"{n!r} ({k})" for n, k in kinds.items())
        raise InputError(
            f"Cannot compare log predictive densities of discrete and continuous likelihoods: "
            f"{listing}. A probability mass and a density are on different scales; compare "
            "count (or binary) likelihoods only with each other."
        )


def log_predictive_density(estimator, X, y, *, pointwise=False, by_group=False):
    """Mean (or pointwise) log predictive density of y under a fitted estimator, in y's units.

    Rows of groups seen at fit time are predicted with their group's effects;
    rows of groups not seen at fit time integrate over new group effects drawn
    from the fitted distribution (group intercept, group slope at the row's
    treatment, group2), so a held-out group is scored by what the model says
    about a new group.

    - Bayesian estimators: ``log mean_s p(y | theta_s)`` over posterior draws
      (see :meth:`HierarchicalSlopeRegressor.log_predictive_density`); every
      likelihood in y's units (lognormal with the Jacobian of the log).
    - LMEComparator: normal, around ``predict`` with the plug-in variance of a
      new observation (residual, plus the random effects of new groups and the
      group2 component), jointly a multivariate normal per group.
    - AnovaComparator (``kind="between"``): normal around the cell mean with
      the residual mean square; rows independent (the ANOVA knows no groups).

    Parameters
    ----------
    estimator : fitted estimator or Pipeline
    X : DataFrame
    y : array-like of shape (n_samples,)
    pointwise : bool, default=False
        One value per row (per group with ``by_group``) instead of the mean.
    by_group : bool, default=False
        The joint log density of each group's rows (they share the group's
        effects): with ``GroupKFold`` this scores leave-one-group-out
        cross-validation (Vehtari et al.). Groups are told apart by the raw
        group column of X (named by the ColumnSpec).

    Returns
    -------
    lpd : float (mean over rows, or over groups), or ndarray

    Examples
    --------
    >>> from bwestimators import ColumnSpec, LMEComparator
    >>> from bwestimators.datasets import generate_fake_lfp
    >>> from bwestimators.metrics import log_predictive_density
    >>> df = generate_fake_lfp(n_trials=5, random_state=0).df
    >>> lme = LMEComparator(ColumnSpec("stim", group="mouse")).fit(df, df["Log power"])
    >>> bool(log_predictive_density(lme, df, df["Log power"]) > 0)
    True
    >>> log_predictive_density(lme, df, df["Log power"], by_group=True, pointwise=True).shape
    (10,)
    """
    model = final_estimator(estimator)
    check_is_fitted(model, "effects_")
    Xt = transform_to_final(estimator, X)
    labels = role_labels(_spec_of(estimator), X, Xt) if by_group else None
    if by_group and "group" not in (labels or {}):
        raise InputError("by_group=True needs a group: give the ColumnSpec a group column.")
    if hasattr(model, "log_predictive_density"):
        return model.log_predictive_density(
            Xt, y, pointwise=pointwise, by_group=by_group, labels=labels
        )
    y = np.asarray(align_target(X, y), dtype=float)
    out = _normal_log_density(model, Xt, y, labels, by_group)
    return out if pointwise else float(out.mean())


def _normal_log_density(model, Xt, y, labels, by_group):
    from bwestimators import _lme_predictive
    from bwestimators.anova import AnovaComparator
    from bwestimators.lme import LMEComparator

    if isinstance(model, LMEComparator):
        mean = model.predict(Xt)
        data = model._resolve(Xt, fit=False)
        groups = data.Z["group"].astype(object).to_numpy()
        t = data.Z["treatment"].to_numpy(float)
        return _lme_predictive.log_density(model, mean, y, groups, t, labels, by_group)
    if isinstance(model, AnovaComparator) and model.kind == "between":
        mean, sd = model.predict(Xt, return_std=True)
        out = stats.norm.logpdf(y, mean, sd)
        if by_group:
            codes, _ = factorize(labels["group"])
            out = np.bincount(codes, weights=out)
        return out
    raise InputTypeError(
        f"log_predictive_density is not defined for {type(model).__name__}"
        f"{' (kind=' + repr(model.kind) + ')' if hasattr(model, 'kind') else ''}; pass a "
        "Bayesian estimator, an LMEComparator or an AnovaComparator with kind='between'."
    )


def log_predictive_density_scorer(estimator, X, y):
    """A scikit-learn scorer: mean pointwise log predictive density of the rows (higher is better).

    Examples
    --------
    >>> from sklearn.model_selection import GroupKFold, cross_val_score
    >>> from bwestimators import ColumnSpec, LMEComparator
    >>> from bwestimators.datasets import generate_fake_lfp
    >>> from bwestimators.metrics import log_predictive_density_scorer
    >>> df = generate_fake_lfp(n_trials=5, random_state=0).df
    >>> scores = cross_val_score(LMEComparator(ColumnSpec("stim", group="mouse")), df,
    ...                          df["Log power"], groups=df["mouse"], cv=GroupKFold(5),
    ...                          scoring=log_predictive_density_scorer)
    >>> scores.shape
    (5,)
    """
    return log_predictive_density(estimator, X, y)


def group_log_predictive_density_scorer(estimator, X, y):
    """A scikit-learn scorer: mean over the held-out groups of each group's joint log density.

    With ``GroupKFold`` (or ``LeaveOneGroupOut``), the sum over folds of the
    score times the number of groups in the fold is the leave-one-group-out
    ELPD; higher is better.

    Examples
    --------
    >>> from sklearn.model_selection import GroupKFold, cross_val_score
    >>> from bwestimators import ColumnSpec, LMEComparator
    >>> from bwestimators.datasets import generate_fake_lfp
    >>> from bwestimators.metrics import group_log_predictive_density_scorer
    >>> df = generate_fake_lfp(n_trials=5, random_state=0).df
    >>> scores = cross_val_score(LMEComparator(ColumnSpec("stim", group="mouse")), df,
    ...                          df["Log power"], groups=df["mouse"], cv=GroupKFold(5),
    ...                          scoring=group_log_predictive_density_scorer)
    >>> scores.shape
    (5,)
    """
    return log_predictive_density(estimator, X, y, by_group=True)
