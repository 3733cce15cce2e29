"""Likelihoods on cells (sufficient statistics) and on single observations.

All functions take the linear predictor ``mu`` (on the model's internal
scale: standardized y for normal and student, standardized log y for
lognormal, the log of the mean for gamma, poisson, negative_binomial and
exponential, the logit for bernoulli).
"""

import math

import jax.numpy as jnp
import numpyro.distributions as dist

from bwestimators._bayes import _COLLAPSIBLE as COLLAPSIBLE


def _normal_cells(mu, data, sigma):
    n, ybar, ss = data["n"], data["ybar"], data["ss"]
    return -0.5 * n * jnp.log(2 * math.pi * sigma**2) - (ss + n * (ybar - mu) ** 2) / (2 * sigma**2)


def observation_dist(dist_y, mu, params):
    """The numpyro distribution of one observation given the linear predictor."""
    if dist_y in ("normal", "lognormal"):
        return dist.Normal(mu, params["sigma"])
    if dist_y == "student":
        return dist.StudentT(params["nu"], mu, params["sigma"])
    if dist_y == "gamma":
        return dist.Gamma(params["shape"], params["shape"] * jnp.exp(-mu))
    if dist_y == "poisson":
        return dist.Poisson(jnp.exp(mu))
    if dist_y == "negative_binomial":
        return dist.NegativeBinomial2(jnp.exp(mu), params["phi"])
    if dist_y == "exponential":
        return dist.Exponential(jnp.exp(-mu))
    if dist_y == "bernoulli":
        return dist.BernoulliLogits(mu)
    raise ValueError(f"unknown dist_y {dist_y!r}")


def cell_loglik(dist_y, mu, data, params):
    """Log-likelihood of every cell (0 for padding cells).

    For the normal and lognormal likelihoods a cell holds ``n`` observations
    summarized by their mean ``ybar`` and within-cell sum of squares ``ss``;
    the result equals the sum of the per-observation normal log densities.
    For the others a cell is one observation ``ybar`` with weight ``n`` (1, or
    0 for padding).
    """
    if dist_y in COLLAPSIBLE:
        return _normal_cells(mu, data, params["sigma"])
    safe_y = jnp.where(data["n"] > 0, data["ybar"], _SAFE_VALUE[dist_y])
    lp = observation_dist(dist_y, mu, params).log_prob(safe_y)
    return jnp.where(data["n"] > 0, lp, 0.0)


_SAFE_VALUE = {
    "student": 0.0,
    "gamma": 1.0,
    "poisson": 0.0,
    "negative_binomial": 0.0,
    "exponential": 1.0,
    "bernoulli": 0.0,
}


def expected_value(dist_y, mu, params):
    """Mean of y given the linear predictor, on the internal scale of y."""
    if dist_y in ("normal", "student", "lognormal"):
        return mu
    if dist_y == "bernoulli":
        return 1.0 / (1.0 + jnp.exp(-mu))
    return jnp.exp(mu)


def observation_variance(dist_y, mean, params):
    """Variance of y given its mean, on the internal scale of y."""
    if dist_y in ("normal", "lognormal"):
        return jnp.broadcast_to(params["sigma"] ** 2, jnp.shape(mean))
    if dist_y == "student":
        nu = params["nu"]
        return jnp.where(nu > 2, params["sigma"] ** 2 * nu / jnp.maximum(nu - 2, 1e-12), jnp.inf)
    if dist_y == "gamma":
        return mean**2 / params["shape"]
    if dist_y == "poisson":
        return mean
    if dist_y == "negative_binomial":
        return mean + mean**2 / params["phi"]
    if dist_y == "exponential":
        return mean**2
    if dist_y == "bernoulli":
        return mean * (1 - mean)
    raise ValueError(f"unknown dist_y {dist_y!r}")
