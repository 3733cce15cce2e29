"""``diagnostics`` against arviz_stats 1.x, the reference, to a relative 1e-6."""

import warnings

import numpy as np
import pytest
from arviz_stats.base import array_stats
from scipy.stats import rankdata

from bwestimators._diagnostics import _ranks, diagnostics

RTOL = 1e-6


def _arviz(draws):
    """ArviZ's bulk ESS, tail ESS (Stan's 5 % / 95 % quantiles) and rank R-hat.

    ``draws`` has shape (chains, draws, k), as :func:`diagnostics` takes.
    """
    moved = np.moveaxis(draws, (0, 1), (-2, -1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return (
            array_stats.ess(moved, method="bulk"),
            array_stats.ess(moved, method="tail", prob=(0.05, 0.95)),
            array_stats.rhat(moved),
        )


def _assert_matches_arviz(draws, **kwargs):
    ours = diagnostics(draws, **kwargs)
    for name, got, want in zip(("ess_bulk", "ess_tail", "r_hat"), ours, _arviz(draws), strict=True):
        np.testing.assert_allclose(got, want, rtol=RTOL, err_msg=name)
    return ours


def _ar1(rng, m, n, phi):
    """``m`` stationary AR(1) chains of ``n`` draws, one parameter per coefficient in ``phi``."""
    phi = np.asarray(phi, dtype=float)
    e = rng.normal(size=(m, n, phi.size))
    x = np.empty_like(e)
    x[:, 0] = e[:, 0] / np.sqrt(1 - phi**2)
    for t in range(1, n):
        x[:, t] = phi * x[:, t - 1] + e[:, t]
    return x


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
    _assert_matches_arviz(chains)


@pytest.mark.parametrize("n_draws", [1000, 301])
def test_independent_draws_match_arviz(n_draws):
    """ESS above the number of draws: Geyer's final even autocorrelation term counts."""
    x = np.random.default_rng(10).normal(size=(4, n_draws, 12))
    bulk, tail, _ = _assert_matches_arviz(x)
    assert np.any(bulk > x.shape[0] * x.shape[1])
    assert np.any(tail > x.shape[0] * x.shape[1])


@pytest.mark.parametrize("n_draws", [500, 251])
def test_autocorrelated_draws_match_arviz(n_draws):
    x = _ar1(np.random.default_rng(11), 4, n_draws, np.linspace(0.9, 0.99, 8))
    bulk, _, _ = _assert_matches_arviz(x)
    assert np.all(bulk < 0.2 * x.shape[0] * x.shape[1])


@pytest.mark.parametrize("n_draws", [200, 201])
def test_constant_draws_match_arviz(n_draws):
    """Constant draws: ESS is the number of (split) draws, R-hat NaN (0 / 0), as ArviZ."""
    rng = np.random.default_rng(12)
    x = rng.normal(size=(4, n_draws, 5))
    x[:, :, 0] = 1.5  # constant everywhere
    x[1, :, 1] = 0.3  # constant in one chain, at a value the others reach
    x[2, :, 2] = x[2, 0, 2]  # constant in one chain, at one of its own draws
    x[:, :, 3] = np.arange(4.0)[:, None]  # each chain constant, at a different value
    x[:, :, 4] = -2.0  # constant, negative
    bulk, tail, rhat = _assert_matches_arviz(x)
    size = 4 * 2 * (n_draws // 2)
    np.testing.assert_array_equal(bulk[[0, 4]], size)
    np.testing.assert_array_equal(tail[[0, 4]], size)
    assert np.all(np.isnan(rhat[[0, 4]]))
    assert np.all(bulk[1:4] > 0)
    assert np.all(tail[1:4] > 0)


def test_heavy_tailed_draws_match_arviz():
    rng = np.random.default_rng(13)
    x = np.concatenate(
        [rng.standard_cauchy(size=(4, 400, 6)), rng.standard_t(1, size=(4, 400, 6))], axis=-1
    )
    x[:, :, 0] = _ar1(rng, 4, 400, [0.95])[..., 0] ** 5  # autocorrelated and heavy-tailed
    _assert_matches_arviz(x)


@pytest.mark.parametrize("n_draws", [400, 401])
def test_single_chain_matches_arviz(n_draws):
    """One chain: ESS of its two halves, as ArviZ; R-hat is NaN (ArviZ needs 2 chains)."""
    rng = np.random.default_rng(14)
    x = np.concatenate(
        [rng.normal(size=(1, n_draws, 3)), _ar1(rng, 1, n_draws, [0.9, 0.95, 0.99])], axis=-1
    )
    _, _, rhat = _assert_matches_arviz(x)
    assert np.all(np.isnan(rhat))


@pytest.mark.parametrize("n_chains", [2, 3, 7])
def test_odd_draws_and_other_chain_counts_match_arviz(n_chains):
    rng = np.random.default_rng(15)
    x = np.concatenate(
        [rng.normal(size=(n_chains, 97, 3)), _ar1(rng, n_chains, 97, [0.5, 0.9, 0.97])], axis=-1
    )
    x[0, :, 1] += 1.0  # a stuck chain
    _assert_matches_arviz(x, chunk=4)


@pytest.mark.parametrize("n_draws", [2, 3, 4, 5, 6, 7, 9])
def test_few_draws_match_arviz(n_draws):
    """Fewer than 4 draws give NaN, as ArviZ."""
    x = np.random.default_rng(16).normal(size=(4, n_draws, 20))
    _assert_matches_arviz(x)


def test_discrete_draws_match_arviz():
    """Many ties (a discrete parameter): the averaged ranks give ArviZ's numbers."""
    rng = np.random.default_rng(4)
    x = np.concatenate(
        [
            rng.integers(0, 3, size=(4, 300, 2)).astype(float),
            rng.integers(0, 2, size=(4, 301, 2)).astype(float)[:, :300],
            (rng.random(size=(4, 300, 2)) < 0.03).astype(float),  # rare events: tail ties
            # half -1, half +1: the folded draws are constant, their R-hat NaN, and ArviZ
            # (Python's max) keeps the bulk R-hat
            rng.permuted(np.repeat([-1.0, 1.0], 600)).reshape(4, 300, 1),
        ],
        axis=-1,
    )
    _, _, rhat = _assert_matches_arviz(x)
    assert np.isfinite(rhat[-1])


@pytest.mark.parametrize(
    "chains",
    [
        # one chain (two halves): rho_2 + rho_3 is -1.1e-16 in ArviZ's arithmetic (0 with
        # an FFT of another length), the sequence stops there: both ESS change by 7 to 20 %
        ["11111011000001011101100111"],
        # one chain: rho_4 + rho_5 == 0 exactly with rho_4 < 0, which ArviZ keeps in the sum
        ["101000010100101110101100000000000010"],
        # four chains (eight halves): the mean over the chains of each autocovariance must
        # be summed in numpy's order for a 1-d array (pairwise from 8 terms on)
        ["00000001010000", "00000000000100", "00000000100010", "11100011000100"],
    ],
)
def test_exact_cancellations_match_arviz(chains):
    """Binary draws whose autocorrelations cancel exactly: the same arithmetic as ArviZ."""
    x = np.array([[float(c) for c in chain] for chain in chains])
    _assert_matches_arviz(np.stack([x, 5 * x + 2, 3 * x - 1, 1 - x], axis=-1))


def test_tail_uses_stan_quantiles():
    """The tail ESS is Stan's (5 % and 95 %), not ArviZ's default ``ci_prob`` (0.89: 11 %, 89 %)."""
    x = _ar1(np.random.default_rng(17), 4, 300, np.linspace(0.3, 0.9, 10))
    moved = np.moveaxis(x, (0, 1), (-2, -1))
    tail = diagnostics(x)[1]
    np.testing.assert_allclose(tail, array_stats.ess(moved, method="tail", prob=0.05), rtol=RTOL)
    other = array_stats.ess(moved, method="tail", prob=(0.11, 0.89))
    assert np.max(np.abs(tail - other) / other) > 1e-3


def test_nan_draws_give_nan():
    """A parameter with a NaN draw gets NaN for all three, as ArviZ; the others are unchanged."""
    x = np.random.default_rng(18).normal(size=(4, 100, 3))
    clean = diagnostics(x)
    x[2, 50, 1] = np.nan
    result = _assert_matches_arviz(x)
    for got, want in zip(result, clean, strict=True):
        assert np.isnan(got[1])
        np.testing.assert_array_equal(got[[0, 2]], want[[0, 2]])


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
    y = rng.normal(size=(3, 40))  # no ties at all
    np.testing.assert_array_equal(_ranks(y), rankdata(y, axis=-1, method="average"))


def test_chunks_do_not_change_the_numbers(chains):
    whole = diagnostics(chains, chunk=100)
    for part, full in zip(diagnostics(chains, chunk=2), whole, strict=True):
        np.testing.assert_allclose(part, full, rtol=1e-12)


@pytest.mark.parametrize("threads", ["1", "2", "3"])
def test_threads_do_not_change_the_numbers(chains, monkeypatch, threads):
    """Blocks of parameters computed in threads: bitwise the numbers of one block, in order."""
    rng = np.random.default_rng(5)
    # many parameters, with ties (rounded draws) and a constant one, enough to use threads
    x = np.concatenate(
        [np.repeat(chains, 4, axis=-1), np.round(rng.normal(size=(4, 500, 5)), 1)], axis=-1
    )
    x[..., -1] = 1.0
    monkeypatch.setenv("BWESTIMATORS_NUM_THREADS", threads)
    got = diagnostics(x)
    monkeypatch.setenv("BWESTIMATORS_NUM_THREADS", "1")
    whole = diagnostics(x, chunk=1000)
    for part, full in zip(got, whole, strict=True):
        np.testing.assert_array_equal(part, full)
    _assert_matches_arviz(x[..., :8])
