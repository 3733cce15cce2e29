"""Artists of :class:`~bwestimators.display.PosteriorSlopeDisplay`, drawn one panel at a time.

Each function draws one layer of a panel laid out by
:mod:`bwestimators.display._slope_layout` (the data overlay, the posterior
density, the estimates with their intervals, the x axis) and returns its artists.
"""

import numpy as np
import pandas as pd

from bwestimators._hdi import hdi
from bwestimators.display._base import merge_style


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


def _orientation(horizontal):
    """Keywords of ``boxplot``/``violinplot`` for the orientation, on every matplotlib >= 3.9."""
    import matplotlib

    if tuple(int(v) for v in matplotlib.__version__.split(".")[:2]) >= (3, 10):
        return {"orientation": "horizontal" if horizontal else "vertical"}
    return {"vert": not horizontal}


def _xy(horizontal, position, value):
    """(x, y) of points at a condition position with a value: swapped in a forest plot."""
    return (value, position) if horizontal else (position, value)


def draw_change(ax, change, column, style, horizontal=False):
    """Draw the data overlay: a grey box and the jittered points at each position.

    Parameters
    ----------
    ax : matplotlib Axes
    change : DataFrame
        The panel's rows of the change frame, with their ``x`` column (the
        position on the condition axis).
    column : str
        The column of ``change`` with the change.
    style : dict
        Keywords of ``Axes.scatter`` for the points.
    horizontal : bool, default=False
        Conditions on the y axis (forest plot).

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
            **_orientation(horizontal),
        )
        artists.append(box)
    jitter = np.random.default_rng(0).uniform(-0.1, 0.1, len(change))
    artists.append(ax.scatter(*_xy(horizontal, change["x"] + jitter, change[column]), **style))
    return artists


def draw_density(ax, draws, positions, style, horizontal=False):
    """Draw the posterior density of each effect as a half violin beside its position.

    Parameters
    ----------
    ax : matplotlib Axes
    draws : ndarray of shape (n_draws, n_effects)
    positions : ndarray of float, shape (n_effects,)
    style : dict
        Properties of the violin bodies.
    horizontal : bool, default=False
        Conditions on the y axis: the half violin above the estimate.

    Returns
    -------
    parts : dict
        What ``Axes.violinplot`` returns.
    """
    width = 0.6 if len(positions) < 2 else 0.6 * float(np.min(np.diff(np.sort(positions))))
    parts = ax.violinplot(
        draws,
        positions=positions,
        widths=max(width, 0.1),
        showextrema=False,
        side="high",
        **_orientation(horizontal),
    )
    for body in parts["bodies"]:
        body.set(**style)
    return parts


def draw_estimates(ax, panel, hue, styles, legend=True):
    """Draw the estimates with their interval (and 50% HDI), coloured by hue.

    Parameters
    ----------
    ax : matplotlib Axes
    panel : SlopePanel
        The panel: its effects rows, where they go, their hue levels and posterior
        draws (for the 50% HDI), its orientation.
    hue : str or None
        The hue column (a legend entry per level, outside the data, right of the panel).
    styles : dict
        The layers' keywords (see :func:`slope_styles`).
    legend : bool, default=True
        Draw the hue legend on this panel.

    Returns
    -------
    errorbar : matplotlib ErrorbarContainer
    estimates : matplotlib PathCollection
    """
    h = panel.horizontal
    positions = panel.estimate_pos
    est = panel.effects["estimate"].to_numpy()
    lo, hi = panel.effects["lower"].to_numpy(), panel.effects["upper"].to_numpy()
    style = styles["errorbar"]
    err = {"xerr" if h else "yerr": [est - lo, hi - est]}
    errorbar = ax.errorbar(*_xy(h, positions, est), **err, **style)
    if panel.draws is not None:
        h50 = hdi(panel.draws, 0.5)
        color = style.get("ecolor", style.get("color", "black"))
        lines = ax.hlines if h else ax.vlines
        lines(positions, h50[:, 0], h50[:, 1], color=color, lw=4, zorder=3)
    colors = "black"
    if panel.hues is not None:
        colors = [f"C{panel.hues.index(v) % 10}" for v in panel.effects[hue]]
    scatter = {"color": colors, "s": 30, "zorder": 4, "edgecolor": "white", "linewidth": 0.5}
    estimates = ax.scatter(*_xy(h, positions, est), **merge_style(scatter, styles["scatter"]))
    if panel.hues is not None and legend:
        handles = [
            ax.scatter([], [], color=f"C{k % 10}", label=str(level))
            for k, level in enumerate(panel.hues)
        ]
        ax.legend(
            handles=handles,
            title=hue,
            fontsize="small",
            title_fontsize="small",
            frameon=False,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
        )
    return errorbar, estimates


def set_titles(fig, ax, title, n_panels, facets):
    """The display's title: on its Axes with one panel, else the figure's suptitle.

    With more than 12 panels the facet titles are values only: the suptitle says
    which columns the facets are (``"..., one panel per region"``).
    """
    if n_panels > 12:
        by = " and ".join(c for c in facets if c)
        title = f"{title}, one panel per {by}" if title else f"one panel per {by}"
    if not title:
        return
    if n_panels == 1:
        ax.set_title(title, fontsize="medium")
    else:
        fig.suptitle(title, fontsize="medium")


def draw_panel(ax, panel, layout, kind, styles, where, names):
    """Draw the layers of one panel: zero line, data overlay, density, estimates.

    Parameters
    ----------
    ax : matplotlib Axes
    panel : SlopePanel
    layout : dict
        The layout options of ``plot`` (``hue`` is read here).
    kind : {"interval", "density"}
    styles : dict
        The layers' keywords (see :func:`slope_styles`), with ``"change_column"``.
    where : dict
        The panel's place (see ``panel_places``).
    names : tuple
        ``(label_columns, y_label)``: the condition columns and the effect axis label.

    Returns
    -------
    artists : dict
        ``data`` (list), ``density`` (list), ``errorbar``, ``estimates`` and
        ``ticks`` (what :func:`format_axes` returns).
    """
    h = panel.horizontal
    (ax.axvline if h else ax.axhline)(0, color="0.4", lw=0.8, ls="--", zorder=0)
    artists = {"data": [], "density": []}
    if panel.data is not None:
        artists["data"] = draw_change(ax, panel.data, styles["change_column"], styles["data"], h)
    if panel.draws is not None and kind == "density":
        artists["density"] = [
            draw_density(ax, panel.draws, panel.estimate_pos, styles["density"], h)
        ]
    artists["errorbar"], artists["estimates"] = draw_estimates(
        ax, panel, layout["hue"], styles, legend=where["legend"]
    )
    places = {k: where[k] for k in ("first_column", "bottom", "small")}
    artists["ticks"] = format_axes(ax, panel, layout["x"], *names, **places)
    return artists


def _outer(ax, which):
    """False for an Axes sharing its axis with one left of it (y) or below it (x) in its figure."""
    shared = ax.get_shared_y_axes() if which == "y" else ax.get_shared_x_axes()
    spec = ax.get_subplotspec()
    if spec is None or len(shared.get_siblings(ax)) < 2:
        return True
    return spec.is_first_col() if which == "y" else spec.is_last_row()


def format_axes(ax, panel, x, label_columns, y_label, first_column=True, bottom=True, small=False):
    """Ticks, labels, limits and title of a panel.

    Parameters
    ----------
    ax : matplotlib Axes
    panel : SlopePanel
    x : str or None
        The x column of the layout.
    label_columns : list of str
        The condition columns, named in the condition axis label when ``x`` is None.
    y_label : str
        The label of the effect axis (drawn on the first column, or on the bottom row of a
        forest plot).
    first_column, bottom : bool, default=True
        Whether the panel is in the first column, and the lowest of its column.
    small : bool, default=False
        Many panels: the facet title is the values only, in a small font.

    Returns
    -------
    ticks : tuple or None
        ``(ax, positions, labels, which)`` of the condition axis, for
        :func:`~bwestimators.display._base.fit_category_ticks`; None without labels.
    """
    h = panel.horizontal
    if x is None and panel.hues is None:
        positions, labels = panel.pos, list(panel.labels)
    else:
        xs = list(pd.unique(panel.effects[x])) if x else [""]
        positions, labels = np.arange(len(xs), dtype=float), [str(v) for v in xs]
    est_pos = panel.estimate_pos
    data_pos = est_pos if panel.data is None else panel.data_pos
    low = min(data_pos.min(), est_pos.min()) - 0.5
    high = max(data_pos.max(), est_pos.max()) + 0.5
    (ax.set_ylim if h else ax.set_xlim)(low, high)
    if panel.title:
        title = panel.title
        if small:
            title = ", ".join(part.split(" = ", 1)[-1] for part in title.split(", "))
        ax.set_title(title, fontsize="small" if small else "medium")
    shown = label_columns if panel.shown is None else panel.shown
    condition_label = x or " · ".join(shown)
    attrs = panel.effects.attrs
    if "treatment_level" in condition_label and attrs.get("treatment") is not None:
        level = f"{attrs['treatment']} (against {attrs.get('reference')})"
        condition_label = condition_label.replace("treatment_level", level)
    first_column = first_column and _outer(ax, "y")
    bottom = bottom and _outer(ax, "x")
    if h:
        ax.set_ylabel(condition_label if first_column else "")
        ax.set_xlabel(y_label if bottom else "")
    else:
        ax.set_xlabel(condition_label if bottom else "")
        ax.set_ylabel(y_label if first_column else "")
    if not any(labels):  # one effect, no condition: the axis label says what it is
        (ax.set_yticks if h else ax.set_xticks)([])
        return None
    return ax, positions, labels, "y" if h else "x"
