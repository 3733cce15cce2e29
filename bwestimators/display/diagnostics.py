"""DiagnosticsDisplay: trace and rank plots of the effect parameters, divergences marked."""

import numpy as np
import pandas as pd

from bwestimators.display._base import _DisplayBase, merge_style
from bwestimators.display._common import fitted_parts, labels_of


class DiagnosticsDisplay(_DisplayBase):
    """Trace and rank plots of the posterior draws of the treatment effects.

    Parameters
    ----------
    draws : ndarray of shape (n_chains, n_samples, k)
        Draws of k effects.
    names : list of str
        Label of each effect.
    diverging : ndarray of shape (n_chains, n_samples) or None

    Attributes
    ----------
    axes_ : ndarray of Axes, shape (k, 2)
        One row per effect: trace (left), rank histogram (right).
    ax_ : matplotlib Axes
        The trace of the first effect, ``axes_[0, 0]``.
    figure_ : matplotlib Figure
    divergence_markers_ : list of artists marking divergent draws

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from bwestimators.display import DiagnosticsDisplay
    >>> draws = np.random.default_rng(0).normal(size=(2, 100, 1))
    >>> DiagnosticsDisplay(draws, ["stim"]).plot().axes_.shape
    (1, 2)
    """

    def __init__(self, draws, names, *, diverging=None):
        self.draws = np.asarray(draws)
        self.names = list(names)
        if self.draws.ndim != 3 or self.draws.shape[-1] != len(self.names):
            raise ValueError(
                f"draws must have shape (n_chains, n_samples, {len(self.names)}), one slice per "
                f"name; got {self.draws.shape}."
            )
        self.diverging = diverging

    @classmethod
    def from_estimator(cls, estimator, *, max_params=6, ax=None, axes=None, **kwargs):
        """Draw diagnostics of a fitted Bayesian estimator (NUTS).

        Parameters
        ----------
        estimator : fitted HierarchicalSlopeRegressor or ConditionMeansRegressor (or pipeline)
        max_params : int, default=6
            At most this many effects (the ones with the lowest ESS first).
        ax : array of 2k Axes or None
            Where to draw (k rows of two); a new figure when None.
        axes : array of Axes or None
            Alias of ``ax``, kept for compatibility.
        **kwargs
            Style dictionaries of :meth:`plot`.

        Returns
        -------
        display : DiagnosticsDisplay
        """
        model, _ = fitted_parts(estimator)
        if not hasattr(model, "effect_draws"):
            raise TypeError(f"{type(model).__name__} has no posterior draws to diagnose.")
        n_chains = model.draws_[next(iter(model.draws_))].shape[0]
        draws = model.effect_draws().reshape(n_chains, -1, len(model.effects_))
        treatment = model.effects_.attrs.get("treatment") or "treatment"
        names = np.array(
            labels_of(
                model.effects_, model.condition_columns_, sep="\n", empty=f"effect of {treatment}"
            )
        )
        order = np.argsort(model.effects_["ess_bulk"].to_numpy())[:max_params]
        diverging = model.sample_stats_.get("diverging")
        disp = cls(draws[..., order], list(names[order]), diverging=diverging)
        return disp.plot(ax=ax, axes=axes, **kwargs)

    def frame(self):
        """Per effect: draws summary drawn (mean per chain)."""
        rows = []
        for k, name in enumerate(self.names):
            for c in range(self.draws.shape[0]):
                rows.append({"parameter": name, "chain": c, "mean": self.draws[c, :, k].mean()})
        return pd.DataFrame(rows)

    def plot(
        self, ax=None, *, axes=None, trace_kwargs=None, hist_kwargs=None, divergence_kwargs=None
    ):
        """Draw one row per effect: trace (left) and rank histogram per chain (right).

        Parameters
        ----------
        ax : array of 2k Axes or None
            Where to draw (k rows of two); a new figure when None.
        axes : array of Axes or None
            Alias of ``ax``, kept for compatibility.
        trace_kwargs : dict or None
            Keywords of ``Axes.plot`` for the traces (colour per chain by default).
        hist_kwargs : dict or None
            Keywords of ``Axes.hist`` for the rank histograms.
        divergence_kwargs : dict or None
            Keywords of ``Axes.plot`` for the divergence markers (red ticks).

        Returns
        -------
        self : DiagnosticsDisplay
        """
        from scipy.stats import rankdata

        k, n_chains = self.draws.shape[-1], self.draws.shape[0]
        axes = self._make_axes(ax if axes is None else axes, k, 2, figsize=(9, 1.8 * k + 0.6))
        marker = merge_style(
            {"marker": "|", "linestyle": "none", "color": "red", "markersize": 10},
            divergence_kwargs,
        )
        self.divergence_markers_ = []
        for i in range(k):
            d = self.draws[..., i]
            ranks = rankdata(d.ravel()).reshape(d.shape)
            bins = np.linspace(0, ranks.size, 21)
            for c in range(n_chains):
                trace = merge_style(
                    {"linewidth": 0.5, "alpha": 0.8, "color": f"C{c}"}, trace_kwargs
                )
                hist = merge_style({"histtype": "step", "color": f"C{c}"}, hist_kwargs)
                axes[i, 0].plot(d[c], **trace)
                axes[i, 1].hist(ranks[c], bins=bins, **hist)
                if self.diverging is not None and self.diverging[c].any():
                    idx = np.flatnonzero(self.diverging[c])
                    m = axes[i, 0].plot(idx, np.full(idx.size, d.min()), **marker)
                    self.divergence_markers_.extend(m)
            axes[i, 0].set_ylabel(self.names[i], fontsize="small")
            axes[i, 1].axhline(ranks.size / 20 / n_chains, color="0.5", ls="--", lw=0.8)
            axes[i, 1].set_yticks([])
        axes[0, 0].set_title("trace (divergences in red)", fontsize="small")
        axes[0, 1].set_title("rank histogram per chain", fontsize="small")
        axes[-1, 0].set_xlabel("draw")
        axes[-1, 1].set_xlabel("rank")
        return self
