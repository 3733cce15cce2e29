"""Start values for statsmodels' MixedLM: the optimum of its profile likelihood, found cheaply.

statsmodels evaluates the (restricted) profile log-likelihood of a mixed model
group by group in Python, and its default optimizers (BFGS, then L-BFGS, then
CG) often stop short on the flat likelihoods of few groups, so that one fit
costs several hundred evaluations. With a single grouping factor and no
variance components the likelihood depends on the data only through a few
per-group cross products (``Z_i'Z_i``, ``Z_i'X_i``, ``Z_i'y_i``) and the pooled
``X'X``, ``X'y``, ``y'y``; here it is evaluated for all groups at once with
Woodbury's identity (``k x k`` matrices per group), about a hundred times
faster, and maximized over the same parameters as statsmodels (the lower
triangle of the Cholesky factor ``L`` of ``cov_re / scale``, fixed effects and
scale profiled out). statsmodels' fit then starts at that optimum and only
confirms it (except for a correlated structure whose optimum is singular, which
statsmodels cannot evaluate near it: that fit keeps statsmodels' default start,
see ``bwestimators.lme._fit_structure``); its warnings, Hessian, standard errors
and ``converged`` flag are its own.
"""

import numpy as np

_EPS = 1e-5  # central-difference step, relative to max(1, |theta|)


def _cross_products(model):
    """Per-group and pooled cross products of a MixedLM's design (no variance components).

    Returns
    -------
    dict
        ``ZZ`` (G, k, k), ``ZX`` (G, k, p), ``Zy`` (G, k), ``XX`` (p, p), ``Xy`` (p,),
        ``yy``, ``n``, ``p``.
    """
    Z, X, y = model.exog_re_li, model.exog_li, model.endog_li
    XX = sum(x.T @ x for x in X)
    Xy = sum(x.T @ v for x, v in zip(X, y, strict=True))
    return {
        "ZZ": np.stack([z.T @ z for z in Z]),
        "ZX": np.stack([z.T @ x for z, x in zip(Z, X, strict=True)]),
        "Zy": np.stack([z.T @ v for z, v in zip(Z, y, strict=True)]),
        "XX": XX,
        "Xy": Xy,
        "yy": float(sum(v @ v for v in y)),
        "n": int(sum(len(v) for v in y)),
        "p": X[0].shape[1],
    }


def _factor(theta, k, ix):
    """The lower-triangular ``L`` from statsmodels' packed ``theta``."""
    L = np.zeros((k, k))
    L[ix] = theta
    return L


def _profile_loglike(theta, cp, reml, ix):
    """statsmodels' profile log-likelihood (``MixedLM.loglike``) at the packed ``theta``.

    With ``V_i = I + Z_i L L' Z_i'`` and ``M_i = I + L' Z_i'Z_i L``:
    ``log|V_i| = log|M_i|`` and
    ``V_i^-1 = I - Z_i L M_i^-1 L' Z_i'`` (Woodbury).
    """
    k = cp["ZZ"].shape[1]
    L = _factor(theta, k, ix)
    M = np.eye(k) + np.einsum("ji,gjl,lm->gim", L, cp["ZZ"], L)
    sign, logdet = np.linalg.slogdet(M)
    if np.any(sign <= 0):
        return -np.inf
    Minv = np.linalg.inv(M)
    B = np.einsum("ji,gjp->gip", L, cp["ZX"])  # L' Z'X per group
    c = np.einsum("ji,gj->gi", L, cp["Zy"])  # L' Z'y per group
    MB = Minv @ B
    xvx = cp["XX"] - np.einsum("gip,giq->pq", B, MB)
    xvy = cp["Xy"] - np.einsum("gip,gi->p", MB, c)
    yvy = cp["yy"] - np.einsum("gi,gij,gj->", c, Minv, c)
    try:
        beta = np.linalg.solve(xvx, xvy)
    except np.linalg.LinAlgError:
        return -np.inf
    qf = yvy - xvy @ beta
    if not qf > 0:
        return -np.inf
    n, p = cp["n"], cp["p"]
    m = n - p if reml else n
    like = -np.sum(logdet) / 2 - m * np.log(qf) / 2
    if reml:
        like -= np.linalg.slogdet(xvx)[1] / 2
    return like - m * np.log(2 * np.pi) / 2 + m * np.log(m) / 2 - m / 2


def _moment_start(cp, diagonal, ix):
    """A moment estimate of ``L``: the between-group covariance of the groups' OLS random-effect
    coefficients (on the pooled OLS residuals) less their mean sampling covariance,
    its eigenvalues floored, relative to the pooled residual variance."""
    k = cp["ZZ"].shape[1]
    beta = np.linalg.lstsq(cp["XX"], cp["Xy"], rcond=None)[0]
    Zr = cp["Zy"] - cp["ZX"] @ beta
    usable = np.linalg.matrix_rank(cp["ZZ"]) == k
    rss = cp["yy"] - 2 * beta @ cp["Xy"] + beta @ cp["XX"] @ beta
    s2 = max(rss / max(cp["n"] - cp["p"], 1), 1e-300)
    psi = np.eye(k)
    if usable.sum() >= 2:
        ZZinv = np.linalg.inv(cp["ZZ"][usable])
        b = np.einsum("gij,gj->gi", ZZinv, Zr[usable])
        s2 = max((rss - np.einsum("gi,gi->", b, Zr[usable])) / max(cp["n"] - cp["p"], 1), 1e-300)
        D = np.atleast_2d(np.cov(b.T)) - s2 * ZZinv.mean(axis=0)
        w, V = np.linalg.eigh((D + D.T) / 2 / s2)
        w = np.maximum(w, 1e-2 * max(w.max(), 1.0))
        psi = (V * w) @ V.T
    if diagonal:
        psi = np.diag(np.diag(psi))
    return np.linalg.cholesky(psi)[ix]


