"""Rank-normalized split R-hat and bulk/tail effective sample sizes, vectorized over parameters.

The definitions of Vehtari, Gelman, Simpson, Carpenter and Bürkner (2021),
"Rank-normalization, folding, and localization: an improved R-hat", computed for
many parameters at once with numpy (ArviZ loops over parameters, which dominated
the cost of a small fit). The numbers are those of arviz_stats 1.x, step by step:

* bulk ESS is ``array_stats.ess(..., method="bulk")``;
* tail ESS is ``array_stats.ess(..., method="tail", prob=(0.05, 0.95))``, Stan's
  definition with the 5 % and 95 % quantiles (numpy's default "linear" quantiles,
  of all draws before splitting). ArviZ's own default for ``prob`` on labelled data
  (``azs.ess(da, method="tail")``) is ``rcParams["stats.ci_prob"]``, 0.89, that is the
  11 % and 89 % quantiles, which is *not* used here;
* R-hat is ``array_stats.rhat(...)`` (method ``"rank"``): NaN for a single chain.

Special cases follow ArviZ too: draws that are constant (to ``np.finfo(float).resolution``)
after the transformation get an ESS equal to the number of draws, a parameter with a NaN
draw gets NaN for all three, and fewer than 4 draws give NaN. Tests check the numbers
against arviz_stats to a relative 1e-6.
"""

import functools

import numpy as np
from scipy import fft, special

_RESOLUTION = np.finfo(float).resolution


def _split(x):
    """Split every chain in two halves, dropping the middle draw of an odd count.

    Parameters
    ----------
    x : ndarray of shape (k, chains, draws)

    Returns
    -------
    ndarray of shape (k, 2 * chains, draws // 2)
    """
    half = x.shape[-1] // 2
    first, second = x[..., :half], x[..., x.shape[-1] - half :]
    return np.concatenate([first, second], axis=-2)


def _sorted_ranks(flat):
    """Sort each row and find the averaged rank of every sorted position.

    Parameters
    ----------
    flat : ndarray of shape (k, n)

    Returns
    -------
    order : ndarray of shape (k, n)
        ``np.argsort(flat, axis=-1)``.
    ordered : ndarray of shape (k, n)
        The sorted rows.
    twice : ndarray of int of shape (k, n)
        ``2 * rank - 2`` of each sorted position, where a tie group gets the mean of
        its first and last (1-based) position, as ``rankdata(method="average")``.
    """
    k, n = flat.shape
    order = np.argsort(flat, axis=-1)
    # np.take_along_axis, through flat positions (faster)
    ordered = np.ravel(flat)[(order + _row_offsets(k, n)).ravel()].reshape(k, n)
    new = np.empty((k, n), dtype=bool)
    new[:, :1] = True
    np.not_equal(ordered[:, 1:], ordered[:, :-1], out=new[:, 1:])
    position = np.arange(n)
    if new.all():
        # no ties: the rank of sorted position i (0-based) is i + 1
        return order, ordered, np.broadcast_to(2 * position, (k, n))
    # each position's tie group: its first position (a running maximum over the group
    # starts) and its last (a running minimum from the right over the group ends)
    first = np.maximum.accumulate(np.where(new, position, 0), axis=-1)
    last_in_group = np.empty((k, n), dtype=bool)
    last_in_group[:, -1] = True
    last_in_group[:, :-1] = new[:, 1:]
    last = np.minimum.accumulate(np.where(last_in_group, position, n - 1)[:, ::-1], axis=-1)
    return order, ordered, first + last[:, ::-1]


def _row_offsets(k, n):
    """The flat position of the first element of each row of a (k, n) array, (k, 1)."""
    return np.arange(0, k * n, n)[:, None]


def _ranks(flat):
    """Ranks (1-based, ties averaged) of each row of a 2-d array, as ``rankdata(method="average")``.

    Parameters
    ----------
    flat : ndarray of shape (k, n)

    Returns
    -------
    ndarray of shape (k, n)
        One argsort per row; a tie group gets the mean of its first and last position.
    """
    order, _, twice = _sorted_ranks(flat)
    ranks = np.empty(flat.shape)
    np.put_along_axis(ranks, order, twice / 2 + 1, axis=-1)
    return ranks


