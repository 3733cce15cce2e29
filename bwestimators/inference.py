"""Running NUTS and SVI: samplers jitted once per configuration, and diagnostics.

numpyro's ``MCMC.run`` compiles its sampler again on every call. Here the
whole run (initialisation, warmup, sampling and the transformation back to
constrained values) is one pure function of the data, jitted once per model
configuration and kept in a module-level cache; the chains run inside it
(``lax.map``), and :func:`run_nuts_batched` vectorizes it over datasets
(``jax.vmap``). A refit with the same configuration on data of the same
(padded) shape reuses the compiled sampler.

At the first sampler run of a process (or by :func:`configure_cache`),
jax's persistent compilation cache is switched on in the user's cache folder
(``$XDG_CACHE_HOME/bwestimators/jax``, by default ``~/.cache/bwestimators/jax``)
so that a new process does not pay the full compilation, and every traced
sampler is exported (``jax.export``) to ``.../bwestimators/exported`` so that
a new process does not trace it again either. Set the environment variable
``BWESTIMATORS_JAX_CACHE=0`` to switch both off, or to a folder to put them
elsewhere. jax's cache is left alone when the user already configured one.
"""

import functools
import hashlib
import logging
import os
import threading
import warnings
from collections import OrderedDict
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from numpyro.distributions.transforms import biject_to
from numpyro.handlers import seed, trace
from numpyro.infer.hmc import hmc
from numpyro.infer.util import constrain_fn, potential_energy

from bwestimators._arviz import repair_numpyro
from bwestimators.exceptions import InputError

repair_numpyro()

logger = logging.getLogger(__name__)

__all__ = ["compiled_sampler_count", "configure_cache", "run_nuts", "run_nuts_batched", "run_svi"]

#: Compiled samplers of this process, least recently used first (bounded: each holds
#: compiled code).
_SAMPLERS = OrderedDict()
_MAX_SAMPLERS = 32
#: One lock around tracing, exporting and the caches: tracing a numpyro model is not
#: thread-safe (its handler stack is global), and threads share the export files.
_LOCK = threading.RLock()
_STATE = {"configured": False, "warned": False}


def _cache_root():
    """Folder of the on-disk caches, or None when switched off."""
    setting = os.environ.get("BWESTIMATORS_JAX_CACHE", "1")
    if setting.lower() in ("0", "false", "no", "off"):
        return None
    if setting.lower() in ("1", "true", "yes", "on"):
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        return Path(base) / "bwestimators"
    return Path(setting)


def _cache_failed(what, exc):
    """The disk cache is an optimisation: warn once per process and go on without it."""
    logger.debug("sampler cache: %s failed: %r", what, exc)
    if not _STATE["warned"]:
        _STATE["warned"] = True
        warnings.warn(
            f"bwestimators could not use its compile cache ({what}: {exc}); samplers are "
            "compiled in memory instead. Set BWESTIMATORS_JAX_CACHE to a writable folder, "
            "or to 0 to switch the cache off.",
            RuntimeWarning,
            stacklevel=4,
        )


def configure_cache(folder=None):
    """Switch on jax's persistent compilation cache and the exported-sampler cache.

    Called by the first sampler run of a process; call it earlier to choose the
    folder. jax's own cache is left alone when the user configured one.

    Parameters
    ----------
    folder : str, Path or None, default=None
        Where to keep the caches; None reads ``BWESTIMATORS_JAX_CACHE`` (``0``
        switches them off; default ``$XDG_CACHE_HOME/bwestimators`` or
        ``~/.cache/bwestimators``).

    Returns
    -------
    root : Path or None
        The cache folder in use, or None when the cache is off.
    """
    with _LOCK:
        if folder is not None:
            os.environ["BWESTIMATORS_JAX_CACHE"] = str(folder)
        _STATE["configured"] = True
        root = _cache_root()
        if root is None or jax.config.jax_compilation_cache_dir:
            return root
        try:
            (root / "jax").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            _cache_failed(f"creating {root / 'jax'}", exc)
            return None
        jax.config.update("jax_compilation_cache_dir", str(root / "jax"))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
        return root


def _export_folder():
    if not _STATE["configured"]:
        configure_cache()
    root = _cache_root()
    if root is None:
        return None
    folder = root / "exported"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _cache_failed(f"creating {folder}", exc)
        return None
    return folder


def _unconstrained_init(model, data, key):
    """Uniform(-2, 2) initial values in unconstrained space, as numpyro's default."""
    tr = trace(seed(model, 0)).get_trace(data)
    init = {}
    for name, site in tr.items():
        if site["type"] == "sample" and not site["is_observed"]:
            key, sub = jax.random.split(key)
            shape = jnp.shape(biject_to(site["fn"].support).inv(site["value"]))
            init[name] = jax.random.uniform(sub, shape, minval=-2.0, maxval=2.0)
    return init