def _gradient(f, theta):
    """Central differences of ``f`` at ``theta``."""
    g = np.empty_like(theta)
    for j in range(len(theta)):
        h = _EPS * max(1.0, abs(theta[j]))
        e = np.zeros_like(theta)
        e[j] = h
        g[j] = (f(theta + e) - f(theta - e)) / (2 * h)
    return g


def profile_optimum(model, reml, diagonal=False):
    """The maximum of a MixedLM's profile likelihood, packed as statsmodels' start values.

    Parameters
    ----------
    model : statsmodels MixedLM
        With random effects of one grouping factor and no variance components.
    reml : bool
        Restricted (else full) maximum likelihood, as ``MixedLM.fit(reml=...)``.
    diagonal : bool, default=False
        Uncorrelated random effects (``cov_re`` diagonal, statsmodels' ``free``
        pattern of :func:`bwestimators.lme._diagonal`).

    Returns
    -------
    ndarray or None
        The packed lower triangle of the Cholesky factor of ``cov_re / scale``
        (``MixedLM.fit(start_params=...)``), or None when the model is outside
        this shortcut (variance components, no random effects, or no finite
        optimum found): statsmodels then starts from its own default.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import statsmodels.formula.api as smf
    >>> rng = np.random.default_rng(0)
    >>> g = np.repeat(np.arange(8), 10)
    >>> df = pd.DataFrame({"g": g, "y": rng.normal(size=8)[g] + rng.normal(size=80)})
    >>> model = smf.mixedlm("y ~ 1", df, groups=df["g"])
    >>> start = profile_optimum(model, reml=True)
    >>> plain = model.fit(method="nm", maxiter=2000)
    >>> bool(abs(start[0] ** 2 - plain.cov_re.iloc[0, 0] / plain.scale) < 1e-3)
    True
    """
    from scipy.optimize import minimize

    if model.k_vc > 0 or model.k_re == 0:
        return None
    k = model.k_re
    ix = np.tril_indices(k)
    cp = _cross_products(model)
    free = np.ones(len(ix[0]), dtype=bool)
    if diagonal:
        free = ix[0] == ix[1]
    try:
        x0 = _moment_start(cp, diagonal, ix)
    except np.linalg.LinAlgError:
        x0 = np.eye(k)[ix]

    def full(x):
        theta = np.zeros(len(free))
        theta[free] = x
        return theta

    def neg(x):
        value = _profile_loglike(full(x), cp, reml, ix)
        return -value if np.isfinite(value) else np.inf

    with np.errstate(all="ignore"):
        opt = minimize(
            neg,
            x0[free],
            jac=lambda x: _gradient(neg, x),
            method="BFGS",
            options={"gtol": 1e-7 * cp["n"], "maxiter": 500},
        )
    if not np.all(np.isfinite(opt.x)) or not np.isfinite(opt.fun):
        return None
    # a search that stopped short (BFGS reports precision loss at flat optima too): only
    # when its gradient is small is its optimum trusted, else statsmodels' own start is used
    if not opt.success and np.max(np.abs(opt.jac)) > 1e-4 * cp["n"]:
        return None
    return full(opt.x)


def start_factor(theta, k):
    """The Cholesky factor (positive diagonal) of ``cov_re / scale`` from the packed ``theta``.

    Parameters
    ----------
    theta : ndarray
        Packed lower triangle, as :func:`profile_optimum` returns it.
    k : int
        The number of random effects.

    Returns
    -------
    ndarray of shape (k, k)
        ``L`` with each column's sign flipped so that its diagonal is >= 0 (the
        same ``L L'``).

    Examples
    --------
    >>> start_factor(np.array([-2.0, 1.0, 3.0]), 2)
    array([[ 2.,  0.],
           [-1.,  3.]])
    """
    L = _factor(np.asarray(theta, dtype=float), k, np.tril_indices(k))
    return L * np.where(np.diag(L) < 0, -1.0, 1.0)


def packed_start(factor, floor=1e-5):
    """statsmodels' packed start values from a Cholesky factor, its diagonal at least ``floor``.

    statsmodels inverts ``cov_re`` and takes its Cholesky factor again, which an
    exactly singular start breaks; a diagonal of ``floor`` keeps it invertible
    (and below the singular tolerance 1e-4).

    Examples
    --------
    >>> packed_start(np.array([[2.0, 0.0], [1.0, 0.0]]))
    array([2.e+00, 1.e+00, 1.e-05])
    """
    L = np.array(factor, dtype=float)
    k = L.shape[0]
    L[np.diag_indices(k)] = np.maximum(np.diag(L), floor)
    return L[np.tril_indices(k)]
