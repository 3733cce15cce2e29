"""Displays of model comparison and posterior predictive checks."""

import numpy as np
import pandas as pd

from bwestimators._base import transform_to_final
from bwestimators.display._common import fitted_parts


class ModelComparisonDisplay:
    """ELPD of each model with its standard error, best on top (like ``az.plot_compare``).

    Parameters
    ----------
    comparison : DataFrame
        Output of :func:`bwestimators.model_selection.compare_models` (indexed by
        model, with ``elpd``, ``se``, ``elpd_diff``, ``dse``).

    Attributes
    ----------
    ax_, figure_ : Axes and Figure
    errorbar_ : ErrorbarContainer of the ELPDs

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from bwestimators.display import ModelComparisonDisplay
    >>> cmp = pd.DataFrame({"elpd": [-10.0, -14.0], "se": [2.0, 2.5], "elpd_diff": [0.0, 4.0],
    ...                     "dse": [0.0, 1.5]}, index=["full", "no treatment"])
    >>> ModelComparisonDisplay(cmp).plot().frame().index.tolist()
    ['full', 'no treatment']
    """

    def __init__(self, comparison):
        self.comparison = comparison

    @classmethod
    def from_comparison(cls, comparison, *, ax=None):
        """Draw a comparison table.

        Parameters
        ----------
        comparison : DataFrame
        ax : Axes or None

        Returns
        -------
        display : ModelComparisonDisplay
        """
        return cls(comparison).plot(ax=ax)

    def frame(self):
        """The numbers drawn: ``elpd``, ``se``, ``elpd_diff``, ``dse`` per model."""
        return self.comparison[["elpd", "se", "elpd_diff", "dse"]]

    def plot(self, ax=None):
        """Draw ELPDs (open circles, error bars: se) and differences to the best (dse).

        Parameters
        ----------
        ax : Axes or None

        Returns
        -------
        self : ModelComparisonDisplay
        """
        import matplotlib.pyplot as plt

        c = self.comparison.sort_values("elpd", ascending=True)
        if ax is None:
            _, ax = plt.subplots(figsize=(5.5, 0.45 * len(c) + 1.5), layout="constrained")
        pos = np.arange(len(c))
        self.errorbar_ = ax.errorbar(
            c["elpd"], pos, xerr=c["se"], fmt="o", mfc="white", color="black", label="ELPD ± se"
        )
        best = c["elpd"].max()
        diff = c["elpd_diff"] > 0
        ax.errorbar(
            best - c["elpd_diff"][diff],
            pos[diff] - 0.2,
            xerr=c["dse"][diff],
            fmt="^",
            color="0.5",
            ms=4,
            label="difference to best ± dse",
        )
        ax.axvline(best, color="0.6", ls="--", lw=0.8)
        ax.set_yticks(pos)
        ax.set_yticklabels([str(i) for i in c.index])
        ax.set_xlabel("ELPD (PSIS-LOO), higher is better")
        ax.legend(frameon=False, fontsize="small")
        self.ax_, self.figure_ = ax, ax.figure
        return self


class PosteriorPredictiveDisplay:
    """Observed y against draws from the posterior predictive, per treatment level.

    Parameters
    ----------
    observed : DataFrame
        Columns ``treatment`` and ``y``.
    predicted : DataFrame
        Columns ``draw``, ``treatment`` and ``y`` (one set of rows per draw).
    y_label : str

    Attributes
    ----------
    axes_ : ndarray of Axes, one per treatment level
    figure_ : Figure
    """

    def __init__(self, observed, predicted, *, y_label="y"):
        self.observed = observed
        self.predicted = predicted
        self.y_label = y_label

    @classmethod
    def from_estimator(cls, estimator, X, y, *, n_draws=50, random_state=0, ax=None):
        """Draw a posterior predictive check of a fitted Bayesian estimator.

        Parameters
        ----------
        estimator : fitted HierarchicalSlopeRegressor or ConditionMeansRegressor (or pipeline)
        X : DataFrame
        y : array-like
        n_draws : int, default=50
        random_state : int, default=0
        ax : array of Axes (one per treatment level) or None

        Returns
        -------
        display : PosteriorPredictiveDisplay
        """
        model, _ = fitted_parts(estimator)
        if not hasattr(model, "sample_posterior_predictive"):
            raise TypeError(f"{type(model).__name__} has no posterior predictive distribution.")
        Xt = transform_to_final(estimator, X)
        t = model._resolve(Xt, fit=False).Z["treatment"].to_numpy()
        draws = model.sample_posterior_predictive(Xt, n_draws=n_draws, random_state=random_state)
        observed = pd.DataFrame({"treatment": t, "y": np.asarray(y, dtype=float)})
        predicted = pd.DataFrame(
            {
                "draw": np.repeat(np.arange(draws.shape[0]), draws.shape[1]),
                "treatment": np.tile(t, draws.shape[0]),
                "y": draws.ravel(),
            }
        )
        name = getattr(y, "name", None) or "y"
        return cls(observed, predicted, y_label=str(name)).plot(ax=ax)

    def frame(self):
        """Observed and predicted values drawn, with a ``source`` column."""
        return pd.concat(
            [
                self.observed.assign(source="observed", draw=-1),
                self.predicted.assign(source="predicted"),
            ],
            ignore_index=True,
        )

    def plot(self, ax=None):
        """Draw histograms: observed (black) over predictive draws (blue lines).

        Parameters
        ----------
        ax : array of Axes or None

        Returns
        -------
        self : PosteriorPredictiveDisplay
        """
        import matplotlib.pyplot as plt

        levels = sorted(self.observed["treatment"].unique())
        if ax is None:
            _, axes = plt.subplots(
                1,
                len(levels),
                figsize=(3.6 * len(levels) + 0.5, 3.2),
                sharex=True,
                squeeze=False,
                layout="constrained",
            )
            axes = axes[0]
        else:
            axes = np.atleast_1d(np.asarray(ax, dtype=object))
        lo, hi = np.nanpercentile(np.r_[self.observed["y"], self.predicted["y"]], [0.5, 99.5])
        bins = np.linspace(lo, hi, 31)
        for a, level in zip(axes, levels, strict=False):
            pred = self.predicted[self.predicted["treatment"] == level]
            for _, g in pred.groupby("draw"):
                a.hist(
                    g["y"],
                    bins=bins,
                    density=True,
                    histtype="step",
                    color="tab:blue",
                    alpha=0.15,
                    lw=0.8,
                )
            obs = self.observed.loc[self.observed["treatment"] == level, "y"]
            a.hist(obs, bins=bins, density=True, histtype="step", color="black", lw=1.8)
            a.set_title(f"treatment = {level:g}", fontsize="medium")
            a.set_xlabel(self.y_label)
        axes[0].set_ylabel("density")
        axes[0].figure.suptitle(
            "observed (black) and posterior predictive draws (blue)", fontsize="medium"
        )
        self.axes_, self.figure_ = axes, axes[0].figure
        return self
