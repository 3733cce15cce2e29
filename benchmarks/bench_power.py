"""Datasets per second of power sweeps on LFP-sized data, and memory over a long sweep.

Fits ANOVA, LME and the Bayesian model (the sweep's sampler settings,
``SWEEP_SAMPLER``: importance sampling of 2000 draws, NUTS with 2 chains of 300
warmup + 1000 draws where the weights cannot be trusted; the smallest bulk ESS
is in the results) to ``generate_fake_lfp(n_trials=10)`` datasets, together and
each alone, with one and two joblib workers, and with the Bayesian fits in
batches of 50 datasets (``PowerSimulation(batch_size=50)``, vectorized
sampling). Every rate counts the generation of the data; the Bayesian rows also
give ``bayes_fits_per_second``, the rate of the fits alone (datasets divided by
the summed fit time, times the workers). Workers are started and have loaded
their compiled samplers before the timed runs (the steady state of a long
sweep); the ``fresh workers`` row times a sweep in newly started workers (with
the disk cache of compiled samplers this machine has). Prints one JSON document.

``--pilot`` runs instead the full power analysis from a 4-mouse pilot of
``examples/plot_power_from_pilot.py`` (LME and Bayes, 4 to 16 mice, 100
datasets per point) and the ANOVA flavours on the LFP generator; it prints the
power per number of mice, the sample-size answer, the share of unconverged
fits and the datasets per second. ``--closed-form`` runs the paired-design
check of ``tests/test_power_pilot.py`` with 400 datasets per effect.

Usage::

    python benchmarks/bench_power.py [--datasets 40] [--batched-datasets 400] [--out results.json]
    python benchmarks/bench_power.py --pilot [--repeats 100] [--out pilot.json]
    python benchmarks/bench_power.py --closed-form [--repeats 400]
    python benchmarks/bench_power.py --full [--n-jobs 2] [--batch-size 50] [--fraction 1]
"""

import argparse
import json
import resource
import time
import warnings

from bwestimators import AnovaComparator, ColumnSpec, HierarchicalSlopeRegressor, LMEComparator
from bwestimators.datasets import generate_fake_lfp
from bwestimators.power import (
    SWEEP_SAMPLER,
    PowerSimulation,
    power_table,
    sample_size_table,
)


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
        "unconverged_share": round(float(1 - res["converged"].fillna(False).mean()), 4),
    }
    if "bayes" in which:
        b = res[res["estimator"] == "bayes"]
        out["bayes_min_ess_bulk"] = round(float(b["ess_bulk"].min()), 1)
        out["bayes_median_fit_seconds"] = round(float(b["fit_seconds"].median()), 3)
        workers = max(1, n_jobs or 1)
        out["bayes_fits_per_second"] = round(workers * len(b) / b["fit_seconds"].sum(), 1)
    return out


def predecessor_grid(fraction=1):
    """bayes-window's default grid (``run_conditions``), every ``fraction``-th point: 3840 at 1."""
    import numpy as np
    from sklearn.model_selection import ParameterGrid

    slopes = np.hstack([np.zeros(180), np.linspace(0.03, 18, 140)])
    grid = {
        "mouse_response_slope": [float(v) for v in slopes],
        "n_trials": [8, 15, 22, 29],
        "trial_baseline_randomness": [0.2, 0.4, 1.8],
        "n_mice": [6],
    }
    return list(ParameterGrid(grid))[:: max(1, int(fraction))]


class _MemoryWatch:
    """Peak resident memory (MB) of this process plus its workers, sampled every 0.5 s."""

    def __init__(self):
        import threading

        self.peak_total = self.peak_worker = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self):
        try:
            import psutil
        except ImportError:  # only ru_maxrss then
            return
        me = psutil.Process()
        while not self._stop.wait(0.5):
            try:
                workers = [p.memory_info().rss for p in me.children(recursive=True)]
            except psutil.Error:
                continue
            total = me.memory_info().rss + sum(workers)
            self.peak_total = max(self.peak_total, total / 2**20)
            self.peak_worker = max(self.peak_worker, max(workers, default=0) / 2**20)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def report(self):
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return {
            "main_process": round(own, 1),
            "largest_worker": round(self.peak_worker, 1),
            "all_processes": round(max(self.peak_total, own), 1),
        }


def _full(n_jobs, batch_size, fraction, which=("anova", "lme", "bayes")):
    """The predecessor's default grid, every estimator on every dataset, end to end."""
    points = predecessor_grid(fraction)
    estimators = {
        "anova": AnovaComparator(),
        "lme": LMEComparator(),
        "bayes": HierarchicalSlopeRegressor(random_state=0, **SWEEP_SAMPLER),
    }
    sim = PowerSimulation(
        generate_fake_lfp,
        {k: v for k, v in estimators.items() if k in which},
        y="Log power",
        spec=ColumnSpec("stim", group="mouse"),
        param_grid=[{k: [v] for k, v in point.items()} for point in points],
        n_repeats=1,
        n_jobs=n_jobs,
        random_state=0,
        progress=False,
        batch_size=batch_size,
    )
    with _MemoryWatch() as memory:
        t0 = time.perf_counter()
        res = sim.run()
        seconds = time.perf_counter() - t0
    n = res[["grid_index", "repeat"]].drop_duplicates().shape[0]
    workers = max(1, n_jobs or 1)
    per_estimator = {}
    for name, rows in res.groupby("estimator", sort=False):
        converged = rows["converged"].astype("boolean")
        per_estimator[name] = {
            "fit_datasets_per_second": round(workers * len(rows) / rows["fit_seconds"].sum(), 2),
            "median_fit_seconds": round(float(rows["fit_seconds"].median()), 4),
            "unconverged_share": round(float(1 - converged.fillna(False).mean()), 4),
            "warning_share": round(float(rows["warnings"].notna().mean()), 4),
            "errors": int(rows["error"].notna().sum()),
        }
    return {
        "grid": "bayes-window run_conditions defaults (6 mice)",
        "datasets": n,
        "n_jobs": n_jobs,
        "batch_size": batch_size,
        "wall_seconds": round(seconds, 1),
        "datasets_per_second": round(n / seconds, 2),
        "unconverged_share": round(float(1 - res["converged"].fillna(False).mean()), 4),
        "estimators": per_estimator,
        "peak_rss_mb": memory.report(),
    }


