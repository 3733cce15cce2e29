"""Fake spike trains and fake LFP power with a known stimulation effect.

Spikes are drawn from an inhomogeneous Poisson process by thinning, for all
trials of all neurons at once with numpy.
"""

import difflib
import inspect
import logging
import numbers
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
import pandas as pd

from bwestimators.exceptions import InputError, InputTypeError

logger = logging.getLogger(__name__)

#: Most events (spikes) one trial may expect: more is a mistake in the units
#: (the rates are in Hz) and would exhaust the memory rather than fail.
_MAX_EVENTS_PER_TRIAL = 1e8


class FakeData(NamedTuple):
    """What a generator returns; unpacks as ``df, df_monster, index_cols, firing_rates``.

    Attributes
    ----------
    df : DataFrame
        One row per trial: the data to fit.
    df_monster : DataFrame
        One row per event (spike, oscillation cycle): the all-samples version.
    index_cols : list of str
        The columns that identify a trial.
    firing_rates : DataFrame
        The generating rates per trial, before noise.

    Examples
    --------
    >>> from bwestimators.datasets import generate_fake_lfp
    >>> df, df_monster, index_cols, rates = generate_fake_lfp(n_trials=5, random_state=0)
    >>> len(df) < len(df_monster), index_cols[:2]
    (True, ['mouse', 'stim'])
    """

    df: pd.DataFrame
    df_monster: pd.DataFrame
    index_cols: list
    firing_rates: pd.DataFrame


# ---- argument checks: a wrong argument is an InputError that names it, raised
# before anything is drawn (valid arguments draw exactly the same numbers) ----


def _check_count(name, value, what, minimum=1):
    """``value`` is an integer >= ``minimum``; ``what`` says what it counts."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputTypeError(f"{name} must be an integer ({what}), got {value!r}.")
    if value < minimum:
        raise InputError(f"{name} must be at least {minimum} ({what}), got {value!r}.")


def _check_real(name, value, what, *, positive=False, non_negative=False):
    """``value`` is a finite real number (> 0 or >= 0 where asked)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputTypeError(f"{name} must be a number ({what}), got {value!r}.")
    if not np.isfinite(value):
        raise InputError(f"{name} must be a finite number ({what}), got {value!r}.")
    if positive and not value > 0:
        raise InputError(f"{name} must be > 0 ({what}), got {value!r}.")
    if non_negative and value < 0:
        raise InputError(f"{name} must be >= 0 ({what}; 0 for none), got {value!r}.")


def _rate_args(
    slowest_fr, fastest_fr, dur, time_randomness, trial_baseline_randomness, exact_null=True
):
    return {
        "floor": _stim_floor(slowest_fr, exact_null),
        "slowest_fr": slowest_fr,
        "fastest_fr": fastest_fr,
        "dur": dur,
        "time_randomness": time_randomness,
        "trial_baseline_randomness": trial_baseline_randomness,
    }


def _stim_floor(slowest_fr, exact_null):
    """The stimulated rate of the slowest unit at response 0: ``slowest_fr`` for an exact
    null, ``slowest_fr + 0.1`` as in bayes-window."""
    return slowest_fr if exact_null else slowest_fr + 0.1


def _check_rates(args, responses, label, where=None, note=""):
    """The rates of the spike process: positive stimulated rates, a sane event count.

    ``responses`` are the stimulation responses (Hz) of the mice, made of the
    arguments as ``label`` says; ``where(i)`` names response ``i``.
    """
    floor = args["floor"]
    lowest = int(np.argmin(responses))
    if not floor + responses[lowest] > 0:
        at = f" {where(lowest)}" if where else ""
        first = "slowest_fr" if floor == args["slowest_fr"] else "slowest_fr + 0.1"
        raise InputError(
            f"{label} must be above -({first}) = {-floor:g} Hz, so that the "
            f"stimulated rate {first} + response stays positive; got "
            f"{responses[lowest]:g}{at}{note}."
        )
    dur = args["dur"]
    top = (
        max(args["slowest_fr"], args["fastest_fr"], floor + float(np.max(responses)))
        + args["time_randomness"]
        + 4 * args["trial_baseline_randomness"]
    )
    if top * dur > _MAX_EVENTS_PER_TRIAL:
        raise InputError(
            f"rates of up to {top:g} Hz over dur={dur} s would draw about {top * dur:.3g} "
            f"events per trial (at most {_MAX_EVENTS_PER_TRIAL:g}); the rates "
            f"(slowest_fr, fastest_fr, responses, time_randomness) are in Hz{note}."
        )