def _one_chain(
    key, data, *, model, num_warmup, num_samples, target_accept_prob, max_tree_depth, dense_mass
):
    def potential(z):
        return potential_energy(model, (data,), {}, z)

    init_kernel, sample_kernel = hmc(potential_fn=potential, algo="NUTS")
    k_init, k_run = jax.random.split(key)
    state = init_kernel(
        _unconstrained_init(model, data, k_init),
        num_warmup,
        target_accept_prob=target_accept_prob,
        max_tree_depth=max_tree_depth,
        dense_mass=dense_mass,
        rng_key=k_run,
    )

    def step(state, _):
        state = sample_kernel(state)
        return state, (state.z, state.diverging, state.num_steps)

    _, (z, diverging, num_steps) = jax.lax.scan(step, state, None, length=num_warmup + num_samples)
    z, diverging, num_steps = jax.tree.map(lambda x: x[num_warmup:], (z, diverging, num_steps))
    constrained = jax.vmap(lambda zi: constrain_fn(model, (data,), {}, zi, True))(z)
    return constrained, diverging, num_steps


def _source_digest():
    """Digest of the code that defines the sampled programs, part of every disk-cache key."""
    import numpyro

    import bwestimators
    from bwestimators import _configs, _families
    from bwestimators.models import _likelihoods, _slope

    h = hashlib.sha256()
    for module in (_slope, _likelihoods, _families, _configs):
        h.update(Path(module.__file__).read_bytes())
    h.update(Path(__file__).read_bytes())
    h.update(f"{bwestimators.__version__}|{jax.__version__}|{numpyro.__version__}".encode())
    return h.hexdigest()


def _build_run(model_fn, cfg, num_warmup, num_samples, num_chains, accept, depth, dense_mass):
    chain = functools.partial(
        _one_chain,
        model=functools.partial(model_fn, cfg=cfg),
        num_warmup=num_warmup,
        num_samples=num_samples,
        target_accept_prob=accept,
        max_tree_depth=depth,
        dense_mass=dense_mass,
    )

    def run(rng_key, data):
        keys = jax.random.split(rng_key, num_chains)
        return jax.lax.map(lambda k: chain(k, data), keys)

    return jax.jit(run)


def _sampler(model_fn, cfg, settings, rng_key, data, batched=False):
    """The compiled sampler for this configuration and data shape, and whether it is new.

    Kept in memory per process (the most recent :data:`_MAX_SAMPLERS`); with
    the disk cache on, the traced program is also exported to disk
    (``jax.export``), so a new process skips tracing and gets the compiled code
    from jax's persistent compilation cache. A cache that cannot be read or
    written is skipped with one warning.
    """
    shapes = tuple(sorted((k, v.shape, str(v.dtype)) for k, v in data.items()))
    key = (model_fn.__module__, model_fn.__qualname__, cfg, settings, shapes, batched)
    with _LOCK:
        if key in _SAMPLERS:
            _SAMPLERS.move_to_end(key)
            return _SAMPLERS[key], False
        run = _build_run(model_fn, cfg, *settings)
        if batched:
            run = jax.jit(jax.vmap(run))
        folder = _export_folder()
        if folder is not None:
            run = _exported(run, folder, key, rng_key, data)
        _SAMPLERS[key] = run
        while len(_SAMPLERS) > _MAX_SAMPLERS:
            _SAMPLERS.popitem(last=False)
        return run, True


def _exported(run, folder, key, rng_key, data):
    """``run`` through its exported program on disk (read, or traced and written), or ``run``."""
    from jax import export

    digest = hashlib.sha256(f"{_source_digest()}|{key!r}".encode()).hexdigest()[:32]
    path = folder / f"{digest}.jaxexport"
    try:
        if path.exists():
            return jax.jit(export.deserialize(bytearray(path.read_bytes())).call)
    except Exception as exc:  # a stale or damaged file: trace again and replace it
        _cache_failed(f"reading {path}", exc)
    exported = export.export(run)(rng_key, data)
    tmp = path.with_suffix(f".tmp{os.getpid()}-{threading.get_ident()}")
    try:
        tmp.write_bytes(exported.serialize())
        tmp.replace(path)
    except OSError as exc:
        _cache_failed(f"writing {path}", exc)
        tmp.unlink(missing_ok=True)
    return jax.jit(exported.call)


def compiled_sampler_count():
    """Number of compiled NUTS programs in this process (one per configuration and shape)."""
    with _LOCK:
        return sum(f._cache_size() for f in _SAMPLERS.values())


def run_nuts(
    model_fn,
    cfg,
    data,
    *,
    num_warmup,
    num_samples,
    num_chains,
    target_accept_prob,
    max_tree_depth,
    seed_value,
    dense_mass=False,
):
    """Sample ``model(data)`` with NUTS: all chains in one program, compiled once per configuration.

    Parameters
    ----------
    model_fn : callable
        numpyro model ``model_fn(data, cfg)``.
    cfg : hashable
        Static configuration (shapes and switches); one compiled sampler per
        ``(model_fn, cfg)``, sampler settings and data shape.
    data : dict of arrays
    num_warmup, num_samples, num_chains : int
    target_accept_prob : float
    max_tree_depth : int
    seed_value : int
    dense_mass : bool, default=False
        Adapt a dense mass matrix (the posterior covariance) instead of a diagonal one.

    Returns
    -------
    draws : dict of ndarray
        Every sample and deterministic site, shape ``(num_chains, num_samples, ...)``.
    stats : dict of ndarray
        ``diverging`` and ``num_steps``, shape ``(num_chains, num_samples)``.
    """
    settings = (num_warmup, num_samples, num_chains, target_accept_prob, max_tree_depth, dense_mass)
    data = {k: jnp.asarray(v) for k, v in data.items()}
    return _run_compiled(model_fn, cfg, settings, jax.random.PRNGKey(seed_value), data)


