import numpy as np
import pytest
from arviz_stats.base import array_stats
from scipy.stats import rankdata

from bwestimators._diagnostics import _ranks, diagnostics


@pytest.fixture(scope="module")
def chains():
    """AR(1) chains with autocorrelation from 0 to 0.95, one chain shifted."""
    rng = np.random.default_rng(0)
    k, m, n = 6, 4, 500
    phi = np.linspace(0, 0.95, k)
    x = np.zeros((m, n, k))
    e = rng.normal(size=(m, n, k))
    for t in range(1, n):
        x[:, t] = phi * x[:, t - 1] + e[:, t]
    x[1] += 0.1
    return x


def test_matches_arviz(chains):
    bulk, tail, rhat = diagnostics(chains)
    moved = np.moveaxis(chains, (0, 1), (-2, -1))
    np.testing.assert_allclose(bulk, array_stats.ess(moved, method="bulk"), rtol=0.01)
    np.testing.assert_allclose(tail, array_stats.ess(moved, method="tail", prob=0.05), rtol=0.03)
    np.testing.assert_allclose(rhat, array_stats.rhat(moved), rtol=1e-6)


def test_independent_draws_have_full_ess():
    x = np.random.default_rng(1).normal(size=(4, 1000, 3))
    bulk, _, rhat = diagnostics(x)
    assert np.all(bulk > 3000)
    assert np.all(rhat < 1.01)


def test_stuck_chain_has_high_rhat():
    x = np.random.default_rng(2).normal(size=(4, 500, 1))
    x[0] += 3
    assert diagnostics(x)[2][0] > 1.1


def test_ranks_average_ties_like_scipy():
    rng = np.random.default_rng(3)
    x = np.vstack([rng.normal(size=40), rng.integers(0, 4, size=40), np.full(40, 2.0)])
    np.testing.assert_array_equal(_ranks(x), rankdata(x, axis=-1, method="average"))


def test_chunks_do_not_change_the_numbers(chains):
    whole = diagnostics(chains, chunk=100)
    for part, full in zip(diagnostics(chains, chunk=2), whole, strict=True):
        np.testing.assert_allclose(part, full, rtol=1e-12)


def test_discrete_draws_match_arviz():
    """Many ties (a discrete parameter): the averaged ranks give ArviZ's R-hat."""
    x = np.random.default_rng(4).integers(0, 3, size=(4, 300, 2)).astype(float)
    moved = np.moveaxis(x, (0, 1), (-2, -1))
    np.testing.assert_allclose(diagnostics(x)[2], array_stats.rhat(moved), rtol=1e-6)