def _check_common(
    n_trials,
    dur,
    slowest_fr,
    fastest_fr,
    time_randomness,
    trial_baseline_randomness,
    overall_stim_response_strength,
    mouse_response_slope,
):
    _check_count("n_trials", n_trials, "trials per unit and stimulation level")
    _check_count("dur", dur, "trial duration in whole seconds")
    _check_real("slowest_fr", slowest_fr, "a baseline rate, Hz; it is log-spaced", positive=True)
    _check_real("fastest_fr", fastest_fr, "a baseline rate, Hz; it is log-spaced", positive=True)
    _check_real("time_randomness", time_randomness, "a noise amplitude, Hz", non_negative=True)
    _check_real(
        "trial_baseline_randomness",
        trial_baseline_randomness,
        "a noise scale, Hz",
        non_negative=True,
    )
    _check_real("overall_stim_response_strength", overall_stim_response_strength, "a response, Hz")
    _check_real("mouse_response_slope", mouse_response_slope, "a response, Hz")


def _check_spikes_args(
    n_trials,
    n_neurons,
    n_mice,
    dur,
    slowest_fr,
    time_randomness,
    overall_stim_response_strength,
    mouse_response_slope,
    trial_baseline_randomness,
    do_bad_mice,
    fastest_fr,
    exact_null=True,
    note="",
):
    """Check the arguments of :func:`generate_fake_spikes`; InputError naming the wrong one."""
    _check_count("n_mice", n_mice, "mice")
    _check_count("n_neurons", n_neurons, "neurons per mouse")
    _check_common(
        n_trials,
        dur,
        slowest_fr,
        fastest_fr,
        time_randomness,
        trial_baseline_randomness,
        overall_stim_response_strength,
        mouse_response_slope,
    )
    responses = _spike_responses(
        n_mice, overall_stim_response_strength, mouse_response_slope, do_bad_mice
    )
    _check_rates(
        _rate_args(
            slowest_fr, fastest_fr, dur, time_randomness, trial_baseline_randomness, exact_null
        ),
        responses,
        "overall_stim_response_strength + i * mouse_response_slope (the response of mouse i)",
        lambda i: f"for mouse {i}",
        note,
    )


def _check_lfp_args(
    n_trials,
    n_mice,
    dur,
    mouse_response_slope,
    fastest_fr,
    slowest_fr,
    time_randomness,
    overall_stim_response_strength,
    trial_baseline_randomness,
    exact_null=True,
):
    """Check the arguments of :func:`generate_fake_lfp`; InputError naming the wrong one.

    The same arguments as :func:`generate_fake_lfp` but ``random_state``.

    Examples
    --------
    >>> from bwestimators.datasets._generators import _check_lfp_args
    >>> _check_lfp_args(0, 10, 7, 1.0, 38, 7, 10, 0, 0.2)
    Traceback (most recent call last):
    ...
    bwestimators.exceptions.InputError: n_trials must be at least 1 (trials per unit ...
    """
    _check_count("n_mice", n_mice, "mice")
    _check_common(
        n_trials,
        dur,
        slowest_fr,
        fastest_fr,
        time_randomness,
        trial_baseline_randomness,
        overall_stim_response_strength,
        mouse_response_slope,
    )
    response = np.array([overall_stim_response_strength + mouse_response_slope], dtype=float)
    _check_rates(
        _rate_args(
            slowest_fr, fastest_fr, dur, time_randomness, trial_baseline_randomness, exact_null
        ),
        response,
        "overall_stim_response_strength + mouse_response_slope (the response)",
    )


