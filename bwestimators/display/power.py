"""Displays of power sweeps: power curves and ROC curves per estimator."""

import numpy as np
import pandas as pd


class PowerCurveDisplay:
    """Detection rate against the true effect, one line per estimator, faceted.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`bwestimators.power.power_table`.
    x : str, default="true_effect"
    col : str or None
        Grid column for facets.

    Attributes
    ----------
    axes_ : ndarray of Axes
    ax_ : Axes (first facet)
    figure_ : Figure
    lines_ : dict of (facet value, estimator) to Line2D

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from bwestimators.display import PowerCurveDisplay
    >>> table = pd.DataFrame({"estimator": ["a", "a"], "true_effect": [0, 1],
    ...                       "rate": [0.05, 0.8], "lower": [0.0, 0.6], "upper": [0.2, 0.9]})
    >>> len(PowerCurveDisplay(table).plot().lines_)
    1
    """

    def __init__(self, table, *, x="true_effect", col=None, alpha=None):
        self.table = table
        self.x = x
        self.col = col
        self.alpha = alpha

    @classmethod
    def from_results(cls, results, *, x="true_effect", col=None, alpha=None, ax=None):
        """Draw power curves from the results of a :class:`~bwestimators.power.PowerSimulation`.

        Parameters
        ----------
        results : DataFrame
        x : str, default="true_effect"
        col : str or None
            Grid column for facets; by default the first grid column with more
            than one value besides x.
        alpha : float or None
            Draw a line at the nominal false-positive rate.
        ax : Axes, array of Axes or None

        Returns
        -------
        display : PowerCurveDisplay
        """
        from bwestimators.power import _grid_columns, power_table

        grid = [
            c
            for c in _grid_columns(results)
            if c != x
            and not results[c]
            .reset_index(drop=True)
            .equals(results[x].reset_index(drop=True).astype(results[c].dtype, errors="ignore"))
        ]
        if col is None:
            varying = [c for c in grid if results[c].nunique() > 1]
            col = varying[0] if varying else None
        table = power_table(results, by=["estimator", x, *([col] if col else [])])
        return cls(table, x=x, col=col, alpha=alpha).plot(ax=ax)

    def frame(self):
        """The table drawn."""
        return self.table

    def plot(self, ax=None):
        """Draw the curves with their binomial intervals.

        Parameters
        ----------
        ax : Axes, array of Axes or None

        Returns
        -------
        self : PowerCurveDisplay
        """
        import matplotlib.pyplot as plt

        facets = list(pd.unique(self.table[self.col])) if self.col else [None]
        if ax is None:
            fig, axes = plt.subplots(
                1,
                len(facets),
                squeeze=False,
                sharey=True,
                figsize=(3.8 * len(facets) + 1, 3.6),
                layout="constrained",
            )
        else:
            axes = np.atleast_2d(np.asarray(ax, dtype=object))
            fig = axes.flat[0].figure
        self.lines_ = {}
        names = list(pd.unique(self.table["estimator"]))
        for a, facet in zip(axes.flat, facets, strict=False):
            sub = self.table if facet is None else self.table[self.table[self.col] == facet]
            for k, name in enumerate(names):
                t = sub[sub["estimator"] == name].sort_values(self.x)
                (line,) = a.plot(t[self.x], t["rate"], marker="o", color=f"C{k}", label=name)
                a.fill_between(t[self.x], t["lower"], t["upper"], color=f"C{k}", alpha=0.15)
                self.lines_[(facet, name)] = line
            if self.alpha is not None:
                a.axhline(self.alpha, color="0.4", ls="--", lw=0.8)
            a.set_xlabel(self.x.replace("_", " "))
            a.set_ylim(-0.02, 1.02)
            if facet is not None:
                a.set_title(f"{self.col} = {facet}", fontsize="medium")
        axes.flat[0].set_ylabel("detection rate (power)")
        axes.flat[0].legend(frameon=False, fontsize="small")
        self.axes_, self.ax_, self.figure_ = axes, axes.flat[0], fig
        return self


class PowerRocDisplay:
    """ROC curve per estimator (true effect > 0 against 0), AUC in the legend.

    Parameters
    ----------
    roc : DataFrame
        Output of :func:`bwestimators.power.roc_table`.
    auc : DataFrame
        Output of :func:`bwestimators.power.roc_auc_table`.

    Attributes
    ----------
    ax_, figure_ : Axes and Figure
    lines_ : dict of estimator to Line2D
    """

    def __init__(self, roc, auc):
        self.roc = roc
        self.auc = auc

    @classmethod
    def from_results(cls, results, *, ax=None):
        """Draw the ROC curves of the results of a power sweep.

        Parameters
        ----------
        results : DataFrame
        ax : Axes or None

        Returns
        -------
        display : PowerRocDisplay
        """
        from bwestimators.power import roc_auc_table, roc_table

        return cls(roc_table(results), roc_auc_table(results)).plot(ax=ax)

    def frame(self):
        """The ROC points drawn."""
        return self.roc

    def plot(self, ax=None):
        """Draw the curves.

        Parameters
        ----------
        ax : Axes or None

        Returns
        -------
        self : PowerRocDisplay
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(4.5, 4.2), layout="constrained")
        self.lines_ = {}
        auc = self.auc.set_index("estimator")["auc"]
        for k, (name, g) in enumerate(self.roc.groupby("estimator", sort=False)):
            (line,) = ax.plot(
                g["fpr"],
                g["tpr"],
                color=f"C{k}",
                drawstyle="steps-post",
                label=f"{name} (AUC = {auc[name]:.2f})",
            )
            self.lines_[name] = line
        ax.plot([0, 1], [0, 1], color="0.6", ls="--", lw=0.8)
        ax.set_xlabel("false-positive rate")
        ax.set_ylabel("true-positive rate")
        ax.legend(frameon=False, fontsize="small", loc="lower right")
        self.ax_, self.figure_ = ax, ax.figure
        return self
