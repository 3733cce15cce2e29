"""The LFP story: does stimulation raise oscillation power?
========================================================

Ten mice, 30 trials per stimulation level. Mice differ a lot in baseline power,
and mice with a higher baseline respond less. An ANOVA on mouse means misses
the effect; the mixed model and the hierarchical Bayesian model, which compare
each mouse with itself, find it. The all-samples fit (``df_monster``, one row
per event, about 100,000 rows) costs about the same thanks to the exact
sufficient statistics, but it treats every event as an independent replicate
(pseudo-replication): its interval measures event-to-event noise, and it
answers a different question (the mean log event rate) than the trial-level
model.
"""

import sys
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from _settings import parse

from bwestimators import AnovaComparator, ColumnSpec, HierarchicalSlopeRegressor, LMEComparator
from bwestimators.datasets import generate_fake_lfp
from bwestimators.display import DataDisplay, InterceptDisplay, PosteriorSlopeDisplay


def main(argv=None):
    args, out, sampler = parse(__doc__, argv)
    data = generate_fake_lfp(
        mouse_response_slope=9, n_trials=10 if args.quick else 30, random_state=0
    )
    df, monster = data.df, data.df_monster
    y = df["Log power"]
    spec = ColumnSpec("stim", group="mouse", detail="i_trial")

    disp = DataDisplay.from_data(df, "stim", "Log power", detail="i_trial", col="mouse")
    disp.figure_.suptitle("Log power per mouse: a line per trial")
    disp.figure_.savefig(out / "lfp_data.png", dpi=90)

    bayes = HierarchicalSlopeRegressor(spec, random_state=0, **sampler).fit(df, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lme = LMEComparator(spec).fit(df, y)
    anova = AnovaComparator(spec).fit(df, y)
    fig, axes = plt.subplots(1, 3, figsize=(11, 4), sharey=True, layout="constrained")
    for ax, est, name in zip(
        axes, (anova, lme, bayes), ("ANOVA (mouse means)", "LME", "Bayesian"), strict=True
    ):
        PosteriorSlopeDisplay.from_estimator(est, df, y, kind="density", ax=ax)
        e = est.effects_.iloc[0]
        interval = f"{100 * est.effects_.attrs['level']:.0f} % {est.effects_.attrs['interval']}"
        test = f"p = {e['p_value']:.2g}" if "p_value" in e else f"P(>0) = {e['prob_positive']:.2f}"
        ax.set_title(
            f"{name}\n{e['estimate']:.2f} [{e['lower']:.2f}, {e['upper']:.2f}] "
            f"{interval.upper()}, {test}",
            fontsize="medium",
        )
    fig.suptitle("Effect of stimulation on Log power: three methods, one dataset")
    fig.savefig(out / "lfp_methods.png", dpi=90)

    fig, axes = plt.subplots(1, 2, figsize=(9, 4), layout="constrained")
    InterceptDisplay.from_estimator(bayes, ax=axes[0])
    PosteriorSlopeDisplay.from_estimator(bayes, df, y, kind="density", ax=axes[1])
    fig.savefig(out / "lfp_intercepts_and_slope.png", dpi=90)

    monster_fit = HierarchicalSlopeRegressor(
        ColumnSpec("stim", group="mouse"), random_state=0, **sampler
    ).fit(monster, monster["Log power"])
    fig, axes = plt.subplots(1, 2, figsize=(8, 4), sharey=True, layout="constrained")
    PosteriorSlopeDisplay.from_estimator(bayes, kind="density", ax=axes[0])
    axes[0].set_title(f"trial level ({len(df)} rows)\n94 % HDI", fontsize="medium")
    PosteriorSlopeDisplay.from_estimator(monster_fit, kind="density", ax=axes[1])
    axes[1].set_title(
        f"all samples ({len(monster)} rows):\nevents as replicates, 94 % HDI", fontsize="medium"
    )
    fig.savefig(out / "lfp_all_samples.png", dpi=90)
    plt.close("all")
    return {"anova": anova, "lme": lme, "bayes": bayes, "monster": monster_fit}


if __name__ == "__main__":
    main(sys.argv[1:])
