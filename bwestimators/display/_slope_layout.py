"""Layout of :class:`~bwestimators.display.PosteriorSlopeDisplay`: panels, positions, data rows.

Pure table work, no drawing: which rows of the effects table (and columns of
the posterior draws) each facet panel shows, at which x position, and which
rows of the data overlay (the change of the data between treatment levels per
group and detail) go with them.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

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
    return change, f"{y_name} diff"


def check_layout(kind, order, layout, label_columns):
    """Validate the layout options of ``PosteriorSlopeDisplay.plot``.

    Parameters
    ----------
    kind : str
        ``"interval"`` or ``"density"``.
    order : str
        ``"auto"``, ``"data"`` or ``"estimate"``.
    layout : dict
        The ``x``, ``hue``, ``col`` and ``row`` options, each a column name or None.
    label_columns : list of str
        The condition columns they may name.

    Raises
    ------
    ValueError
        When an option has a value it does not accept.
    """
    if kind not in ("interval", "density"):
        raise ValueError(f"kind must be 'interval' or 'density', got {kind!r}.")
    if order not in ("auto", "data", "estimate"):
        raise ValueError(f"order must be 'auto', 'data' or 'estimate', got {order!r}.")
    for name, value in layout.items():
        if value is not None and value not in label_columns:
            raise ValueError(
                f"{name}={value!r} is not a condition column; choose from {label_columns}."
            )


def condition_positions(effects, label_columns, x, hue, order):
    """x position, label and hue levels of every row of an effects table (one panel).

    Parameters
    ----------
    effects : DataFrame
        The effects rows of one panel.
    label_columns : list of str
        The columns that label a row when ``x`` is None.
    x, hue : str or None
        The column on the x axis and the column dodged by colour.
    order : {"auto", "data", "estimate"}
        With neither ``x`` nor ``hue``: rows in table order, or ranked by
        estimate (``"auto"``: ranked when there are more than 12).

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
    """
    labels = np.array(labels_of(effects, [x] if x else label_columns))
    if x is None and hue is None:
        n = len(effects)
        ranks = np.arange(n)
        if order == "estimate" or (order == "auto" and n > 12):
            ranks = np.empty(n, dtype=int)
            ranks[np.argsort(effects["estimate"].to_numpy(), kind="stable")] = np.arange(n)
        return ranks.astype(float), labels, None
    xs = pd.unique(effects[x]) if x else np.array(["all"])
    xpos = {v: i for i, v in enumerate(xs)}
    base = np.array([xpos[v] for v in (effects[x] if x else ["all"] * len(effects))], dtype=float)
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
        The ``x``, ``hue``, ``col``, ``row`` and ``order`` options of ``plot``.
    draws : array-like of shape (n_draws, n_effects) or None, default=None
        Posterior draws, split over the panels with the rows of ``effects``.
    change : DataFrame or None, default=None
        The data overlay, split over the panels (see :func:`panel_change`).

    Returns
    -------
    panels : list of SlopePanel
    """
    col, row, x = layout["col"], layout["row"], layout["x"]
    labelled_by = label_columns(effects, condition_columns)
    col_values = list(pd.unique(effects[col])) if col else [None]
    row_values = list(pd.unique(effects[row])) if row else [None]
    panels = []
    for i, rv in enumerate(row_values):
        for j, cv in enumerate(col_values):
            facet = {k: v for k, v in ((row, rv), (col, cv)) if k is not None}
            mask = np.ones(len(effects), dtype=bool)
            for name, value in facet.items():
                mask &= (effects[name] == value).to_numpy()
            sub = effects[mask].reset_index(drop=True)
            pos, labels, hues = condition_positions(
                sub, labelled_by, x, layout["hue"], layout["order"]
            )
            title = ", ".join(f"{k} = {v}" for k, v in facet.items())
            sub_draws = None if draws is None else np.asarray(draws)[:, mask]
            data = None
            if change is not None:
                keys = [x] if x else list(condition_columns)
                data = panel_change(change, sub, pos + DATA_SHIFT, facet, keys)
            panels.append(SlopePanel(i, j, title, mask, sub, pos, labels, hues, sub_draws, data))
    return panels


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
        The panels, row by row (the last one is at the bottom right).
    n_effects : int
        The number of rows of the effects table (wider panels for more effects).

    Returns
    -------
    nrows, ncols : int
    figsize : tuple of float
    """
    nrows, ncols = panels[-1].i + 1, panels[-1].j + 1
    width = min(max(4.0, 0.35 * n_effects / len(panels) + 2), 16)
    return nrows, ncols, (width * ncols, 3.8 * nrows)
