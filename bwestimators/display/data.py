"""DataDisplay: the data per treatment level, with a line per trial joining the levels."""

import numpy as np
import pandas as pd

from bwestimators.display._base import _DisplayBase, merge_style


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
        return list(pd.unique(self.data[column])) if column else [None]

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
                    offset = 0.0 if h is None else (h_i - (len(hues) - 1) / 2) * 0.25
                    xs = np.array([levels.index(v) for v in part[self.x]], dtype=float) + offset
                    yield (rv, cv), (h_i, offset), part, xs

    def frame(self):
        """The rows drawn, with the x position (``_x``) and facet (``_row``, ``_col``) of each."""
        parts = [part.assign(_x=xs, _row=rv, _col=cv) for (rv, cv), _, part, xs in self._parts()]
        return pd.concat(parts, ignore_index=True)

    def plot(
        self, ax=None, *, col_wrap=None, box_kwargs=None, line_kwargs=None, scatter_kwargs=None
    ):
        """Draw the boxes and lines.

        Parameters
        ----------
        ax : matplotlib Axes, array of Axes or None
            One Axes per facet of the grid (rows x columns, after ``col_wrap``).
        col_wrap : int or None
            Facets per row when only ``col`` is given.
        box_kwargs : dict or None
            Keywords of ``Axes.boxplot``.
        line_kwargs : dict or None
            Keywords of ``Axes.plot`` for the lines per detail (default grey, or
            the hue colour).
        scatter_kwargs : dict or None
            Keywords of ``Axes.scatter`` for the points when there is no detail.

        Returns
        -------
        self : DataDisplay
        """
        cols, rows = self._levels(self.col), self._levels(self.row)
        n_facets = len(cols) * len(rows)
        n_cols, n_rows = len(cols), len(rows)
        if col_wrap and not self.row:
            n_cols = min(col_wrap, len(cols))
            n_rows = int(np.ceil(len(cols) / n_cols))
        axes = self._make_axes(
            ax, n_rows, n_cols, sharey=True, figsize=(2.2 * n_cols + 1, 3.0 * n_rows)
        )
        levels = sorted(pd.unique(self.data[self.x]))
        n_hues = len(self._levels(self.hue))
        box = merge_style(
            {"widths": 0.5 / n_hues, "showfliers": False, "manage_ticks": False}, box_kwargs
        )
        self.lines_ = []
        flat = list(axes.flat)
        for k, ((rv, cv), (h_i, offset), part, xs) in enumerate(self._parts()):
            a = flat[k // n_hues]
            color = "0.5" if self.hue is None else f"C{h_i % 10}"
            boxes = [part.loc[part[self.x] == lv, self.y].to_numpy() for lv in levels]
            a.boxplot(boxes, positions=np.arange(len(levels)) + offset, **box)
            if self.detail:
                line = merge_style({"color": color, "alpha": 0.35, "linewidth": 0.8}, line_kwargs)
                for _, trial in part.assign(_x=xs).groupby(self.detail, sort=False):
                    trial = trial.sort_values(self.x)
                    self.lines_.extend(a.plot(trial["_x"], trial[self.y], **line))
            else:
                dots = merge_style({"s": 6, "color": color, "alpha": 0.5}, scatter_kwargs)
                a.scatter(xs, part[self.y], **dots)
            a.set_xticks(np.arange(len(levels)))
            a.set_xticklabels([str(v) for v in levels])
            a.set_xlabel(self.x)
            title = ", ".join(str(v) for v in (rv, cv) if v is not None)
            if title:
                a.set_title(title, fontsize="small")
        for a in flat[n_facets:]:
            a.set_visible(False)
        for a in axes[:, 0]:
            a.set_ylabel(self.y)
        if self.hue:
            for h_i, h in enumerate(self._levels(self.hue)):
                flat[0].plot([], [], color=f"C{h_i % 10}", label=f"{self.hue} = {h}")
            flat[0].legend(fontsize="small", frameon=False)
        return self
