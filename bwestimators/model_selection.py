"""Model comparison: PSIS-LOO/LOGO through ArviZ, model variants, cross-validated comparison."""

import warnings

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from bwestimators._base import final_estimator
from bwestimators._warn import capture_warnings, reemit
from bwestimators.exceptions import InputError, InputTypeError
from bwestimators.metrics import check_comparable


def _is_fitted(est):
    try:
        check_is_fitted(est, "effects_")
    except Exception:  # NotFittedError or a pipeline's
        return False
    return True


#: Pareto k above which PSIS estimates are unreliable (Vehtari et al. 2024).
PARETO_K_THRESHOLD = 0.7


def _fitted_models(estimators, X, y):
    if not estimators:
        raise InputError("estimators is empty; pass a dict of name to Bayesian estimator.")
    check_comparable(estimators)
    models = {}
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
        models[name] = model
    return models


def _logo_data(model):
    """A DataTree whose log-likelihood is summed over each group's rows (draws x groups)."""
    from bwestimators._arviz import arviz

    if getattr(model, "group_pooling_", None) == "none":
        raise InputError(
            f"{type(model).__name__} was fitted with unpooled group intercepts "
            "(group_pooling_='none', fewer than 5 groups): a left-out group cannot be "
            "predicted without a population of groups. Refit with group_pooling='partial' "
            "for method='logo'."
        )
    loglik = model.group_log_likelihood()
    posterior = {k: np.asarray(v) for k, v in model.draws_.items() if np.ndim(v) == 2}
    return arviz().from_dict({"posterior": posterior, "log_likelihood": {"y": loglik}})


