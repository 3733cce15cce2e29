"""Closed-loop stimulation in seven mice: effect on LFP power per phase and inversion.
===================================================================================

Real data: 1148 stimulation epochs, prefrontal cortex, closed-loop stimulation
at 7 Hz at three phases of the cycle, with and without inversion. The
treatment is ``stim_on``; every phase x inversion combination is a condition.
"""

import sys
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from _settings import parse

from bwestimators import ColumnSpec, HierarchicalSlopeRegressor, LMEComparator
from bwestimators.datasets import load_chirp_power
from bwestimators.display import DataDisplay, PosteriorSlopeDisplay


def main(argv=None):
    _, out, sampler = parse(__doc__, argv)
    df = load_chirp_power()
    y = df["Log power"]
    spec = ColumnSpec("stim_on", condition=["Stim phase", "Inversion"], group="Subject")
    bayes = HierarchicalSlopeRegressor(spec, random_state=0, **sampler).fit(df, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lme = LMEComparator(spec).fit(df, y)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True, layout="constrained")
    PosteriorSlopeDisplay.from_estimator(
        bayes, df, y, x="Stim phase", hue="Inversion", add_data=False, ax=axes[0]
    )
    axes[0].set_title("Hierarchical Bayesian (94 % HDI)", fontsize="medium")
    PosteriorSlopeDisplay.from_estimator(
        lme, df, y, x="Stim phase", hue="Inversion", add_data=False, ax=axes[1]
    )
    axes[1].set_title("Mixed model, LME (95 % CI)", fontsize="medium")
    axes[0].set_ylabel("effect of stim_on on Log power")
    fig.suptitle("Stimulation effect per phase, with and without inversion")
    fig.savefig(out / "chirp_power_effects.png", dpi=90)
    data = DataDisplay.from_data(df, "stim_on", "Log power", hue="Inversion", col="Subject")
    data.figure_.suptitle("Log power per subject, stimulation off and on")
    data.figure_.savefig(out / "chirp_power_data.png", dpi=80)
    plt.close("all")
    return {"bayes": bayes, "lme": lme}


if __name__ == "__main__":
    main(sys.argv[1:])
