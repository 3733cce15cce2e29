"""Displays of power sweeps: power curves and ROC curves per estimator."""

import numpy as np
import pandas as pd

from bwestimators.display._base import _DisplayBase, merge_style

#: Markers of the estimators' curves, in order: a line under another still shows its marks.
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
#: x labels of the design columns of a sweep from pilot data.
_AXIS_LABELS = {
    "n_group": "groups (n_group)",
    "n_detail": "rows per group and cell (n_detail)",
    "true_effect": "true effect",
}
#: Names of the binomial intervals of ``power_table``, for the legend.
_INTERVAL_NAMES = {"wilson": "Wilson", "clopper-pearson": "Clopper-Pearson"}


def _dodge(values, n_lines):
    """Horizontal offset between the lines of a facet: 4 % of the smallest x step."""
    try:
        x = np.unique(np.asarray(values, dtype=float))
    except (TypeError, ValueError):
        return 0.0
    step = np.min(np.diff(x)) if len(x) > 1 else 1.0
    return 0.04 * step if n_lines > 1 else 0.0


class PowerCurveDisplay(_DisplayBase):
    """Detection rate along a grid column, one line per estimator, faceted.

    Each estimator's points are shifted a little along x and get their own
    marker, so that equal curves stay visible; the vertical bars are the
    binomial intervals of the rates (their kind and level in the legend title,
    from ``table.attrs``).

    Parameters
    ----------
    table : DataFrame
        Output of :func:`bwestimators.power.power_table`.
    x : str, default="true_effect"
        Column along x: the true effect, or a design column such as
        ``n_group`` (groups) of a sweep from pilot data.
    col : str or None
        Grid column for facets.
    alpha : float or None
        Draw a line at the nominal false-positive rate.

    Attributes
    ----------
    axes_ : ndarray of matplotlib Axes, shape (1, n_facets)
    ax_ : matplotlib Axes
        The first facet.
    figure_ : matplotlib Figure
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
    def from_results(
        cls,
        results,
        *,
        x="true_effect",
        col=None,
        alpha=None,
        ax=None,
        interval="wilson",
        include_unconverged=False,
        **kwargs,
    ):
        """Draw power curves from the results of a :class:`~bwestimators.power.PowerSimulation`.

        Parameters
        ----------
        results : DataFrame
        x : str, default="true_effect"
            Column along x (``"n_group"`` for the number of animals of a
            sweep from pilot data).
        col : str or None
            Grid column for facets; by default the first grid column with more
            than one value besides x.
        alpha : float or None
            Draw a line at the nominal false-positive rate.
        ax : Axes, array of Axes or None
            One Axes per facet.
        interval : {"wilson", "clopper-pearson"}, default="wilson"
            Binomial interval of the rates (:func:`~bwestimators.power.power_table`).
        include_unconverged : bool, default=False
            Count unconverged fits (left out by default).
        **kwargs
            Style dictionaries of :meth:`plot`.

        Returns
        -------
        display : PowerCurveDisplay
        """
        from bwestimators._power_tables import _grid_columns
        from bwestimators.power import power_table

        grid = [
            c
            for c in _grid_columns(results)
            if c != x
            and not results[c]
            .reset_index(drop=True)
            .equals(results[x].reset_index(drop=True).astype(results[c].dtype, errors="ignore"))
        ]
        if x != "true_effect":
            grid = [c for c in grid if c not in ("effect",)] + ["true_effect"]
        if col is None:
            varying = [c for c in grid if results[c].nunique() > 1]
            col = varying[0] if varying else None
        table = power_table(
            results,
            by=["estimator", x, *([col] if col else [])],
            interval=interval,
            include_unconverged=include_unconverged,
        )
        return cls(table, x=x, col=col, alpha=alpha).plot(ax=ax, **kwargs)

    def frame(self):
        """The table drawn."""
        return self.table

    def plot(self, ax=None, *, line_kwargs=None, interval_kwargs=None):
        """Draw the curves with their binomial intervals.

        Parameters
        ----------
        ax : Axes, array of Axes or None
            One Axes per facet; a new figure when None.
        line_kwargs : dict or None
            Keywords of ``Axes.plot`` for the curves (a colour and a marker per
            estimator by default).
        interval_kwargs : dict or None
            Keywords of ``Axes.errorbar`` for the interval bars.

        Returns
        -------
        self : PowerCurveDisplay
        """
        facets = list(pd.unique(self.table[self.col])) if self.col else [None]
        axes = self._make_axes(
            ax, 1, len(facets), sharey=True, figsize=(3.8 * len(facets) + 1, 3.6)
        )
        self.lines_ = {}
        names = list(pd.unique(self.table["estimator"]))
        shift = _dodge(self.table[self.x], len(names))
        for a, facet in zip(axes[0], facets, strict=True):
            sub = self.table if facet is None else self.table[self.table[self.col] == facet]
            for k, name in enumerate(names):
                t = sub[sub["estimator"] == name].sort_values(self.x)
                xs = t[self.x]
                if shift:
                    xs = xs.astype(float) + (k - (len(names) - 1) / 2) * shift
                marker = _MARKERS[k % len(_MARKERS)]
                line = merge_style(
                    {"marker": marker, "color": f"C{k}", "label": name, "ms": 5}, line_kwargs
                )
                bars = merge_style(
                    {"fmt": "none", "ecolor": line["color"], "elinewidth": 1, "capsize": 2},
                    interval_kwargs,
                )
                (self.lines_[(facet, name)],) = a.plot(xs, t["rate"], **line)
                err = [t["rate"] - t["lower"], t["upper"] - t["rate"]]
                a.errorbar(xs, t["rate"], yerr=np.clip(np.asarray(err, float), 0, None), **bars)
            if self.alpha is not None:
                a.axhline(self.alpha, color="0.4", ls="--", lw=0.8)
            a.set_xlabel(_AXIS_LABELS.get(self.x, self.x.replace("_", " ")))
            a.set_ylim(-0.02, 1.02)
            if facet is not None:
                a.set_title(f"{self.col} = {facet}", fontsize="medium")
        self.ax_.set_ylabel("detection rate (power)")
        self.ax_.legend(frameon=False, fontsize="small", title=self._interval_title())
        return self

    def _interval_title(self):
        kind = self.table.attrs.get("interval", "wilson")
        level = self.table.attrs.get("confidence", 0.95)
        return f"bars: {level:.0%} {_INTERVAL_NAMES.get(kind, kind)} interval"


class PowerRocDisplay(_DisplayBase):
    """ROC curve per estimator (true effect > 0 against 0), AUC in the legend.

    Parameters
    ----------
    roc : DataFrame
        Output of :func:`bwestimators.power.roc_table`.
    auc : DataFrame
        Output of :func:`bwestimators.power.roc_auc_table`.

    Attributes
    ----------
    ax_ : matplotlib Axes
    axes_ : ndarray of matplotlib Axes, shape (1, 1)
    figure_ : matplotlib Figure
    lines_ : dict of estimator to Line2D

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from bwestimators.display import PowerRocDisplay
    >>> roc = pd.DataFrame({"estimator": ["a", "a", "a"], "fpr": [0.0, 0.1, 1.0],
    ...                     "tpr": [0.0, 0.8, 1.0]})
    >>> auc = pd.DataFrame({"estimator": ["a"], "auc": [0.86]})
    >>> PowerRocDisplay(roc, auc).plot(line_kwargs={"linewidth": 3}).lines_["a"].get_linewidth()
    3.0
    """

    def __init__(self, roc, auc):
        self.roc = roc
        self.auc = auc

    @classmethod
    def from_results(cls, results, *, ax=None, include_unconverged=False, **kwargs):
        """Draw the ROC curves of the results of a power sweep.

        Parameters
        ----------
        results : DataFrame
        ax : Axes or None
        include_unconverged : bool, default=False
            Count the fits flagged unconverged like the others (left out by
            default, see :func:`bwestimators.power.roc_table`).
        **kwargs
            Style dictionaries of :meth:`plot`.

        Returns
        -------
        display : PowerRocDisplay
        """
        from bwestimators.power import roc_auc_table, roc_table

        tables = (
            table(results, include_unconverged=include_unconverged)
            for table in (roc_table, roc_auc_table)
        )
        return cls(*tables).plot(ax=ax, **kwargs)

    def frame(self):
        """The ROC points drawn."""
        return self.roc

    def plot(self, ax=None, *, line_kwargs=None, chance_kwargs=None):
        """Draw the curves.

        Parameters
        ----------
        ax : Axes or None
        line_kwargs : dict or None
            Keywords of ``Axes.plot`` for the ROC curves (a colour per estimator by default).
        chance_kwargs : dict or None
            Keywords of ``Axes.plot`` for the diagonal of chance.

        Returns
        -------
        self : PowerRocDisplay
        """
        ax = self._make_axes(ax, figsize=(4.5, 4.2))[0, 0]
        self.lines_ = {}
        auc = self.auc.set_index("estimator")["auc"]
        for k, (name, g) in enumerate(self.roc.groupby("estimator", sort=False)):
            line = {"color": f"C{k}", "drawstyle": "steps-post"}
            (self.lines_[name],) = ax.plot(
                g["fpr"],
                g["tpr"],
                **merge_style({**line, "label": f"{name} (AUC = {auc[name]:.2f})"}, line_kwargs),
            )
        chance = merge_style({"color": "0.6", "linestyle": "--", "linewidth": 0.8}, chance_kwargs)
        ax.plot([0, 1], [0, 1], **chance)
        ax.set_xlabel("false-positive rate")
        ax.set_ylabel("true-positive rate")
        ax.legend(frameon=False, fontsize="small", loc="lower right")
        return self
