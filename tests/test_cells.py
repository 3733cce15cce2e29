"""Padding of cells and levels to shape buckets (bwestimators._cells)."""

import functools
import warnings

import numpy as np
import pytest

from bwestimators import ColumnSpec, HierarchicalSlopeRegressor, _cells
from bwestimators._bayes import _pad_levels
from bwestimators._configs import SlopeConfig
from tests.conftest import FAST


def test_cell_buckets_waste_at_most_half():
    for n in range(1, 3000):
        assert n <= _cells.bucket(n) <= max(1.5 * n, _cells.MIN_CELLS)


def test_a_sampler_of_at_most_half_as_many_more_levels_is_reused():
    ten = SlopeConfig("normal", 10, 0, 3, True, True, False, True, True, "partial", ())
    assert _cells.reusable_config(ten._replace(n_groups=7), [ten]) == ten
    assert _cells.reusable_config(ten._replace(n_groups=6), [ten]).n_groups == 6  # > 1.5x
    # more levels than a compiled sampler (growing datasets): compiled with 1.25x headroom
    assert _cells.reusable_config(ten._replace(n_groups=11), [ten]).n_groups == 14
    assert _cells.reusable_config(ten._replace(n_groups=11), []).n_groups == 11
    other = ten._replace(n_groups=7, centered=("group",))  # another model: not reused
    assert _cells.reusable_config(other, [ten]) == other
    no_cond = ten._replace(n_groups=7, n_conditions=0)  # 0 levels stay 0
    assert _cells.reusable_config(no_cond, [ten]) == no_cond


def test_unpad_slices_the_level_axis_and_keeps_trailing_axes():
    cfg = SlopeConfig("normal", 7, 0, 3, True, True, False, True, True, "partial", ())
    padded = cfg._replace(n_groups=12, n_conditions=12)
    draws = {
        "b_group": np.zeros((2, 5, 12, 4)),  # a trailing axis (several treatment levels)
        "a_condition_raw": np.zeros((2, 5, 12)),
        "beta": np.zeros((2, 5)),
    }
    out = _cells.unpad_draws(draws, cfg, padded)
    assert out["b_group"].shape == (2, 5, 7, 4)
    assert out["a_condition_raw"].shape == (2, 5, 3)
    assert out["beta"].shape == (2, 5)
    batched = _cells.unpad_draws({"b_group": np.zeros((6, 2, 5, 12))}, cfg, padded, 1)
    assert batched["b_group"].shape == (6, 2, 5, 7)


def _simulate(n_groups, seed=0, n_rep=6):
    import pandas as pd

    rng = np.random.default_rng(seed)
    a = rng.normal(0, 0.7, n_groups)
    b = rng.normal(0.5, 0.3, n_groups)
    g = np.repeat(np.arange(n_groups), 2 * n_rep)
    t = np.tile(np.repeat([0.0, 1.0], n_rep), n_groups)
    y = 1 + a[g] + b[g] * t + rng.normal(0, 0.5, len(g))
    return pd.DataFrame({"mouse": [f"m{i}" for i in g], "stim": t, "y": y})


