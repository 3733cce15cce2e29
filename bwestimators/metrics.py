"""Probabilistic scores: log predictive density of held-out rows, usable as scikit-learn scorers."""

import numpy as np
from scipy import stats
from sklearn.utils.validation import check_is_fitted

from bwestimators._base import align_target, final_estimator, transform_to_final
from bwestimators.exceptions import InputTypeError


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
    model = final_estimator(estimator)
    check_is_fitted(model, "effects_")
    Xt = transform_to_final(estimator, X)
    if hasattr(model, "log_predictive_density"):
        return model.log_predictive_density(Xt, y, pointwise=pointwise)
    y = np.asarray(align_target(X, y), dtype=float)
    mean = model.predict(Xt)
    if hasattr(model, "result_") and hasattr(model.result_, "scale"):
        sd = float(np.sqrt(model.result_.scale))
    elif hasattr(model, "result_") and hasattr(model.result_, "mse_resid"):
        sd = float(np.sqrt(model.result_.mse_resid))
    else:
        raise InputTypeError(
            f"log_predictive_density is not defined for {type(model).__name__}; pass a Bayesian "
            "estimator, an LMEComparator or an AnovaComparator with kind='between'."
        )
    out = stats.norm.logpdf(y, mean, sd)
    return out if pointwise else float(out.mean())


def log_predictive_density_scorer(estimator, X, y):
    """A scikit-learn scorer (``scoring=log_predictive_density_scorer``): higher is better."""
    return log_predictive_density(estimator, X, y)