@functools.lru_cache(maxsize=8)
def _normal_scores(size):
    """``ndtri((rank - 3/8) / (size + 1/4))`` of each possible rank of ``size`` draws.

    Indexed by ``2 * rank - 2`` (ranks of ties are halves); read-only, cached per size.
    """
    # rank r = i / 2 + 1 for i = 2 * r - 2 = 0, ..., 2 * size - 2
    table = special.ndtri((np.arange(2 * size - 1) / 2 + 1 - 0.375) / (size + 0.25))
    table.flags.writeable = False
    return table


def _z_scale(x):
    """Rank-normalize each parameter over all its chains and draws.

    ``ndtri((rank - 3/8) / (size + 1/4))`` (Blom), as ArviZ's ``_z_scale``; the normal
    quantile is computed once per possible rank and looked up.

    Parameters
    ----------
    x : ndarray of shape (k, chains, draws)

    Returns
    -------
    z : ndarray of shape (k, chains, draws)
    ordered : ndarray of shape (k, chains * draws)
        The values of each parameter, sorted.
    """
    k, m, n = x.shape
    size = m * n
    order, ordered, twice = _sorted_ranks(x.reshape(k, size))
    z = np.empty(k * size)
    # np.put_along_axis(z, order, table[twice], axis=-1), through flat positions (faster)
    z[(order + _row_offsets(k, size)).ravel()] = _normal_scores(size)[twice].ravel()
    return z.reshape(k, m, n), ordered


def _rhat(x):
    """Split R-hat of already split and transformed draws, per parameter.

    Parameters
    ----------
    x : ndarray of shape (k, chains, draws)

    Returns
    -------
    ndarray of shape (k,)
        ``sqrt((B / W + n - 1) / n)``: NaN when both variances are 0, inf when only the
        within-chain one is.
    """
    n = x.shape[-1]
    between = n * x.mean(axis=-1).var(axis=-1, ddof=1)
    within = x.var(axis=-1, ddof=1).mean(axis=-1)
    return np.sqrt((between / within + n - 1) / n)


