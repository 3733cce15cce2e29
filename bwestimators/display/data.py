"""DataDisplay: the data per treatment level, with a line per trial joining the levels."""

import re

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from bwestimators.display._base import (
    _DisplayBase,
    bottom_of_column,
    facet_figsize,
    fit_category_ticks,
    merge_style,
    wrap_shape,
)


def _natural_key(value):
    """Sort key reading the numbers in a text as numbers: "subject 2" before "subject 10"."""
    if not isinstance(value, str):
        return (0, value)
    parts = re.split(r"(\d+)", value)
    return (1, [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts])


def hue_colors(n):
    """n distinct colours: matplotlib's cycle up to 10, seaborn's evenly spaced "husl" beyond.

    Examples
    --------
    >>> from bwestimators.display.data import hue_colors
    >>> hue_colors(2)
    ['C0', 'C1']
    >>> len(set(hue_colors(42)))
    42
    """
    if n <= 10:
        return [f"C{k}" for k in range(n)]
    import seaborn as sns

    return [tuple(c) for c in sns.color_palette("husl", n)]


class DataDisplay(_DisplayBase):
    """Box per treatment level and a line per trial (detail) across the levels, in facets.

    Parameters
    ----------
    data : DataFrame
        The rows drawn (a copy of the columns used).
    x, y, hue, detail, col, row : str or None
        Column names, as in :meth:`from_data`.

    Attributes
    ----------
    ax_ : matplotlib Axes
        The first facet.
    axes_ : ndarray of matplotlib Axes, shape (n_rows, n_cols)
        Every facet (those past the last facet of a wrapped grid are hidden).
    figure_ : matplotlib Figure
    lines_ : list of Line2D, one per (facet, detail) line
    fit_lines_ : list of Line2D
        For a numeric treatment with more than two values, the least-squares
        line of y on the treatment in each facet (and hue), drawn over the data
        at the treatment's values (empty otherwise).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from bwestimators.display import DataDisplay
    >>> from bwestimators.datasets import generate_fake_lfp
    >>> df = generate_fake_lfp(n_trials=5, n_mice=3, random_state=0).df
    >>> disp = DataDisplay.from_data(df, "stim", "Log power", detail="i_trial", col="mouse")
    >>> disp.axes_.shape
    (1, 3)
    >>> DataDisplay.from_data(df, "stim", "Log power", col="i_trial").axes_.shape
    (1, 5)
    """

    def __init__(self, data, x, y, *, hue=None, detail=None, col=None, row=None):
        self.data = data
        self.x, self.y, self.hue, self.detail, self.col, self.row = x, y, hue, detail, col, row

    @classmethod
    def from_data(
        cls, df, x, y, *, hue=None, detail=None, col=None, row=None, ax=None, **plot_kwargs
    ):
        """Draw the data.

        Parameters
        ----------
        df : DataFrame
        x : str
            Treatment column (one box per level).
        y : str
            Outcome column.
        hue : str or None
            Column coloring the boxes and lines.
        detail : str or None
            Column identifying a trial: one line per value joins its levels of x.
        col, row : str or None
            Facet columns (e.g. ``"mouse"``).
        ax : matplotlib Axes, array of Axes or None
            One Axes per facet of the grid.
        **plot_kwargs
            ``col_wrap`` and the style dictionaries of :meth:`plot`.

        Returns
        -------
        display : DataDisplay
        """
        used = [c for c in dict.fromkeys([x, y, hue, detail, col, row]) if c is not None]
        missing = [c for c in used if c not in df.columns]
        if missing:
            raise ValueError(f"Column(s) {missing} not in df; columns are {list(df.columns)}.")
        disp = cls(df[used].copy(), x, y, hue=hue, detail=detail, col=col, row=row)
        return disp.plot(ax=ax, **plot_kwargs)

    def _levels(self, column):
        """The levels of a column, sorted when they can be (facets, hues); [None] without it."""
        if not column:
            return [None]
        values = self.data[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            present = set(values.dropna())
            return [c for c in values.cat.categories if c in present]
        levels = list(pd.unique(values))
        try:
            return sorted(levels, key=_natural_key)
        except TypeError:
            return levels

    def _parts(self):
        """Per (facet, hue): the facet, the hue index and offset, the rows, their x positions."""
        d = self.data
        levels = sorted(pd.unique(d[self.x]))
        hues = self._levels(self.hue)
        for rv in self._levels(self.row):
            for cv in self._levels(self.col):
                sub = d
                if self.row:
                    sub = sub[sub[self.row] == rv]
                if self.col:
                    sub = sub[sub[self.col] == cv]
                for h_i, h in enumerate(hues):
                    part = sub if h is None else sub[sub[self.hue] == h]
                    offset = 0.0 if h is None else (h_i - (len(hues) - 1) / 2) * 0.8 / len(hues)
                    xs = np.array([levels.index(v) for v in part[self.x]], dtype=float) + offset
                    yield (rv, cv), (h_i, offset), part, xs

    def frame(self):
        """The rows drawn, with the x position (``_x``) and facet (``_row``, ``_col``) of each."""
        parts = [part.assign(_x=xs, _row=rv, _col=cv) for (rv, cv), _, part, xs in self._parts()]
        return pd.concat(parts, ignore_index=True)

    def plot(
        self,
        ax=None,
        *,
        col_wrap=None,
        box_kwargs=None,
        line_kwargs=None,
        scatter_kwargs=None,
        fit_kwargs=None,
    ):
        """Draw the boxes and lines.

        Parameters
        ----------
        ax : matplotlib Axes, array of Axes or None
            One Axes per facet of the grid (rows x columns, after ``col_wrap``).
        col_wrap : int or None
            Facets per row when only ``col`` is given; by default one row up to
            6 facets, else about ``sqrt(2 * n)`` per row (at most 10). A new figure
            is at most 16 x 20 inches.
        box_kwargs : dict or None
            Keywords of ``Axes.boxplot``.
        line_kwargs : dict or None
            Keywords of ``Axes.plot`` for the lines per detail (default grey, or
            the hue colour).
        scatter_kwargs : dict or None
            Keywords of ``Axes.scatter`` for the points when there is no detail.
        fit_kwargs : dict or None
            Keywords of ``Axes.plot`` for the least-squares lines of a numeric
            treatment with more than two values (default black).

        Returns
        -------
        self : DataDisplay
        """
        cols, rows = self._levels(self.col), self._levels(self.row)
        n_facets = len(cols) * len(rows)
        n_cols, n_rows = len(cols), len(rows)
        if not self.row:
            n_rows, n_cols = wrap_shape(len(cols), col_wrap)
        levels = sorted(pd.unique(self.data[self.x]))
        hues = self._levels(self.hue)
        n_hues = len(hues)
        width = max(1.4, 0.35 * len(levels) * max(1, n_hues / 2) + 0.8)
        axes = self._make_axes(
            ax,
            n_rows,
            n_cols,
            sharey=True,
            figsize=facet_figsize(n_rows, n_cols, (min(width, 12.0), 2.6), (1.0, 0.6)),
        )
        box = merge_style(
            {"widths": 0.7 / n_hues, "showfliers": False, "manage_ticks": False}, box_kwargs
        )
        self.lines_, self.fit_lines_ = [], []
        numeric = len(levels) > 2 and pd.api.types.is_numeric_dtype(self.data[self.x])
        fit = merge_style({"color": "black", "linewidth": 1.6}, fit_kwargs)
        flat = list(axes.flat)
        palette = hue_colors(n_hues)
        small = n_facets > 12
        for k, ((rv, cv), (h_i, offset), part, xs) in enumerate(self._parts()):
            a = flat[k // n_hues]
            color = "0.5" if self.hue is None else palette[h_i]
            boxes = [part.loc[part[self.x] == lv, self.y].to_numpy() for lv in levels]
            edge = "black" if self.hue is None else color
            colors = {f"{k}props": {"color": edge} for k in ("box", "whisker", "cap", "median")}
            a.boxplot(boxes, positions=np.arange(len(levels)) + offset, **merge_style(colors, box))
            if self.detail:
                line = merge_style({"color": color, "alpha": 0.35, "linewidth": 0.8}, line_kwargs)
                for _, trial in part.assign(_x=xs).groupby(self.detail, sort=False):
                    trial = trial.sort_values(self.x)
                    self.lines_.extend(a.plot(trial["_x"], trial[self.y], **line))
            else:
                dots = merge_style({"s": 6, "color": color, "alpha": 0.5}, scatter_kwargs)
                a.scatter(xs, part[self.y], **dots)
            if numeric and part[self.x].nunique() > 1:  # the line, at each level's position
                slope, intercept = np.polyfit(part[self.x].astype(float), part[self.y], 1)
                at = intercept + slope * np.asarray(levels, dtype=float)
                self.fit_lines_.extend(a.plot(np.arange(len(levels)) + offset, at, **fit))
            title = ", ".join(str(v) for v in (rv, cv) if v is not None)
            if title and offset <= 0 and h_i == 0:
                a.set_title(title, fontsize="small" if small else "medium")
        bottom = bottom_of_column(axes, n_facets)
        ticks = []
        for k, a in enumerate(flat[:n_facets]):
            a.set_xlim(-0.6, len(levels) - 0.4)
            a.set_xlabel(self.x if bottom[k] else "")
            a.set_ylabel(self.y if k % axes.shape[1] == 0 else "")
            if small:
                a.tick_params(labelsize="small")
            ticks.append((a, np.arange(len(levels)), [str(v) for v in levels], "x"))
        for a in flat[n_facets:]:
            a.set_visible(False)
        if self.hue:
            handles = [
                Line2D([], [], color=palette[h_i], label=str(h)) for h_i, h in enumerate(hues)
            ]
            per_column = max(4, int(self.figure_.get_figheight() * 72 / 14))
            self.figure_.legend(
                handles=handles,
                title=self.hue,
                loc="outside right upper",
                frameon=False,
                fontsize="small",
                title_fontsize="small",
                ncols=int(np.ceil(len(handles) / per_column)),
            )
        if len(levels) > 2:  # ticks that may not fit: measure them (draws the figure once)
            fit_category_ticks(ticks)
        else:
            for a, positions, labels, _ in ticks:
                a.set_xticks(positions, labels)
        return self
