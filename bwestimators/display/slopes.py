"""PosteriorSlopeDisplay: treatment effects per condition, with their uncertainty, over the data."""

import numpy as np
import pandas as pd

from bwestimators.display._common import (
    condition_columns,
    fitted_parts,
    hdi,
    is_bayesian,
    labels_of,
    raw_frame,
    thin_ticks,
)
from bwestimators.effects import make_change


class PosteriorSlopeDisplay:
    """Treatment effect per condition: estimate, interval, posterior density and data.

    Create it with :meth:`from_estimator`; :meth:`plot` draws it. Every
    estimator of the library works (no density for the frequentist ones).

    Parameters
    ----------
    effects : DataFrame
        The estimator's ``effects_`` (decoded condition columns, ``estimate``,
        ``lower``, ``upper``).
    condition_columns : list of str
        The condition columns of ``effects``.
    draws : ndarray of shape (n_draws, n_conditions) or None
        Posterior draws of the effects (Bayesian fits).
    change : DataFrame or None
        The change of the data between treatment levels (:func:`make_change`).
    change_column : str or None
        The column of ``change`` with the change.
    y_label : str, default="effect"
        Axis label.
    estimator_name : str or None
        Title.

    Attributes
    ----------
    ax_ : matplotlib Axes (or array of Axes with facets)
    figure_ : matplotlib Figure
    errorbar_ : list of matplotlib containers, one per facet
    violins_ : list of violin collections (density plots)
    data_artists_ : list of artists of the data overlay

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from bwestimators import ColumnSpec, LMEComparator
    >>> from bwestimators.display import PosteriorSlopeDisplay
    >>> from bwestimators.datasets import generate_fake_lfp
    >>> df = generate_fake_lfp(mouse_response_slope=9, n_trials=10, random_state=0).df
    >>> lme = LMEComparator(ColumnSpec("stim", group="mouse", detail="i_trial"))
    >>> lme = lme.fit(df, df["Log power"])
    >>> disp = PosteriorSlopeDisplay.from_estimator(lme, df, df["Log power"])
    >>> disp.frame()[["estimate", "lower", "upper"]].shape
    (1, 3)
    """

    def __init__(
        self,
        effects,
        condition_columns,
        *,
        draws=None,
        change=None,
        change_column=None,
        y_label="effect",
        estimator_name=None,
    ):
        self.effects = effects
        self.condition_columns = list(condition_columns)
        self.draws = draws
        self.change = change
        self.change_column = change_column
        self.y_label = y_label
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X=None,
        y=None,
        *,
        x=None,
        hue=None,
        col=None,
        row=None,
        add_data=True,
        change="subtract",
        kind="interval",
        order="auto",
        ax=None,
    ):
        """Build the display from a fitted estimator (or pipeline) and draw it.

        Parameters
        ----------
        estimator : fitted estimator or Pipeline
        X : DataFrame or None
            Raw data (the columns the spec names), for the data overlay.
        y : array-like or None
            Outcome, for the data overlay.
        x, hue, col, row : str or None
            Condition columns for the x axis, the colour (dodged), and facet
            columns and rows. By default all conditions share the x axis.
        add_data : bool, default=True
            Draw the change of the data between treatment levels per (group,
            detail) as box + strip, when X and y are given.
        change : {"subtract", "divide"}, default="subtract"
            How the data change is computed (see :func:`make_change`).
        kind : {"interval", "density"}, default="interval"
            ``"density"`` adds the posterior density (half violin) of Bayesian fits.
        order : {"auto", "data", "estimate"}, default="auto"
            Order of the conditions on the x axis: ``"auto"`` orders by estimate
            when there are more than 12 conditions.
        ax : matplotlib Axes or None

        Returns
        -------
        display : PosteriorSlopeDisplay
        """
        model, spec = fitted_parts(estimator)
        effects = model.effects_.copy()
        conds = condition_columns(model)
        draws = model.effect_draws() if is_bayesian(model) else None
        change_frame, change_column, y_label = None, None, "treatment effect"
        y_name = getattr(y, "name", None) or "y"
        if y is not None:
            y_label = f"effect on {y_name}"
        if add_data and X is not None and y is not None and spec is not None:
            frame = raw_frame(X, y, y_name)
            change_frame = make_change(frame, y_name, spec, method=change)
            change_column = f"{y_name} diff"
        disp = cls(
            effects,
            conds,
            draws=draws,
            change=change_frame,
            change_column=change_column,
            y_label=y_label,
            estimator_name=type(model).__name__,
        )
        return disp.plot(ax=ax, x=x, hue=hue, col=col, row=row, kind=kind, order=order)

    def frame(self):
        """The tidy table that was drawn: condition labels, estimate, interval, x position."""
        cols = [*self.condition_columns, "estimate", "lower", "upper"]
        out = self.effects[cols].copy()
        if hasattr(self, "_positions"):
            out["x"] = self._positions
        return out

    def data_frame(self):
        """The data overlay: one row per (group, condition, detail) with its change and x."""
        if self.change is None:
            return None
        return self._change_drawn

    def _layout(self, x, hue, order):
        eff = self.effects
        labels = np.array(labels_of(eff, [x] if x else self.condition_columns))
        if x is None and hue is None:
            n = len(eff)
            ranks = np.arange(n)
            by_estimate = order == "estimate" or (order == "auto" and n > 12)
            if by_estimate:
                ranks = np.empty(n, dtype=int)
                ranks[np.argsort(eff["estimate"].to_numpy(), kind="stable")] = np.arange(n)
            return ranks.astype(float), labels, None
        xs = pd.unique(eff[x]) if x else np.array(["all"])
        xpos = {v: i for i, v in enumerate(xs)}
        base = np.array([xpos[v] for v in (eff[x] if x else ["all"] * len(eff))], dtype=float)
        if hue is None:
            return base, labels, None
        hues = list(pd.unique(eff[hue]))
        width = 0.7 / max(len(hues), 1)
        offset = np.array([hues.index(v) for v in eff[hue]]) * width - 0.35 + width / 2
        return base + offset, labels, hues

    def plot(self, ax=None, *, x=None, hue=None, col=None, row=None, kind="interval", order="auto"):
        """Draw the display.

        Parameters
        ----------
        ax : matplotlib Axes, array of Axes or None
            Where to draw; with ``col``/``row`` an array of Axes of the facet grid.
        x, hue, col, row, kind, order :
            As in :meth:`from_estimator`.

        Returns
        -------
        self : PosteriorSlopeDisplay
        """
        import matplotlib.pyplot as plt

        if kind not in ("interval", "density"):
            raise ValueError(f"kind must be 'interval' or 'density', got {kind!r}.")
        for name, value in (("x", x), ("hue", hue), ("col", col), ("row", row)):
            if value is not None and value not in self.condition_columns:
                raise ValueError(
                    f"{name}={value!r} is not a condition column; choose from "
                    f"{self.condition_columns}."
                )
        col_values = list(pd.unique(self.effects[col])) if col else [None]
        row_values = list(pd.unique(self.effects[row])) if row else [None]
        if ax is None:
            n_cond = len(self.effects) / (len(col_values) * len(row_values))
            width = min(max(4.0, 0.35 * n_cond + 2), 16)
            fig, axes = plt.subplots(
                len(row_values),
                len(col_values),
                squeeze=False,
                sharey=True,
                figsize=(width * len(col_values), 3.8 * len(row_values)),
                layout="constrained",
            )
        else:
            axes = np.atleast_2d(np.asarray(ax, dtype=object))
            if axes.shape != (len(row_values), len(col_values)):
                axes = axes.reshape(len(row_values), len(col_values))
            fig = axes[0, 0].figure
        positions = np.full(len(self.effects), np.nan)
        self.errorbar_, self.violins_, self.data_artists_ = [], [], []
        drawn = []
        for i, rv in enumerate(row_values):
            for j, cv in enumerate(col_values):
                mask = np.ones(len(self.effects), dtype=bool)
                if row:
                    mask &= (self.effects[row] == rv).to_numpy()
                if col:
                    mask &= (self.effects[col] == cv).to_numpy()
                sub = PosteriorSlopeDisplay(
                    self.effects[mask].reset_index(drop=True),
                    self.condition_columns,
                    draws=None if self.draws is None else self.draws[:, mask],
                    change=self.change,
                    change_column=self.change_column,
                    y_label=self.y_label,
                )
                pos = sub._draw(axes[i, j], x=x, hue=hue, kind=kind, order=order)
                positions[mask] = pos
                self.errorbar_.append(sub.errorbar_)
                self.violins_.extend(sub.violins_)
                self.data_artists_.extend(sub.data_artists_)
                if sub._change_drawn is not None:
                    drawn.append(sub._change_drawn)
                title = ", ".join(f"{k} = {v}" for k, v in ((row, rv), (col, cv)) if k is not None)
                if title:
                    axes[i, j].set_title(title)
                if j > 0:
                    axes[i, j].set_ylabel("")
        self._positions = positions
        self._change_drawn = pd.concat(drawn, ignore_index=True) if drawn else None
        if self.estimator_name and axes.size == 1:
            axes[0, 0].set_title(self.estimator_name)
        self.ax_ = axes[0, 0] if axes.size == 1 else axes
        self.figure_ = fig
        return self

    def _draw(self, ax, *, x, hue, kind, order):
        eff = self.effects
        pos, labels, hues = self._layout(x, hue, order)
        est = eff["estimate"].to_numpy()
        lo, hi = eff["lower"].to_numpy(), eff["upper"].to_numpy()
        self.violins_, self.data_artists_ = [], []
        self._change_drawn = None
        ax.axhline(0, color="0.4", lw=0.8, ls="--", zorder=0)
        data_pos = pos
        if self.change is not None:
            data_pos, pos = pos - 0.17, pos + 0.12
            self._draw_data(ax, data_pos, labels, x)
        if self.draws is not None and kind == "density":
            parts = ax.violinplot(
                self.draws, positions=pos, widths=0.6, showextrema=False, side="high"
            )
            for body in parts["bodies"]:
                body.set_alpha(0.35)
                body.set_facecolor("tab:blue")
            self.violins_.append(parts)
        colors = None
        if hues is not None:
            palette = [f"C{k % 10}" for k in range(len(hues))]
            colors = [palette[hues.index(v)] for v in eff[hue]]
        self.errorbar_ = ax.errorbar(
            pos,
            est,
            yerr=[est - lo, hi - est],
            fmt="none",
            ecolor="black",
            elinewidth=1.2,
            capsize=0,
            zorder=3,
        )
        if self.draws is not None:
            h50 = hdi(self.draws, 0.5)
            ax.vlines(pos, h50[:, 0], h50[:, 1], color="black", lw=4, zorder=3)
        ax.scatter(pos, est, c=colors or "black", s=30, zorder=4, edgecolor="white", lw=0.5)
        if hues is not None:
            for k, h in enumerate(hues):
                ax.scatter([], [], c=f"C{k % 10}", label=f"{hue} = {h}")
            ax.legend(fontsize="small", frameon=False)
        tick_pos = (pos + data_pos) / 2
        if x is None and hue is None:
            order_idx = np.argsort(tick_pos)
            thin_ticks(ax, tick_pos[order_idx], [labels[i] for i in order_idx])
        else:
            xs = list(pd.unique(eff[x])) if x else ["all"]
            ax.set_xticks(np.arange(len(xs)))
            ax.set_xticklabels([str(v) for v in xs])
        ax.set_xlabel(x or (", ".join(self.condition_columns) or ""))
        ax.set_ylabel(self.y_label)
        ax.set_xlim(min(data_pos.min(), pos.min()) - 0.5, max(data_pos.max(), pos.max()) + 0.5)
        return tick_pos

    def _draw_data(self, ax, pos, labels, x):
        change, column = self.change, self.change_column
        conds = self.condition_columns
        if conds:
            key = labels_of(change, [x] if x else conds)
            where = dict(zip(labels_of(self.effects, [x] if x else conds), pos, strict=False))
            change = change.assign(_label=key)
            change = change[change["_label"].isin(where)]
            change = change.assign(x=change["_label"].map(where)).drop(columns="_label")
        else:
            change = change.assign(x=pos[0] if len(pos) else 0.0)
        self._change_drawn = change.reset_index(drop=True)
        groups = [g[column].to_numpy() for _, g in change.groupby("x")]
        xs = sorted(change["x"].unique())
        if groups:
            grey = {"color": "0.6", "lw": 0.8}
            box = ax.boxplot(
                groups,
                positions=xs,
                widths=0.28,
                showfliers=False,
                patch_artist=True,
                manage_ticks=False,
                zorder=1,
                whiskerprops=grey,
                capprops=grey,
                medianprops=grey,
                boxprops={"edgecolor": "0.6", "facecolor": "0.92"},
            )
            self.data_artists_.append(box)
        rng = np.random.default_rng(0)
        jitter = rng.uniform(-0.1, 0.1, len(change))
        pts = ax.scatter(
            change["x"] + jitter, change[column], s=8, color="tab:orange", alpha=0.6, zorder=2, lw=0
        )
        self.data_artists_.append(pts)
