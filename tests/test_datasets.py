import hashlib

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bwestimators.datasets import (
    generate_fake_lfp,
    generate_fake_spikes,
    generate_spikes_stim_strength,
    generate_spikes_stim_types,
    load_chirp_power,
    load_radon,
)
from bwestimators.exceptions import InputError, InputTypeError


def test_spikes_reproducible():
    a = generate_fake_spikes(n_trials=3, n_neurons=3, n_mice=3, random_state=1)
    b = generate_fake_spikes(n_trials=3, n_neurons=3, n_mice=3, random_state=1)
    c = generate_fake_spikes(n_trials=3, n_neurons=3, n_mice=3, random_state=2)
    pd.testing.assert_frame_equal(a.df, b.df)
    pd.testing.assert_frame_equal(a.df_monster, b.df_monster)
    assert not a.df_monster["spike_time"].equals(c.df_monster["spike_time"])


def test_spikes_columns_and_shapes():
    df, monster, index_cols, rates = generate_fake_spikes(
        n_trials=4, n_neurons=3, n_mice=5, random_state=0
    )
    assert len(df) == 4 * 3 * 5 * 2
    for col in (
        "mouse",
        "neuron",
        "neuron_x_mouse",
        "stim",
        "i_trial",
        "isi",
        "firing_rate",
        "log_firing_rate",
    ):
        assert col in df.columns
    for col in ("spike_time", "isi", "1/isi", "log_isi", "log_1/isi", "i_spike"):
        assert col in monster.columns
    assert df["stim"].dtype == np.int64 and set(df["stim"]) == {0, 1}
    assert df["mouse"].nunique() == 5
    assert df["neuron_x_mouse"].nunique() == 15
    assert (monster["isi"] > 0).all()
    np.testing.assert_allclose(monster["1/isi"], 1 / monster["isi"])
    np.testing.assert_allclose(monster["log_isi"], np.log10(monster["isi"]))
    assert set(index_cols) <= set(df.columns)
    assert len(rates) == 15


def test_spike_times_within_trial_and_sorted():
    _, monster, _, _ = generate_fake_spikes(
        n_trials=2, n_neurons=2, n_mice=2, dur=5, random_state=3
    )
    assert monster["spike_time"].between(0, 5).all()
    for _, g in monster.groupby(["mouse", "neuron", "stim", "i_trial"]):
        assert g["spike_time"].is_monotonic_increasing


def test_thinned_spikes_order_equals_lexsort():
    """The one-key sort gives lexsort's order: by train, then by time."""
    from bwestimators.datasets._generators import _thinned_spikes

    rng = np.random.default_rng(0)
    rates = rng.uniform(1, 40, size=(30, 7))
    train, times = _thinned_spikes(rates, np.random.default_rng(1))
    order = np.lexsort((times, train))
    np.testing.assert_array_equal(train, train[order])
    np.testing.assert_array_equal(times, times[order])
    assert np.array_equal(np.unique(train), np.arange(30))


def test_spike_rate_matches_poisson_mean():
    # Without noise and without stimulation response the count per trial is Poisson(rate * dur).
    df = generate_fake_spikes(
        n_trials=200,
        n_neurons=1,
        n_mice=1,
        slowest_fr=20,
        fastest_fr=20,
        time_randomness=0,
        random_state=0,
    ).df
    off = df[df["stim"] == 0]
    assert off["n_spikes"].mean() == pytest.approx(140, rel=0.03)
    assert off["n_spikes"].var() == pytest.approx(140, rel=0.25)


def test_spikes_stim_effect_sign_and_size():
    slope = 12
    df = generate_fake_spikes(
        n_trials=20,
        n_neurons=7,
        n_mice=6,
        dur=7,
        mouse_response_slope=slope,
        overall_stim_response_strength=45,
        random_state=0,
    ).df
    slowest = df[df["neuron"] == "0"]
    means = slowest.groupby(["mouse", "stim"])["firing_rate"].mean().unstack()
    diff = means[1] - means[0]
    # Response (45 + 12 i + 0.1) Hz during int(7/4)... the middle 3 of 7 seconds.
    expected = (45 + 12 * np.arange(6) + 0.1) * 3 / 7
    np.testing.assert_allclose(diff.to_numpy(), expected, rtol=0.12)
    # isi is shorter under stimulation
    t = stats.ttest_rel(slowest[slowest.stim == 1]["isi"], slowest[slowest.stim == 0]["isi"])
    assert t.statistic < 0 and t.pvalue < 1e-6


