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
