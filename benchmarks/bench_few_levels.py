"""Calibration of the default for groupings of few levels (``group_pooling="auto"``).

Datasets simulated with known truth: ``n_groups`` mice (random intercepts and
slopes), crossed with a second grouping (group2, e.g. sessions or blocks) of 2
or 3 levels with its own offsets, a binary treatment within mice and a true
effect. Each is fitted with the default :class:`~bwestimators.HierarchicalSlopeRegressor`
(group2 of 2-3 levels: unpooled intercepts) and with ``group_pooling="partial"``
(a random group2 intercept whose sd 2-3 levels do not identify). Printed as
JSON, per setting: the coverage of the treatment effect's HDI (nominal
``hdi_prob`` = 0.94), the share of fits with divergences, the mean bias, and
the share of fits clean by the corpus criteria (R-hat <= 1.01, ESS >= 400)::

    python benchmarks/bench_few_levels.py [--datasets 50] [--out few_levels.json]
"""

import argparse
import json
import time
import warnings

import numpy as np
import pandas as pd


def simulate(rng, n_groups=8, n_rows=6, effect=0.3):
    """One dataset: group x group2 (2 or 3 levels) x treatment cells of ``n_rows`` rows."""
    n_group2 = int(rng.integers(2, 4))
    a = rng.normal(0, 0.5, n_groups)
    b = rng.normal(0, 0.2, n_groups)
    s = rng.normal(0, 0.5, n_group2)
    g, g2, t = np.meshgrid(
        np.arange(n_groups), np.arange(n_group2), np.repeat([0.0, 1.0], n_rows), indexing="ij"
    )
    g, g2, t = g.ravel(), g2.ravel(), t.ravel()
    y = 1.0 + a[g] + s[g2] + (effect + b[g]) * t + rng.normal(0, 1.0, len(t))
    frame = pd.DataFrame(
        {"y": y, "t": t, "mouse": [f"m{i}" for i in g], "session": [f"s{i}" for i in g2]}
    )
    return frame, n_group2


def run(n_datasets=50, seed=0, effect=0.3, settings=("auto", "partial"), **sampler):
    """Fit both settings to ``n_datasets`` simulated datasets; a summary per setting."""
    from bwestimators import ColumnSpec, HierarchicalSlopeRegressor

    rng = np.random.default_rng(seed)
    spec = ColumnSpec("t", group="mouse", group2="session")
    rows = []
    for i in range(n_datasets):
        df, n_group2 = simulate(rng, effect=effect)
        for setting in settings:
            est = HierarchicalSlopeRegressor(spec, group_pooling=setting, random_state=i, **sampler)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t0 = time.perf_counter()
                est.fit(df, df["y"])
            e, d = est.effects_.iloc[0], est.diagnostics_
            rows.append(
                {
                    "setting": setting,
                    "n_group2": n_group2,
                    "group2_pooling": est.group2_pooling_,
                    "covered": bool(e["lower"] <= effect <= e["upper"]),
                    "error": float(e["estimate"] - effect),
                    "divergent": d["divergences"] > 0,
                    "divergences": int(d["divergences"]),
                    "group_slope": bool(est.add_group_slope_),
                    "clean": d["divergences"] == 0
                    and d["max_r_hat"] <= 1.01
                    and min(d["min_ess_bulk"], d["min_ess_tail"]) >= 400,
                    "seconds": time.perf_counter() - t0,
                }
            )
    table = pd.DataFrame(rows)
    out = {}
    for setting, part in table.groupby("setting"):
        n = len(part)
        cover = part["covered"].mean()
        out[setting] = {
            "fits": n,
            "group2_pooling": sorted(part["group2_pooling"].unique()),
            "coverage": round(float(cover), 3),
            "coverage_se": round(float(np.sqrt(0.94 * 0.06 / n)), 3),
            "share_divergent": round(float(part["divergent"].mean()), 3),
            "divergences_per_fit": part["divergences"].tolist(),
            "share_clean": round(float(part["clean"].mean()), 3),
            "mean_error": round(float(part["error"].mean()), 4),
            "errors": part["error"].round(4).tolist(),  # per dataset, in order
            "rmse": round(float(np.sqrt((part["error"] ** 2).mean())), 4),
            "mean_seconds": round(float(part["seconds"].mean()), 2),
        }
    return {"nominal": 0.94, "effect": effect, "settings": out}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--settings", nargs="*", default=["auto", "partial"])
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    doc = run(args.datasets, args.seed, settings=args.settings)
    text = json.dumps(doc, indent=1)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)
    print(text)
    return doc


if __name__ == "__main__":
    main()
