"""Fake spikes: does stimulation shorten inter-spike intervals, neuron by neuron?
==============================================================================

Seven neurons in each of six mice (42 neurons, condition ``neuron_x_mouse``,
nested in ``mouse``), 20 trials per stimulation level. Slow neurons respond,
fast ones hardly. The mixed model gives one test per neuron; the hierarchical
model pools the neurons' effects and centers each neuron on its mouse.
"""

import sys
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from _settings import parse

from bwestimators import ColumnSpec, HierarchicalSlopeRegressor, LMEComparator
from bwestimators.datasets import generate_fake_spikes
from bwestimators.display import PosteriorSlopeDisplay


def main(argv=None):
    args, out, sampler = parse(__doc__, argv)
    df = generate_fake_spikes(
        n_trials=6 if args.quick else 20,
        n_neurons=3 if args.quick else 7,
        n_mice=6,
        dur=7,
        mouse_response_slope=12,
        overall_stim_response_strength=45,
        random_state=0,
    ).df
    y = df["isi"]
    spec = ColumnSpec("stim", condition="neuron_x_mouse", group="mouse", detail="i_trial")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lme = LMEComparator(spec).fit(df, y)
    bayes = HierarchicalSlopeRegressor(spec, random_state=0, **sampler).fit(df, y)
    # one order for both panels: the neurons by their Bayesian estimate, largest at the top
    ranked = bayes.effects_.sort_values("estimate", ascending=False)
    order = list(ranked["neuron_x_mouse"])
    n = len(order)
    fig, axes = plt.subplots(
        1, 2, figsize=(11, min(0.2 * n + 2, 16)), sharex=True, sharey=True, layout="constrained"
    )
    PosteriorSlopeDisplay.from_estimator(lme, df, y, ax=axes[0], order=order, orient="h")
    axes[0].set_title("Mixed model (LME): one test per neuron\n95 % CI, over the change per trial")
    PosteriorSlopeDisplay.from_estimator(
        bayes, df, y, ax=axes[1], kind="density", order=order, orient="h"
    )
    axes[1].set_title("Hierarchical Bayesian: partial pooling\n94 % HDI, posterior density")
    fig.suptitle(f"Effect of stimulation on the inter-spike interval (s), {n} neurons")
    fig.savefig(out / "spikes_slopes.png", dpi=90)
    plt.close("all")
    return {"lme": lme, "bayes": bayes}


if __name__ == "__main__":
    main(sys.argv[1:])