def _ess(x):
    """ESS of already split draws by Geyer's initial monotone sequence, per parameter.

    The estimator of ArviZ's (and Stan's) ``_ess``: the autocorrelations are summed in
    pairs ``P_j = rho_2j + rho_2j+1`` up to the first non-positive pair ``J`` (or the
    last pair evaluated, ``(draws - 3) // 2``), made monotone, and the even term
    ``rho_2J`` of the stopping pair is added once (when positive or when the pair is 0).
    ``tau`` is bounded below by ``1 / log10(size)``.

    Parameters
    ----------
    x : ndarray of shape (k, chains, draws)
        At least 2 chains and 2 draws.

    Returns
    -------
    ndarray of shape (k,)
        ``size`` for constant draws, NaN where the autocorrelations are undefined.
    """
    k, m, n = x.shape
    size = m * n
    # The operations of ArviZ's autocov and _ess, in the same order and with the same FFT
    # (numpy's, of length next_fast_len(2n)), so that the autocorrelations are bitwise the
    # same: exact cancellations (rho_2j + rho_2j+1 == 0 up to rounding, which happens with
    # discrete or indicator draws) then stop the sequence at the same pair.
    centered = x - x.mean(axis=-1, keepdims=True)
    fft_len = fft.next_fast_len(2 * n, real=True)
    f = np.fft.rfft(centered, n=fft_len, axis=-1)
    f *= np.conjugate(f)
    acov = np.fft.irfft(f, n=fft_len, axis=-1)[..., :n]
    acov /= n
    # the mean over chains of each lag as numpy sums a 1-d array: along a contiguous last axis
    acov_mean = np.ascontiguousarray(acov.transpose(0, 2, 1)).mean(axis=-1)
    mean_var = acov_mean[:, 0] * n / (n - 1.0)
    var_plus = mean_var * (n - 1.0) / n
    if m > 1:
        var_plus = var_plus + x.mean(axis=-1).var(axis=-1, ddof=1)
    rho = 1.0 - (mean_var[:, None] - acov_mean) / var_plus[:, None]
    rho[:, 0] = 1.0
    last = max((n - 3) // 2, 0)
    pairs = rho[:, 0 : 2 * last + 1 : 2] + rho[:, 1 : 2 * last + 2 : 2]
    stops = ~(pairs > 0)
    stop = np.where(stops.any(axis=-1), stops.argmax(axis=-1), last)
    monotone = np.minimum.accumulate(pairs, axis=-1)
    kept = np.where(np.arange(last + 1) < stop[:, None], monotone, 0.0).sum(axis=-1)
    rows = np.arange(k)
    even = rho[rows, 2 * stop]
    final = np.where((even > 0) | (pairs[rows, stop] >= 0), even, 0.0)
    tau = np.maximum(-1.0 + 2.0 * kept + final, 1.0 / np.log10(size))
    ess = np.where(np.isnan(rho[:, 1]), np.nan, size / tau)
    constant = x.max(axis=(1, 2)) - x.min(axis=(1, 2)) < _RESOLUTION
    return np.where(constant, float(size), ess)


def diagnostics(draws, chunk=256):
    """Bulk ESS, tail ESS and rank-normalized R-hat of every parameter.

    Parameters
    ----------
    draws : ndarray of shape (n_chains, n_draws, k)
    chunk : int, default=256
        Parameters computed together (blocks that stay in the CPU cache). The
        blocks are shared out over :func:`bwestimators._threads.num_threads`
        threads (smaller blocks when there are fewer parameters than
        ``chunk`` per thread); the numbers do not depend on the blocks.

    Returns
    -------
    ess_bulk, ess_tail, r_hat : ndarray of shape (k,)
        As arviz_stats' ``array_stats.ess(method="bulk")``,
        ``array_stats.ess(method="tail", prob=(0.05, 0.95))`` and ``array_stats.rhat``.
        ``r_hat`` is NaN for a single chain; all three are NaN for a parameter with a
        NaN draw, or when there are fewer than 4 draws.
    """
    from bwestimators._threads import num_threads, run_all

    x = np.moveaxis(np.asarray(draws, dtype=float), -1, 0)
    if x.shape[-1] < 4:
        return tuple(np.full(x.shape[0], np.nan) for _ in range(3))
    k = x.shape[0]
    # threads pay off from a few tens of thousands of values
    threads = min(num_threads(), max(x.size // _VALUES_PER_THREAD, 1))
    size = max(min(chunk, -(-k // threads)), 1)

    def block(start):
        with np.errstate(invalid="ignore", divide="ignore"):  # numpy's state is per thread
            return _diagnostics(x[start : start + size])

    parts = run_all(block, range(0, max(k, 1), size), threads=threads)
    return tuple(np.concatenate(p) for p in zip(*parts, strict=True))


#: The fewest values (parameters x chains x draws) worth a thread of their own.
_VALUES_PER_THREAD = 20_000


def _diagnostics(x):
    """:func:`diagnostics` of (k, chains, draws).

    Parameters
    ----------
    x : ndarray of shape (k, chains, draws)

    Returns
    -------
    ess_bulk, ess_tail, r_hat : ndarray of shape (k,)
    """
    k, m, n = x.shape
    split = _split(x)
    z_split, ordered = _z_scale(split)
    # the split draws hold the same values as all draws when the count is even
    whole = ordered if n % 2 == 0 else x.reshape(k, -1)
    lo, hi = np.quantile(whole, [0.05, 0.95], axis=-1)
    ess_bulk = _ess(z_split)
    ess_lo = _ess(_split((x <= lo[:, None, None]).astype(float)))
    ess_hi = _ess(_split((x <= hi[:, None, None]).astype(float)))
    # Python's min(ess_lo, ess_hi), as ArviZ
    ess_tail = np.where(ess_hi < ess_lo, ess_hi, ess_lo)
    if m > 1:
        # np.median of the split draws, from their sorted values (an even count)
        half = ordered.shape[-1] // 2
        median = (ordered[:, half - 1] + ordered[:, half]) / 2
        folded = np.abs(split - median[:, None, None])
        rhat_bulk = _rhat(z_split)
        rhat_tail = _rhat(_z_scale(folded)[0])
        # Python's max(rhat_bulk, rhat_tail), as ArviZ: NaN only when rhat_bulk is
        r_hat = np.where(rhat_tail > rhat_bulk, rhat_tail, rhat_bulk)
    else:
        r_hat = np.full(k, np.nan)
    bad = np.isnan(x).any(axis=(1, 2))
    if bad.any():
        ess_bulk, ess_tail, r_hat = (np.where(bad, np.nan, v) for v in (ess_bulk, ess_tail, r_hat))
    return ess_bulk, ess_tail, r_hat
