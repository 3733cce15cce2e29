"""The slope model with the group effects integrated out (normal likelihoods on cells).

For a normal (or lognormal) likelihood the random effects of the groups
(intercept ``a_group``, slope ``b_group``) enter the mean linearly and have a
normal prior, so the likelihood of a group's cells given the other
parameters is a closed-form normal integral over them. The sampler then sees
only the population parameters, the scales and the other effects: no funnel
between the group sd and the group effects, and few leapfrog steps.

Per group ``g``, with ``u = (a_group[g], b_group[g])`` of prior
``Normal(0, D)``, ``D = S S`` (``S`` the diagonal of the group sds), cell
weights ``w = n / sigma^2``, residuals ``r = ybar - m`` of the mean ``m``
without the group effects and the group design ``z`` of each cell (1, the
treatment), the integral is that of a Gaussian: with ``M = I + S A S``,
``A = sum(w z z')``, ``v = M^-1 S sum(w z r)`` and ``u_hat = S v`` (the
mode of the group effects given the rest),
``log p(cells | rest) = loglik(cells | m + z' u_hat) - |v|^2 / 2 - log|M| / 2``.
That form is a sum of small terms. ``M = I + B B'`` is factored by rank-one
updates of the identity, one per column of ``B = S F / sigma`` (``F F'`` the
Gram matrix ``sum(n z z')``, factored in float64 on the host): every step
takes the square root of a sum of squares, so the factor is defined in
float32 however ill-conditioned ``M`` is. (Its plain Cholesky is not: with a
treatment in days, R's Orange with ages up to 1582, and a slope sd far out in
its prior in early warmup, ``M`` has a condition number near 1e8, and the
plain factorization of the formed matrix takes square roots of negative
numbers.)

The group effects themselves are drawn, once per posterior draw of the
rest, from their exact conditional posterior, ``u = S (v + L^-T xi)`` with
``M = L L'`` and ``xi`` standard normal, so the draws of ``a_group`` and
``b_group`` are those of the full model (and independent given the rest:
their ESS is at least that of the parameters they depend on).
"""

import jax
import jax.numpy as jnp

from bwestimators.models._likelihoods import cell_loglik


def _cholesky(m):
    """Cholesky factors of a batch of small SPD matrices (..., q, q), unrolled (q static)."""
    q = m.shape[-1]
    rows = [[None] * q for _ in range(q)]
    for j in range(q):
        diag = m[..., j, j] - sum(rows[j][k] ** 2 for k in range(j))
        rows[j][j] = jnp.sqrt(diag)
        for i in range(j + 1, q):
            off = m[..., i, j] - sum(rows[i][k] * rows[j][k] for k in range(j))
            rows[i][j] = off / rows[j][j]
    return rows


def _identity_plus(columns):
    """Cholesky factor of ``I + sum(x x')`` over the vectors ``columns``, by rank-one updates.

    ``columns``: a list of vectors, each a list of q arrays (a batch).
    Returns the factor as :func:`_cholesky` does (rows of arrays; zeros above
    the diagonal are None).
    """
    q = len(columns[0])
    zero = jnp.zeros_like(columns[0][0])
    rows = [[zero + (i == j) if j <= i else None for j in range(q)] for i in range(q)]
    for x in columns:
        x = list(x)
        for k in range(q):
            r = jnp.sqrt(rows[k][k] ** 2 + x[k] ** 2)
            c, s = r / rows[k][k], x[k] / rows[k][k]
            rows[k][k] = r
            for i in range(k + 1, q):
                rows[i][k] = (rows[i][k] + s * x[i]) / c
                x[i] = c * x[i] - s * rows[i][k]
    return rows


def _forward(rows, b):
    """Solve ``L x = b`` for the factor ``rows`` (b: (..., q)); returns a list of q arrays."""
    q = len(rows)
    x = []
    for i in range(q):
        x.append((b[..., i] - sum(rows[i][k] * x[k] for k in range(i))) / rows[i][i])
    return x


def _backward(rows, b):
    """Solve ``L' x = b`` (``b`` a list of q arrays); returns (..., q)."""
    q = len(rows)
    x = [None] * q
    for i in reversed(range(q)):
        x[i] = (b[i] - sum(rows[k][i] * x[k] for k in range(i + 1, q))) / rows[i][i]
    return jnp.stack(x, axis=-1)


def _solve(rows, b):
    """Solve ``L L' x = b`` for the factor ``rows`` (b: (..., q))."""
    return _backward(rows, _forward(rows, b))


def _logdet(rows):
    """``log |L L'|`` summed over the batch."""
    return 2 * sum(jnp.sum(jnp.log(rows[i][i])) for i in range(len(rows)))


