"""Running NUTS and SVI: samplers jitted once per configuration, and diagnostics.

numpyro's ``MCMC.run`` compiles its sampler again on every call. Here a
chain is two pure functions of the data, jitted once per model configuration
and kept in a module-level cache: the sampler (warmup and sampling, from
initial values, in unconstrained space) and the draws (the transformation
back to constrained values, with the sites that a model draws given the
sampled ones: the group effects integrated out of the sampled model). The two
compile side by side, in two threads. The chains of a fit run them side by
side, in threads (a compiled jax program runs in the calling thread, without
Python's lock, so threads use every core), and :func:`run_nuts_batched`
vectorizes them over datasets (``jax.vmap``). A refit with the same
configuration on data of the same (padded) shape reuses the compiled
programs, whatever its number of chains. Set the environment variable
``BWESTIMATORS_NUM_THREADS`` to cap the threads (``1``: the chains one after
the other; default: one per CPU core); each chain's keys and initial values
come from the seed alone (made with numpy, :mod:`bwestimators._host_random`:
every random number a program makes costs compile time), so the draws do not
depend on it.

At the first sampler run of a process (or by :func:`configure_cache`),
jax's persistent compilation cache is switched on in the user's cache folder
(``$XDG_CACHE_HOME/bwestimators/jax``, by default ``~/.cache/bwestimators/jax``)
so that a new process does not pay the full compilation, and every traced
program is exported (``jax.export``) to ``.../bwestimators/exported`` so that
a new process does not trace it again either: a fit on exported programs
imports neither numpyro nor the model (numpyro loads in the tracing paths
only), and its programs come from jax's cache. Set the environment variable
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

from bwestimators._warn import capture_warnings, reemit
from bwestimators.exceptions import InputError

logger = logging.getLogger(__name__)

#: SVI guides by name (the ``guide`` parameter): full-rank normal, or Laplace.
_GUIDE_NAMES = ("normal", "laplace")

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
        # every program (the draws of a fit compile in 0.1 s)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
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


def _load_numpyro():
    """Load numpyro safely next to ArviZ (:mod:`bwestimators._numpyro`) before tracing with it.

    Only the tracing paths import numpyro: a sampler exported to the disk
    cache runs without it.
    """
    import bwestimators._numpyro  # noqa: F401


def _init_avals(model, data, batched=False):
    """The model's latent sites, in unconstrained space: ``(names, avals)`` (no computation).

    In the order the model samples them; ``avals``: a tuple of
    ``jax.ShapeDtypeStruct``. With ``batched``, of :func:`jax.vmap` of the
    model over the datasets stacked in ``data``.
    """
    _load_numpyro()
    from numpyro.distributions.transforms import biject_to
    from numpyro.handlers import seed, trace

    names = []

    def unconstrained(data):
        tr = trace(seed(model, 0)).get_trace(data)
        sites = [(n, s) for n, s in tr.items() if s["type"] == "sample" and not s["is_observed"]]
        names[:] = [n for n, _ in sites]
        return [biject_to(s["fn"].support).inv(s["value"]) for _, s in sites]

    avals = jax.eval_shape(jax.vmap(unconstrained) if batched else unconstrained, data)
    return tuple(names), tuple(jax.ShapeDtypeStruct(a.shape, a.dtype) for a in avals)


def _initial_values(avals, keys, batched=False):
    """Uniform(-2, 2) initial values in unconstrained space (numpyro's default) from ``keys``.

    ``avals``: the sites' shapes, in the order the model samples them
    (:func:`_init_avals`; with ``batched``, with the datasets on the leading
    axis); ``keys`` (..., 2): one key per chain (and dataset). For every key,
    site by site, ``key, sub = jax.random.split(key)`` and the site's values
    ``jax.random.uniform(sub, shape, minval=-2, maxval=2)``: made on the host
    (:mod:`bwestimators._host_random`, jax's numbers bit for bit in its
    default mode) unless the keys are not jax's default threefry ones.

    Returns
    -------
    values : tuple of ndarray
        One per site, in the order of ``avals``, of shape ``keys.shape[:-1]``
        followed by the site's own.
    """
    from bwestimators import _host_random

    keys = np.asarray(keys)
    lead = keys.shape[:-1]
    key = keys.reshape(-1, 2)
    shapes = [tuple(a.shape[1:] if batched else a.shape) for a in avals]
    sizes = [int(np.prod(shape, dtype=int)) for shape in shapes]
    on_host = _host_keys_exact([])
    subs = []
    for _ in avals:
        if on_host:
            pair = _host_random.split(key, 2, jax.config.jax_threefry_partitionable)
        else:
            pair = np.stack([np.asarray(jax.random.split(k)) for k in key])
        key = pair[:, 0]
        subs.append(pair[:, 1])
    size = max(sizes, default=0)
    if on_host:  # one hash for all sites: each site's values lead its sub key's
        flat = np.reshape(subs, (-1, 2))
        u = _host_random.uniform(flat, size, -2.0, 2.0).reshape(len(avals), len(key), size)
    else:
        u = [
            [np.asarray(jax.random.uniform(k, (size,), minval=-2.0, maxval=2.0)) for k in sub]
            for sub in subs
        ]
    return tuple(
        np.asarray(u[i])[:, :n].reshape(lead + shape).astype(a.dtype)
        for i, (a, shape, n) in enumerate(zip(avals, shapes, sizes, strict=True))
    )


def _one_chain(
    rng_key,
    init,
    data,
    *,
    model,
    site_names,
    num_warmup,
    num_samples,
    target_accept_prob,
    max_tree_depth,
    dense_mass,
):
    """NUTS on one chain from ``init``: ``(unconstrained draws, diverging, num_steps)``.

    The draws after warmup; ``rng_key`` and ``init`` (the values of the sites
    ``site_names``) from :func:`_chain_key_parts` and :func:`_initial_values`.
    """
    _load_numpyro()
    from numpyro.infer.hmc import hmc
    from numpyro.infer.util import potential_energy

    def potential(z):
        return potential_energy(model, (data,), {}, z)

    init_kernel, sample_kernel = hmc(potential_fn=potential, algo="NUTS")
    state = init_kernel(
        dict(zip(site_names, init, strict=True)),
        num_warmup,
        target_accept_prob=target_accept_prob,
        max_tree_depth=max_tree_depth,
        dense_mass=dense_mass,
        rng_key=rng_key,
    )

    def step(state, _):
        state = sample_kernel(state)
        return state, (state.z, state.diverging, state.num_steps)

    _, (z, diverging, num_steps) = jax.lax.scan(step, state, None, length=num_warmup + num_samples)
    return jax.tree.map(lambda x: x[num_warmup:], (z, diverging, num_steps))


def _constrained_draws(keys, z, data, *, model):
    """The model's sites of the unconstrained draws ``z``, with the sites drawn given them.

    A model may draw sites given the sampled ones (the group effects that
    :mod:`bwestimators.models._marginal` integrates out) with keys of
    ``numpyro.prng_key()``; ``keys`` (from :func:`_chain_key_parts`) holds two
    per draw: the first request of a draw gets its first key, any later one
    a key split from its second.
    """
    _load_numpyro()
    from numpyro.infer.util import constrain_fn

    def one(zi, ki):
        return constrain_fn(_draw_key_handler(model, ki[0], ki[1]), (data,), {}, zi, True)

    return jax.vmap(one)(z, keys)


def _draw_key_handler(model, first, rest):
    """``model`` with its ``numpyro.prng_key()`` requests answered: ``first``, then splits of
    ``rest``.

    (numpyro's ``seed`` handler would split its key at every sample site too:
    a threefry hash per site and draw to compile, for keys that the sites,
    whose values are given, never use.)
    """
    from numpyro.primitives import Messenger

    class _Keys(Messenger):
        def __init__(self, fn):
            self.first, self.rest = first, rest
            super().__init__(fn)

        def process_message(self, msg):
            if msg["type"] != "prng_key" or msg["value"] is not None:
                return
            if msg["kwargs"]["rng_key"] is not None:  # given by a handler of the model's own
                return
            if self.first is not None:
                msg["kwargs"]["rng_key"], self.first = self.first, None
            else:
                self.rest, msg["kwargs"]["rng_key"] = jax.random.split(self.rest)

    return _Keys(model)


def _chain_key_parts(chain_keys, num_samples):
    """The keys of a chain, from its chain key (..., 2): ``(init, run, draws)``.

    ``split(chain_key, 3)``: the key of the initial values (..., 2), the
    sampler's key (..., 2) (in jax's default mode, the two keys of
    ``split(chain_key)``, as before the draws had keys of their own) and the
    key of the draws given the sampled sites, split in two per draw:
    ``(..., num_samples, 2, 2)``. Made on the host
    (nothing to compile) when numpy makes jax's keys bit for bit
    (:func:`_host_keys_exact`), else by jax.
    """
    from bwestimators import _host_random

    chain_keys = np.asarray(chain_keys)
    lead = chain_keys.shape[:-1]
    flat = chain_keys.reshape(-1, 2)
    if _host_keys_exact([]):
        mode = jax.config.jax_threefry_partitionable
        three = _host_random.split(flat, 3, mode)
        draws = _host_random.split(three[:, 2], 2 * num_samples, mode)
    else:
        three = np.stack([np.asarray(jax.random.split(k, 3)) for k in flat])
        draws = np.stack([np.asarray(jax.random.split(k, 2 * num_samples)) for k in three[:, 2]])
    return (
        three[:, 0].reshape(*lead, 2),
        three[:, 1].reshape(*lead, 2),
        draws.reshape(*lead, num_samples, 2, 2),
    )


def _source_digest():
    """Digest of the code that defines the sampled programs, part of every disk-cache key.

    Read from the files, without importing the models or numpyro (a fit on an
    exported sampler runs without them).
    """
    from importlib.metadata import version

    import bwestimators

    package = Path(__file__).parent
    h = hashlib.sha256()
    for name in (
        "models/_slope.py",
        "models/_marginal.py",
        "models/_likelihoods.py",
        "_importance.py",
        "_families.py",
        "_configs.py",
    ):
        h.update((package / name).read_bytes())
    h.update(Path(__file__).read_bytes())
    h.update(f"{bwestimators.__version__}|{jax.__version__}|{version('numpyro')}".encode())
    return h.hexdigest()


def _build_chain(model_fn, cfg, site_names, num_warmup, num_samples, accept, depth, dense_mass):
    """The jitted sampler of one chain: ``(rng_key, init, data) -> (z, diverging, num_steps)``."""
    chain = functools.partial(
        _one_chain,
        model=functools.partial(model_fn, cfg=cfg),
        site_names=site_names,
        num_warmup=num_warmup,
        num_samples=num_samples,
        target_accept_prob=accept,
        max_tree_depth=depth,
        dense_mass=dense_mass,
    )
    return jax.jit(chain)


def _build_draws(model_fn, cfg):
    """The jitted draws of one chain: ``(draw_keys, z, data) -> draws``.

    See :func:`_constrained_draws`.
    """
    return jax.jit(
        functools.partial(_constrained_draws, model=functools.partial(model_fn, cfg=cfg))
    )


def _sampler(model_fn, cfg, program, rng_key, data, batched=False):
    """The compiled programs of one chain for this configuration and data shape.

    Returns ``(sampler, draws, init_avals)``: the sampler, ``(rng_key, init,
    data) -> (z, diverging, num_steps)`` (NUTS, in the unconstrained space,
    from the initial values ``init``), the draws, ``(draw_keys, z, data) ->
    draws`` (every site, constrained, with the sites a model draws given the
    sampled ones), and the shapes of ``init`` (:func:`_init_avals`); the keys
    come from :func:`_chain_key_parts`, the initial values from
    :func:`_initial_values`. The two programs compile side by side: the
    draws in a helper thread while the sampler is traced and compiled (XLA
    compiles without Python's lock). ``program`` holds the sampler settings but
    the number of chains (every chain runs the same programs, see
    :func:`_run_chains`); ``rng_key`` and ``data`` are arguments of one call,
    which fix the shapes they are compiled for. Kept in memory per process
    (the most recent :data:`_MAX_SAMPLERS`); with the disk cache on, the traced
    programs are also exported to disk (``jax.export``), so a new process
    skips tracing and gets the compiled code from jax's persistent compilation
    cache. A cache that cannot be read or written is skipped with one warning.
    Call with :data:`_LOCK` held: tracing a numpyro model is not thread-safe.
    """
    shapes = tuple(sorted((k, v.shape, str(v.dtype)) for k, v in data.items()))
    key = (_model_key(model_fn), cfg, program, shapes, batched)
    if key in _SAMPLERS:
        _SAMPLERS.move_to_end(key)
        return _SAMPLERS[key]
    folder = _export_folder() if _builtin(model_fn) else None
    path = _export_path(folder, key) if folder is not None else None
    exported = _read_export(path) if path is not None else None
    lead = np.shape(rng_key)[:-1]
    if exported is None:  # the model's sites, traced
        names, init = _init_avals(functools.partial(model_fn, cfg=cfg), data, batched)
        z = {
            n: jax.ShapeDtypeStruct((*lead, program[1], *v.shape[len(lead) :]), v.dtype)
            for n, v in zip(names, init, strict=True)
        }
    else:  # the initial values that the exported sampler takes, the draws it gives
        init = jax.tree.unflatten(exported.in_tree, exported.in_avals)[0][1]
        z = jax.tree.unflatten(exported.out_tree, exported.out_avals)[0]
    init = tuple(jax.ShapeDtypeStruct(v.shape, v.dtype) for v in init)
    z = {k: jax.ShapeDtypeStruct(v.shape, v.dtype) for k, v in z.items()}
    # the draws first, compiled in a helper thread while the sampler is traced
    draws = _build_draws(model_fn, cfg)
    if batched:
        draws = jax.jit(jax.vmap(draws))
    compile_draws = _draws_compiler(draws, folder, key, z, data, program[1], lead, batched)
    if exported is None:
        run = _build_chain(model_fn, cfg, names, *program)
        if batched:
            run = jax.jit(jax.vmap(run))
        if path is not None:
            exported = _write_export(run, path, (rng_key, init, data))
    if exported is not None:
        run = jax.jit(exported.call)
    lowered = run.lower(rng_key, init, data)
    out = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), lowered.out_info[0])
    if out != z:  # the draws' program was made for the sites of the initial values
        raise RuntimeError(f"The sampler's draws {out} are not those of its initial values {z}.")
    # compiled ahead of the calls, here under the lock: the chains then run in threads
    compiled = (lowered.compile(), compile_draws(), init)
    _SAMPLERS[key] = compiled
    while len(_SAMPLERS) > _MAX_SAMPLERS:
        _SAMPLERS.popitem(last=False)
    return compiled


def _draws_compiler(draws, folder, key, z, data, num_samples, lead, batched):
    """Trace (or read) the draws program and start compiling it; returns a function that
    waits for the compiled program (:func:`_in_background`)."""
    draw_keys = jax.ShapeDtypeStruct((*lead, num_samples, 2, 2), np.uint32)
    if folder is not None:
        draws = _exported(draws, folder, (*key, "draws"), draw_keys, z, data)
    lowered = draws.lower(draw_keys, z, data)
    return _in_background(lambda: lowered.compile(None if batched else _DRAWS_OPTIONS))


#: XLA's options for the draws of one dataset, run once per chain: less of LLVM's
#: optimization cuts their compile time (LFP data, 4 chains of 1000 draws, CPU seconds of
#: compile: 0.2 at the default level, 0.18 at level 1, 0.12 at level 0; with group slopes
#: 1, 0.77 and 0.4) for a slower chain (level 1: 0.05-0.2 ms more, level 0: 0.5-1.3 ms, which
#: would take a refit of the issue's workload to the 0.1 s it must stay under).
_DRAWS_OPTIONS = {"xla_backend_optimization_level": 1}


def _in_background(fn):
    """Start ``fn()`` in a helper thread; returns a function that waits for its result.

    With one thread (:func:`bwestimators._threads.num_threads`), ``fn()`` runs
    at once, in the calling thread.
    """
    from bwestimators._threads import num_threads

    if num_threads() <= 1:
        result = fn()
        return lambda: result
    out = {}

    def target():
        try:
            out["result"] = fn()
        except BaseException as exc:  # re-raised in the waiting thread
            out["error"] = exc

    thread = threading.Thread(target=target, name="bwestimators-compile", daemon=True)
    thread.start()

    def wait():
        thread.join()
        if "error" in out:
            raise out["error"]
        return out["result"]

    return wait


def _builtin(model_fn):
    """Whether ``model_fn`` is one of the package's models (:mod:`bwestimators.models`)."""
    return getattr(model_fn, "__module__", "").startswith("bwestimators.models")


def _model_key(model_fn):
    """The model's part of a sampler's cache key.

    A built-in model by its name (its code is in :func:`_source_digest`, so
    the name also keys the disk cache); a user's model by the function object
    itself, in memory only: two user functions never share a sampler even with
    the same name (lambdas, a function redefined in a notebook), and since the
    code a user's model calls cannot be digested reliably, it is never exported
    to disk (jax's persistent compilation cache, keyed by the program itself,
    still applies).
    """
    if _builtin(model_fn):
        return (model_fn.__module__, model_fn.__qualname__)
    return ("user", model_fn)


def _exported(run, folder, key, *args):
    """``run`` through its exported program on disk (read, or traced and written), or ``run``.

    ``args``: the arguments of a call (arrays or ``jax.ShapeDtypeStruct``), which
    fix the shapes it is exported for; ``key`` keys the file.
    """
    path = _export_path(folder, key)
    exported = _read_export(path)
    if exported is None:
        exported = _write_export(run, path, args)
    return jax.jit(exported.call)


def _export_path(folder, key):
    """The file of the exported program of ``key`` (with the digest of the code) in ``folder``."""
    digest = hashlib.sha256(f"{_source_digest()}|{key!r}".encode()).hexdigest()[:32]
    return folder / f"{digest}.jaxexport"


def _read_export(path):
    """The ``jax.export.Exported`` in ``path``, or None (missing, or unreadable: one warning)."""
    from jax import export

    try:
        if path.exists():
            return export.deserialize(bytearray(path.read_bytes()))
    except Exception as exc:  # a stale or damaged file: traced again and replaced
        _cache_failed(f"reading {path}", exc)
    return None


def _write_export(run, path, args):
    """``run`` exported for the arguments ``args``, and written to ``path`` (if it can be)."""
    from jax import export

    exported = export.export(run)(*args)
    tmp = path.with_suffix(f".tmp{os.getpid()}-{threading.get_ident()}")
    try:
        tmp.write_bytes(exported.serialize())
        tmp.replace(path)
    except OSError as exc:
        _cache_failed(f"writing {path}", exc)
        tmp.unlink(missing_ok=True)
    return exported


def _settings_tuple(num_warmup, num_samples, num_chains, target_accept_prob, max_tree_depth, dense):
    """The sampler settings, normalized: ``(program settings, number of chains)``.

    The program settings (all but the number of chains) key the compiled
    samplers: every chain runs the same one-chain program.
    """
    program = (
        int(num_warmup),
        int(num_samples),
        float(target_accept_prob),
        int(max_tree_depth),
        bool(dense),
    )
    return program, int(num_chains)


def compiled_configs(model_fn, settings, data, level_keys=()):
    """Configurations of the compiled one-dataset samplers that ``data`` fits, most recent first.

    Parameters
    ----------
    model_fn : callable
    settings : dict
        The keyword settings of :func:`run_nuts` (``num_warmup``, ... ``dense_mass``).
    data : dict of arrays
        The model data, without the arrays named in ``level_keys``.
    level_keys : tuple of str
        Arrays whose shapes follow the configuration's level counts (not compared).

    Returns
    -------
    configs : list of (configuration, int)
        The configurations of samplers of the same model and settings, compiled
        for data of the same shapes (the arrays of ``level_keys`` aside) or of
        more cells (:func:`bwestimators._cells.cells_fit`), each with its
        number of cells.
    """
    from bwestimators._cells import cells_fit

    settings, _ = _settings_tuple(
        settings["num_warmup"],
        settings["num_samples"],
        settings["num_chains"],
        settings["target_accept_prob"],
        settings["max_tree_depth"],
        settings.get("dense_mass", False),
    )
    shapes = {k: tuple(np.shape(v)) for k, v in data.items() if k not in level_keys}
    name = _model_key(model_fn)
    found = []
    with _LOCK:
        for model_key, cfg, key_settings, key_shapes, batched in reversed(_SAMPLERS):
            if batched or model_key != name or key_settings != settings:
                continue
            others = {k: shape for k, shape, _ in key_shapes if k not in level_keys}
            size = cells_fit(others, shapes)
            if size is not None:
                found.append((cfg, size))
    return found


_SHARE = {"enabled": False}


def share_compiled_samplers(enabled=True):
    """Let a fit with fewer levels run on a sampler compiled for more, with padded levels.

    Off by default, so that a fit's draws depend only on its data and
    ``random_state``, never on what was fitted before it in the process. On,
    a dataset with fewer groups, group2 levels or conditions (at most 1.5
    times fewer) than a sampler compiled earlier in this process runs on that
    sampler instead of compiling its own (seconds): its extra levels are
    independent normals without data, which leave the posterior of the real
    levels unchanged (the draws differ within Monte Carlo error), and they are
    sliced off right after sampling. New samplers then get 25 % more levels of
    headroom. For many fits of varied shapes in one process: grid searches
    over folds with different numbers of animals, notebooks.

    Parameters
    ----------
    enabled : bool, default=True

    Returns
    -------
    previous : bool
        The setting before the call (to restore it).

    Examples
    --------
    >>> from bwestimators import inference
    >>> previous = inference.share_compiled_samplers(True)
    >>> inference.share_compiled_samplers(previous)
    True
    """
    previous = _SHARE["enabled"]
    _SHARE["enabled"] = bool(enabled)
    return previous


def sharing_compiled_samplers():
    """Whether :func:`share_compiled_samplers` is on."""
    return _SHARE["enabled"]


def compiled_sampler_count():
    """Number of compiled NUTS programs in this process (one per configuration and shape).

    The number of chains is no part of a program: chains run the same one-chain
    program side by side.
    """
    with _LOCK:
        return len(_SAMPLERS)


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
    """Sample ``model(data)`` with NUTS: chains side by side, compiled once per configuration.

    Every chain runs the same one-chain program, with its key split from
    ``seed_value`` (so the draws depend on the seed only, not on the number of
    threads); the chains run in up to :func:`bwestimators._threads.num_threads`
    threads at a time.

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
    data = _to_device({k: np.asarray(v) for k, v in data.items()})
    keys = _chain_keys([seed_value], int(num_chains))[0]
    return _run_compiled(model_fn, cfg, settings, keys, data)


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

    The one-chain program of :func:`run_nuts` is ``jax.vmap``-ed over the
    datasets and compiled once per configuration, shape and number of datasets
    (kept in memory and exported to the disk cache like the single program);
    each chain is one call of it, over every dataset, and the chains run in up
    to :func:`bwestimators._threads.num_threads` threads at a time. On a CPU,
    vectorizing 50 small datasets about doubles the throughput of sampling them
    one after the other.

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
    stacked = _to_device({k: np.stack([d[k] for d in datasets]) for k in datasets[0]})
    keys = _chain_keys(seeds, int(num_chains))
    return _run_compiled(model_fn, cfg, settings, keys, stacked, batched=True)


def _to_device(data):
    """Arrays on the device, in jax's dtypes (float32 unless x64), without compiling anything.

    (``jnp.asarray`` compiles a small program per shape and dtype on its first use.)
    """
    return jax.device_put(data)


def _prng_key(seed_value):
    """``jax.random.PRNGKey(seed_value)``, made on the host for usual seeds (nothing to compile).

    Examples
    --------
    >>> import jax, numpy as np
    >>> from bwestimators.inference import _prng_key
    >>> bool(np.all(np.asarray(_prng_key(12345)) == np.asarray(jax.random.PRNGKey(12345))))
    True
    """
    seed_value = int(seed_value)
    if _host_keys_exact([seed_value]):
        return np.array([0, seed_value], dtype=np.uint32)  # threefry's seed: (high, low) words
    return jax.random.PRNGKey(seed_value)


def _host_keys_exact(seeds):
    """Whether numpy makes jax's keys of these seeds bit for bit: jax's default threefry
    keys (no custom PRNG) of seeds in ``[0, 2**31)``."""
    return (
        getattr(jax.config, "jax_default_prng_impl", None) == "threefry2x32"
        and not getattr(jax.config, "jax_enable_custom_prng", True)
        and all(0 <= s < 2**31 for s in seeds)
    )


def _chain_keys(seeds, num_chains):
    """``jax.random.split(jax.random.PRNGKey(seed), num_chains)`` of each seed, in numpy.

    Shape ``(len(seeds), num_chains, 2)``. Computed with numpy (jax's default
    threefry keys of seeds in ``[0, 2**31)``, bit for bit), as a jax
    computation would cost a compilation in every new process; with another
    key implementation, by jax.
    """
    from bwestimators import _host_random

    seeds = [int(s) for s in seeds]
    if not _host_keys_exact(seeds):
        return np.stack(
            [np.asarray(jax.random.split(jax.random.PRNGKey(s), num_chains)) for s in seeds]
        )
    keys = np.zeros((len(seeds), 2), dtype=np.uint32)  # PRNGKey(seed) is (0, seed)
    keys[:, 1] = seeds
    return _host_random.split(keys, num_chains, jax.config.jax_threefry_partitionable)


def _run_compiled(model_fn, cfg, settings, keys, data, batched=False):
    """Run the chains (keys on axis 0, or 1 when ``batched``); draws and stats as numpy arrays."""
    program, num_chains = _settings_tuple(*settings)
    init_keys, run_keys, draw_keys = _chain_key_parts(keys, program[1])

    def chain(a, c):
        return a[:, c] if batched else a[c]

    with _LOCK:  # tracing the numpyro model: one thread at a time
        sampler, draws, init = _sampler(
            model_fn, cfg, program, chain(run_keys, 0), data, batched=batched
        )
    values = _initial_values(init, init_keys, batched)
    jobs = [
        (chain(run_keys, c), tuple(chain(v, c) for v in values), chain(draw_keys, c))
        for c in range(num_chains)
    ]
    outs = _run_chains((sampler, draws), jobs, data)
    axis = 1 if batched else 0
    draws = {k: np.stack([o[0][k] for o in outs], axis=axis) for k in outs[0][0]}
    stats = {
        "diverging": np.stack([o[1] for o in outs], axis=axis),
        "num_steps": np.stack([o[2] for o in outs], axis=axis),
    }
    return draws, stats


def _run_chains(programs, jobs, data):
    """The outputs of every chain as numpy arrays, in order, the chains run side by side.

    ``programs``: the compiled sampler and draws of :func:`_sampler`; ``jobs``:
    the sampler key, the initial values and the draw keys of every chain. In
    up to :func:`bwestimators._threads.num_threads` threads, each taking the
    next chain when it finishes one: which thread ran a chain changes the
    timing, never the draws (each chain's keys are fixed).
    """
    from bwestimators._threads import run_all

    sampler, draws = programs

    def chain(job):
        rng_key, init, draw_keys = job
        z, diverging, num_steps = sampler(rng_key, init, data)
        return jax.tree.map(np.asarray, (draws(draw_keys, z, data), diverging, num_steps))

    return run_all(chain, jobs)


#: SVI runs in jitted chunks of this many steps; the plateau is checked between chunks.
_SVI_CHUNK = 250
#: The plateau compares the mean loss of the last window of steps with the one before.
_SVI_WINDOW = 1000
#: Relative change of the mean loss (per window) under which the optimisation has converged.
_SVI_RTOL = 1e-3
#: Draws of the guide per step in the ELBO's gradient: 4 rather than 1 make the steps less
#: noisy, and the fitted guide closer to the optimum (on the LFP and sleepstudy data, a
#: Pareto k-hat of its importance weights 0.4-0.66 rather than 0.3-0.74).
_SVI_PARTICLES = 4
#: Draws of the guide (at least; twice the draws returned when more) whose importance
#: weights against the model are Pareto-smoothed and resampled: the ESS of the weights grows
#: in proportion to them, so more ``num_samples`` give more effective draws.
_SVI_PSIS_DRAWS = 8000
#: Scales of the guide's covariance factor whose normals are the importance-sampling
#: proposals: the guide itself, and wider versions of it, as a guide fitted by minimizing
#: KL(q || p) is narrower than the posterior, and a proposal narrower than its target has
#: heavy-tailed weights (LFP example, 8 seeds: k-hat 0.47-0.78 for the guide's weights,
#: 0.16-0.53 for those of the guide widened by 1.1, 0.13-0.33 by 1.25, at a third of the ESS).
_SVI_PROPOSAL_SCALES = (1.0, 1.1, 1.25)
#: Compiled SVI programs (chunk of steps, draws -> model): configuration -> functions.
_SVI_PROGRAMS = OrderedDict()


def _svi_guide(guide, model):
    _load_numpyro()
    from numpyro.infer.autoguide import AutoLaplaceApproximation, AutoMultivariateNormal

    guides = {"normal": AutoMultivariateNormal, "laplace": AutoLaplaceApproximation}
    if guide not in guides:
        raise InputError(f"guide must be one of {sorted(guides)}, got {guide!r}.")
    return guides[guide](model)


def _svi_elbo(guide):
    """The ELBO: :data:`_SVI_PARTICLES` draws per step for a normal guide, 1 for Laplace's MAP."""
    from numpyro.infer import Trace_ELBO

    particles = 1 if guide == "laplace" else _SVI_PARTICLES
    return Trace_ELBO(num_particles=particles, vectorize_particles=True)


def _svi_program(model_fn, cfg, guide, learning_rate, key, data):
    """The jitted chunk of SVI steps and the jitted model terms of draws, cached per shape.

    The chunk returns the state, the loss of each step and the mean of the
    (constrained) guide parameters over its steps, for the iterate average of
    :func:`run_svi`. The cached SVI object's guide is only used for its
    structure (the jitted update substitutes the parameters); the initial values
    and the posterior of a fit come from a fresh guide set up on that fit's data
    and seed.
    """
    _load_numpyro()
    from numpyro.infer import SVI
    from numpyro.infer.util import constrain_fn, potential_energy
    from numpyro.optim import Adam

    if not _STATE["configured"]:  # jax's persistent compilation cache, as for NUTS
        configure_cache()
    shapes = tuple(sorted((k, v.shape, str(v.dtype)) for k, v in data.items()))
    cache_key = (_model_key(model_fn), cfg, guide, learning_rate, shapes)
    with _LOCK:
        if cache_key in _SVI_PROGRAMS:
            _SVI_PROGRAMS.move_to_end(cache_key)
            return _SVI_PROGRAMS[cache_key]
        model = functools.partial(model_fn, cfg=cfg)
        svi = SVI(model, _svi_guide(guide, model), Adam(learning_rate), _svi_elbo(guide))
        svi.init(key, data)  # sets the guide's structure up with concrete values

        @jax.jit
        def chunk(state, data):
            def step(carry, _):
                state, total = carry
                state, loss = svi.update(state, data)
                total = jax.tree.map(jnp.add, total, svi.get_params(state))
                return (state, total), loss

            zero = jax.tree.map(jnp.zeros_like, svi.get_params(state))
            (state, total), losses = jax.lax.scan(step, (state, zero), None, length=_SVI_CHUNK)
            return state, losses, jax.tree.map(lambda t: t / _SVI_CHUNK, total)

        @jax.jit
        def model_terms(z, data):
            log_p = jax.vmap(lambda zi: -potential_energy(model, (data,), {}, zi))(z)
            draws = jax.vmap(lambda zi: constrain_fn(model, (data,), {}, zi, True))(z)
            return draws, log_p

        _SVI_PROGRAMS[cache_key] = (chunk, model_terms)
        while len(_SVI_PROGRAMS) > _MAX_SAMPLERS:
            _SVI_PROGRAMS.popitem(last=False)
        return chunk, model_terms


def _plateau(losses):
    """Whether the mean loss of the last window changed by less than the tolerance.

    The change counts as a plateau when it is below ``_SVI_RTOL`` times the loss
    (at least 1) or below twice the standard error of the difference of the two
    window means (the steps are noisy); NaN losses are no plateau.
    """
    if len(losses) < 2 * _SVI_WINDOW:
        return False
    prev, last = losses[-2 * _SVI_WINDOW : -_SVI_WINDOW], losses[-_SVI_WINDOW:]
    if not (np.all(np.isfinite(prev)) and np.all(np.isfinite(last))):
        return False
    change = abs(float(np.mean(prev) - np.mean(last)))
    se = np.sqrt((np.var(prev) + np.var(last)) / _SVI_WINDOW)
    return change < max(_SVI_RTOL * max(abs(float(np.mean(last))), 1.0), 2 * se)


def _svi_optimize(svi, state, chunk, data, num_steps, progress_bar):
    """Adam in chunks until the loss plateau or ``num_steps``: losses, converged, params.

    The parameters returned are the average of the iterates over the last
    window of steps when the loss reached its plateau (Polyak-Ruppert
    averaging: the noise of the stochastic steps averages out), the last
    iterate otherwise.
    """
    from tqdm.auto import tqdm

    losses, means, converged = [], [], False
    with tqdm(total=int(num_steps), desc="SVI", disable=not progress_bar) as bar:
        while len(losses) < num_steps and not converged:
            state, chunk_losses, mean = chunk(state, data)
            chunk_losses = np.asarray(chunk_losses)[: num_steps - len(losses)]
            losses.extend(chunk_losses.tolist())
            means.append(mean)
            bar.update(len(chunk_losses))
            converged = _plateau(np.asarray(losses))
    if not converged:
        return np.asarray(losses), False, svi.get_params(state)
    window = means[-max(1, _SVI_WINDOW // _SVI_CHUNK) :]
    params = jax.tree.map(lambda *xs: sum(xs) / len(xs), *window)
    return np.asarray(losses), True, params


def _svi_proposals(posterior, unpack, model_terms, data, key, n):
    """The guide's draws and wider versions of them, with their importance log-ratios.

    For each scale ``s`` of :data:`_SVI_PROPOSAL_SCALES`, the proposal is the
    guide's normal with its covariance factor times ``s``; its draws are the
    guide's draws moved away from the mean by ``s`` (the same normal deviates),
    of log-density ``log q(x) - d log s``.

    Returns
    -------
    flat : array of shape (n, d)
        The guide's draws (unconstrained, flattened), for the degeneracy check.
    proposals : list of (scale, draws, log_ratios)
        ``draws``: the model's sites of the proposal's draws; ``log_ratios``:
        ``log p(theta, y) - log q_s(theta)``.
    """
    flat = posterior.sample(key, (n,))
    log_q = np.asarray(posterior.log_prob(flat), dtype=float)
    loc = posterior.loc
    d = flat.shape[-1]
    proposals = []
    for scale in _SVI_PROPOSAL_SCALES:
        z = jax.vmap(unpack)(loc + scale * (flat - loc))
        draws, log_p = model_terms(z, data)
        log_ratios = np.asarray(log_p, dtype=float) - (log_q - d * np.log(scale))
        proposals.append((scale, draws, log_ratios))
    return flat, proposals


def _svi_resample(proposals, num_draws, seed_value):
    """PSIS-corrected draws (Yao et al. 2018): proposal draws resampled by their weights.

    Returns the ``num_draws`` draws and the PSIS statistics. Among the
    proposals whose Pareto k-hat is at most
    :data:`~bwestimators._psis.MAX_PARETO_K`, the one of the largest effective
    sample size is resampled (systematic resampling) by its Pareto-smoothed
    weights, and the ESS of the draws is that of the weights combined with the
    resampling (:func:`~bwestimators._psis.resample_ess`). When no proposal
    qualifies the weights cannot be trusted: the guide's own first
    ``num_draws`` draws are returned uncorrected, with the k-hat and the ESS of
    the guide's weights (which say how poorly they represent the posterior).
    """
    from bwestimators._psis import (
        MAX_PARETO_K,
        psis_ess,
        psis_weights,
        resample_ess,
        systematic_resample,
    )

    weighted = []
    for scale, draws, log_ratios in proposals:
        log_weights, k = psis_weights(log_ratios)
        ess = psis_ess(log_weights) if np.isfinite(k) else 0.0
        weighted.append((scale, draws, log_weights, k, ess))
    usable = [w for w in weighted if w[3] <= MAX_PARETO_K]
    if usable:
        scale, draws, log_weights, k, ess = max(usable, key=lambda w: w[4])
        idx = systematic_resample(log_weights, num_draws, np.random.default_rng(seed_value))
        ess = resample_ess(ess, num_draws)
    else:
        scale, draws, _, k, ess = next(w for w in weighted if w[0] == 1.0)
        idx = np.arange(num_draws)
        ess = min(ess, float(num_draws))
    draws = {name: np.asarray(v)[None, idx] for name, v in draws.items() if name != "loglik"}
    stats = {
        "pareto_k": k,
        "psis_corrected": bool(usable),
        "psis_ess": float(ess),
        "psis_proposal_scale": float(scale),
    }
    return draws, stats


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
    """Fit ``model(data)`` by stochastic variational inference, draws corrected by PSIS.

    Adam (the ELBO's gradient from ``_SVI_PARTICLES`` draws of a normal guide per
    step) runs in jitted chunks of ``_SVI_CHUNK`` steps (compiled once per model
    configuration and data shape) until the mean ELBO loss reaches a plateau: its
    change between two consecutive windows of ``_SVI_WINDOW`` steps is under
    ``_SVI_RTOL`` relative, or within the noise of the steps (see :func:`_plateau`),
    or until ``num_steps``. The guide's parameters are then the average of the
    iterates over the last window. The draws are checked: a guide whose draws
    are not finite, or with a latent of zero sd (a Laplace approximation at a
    singular Hessian, a collapsed scale), raises a RuntimeError instead of
    returning a point mass as a confident posterior.

    A normal guide fitted by minimizing KL(q || p) is narrower than the
    posterior. Draws (twice ``num_draws``, at least ``_SVI_PSIS_DRAWS``) of the
    guide and of wider versions of it (:data:`_SVI_PROPOSAL_SCALES`) are weighted by
    ``p(theta, y) / q(theta)``, the weights Pareto-smoothed (PSIS), and
    ``num_draws`` draws are resampled by the weights of the proposal of the
    largest effective sample size among those whose Pareto k-hat is at most
    0.7: PSIS-corrected VI (Yao et al. 2018, "Yes, but did it work?: evaluating
    variational inference", ICML). When every k-hat is above 0.7 the weights
    cannot be trusted; the guide's draws are returned uncorrected, and the
    caller warns.

    Parameters
    ----------
    model_fn : callable
        numpyro model ``model_fn(data, cfg)``.
    cfg : hashable
    data : dict of arrays
    guide : {"normal", "laplace"}
        numpyro's ``AutoMultivariateNormal`` (a full-rank normal in the
        unconstrained space) or ``AutoLaplaceApproximation``.
    num_steps : int
        The most optimisation steps (Adam); fewer when the loss reaches its plateau.
    num_draws : int
        Draws returned.
    seed_value : int
    learning_rate : float, default=0.01
        Adam's step size.
    progress_bar : bool, default=False
        A tqdm bar over the optimisation steps.

    Returns
    -------
    draws : dict of ndarray
        Shape ``(1, num_draws, ...)`` (one "chain"), in random order; resampled
        draws repeat some draws of the guide.
    stats : dict
        ``losses`` (ELBO loss per step run), ``num_steps`` (steps run),
        ``converged`` (the plateau was reached), ``final_loss`` (mean loss of the
        last window), ``pareto_k`` (PSIS k-hat of the proposal resampled, or of
        the guide when none was), ``psis_corrected`` (the draws were resampled),
        ``psis_ess`` (their effective sample size, see :func:`_svi_resample`) and
        ``psis_proposal_scale`` (the scale of the proposal, 1 for the guide).

    Raises
    ------
    RuntimeError
        When the fitted guide is degenerate (non-finite draws or a zero sd).
    """
    if guide not in _GUIDE_NAMES:
        raise InputError(f"guide must be one of ['laplace', 'normal'], got {guide!r}.")
    model = functools.partial(model_fn, cfg=cfg)
    auto = _svi_guide(guide, model)
    data = _to_device({k: np.asarray(v) for k, v in data.items()})
    key, sub = jax.random.split(_prng_key(seed_value))
    k_init, k_draw = jax.random.split(sub)
    chunk, model_terms = _svi_program(model_fn, cfg, guide, float(learning_rate), k_init, data)

    from numpyro.infer import SVI
    from numpyro.optim import Adam

    with _LOCK:  # a fresh guide, set up (traced) on this data and seed
        svi = SVI(model, auto, Adam(float(learning_rate)), _svi_elbo(guide))
        state = svi.init(key, data)
    losses, converged, params = _svi_optimize(svi, state, chunk, data, int(num_steps), progress_bar)
    with capture_warnings() as caught:  # this thread's only, as fits may run in threads
        posterior = auto.get_posterior(params)
    reemit(caught, skip="Hessian of log posterior")  # a singular one is reported below, as an error
    # twice the draws returned (at least _SVI_PSIS_DRAWS): the ESS of the draws, that of the
    # weights combined with the resampling (_svi_resample), grows with num_draws
    n = max(2 * int(num_draws), _SVI_PSIS_DRAWS)
    flat, proposals = _svi_proposals(posterior, auto._unpack_latent, model_terms, data, k_draw, n)
    _check_guide_draws(guide, jax.vmap(auto._unpack_latent)(flat), flat)
    draws, psis = _svi_resample(proposals, int(num_draws), seed_value)
    stats = {
        "losses": losses,
        "num_steps": len(losses),
        "converged": bool(converged),
        "final_loss": float(np.mean(losses[-_SVI_WINDOW:])),
        **psis,
    }
    return draws, stats


def _check_guide_draws(guide, z, flat):
    """Raise when the guide's draws are not finite or a latent has zero sd (a point mass)."""
    flat = np.asarray(flat)
    bad = []
    if not np.all(np.isfinite(flat)):
        bad.append("non-finite draws")
    spread = np.ptp(flat, axis=0)  # exactly 0 for a point mass (a float32 sd need not be)
    if np.any(spread == 0) or not np.all(np.isfinite(spread)):
        names = [k for k, v in z.items() if not np.all(np.ptp(np.asarray(v), axis=0) > 0)]
        bad.append(f"zero or non-finite posterior sd of {names or 'some latents'}")
    if bad:
        hint = (
            "The Laplace approximation needs a non-singular Hessian at the posterior mode, "
            "which hierarchical models often lack (a random-effect sd at 0)"
            if guide == "laplace"
            else "The optimisation diverged"
        )
        raise RuntimeError(
            f"SVI guide {guide!r} is degenerate ({'; '.join(bad)}): it would report a point "
            f"mass as a confident posterior. {hint}; use guide='normal' or method='nuts'."
        )