def _spike_args(func, kwargs, taken=None, **args):
    """All arguments of :func:`generate_fake_spikes` but ``random_state``, defaults filled.

    ``kwargs`` are what ``func`` passes on; a name ``func`` sets itself (a key
    of ``taken``, with the argument of ``func`` that sets it) or one
    :func:`generate_fake_spikes` does not take is an InputTypeError.
    """
    taken = taken or {}
    signature = inspect.signature(generate_fake_spikes)
    known = set(signature.parameters) - {"random_state", *args, *taken}
    for key in kwargs:
        if key in taken:
            raise InputTypeError(
                f"{func}() sets {key!r} of generate_fake_spikes from {taken[key]}; "
                f"pass {taken[key]} instead."
            )
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise InputTypeError(
                f"{func}() got an unexpected keyword argument {key!r}; its **kwargs go "
                f"to generate_fake_spikes, which takes {sorted(known)}.{hint}"
            )
    bound = signature.bind(**args, **kwargs)
    bound.apply_defaults()
    spike_args = dict(bound.arguments)
    for key in ("random_state", "verbose", "do_ave_trial"):
        spike_args.pop(key)
    return spike_args


def _rng(random_state):
    """``np.random.default_rng(random_state)``; a bad seed is an InputError."""
    try:
        return np.random.default_rng(random_state)
    except (TypeError, ValueError) as exc:
        error = InputTypeError if isinstance(exc, TypeError) else InputError
        raise error(
            "random_state must be None, an int >= 0, a numpy Generator or SeedSequence, "
            f"got {random_state!r}."
        ) from exc