def run_nuts_batched(
    model_fn,
    cfg,
    datasets,
    seeds,
    *,
    num_warmup,
    num_samples,
    num_chains,
    target_accept_prob,
    max_tree_depth,
    dense_mass=False,
):
    """Sample ``model(data)`` for many datasets of one shape in one vectorized call.

    The one-dataset program of :func:`run_nuts` is ``jax.vmap``-ed over the
    datasets and compiled once per configuration, shape and number of datasets
    (kept in memory and exported to the disk cache like the single program).
    On a CPU, vectorizing 50 small datasets about doubles the throughput of
    sampling them one after the other.

    Parameters
    ----------
    model_fn, cfg :
        As in :func:`run_nuts`.
    datasets : list of dict of arrays
        Model data of equal shapes.
    seeds : list of int
        One seed per dataset.
    num_warmup, num_samples, num_chains, target_accept_prob, max_tree_depth, dense_mass :
        As in :func:`run_nuts`.

    Returns
    -------
    draws : dict of ndarray
        Shape ``(n_datasets, num_chains, num_samples, ...)``.
    stats : dict of ndarray
        ``diverging`` and ``num_steps``, shape ``(n_datasets, num_chains, num_samples)``.
    """
    settings = (num_warmup, num_samples, num_chains, target_accept_prob, max_tree_depth, dense_mass)
    stacked = {k: jnp.asarray(np.stack([d[k] for d in datasets])) for k in datasets[0]}
    keys = jnp.stack([jax.random.PRNGKey(s) for s in seeds])
    return _run_compiled(model_fn, cfg, settings, keys, stacked, batched=True)


def _run_compiled(model_fn, cfg, settings, keys, data, batched=False):
    """Run the compiled sampler of these settings; draws and stats as numpy arrays."""
    warmup, samples, chains, accept, depth, dense = settings
    settings = (int(warmup), int(samples), int(chains), float(accept), int(depth), bool(dense))
    with _LOCK:
        sampler, new = _sampler(model_fn, cfg, settings, keys, data, batched=batched)
        if new:  # the first call traces the numpyro model: one thread at a time
            out = sampler(keys, data)
    if not new:
        out = sampler(keys, data)
    draws, diverging, num_steps = out
    draws = {k: np.asarray(v) for k, v in draws.items()}
    return draws, {"diverging": np.asarray(diverging), "num_steps": np.asarray(num_steps)}


def run_svi(
    model_fn,
    cfg,
    data,
    *,
    guide="normal",
    num_steps,
    num_draws,
    seed_value,
    learning_rate=0.01,
    progress_bar=False,
):
    """Fit ``model(data)`` by stochastic variational inference and draw from the guide.

    Parameters
    ----------
    model_fn : callable
        numpyro model ``model_fn(data, cfg)``.
    cfg : hashable
    data : dict of arrays
    guide : {"normal", "laplace"}
        numpyro's ``AutoNormal`` or ``AutoLaplaceApproximation``.
    num_steps : int
        Optimisation steps (Adam).
    num_draws : int
        Draws from the fitted guide.
    seed_value : int
    learning_rate : float, default=0.01
        Adam's step size.
    progress_bar : bool, default=False
        numpyro's progress bar over the optimisation steps.

    Returns
    -------
    draws : dict of ndarray
        Shape ``(1, num_draws, ...)`` (one "chain").
    losses : ndarray
        ELBO loss per step.
    """
    from numpyro.infer import SVI, Predictive, Trace_ELBO
    from numpyro.infer.autoguide import AutoLaplaceApproximation, AutoNormal
    from numpyro.optim import Adam

    guides = {"normal": AutoNormal, "laplace": AutoLaplaceApproximation}
    if guide not in guides:
        raise InputError(f"guide must be one of {sorted(guides)}, got {guide!r}.")
    data = {k: jnp.asarray(v) for k, v in data.items()}
    model = functools.partial(model_fn, cfg=cfg)
    auto = guides[guide](model)
    svi = SVI(model, auto, Adam(learning_rate), Trace_ELBO())
    key, sub = jax.random.split(jax.random.PRNGKey(seed_value))
    k_guide, k_model = jax.random.split(sub)
    with _LOCK:  # SVI traces the model on every run
        result = svi.run(key, num_steps, data, progress_bar=progress_bar)
        latent = auto.sample_posterior(k_guide, result.params, sample_shape=(num_draws,))
        deterministic = Predictive(model, posterior_samples=latent)(k_model, data)
    draws = {**latent, **deterministic}
    draws = {k: np.asarray(v)[None] for k, v in draws.items() if k != "loglik"}
    return draws, np.asarray(result.losses)
