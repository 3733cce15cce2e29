"""Layout of :class:`~bwestimators.display.PosteriorSlopeDisplay`: panels, positions, data rows.

Pure table work, no drawing: which rows of the effects table (and columns of
the posterior draws) each facet panel shows, at which x position, and which
rows of the data overlay (the change of the data between treatment levels per
group and detail) go with them.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bwestimators.display._base import facet_figsize, wrap_shape
from bwestimators.display._common import labels_of, raw_frame
from bwestimators.effects import make_change

#: Horizontal shifts of the estimate (right) and of the data (left) when both are drawn.
ESTIMATE_SHIFT, DATA_SHIFT = 0.12, -0.17


@dataclass
class SlopePanel:
    """One facet: where it goes, which effects rows it shows and where they are drawn."""

    i: int
    j: int
    title: str
    mask: np.ndarray
    effects: pd.DataFrame
    pos: np.ndarray
    labels: np.ndarray
    hues: list | None
    draws: np.ndarray | None
    data: pd.DataFrame | None
    horizontal: bool = False
    shown: list | None = None  # the columns that label its rows (not the facet columns)

    @property
    def estimate_pos(self):
        """x of the estimates: right of ``pos`` when the data overlay is drawn too."""
        return self.pos if self.data is None else self.pos + ESTIMATE_SHIFT

    @property
    def data_pos(self):
        """x of the data overlay: left of ``pos``."""
        return self.pos + DATA_SHIFT


def label_columns(effects, condition_columns):
    """The columns that label a row of an effects table: its conditions and treatment level.

    Parameters
    ----------
    effects : DataFrame
    condition_columns : list of str

    Returns
    -------
    columns : list of str
        ``condition_columns``, then ``"treatment_level"`` when ``effects`` has it.
    """
    extra = ["treatment_level"] if "treatment_level" in effects.columns else []
    return [*condition_columns, *extra]


def check_draws(draws, n_effects):
    """Validate posterior draws: one column per row of the effects table.

    Parameters
    ----------
    draws : array-like of shape (n_draws, n_effects) or None
    n_effects : int
        The number of rows of the effects table.

    Raises
    ------
    ValueError
        When ``draws`` has another shape.
    """
    if draws is not None and np.shape(draws)[1:] != (n_effects,):
        raise ValueError(
            f"draws must have shape (n_draws, {n_effects}), one column per row of "
            f"effects; got {np.shape(draws)}."
        )


def change_overlay(X, y, spec, method):
    """The data overlay of a fit: the change of ``y`` between treatment levels.

    Parameters
    ----------
    X : DataFrame
        Raw data (the columns ``spec`` names).
    y : array-like
        Outcome; its ``name`` (or ``"y"``) names the change column.
    spec : ColumnSpec
        Reads the treatment, condition, group and detail columns of ``X``.
    method : {"subtract", "divide"}
        How the change is computed (see :func:`~bwestimators.effects.make_change`).

    Returns
    -------
    change : DataFrame
        One row per (group, condition, detail).
    change_column : str
        The column of ``change`` with the change.
    """
    y_name = getattr(y, "name", None) or "y"
    change = make_change(raw_frame(X, y, y_name), y_name, spec, method=method)
    return change, change.columns[-1]


def check_layout(kind, order, layout, label_columns, orient="auto"):
    """Validate the layout options of ``PosteriorSlopeDisplay.plot``.

    Parameters
    ----------
    kind : str
        ``"interval"`` or ``"density"``.
    order : str or list
        ``"auto"``, ``"data"``, ``"estimate"`` or a list of condition labels.
    layout : dict
        The ``x``, ``hue``, ``col`` and ``row`` options, each a column name or None.
    label_columns : list of str
        The condition columns they may name.
    orient : str, default="auto"
        ``"auto"``, ``"v"`` or ``"h"``.

    Raises
    ------
    ValueError
        When an option has a value it does not accept.
    """
    if kind not in ("interval", "density"):
        raise ValueError(f"kind must be 'interval' or 'density', got {kind!r}.")
    if isinstance(order, str) and order not in ("auto", "data", "estimate"):
        raise ValueError(
            "order must be 'auto', 'data', 'estimate' or a list of condition labels, "
            f"got {order!r}."
        )
    if orient not in ("auto", "v", "h"):
        raise ValueError(f"orient must be 'auto', 'v' or 'h', got {orient!r}.")
    for name, value in layout.items():
        if value is not None and value not in label_columns:
            raise ValueError(
                f"{name}={value!r} is not a condition column; choose from {label_columns}."
            )


def make_layout(options, order, orient, col_wrap, kind, label_columns):
    """The layout of ``PosteriorSlopeDisplay.plot``, validated (see :func:`check_layout`).

    Returns
    -------
    layout : dict
        ``x``, ``hue``, ``col``, ``row``, ``order`` (a list of str when a list
        was given), ``orient`` and ``col_wrap``.
    """
    check_layout(kind, order, options, label_columns, orient)
    if not isinstance(order, str):
        order = [str(v) for v in order]
    return {**options, "order": order, "orient": orient, "col_wrap": col_wrap}


#: With more conditions than this in a panel, ``order="auto"`` sorts them by estimate and
#: ``orient="auto"`` draws them as a horizontal forest plot.
MANY_CONDITIONS = 12


def is_horizontal(orient, layout, n_rows):
    """Whether a layout is drawn as a forest plot (conditions on the y axis)."""
    if orient != "auto":
        return orient == "h"
    return layout["x"] is None and layout["hue"] is None and n_rows > MANY_CONDITIONS


def _ranks(effects, label_columns, order):
    """Rank of every row: by estimate, by a given list of labels, or in table order."""
    n = len(effects)
    if isinstance(order, str):
        if order == "estimate" or (order == "auto" and n > MANY_CONDITIONS):
            ranks = np.empty(n, dtype=int)
            ranks[np.argsort(effects["estimate"].to_numpy(), kind="stable")] = np.arange(n)
            return ranks, True
        return np.arange(n), False
    where = {str(v): k for k, v in enumerate(order)}
    keys = [where.get(label, len(where)) for label in labels_of(effects, label_columns)]
    ranks = np.empty(n, dtype=int)
    ranks[np.argsort(keys, kind="stable")] = np.arange(n)
    return ranks, False


def condition_positions(effects, label_columns, x, hue, order, horizontal=False, shown=None):
    """Position, label and hue levels of every row of an effects table (one panel).

    Parameters
    ----------
    effects : DataFrame
        The effects rows of one panel.
    label_columns : list of str
        The columns that label a row when ``x`` is None.
    x, hue : str or None
        The column on the condition axis and the column dodged by colour.
    order : {"auto", "data", "estimate"} or list
        With neither ``x`` nor ``hue``: rows in table order, ranked by
        estimate (``"auto"``: ranked when there are more than 12), or in the
        order of a list of condition labels (the values, or the values of
        several columns joined by ``", "``).
    horizontal : bool, default=False
        Forest plot: the first row at the top (the largest estimate at the top
        when ranked by estimate); several condition columns joined by ``" · "``
        instead of stacked.
    shown : list of str or None, default=None
        The columns written in the labels (default ``label_columns``): a facet's
        columns are in its title.

    Returns
    -------
    positions : ndarray of float
    labels : ndarray of str
    hues : list or None
        The hue levels, in order of appearance.

    Examples
    --------
    >>> import pandas as pd
    >>> from bwestimators.display._slope_layout import condition_positions
    >>> effects = pd.DataFrame({"region": ["a", "b"], "estimate": [2.0, 1.0]})
    >>> pos, labels, hues = condition_positions(effects, ["region"], None, None, "estimate")
    >>> pos.tolist(), labels.tolist(), hues
    ([1.0, 0.0], ['a', 'b'], None)
    >>> condition_positions(effects, ["region"], None, None, ["b", "a"])[0].tolist()
    [1.0, 0.0]
    """
    sep = " · " if horizontal else "\n"
    shown = label_columns if shown is None else shown
    labels = np.array(labels_of(effects, [x] if x else shown, sep=sep, empty=""))
    if x is None and hue is None:
        ranks, by_estimate = _ranks(effects, label_columns, order)
        if horizontal and not by_estimate:
            ranks = len(effects) - 1 - ranks
        return ranks.astype(float), labels, None
    xs = pd.unique(effects[x]) if x else np.array([""])
    xpos = {v: i for i, v in enumerate(xs)}
    base = np.array([xpos[v] for v in (effects[x] if x else [""] * len(effects))], dtype=float)
    if hue is None:
        return base, labels, None
    hues = list(pd.unique(effects[hue]))
    width = 0.7 / max(len(hues), 1)
    offset = np.array([hues.index(v) for v in effects[hue]]) * width - 0.35 + width / 2
    return base + offset, labels, hues


def panel_change(change, effects, data_pos, facet, keys):
    """The rows of the data overlay in one panel, with their x position.

    Parameters
    ----------
    change : DataFrame
        The change of the data between treatment levels per (group, detail),
        as :func:`~bwestimators.effects.make_change` returns it.
    effects : DataFrame
        The effects rows of the panel.
    data_pos : ndarray of float
        The x position of the data of each row of ``effects``.
    facet : dict
        ``{column: value}`` of the panel's facet (empty with a single panel).
    keys : list of str
        The condition columns that match the rows of ``change`` to those of ``effects``.

    Returns
    -------
    rows : DataFrame
        The rows of ``change`` in the panel, with a column ``x``.

    Raises
    ------
    ValueError
        When ``change`` lacks a column of ``keys`` or of ``facet``.
    """
    missing = [c for c in [*keys, *facet] if c not in change.columns]
    if missing:
        raise ValueError(f"The change frame lacks the condition column(s) {missing}.")
    for name, value in facet.items():
        change = change[change[name] == value]
    if keys:
        where = dict(zip(labels_of(effects, keys), data_pos, strict=False))
        label = pd.Series(labels_of(change, keys), index=change.index)
        change = change[label.isin(list(where))].assign(x=label.map(where))
    else:
        change = change.assign(x=data_pos[0] if len(data_pos) else 0.0)
    return change.reset_index(drop=True)


def slope_panels(effects, condition_columns, layout, draws=None, change=None):
    """Every facet panel of a layout, row by row.

    Parameters
    ----------
    effects : DataFrame
        The whole effects table.
    condition_columns : list of str
        Its condition columns: with the treatment level, they label its rows
        (see :func:`label_columns`); alone, they match the rows of ``change``
        to its rows when ``layout["x"]`` is None.
    layout : dict
        The ``x``, ``hue``, ``col``, ``row``, ``order``, ``orient`` and
        ``col_wrap`` options of ``plot`` (the last two may be absent).
    draws : array-like of shape (n_draws, n_effects) or None, default=None
        Posterior draws, split over the panels with the rows of ``effects``.
    change : DataFrame or None, default=None
        The data overlay, split over the panels (see :func:`panel_change`).

    Returns
    -------
    panels : list of SlopePanel
        Facets of ``col`` alone wrap into rows (see
        :func:`~bwestimators.display._base.wrap_shape`).
    """
    col, row, x = layout["col"], layout["row"], layout["x"]
    labelled_by = label_columns(effects, condition_columns)
    col_values = list(pd.unique(effects[col])) if col else [None]
    row_values = list(pd.unique(effects[row])) if row else [None]
    ncols = len(col_values)
    if col and not row:
        ncols = wrap_shape(len(col_values), layout.get("col_wrap"))[1]
    facets = [(rv, cv) for rv in row_values for cv in col_values]
    n_max = max(len(effects) // max(len(facets), 1), 1)
    horizontal = is_horizontal(layout.get("orient", "auto"), layout, n_max)
    shown = [c for c in labelled_by if c not in (row, col)]
    panels = []
    for k, (rv, cv) in enumerate(facets):
        i, j = divmod(k, ncols) if not row else (row_values.index(rv), col_values.index(cv))
        facet = {c: v for c, v in ((row, rv), (col, cv)) if c is not None}
        mask = np.ones(len(effects), dtype=bool)
        for name, value in facet.items():
            mask &= (effects[name] == value).to_numpy()
        sub = effects[mask].reset_index(drop=True)
        pos, labels, hues = condition_positions(
            sub, labelled_by, x, layout["hue"], layout["order"], horizontal, shown
        )
        title = ", ".join(f"{c} = {v}" for c, v in facet.items())
        sub_draws = None if draws is None else np.asarray(draws)[:, mask]
        data = None
        if change is not None:
            keys = [x] if x else list(condition_columns)
            if "treatment_level" in change.columns and "treatment_level" not in keys:
                keys.append("treatment_level")  # a categorical treatment: one row per level
            data = panel_change(change, sub, pos + DATA_SHIFT, facet, keys)
        panels.append(
            SlopePanel(
                i, j, title, mask, sub, pos, labels, hues, sub_draws, data, horizontal, shown
            )
        )
    return panels


def panel_places(panels, axes):
    """Where each panel sits in its grid, for its labels; hides the cells no panel fills.

    Parameters
    ----------
    panels : list of SlopePanel
    axes : ndarray of Axes, shape (nrows, ncols)

    Returns
    -------
    places : list of dict
        Per panel: ``first_column``, ``bottom`` (nothing drawn below it),
        ``legend`` (the last panel of the first row) and ``small`` (many panels).
    """
    drawn = {(p.i, p.j) for p in panels}
    for i, j in np.ndindex(axes.shape):
        if (i, j) not in drawn:
            axes[i, j].set_visible(False)
    return [
        {
            "first_column": p.j == 0,
            "bottom": (p.i + 1, p.j) not in drawn,
            "legend": p.i == 0 and (p.i, p.j + 1) not in drawn,
            "small": len(panels) > 12,
        }
        for p in panels
    ]


def overlay_frame(panels, change):
    """The rows of the data overlay of all panels, with their x position.

    Parameters
    ----------
    panels : list of SlopePanel
    change : DataFrame
        The whole change frame (its columns make the empty table when no panel has data).

    Returns
    -------
    rows : DataFrame
    """
    parts = [p.data for p in panels if p.data is not None]
    return pd.concat(parts, ignore_index=True) if parts else change.iloc[:0]


def effect_positions(panels, n_effects):
    """The x position of every row of the effects table, over all panels.

    Parameters
    ----------
    panels : list of SlopePanel
    n_effects : int
        The number of rows of the effects table.

    Returns
    -------
    positions : ndarray of float, shape (n_effects,)
        NaN for a row that no panel shows.
    """
    positions = np.full(n_effects, np.nan)
    for panel in panels:
        positions[panel.mask] = panel.pos
    return positions


def grid_shape(panels, n_effects):
    """The shape of the axes grid of a layout and the size of a new figure for it.

    Parameters
    ----------
    panels : list of SlopePanel
        The panels, row by row.
    n_effects : int
        The number of rows of the effects table (longer panels for more effects).

    Returns
    -------
    nrows, ncols : int
    figsize : tuple of float
        At most :data:`~bwestimators.display._base.MAX_FIGSIZE`.
    share : dict
        The effect axis shared by the panels (``sharey``, or ``sharex`` in a forest plot).
    """
    nrows = max(p.i for p in panels) + 1
    ncols = max(p.j for p in panels) + 1
    per_panel = n_effects / len(panels)
    if panels[0].horizontal:
        panel = (4.2, 0.2 * per_panel + 0.9)
    else:
        panel = (min(max(3.2, 0.45 * per_panel + 1.6), 14.0), 3.4)
    share = {"sharex": True} if panels[0].horizontal else {"sharey": True}
    return nrows, ncols, facet_figsize(nrows, ncols, panel, extra=(1.0, 0.8)), share
