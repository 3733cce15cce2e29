"""Calibration of the default estimators on simulated data with a known treatment effect.

Each dataset has ``n_groups`` groups (animals) x treatment 0/1 x ``n_rows`` rows
per cell::

    y = a[g] + (effect + b[g]) * treatment + e,
    a[g] ~ N(0, 0.5),  b[g] ~ N(0, slope_sd),  e ~ N(0, 1)

in three scenarios: ``null`` (effect 0, slope_sd 0), ``null_slopes`` (effect 0,
slope_sd 0.3: animals differ in their response) and ``effect_slopes`` (effect
0.5, slope_sd 0.3). Every dataset is fitted by the default
:class:`~bwestimators.HierarchicalSlopeRegressor` (sampler settings from the
arguments) and the default :class:`~bwestimators.LMEComparator`. Per scenario
and estimator the result gives the detection rate (the false-positive rate in
the null scenarios, the power otherwise; Bayesian: the ``hdi_prob`` HDI
excludes 0, LME: p < alpha) with the central 95 % binomial band around its
nominal value (1 - hdi_prob, alpha), the coverage of the true effect by the
interval with its band, the share of fits with a divergence, the median max
R-hat and the median fit time. Prints one JSON document::

    python benchmarks/bench_calibration.py [--reps 100] [--n-groups 8] [--n-rows 10]
        [--num-warmup 500] [--num-samples 500] [--num-chains 2] [--n-jobs 2]
        [--method nuts|importance] [--out f.json]

Nothing runs at import.
"""

import argparse
import json
import sys
import time
import warnings

import numpy as np
import pandas as pd

#: name -> (true effect, sd of the group slopes).
SCENARIOS = {
    "null": (0.0, 0.0),
    "null_slopes": (0.0, 0.3),
    "effect_slopes": (0.5, 0.3),
}
INTERCEPT_SD = 0.5
RESIDUAL_SD = 1.0
ESTIMATORS = ("bayes", "lme")


def simulate(scenario, n_groups=8, n_rows=10, seed=0):
    """One dataset of ``scenario``: columns ``animal``, ``stim`` (0/1), ``y``."""
    effect, slope_sd = SCENARIOS[scenario]
    rng = np.random.default_rng(seed)
    a = rng.normal(0.0, INTERCEPT_SD, n_groups)
    b = rng.normal(0.0, slope_sd, n_groups) if slope_sd > 0 else np.zeros(n_groups)
    group = np.repeat(np.arange(n_groups), 2 * n_rows)
    stim = np.tile(np.repeat([0, 1], n_rows), n_groups)
    y = a[group] + (effect + b[group]) * stim + rng.normal(0.0, RESIDUAL_SD, group.size)
    return pd.DataFrame({"animal": [f"a{g}" for g in group], "stim": stim, "y": y})


def sample_effect(df):
    """The data's own effect: the mean over animals of (mean y at 1 - mean y at 0)."""
    cell = df.groupby(["animal", "stim"])["y"].mean().unstack("stim")
    return float((cell[1] - cell[0]).mean())


def _seed(base, scenario, rep):
    index = list(SCENARIOS).index(scenario)
    return int(np.random.SeedSequence([base, index, rep]).generate_state(1)[0])


def fit_one(scenario, rep, n_groups, n_rows, sampler, alpha, hdi_prob, seed):
    """Fit both estimators to one simulated dataset; one record per estimator."""
    from bwestimators import ColumnSpec, HierarchicalSlopeRegressor, LMEComparator

    data_seed = _seed(seed, scenario, rep)
    df = simulate(scenario, n_groups, n_rows, data_seed)
    truth = SCENARIOS[scenario][0]
    spec = ColumnSpec("stim", group="animal")
    estimators = {
        "bayes": HierarchicalSlopeRegressor(
            spec, hdi_prob=hdi_prob, random_state=data_seed % (2**31), **sampler
        ),
        "lme": LMEComparator(spec, alpha=alpha),
    }
    base = {"scenario": scenario, "rep": rep, "truth": truth, "data_effect": sample_effect(df)}
    records = []
    for name, est in estimators.items():
        rec = {**base, "estimator": name, "error": None}
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # convergence is in the record
                est.fit(df, df["y"])
        except Exception as exc:  # a failed fit is counted, not fatal
            rec["error"] = f"{type(exc).__name__}: {exc}"[:300]
            rec["fit_seconds"] = time.perf_counter() - t0
            records.append(rec)
            continue
        rec["fit_seconds"] = time.perf_counter() - t0
        row = est.effects_.iloc[0]
        rec.update(estimate=float(row["estimate"]), lower=float(row["lower"]),
                   upper=float(row["upper"]))  # fmt: skip
        if name == "bayes":
            rec["detected"] = bool(row["lower"] > 0 or row["upper"] < 0)
            rec["divergences"] = int(est.diagnostics_["divergences"])
            rec["max_r_hat"] = float(est.diagnostics_["max_r_hat"])
            rec["sampler"] = est.diagnostics_["sampler"]
        else:
            rec["detected"] = bool(row["p_value"] < alpha)
            rec["divergences"] = None
            rec["max_r_hat"] = None
        records.append(rec)
    return records


def binomial_band(n, p, level=0.95):
    """Central ``level`` band of the share of successes in ``n`` trials of probability ``p``."""
    from scipy import stats

    if n == 0:
        return [float("nan"), float("nan")]
    tail = (1 - level) / 2
    return [float(stats.binom.ppf(tail, n, p) / n), float(stats.binom.ppf(1 - tail, n, p) / n)]