def test_no_effect_when_no_response():
    df = generate_fake_spikes(
        n_trials=30,
        n_neurons=2,
        n_mice=3,
        mouse_response_slope=0,
        overall_stim_response_strength=0,
        random_state=0,
    ).df
    d = df.groupby("stim")["firing_rate"].mean()
    assert abs(d[1] - d[0]) < 1.0


def test_lfp_generator():
    df, monster, _, _ = generate_fake_lfp(mouse_response_slope=9, n_trials=30, random_state=0)
    assert list(df.columns) == ["mouse", "stim", "i_trial", "Power", "Log power"]
    assert df["mouse"].nunique() == 10
    assert len(df) == 10 * 30 * 2
    assert 50_000 < len(monster) < 150_000
    np.testing.assert_allclose(df["Log power"], np.log10(df["Power"]))
    per_mouse = df.groupby(["mouse", "stim"])["Log power"].mean().unstack()
    diff = (per_mouse[1] - per_mouse[0]).to_numpy()
    baseline = per_mouse[0].to_numpy()
    # overall effect positive; higher-baseline mice respond less
    assert diff.mean() > 0.03
    assert stats.spearmanr(baseline, diff).statistic < -0.8
    t = stats.ttest_rel(per_mouse[1], per_mouse[0])
    assert t.pvalue < 0.01


def test_lfp_reproducible_and_n_mice():
    a = generate_fake_lfp(n_mice=4, n_trials=3, random_state=5).df
    b = generate_fake_lfp(n_mice=4, n_trials=3, random_state=5).df
    pd.testing.assert_frame_equal(a, b)
    assert a["mouse"].nunique() == 4


def test_stim_types_and_strength():
    df = generate_spikes_stim_types(n_trials=10, n_neurons=2, n_mice=2, random_state=0)
    eff = df[df.neuron == "0"].groupby(["stim_strength", "stim"])["firing_rate"].mean().unstack()
    d = eff[1] - eff[0]
    assert d[2] > d[1] > 0
    df = generate_spikes_stim_strength(
        [0, 10, 20], n_trials=10, n_neurons=2, n_mice=1, random_state=0
    )
    assert sorted(df["stim_strength"].unique()) == [0, 10, 20]
    slow = df[(df.neuron == "0") & (df.stim == 1)]
    assert stats.spearmanr(slow["stim_strength"], slow["firing_rate"]).statistic > 0.5


def test_load_radon():
    df = load_radon()
    assert len(df) == 919 and df["county"].nunique() == 85
    assert set(df["floor"]) == {0, 1}
    np.testing.assert_allclose(df["log_radon"], np.log(df["radon"] + 0.1), atol=1e-7)
    assert df["uranium"].notna().all()


def test_load_chirp_power():
    df = load_chirp_power()
    assert df["Subject"].nunique() == 7
    assert len(df) == 1148
    assert set(df["Stim phase"]) == {0.0, 0.25, 0.5}
    assert df["stim_on"].dtype == bool and df["Inversion"].dtype == bool


def _stim_differences(generator, n_datasets, columns, **kwargs):
    """Per dataset and column: mean under stimulation minus without, shape (n_datasets, k)."""
    diffs = []
    for seed in range(n_datasets):
        means = generator(random_state=seed, **kwargs).df.groupby("stim")[columns].mean()
        diffs.append((means.loc[1] - means.loc[0]).to_numpy())
    return np.asarray(diffs)


def _mean_and_se(d):
    return d.mean(axis=0), d.std(axis=0, ddof=1) / np.sqrt(len(d))


#: Low rates and no extra noise: the Poisson noise is small, so 100 datasets measure the
#: mean response to a few thousandths of a Hz (bayes-window's residual is over 20 SE).
_QUIET = {"slowest_fr": 1, "fastest_fr": 2, "time_randomness": 0, "n_trials": 20}