def compare_models(estimators, X=None, y=None, *, method="loo"):
    """Compare Bayesian estimators by PSIS leave-one-out or leave-one-group-out ELPD.

    Parameters
    ----------
    estimators : dict of str to estimator
        Bayesian estimators (or pipelines ending in one), fitted or not; the
        unfitted ones are fitted on X, y. Their likelihoods must be all
        continuous or all discrete (densities and probability masses do not
        compare); every log-likelihood is in y's units.
    X : DataFrame or None
    y : array-like or None
    method : {"loo", "logo"}, default="loo"
        ``"loo"``: Pareto-smoothed importance-sampling leave-one-out
        cross-validation over rows (``arviz.loo``). ``"logo"``: the same over
        groups, on the log-likelihood summed over each group's rows: the
        expected log density of a new group's rows. Leaving a whole group out
        changes the posterior more than leaving one row out, so Pareto k is
        often high for ``"logo"``; then prefer
        :func:`cross_validate_models` with ``GroupKFold`` (exact).

    Returns
    -------
    comparison : DataFrame
        One row per model, best first, with ArviZ's columns (``rank``,
        ``elpd``, ``p``, ``elpd_diff``, ``dse``, ``weight``, ``se``, ...) and
        the Pareto-k diagnostics: ``max_pareto_k``, ``n_high_pareto_k`` (the
        number of rows, or groups, with k > 0.7) and ``reliable`` (False when
        any k > 0.7: the PSIS estimate of that model is not to be trusted; a
        warning says so too). ``attrs["method"]`` is the method.

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
    >>> {"elpd", "dse", "max_pareto_k", "reliable"} <= set(table.columns)
    True
    """
    from bwestimators._arviz import arviz

    if method not in ("loo", "logo"):
        raise InputError(f"method must be 'loo' or 'logo', got {method!r}.")
    models = _fitted_models(estimators, X, y)
    az = arviz()
    elpds, ks = {}, {}
    with capture_warnings() as caught:  # this thread's only (not catch_warnings: thread-safe)
        for name, model in models.items():
            data = model.idata_ if method == "loo" else _logo_data(model)
            elpds[name] = az.loo(data, pointwise=True)
            ks[name] = np.asarray(elpds[name].pareto_k).ravel()
        table = az.compare(elpds, round_to="none")
    reemit([w for w in caught if not issubclass(w.category, UserWarning)])
    table["max_pareto_k"] = [float(np.max(ks[n])) for n in table.index]
    table["n_high_pareto_k"] = [int((ks[n] > PARETO_K_THRESHOLD).sum()) for n in table.index]
    table["reliable"] = table["n_high_pareto_k"] == 0
    table.attrs["method"] = method
    bad = table.index[~table["reliable"]].tolist()
    if bad:
        unit = "row(s)" if method == "loo" else "group(s)"
        warnings.warn(
            f"PSIS-{method.upper()} is unreliable for {bad}: Pareto k > {PARETO_K_THRESHOLD} "
            f"for {table.loc[bad, 'n_high_pareto_k'].tolist()} {unit} (column reliable). "
            "Compare by exact cross-validation instead: cross_validate_models with "
            "cv=GroupKFold(...) and groups=...",
            UserWarning,
            stacklevel=2,
        )
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

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> import pandas as pd
    >>> from bwestimators import ColumnSpec, HierarchicalSlopeRegressor
    >>> rng = np.random.default_rng(0)
    >>> g = np.repeat(np.arange(8), 20)
    >>> t = np.tile(np.repeat([0.0, 1.0], 10), 8)
    >>> X = pd.DataFrame({"g": [f"g{i}" for i in g], "t": t})
    >>> y = pd.Series(1 + rng.normal(0, 0.5, 8)[g] + t + rng.normal(0, 0.5, 160), name="y")
    >>> est = HierarchicalSlopeRegressor(
    ...     ColumnSpec("t", group="g"), num_warmup=300, num_samples=300, num_chains=2,
    ...     random_state=0,
    ... )
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     table = explore_models(est, X, y)
    >>> "no treatment" in table.index, table.index[0] != "no treatment"
    (True, True)
    """
    if getattr(estimator, "spec", None) is None:
        raise InputError("explore_models needs an estimator with spec=ColumnSpec(...).")
    return compare_models(_variants(estimator, X, y), X, y)


def cross_validate_models(estimators, X, y, groups=None, cv=None):
    """Every estimator on the same folds (``sklearn.model_selection.cross_validate``).

    Scores of each held-out fold: R², the mean pointwise log predictive density
    of its rows, and, when the estimators have a group, the mean over its
    groups of each group's joint log predictive density (rows of a held-out
    group share its unknown effects; with ``GroupKFold`` this is leave-one-
    group-out cross-validation). Rows of groups unseen at fit time integrate
    over new group effects (see :func:`bwestimators.metrics.log_predictive_density`);
    so when the folds hold out whole groups, an estimator's
    ``group_pooling="auto"`` is fitted as ``"partial"`` (a training fold of
    fewer than 5 groups would otherwise get unpooled intercepts, with no
    population to predict a new group from).

    Parameters
    ----------
    estimators : dict of str to estimator
        Estimators or pipelines; their likelihoods must be all continuous or
        all discrete (an InputError otherwise).
    X : DataFrame
    y : array-like
    groups : array-like or None
        Groups for group-wise splitters (``GroupKFold``, ``LeaveOneGroupOut``).
    cv : cross-validation splitter or int or None
        As in scikit-learn (default 5-fold); the folds are drawn once and used
        for every estimator.

    Returns
    -------
    table : DataFrame
        One row per (fold, estimator): ``fold``, ``estimator``, ``r2``,
        ``log_predictive_density`` (mean over the held-out rows),
        ``group_log_predictive_density`` (mean over the held-out groups of
        their joint log density; NaN without a group), ``n_groups`` (held-out
        groups), ``fit_seconds``, ``score_seconds``, ``n_train``, ``n_test``.
        NaN where a score is not defined for an estimator. The leave-one-group-out
        ELPD of an estimator is ``(group_log_predictive_density * n_groups).sum()``
        over its folds (see :func:`summarize_cross_validation`).

    Examples
    --------
    >>> from sklearn.model_selection import GroupKFold
    >>> from bwestimators import AnovaComparator, ColumnSpec, LMEComparator
    >>> from bwestimators.datasets import generate_fake_lfp
    >>> from bwestimators.model_selection import cross_validate_models
    >>> df = generate_fake_lfp(n_trials=5, random_state=0).df
    >>> spec = ColumnSpec("stim", group="mouse")
    >>> table = cross_validate_models({"lme": LMEComparator(spec), "anova": AnovaComparator(spec)},
    ...                               df, df["Log power"], groups=df["mouse"], cv=GroupKFold(5))
    >>> table.shape[0]
    10
    """
    from sklearn.model_selection import check_cv, cross_validate

    from bwestimators.metrics import (
        group_log_predictive_density_scorer,
        log_predictive_density_scorer,
    )

    check_comparable(estimators)
    y = pd.Series(np.asarray(y), index=X.index)
    folds = list(check_cv(cv).split(X, y, groups))
    scoring = {
        "r2": "r2",
        "log_predictive_density": _nan_on_type_error(log_predictive_density_scorer),
        "group_log_predictive_density": _nan_on_type_error(group_log_predictive_density_scorer),
    }
    group_col = _group_column(estimators, X)
    if group_col is not None and _holds_out_groups(X[group_col], folds):
        estimators = {name: _pooled_groups(est) for name, est in estimators.items()}
    frames = []
    for name, est in estimators.items():
        with capture_warnings():  # dropped (this thread's only: thread-safe)
            res = cross_validate(
                est, X, y, groups=groups, cv=folds, scoring=scoring, error_score="raise"
            )
        frames.append(
            pd.DataFrame(
                {
                    "fold": np.arange(len(folds)),
                    "estimator": name,
                    "r2": res["test_r2"],
                    "log_predictive_density": res["test_log_predictive_density"],
                    "group_log_predictive_density": res["test_group_log_predictive_density"],
                    "n_groups": [
                        X.iloc[test][group_col].nunique() if group_col is not None else np.nan
                        for _, test in folds
                    ],
                    "fit_seconds": res["fit_time"],
                    "score_seconds": res["score_time"],
                    "n_train": [len(train) for train, _ in folds],
                    "n_test": [len(test) for _, test in folds],
                }
            )
        )
    table = pd.concat(frames, ignore_index=True)
    return table.sort_values(["fold", "estimator"], kind="stable").reset_index(drop=True)


def _holds_out_groups(group, folds):
    """Whether some test fold has rows of groups absent from its training rows."""
    group = np.asarray(group)
    return any(not np.isin(group[test], group[train]).all() for train, test in folds)


def _pooled_groups(est):
    """``est`` with ``group_pooling="auto"`` set to ``"partial"`` (a clone), or ``est``.

    Held-out groups are predicted from the population of groups, which
    unpooled intercepts (the ``"auto"`` choice under 5 groups) do not have.
    """
    auto = [k for k, v in est.get_params().items() if k.endswith("group_pooling") and v == "auto"]
    if not auto:
        return est
    return clone(est).set_params(**dict.fromkeys(auto, "partial"))


def _group_column(estimators, X):
    """The raw group column of X, from the estimators' ColumnSpec (None without one)."""
    from bwestimators.metrics import _spec_of

    for est in estimators.values():
        spec = _spec_of(est)
        column = getattr(spec, "group", None)
        if isinstance(column, str) and column in X.columns:
            return column
    return None


