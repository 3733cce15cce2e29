"""Artists of :class:`~bwestimators.display.PosteriorSlopeDisplay`, drawn one panel at a time.

Each function draws one layer of a panel laid out by
:mod:`bwestimators.display._slope_layout` (the data overlay, the posterior
density, the estimates with their intervals, the x axis) and returns its artists.
"""

import numpy as np
import pandas as pd

from bwestimators.display._base import merge_style, thin_ticks
from bwestimators.display._common import hdi


def slope_styles(errorbar_kwargs=None, scatter_kwargs=None, density_kwargs=None, data_kwargs=None):
    """The style keywords of each layer: the user's over the display's defaults.

    Parameters
    ----------
    errorbar_kwargs, scatter_kwargs, density_kwargs, data_kwargs : dict or None
        The style dictionaries of ``PosteriorSlopeDisplay.plot``.

    Returns
    -------
    styles : dict
        Keywords per layer: ``"errorbar"``, ``"scatter"`` (the user's only: the
        defaults depend on the panel's hues), ``"density"`` and ``"data"``.
    """
    return {
        "errorbar": merge_style(
            {"fmt": "none", "ecolor": "black", "elinewidth": 1.2, "capsize": 0, "zorder": 3},
            errorbar_kwargs,
        ),
        "scatter": scatter_kwargs,
        "density": merge_style({"facecolor": "tab:blue", "alpha": 0.35}, density_kwargs),
        "data": merge_style(
            {"s": 8, "color": "tab:orange", "alpha": 0.6, "zorder": 2, "linewidth": 0},
            data_kwargs,
        ),
    }


def draw_change(ax, change, column, style):
    """Draw the data overlay: a grey box and the jittered points at each x.

    Parameters
    ----------
    ax : matplotlib Axes
    change : DataFrame
        The panel's rows of the change frame, with their ``x`` column.
    column : str
        The column of ``change`` with the change.
    style : dict
        Keywords of ``Axes.scatter`` for the points.

    Returns
    -------
    artists : list
        The boxplot (when there is data) and the points.
    """
    artists = []
    groups = [g[column].to_numpy() for _, g in change.groupby("x")]
    if groups:
        grey = {"color": "0.6", "lw": 0.8}
        box = ax.boxplot(
            groups,
            positions=sorted(change["x"].unique()),
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
        artists.append(box)
    jitter = np.random.default_rng(0).uniform(-0.1, 0.1, len(change))
    artists.append(ax.scatter(change["x"] + jitter, change[column], **style))
    return artists


def draw_density(ax, draws, positions, style):
    """Draw the posterior density of each effect as a half violin to the right of its x.

    Parameters
    ----------
    ax : matplotlib Axes
    draws : ndarray of shape (n_draws, n_effects)
    positions : ndarray of float, shape (n_effects,)
    style : dict
        Properties of the violin bodies.

    Returns
    -------
    parts : dict
        What ``Axes.violinplot`` returns.
    """
    parts = ax.violinplot(draws, positions=positions, widths=0.6, showextrema=False, side="high")
    for body in parts["bodies"]:
        body.set(**style)
    return parts


def draw_estimates(ax, panel, hue, styles):
    """Draw the estimates with their interval (and 50% HDI), coloured by hue.

    Parameters
    ----------
    ax : matplotlib Axes
    panel : SlopePanel
        The panel: its effects rows, where they go, their hue levels and posterior
        draws (for the 50% HDI).
    hue : str or None
        The hue column (a legend entry per level).
    styles : dict
        The layers' keywords (see :func:`slope_styles`).

    Returns
    -------
    errorbar : matplotlib ErrorbarContainer
    estimates : matplotlib PathCollection
    """
    positions = panel.estimate_pos
    est = panel.effects["estimate"].to_numpy()
    lo, hi = panel.effects["lower"].to_numpy(), panel.effects["upper"].to_numpy()
    style = styles["errorbar"]
    errorbar = ax.errorbar(positions, est, yerr=[est - lo, hi - est], **style)
    if panel.draws is not None:
        h50 = hdi(panel.draws, 0.5)
        color = style.get("ecolor", style.get("color", "black"))
        ax.vlines(positions, h50[:, 0], h50[:, 1], color=color, lw=4, zorder=3)
    colors = "black"
    if panel.hues is not None:
        colors = [f"C{panel.hues.index(v) % 10}" for v in panel.effects[hue]]
    scatter = {"color": colors, "s": 30, "zorder": 4, "edgecolor": "white", "linewidth": 0.5}
    estimates = ax.scatter(positions, est, **merge_style(scatter, styles["scatter"]))
    if panel.hues is not None:
        for k, h in enumerate(panel.hues):
            ax.scatter([], [], color=f"C{k % 10}", label=f"{hue} = {h}")
        ax.legend(fontsize="small", frameon=False)
    return errorbar, estimates


def format_axes(ax, panel, x, hue, label_columns, y_label):
    """Ticks, labels, limits and title of a panel.

    Parameters
    ----------
    ax : matplotlib Axes
    panel : SlopePanel
    x, hue : str or None
        The x and hue columns of the layout.
    label_columns : list of str
        The condition columns, named in the x label when ``x`` is None.
    y_label : str
        The y label, drawn on the panels of the first column.
    """
    if x is None and hue is None:
        order_idx = np.argsort(panel.pos)
        thin_ticks(ax, panel.pos[order_idx], [panel.labels[i] for i in order_idx])
    else:
        xs = list(pd.unique(panel.effects[x])) if x else ["all"]
        ax.set_xticks(np.arange(len(xs)))
        ax.set_xticklabels([str(v) for v in xs])
    ax.set_xlabel(x or ", ".join(label_columns))
    ax.set_ylabel(y_label if panel.j == 0 else "")
    est_pos = panel.estimate_pos
    data_pos = est_pos if panel.data is None else panel.data_pos
    ax.set_xlim(min(data_pos.min(), est_pos.min()) - 0.5, max(data_pos.max(), est_pos.max()) + 0.5)
    if panel.title:
        ax.set_title(panel.title)
