"""Power: which method finds a real stimulation effect, with how many trials?
==========================================================================

Fake LFP power in ten mice, simulated over true effects (the response of the
most responsive mouse), trials per mouse and trial-to-trial noise. ANOVA on
mouse means (stimulation as a between-mice factor, as bayes-window did, and as a
repeated measure within mice), the mixed model and the hierarchical Bayesian
model (normal on log power, gamma on power) are fitted to every dataset; the
figures show power curves, detection rates at effect 0, and ROC curves with
their AUC.

Effect 0 is an exact null (``generate_fake_lfp``'s default ``exact_null=True``),
so the detection rate at effect 0 is each method's false-positive rate.
"""

import sys
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
from _settings import parse

from bwestimators import AnovaComparator, ColumnSpec, HierarchicalSlopeRegressor, LMEComparator
from bwestimators.datasets import generate_fake_lfp
from bwestimators.display import PowerCurveDisplay, PowerRocDisplay
from bwestimators.power import SWEEP_SAMPLER, PowerSimulation, false_positive_rate


def main(argv=None):
    args, out, _ = parse(__doc__, argv)
    if args.quick:
        grid = {"mouse_response_slope": [0, 4, 12], "n_trials": [5], "time_randomness": [10]}
        # importance sampling where the model's effects integrate out (the normal one), short
        # NUTS chains elsewhere (the gamma one)
        sampler = {"method": "importance", "num_warmup": 200, "num_samples": 300, "num_chains": 2}
        repeats = 3
    else:
        grid = {
            "mouse_response_slope": [0, 1, 2, 3, 5, 9],
            "n_trials": [5, 10, 20],
            "time_randomness": [5, 10],
        }
        repeats, sampler = 20, SWEEP_SAMPLER
    spec = ColumnSpec("stim", group="mouse")
    common = {
        "spec": spec,
        "param_grid": grid,
        "n_repeats": repeats,
        "random_state": 0,
        "progress": not args.quick,
        # the repeats of a grid point are sampled together (vectorized), on every core
        "batch_size": repeats,
        "n_jobs": None if args.quick else -1,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        log_power = PowerSimulation(
            generate_fake_lfp,
            {
                "ANOVA between": AnovaComparator(),
                "ANOVA repeated": AnovaComparator(kind="rm"),
                "LME": LMEComparator(),
                "Bayes normal": HierarchicalSlopeRegressor(random_state=0, **sampler),
            },
            y="Log power",
            **common,
        ).run()
        power = PowerSimulation(
            generate_fake_lfp,
            {"Bayes gamma": HierarchicalSlopeRegressor(dist_y="gamma", random_state=0, **sampler)},
            y="Power",
            **common,
        ).run()
    results = pd.concat([log_power, power], ignore_index=True)
    results.to_csv(out / "power_results.csv", index=False)
    curves = PowerCurveDisplay.from_results(results, col="n_trials", alpha=0.05)
    curves.figure_.suptitle("Power per trials per mouse", fontsize="medium")
    curves.figure_.savefig(out / "power_curves.png", dpi=90)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    # the quick settings' 2 x 300 NUTS draws leave most gamma fits short of the ESS bar
    # (unconverged, left out by default): counted here so that the quick figure has them
    loose = {"include_unconverged": args.quick}
    fp = false_positive_rate(results, by=["estimator"], **loose)
    axes[0].barh(fp["estimator"], fp["rate"], color=[f"C{i}" for i in range(len(fp))])
    axes[0].errorbar(
        fp["rate"],
        fp["estimator"],
        xerr=[fp["rate"] - fp["lower"], fp["upper"] - fp["rate"]],
        fmt="none",
        color="black",
    )
    axes[0].axvline(0.05, color="0.4", ls="--", lw=0.8)
    axes[0].set_xlabel("detection rate at true effect 0 (95 % Wilson interval)")
    axes[0].set_title("false-positive rate", fontsize="medium")
    PowerRocDisplay.from_results(results, ax=axes[1], **loose)
    fig.savefig(out / "power_fpr_roc.png", dpi=90)
    plt.close("all")
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
