"""The numpyro distribution of each likelihood family, on cells and on single observations.

All functions take the linear predictor ``mu`` on the model's internal scale
(see :class:`bwestimators._families.Family`: standardized y, standardized log
y, or the link scale). Everything else about a likelihood (support, link,
parameters and their priors, padding) is in :mod:`bwestimators._families`.
"""

import math

import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist

from bwestimators._families import FAMILIES

#: The distribution of one observation given ``mu`` and the family's parameters.
_DISTRIBUTIONS = {
    "normal": lambda mu, p: dist.Normal(mu, p["sigma"]),
    "student": lambda mu, p: dist.StudentT(p["nu"], mu, p["sigma"]),
    "lognormal": lambda mu, p: dist.Normal(mu, p["sigma"]),
    "gamma": lambda mu, p: dist.Gamma(p["shape"], p["shape"] * jnp.exp(-mu)),
    "poisson": lambda mu, p: dist.Poisson(jnp.exp(mu)),
    "negative_binomial": lambda mu, p: dist.NegativeBinomial2(jnp.exp(mu), p["phi"]),
    "exponential": lambda mu, p: dist.Exponential(jnp.exp(-mu)),
    "bernoulli": lambda mu, p: dist.BernoulliLogits(mu),
}

#: The variance of one observation given its mean (internal scale).
_VARIANCES = {
    "normal": lambda mean, p: jnp.broadcast_to(p["sigma"] ** 2, jnp.shape(mean)),
    "student": lambda mean, p: jnp.broadcast_to(
        jnp.where(
            p["nu"] > 2, p["sigma"] ** 2 * p["nu"] / jnp.maximum(p["nu"] - 2, 1e-12), jnp.inf
        ),
        jnp.shape(mean),
    ),
    "lognormal": lambda mean, p: jnp.broadcast_to(p["sigma"] ** 2, jnp.shape(mean)),
    "gamma": lambda mean, p: mean**2 / p["shape"],
    "poisson": lambda mean, p: mean,
    "negative_binomial": lambda mean, p: mean + mean**2 / p["phi"],
    "exponential": lambda mean, p: mean**2,
    "bernoulli": lambda mean, p: mean * (1 - mean),
}

_INVERSE_LINKS = {
    "identity": lambda mu: mu,
    "log": jnp.exp,
    "logit": lambda mu: 1.0 / (1.0 + jnp.exp(-mu)),
}

_PRIORS = {"half_normal": dist.HalfNormal, "gamma": dist.Gamma}


def observation_dist(dist_y, mu, params):
    """The numpyro distribution of one observation given the linear predictor."""
    return _DISTRIBUTIONS[dist_y](mu, params)


def sample_likelihood_params(dist_y, data):
    """Sample the family's own parameters (residual sd, degrees of freedom, shape, ...)."""
    params = {}
    for name, (kind, args) in FAMILIES[dist_y].params:
        values = [data[a] if isinstance(a, str) else a for a in args]
        params[name] = numpyro.sample(name, _PRIORS[kind](*values))
    return params


def _normal_cells(mu, data, sigma):
    """Normal log-likelihood of cells, less :func:`cell_loglik_constant`, in small terms.

    With ``v = log(sigma^2) - log_var_ref`` (``log_var_ref``: the log of the
    pooled within-cell variance, near the posterior of ``sigma^2``) and
    ``q = ss / exp(log_var_ref)``, the terms ``-n log(sigma^2) / 2 - ss / (2 sigma^2)``
    equal ``-(n (v + expm1(-v)) + (q - n) expm1(-v)) / 2`` plus a constant. Every
    term is small near the posterior, so float32 keeps the log density exact to
    far below 1 at millions of rows (the plain form loses whole units there,
    which NUTS sees as noise in the energy).
    """
    n, ybar, ss, log_ref = data["n"], data["ybar"], data["ss"], data["log_var_ref"]
    v = 2 * jnp.log(sigma) - log_ref
    e = jnp.expm1(-v)
    q = ss * jnp.exp(-log_ref)
    return -0.5 * (n * (v + e) + (q - n) * e) - n * (ybar - mu) ** 2 / (2 * sigma**2)


def cell_loglik_constant(dist_y, data):
    """The constant of the data that :func:`cell_loglik` leaves out (0 for other families).

    ``cell_loglik + cell_loglik_constant`` is the exact log-likelihood of the
    cell's observations (on the internal scale).
    """
    if not FAMILIES[dist_y].collapsible:
        return jnp.zeros(jnp.shape(data["n"]))
    n, log_ref = data["n"], data["log_var_ref"]
    return -0.5 * n * (math.log(2 * math.pi) + log_ref) - 0.5 * data["ss"] * jnp.exp(-log_ref)


def cell_loglik(dist_y, mu, data, params):
    """Log-likelihood of every cell (0 for padding cells).

    For collapsible families a cell holds ``n`` observations summarized by
    their mean ``ybar`` and within-cell sum of squares ``ss`` (centered on the
    cell mean, so nothing is lost in float32); the result plus
    :func:`cell_loglik_constant` equals the sum of the per-observation normal
    log densities. For the others a cell is one observation ``ybar`` with
    weight ``n`` (1, or 0 for padding).
    """
    family = FAMILIES[dist_y]
    if family.collapsible:
        return _normal_cells(mu, data, params["sigma"])
    safe_y = jnp.where(data["n"] > 0, data["ybar"], family.pad_value)
    lp = observation_dist(dist_y, mu, params).log_prob(safe_y)
    return jnp.where(data["n"] > 0, lp, 0.0)


def expected_value(dist_y, mu, params):
    """Mean of y given the linear predictor, on the internal scale of y."""
    return _INVERSE_LINKS[FAMILIES[dist_y].link](mu)


def observation_variance(dist_y, mean, params):
    """Variance of y given its mean, on the internal scale of y."""
    return _VARIANCES[dist_y](mean, params)