def integrate_groups(cfg, data, z, m, sigma, sds, key=None):
    """Log-likelihood of the cells with the group effects integrated out, and a draw of them.

    Parameters
    ----------
    cfg : SlopeConfig
    data : dict
        The model data (cells; ``n`` is 0 on padding cells, and a padded group
        has no cells, so it adds nothing), with ``group_chol``: per group a
        factor ``F`` of ``sum(n z z') = F F'`` (see
        :func:`bwestimators._cells.group_factors`; 0 for a padded group).
    z : array (cells, q)
        The group design: the columns of each cell that the group effects
        multiply (1 for an intercept, the treatment for a slope).
    m : array (cells,)
        The linear predictor without the marginalized group effects.
    sigma : scalar
        The residual sd.
    sds : array (q,)
        The prior sd of each column of ``z``.
    key : jax PRNG key or None
        Key of a draw of the group effects; None: no draw.

    Returns
    -------
    loglik : scalar
    effects : array (n_groups, q) or None
        A draw of the group effects from their conditional posterior (None
        without ``key``).
    """
    q = z.shape[1]
    w = data["n"] / sigma**2
    c = jax.ops.segment_sum((w * (data["ybar"] - m))[:, None] * z, data["g"], cfg.n_groups)
    sf = sds[None, :, None] * data["group_chol"] / sigma  # S F / sigma, (G, q, q)
    rows = _identity_plus([[sf[:, i, k] for i in range(q)] for k in range(q)])  # I + S A S
    v = _solve(rows, sds * c)
    loglik = jnp.sum(
        cell_loglik(cfg.dist_y, m + jnp.sum(z * (v * sds)[data["g"]], 1), data, {"sigma": sigma})
    )
    loglik = loglik - 0.5 * jnp.sum(v * v) - 0.5 * _logdet(rows)
    if key is None:
        return loglik, None
    xi = jax.random.normal(key, v.shape, v.dtype)
    return loglik, (v + _backward(rows, [xi[:, i] for i in range(q)])) * sds


def _columns(rows, b):
    """``L^-1 b`` for a batch of matrices ``b`` (..., q, p), column by column."""
    return jnp.stack(
        [jnp.stack(_forward(rows, b[..., j]), axis=-1) for j in range(b.shape[-1])], -1
    )


def integrate_linear(data, sigma, sds, loc, scale, key=None):
    """Log-likelihood with the population coefficients and the group effects integrated out.

    The model of every group ``g``: its cells' means are ``z' (gamma + u_g)``
    with the group design ``z`` (1, the treatment or its dummies), the
    population coefficients ``gamma ~ Normal(loc, scale)`` (``alpha``,
    ``beta``) and the group effects ``u_g ~ Normal(0, diag(sds)^2)``. Given
    the scales, everything linear is Gaussian, and the cells enter through
    each group's regression on its own design: ``data["group_chol"]``
    (``R0``, a factor of ``sum(n z z') = R0 R0'``) and ``data["group_h"]``
    (``R0^-1 sum(n z ybar)``), made in float64 by
    :func:`bwestimators._cells.group_regressions`, with ``data["group_rss"]``
    (the residual sum of squares about every group's own fit, the
    within-cell sums of squares included) and ``data["group_rows"]`` (rows).
    Each group's estimate is ``Normal(gamma, diag(sds)^2 + sigma^2 (R0 R0')^-1)``;
    every matrix that is factored is ``I`` plus a positive semi-definite one
    (the groups' by rank-one updates), and every quadratic form a sum of
    squares. A padded group (``R0 = 0``, ``h = 0``) adds nothing.

    Parameters
    ----------
    data : dict
    sigma : scalar
        The residual sd.
    sds : array (q,)
        The prior sd of the group effect on each column of the design.
    loc, scale : array (q,)
        The prior of the population coefficients.
    key : jax PRNG key or None
        Key of a draw of the coefficients and the group effects; None: no draw.

    Returns
    -------
    loglik : scalar
        Up to a constant of the data.
    draws : (gamma (q,), effects (n_groups, q)) or None
    """
    r0, h = data["group_chol"], data["group_h"]
    q = h.shape[1]
    sr = sds[None, :, None] * r0 / sigma  # S R0 / sigma, (G, q, q)
    per_group = _identity_plus([[sr[:, i, k] for k in range(q)] for i in range(q)])
    e = jnp.stack(_forward(per_group, h / sigma), axis=-1)  # L^-1 R0^-1 sum(n z ybar) / sigma
    j = _columns(per_group, jnp.swapaxes(r0, 1, 2) / sigma)  # L^-1 R0' / sigma, (G, q, q)
    h0 = jnp.einsum("gqi,gqj->ij", j, j)
    # the pooled precision of gamma, scaled by its prior: well conditioned once a treatment
    # far from 0 is centered (bwestimators._cells.treatment_center)
    pooled = _cholesky(jnp.eye(q) + scale[:, None] * h0 * scale[None, :])
    rhs = scale * jnp.einsum("gqi,gq->i", j, e) + loc / scale
    gamma = scale * _solve(pooled, rhs)
    resid = e - jnp.einsum("gqi,i->gq", j, gamma)
    quad = jnp.sum(resid**2) + jnp.sum(((gamma - loc) / scale) ** 2)
    summary = {"n": data["group_rows"], "ybar": 0.0, "ss": data["group_rss"]}
    summary["log_var_ref"] = data["log_var_ref"]
    residual = cell_loglik("normal", 0.0, summary, {"sigma": sigma})
    loglik = residual - 0.5 * quad - 0.5 * (_logdet(per_group) + _logdet(pooled))
    if key is None:
        return loglik, None
    xi = jax.random.normal(key, (h.shape[0] + 1, q), h.dtype)  # gamma's, then the groups'
    gamma = gamma + scale * _backward(pooled, [xi[0, i] for i in range(q)])
    given = jnp.einsum("gij,gj->gi", sr, (h - jnp.einsum("gki,k->gi", r0, gamma)) / sigma)
    rows = _identity_plus([[sr[:, i, k] for i in range(q)] for k in range(q)])  # I + S A S
    effects = (_solve(rows, given) + _backward(rows, [xi[1:, i] for i in range(q)])) * sds
    return loglik, (gamma, effects)
