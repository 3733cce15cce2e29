"""Radon in Minnesota homes: partial pooling of 85 counties.
=========================================================

Log radon on floor (0 basement, 1 first floor) with a random intercept per
county (Gelman & Hill 2007, ch. 12). Counties with few homes are pulled
towards the state mean; counties with many keep their own mean.
"""

import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from _settings import parse

from bwestimators import ColumnSpec, HierarchicalSlopeRegressor
from bwestimators.datasets import load_radon
from bwestimators.display import InterceptDisplay


def main(argv=None):
    _, out, sampler = parse(__doc__, argv)
    df = load_radon()
    y = df["log_radon"]
    est = HierarchicalSlopeRegressor(
        ColumnSpec("floor", group="county"), random_state=0, **sampler
    ).fit(df, y)
    basement = df[df["floor"] == 0].groupby("county")["log_radon"]
    raw = basement.mean().reindex(est.intercepts_["county"])
    n = df.groupby("county").size().reindex(est.intercepts_["county"])
    pooled = est.intercepts_.set_index("county")["estimate"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 5.2), layout="constrained")
    ax = axes[0]
    ax.scatter(n, raw, s=14, color="tab:orange", label="basement mean of the county's homes")
    ax.scatter(n, pooled, s=14, color="black", label="partially pooled intercept")
    for k in raw.index:
        if np.isfinite(raw[k]):
            ax.plot([n[k], n[k]], [raw[k], pooled[k]], color="0.7", lw=0.6, zorder=0)
    ax.axhline(float(pooled.mean()), color="0.4", ls="--", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("homes measured in the county")
    ax.set_ylabel("log radon in the basement, log(pCi/L)")
    ax.set_title("Shrinkage: small counties move towards the state mean", fontsize="medium")
    ax.legend(fontsize="small", frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.15))
    top = est.intercepts_.sort_values("estimate").iloc[np.r_[0:10, -10:0]]
    disp = InterceptDisplay(top.reset_index(drop=True), "county").plot(ax=axes[1])
    eff = est.effects_.iloc[0]
    disp.ax_.set_title(
        "The 10 lowest and 10 highest counties (94 % HDI)\n"
        f"floor effect {eff['estimate']:.2f} [{eff['lower']:.2f}, {eff['upper']:.2f}] log(pCi/L)",
        fontsize="medium",
    )
    disp.ax_.set_xlabel("county intercept, log(pCi/L), 94 % HDI")
    fig.savefig(out / "radon_shrinkage.png", dpi=90)
    plt.close("all")
    return {"bayes": est}


if __name__ == "__main__":
    main(sys.argv[1:])
