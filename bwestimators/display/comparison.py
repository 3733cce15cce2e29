"""Displays of model comparison and posterior predictive checks."""

import numpy as np
import pandas as pd

from bwestimators.display._base import _DisplayBase, merge_style
from bwestimators.display._common import fitted_parts, transform_to_final


class ModelComparisonDisplay(_DisplayBase):
    """ELPD of each model with its standard error, best on top (like ``az.plot_compare``).

    Parameters
    ----------
    comparison : DataFrame
        Output of :func:`bwestimators.model_selection.compare_models` (indexed by
        model, with ``elpd``, ``se``, ``elpd_diff``, ``dse``; models whose
        ``reliable`` column is False get a "(Pareto k > 0.7)" mark), or of
        :func:`bwestimators.model_selection.summarize_cross_validation`.

    Attributes
    ----------
    ax_ : matplotlib Axes
    axes_ : ndarray of matplotlib Axes, shape (1, 1)
    figure_ : matplotlib Figure
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
    def from_comparison(cls, comparison, *, ax=None, **kwargs):
        """Draw a comparison table.

        Parameters
        ----------
        comparison : DataFrame
        ax : Axes or None
        **kwargs
            Style dictionaries of :meth:`plot`.

        Returns
        -------
        display : ModelComparisonDisplay
        """
        return cls(comparison).plot(ax=ax, **kwargs)

    def frame(self):
        """The numbers drawn: ``elpd``, ``se``, ``elpd_diff``, ``dse`` per model."""
        return self.comparison[["elpd", "se", "elpd_diff", "dse"]]

    def plot(self, ax=None, *, errorbar_kwargs=None, difference_kwargs=None):
        """Draw ELPDs (open circles, error bars: se) and differences to the best (dse).

        Parameters
        ----------
        ax : Axes or None
        errorbar_kwargs : dict or None
            Keywords of ``Axes.errorbar`` for the ELPDs.
        difference_kwargs : dict or None
            Keywords of ``Axes.errorbar`` for the differences to the best model.

        Returns
        -------
        self : ModelComparisonDisplay
        """
        c = self.comparison.sort_values("elpd", ascending=True)
        ax = self._make_axes(ax, figsize=(5.5, 0.45 * len(c) + 1.5))[0, 0]
        pos = np.arange(len(c))
        elpd = {"fmt": "o", "markerfacecolor": "white", "color": "black", "label": "ELPD ± se"}
        self.errorbar_ = ax.errorbar(
            c["elpd"], pos, xerr=c["se"], **merge_style(elpd, errorbar_kwargs)
        )
        best = c["elpd"].max()
        diff = c["elpd_diff"] > 0
        dse = {"fmt": "^", "color": "0.5", "markersize": 4, "label": "difference to best ± dse"}
        ax.errorbar(
            best - c["elpd_diff"][diff],
            pos[diff] - 0.2,
            xerr=c["dse"][diff],
            **merge_style(dse, difference_kwargs),
        )
        ax.axvline(best, color="0.6", ls="--", lw=0.8)
        ax.set_yticks(pos)
        reliable = c["reliable"] if "reliable" in c.columns else pd.Series(True, index=c.index)
        ax.set_yticklabels(
            [str(i) + ("" if ok else "\n(Pareto k > 0.7)") for i, ok in reliable.items()]
        )
        method = {"loo": "PSIS-LOO", "logo": "PSIS-LOGO"}.get(
            self.comparison.attrs.get("method"), "cross-validation"
        )
        ax.set_xlabel(f"ELPD ({method}), higher is better")
        ax.legend(frameon=False, fontsize="small")
        return self


class PosteriorPredictiveDisplay(_DisplayBase):
    """Observed y against draws from the posterior predictive, per treatment level.

    Parameters
    ----------
    observed : DataFrame
        Columns ``treatment`` and ``y``.
    predicted : DataFrame
        Columns ``draw``, ``treatment`` and ``y`` (one set of rows per draw).
    y_label : str
    treatment_label : str, default="treatment"
        Name of the treatment column, for the panel titles.
    level_labels : dict or None, default=None
        The label of each coded treatment value (``{0.0: "off", 1.0: "on"}``);
        None: the values themselves.

    Attributes
    ----------
    axes_ : ndarray of matplotlib Axes, shape (1, n_levels)
        One panel per treatment level.
    ax_ : matplotlib Axes
        The first panel.
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from bwestimators.display import PosteriorPredictiveDisplay
    >>> observed = pd.DataFrame({"treatment": [0.0, 0.0, 1.0, 1.0], "y": [1.0, 1.2, 2.0, 2.1]})
    >>> predicted = observed.assign(draw=0, y=[1.1, 1.0, 2.2, 1.9])
    >>> disp = PosteriorPredictiveDisplay(observed, predicted)
    >>> disp.frame()["source"].value_counts().to_dict()
    {'observed': 4, 'predicted': 4}
    >>> disp.plot().axes_.shape
    (1, 2)
    """

    def __init__(
        self, observed, predicted, *, y_label="y", treatment_label="treatment", level_labels=None
    ):
        self.observed = observed
        self.predicted = predicted
        self.y_label = y_label
        self.treatment_label = treatment_label
        self.level_labels = level_labels

    @classmethod
    def from_estimator(cls, estimator, X, y, *, n_draws=50, random_state=0, ax=None, **kwargs):
        """Draw a posterior predictive check of a fitted Bayesian estimator.

        Parameters
        ----------
        estimator : fitted HierarchicalSlopeRegressor or ConditionMeansRegressor (or pipeline)
        X : DataFrame
        y : array-like
        n_draws : int, default=50
        random_state : int, default=0
        ax : array of Axes (one per treatment level) or None
        **kwargs
            Style dictionaries of :meth:`plot`.

        Returns
        -------
        display : PosteriorPredictiveDisplay
        """
        model, _ = fitted_parts(estimator)
        if not hasattr(model, "sample_posterior_predictive"):
            raise TypeError(f"{type(model).__name__} has no posterior predictive distribution.")
        Xt = transform_to_final(estimator, X)
        t = model.spec_.transform(Xt)["treatment"].to_numpy()
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
        attrs = model.effects_.attrs
        levels = attrs.get("treatment_levels")
        return cls(
            observed,
            predicted,
            y_label=str(name),
            treatment_label=str(attrs.get("treatment") or "treatment"),
            level_labels=None if levels is None else {float(i): v for i, v in enumerate(levels)},
        ).plot(ax=ax, **kwargs)

    def frame(self):
        """Observed and predicted values drawn, with a ``source`` column."""
        return pd.concat(
            [
                self.observed.assign(source="observed", draw=-1),
                self.predicted.assign(source="predicted"),
            ],
            ignore_index=True,
        )

    def plot(self, ax=None, *, observed_kwargs=None, predicted_kwargs=None):
        """Draw histograms: observed (black) over predictive draws (blue lines).

        Parameters
        ----------
        ax : array of Axes or None
            One Axes per treatment level; a new figure when None.
        observed_kwargs : dict or None
            Keywords of ``Axes.hist`` for the observed data (default black).
        predicted_kwargs : dict or None
            Keywords of ``Axes.hist`` for each predictive draw (default light blue).

        Returns
        -------
        self : PosteriorPredictiveDisplay
        """
        levels = sorted(self.observed["treatment"].unique())
        axes = self._make_axes(
            ax, 1, len(levels), figsize=(3.6 * len(levels) + 0.5, 3.2), sharex=True
        )
        lo, hi = np.nanpercentile(np.r_[self.observed["y"], self.predicted["y"]], [0.5, 99.5])
        hist = {"bins": np.linspace(lo, hi, 31), "density": True, "histtype": "step"}
        predicted = merge_style(
            {**hist, "color": "tab:blue", "alpha": 0.15, "linewidth": 0.8}, predicted_kwargs
        )
        observed = merge_style({**hist, "color": "black", "linewidth": 1.8}, observed_kwargs)
        for a, level in zip(axes[0], levels, strict=True):
            pred = self.predicted[self.predicted["treatment"] == level]
            for _, g in pred.groupby("draw"):
                a.hist(g["y"], **predicted)
            a.hist(self.observed.loc[self.observed["treatment"] == level, "y"], **observed)
            label = (self.level_labels or {}).get(float(level), f"{level:g}")
            a.set_title(f"{self.treatment_label} = {label}", fontsize="medium")
            a.set_xlabel(self.y_label)
        self.ax_.set_ylabel("density")
        self.figure_.suptitle(
            "observed (black) and posterior predictive draws (blue)", fontsize="medium"
        )
        return self
