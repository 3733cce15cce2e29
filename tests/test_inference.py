import subprocess
import sys

import pytest


def test_arviz_imported_before_numpyro_does_not_break_numpyro():
    """ArviZ loads numpyro lazily; the library mends numpyro's lost submodule attributes."""
    code = (
        "import arviz\n"
        "from bwestimators import inference\n"
        "import numpyro\n"
        "assert hasattr(numpyro.distributions, 'distribution')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("seed", [0, 1, 123_456_789, 2**31 - 2, 2**31, -5])
def test_host_prng_key_is_jax_key(seed):
    """The key made on the host (no compile) is jax's, and other seeds go to jax."""
    import jax
    import numpy as np

    from bwestimators.inference import _prng_key

    np.testing.assert_array_equal(np.asarray(_prng_key(seed)), np.asarray(jax.random.PRNGKey(seed)))


# ---- chains side by side in threads ----------------------------------------------------


def _tiny_problem():
    """A 4-cell slope model, its configuration and data, and fast sampler settings."""
    import numpy as np

    from bwestimators.models import SlopeConfig, slope_model

    cfg = SlopeConfig("normal", 0, 0, 0, False, False, False, False, False, "partial", ())
    data = {
        "t": np.r_[0, 1, 0, 1.0].astype("f4"),
        "g": np.zeros(4, "i4"),
        "g2": np.zeros(4, "i4"),
        "c": np.zeros(4, "i4"),
        "n": np.full(4, 3, "f4"),
        "ybar": np.r_[0, 1, 0.1, 0.9].astype("f4"),
        "ss": np.ones(4, "f4"),
        "alpha_loc": np.float32(0),
        "alpha_scale": np.float32(2.5),
        "beta_scale": np.float32(2.5),
        "sd_scale": np.float32(1),
        "resid_scale": np.float32(1),
        "log_var_ref": np.float32(0),
    }
    kw = {"num_warmup": 30, "num_samples": 40, "target_accept_prob": 0.8, "max_tree_depth": 4}
    return slope_model, cfg, data, kw


def test_chains_in_threads_give_the_draws_of_chains_one_after_another(monkeypatch):
    """The draws depend on the seed only: the same with 1, 2 or 3 threads, and chains differ."""
    import numpy as np

    from bwestimators import inference

    model, cfg, data, kw = _tiny_problem()
    runs = []
    for threads in ("1", "2", "3"):
        monkeypatch.setenv("BWESTIMATORS_NUM_THREADS", threads)
        runs.append(inference.run_nuts(model, cfg, data, num_chains=3, seed_value=7, **kw))
    (draws, stats), *others = runs
    assert draws["beta"].shape == (3, 40) and stats["num_steps"].shape == (3, 40)
    for other_draws, other_stats in others:
        for name, values in draws.items():
            np.testing.assert_array_equal(other_draws[name], values, err_msg=name)
        for name, values in stats.items():
            np.testing.assert_array_equal(other_stats[name], values, err_msg=name)
    # every chain has a key of its own: no two chains share their draws
    assert len({tuple(chain) for chain in draws["beta"]}) == 3
    # another seed, other draws
    monkeypatch.setenv("BWESTIMATORS_NUM_THREADS", "2")
    again, _ = inference.run_nuts(model, cfg, data, num_chains=3, seed_value=8, **kw)
    assert not np.array_equal(again["beta"], draws["beta"])


def test_one_compiled_program_serves_every_number_of_chains(monkeypatch):
    """The number of chains is no part of the compiled program: a second count compiles nothing."""
    from bwestimators import inference

    model, cfg, data, kw = _tiny_problem()
    monkeypatch.setenv("BWESTIMATORS_NUM_THREADS", "2")
    inference.run_nuts(model, cfg, data, num_chains=2, seed_value=0, **kw)
    before = inference.compiled_sampler_count()
    draws, _ = inference.run_nuts(model, cfg, data, num_chains=5, seed_value=0, **kw)
    assert draws["beta"].shape == (5, 40)
    assert inference.compiled_sampler_count() == before


def test_batched_chains_in_threads_are_deterministic(monkeypatch):
    """A vectorized batch: the same draws with 1 or 2 threads, one block per dataset."""
    import numpy as np

    from bwestimators import inference

    model, cfg, data, kw = _tiny_problem()
    shifted = {**data, "ybar": data["ybar"] + np.float32(0.5)}
    runs = []
    for threads in ("1", "2"):
        monkeypatch.setenv("BWESTIMATORS_NUM_THREADS", threads)
        runs.append(
            inference.run_nuts_batched(model, cfg, [data, shifted], [3, 4], num_chains=2, **kw)
        )
    (draws, stats), (other, other_stats) = runs
    assert draws["beta"].shape == (2, 2, 40) and stats["diverging"].shape == (2, 2, 40)
    for name, values in draws.items():
        np.testing.assert_array_equal(other[name], values, err_msg=name)
    np.testing.assert_array_equal(other_stats["num_steps"], stats["num_steps"])
    # the datasets differ: their intercepts follow their data (ybar shifted by 0.5)
    shift = draws["alpha"][1].mean() - draws["alpha"][0].mean()
    assert 0.2 < shift < 0.8


@pytest.mark.parametrize("partitionable", [True, False])
def test_chain_keys_are_jax_split_keys_without_a_compilation(partitionable):
    """The numpy keys are jax's ``split(PRNGKey(seed), n)``, bit for bit, in both split modes."""
    import jax
    import numpy as np

    from bwestimators import inference

    seeds = [0, 1, 7, 12345, 2**31 - 1]
    previous = jax.config.jax_threefry_partitionable
    jax.config.update("jax_threefry_partitionable", partitionable)
    try:
        for n in (1, 2, 5):
            want = [np.asarray(jax.random.split(jax.random.PRNGKey(s), n)) for s in seeds]
            got = inference._chain_keys(seeds, n)
            assert got.dtype == np.uint32
            np.testing.assert_array_equal(got, np.stack(want))
        # seeds outside [0, 2**31) go through jax
        np.testing.assert_array_equal(
            inference._chain_keys([2**40], 3)[0], jax.random.split(jax.random.PRNGKey(2**40), 3)
        )
    finally:
        jax.config.update("jax_threefry_partitionable", previous)


# ---- the draws given the sampled sites: a program of their own, keys made on the host ----


def test_initial_values_are_numpyros_uniform_draws_made_on_the_host():
    """Site by site, ``key, sub = split(key)`` and ``uniform(sub, shape, -2, 2)``, as jax does."""
    import jax
    import numpy as np

    from bwestimators import inference

    avals = (jax.ShapeDtypeStruct((), np.float32), jax.ShapeDtypeStruct((2, 3), np.float32))
    key = np.array([17, 4242], dtype=np.uint32)
    values = inference._initial_values(avals, key)
    assert values[0].shape == () and values[1].shape == (2, 3)
    assert values[1].dtype == np.float32
    for aval, value in zip(avals, values, strict=True):
        key, sub = jax.random.split(key)
        want = jax.random.uniform(sub, aval.shape, minval=-2.0, maxval=2.0)
        np.testing.assert_array_equal(value, np.asarray(want))
    # several chains at once; batched: one key per dataset, the datasets on the leading axis
    three = np.array([[17, 4242], [5, 6], [7, 8]], dtype=np.uint32)
    for many, one in zip(inference._initial_values(avals, three), values, strict=True):
        assert many.shape == (3, *one.shape)
        np.testing.assert_array_equal(many[0], one)
    keys = np.array([[1, 2], [3, 4]], dtype=np.uint32)
    aval = jax.ShapeDtypeStruct((2,), np.float32)
    (batched,) = inference._initial_values((aval,), keys, batched=True)
    assert batched.shape == (2,)
    for k, v in zip(keys, batched, strict=True):
        sub = jax.random.split(k)[1]
        assert v == np.asarray(jax.random.uniform(sub, (), minval=-2.0, maxval=2.0))


@pytest.mark.parametrize("partitionable", [True, False])
def test_chain_key_parts_are_jax_splits_of_the_chain_key(partitionable):
    """Initial-value key, sampler key and two keys per draw: jax's ``split(chain_key, 3)``."""
    import jax
    import numpy as np

    from bwestimators import inference

    previous = jax.config.jax_threefry_partitionable
    jax.config.update("jax_threefry_partitionable", partitionable)
    try:
        chain_keys = inference._chain_keys([5, 6], 2)  # (datasets, chains, 2)
        init, run, draws = inference._chain_key_parts(chain_keys, 3)
        assert run.shape == init.shape == (2, 2, 2) and draws.shape == (2, 2, 3, 2, 2)
        key = chain_keys[1, 0]
        three = np.asarray(jax.random.split(key, 3))
        np.testing.assert_array_equal(init[1, 0], three[0])
        np.testing.assert_array_equal(run[1, 0], three[1])
        want = np.asarray(jax.random.split(three[2], 6)).reshape(3, 2, 2)
        np.testing.assert_array_equal(draws[1, 0], want)
    finally:
        jax.config.update("jax_threefry_partitionable", previous)


def _two_keys_model(data, cfg):
    """A model that draws two sites given ``x`` with keys of ``numpyro.prng_key()``."""
    import jax
    import numpyro
    import numpyro.distributions as dist

    x = numpyro.sample("x", dist.Normal(0.0, 1.0))
    numpyro.sample("y", dist.Normal(x, 1.0), obs=data["y"])
    key = numpyro.prng_key()
    if key is not None:  # under the draws' handler only (the sampler has no keys to give)
        numpyro.deterministic("u", jax.random.normal(key, (2,)))
        numpyro.deterministic("v", jax.random.normal(numpyro.prng_key()))


def test_sites_drawn_given_the_draws_have_independent_standard_keys():
    """Every request of a key gets its own: independent standard normals, fixed by the seed."""
    import numpy as np

    from bwestimators import inference

    data = {"y": np.array([0.3, -0.2, 0.5], dtype=np.float32)}
    kw = {"num_warmup": 50, "num_samples": 500, "target_accept_prob": 0.8, "max_tree_depth": 4}
    draws, _ = inference.run_nuts(_two_keys_model, None, data, num_chains=2, seed_value=3, **kw)
    cols = np.column_stack([draws["u"].reshape(-1, 2), draws["v"].reshape(-1)])
    n = len(cols)
    assert n == 1000 and len(np.unique(cols)) == cols.size
    # standard normal (4.5 standard errors) and uncorrelated, with x too
    assert np.all(np.abs(cols.mean(0)) < 4.5 / np.sqrt(n))
    assert np.all(np.abs(cols.std(0) - 1) < 4.5 / np.sqrt(2 * n))
    corr = np.corrcoef(np.column_stack([cols, draws["x"].reshape(-1)]), rowvar=False)
    assert np.all(np.abs(corr[np.triu_indices(4, 1)]) < 4.5 / np.sqrt(n))
    again, _ = inference.run_nuts(_two_keys_model, None, data, num_chains=2, seed_value=3, **kw)
    np.testing.assert_array_equal(again["v"], draws["v"])
    other, _ = inference.run_nuts(_two_keys_model, None, data, num_chains=2, seed_value=4, **kw)
    assert not np.any(other["v"] == draws["v"])


_EXPORT_FIT = """
import json, sys
import jax
from bwestimators import ColumnSpec, HierarchicalSlopeRegressor, inference
from bwestimators.datasets import generate_fake_lfp

misses, per_call = [], []
jax.monitoring.register_event_listener(
    lambda event, **kw: misses.append(event) if event.endswith("/cache_misses") else None
)
real = inference._sampler


def sampler(*args, **kwargs):
    before = len(misses)
    out = real(*args, **kwargs)
    per_call.append(len(misses) - before)
    return out


inference._sampler = sampler
df = generate_fake_lfp(mouse_response_slope=9, n_trials=4, random_state=0).df
est = HierarchicalSlopeRegressor(ColumnSpec("stim", group="mouse"), num_warmup=30, num_samples=30,
                                 num_chains=2, random_state=0)
est.fit(df, df["Log power"])
print(json.dumps({"a_group": est.draws_["a_group"].tolist(), "beta": est.draws_["beta"].tolist(),
                  "compiled": per_call, "numpyro": "numpyro" in sys.modules}))
"""


def test_sampler_and_draws_programs_are_exported_and_reused_by_a_new_process(tmp_path):
    """Both programs of a fit go to the disk cache; a new process traces and compiles neither,
    and its draws (the group effects drawn given the sampled sites too) are the same."""
    import json
    import os

    env = {**os.environ, "BWESTIMATORS_JAX_CACHE": str(tmp_path / "cache")}

    def fit():
        out = subprocess.run(
            [sys.executable, "-c", _EXPORT_FIT], capture_output=True, text=True, env=env
        )
        assert out.returncode == 0, out.stderr[-3000:]
        return json.loads(out.stdout.strip().splitlines()[-1])

    first = fit()
    assert first["compiled"] == [2]  # the sampler and the draws, both compiled
    assert len(list((tmp_path / "cache" / "exported").glob("*.jaxexport"))) == 2
    second = fit()
    assert second["compiled"] == [0] and not second["numpyro"]
    assert second["a_group"] == first["a_group"] and second["beta"] == first["beta"]