def _nan_on_type_error(scorer):
    """A scorer giving NaN where the score is not defined (no density, or no group).

    Only those two cases: any other error (an unseen cell, a missing value) is raised,
    never turned into a silent NaN.
    """

    def score(estimator, X, y):
        try:
            return scorer(estimator, X, y)
        except InputTypeError:
            return np.nan
        except InputError as exc:
            if "needs a group" in str(exc):
                return np.nan
            raise

    score.__name__ = scorer.__name__
    return score


def summarize_cross_validation(table, score="group_log_predictive_density"):
    """ELPD of each estimator from :func:`cross_validate_models`, with paired standard errors.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`cross_validate_models`.
    score : {"group_log_predictive_density", "log_predictive_density"}
        Groups (leave-one-group-out ELPD: each fold's mean times its number of
        groups, summed) or rows (each fold's mean times its rows, summed).

    Returns
    -------
    summary : DataFrame
        Per estimator, best first: ``elpd``, ``se`` (from the spread of the
        fold totals, ``sqrt(K) sd``), ``elpd_diff`` (to the best) and ``dse``
        (standard error of the paired difference over folds).

    Examples
    --------
    >>> import pandas as pd
    >>> from bwestimators.model_selection import summarize_cross_validation
    >>> table = pd.DataFrame({"fold": [0, 0, 1, 1], "estimator": ["a", "b", "a", "b"],
    ...                       "group_log_predictive_density": [-1.0, -2.0, -1.5, -1.0],
    ...                       "n_groups": [2, 2, 2, 2]})
    >>> summarize_cross_validation(table)[["elpd", "elpd_diff"]]
               elpd  elpd_diff
    estimator
    a          -5.0        0.0
    b          -6.0        1.0
    """
    weight = table["n_groups"] if score == "group_log_predictive_density" else table["n_test"]
    totals = (table[score] * weight).to_frame("total")
    totals["fold"], totals["estimator"] = table["fold"], table["estimator"]
    wide = totals.pivot(index="fold", columns="estimator", values="total")
    k = len(wide)
    elpd = wide.sum().sort_values(ascending=False)
    best = elpd.index[0]
    out = pd.DataFrame(
        {
            "elpd": elpd,
            "se": np.sqrt(k) * wide.std(ddof=1)[elpd.index],
            "elpd_diff": elpd[best] - elpd,
            "dse": [np.sqrt(k) * (wide[best] - wide[n]).std(ddof=1) for n in elpd.index],
        }
    )
    out.index.name = "estimator"
    return out
