"""DiagnosticsDisplay: trace and rank plots of the effect parameters, divergences marked."""

import numpy as np
import pandas as pd

from bwestimators.display._common import condition_columns, fitted_parts, labels_of


class DiagnosticsDisplay:
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
    axes_ : ndarray of Axes, shape (k, 2): trace, rank histogram
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
        self.diverging = diverging

    @classmethod
    def from_estimator(cls, estimator, *, max_params=6, axes=None):
        """Draw diagnostics of a fitted Bayesian estimator (NUTS).

        Parameters
        ----------
        estimator : fitted HierarchicalSlopeRegressor or ConditionMeansRegressor (or pipeline)
        max_params : int, default=6
            At most this many effects (the ones with the lowest ESS first).
        axes : array of Axes of shape (k, 2) or None

        Returns
        -------
        display : DiagnosticsDisplay
        """
        model, _ = fitted_parts(estimator)
        if not hasattr(model, "effect_draws"):
            raise TypeError(f"{type(model).__name__} has no posterior draws to diagnose.")
        n_chains = model.draws_[next(iter(model.draws_))].shape[0]
        draws = model.effect_draws().reshape(n_chains, -1, len(model.effects_))
        names = np.array(labels_of(model.effects_, condition_columns(model)))
        order = np.argsort(model.effects_["ess_bulk"].to_numpy())[:max_params]
        diverging = model.sample_stats_.get("diverging")
        disp = cls(draws[..., order], list(names[order]), diverging=diverging)
        return disp.plot(axes=axes)

    def frame(self):
        """Per effect: draws summary drawn (mean per chain)."""
        rows = []
        for k, name in enumerate(self.names):
            for c in range(self.draws.shape[0]):
                rows.append({"parameter": name, "chain": c, "mean": self.draws[c, :, k].mean()})
        return pd.DataFrame(rows)

    def plot(self, axes=None):
        """Draw one row per effect: trace (left) and rank histogram per chain (right).

        Parameters
        ----------
        axes : array of Axes of shape (k, 2) or None

        Returns
        -------
        self : DiagnosticsDisplay
        """
        import matplotlib.pyplot as plt
        from scipy.stats import rankdata

        k = self.draws.shape[-1]
        if axes is None:
            fig, axes = plt.subplots(
                k, 2, squeeze=False, figsize=(9, 1.8 * k + 0.6), layout="constrained"
            )
        else:
            axes = np.atleast_2d(np.asarray(axes, dtype=object))
            fig = axes.flat[0].figure
        n_chains = self.draws.shape[0]
        self.divergence_markers_ = []
        for i in range(k):
            d = self.draws[..., i]
            ranks = rankdata(d.ravel()).reshape(d.shape)
            bins = np.linspace(0, ranks.size, 21)
            for c in range(n_chains):
                axes[i, 0].plot(d[c], lw=0.5, alpha=0.8, color=f"C{c}")
                axes[i, 1].hist(ranks[c], bins=bins, histtype="step", color=f"C{c}")
                if self.diverging is not None and self.diverging[c].any():
                    idx = np.flatnonzero(self.diverging[c])
                    m = axes[i, 0].plot(idx, np.full(idx.size, d.min()), "|", color="red", ms=10)
                    self.divergence_markers_.extend(m)
            axes[i, 0].set_ylabel(self.names[i], fontsize="small")
            axes[i, 1].axhline(ranks.size / 20 / n_chains, color="0.5", ls="--", lw=0.8)
            axes[i, 1].set_yticks([])
        axes[0, 0].set_title("trace (divergences in red)", fontsize="small")
        axes[0, 1].set_title("rank histogram per chain", fontsize="small")
        axes[-1, 0].set_xlabel("draw")
        axes[-1, 1].set_xlabel("rank")
        self.axes_, self.figure_ = axes, fig
        return self