def test_lfp_effect_zero_is_an_exact_null():
    """At response 0 the mean stimulation response over 100 datasets is 0 within 3 standard
    errors; with exact_null=False (bayes-window's generator) it is about 0.11 Hz."""
    kwargs = {"mouse_response_slope": 0, "n_mice": 10, **_QUIET}
    mean, se = _mean_and_se(_stim_differences(generate_fake_lfp, 100, ["Power"], **kwargs))
    assert abs(mean[0]) < 3 * se[0] and se[0] < 0.01, (mean, se)
    legacy = _stim_differences(generate_fake_lfp, 100, ["Power"], exact_null=False, **kwargs)
    mean, se = _mean_and_se(legacy[:, 0])
    assert 0.08 < mean < 0.15 and mean > 10 * se, (mean, se)


def test_spikes_effect_zero_is_an_exact_null():
    """The spike generator at response 0 (no mouse slope, no overall response, and the
    non-responding mice of do_bad_mice) has no residual response either."""
    kwargs = {
        "mouse_response_slope": 0,
        "overall_stim_response_strength": 0,
        "n_neurons": 4,
        "n_mice": 4,
        "do_bad_mice": True,
        **_QUIET,
    }
    mean, se = _mean_and_se(_stim_differences(generate_fake_spikes, 100, ["firing_rate"], **kwargs))
    assert abs(mean[0]) < 3 * se[0] and se[0] < 0.01, (mean, se)
    legacy = _stim_differences(
        generate_fake_spikes, 100, ["firing_rate"], exact_null=False, **kwargs
    )
    mean, se = _mean_and_se(legacy[:, 0])
    assert mean > 10 * se, (mean, se)


# ---- argument checks: a wrong argument is an InputError naming it, before any draw ----


def _digest(*arrays):
    d = hashlib.sha256()
    for a in arrays:
        d.update(np.ascontiguousarray(np.asarray(a, dtype=float)).tobytes())
    return d.hexdigest()[:16]


def test_valid_arguments_draw_the_same_data_as_before_the_checks():
    """Digests of frames drawn before the argument checks existed: the checks draw nothing."""
    lfp = generate_fake_lfp(n_trials=4, n_mice=3, random_state=0, exact_null=False)
    assert _digest(lfp.df["Power"], lfp.df_monster["Power"]) == "38cae07c9e227173"
    spikes = generate_fake_spikes(
        n_trials=2,
        n_neurons=2,
        n_mice=3,
        mouse_response_slope=-1.0,
        overall_stim_response_strength=1,
        random_state=1,
        exact_null=False,
    )
    assert _digest(spikes.df["firing_rate"], spikes.df_monster["spike_time"]) == (
        "6df3b75c061e2288"
    )
    types = generate_spikes_stim_types(
        n_trials=2, n_neurons=2, n_mice=2, random_state=2, exact_null=False
    )
    assert _digest(types["firing_rate"]) == "834b26f9859d708b"
    strength = generate_spikes_stim_strength(
        [0, 2.5], n_trials=2, n_neurons=2, n_mice=1, random_state=3, exact_null=False
    )
    assert _digest(strength["firing_rate"], strength["i_trial"]) == "fa1738e9cf470f3c"


