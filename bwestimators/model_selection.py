"""Model comparison: PSIS-LOO through ArviZ, model variants, cross-validated comparison."""

import time
import warnings

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import r2_score
from sklearn.utils.validation import check_is_fitted

from bwestimators._base import final_estimator
from bwestimators.exceptions import InputError, InputTypeError
from bwestimators.metrics import log_predictive_density


def _is_fitted(est):
    try:
        check_is_fitted(est, "effects_")
    except Exception:  # NotFittedError or a pipeline's
        return False
    return True


def compare_models(estimators, X=None, y=None, *, method="loo"):
    """Compare Bayesian estimators by PSIS-LOO (``az.loo``, ``az.compare``).

    Parameters
    ----------
    estimators : dict of str to estimator
        Bayesian estimators (or pipelines ending in one), fitted or not; the
        unfitted ones are fitted on X, y.
    X : DataFrame or None
    y : array-like or None
    method : {"loo"}, default="loo"
        Pareto-smoothed importance-sampling leave-one-out cross-validation.

    Returns
    -------
    comparison : DataFrame
        ArviZ's comparison table, one row per model, best first: ``rank``,
        ``elpd``, ``p``, ``elpd_diff``, ``weight``, ``se``, ``dse``,
        ``warning`` (True where Pareto k is high).

    Examples
    --------
    >>> from bwestimators import ColumnSpec, HierarchicalSlopeRegressor
    >>> from bwestimators.datasets import generate_fake_lfp
    >>> from bwestimators.model_selection import compare_models
    >>> df = generate_fake_lfp(mouse_response_slope=9, n_trials=5, random_state=0).df
    >>> kw = dict(num_warmup=300, num_samples=300, num_chains=2, random_state=0)
    >>> spec = ColumnSpec("stim", group="mouse")
    >>> table = compare_models({"normal": HierarchicalSlopeRegressor(spec, **kw),
    ...                         "student": HierarchicalSlopeRegressor(spec, dist_y="student",
    ...                                                               **kw)},
    ...                        df, df["Log power"])
    >>> sorted(table.index)
    ['normal', 'student']
    """
    from bwestimators._arviz import arviz

    if method != "loo":
        raise InputError(f"method must be 'loo', got {method!r}.")
    if not estimators:
        raise InputError("estimators is empty; pass a dict of name to Bayesian estimator.")
    az = arviz()
    data = {}
    for name, est in estimators.items():
        if not _is_fitted(est):
            if X is None or y is None:
                raise InputError(f"{name!r} is not fitted; pass X and y to fit it.")
            est.fit(X, y)
        model = final_estimator(est)
        if not hasattr(model, "idata_"):
            raise InputTypeError(
                f"{name!r} ({type(model).__name__}) has no posterior to compare; compare_models "
                "takes Bayesian estimators (HierarchicalSlopeRegressor, ConditionMeansRegressor). "
                "Use cross_validate_models to compare other estimators."
            )
        data[name] = model.idata_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        table = az.compare(data, round_to="none")
    return table


def _variants(est, X, y):
    """The model variants explore_models fits, by name."""
    from bwestimators._families import FAMILIES

    base = clone(est)
    params = base.get_params(deep=False)
    spec = params.get("spec")
    has_condition = spec is not None and spec.condition is not None
    has_group = spec is not None and spec.group is not None
    out = {"full": clone(base)}
    if has_condition:
        out["no condition"] = clone(base).set_params(
            add_condition_intercept=False, add_condition_slope=False
        )
    out["no treatment"] = clone(base).set_params(
        priors={**(params.get("priors") or {}), "slope_scale": 1e-4},
        add_condition_slope=False,
        add_group_slope=False,
    )
    if has_group:
        out["no group"] = clone(base).set_params(add_group_intercept=False, add_group_slope=False)
        if params.get("add_group_slope") is False:
            out["group slope"] = clone(base).set_params(add_group_slope=True)
        else:
            out["no group slope"] = clone(base).set_params(add_group_slope=False)
    for family in FAMILIES.values():
        if family.varies_scale and family.name != params.get("dist_y") and family.supports(y):
            out[family.name] = clone(base).set_params(dist_y=family.name)
    return out


def explore_models(estimator, X, y):
    """Which model fits? The full model and its variants compared by PSIS-LOO.

    Variants of a :class:`~bwestimators.HierarchicalSlopeRegressor`: ``full``;
    ``no condition`` (no condition intercepts and slopes); ``no treatment``
    (the slope held at 0 by a prior of scale 1e-4, no condition or group
    slopes); ``no group`` (no group effects); ``no group slope`` (no random
    slope per group; ``group slope`` instead when the estimator has
    ``add_group_slope=False``); and the continuous likelihoods with a dispersion parameter
    (normal, student, lognormal, gamma) where y allows them. Log-likelihoods
    are in y's units, so likelihoods compare.

    Parameters
    ----------
    estimator : HierarchicalSlopeRegressor (with ``spec``)
    X : DataFrame
    y : array-like

    Returns
    -------
    comparison : DataFrame
        As :func:`compare_models`.
    """
    if getattr(estimator, "spec", None) is None:
        raise InputError("explore_models needs an estimator with spec=ColumnSpec(...).")
    return compare_models(_variants(estimator, X, y), X, y)


def cross_validate_models(estimators, X, y, groups=None, cv=None):
    """Every estimator on the same folds, scored by R² and log predictive density.

    Parameters
    ----------
    estimators : dict of str to estimator
    X : DataFrame
    y : array-like
    groups : array-like or None
        Groups for group-wise splitters (``GroupKFold``, ``LeaveOneGroupOut``).
    cv : cross-validation splitter or int or None
        As in scikit-learn (default 5-fold).

    Returns
    -------
    table : DataFrame
        One row per (fold, estimator): ``fold``, ``estimator``, ``r2``,
        ``log_predictive_density`` (mean over the held-out rows; NaN where not
        defined), ``fit_seconds``, ``n_train``, ``n_test``.
    """
    from sklearn.model_selection import check_cv

    y = pd.Series(np.asarray(y), index=X.index)
    splitter = check_cv(cv)
    rows = []
    for fold, (train, test) in enumerate(splitter.split(X, y, groups)):
        for name, est in estimators.items():
            model = clone(est)
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(X.iloc[train], y.iloc[train])
            seconds = time.perf_counter() - t0
            pred = model.predict(X.iloc[test])
            try:
                lpd = log_predictive_density(model, X.iloc[test], y.iloc[test])
            except TypeError:
                lpd = np.nan
            rows.append(
                {
                    "fold": fold,
                    "estimator": name,
                    "r2": r2_score(y.iloc[test], pred),
                    "log_predictive_density": lpd,
                    "fit_seconds": seconds,
                    "n_train": len(train),
                    "n_test": len(test),
                }
            )
    return pd.DataFrame(rows)
