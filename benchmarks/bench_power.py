"""Datasets per second of power sweeps on LFP-sized data, and memory over a long sweep.

Fits ANOVA, LME and the Bayesian model (the sweep's sampler settings,
``SWEEP_SAMPLER``: 2 chains, 300 warmup + 600 draws; the bulk ESS of the slope
is in the results) to ``generate_fake_lfp(n_trials=10)`` datasets, together and
each alone, with one and two joblib workers, and with the Bayesian fits in
batches of 50 datasets (``PowerSimulation(batch_size=50)``, vectorized
sampling). Every rate counts the generation of the data; the Bayesian rows also
give ``bayes_fits_per_second``, the rate of the fits alone (datasets divided by
the summed fit time, times the workers). Workers are started and have loaded
their compiled samplers before the timed runs (the steady state of a long
sweep); the ``fresh workers`` row times a sweep in newly started workers (with
the disk cache of compiled samplers this machine has). Prints one JSON document.

Usage::

    python benchmarks/bench_power.py [--datasets 40] [--batched-datasets 400] [--out results.json]
"""

import argparse
import json
import resource
import time
import warnings

from bwestimators import AnovaComparator, ColumnSpec, HierarchicalSlopeRegressor, LMEComparator
from bwestimators.datasets import generate_fake_lfp
from bwestimators.power import SWEEP_SAMPLER, PowerSimulation


def _estimators(which):
    all_ = {
        "anova": AnovaComparator(),
        "lme": LMEComparator(),
        "bayes": HierarchicalSlopeRegressor(random_state=0, **SWEEP_SAMPLER),
    }
    return {k: v for k, v in all_.items() if k in which}


def _sweep(which, n_datasets, n_jobs, seed, batch_size=1):
    effects = [0, 1, 2, 3, 5, 9, 12, 15]
    sim = PowerSimulation(
        generate_fake_lfp,
        _estimators(which),
        y="Log power",
        spec=ColumnSpec("stim", group="mouse"),
        param_grid={"mouse_response_slope": effects, "n_trials": [10]},
        n_repeats=max(1, n_datasets // len(effects)),
        n_jobs=n_jobs,
        random_state=seed,
        progress=False,
        batch_size=batch_size,
    )
    t0 = time.perf_counter()
    res = sim.run()
    seconds = time.perf_counter() - t0
    n = res[["grid_index", "repeat"]].drop_duplicates().shape[0]
    out = {
        "datasets": n,
        "seconds": round(seconds, 2),
        "datasets_per_second": round(n / seconds, 2),
        "errors": int(res["error"].notna().sum()),
    }
    if "bayes" in which:
        b = res[res["estimator"] == "bayes"]
        out["bayes_min_ess_bulk"] = round(float(b["ess_bulk"].min()), 1)
        out["bayes_median_fit_seconds"] = round(float(b["fit_seconds"].median()), 3)
        workers = max(1, n_jobs or 1)
        out["bayes_fits_per_second"] = round(workers * len(b) / b["fit_seconds"].sum(), 1)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=40)
    parser.add_argument("--batched-datasets", type=int, default=400, dest="batched_datasets")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    results = {"sampler": SWEEP_SAMPLER, "runs": {}}
    results["runs"]["bayes batched(50) n_jobs=2, fresh workers, 400 datasets"] = _sweep(
        ["bayes"], 400, 2, seed=7, batch_size=50
    )
    # warm-up: compile or load the Bayesian samplers (single and batched) in this process
    # and in the two workers, as they are after the first minute of a long sweep
    _sweep(["bayes"], 8, 1, seed=99)
    _sweep(["bayes"], 50, 1, seed=99, batch_size=50)
    _sweep(["anova", "lme", "bayes"], 16, 2, seed=99)
    _sweep(["bayes"], 200, 2, seed=99, batch_size=50)
    for which in (["anova", "lme", "bayes"], ["anova"], ["lme"], ["bayes"]):
        for n_jobs in (1, 2):
            key = f"{'+'.join(which)} n_jobs={n_jobs}"
            results["runs"][key] = _sweep(which, args.datasets, n_jobs, seed=0)
    for which in (["bayes"], ["anova", "lme", "bayes"]):
        for n_jobs in (1, 2):
            key = f"{'+'.join(which)} batched(50) n_jobs={n_jobs}, {args.batched_datasets} datasets"
            results["runs"][key] = _sweep(
                which, args.batched_datasets, n_jobs, seed=0, batch_size=50
            )
    rss = []
    for _ in range(3):
        _sweep(["anova", "lme", "bayes"], args.datasets, 1, seed=1)
        rss.append(round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))
    results["peak_rss_mb_after_each_long_sweep"] = rss
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