@pytest.mark.parametrize("parameterization", ["centered", "noncentered"])
def test_padded_levels_leave_the_log_density_of_the_real_levels_exact(parameterization):
    """Padded model = exact model + independent normals of the padded levels (value, gradient)."""
    import jax
    import jax.numpy as jnp
    from numpyro.infer.util import potential_energy

    df = _simulate(7)
    est = HierarchicalSlopeRegressor(
        ColumnSpec("stim", group="mouse"), parameterization=parameterization
    )
    exact_cells, _ = est._prepare(df, df["y"])
    exact_cells = {k: v for k, v in exact_cells.items() if not k.startswith("mask_")}
    padded = est.config_._replace(n_groups=12)
    cells = _pad_levels(est, dict(exact_cells), est._fit_rows["codes"], padded)
    assert est._padded_config.n_groups == 12 and est.config_.n_groups == 7
    rng = np.random.default_rng(1)
    # non-centered group effects: alpha and beta are sampled through their observed means
    obs = "" if parameterization == "centered" else "_observed"
    z = {f"alpha{obs}": 0.3, f"beta{obs}": 0.1, "sigma_group": -0.5, "sigma_group_slope": -1.0}
    z["sigma"] = 0.2
    vectors = {name: rng.normal(size=12) for name in ("a_group", "b_group")}
    suffix = {"a_group": "_total" if parameterization == "centered" else "_raw"}
    suffix["b_group"] = "_total" if parameterization == "centered" else "_raw"
    results = {}
    for label, cfg, data, n in (
        ("padded", est._padded_config, cells, 12),
        ("exact", est.config_, exact_cells, 7),
    ):
        point = {**z, **{k + suffix[k]: v[:n] for k, v in vectors.items()}}
        point = {k: jnp.asarray(v, dtype=jnp.float32) for k, v in point.items()}
        model = functools.partial(est._model_fn(), cfg=cfg)
        data = {k: jnp.asarray(v) for k, v in data.items()}
        results[label] = jax.value_and_grad(
            lambda p, m=model, d=data: potential_energy(m, (d,), {}, p)
        )(point)
    # the padded levels: independent normals of fixed scales (0 = real level)
    expected = 0.0
    for k, v in vectors.items():
        scale = cells["mask_g"][7:] if suffix[k] == "_total" else np.ones(5)
        expected += np.sum(0.5 * (v[7:] / scale) ** 2 + np.log(scale) + 0.5 * np.log(2 * np.pi))
    (v_pad, g_pad), (v_exact, g_exact) = results["padded"], results["exact"]
    assert float(v_pad - v_exact) == pytest.approx(expected, rel=1e-4)
    for name, grad in g_exact.items():
        real = np.asarray(g_pad[name])[..., :7] if np.ndim(grad) else np.asarray(g_pad[name])
        np.testing.assert_allclose(real, np.asarray(grad), rtol=1e-4, atol=1e-4)


def test_samplers_are_shared_only_when_asked():
    """By default a fit never runs on another shape's sampler: its draws depend only on its data
    and random_state, whatever ran before it."""
    from bwestimators import inference

    spec = ColumnSpec("stim", group="mouse")
    df10, df7 = _simulate(10, seed=0), _simulate(7, seed=1)
    assert not inference.sharing_compiled_samplers()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        HierarchicalSlopeRegressor(spec, random_state=0, **FAST).fit(df10, df10["y"])
        after = HierarchicalSlopeRegressor(spec, random_state=0, **FAST).fit(df7, df7["y"])
    assert after._padded_config == after.config_


def test_padded_fit_matches_the_exact_fit_and_shares_the_sampler(monkeypatch):
    """7 mice after 10: one compile, and the posterior of a configuration with the exact counts."""
    from bwestimators import inference

    spec = ColumnSpec("stim", group="mouse")
    settings = {**FAST, "num_samples": 500, "parameterization": "noncentered"}
    df10, df7 = _simulate(10, seed=0), _simulate(7, seed=1)
    monkeypatch.setattr(inference, "_SHARE", {"enabled": True})  # restored after the test
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        before = inference.compiled_sampler_count()
        fits = [HierarchicalSlopeRegressor(spec, random_state=0, **settings) for _ in range(2)]
        fits[0].fit(df10, df10["y"])
        fits[1].fit(df7, df7["y"])
        assert inference.compiled_sampler_count() - before <= 1
        assert fits[1]._padded_config == fits[0].config_  # 7 mice ran on the 10-mice sampler
        assert fits[1].draws_["b_group"].shape[-1] == 7  # sliced back to the real levels
        assert len(fits[1].intercepts_) == 7
        monkeypatch.setattr(_cells, "PADDED_MODELS", ())
        exact = HierarchicalSlopeRegressor(spec, random_state=1, **settings).fit(df7, df7["y"])
    assert exact.config_ == exact._padded_config
    padded = fits[1]
    a, b = padded.effects_.iloc[0], exact.effects_.iloc[0]
    mc_error = np.hypot(a.std_error / np.sqrt(a.ess_bulk), b.std_error / np.sqrt(b.ess_bulk))
    assert abs(a.estimate - b.estimate) < 4 * mc_error
    assert a.std_error == pytest.approx(b.std_error, rel=0.2)
    vc_pad, vc_exact = padded.variance_components_, exact.variance_components_
    np.testing.assert_allclose(vc_pad["estimate"], vc_exact["estimate"], rtol=0.25)


