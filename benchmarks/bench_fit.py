"""Fit time, ESS per second and peak memory of HierarchicalSlopeRegressor.

Each case runs in a fresh Python process (so compilation and import costs are
real), twice: once with an empty cache folder (cold: trace and compile) and once
more with the cache that run left (warm: a new process, as a user's second
session). Every process fits twice, to show the in-process refit time.

Usage::

    python benchmarks/bench_fit.py [--cases lfp monster spikes] [--out results.json]

Prints one JSON document.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

CASES = {
    "lfp": (
        "from bwestimators.datasets import generate_fake_lfp\n"
        "df = generate_fake_lfp(mouse_response_slope=9, n_trials=30, random_state=0).df\n"
        "spec = ColumnSpec('stim', group='mouse'); y = df['Log power']\n"
    ),
    "monster": (
        "from bwestimators.datasets import generate_fake_lfp\n"
        "df = generate_fake_lfp(mouse_response_slope=9, n_trials=30, random_state=0).df_monster\n"
        "spec = ColumnSpec('stim', group='mouse'); y = df['Log power']\n"
    ),
    "spikes": (
        "from bwestimators.datasets import generate_fake_spikes\n"
        "df = generate_fake_spikes(n_trials=20, n_neurons=7, n_mice=6, dur=7,\n"
        "    mouse_response_slope=12, overall_stim_response_strength=45, random_state=0).df\n"
        "spec = ColumnSpec('stim', condition='neuron_x_mouse', group='mouse'); y = df['isi']\n"
    ),
}

CHILD = """
import json, resource, time, warnings
t_start = time.perf_counter()
from bwestimators import ColumnSpec, HierarchicalSlopeRegressor
{data}
t_import = time.perf_counter() - t_start
est = HierarchicalSlopeRegressor(spec, random_state=0)
times = []
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    for _ in range(2):
        t = time.perf_counter()
        est.fit(df, y)
        times.append(time.perf_counter() - t)
slope_ess = float(est.effects_["ess_bulk"].min())
print(json.dumps({{
    "rows": len(df),
    "cells": int((est.spec_.transform(df).groupby(list(est.spec_.transform(df).columns),
                  observed=True).ngroups)),
    "conditions": len(est.effects_),
    "import_and_data_s": round(t_import, 3),
    "first_fit_s": round(times[0], 3),
    "second_fit_s": round(times[1], 3),
    "min_slope_ess_bulk": round(slope_ess, 1),
    "slope_ess_per_s_first_fit": round(slope_ess / times[0], 1),
    "slope_ess_per_s_second_fit": round(slope_ess / times[1], 1),
    "divergences": est.diagnostics_["divergences"],
    "min_ess_bulk_all": round(est.diagnostics_["min_ess_bulk"], 1),
    "max_r_hat": round(est.diagnostics_["max_r_hat"], 4),
    "centered": est.diagnostics_["centered"],
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    "warnings": sorted({{str(w.message)[:80] for w in caught}}),
}}))
"""


def _run(case, cache):
    env = dict(os.environ, BWESTIMATORS_JAX_CACHE=cache)
    code = CHILD.format(data=CASES[case])
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _import_time():
    code = (
        "import time; t = time.perf_counter(); import bwestimators; print(time.perf_counter() - t)"
    )
    runs = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(5)
    ]
    return round(min(runs), 4)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--out", default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    results = {"import_bwestimators_s": _import_time(), "cases": {}}
    for case in args.cases:
        with tempfile.TemporaryDirectory() as cache:
            results["cases"][case] = {
                "cold_cache": _run(case, cache),
                "warm_cache": _run(case, cache),
            }
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
