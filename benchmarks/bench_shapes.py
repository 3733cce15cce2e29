"""How many compiled samplers a grid search over datasets needs, with and without shape buckets.

A sampler is compiled once per model configuration and padded data shape
(:func:`bwestimators.inference.compiled_sampler_count`). The grid: the shipped
datasets (radon, chirp power) and generated LFP and spike datasets of several
sizes (5 to 16 mice, several trial counts), each under the likelihoods of
``--likelihoods``. The distinct sampler keys are counted from the prepared
model data (no sampling), once as :meth:`fit` does it (cells padded to
buckets of at least 64, a fit of fewer levels reusing the sampler of an earlier
one of at most 1.5 times as many, :func:`bwestimators._cells.reusable_config`),
in the grid's order and largest first, and once with the exact level counts
and the former cell buckets (8, 12, 16, ...). ``--time`` also times a fit of 7
mice after one of 10 in one process (a new shape after another): with the
samplers shared and the disk cache off, and with the defaults (no sharing) and
a warm disk cache (a fresh process after one that fitted both shapes, in a
temporary cache folder).

Usage::

    python benchmarks/bench_shapes.py [--likelihoods normal student] [--time]

Prints one JSON document.
"""

import argparse
import json
import os
import time
import warnings


def grid(likelihoods, small=False):
    """(name, estimator, X, y) of the grid search."""
    from bwestimators import ColumnSpec, HierarchicalSlopeRegressor
    from bwestimators.datasets import (
        generate_fake_lfp,
        generate_fake_spikes,
        load_chirp_power,
        load_radon,
    )

    frames = []
    for n_mice in (5, 7, 10) if small else (5, 6, 7, 8, 10, 12, 16):
        for n_trials in (10,) if small else (10, 30):
            df = generate_fake_lfp(
                mouse_response_slope=9, n_trials=n_trials, n_mice=n_mice, random_state=0
            ).df
            frames.append((f"lfp_{n_mice}x{n_trials}", ColumnSpec("stim", group="mouse"), df))
    if not small:
        for n_mice, n_neurons in ((4, 5), (6, 7), (6, 8)):
            df = generate_fake_spikes(
                n_trials=5, n_neurons=n_neurons, n_mice=n_mice, mouse_response_slope=12,
                overall_stim_response_strength=45, random_state=0,
            ).df  # fmt: skip
            spec = ColumnSpec("stim", condition="neuron_x_mouse", group="mouse")
            frames.append((f"spikes_{n_mice}x{n_neurons}", spec, df.assign(y=df["isi"])))
        frames.append(("radon", ColumnSpec("floor", group="county"), load_radon()))
        chirp = ColumnSpec("stim_on", condition=["Stim phase", "Inversion"], group="Subject")
        frames.append(("chirp_power", chirp, load_chirp_power()))
    y_of = {"radon": "log_radon"}
    for name, spec, df in frames:
        y = df[y_of.get(name, "y" if "y" in df else "Log power")]
        for dist_y in likelihoods:
            if dist_y in ("lognormal", "gamma") and (y <= 0).any():
                continue  # a likelihood the data do not support is not part of the search
            yield name, HierarchicalSlopeRegressor(spec, dist_y=dist_y, random_state=0), df, y