def test_reference_coded_condition_intercepts_keep_the_iid_prior():
    """Unpooled conditions with centered group totals: a_condition iid Normal(loc, scale) a priori,
    group effects Normal(0, sigma_group), as in the plain coding (checked on prior draws)."""
    import jax
    from numpyro.infer import Predictive

    df = _simulate(7).assign(region=lambda d: np.where(np.arange(len(d)) % 2, "A", "B"))
    spec = ColumnSpec("stim", group="mouse", condition="region")
    est = HierarchicalSlopeRegressor(spec, parameterization="centered", condition_pooling="none")
    cells, _ = est._prepare(df, df["y"])
    assert est.config_.pooling == "none" and "group" in est.config_.centered
    model = functools.partial(est._model_fn(), cfg=est._padded_config)
    prior = Predictive(model, num_samples=20000)(jax.random.PRNGKey(0), cells)
    assert "a_condition_ref" in prior  # the reference coding is the one sampled
    a_cond = np.asarray(prior["a_condition"])[:, :2]
    loc, scale = float(cells["alpha_loc"]), float(cells["alpha_scale"])
    se = scale / np.sqrt(20000)
    np.testing.assert_allclose(a_cond.mean(axis=0), loc, atol=4 * se)
    np.testing.assert_allclose(a_cond.std(axis=0), scale, rtol=0.03)
    assert abs(np.corrcoef(a_cond.T)[0, 1]) < 0.03
    a_group = np.asarray(prior["a_group"])[:, :7] / np.asarray(prior["sigma_group"])[:, None]
    np.testing.assert_allclose(a_group.std(axis=0), 1.0, rtol=0.03)
    assert abs(np.corrcoef(a_group[:, 0], a_cond[:, 0])[0, 1]) < 0.03


def test_bench_shapes_counts_fewer_compiles_with_buckets():
    from tests.conftest import load_benchmark

    bench = load_benchmark("bench_shapes")
    fits, exact = bench.sampler_keys(["normal"], padded=False, small=True)
    _, bucketed = bench.sampler_keys(["normal"], padded=True, small=True, reverse=True)
    assert fits == 3 and exact == 3  # 5, 7 and 10 mice: three shapes without buckets
    assert bucketed < exact


def test_millions_of_rows_mix_well_with_the_default_diagonal_mass():
    """500,000 rows, 2 unpooled conditions x 20 mice: the condition intercepts and the mouse
    intercepts form no ridge (reference coding): 2 x 500 draws give them bulk ESS over 1000
    (the plain coding: 74 to 78, r_hat 1.013 to 1.025); effects as the data's own."""
    from bwestimators._summaries import ess_rhat
    from tests.conftest import load_benchmark

    bench = load_benchmark("bench_large")
    df = bench.simulate(500_000, 0)
    spec = ColumnSpec("stim", condition="region", group="mouse")
    settings = {"num_warmup": 500, "num_samples": 500, "num_chains": 2}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = HierarchicalSlopeRegressor(spec, random_state=0, **settings).fit(df, df["y"])
    assert est.condition_pooling_ == "none" and est.marginalized_ == ("group", "group_slope")
    assert est.diagnostics_["divergences"] == 0
    assert est.diagnostics_["max_r_hat"] <= 1.02
    for site in ("a_condition", "a_group"):
        ess, _, r_hat = ess_rhat(est.draws_[site])
        assert ess.min() >= 500 and r_hat.max() <= 1.01, site
    # the data's own effects: the within-mouse difference in means, per region
    for region, row in est.effects_.set_index("region").iterrows():
        sub = df[df["region"] == region]
        means = sub.groupby(["mouse", "stim"])["y"].mean().unstack()
        weights = sub.groupby("mouse").size()
        ols = np.average(means[1] - means[0], weights=weights)
        assert abs(row["estimate"] - ols) < 3 * row["std_error"]