def summarize(records, alpha=0.05, hdi_prob=0.94):
    """Per scenario and estimator: rates, bands and medians of a list of fit records."""
    nominal = {"bayes": 1 - hdi_prob, "lme": alpha}
    frame = pd.DataFrame(records)
    out = {}
    for scenario in SCENARIOS:
        truth = SCENARIOS[scenario][0]
        out[scenario] = {}
        for name in ESTIMATORS:
            if len(frame):
                sel = frame[(frame["scenario"] == scenario) & (frame["estimator"] == name)]
            else:
                sel = frame
            ok = sel[sel["error"].isna()] if len(sel) else sel
            n = len(ok)
            nan = float("nan")
            detected = ok["detected"].to_numpy(dtype=bool) if n else np.array([], bool)
            covers = (ok["lower"] <= truth) & (truth <= ok["upper"]) if n else detected
            rate = float(detected.mean()) if n else nan
            entry = {
                "fits": len(sel),
                "failed": len(sel) - n,
                "detection_rate_kind": "power" if truth != 0 else "false_positive_rate",
                "detection_rate": rate,
                "nominal_false_positive_rate": nominal[name],
                "coverage": float(np.mean(covers)) if n else nan,
                "coverage_nominal": 1 - nominal[name],
                "coverage_band_95": binomial_band(n, 1 - nominal[name]),
                "mean_estimate": float(ok["estimate"].mean()) if n else nan,
                "bias": float(ok["estimate"].mean() - truth) if n else nan,
                "mean_data_effect": float(sel["data_effect"].mean()) if len(sel) else nan,
                "median_fit_seconds": float(ok["fit_seconds"].median()) if n else nan,
            }
            if truth == 0:
                band = binomial_band(n, nominal[name])
                entry["false_positive_band_95"] = band
                entry["false_positive_within_band"] = bool(band[0] <= rate <= band[1])
            if name == "bayes":
                div = ok["divergences"].to_numpy(dtype=float) if n else np.array([])
                rhat = ok["max_r_hat"].to_numpy(dtype=float) if n else np.array([])
                entry["divergent_share"] = float((div > 0).mean()) if n else nan
                # NaN for importance-sampled fits (no R-hat): the median of the others
                finite = rhat[np.isfinite(rhat)]
                entry["median_max_r_hat"] = float(np.median(finite)) if finite.size else nan
                sampled = ok["sampler"] if n and "sampler" in ok else pd.Series([], dtype=object)
                entry["importance_sampled_share"] = (
                    float((sampled == "importance").mean()) if n else nan
                )
            out[scenario][name] = entry
    return out


def run(reps=100, n_groups=8, n_rows=10, num_warmup=500, num_samples=500, num_chains=2,
        alpha=0.05, hdi_prob=0.94, n_jobs=2, seed=0, method="nuts"):  # fmt: skip
    """Simulate and fit every (scenario, rep); the JSON-ready document."""
    from joblib import Parallel, delayed

    import bwestimators

    sampler = {
        "method": method,
        "num_warmup": num_warmup,
        "num_samples": num_samples,
        "num_chains": num_chains,
    }
    t0 = time.perf_counter()
    tasks = [(s, r) for r in range(reps) for s in SCENARIOS]
    chunks = Parallel(n_jobs=n_jobs)(
        delayed(fit_one)(s, r, n_groups, n_rows, sampler, alpha, hdi_prob, seed) for s, r in tasks
    )
    records = [rec for chunk in chunks for rec in chunk]
    errors = sorted({r["error"] for r in records if r["error"]})
    return {
        "settings": {
            "reps": reps,
            "n_groups": n_groups,
            "n_rows_per_cell": n_rows,
            "intercept_sd": INTERCEPT_SD,
            "residual_sd": RESIDUAL_SD,
            "sampler": sampler,
            "bayes": "HierarchicalSlopeRegressor(spec, hdi_prob, random_state, **sampler), "
            "other parameters default",
            "lme": "LMEComparator(spec, alpha), other parameters default",
            "alpha": alpha,
            "hdi_prob": hdi_prob,
            "n_jobs": n_jobs,
            "seed": seed,
            "library": bwestimators.__file__,
        },
        "scenarios": {k: {"effect": e, "slope_sd": s} for k, (e, s) in SCENARIOS.items()},
        "results": summarize(records, alpha=alpha, hdi_prob=hdi_prob),
        "errors": errors[:10],
        "wall_seconds": round(time.perf_counter() - t0, 1),
    }


def _strict(value):
    """``value`` with NaN floats as None, so that the output is strict JSON."""
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strict(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=100, help="datasets per scenario")
    parser.add_argument("--n-groups", type=int, default=8, dest="n_groups")
    parser.add_argument("--n-rows", type=int, default=10, dest="n_rows", help="rows per cell")
    parser.add_argument("--num-warmup", type=int, default=500, dest="num_warmup")
    parser.add_argument("--num-samples", type=int, default=500, dest="num_samples")
    parser.add_argument("--num-chains", type=int, default=2, dest="num_chains")
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--hdi-prob", type=float, default=0.94, dest="hdi_prob")
    parser.add_argument("--n-jobs", type=int, default=2, dest="n_jobs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--method", default="nuts", choices=["nuts", "importance"], help="the Bayesian sampler"
    )
    parser.add_argument("--out", default=None, help="also write the JSON to this file")
    args = parser.parse_args(argv)
    options = {k: v for k, v in vars(args).items() if k != "out"}
    doc = _strict(run(**options))
    text = json.dumps(doc, indent=1, allow_nan=False)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)
    sys.stdout.write(text + "\n")
    return doc


if __name__ == "__main__":
    main()