def sampler_keys(likelihoods, padded, small=False, reverse=False):
    """The number of fits and of compiled samplers of the grid search (in order, or reversed).

    With ``padded``, a fit reuses the sampler of an earlier fit of at most
    :data:`bwestimators._cells.MAX_PADDING` times as many levels (as
    :meth:`fit` does, :func:`bwestimators._cells.reusable_config`); without, the
    level counts are exact and the cells use the former buckets (8, 12, 16, ...).
    """
    from bwestimators import _cells

    saved = _cells.bucket.__defaults__
    if not padded:
        _cells.bucket.__defaults__ = (8,)
    compiled, fits = [], 0  # (configuration, shapes of the other arrays), most recent first
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            runs = list(grid(likelihoods, small))
            for _, est, df, y in reversed(runs) if reverse else runs:
                cells, _ = est._prepare(df, y)
                shapes = {
                    k: tuple(getattr(v, "shape", ()))
                    for k, v in cells.items()
                    if k not in _cells.LEVEL_DATA_KEYS
                }
                fits_in = [(c, s) for c, s in compiled if _cells.cells_fit(s, shapes)]
                if not padded:
                    fits_in = [(c, s) for c, s in compiled if s == shapes]
                    cfg = est.config_
                else:
                    cfg = _cells.reusable_config(est.config_, [c for c, _ in fits_in])
                if not any(c == cfg for c, _ in fits_in):
                    compiled.insert(0, (cfg, shapes))
                fits += 1
    finally:
        _cells.bucket.__defaults__ = saved
    return fits, len(compiled)


def time_new_shape():
    """Seconds of a fit of 7 mice after a fit of 10 (one process, disk cache off), with the
    samplers shared (:func:`bwestimators.inference.share_compiled_samplers`)."""
    os.environ["BWESTIMATORS_JAX_CACHE"] = "0"
    from bwestimators import ColumnSpec, HierarchicalSlopeRegressor, inference
    from bwestimators.datasets import generate_fake_lfp

    inference.share_compiled_samplers(True)
    out = {}
    for n_mice in (10, 7):
        df = generate_fake_lfp(
            mouse_response_slope=9, n_trials=30, n_mice=n_mice, random_state=0
        ).df
        est = HierarchicalSlopeRegressor(ColumnSpec("stim", group="mouse"), random_state=0)
        t0 = time.perf_counter()
        est.fit(df, df["Log power"])
        out[f"fit_{n_mice}_mice_seconds"] = round(time.perf_counter() - t0, 2)
    out["compiled_samplers"] = inference.compiled_sampler_count()
    return out


_WARM_RUN = """
import json, time, warnings
from bwestimators import ColumnSpec, HierarchicalSlopeRegressor
from bwestimators.datasets import generate_fake_lfp
out = {}
for n_mice in (10, 7):
    df = generate_fake_lfp(mouse_response_slope=9, n_trials=30, n_mice=n_mice, random_state=0).df
    est = HierarchicalSlopeRegressor(ColumnSpec("stim", group="mouse"), random_state=0)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(df, df["Log power"])
    out[f"fit_{n_mice}_mice_seconds"] = round(time.perf_counter() - t0, 2)
print(json.dumps(out))
"""


def time_new_shape_warm_cache():
    """Seconds of a fit of 7 mice after one of 10 with the defaults, in a new process whose
    disk cache (a temporary folder) holds both samplers from an earlier process."""
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        env = dict(os.environ, BWESTIMATORS_JAX_CACHE=folder)
        runs = []
        for _ in range(2):  # the first process fills the cache, the second reads it
            done = subprocess.run(
                [sys.executable, "-c", _WARM_RUN], env=env, capture_output=True, text=True,
                check=True,
            )  # fmt: skip
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {f"warm_cache_{k}": v for k, v in runs[1].items()} | {
        f"empty_cache_{k}": v for k, v in runs[0].items()
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--likelihoods", nargs="*", default=["normal", "student"])
    parser.add_argument("--time", action="store_true", help="time 7 mice after 10 mice")
    parser.add_argument("--small", action="store_true", help="a tiny grid (for the tests)")
    args = parser.parse_args(argv)
    fits, before = sampler_keys(args.likelihoods, padded=False, small=args.small)
    _, after = sampler_keys(args.likelihoods, padded=True, small=args.small)
    _, after_reversed = sampler_keys(args.likelihoods, True, args.small, reverse=True)
    out = {
        "fits": fits,
        "compiles_exact_shapes": before,
        "compiles_bucketed": after,
        "compiles_bucketed_largest_first": after_reversed,
    }
    if args.time:
        out.update(time_new_shape())
        out.update(time_new_shape_warm_cache())
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