@pytest.mark.parametrize(
    ("generator", "kwargs", "message"),
    [
        (generate_fake_lfp, {"n_trials": 0}, "n_trials must be at least 1"),
        (generate_fake_lfp, {"n_trials": -2}, "n_trials must be at least 1"),
        (generate_fake_lfp, {"n_mice": 0}, "n_mice must be at least 1"),
        (generate_fake_lfp, {"n_mice": -1}, "n_mice must be at least 1"),
        (generate_fake_lfp, {"dur": 0}, "dur must be at least 1"),
        (generate_fake_lfp, {"slowest_fr": 0}, "slowest_fr must be > 0"),
        (generate_fake_lfp, {"fastest_fr": -3}, "fastest_fr must be > 0"),
        (generate_fake_lfp, {"time_randomness": -1}, "time_randomness must be >= 0"),
        (generate_fake_lfp, {"trial_baseline_randomness": -0.2}, "trial_baseline_randomness"),
        (generate_fake_lfp, {"mouse_response_slope": np.nan}, "must be a finite number"),
        (generate_fake_lfp, {"mouse_response_slope": np.inf}, "must be a finite number"),
        (generate_fake_lfp, {"mouse_response_slope": -20}, "stays positive; got -20"),
        (generate_fake_lfp, {"mouse_response_slope": 1e12}, "events per trial"),
        (generate_fake_lfp, {"random_state": -1}, "random_state must be"),
        (generate_fake_spikes, {"n_neurons": 0}, "n_neurons must be at least 1"),
        (generate_fake_spikes, {"n_mice": 0}, "n_mice must be at least 1"),
        (generate_fake_spikes, {"n_trials": 0}, "n_trials must be at least 1"),
        (generate_fake_spikes, {"mouse_response_slope": -3}, "got -27 for mouse 9"),
        (generate_spikes_stim_types, {"n_trials": 0}, "n_trials must be at least 1"),
        (generate_spikes_stim_types, {"n_mice": 0}, "n_mice must be at least 1"),
        (
            generate_spikes_stim_types,
            {"overall_stim_response_strength": -4},
            "stimulation type 2 doubles",
        ),
        (generate_spikes_stim_strength, {"overall_stim_response_strengths": []}, "is empty"),
        (
            generate_spikes_stim_strength,
            {"overall_stim_response_strengths": [0, np.nan]},
            "overall_stim_response_strengths[1] must be a finite number",
        ),
        (
            generate_spikes_stim_strength,
            {"overall_stim_response_strengths": [0, -10]},
            "overall_stim_response_strengths[1] = -10",
        ),
        (generate_spikes_stim_strength, {"n_trials": 0}, "n_trials must be at least 1"),
    ],
)
def test_bad_arguments_are_input_errors(generator, kwargs, message):
    with pytest.raises(InputError) as info:
        generator(**kwargs)
    assert message in str(info.value)
    assert not isinstance(info.value, InputTypeError)


@pytest.mark.parametrize(
    ("generator", "kwargs", "message"),
    [
        (generate_fake_lfp, {"n_trials": 2.5}, "n_trials must be an integer"),
        (generate_fake_lfp, {"n_trials": 5.0}, "n_trials must be an integer"),
        (generate_fake_lfp, {"n_mice": True}, "n_mice must be an integer"),
        (generate_fake_lfp, {"dur": "7"}, "dur must be an integer"),
        (generate_fake_lfp, {"mouse_response_slope": "9"}, "mouse_response_slope must be a number"),
        (generate_fake_lfp, {"random_state": "seed"}, "random_state must be"),
        (generate_fake_spikes, {"n_neurons": [3]}, "n_neurons must be an integer"),
        (generate_spikes_stim_types, {"n_neuron": 3}, "Did you mean 'n_neurons'?"),
        (
            generate_spikes_stim_strength,
            {"overall_stim_response_strengths": 5},
            "must be a list of numbers",
        ),
        (
            generate_spikes_stim_strength,
            {"overall_stim_response_strengths": "05"},
            "must be a list of numbers",
        ),
        (
            generate_spikes_stim_strength,
            {"overall_stim_response_strength": 3},
            "pass overall_stim_response_strengths instead",
        ),
    ],
)
def test_wrong_types_are_input_type_errors(generator, kwargs, message):
    with pytest.raises(InputTypeError) as info:  # an InputError and a TypeError
        generator(**kwargs)
    assert message in str(info.value)


def test_smallest_valid_arguments_still_generate():
    """One of each count, a negative response that keeps the rates positive, numpy ints."""
    df = generate_fake_lfp(n_trials=1, n_mice=1, dur=1, mouse_response_slope=-5, random_state=0).df
    assert len(df) == 2 and df["Power"].notna().all()
    df = generate_fake_lfp(n_trials=np.int64(2), n_mice=np.int32(2), random_state=0).df
    assert len(df) == 2 * 2 * 2
    df = generate_fake_spikes(n_trials=1, n_neurons=1, n_mice=1, random_state=0).df
    assert len(df) == 2
    df = generate_spikes_stim_strength(
        iter([0, 5]), n_trials=1, n_neurons=1, n_mice=1, random_state=0
    )
    assert sorted(df["stim_strength"].unique()) == [0, 5]


def test_argument_check_runs_before_any_draw():
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    with pytest.raises(InputError):
        generate_spikes_stim_strength([0, 5, np.nan], n_trials=1, random_state=rng)
    assert rng.bit_generator.state == state  # nothing generated for the valid strengths