def test_cells_fit_a_sampler_of_up_to_twice_as_many_cells():
    shapes = {"n": (64,), "g": (64,), "alpha_loc": (), "c_group": (3,)}
    assert _cells.cells_fit({**shapes, "n": (96,), "g": (96,)}, shapes) == 96
    assert _cells.cells_fit(shapes, shapes) == 64
    assert _cells.cells_fit({**shapes, "n": (192,), "g": (192,)}, shapes) is None  # > 2x
    assert _cells.cells_fit({**shapes, "n": (48,), "g": (48,)}, shapes) is None  # fewer
    assert _cells.cells_fit({**shapes, "n": (96,), "g": (64,)}, shapes) is None
    cells = {"n": np.ones(3), "g": np.arange(3, dtype=np.int32), "alpha_loc": np.float32(1)}
    padded = _cells.pad_cells(cells, 5)
    np.testing.assert_array_equal(padded["n"], [1, 1, 1, 0, 0])  # empty cells: weight 0
    assert padded["g"].dtype == np.int32 and padded["alpha_loc"] == 1


def test_few_mice_keep_non_centered_intercepts_beside_mouse_slopes():
    """6 mice, no spread of responses between mice: centered mouse intercepts beside the
    non-centered mouse slopes diverged (62 divergent transitions of 3000 on this dataset
    with the sweep's sampler); with fewer than MIN_CENTERED_BESIDE_SLOPES levels both stay
    non-centered, and the fit has none."""
    from bwestimators.datasets import generate_fake_lfp
    from bwestimators.power import SWEEP_SAMPLER

    df = generate_fake_lfp(
        n_mice=6, n_trials=10, mouse_response_slope=0, overall_stim_response_strength=5,
        random_state=0,
    ).df  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = HierarchicalSlopeRegressor(
            ColumnSpec("stim", group="mouse"), random_state=0, **SWEEP_SAMPLER
        ).fit(df, df["Log power"])
    assert est.add_group_slope_ and est.centered_ == ()
    assert est.diagnostics_["divergences"] == 0


def test_group_slopes_are_centered_above_a_score_of_6_without_conditions():
    """Slopes of 10 groups with a spread of sd 1 and a sampling sd of sqrt(0.1): a score of
    about 1 / 0.1 = 10, centered without conditions, not next to conditions (threshold 20)."""
    from bwestimators._cells import CENTERED_SLOPES_ABOVE, choose_centered, informative_slopes
    from bwestimators._families import get_family

    rng = np.random.default_rng(0)
    g = np.repeat(np.arange(10), 40)
    t = np.tile(np.repeat([0.0, 1.0], 20), 10)
    z = rng.normal(0, 3, 10)[g] + rng.normal(0, 1, 10)[g] * t + rng.normal(0, 1, g.size)
    score = informative_slopes(g, z, t)
    assert CENTERED_SLOPES_ABOVE < score < 20
    effects = ("group", "group_slope")
    none = {"g": g, "c": np.zeros_like(g)}
    crossed = {"g": g, "c": np.tile([0, 1], g.size // 2)}
    family = get_family("normal")
    assert "group_slope" in choose_centered("auto", none, z, t, family, "nuts", effects)
    assert "group_slope" not in choose_centered("auto", crossed, z, t, family, "nuts", effects)
    noise = rng.normal(0, 1, g.size)  # no spread of the slopes: non-centered
    assert "group_slope" not in choose_centered("auto", none, noise, t, family, "nuts", effects)


def test_unique_rows_numbers_combinations_in_order_of_appearance_like_pandas():
    """The distinct (codes, treatment) rows, against pandas' groupby in order of appearance."""
    import pandas as pd

    rng = np.random.default_rng(0)
    n = 5000
    codes = {"g": rng.integers(0, 40, n), "g2": rng.integers(0, 3, n), "c": rng.integers(-1, 5, n)}
    t = rng.choice([0.0, 0.5, 1.0, 2.5], n)
    first, inverse = _cells.unique_rows(codes, t)
    frame = pd.DataFrame({**codes, "t": t})
    groups = frame.groupby(list(frame.columns), sort=False).ngroup().to_numpy()
    np.testing.assert_array_equal(inverse, groups)
    firsts = [np.flatnonzero(groups == k)[0] for k in range(len(first))]
    np.testing.assert_array_equal(first, firsts)
    # huge codes (a key past int64 without renumbering) and no codes at all
    big = {f"k{i}": rng.integers(0, 2**40, 50) for i in range(3)}
    first, inverse = _cells.unique_rows(big, np.zeros(50))
    assert len(first) == 50 and np.array_equal(inverse, np.arange(50))
    first, inverse = _cells.unique_rows({}, np.array([1.0, 0.0, 1.0]))
    assert first.tolist() == [0, 1] and inverse.tolist() == [0, 1, 0]
