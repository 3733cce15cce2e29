import numpy as np
import pytest
from arviz_stats.base import array_stats

from bwestimators._hdi import hdi


def _arviz(flat, prob):
    return np.asarray(array_stats.hdi(np.moveaxis(flat, 0, -1), prob, axis=-1))


@pytest.mark.parametrize("prob", [0.5, 0.89, 0.94, 0.999, 1.0])
@pytest.mark.parametrize("n", [1, 2, 7, 1000])
def test_matches_arviz(prob, n):
    rng = np.random.default_rng(n)
    flat = np.column_stack(
        [
            rng.normal(size=n),
            rng.gamma(0.5, size=n),  # skewed: the HDI is not the central interval
            rng.integers(0, 3, size=n).astype(float),  # ties: the first narrowest interval
            np.full(n, 2.5),
        ]
    )
    np.testing.assert_array_equal(hdi(flat, prob), _arviz(flat, prob))


def test_nan_draws_match_arviz():
    flat = np.random.default_rng(0).normal(size=(50, 2))
    flat[3, 0] = np.nan
    np.testing.assert_array_equal(hdi(flat, 0.9), _arviz(flat, 0.9))


def test_skewed_interval_is_the_narrowest():
    """Exponential draws: the 90 % HDI starts at the smallest draw, far left of the 5 % quantile."""
    x = np.random.default_rng(1).exponential(size=(20_000, 1))
    lower, upper = hdi(x, 0.9)[0]
    assert lower == x.min()
    assert upper == pytest.approx(-np.log(0.1), rel=0.03)  # the exact 90 % HDI is [0, ln 10]