def _records(table, columns):
    return [
        {k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}
        for row in table[columns].to_dict("records")
    ]


def _pilot(repeats, n_jobs):
    """Power over 4-16 mice from a 4-mouse pilot (LME and Bayes), and the ANOVA flavours."""
    spec = ColumnSpec("stim", group="mouse", detail="i_trial")
    pilot = generate_fake_lfp(n_mice=4, n_trials=10, mouse_response_slope=5, random_state=0).df
    lme = LMEComparator(spec).fit(pilot, pilot["Log power"])
    sim = PowerSimulation.from_estimator(
        lme,
        pilot,
        pilot["Log power"],
        effect=[0.0, 0.02],
        extend={"group": [4, 6, 8, 12, 16]},
        estimators={"LME": LMEComparator(), "Bayes": _estimators(["bayes"])["bayes"]},
        n_repeats=repeats,
        random_state=0,
        progress=False,
        batch_size=min(repeats, 50),
        n_jobs=n_jobs,
    )
    t0 = time.perf_counter()
    res = sim.run()
    seconds = time.perf_counter() - t0
    n = res[["grid_index", "repeat"]].drop_duplicates().shape[0]
    cols = ["estimator", "effect", "n_group", "n", "rate", "lower", "upper", "unconverged_share"]
    answer = sample_size_table(res[res["effect"] > 0], target_power=0.8)
    flavours = PowerSimulation(
        generate_fake_lfp,
        {"anova between": AnovaComparator(), "anova rm": AnovaComparator(kind="rm")},
        y="Log power",
        spec=ColumnSpec("stim", group="mouse"),
        param_grid={"mouse_response_slope": [0, 2, 5], "n_trials": [10]},
        n_repeats=repeats,
        random_state=0,
        progress=False,
    ).run()
    return {
        "pilot_effect": _records(lme.effects_, ["estimate", "std_error", "p_value"]),
        "datasets": n,
        "seconds": round(seconds, 1),
        "datasets_per_second": round(n / seconds, 2),
        "power": _records(power_table(res), cols),
        "sample_size_80": _records(answer, ["estimator", "n_group", "rate", "lower", "upper"]),
        "anova_flavours_on_generate_fake_lfp": _records(
            power_table(flavours), ["estimator", "mouse_response_slope", "n", "rate"]
        ),
    }


def _closed_form(repeats):
    """Paired design, 12 animals: simulated power of rm-ANOVA and LME against the analytic."""
    import numpy as np
    import pandas as pd
    from scipy import stats

    def paired(effect=0.0, random_state=None):
        rng = np.random.default_rng(random_state)
        animal = np.repeat(np.arange(12), 2)
        t = np.tile([0, 1], 12)
        y = rng.normal(0, 1, 12)[animal] + effect * t + rng.normal(0, 1, 24)
        return pd.DataFrame({"animal": [f"a{a}" for a in animal], "t": t, "y": y})

    res = PowerSimulation(
        paired,
        {"rm": AnovaComparator(kind="rm"), "lme": LMEComparator()},
        y="y",
        spec=ColumnSpec("t", group="animal"),
        param_grid={"effect": [0.0, 0.5, 0.9, 1.3]},
        n_repeats=repeats,
        effect_param="effect",
        random_state=1,
        progress=False,
    ).run()
    table = power_table(res, include_unconverged=True)
    for crit, name in ((stats.t.ppf(0.975, 11), "paired_t"), (stats.norm.ppf(0.975), "wald")):
        nc = table["effect"] / np.sqrt(2.0) * np.sqrt(12)
        table[name] = 1 - stats.nct.cdf(crit, 11, nc) + stats.nct.cdf(-crit, 11, nc)
    cols = ["estimator", "effect", "n", "rate", "lower", "upper", "paired_t", "wald"]
    return {"closed_form_paired_12_animals": _records(table, cols)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=40)
    parser.add_argument("--batched-datasets", type=int, default=400, dest="batched_datasets")
    parser.add_argument("--pilot", action="store_true")
    parser.add_argument("--closed-form", action="store_true", dest="closed_form")
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--batch-size", type=int, default=50, dest="batch_size")
    parser.add_argument("--fraction", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--n-jobs", type=int, default=None, dest="n_jobs")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    if args.full:
        n_jobs = 2 if args.n_jobs is None else args.n_jobs
        results = _full(n_jobs, args.batch_size, args.fraction)
        results["sampler"] = SWEEP_SAMPLER
        _print(results, args.out)
        return
    if args.pilot or args.closed_form:
        results = (
            _pilot(args.repeats or 100, args.n_jobs)
            if args.pilot
            else _closed_form(args.repeats or 400)
        )
        results["sampler"] = SWEEP_SAMPLER
        _print(results, args.out)
        return
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
    _print(results, args.out)


def _print(results, out):
    text = json.dumps(results, indent=2, default=float)
    print(text)
    if out:
        with open(out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
