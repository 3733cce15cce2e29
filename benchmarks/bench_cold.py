"""First fit of HierarchicalSlopeRegressor in a new process: empty cache, warm cache, refit.

The issue's workloads: the fake LFP data (30 trials), 4 chains of 500 + 1000
draws, with group intercepts only (``intercepts``) or with group slopes too
(``slopes``, the default model). Every repeat runs two fresh Python
processes on a fresh cache folder (``BWESTIMATORS_JAX_CACHE``): the first
traces, compiles and exports the programs (``cold``), the second finds them
on disk (``warm``); each process fits twice (``refit``: the compiled programs
in memory). Only the ``fit`` calls are timed (imports and data generation
are not), with the CPU time of the first fit (compilation runs in threads).
On a shared machine the times are noisy: compare medians of several repeats.

Usage::

    python benchmarks/bench_cold.py [--repeats 5] [--workloads intercepts slopes]

Prints one JSON document: per workload, the medians and every repeat.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

WORKLOADS = {"intercepts": "add_group_slope=False", "slopes": ""}

CHILD = """
import json, resource, time
from bwestimators import ColumnSpec, HierarchicalSlopeRegressor
from bwestimators.datasets import generate_fake_lfp
df = generate_fake_lfp(mouse_response_slope=9, n_trials=30, random_state=0).df
est = HierarchicalSlopeRegressor(ColumnSpec("stim", group="mouse"), num_warmup=500,
                                 num_samples=1000, num_chains=4, random_state=0, {options})


def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


c, t = cpu(), time.perf_counter()
est.fit(df, df["Log power"])
first, first_cpu = time.perf_counter() - t, cpu() - c
t = time.perf_counter()
est.fit(df, df["Log power"])
print(json.dumps({{"first": first, "first_cpu": first_cpu, "refit": time.perf_counter() - t}}))
"""


def _process(code, cache):
    env = dict(os.environ, BWESTIMATORS_JAX_CACHE=cache)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(workloads, repeats):
    """Time the workloads; returns ``{workload: {"median": ..., "runs": [...]}}``."""
    results = {}
    runs = {w: [] for w in workloads}
    for _ in range(repeats):
        for w in workloads:  # interleaved: a change of the machine's load hits every workload
            code = CHILD.format(options=WORKLOADS[w])
            with tempfile.TemporaryDirectory() as cache:
                cold, warm = _process(code, cache), _process(code, cache)
            runs[w].append(
                {
                    "cold_first_s": round(cold["first"], 3),
                    "cold_first_cpu_s": round(cold["first_cpu"], 3),
                    "warm_first_s": round(warm["first"], 3),
                    "refit_s": round(warm["refit"], 3),
                }
            )
    for w, rows in runs.items():
        median = {k: round(statistics.median(r[k] for r in rows), 3) for k in rows[0]}
        results[w] = {"median": median, "runs": rows}
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    names = sorted(WORKLOADS)
    parser.add_argument("--workloads", nargs="+", choices=names, default=list(WORKLOADS))
    args = parser.parse_args(argv)
    print(json.dumps(run(args.workloads, args.repeats), indent=1))


if __name__ == "__main__":
    main()
