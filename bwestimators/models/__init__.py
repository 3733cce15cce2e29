"""numpyro model functions and likelihoods (import jax; loaded lazily by the estimators)."""

from bwestimators import _numpyro  # noqa: F401 - first: loads numpyro safely next to ArviZ
from bwestimators._configs import MeansConfig, SlopeConfig
from bwestimators._families import LIKELIHOODS
from bwestimators.models._likelihoods import (
    cell_loglik,
    cell_loglik_constant,
    expected_value,
    observation_dist,
    observation_variance,
    sample_likelihood_params,
)
from bwestimators.models._slope import (
    means_linear_predictor,
    means_model,
    slope_linear_predictor,
    slope_model,
)

__all__ = [
    "LIKELIHOODS",
    "MeansConfig",
    "SlopeConfig",
    "cell_loglik",
    "cell_loglik_constant",
    "expected_value",
    "means_linear_predictor",
    "means_model",
    "observation_dist",
    "observation_variance",
    "sample_likelihood_params",
    "slope_linear_predictor",
    "slope_model",
]
