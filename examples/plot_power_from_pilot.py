"""Power from pilot data: how many mice to detect a 5 % change in LFP power?
=========================================================================

A pilot of 4 mice (fake LFP, 10 trials per mouse and stimulation level) is fitted
with the mixed model. New experiments are simulated from that fit, as the R
package simr does for lme4: mouse intercepts and responses drawn with the
fitted spreads, the fitted trial-to-trial noise, and a true effect of 0.02 on
log10 power (5 %) or none, for 4 to 16 mice. The mixed model and the Bayesian
hierarchical model are fitted to every simulated experiment. The figure shows
power against the number of mice with the binomial intervals of the rates; the
printed table gives, per estimator, the smallest number of mice that reaches
80 % power.

The pilot's 4 mice are too few to estimate how much the response varies between
mice (the fitted model has no mouse slopes), so the answer is optimistic when
mice differ in their response: pilot more mice, or pass a larger pilot.
"""

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from _settings import parse

from bwestimators import ColumnSpec, HierarchicalSlopeRegressor, LMEComparator
from bwestimators.datasets import generate_fake_lfp
from bwestimators.display import PowerCurveDisplay
from bwestimators.power import SWEEP_SAMPLER, PowerSimulation, sample_size_table


def main(argv=None):
    args, out, _ = parse(__doc__, argv)
    groups, repeats = ([4, 8], 4) if args.quick else ([4, 6, 8, 12, 16], 100)
    sampler = SWEEP_SAMPLER  # fewer draws leave many fits unconverged (left out of the tables)
    spec = ColumnSpec("stim", group="mouse", detail="i_trial")
    pilot = generate_fake_lfp(n_mice=4, n_trials=10, mouse_response_slope=5, random_state=0).df
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lme = LMEComparator(spec).fit(pilot, pilot["Log power"])
        sim = PowerSimulation.from_estimator(
            lme,
            pilot,
            pilot["Log power"],
            effect=[0.0, 0.02],
            extend={"group": groups},
            estimators={
                "LME": LMEComparator(),
                "Bayes": HierarchicalSlopeRegressor(random_state=0, **sampler),
            },
            n_repeats=repeats,
            random_state=0,
            progress=not args.quick,
            batch_size=repeats,  # the repeats of a grid point sampled together
            n_jobs=None if args.quick else -1,
        )
        results = sim.run()
    results.to_csv(out / "power_from_pilot_results.csv", index=False)
    answer = sample_size_table(results[results["effect"] > 0], target_power=0.8)
    print("Pilot fit:", lme.effects_[["estimate", "std_error", "p_value"]].to_dict("records"))
    print("Mice needed for 80 % power at an effect of 0.02 (log10 power):")
    print(answer.to_string(index=False))
    curves = PowerCurveDisplay.from_results(results, x="n_group", col="effect", alpha=0.05)
    curves.figure_.suptitle("Power against the number of mice, simulated from a 4-mouse pilot")
    curves.figure_.savefig(out / "power_from_pilot.png", dpi=110)
    plt.close("all")


if __name__ == "__main__":
    main()