def _spike_responses(n_mice, overall_stim_response_strength, mouse_response_slope, do_bad_mice):
    """Stimulation response (Hz) of every mouse of :func:`generate_fake_spikes`."""
    response = overall_stim_response_strength + np.arange(n_mice) * mouse_response_slope
    response = np.asarray(response, dtype=float)
    if do_bad_mice:
        response[: n_mice // 2] = 0
    return response


def _rate_profiles(
    base, stim, n_trials, dur, time_randomness, trial_baseline_randomness, rng, exact_null=True
):
    """Per-second firing-rate profiles of every trial.

    Parameters
    ----------
    base, stim : ndarray of shape (n_units,)
        Baseline and stimulated firing rate of each unit (Hz).

    Returns
    -------
    rates : ndarray of shape (n_units, 2, n_trials, dur)
        Axis 1 is the stimulation (0 off, 1 on). A stimulated trial has the
        stimulated rate in its middle half-second bins, and the baseline (plus a
        small random offset) before and after, as in bayes-window. With
        ``exact_null`` the trials without stimulation get the same kind of offset
        in the same bins (their own draws), so that equal base and stim rates
        give the two levels one distribution; without it only stimulated trials
        get one (bayes-window's residual response).
    """
    n_units = len(base)
    rates = np.empty((n_units, 2, n_trials, dur))
    rates[:, 0] = base[:, None, None]
    rates[:, 1] = stim[:, None, None]
    edge_bins = np.zeros(dur, dtype=bool)
    edge_bins[: int(dur / 4 * 2)] = True
    if int(dur / 4) > 0:
        edge_bins[-int(dur / 4) :] = True
    if exact_null:
        offset = np.abs(rng.standard_normal((n_units, 2, n_trials)) * trial_baseline_randomness)
        rates[..., edge_bins] = (base[:, None, None] + offset)[..., None]
    else:
        offset = np.abs(rng.standard_normal((n_units, n_trials)) * trial_baseline_randomness)
        stim_rates = np.broadcast_to(stim[:, None, None], (n_units, n_trials, dur)).copy()
        stim_rates[:, :, edge_bins] = (base[:, None] + offset)[:, :, None]
        rates[:, 1] = stim_rates
    rates = np.where(rates < 0, 0.01, rates)
    rates = rates + time_randomness * rng.random(rates.shape)
    return rates


def _thinned_spikes(rates, rng):
    """Spike times of an inhomogeneous Poisson process with piecewise-constant rates.

    Parameters
    ----------
    rates : ndarray of shape (n_trains, dur)
        Rate in each one-second bin.

    Returns
    -------
    train : ndarray of int
        Index of the spike train of every spike.
    times : ndarray of float
        Spike times in seconds, sorted within each train.
    """
    n_trains, dur = rates.shape
    rmax = rates.max(axis=1)
    n_candidates = rng.poisson(rmax * dur)
    train = np.repeat(np.arange(n_trains), n_candidates)
    times = rng.random(train.size) * dur
    keep = rng.random(train.size) * rmax[train] < rates[train, times.astype(int)]
    train, times = train[keep], times[keep]
    # one float key sorts by train, then time; lexsort (8x slower) where rounding broke it
    order = np.argsort(train * float(dur) + times)
    train_s, times_s = train[order], times[order]
    step = np.diff(train_s)
    if not np.all((step > 0) | ((step == 0) & (np.diff(times_s) >= 0))):
        order = np.lexsort((times, train))
        train_s, times_s = train[order], times[order]
    return train_s, times_s


def _take(frame, rows):
    """Columns of ``frame`` at positions ``rows``, as a dict of arrays (dtypes kept)."""
    index = pd.RangeIndex(len(rows))
    return {
        c: pd.Series(frame[c].array.take(rows), index=index, dtype=frame[c].dtype, copy=False)
        for c in frame.columns
    }


def _simulate(
    base,
    stim,
    unit_frame,
    n_trials,
    dur,
    time_randomness,
    trial_baseline_randomness,
    rng,
    exact_null=True,
):
    """Spike-level and trial-level frames for units with given base and stim rates."""
    n_units = len(base)
    rates = _rate_profiles(
        base, stim, n_trials, dur, time_randomness, trial_baseline_randomness, rng, exact_null
    )
    train, times = _thinned_spikes(rates.reshape(-1, dur), rng)
    unit, stim_on, i_trial = np.unravel_index(train, (n_units, 2, n_trials))

    first = np.r_[True, train[1:] != train[:-1]]
    starts = np.flatnonzero(first)
    i_spike = np.arange(train.size) - np.repeat(starts, np.diff(np.r_[starts, train.size]))
    isi = np.diff(times, prepend=np.nan)
    isi[first] = np.nan

    spike = ~first
    spike_isi = isi[spike]
    counts = np.bincount(train, minlength=n_units * 2 * n_trials)
    sum_isi = np.bincount(train, weights=np.nan_to_num(isi), minlength=counts.size)
    n_isi = np.maximum(counts - 1, 0)
    firing_rate = counts / dur
    spikes = pd.DataFrame(
        {
            **_take(unit_frame, unit[spike]),
            "stim": stim_on[spike].astype("int64"),
            "i_trial": i_trial[spike].astype("int64"),
            "i_spike": i_spike[spike].astype("int64"),
            "spike_time": times[spike],
            "isi": spike_isi,
            "1/isi": 1.0 / spike_isi,
            "log_isi": np.log10(spike_isi),
            "log_1/isi": np.log10(1.0 / spike_isi),
            "firing_rate": firing_rate[train[spike]],
        }
    )
    unit_t, stim_t, trial_t = np.unravel_index(np.arange(counts.size), (n_units, 2, n_trials))
    with np.errstate(divide="ignore", invalid="ignore"):
        trials = pd.DataFrame(
            {
                **_take(unit_frame, unit_t),
                "stim": stim_t.astype("int64"),
                "i_trial": trial_t.astype("int64"),
                "n_spikes": counts.astype("int64"),
                "isi": np.where(n_isi > 0, sum_isi / np.maximum(n_isi, 1), np.nan),
                "firing_rate": firing_rate,
                "log_firing_rate": np.log10(firing_rate),
            }
        )
    return trials, spikes, rates


def generate_fake_spikes(
    n_trials=6,
    n_neurons=8,
    n_mice=10,
    dur=7,
    slowest_fr=7,
    time_randomness=10,
    overall_stim_response_strength=0,
    mouse_response_slope=2.0,
    verbose=False,
    do_ave_trial=False,
    trial_baseline_randomness=0.2,
    do_bad_mice=False,
    fastest_fr=15,
    random_state=None,
    exact_null=True,
):
    """Fake spike trains of neurons in mice, with and without stimulation.

    Mouse ``i`` responds to stimulation with
    ``overall_stim_response_strength + i * mouse_response_slope`` Hz. Its
    neurons have baseline rates log-spaced between ``slowest_fr`` and
    ``fastest_fr``; under stimulation the rates are log-spaced between
    ``slowest_fr + response`` and ``fastest_fr``, so slow neurons respond
    most and the fastest not at all. A stimulated trial carries the response in
    the middle half of the trial (seconds ``[dur/2, dur - dur/4)``); the other
    seconds of every trial get a ``trial_baseline_randomness`` offset; every
    one-second bin gets uniform noise of up to ``time_randomness`` Hz. Spikes
    come from an inhomogeneous Poisson process (thinning), with the same
    parameters and defaults as bayes-window's generator. A response of 0 is an
    exact null (see ``exact_null``).

    Parameters
    ----------
    n_trials : int, default=6
        Trials per neuron and stimulation level.
    n_neurons : int, default=8
        Neurons per mouse.
    n_mice : int, default=10
        Mice.
    dur : int, default=7
        Trial duration in seconds.
    slowest_fr, fastest_fr : float, default=7, 15
        Range of baseline firing rates (Hz).
    time_randomness : float, default=10
        Amplitude of the uniform rate noise per one-second bin (Hz).
    overall_stim_response_strength : float, default=0
        Stimulation response of the first mouse (Hz).
    mouse_response_slope : float, default=2.0
        Increase of the response from one mouse to the next (Hz).
    verbose : bool, default=False
        Log the responses per mouse (``logging`` at INFO level).
    do_ave_trial : bool, default=False
        Average the trial-level frame over trials.
    trial_baseline_randomness : float, default=0.2
        Scale of the random baseline offset of stimulated trials (Hz).
    do_bad_mice : bool, default=False
        Half of the mice do not respond at all.
    random_state : int, numpy Generator or None, default=None
        Seed; the same seed gives identical frames.
    exact_null : bool, default=True
        At response 0 the stimulated trials are drawn exactly as the others: a
        true null. False reproduces bayes-window's generator, whose null is not
        one: stimulated rates start at ``slowest_fr + 0.1`` Hz and only the
        stimulated trials get the ``trial_baseline_randomness`` offset (always
        positive), a residual response (about 0.14 Hz of power in
        :func:`generate_fake_lfp`) that many trials make detectable.

    Returns
    -------
    data : FakeData
        Unpacks as ``df, df_monster, index_cols, firing_rates``. ``df`` has one row
        per trial (``mouse``, ``neuron``, ``neuron_x_mouse``, ``mouse_code``,
        ``neuron_code``, ``stim`` 0/1, ``i_trial``, ``n_spikes``, ``isi`` (mean
        inter-spike interval, s), ``firing_rate`` (spikes per second),
        ``log_firing_rate`` (log10)); ``df_monster`` one row per spike with an
        inter-spike interval (``spike_time``, ``isi``, ``1/isi``, ``log_isi``,
        ``log_1/isi``, ``i_spike`` and the trial's columns); ``index_cols`` the
        columns that identify a trial; ``firing_rates`` the true baseline and
        stimulated rate of every neuron.

    Raises
    ------
    InputError
        Before anything is drawn, naming the argument: a count below 1, a
        non-positive rate, a negative noise scale, a response that would make
        a stimulated rate negative, a value that is not finite;
        :class:`~bwestimators.exceptions.InputTypeError` (also a ``TypeError``)
        for a wrong type, e.g. ``n_trials=2.5``.

    Examples
    --------
    >>> from bwestimators.datasets import generate_fake_spikes
    >>> df, df_monster, index_cols, rates = generate_fake_spikes(
    ...     n_trials=2, n_neurons=3, n_mice=2, random_state=0)
    >>> len(df)
    24
    >>> sorted(df["stim"].unique().tolist())
    [0, 1]
    """
    _check_spikes_args(
        n_trials=n_trials,
        n_neurons=n_neurons,
        n_mice=n_mice,
        dur=dur,
        slowest_fr=slowest_fr,
        time_randomness=time_randomness,
        overall_stim_response_strength=overall_stim_response_strength,
        mouse_response_slope=mouse_response_slope,
        trial_baseline_randomness=trial_baseline_randomness,
        do_bad_mice=do_bad_mice,
        fastest_fr=fastest_fr,
        exact_null=exact_null,
    )
    rng = _rng(random_state)
    response = _spike_responses(
        n_mice, overall_stim_response_strength, mouse_response_slope, do_bad_mice
    )
    if verbose:
        logger.info("Stim response per mouse (Hz): %s", response)
    base = np.logspace(np.log10(slowest_fr), np.log10(fastest_fr), n_neurons)
    base = np.tile(base, (n_mice, 1))
    stim = np.stack(
        [
            np.logspace(
                np.log10(_stim_floor(slowest_fr, exact_null) + r), np.log10(fastest_fr), n_neurons
            )
            for r in response
        ]
    )
    mice = np.array([f"m{i}" for i in range(n_mice)], dtype=object)
    neurons = np.array([str(i) for i in range(n_neurons)], dtype=object)
    units = pd.DataFrame(
        {
            "mouse": np.repeat(mice, n_neurons),
            "neuron": np.tile(neurons, n_mice),
        }
    )
    units["neuron_x_mouse"] = units["mouse"] + " n" + units["neuron"]
    units["mouse_code"] = np.repeat(np.arange(n_mice), n_neurons).astype("int64")
    units["neuron_code"] = pd.Categorical(units["neuron_x_mouse"]).codes.astype("int64")
    trials, spikes, _ = _simulate(
        base.ravel(),
        stim.ravel(),
        units,
        n_trials,
        dur,
        time_randomness,
        trial_baseline_randomness,
        rng,
        exact_null,
    )
    firing_rates = units[["mouse", "neuron"]].copy()
    firing_rates["baseline_rate"] = base.ravel()
    firing_rates["stim_rate"] = stim.ravel()
    index_cols = [
        "mouse",
        "neuron",
        "neuron_x_mouse",
        "mouse_code",
        "neuron_code",
        "stim",
        "i_trial",
    ]
    if do_ave_trial:
        keys = ["mouse", "neuron", "neuron_x_mouse", "mouse_code", "neuron_code", "stim"]
        trials = (
            trials.drop(columns="i_trial")
            .groupby(keys, sort=False, observed=True)
            .mean()
            .reset_index()
        )
        trials["log_firing_rate"] = np.log10(trials["firing_rate"])
    return FakeData(trials, spikes, index_cols, firing_rates)


def generate_fake_lfp(
    n_trials=10,
    n_mice=10,
    dur=7,
    mouse_response_slope=1.0,
    fastest_fr=38,
    slowest_fr=7,
    time_randomness=10,
    overall_stim_response_strength=0,
    trial_baseline_randomness=0.2,
    random_state=None,
    exact_null=True,
):
    """Fake oscillation power per mouse and trial, with and without stimulation.

    The spike process of :func:`generate_fake_spikes` read as power: each mouse
    plays the part of one neuron of a mouse whose response is
    ``overall_stim_response_strength + mouse_response_slope``. Baseline power is
    log-spaced between ``slowest_fr`` and ``fastest_fr`` across mice, and mice
    with a higher baseline respond less (the fastest not at all).

    A response of 0 (``mouse_response_slope=0`` with
    ``overall_stim_response_strength=0``) is an exact null: stimulated and
    other trials have one distribution. ``exact_null=False`` keeps
    bayes-window's residual response of about 0.14 Hz at response 0.

    Parameters
    ----------
    n_trials : int, default=10
        Trials per mouse and stimulation level.
    n_mice : int, default=10
        Number of mice (exactly that many).
    dur : int, default=7
        Trial duration in seconds.
    mouse_response_slope : float, default=1.0
        Stimulation response of the most responsive mouse.
    fastest_fr, slowest_fr : float, default=38, 7
        Range of baseline power across mice.
    time_randomness, overall_stim_response_strength, trial_baseline_randomness :
        As in :func:`generate_fake_spikes`.
    random_state : int, numpy Generator or None, default=None
        Seed; the same seed gives identical frames.
    exact_null : bool, default=True
        As in :func:`generate_fake_spikes`: False reproduces bayes-window's
        generator, with stimulated rates from ``slowest_fr + 0.1`` and an
        offset on the baseline seconds of stimulated trials only.

    Returns
    -------
    data : FakeData
        ``df`` has one row per trial with ``mouse``, ``stim`` (0/1), ``i_trial``,
        ``Power`` and ``Log power`` (log10); ``df_monster`` one row per
        underlying event (``Power`` is the event rate ``1/isi``, ``Log power``
        its log10) with the trial's ``mouse``, ``stim``, ``i_trial``.

    Raises
    ------
    InputError
        Before anything is drawn, naming the argument: a count below 1, a
        non-positive rate, a negative noise scale, a response that would make
        a stimulated rate negative, a value that is not finite;
        :class:`~bwestimators.exceptions.InputTypeError` (also a ``TypeError``)
        for a wrong type, e.g. ``n_trials=2.5``.

    Examples
    --------
    >>> from bwestimators.datasets import generate_fake_lfp
    >>> df, df_monster, _, _ = generate_fake_lfp(n_trials=3, n_mice=4, random_state=0)
    >>> df.columns.tolist()
    ['mouse', 'stim', 'i_trial', 'Power', 'Log power']
    >>> df["mouse"].nunique()
    4
    """
    _check_lfp_args(
        n_trials=n_trials,
        n_mice=n_mice,
        dur=dur,
        mouse_response_slope=mouse_response_slope,
        fastest_fr=fastest_fr,
        slowest_fr=slowest_fr,
        time_randomness=time_randomness,
        overall_stim_response_strength=overall_stim_response_strength,
        trial_baseline_randomness=trial_baseline_randomness,
        exact_null=exact_null,
    )
    rng = _rng(random_state)
    response = overall_stim_response_strength + mouse_response_slope
    base = np.logspace(np.log10(slowest_fr), np.log10(fastest_fr), n_mice)
    floor = _stim_floor(slowest_fr, exact_null)
    stim = np.logspace(np.log10(floor + response), np.log10(fastest_fr), n_mice)
    mice = pd.DataFrame({"mouse": [f"m{i}" for i in range(n_mice)]}, dtype=object)
    trials, spikes, _ = _simulate(
        base, stim, mice, n_trials, dur, time_randomness, trial_baseline_randomness, rng, exact_null
    )
    df = trials[["mouse", "stim", "i_trial"]].copy()
    df["Power"] = trials["firing_rate"]
    df["Log power"] = np.log10(df["Power"])
    monster = spikes[["mouse", "stim", "i_trial"]].copy()
    monster["Power"] = spikes["1/isi"]
    monster["Log power"] = np.log10(monster["Power"])
    firing_rates = mice.copy()
    firing_rates["baseline_rate"] = base
    firing_rates["stim_rate"] = stim
    return FakeData(df, monster, ["mouse", "stim", "i_trial"], firing_rates)


def generate_spikes_stim_types(
    mouse_response_slope=3,
    overall_stim_response_strength=5,
    n_trials=6,
    random_state=None,
    **kwargs,
):
    """Fake spikes with two stimulation types, ``stim_strength`` 1 and 2.

    Stimulation type 2 responds with ``mouse_response_slope`` and
    ``overall_stim_response_strength`` doubled. Each type has its own
    no-stimulation trials, so each ``stim_strength`` is a condition with a 0/1
    ``stim`` treatment.

    Parameters
    ----------
    mouse_response_slope, overall_stim_response_strength, n_trials :
        As in :func:`generate_fake_spikes`, for stimulation type 1.
    random_state : int, numpy Generator or None, default=None
        Seed.
    **kwargs :
        Passed to :func:`generate_fake_spikes`.

    Returns
    -------
    df : DataFrame
        The trial-level frames of both types, with a ``stim_strength`` column.

    Examples
    --------
    >>> from bwestimators.datasets import generate_spikes_stim_types
    >>> df = generate_spikes_stim_types(n_trials=2, n_neurons=2, n_mice=2, random_state=0)
    >>> sorted(df["stim_strength"].unique().tolist())
    [1, 2]
    """
    _check_real("mouse_response_slope", mouse_response_slope, "a response, Hz")
    _check_real("overall_stim_response_strength", overall_stim_response_strength, "a response, Hz")
    for strength in (1, 2):
        args = _spike_args(
            "generate_spikes_stim_types",
            kwargs,
            n_trials=n_trials,
            mouse_response_slope=mouse_response_slope * strength,
            overall_stim_response_strength=overall_stim_response_strength * strength,
        )
        note = "" if strength == 1 else " (stimulation type 2 doubles both responses)"
        _check_spikes_args(**args, note=note)
    rng = _rng(random_state)
    frames = []
    for strength in (1, 2):
        df = generate_fake_spikes(
            n_trials=n_trials,
            mouse_response_slope=mouse_response_slope * strength,
            overall_stim_response_strength=overall_stim_response_strength * strength,
            random_state=rng,
            **kwargs,
        ).df
        df["stim_strength"] = strength
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def generate_spikes_stim_strength(
    overall_stim_response_strengths=range(10),
    mouse_response_slope=0,
    n_trials=6,
    random_state=None,
    **kwargs,
):
    """Fake spikes at several stimulation strengths.

    For every strength ``s`` in ``overall_stim_response_strengths`` the
    stimulated trials respond with ``s`` Hz (plus the mouse slope), and
    ``stim_strength`` is ``s`` for them and 0 for the no-stimulation trials, so
    ``stim_strength`` works as a continuous treatment.

    Parameters
    ----------
    overall_stim_response_strengths : iterable of float, default=range(10)
        Stimulation strengths.
    mouse_response_slope, n_trials :
        As in :func:`generate_fake_spikes`.
    random_state : int, numpy Generator or None, default=None
        Seed.
    **kwargs :
        Passed to :func:`generate_fake_spikes`.

    Returns
    -------
    df : DataFrame
        Trial-level frame with ``stim_strength``; ``i_trial`` is unique per
        strength block.

    Examples
    --------
    >>> from bwestimators.datasets import generate_spikes_stim_strength
    >>> df = generate_spikes_stim_strength([0, 5], n_trials=2, n_neurons=2, n_mice=2,
    ...                                    random_state=0)
    >>> sorted(df["stim_strength"].unique().tolist())
    [0, 5]
    """
    strengths = overall_stim_response_strengths
    if isinstance(strengths, str | bytes) or not isinstance(strengths, Iterable):
        raise InputTypeError(
            "overall_stim_response_strengths must be a list of numbers (Hz), e.g. [0, 5], "
            f"got {strengths!r}."
        )
    strengths = list(strengths)
    if not strengths:
        raise InputError(
            "overall_stim_response_strengths is empty; give at least one strength (Hz), "
            "e.g. [0, 5]."
        )
    for k, strength in enumerate(strengths):
        name = f"overall_stim_response_strengths[{k}]"
        _check_real(name, strength, "a stimulation strength, Hz")
        args = _spike_args(
            "generate_spikes_stim_strength",
            kwargs,
            taken={"overall_stim_response_strength": "overall_stim_response_strengths"},
            n_trials=n_trials,
            mouse_response_slope=mouse_response_slope,
            overall_stim_response_strength=strength,
        )
        _check_spikes_args(**args, note=f" (at {name} = {strength!r})")
    rng = _rng(random_state)
    frames = []
    for block, strength in enumerate(strengths):
        df = generate_fake_spikes(
            n_trials=n_trials,
            mouse_response_slope=mouse_response_slope,
            overall_stim_response_strength=strength,
            random_state=rng,
            **kwargs,
        ).df
        df["stim_strength"] = df["stim"] * strength
        df["i_trial"] = df["i_trial"] + block * n_trials
        frames.append(df)
    return pd.concat(frames, ignore_index=True)
