"""Probabilistic scores: log predictive density of held-out rows, usable as scikit-learn scorers."""

import numpy as np
from scipy import stats
from sklearn.utils.validation import check_is_fitted


def _final(estimator):
    return estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator


def _transformed(estimator, X):
    if hasattr(estimator, "steps"):
        for _, step in estimator.steps[:-1]:
            X = step.transform(X)
    return X


def log_predictive_density(estimator, X, y, *, pointwise=False):
    """Mean (or pointwise) log predictive density of y under a fitted estimator, in y's units.

    Bayesian estimators: ``log mean_s p(y_i | theta_s)`` over posterior draws
    (the pointwise expected log predictive density of held-out rows, the
    quantity LOO estimates). LME: a normal density around the prediction (fixed
    effects plus known groups' BLUPs) with the residual variance. ANOVA: a
    normal density around the cell mean with the residual mean square.

    Parameters
    ----------
    estimator : fitted estimator or Pipeline
    X : DataFrame
    y : array-like of shape (n_samples,)
    pointwise : bool, default=False

    Returns
    -------
    lpd : float (mean over rows) or ndarray of shape (n_samples,)

    Examples
    --------
    >>> from bwestimators import ColumnSpec, LMEComparator
    >>> from bwestimators.datasets import generate_fake_lfp
    >>> from bwestimators.metrics import log_predictive_density
    >>> df = generate_fake_lfp(n_trials=5, random_state=0).df
    >>> lme = LMEComparator(ColumnSpec("stim", group="mouse")).fit(df, df["Log power"])
    >>> bool(log_predictive_density(lme, df, df["Log power"]) > 0)
    True
    """
    model = _final(estimator)
    check_is_fitted(model, "effects_")
    Xt = _transformed(estimator, X)
    if hasattr(model, "log_predictive_density"):
        return model.log_predictive_density(Xt, y, pointwise=pointwise)
    y = np.asarray(y, dtype=float)
    mean = model.predict(Xt)
    if hasattr(model, "result_") and hasattr(model.result_, "scale"):
        sd = float(np.sqrt(model.result_.scale))
    elif hasattr(model, "result_") and hasattr(model.result_, "mse_resid"):
        sd = float(np.sqrt(model.result_.mse_resid))
    else:
        raise TypeError(f"log_predictive_density is not defined for {type(model).__name__}.")
    out = stats.norm.logpdf(y, mean, sd)
    return out if pointwise else float(out.mean())


def log_predictive_density_scorer(estimator, X, y):
    """A scikit-learn scorer (``scoring=log_predictive_density_scorer``): higher is better."""
    return log_predictive_density(estimator, X, y)
