"""Predictive distribution of a fitted LMEComparator: new groups integrated over, joint densities.

The prediction of :meth:`bwestimators.LMEComparator.predict` is the fixed part plus
the BLUPs of groups seen at fit time. What it leaves at zero is integrated over
with the fitted (plug-in) covariance: the random intercept and slope of groups
not seen at fit time (``[1, t] cov_re [1, t]'``), the group2 variance component
(its BLUPs are not used in predictions), and the residual variance. The
uncertainty of the fixed effects and of the BLUPs is left out (the fitted
parameters are treated as known, as in the usual LME predictive density).
"""

import numpy as np
from scipy import stats

from bwestimators._densities import design_columns, factorize, lowrank_normal_logpdf
from bwestimators._levels import treatment_dummies


def _unseen_group(lme, groups):
    known = set(lme._blups)
    return np.array([g not in known for g in groups])


def _categorical(lme):
    return getattr(lme, "_categorical", False)


def _effect_factor(lme):
    """F with ``F F' = cov_re`` (intercept at treatment 0, slope per unit, or per dummy of a
    categorical treatment), from eigh (PSD)."""
    cov = np.asarray(lme.result_.cov_re, dtype=float)
    k = 1
    if lme.add_group_slope_ and cov.shape[0] > 1:
        k = cov.shape[0] if _categorical(lme) else 2
    if k == 2 and not _categorical(lme):  # fitted on (t - c) / s: back to units of t
        c, s = lme.treatment_center_, lme.treatment_scale_
        A = np.array([[1.0, -c / s], [0.0, 1.0 / s]])
        cov = A @ cov[:2, :2] @ A.T
    vals, vecs = np.linalg.eigh(cov[:k, :k])
    return vecs * np.sqrt(np.clip(vals, 0.0, None))


def _group2_variance(lme):
    if getattr(lme, "vc_formula_", None) is not None and len(lme.result_.vcomp):
        return float(lme.result_.vcomp[0])
    return 0.0


def _terms(lme, groups, t):
    """Columns of the unknown random effects per row (see :func:`design_columns`), unit sd."""
    unseen = _unseen_group(lme, groups)
    F = _effect_factor(lme)
    if _categorical(lme):  # the intercept and one dummy per non-reference level
        design = np.column_stack([np.ones(len(t)), treatment_dummies(t, F.shape[0])])
    else:
        design = np.column_stack([np.ones(len(t)), t])[:, : F.shape[0]]
    base = design.astype(float) @ F
    terms = [(f"group{j}", np.where(unseen, base[:, j], 0.0), "group") for j in range(F.shape[1])]
    if _group2_variance(lme) > 0:
        terms.append(("group2", np.full(len(t), np.sqrt(_group2_variance(lme))), "group2"))
    return terms


def predictive_variance(lme, groups, t):
    """Variance of a new observation of each row around ``predict``.

    Parameters
    ----------
    lme : fitted LMEComparator
    groups : ndarray of object
        Each row's group label (missing or unseen: a new group).
    t : ndarray
        Each row's treatment in its own units.

    Returns
    -------
    ndarray of shape (n_rows,)
    """
    var = np.full(len(t), float(lme.result_.scale))
    for _, z, _ in _terms(lme, groups, t):
        var = var + z**2
    return var


def log_density(lme, mean, y, groups, t, labels, by_group):
    """Pointwise normal log densities, or the joint one of each group's rows.

    Parameters
    ----------
    lme : fitted LMEComparator
    mean : ndarray
        ``lme.predict(X)``.
    y : ndarray
    groups : ndarray of object
        Group labels as the fit knows them (unseen: missing).
    t : ndarray
    labels : dict of role to ndarray
        Raw level labels (rows of one label share its effect).
    by_group : bool

    Returns
    -------
    ndarray of shape (n_rows,) or (n_groups,) (groups in order of appearance)
    """
    if not by_group:
        sd = np.sqrt(predictive_variance(lme, groups, t))
        return stats.norm.logpdf(y, mean, sd)
    codes, _ = factorize(labels["group"])
    terms = _terms(lme, groups, t)
    out = np.empty(codes.max() + 1)
    for k in range(len(out)):
        idx = np.flatnonzero(codes == k)
        Z, _ = design_columns(
            [(key, z[idx], role) for key, z, role in terms],
            {role: v[idx] for role, v in labels.items()},
            len(idx),
        )
        r = (y[idx] - mean[idx])[None, :]
        out[k] = lowrank_normal_logpdf(
            len(idx),
            (r**2).sum(axis=1),
            r @ Z,
            Z.T @ Z,
            np.array([float(lme.result_.scale)]),
            np.ones((1, Z.shape[1])),
        )[0]
    return out
