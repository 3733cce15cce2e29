"""DataDisplay: the data per treatment level, with a line per trial joining the levels."""

import numpy as np
import pandas as pd


class DataDisplay:
    """Box per treatment level and a line per trial (detail) across the levels, in facets.

    Parameters
    ----------
    data : DataFrame
        The rows drawn (a copy of the columns used).
    x, y, hue, detail, col, row : str or None
        Column names, as in :meth:`from_data`.

    Attributes
    ----------
    axes_ : ndarray of matplotlib Axes
    ax_ : matplotlib Axes (the first facet)
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
        cls, df, x, y, *, hue=None, detail=None, col=None, row=None, ax=None, col_wrap=None
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
        col_wrap : int or None
            Facets per row when only ``col`` is given.

        Returns
        -------
        display : DataDisplay
        """
        used = [c for c in dict.fromkeys([x, y, hue, detail, col, row]) if c is not None]
        missing = [c for c in used if c not in df.columns]
        if missing:
            raise ValueError(f"Column(s) {missing} not in df; columns are {list(df.columns)}.")
        disp = cls(df[used].copy(), x, y, hue=hue, detail=detail, col=col, row=row)
        return disp.plot(ax=ax, col_wrap=col_wrap)

    def frame(self):
        """The rows drawn, with the facet and x position of each."""
        return self._drawn

    def plot(self, ax=None, *, col_wrap=None):
        """Draw the boxes and lines.

        Parameters
        ----------
        ax : matplotlib Axes, array of Axes or None
        col_wrap : int or None

        Returns
        -------
        self : DataDisplay
        """
        import matplotlib.pyplot as plt

        d = self.data
        cols = list(pd.unique(d[self.col])) if self.col else [None]
        rows = list(pd.unique(d[self.row])) if self.row else [None]
        facets = [(r, c) for r in rows for c in cols]
        if ax is None:
            n_cols = len(cols) if not (col_wrap and not self.row) else min(col_wrap, len(cols))
            n_rows = (
                len(rows) if not (col_wrap and not self.row) else int(np.ceil(len(cols) / n_cols))
            )
            fig, axes = plt.subplots(
                n_rows, n_cols, squeeze=False, sharey=True, figsize=(2.2 * n_cols + 1, 3.0 * n_rows)
            )
        else:
            axes = np.atleast_2d(np.asarray(ax, dtype=object))
            fig = axes.flat[0].figure
        levels = sorted(pd.unique(d[self.x]))
        hues = list(pd.unique(d[self.hue])) if self.hue else [None]
        self.lines_, drawn = [], []
        flat = list(axes.flat)
        for k, (rv, cv) in enumerate(facets):
            a = flat[k]
            sub = d
            if self.row:
                sub = sub[sub[self.row] == rv]
            if self.col:
                sub = sub[sub[self.col] == cv]
            for h_i, h in enumerate(hues):
                part = sub if h is None else sub[sub[self.hue] == h]
                offset = 0.0 if h is None else (h_i - (len(hues) - 1) / 2) * 0.25
                color = "0.5" if h is None else f"C{h_i % 10}"
                xs = np.array([levels.index(v) for v in part[self.x]], dtype=float) + offset
                boxes = [part.loc[part[self.x] == lv, self.y].to_numpy() for lv in levels]
                a.boxplot(
                    boxes,
                    positions=np.arange(len(levels)) + offset,
                    widths=0.5 / len(hues),
                    showfliers=False,
                    manage_ticks=False,
                )
                if self.detail:
                    for _, trial in part.groupby(self.detail, sort=False):
                        trial = trial.sort_values(self.x)
                        tx = np.array([levels.index(v) for v in trial[self.x]]) + offset
                        (line,) = a.plot(tx, trial[self.y], color=color, alpha=0.35, lw=0.8)
                        self.lines_.append(line)
                else:
                    a.scatter(xs, part[self.y], s=6, color=color, alpha=0.5)
                drawn.append(part.assign(_x=xs, _row=rv, _col=cv))
            a.set_xticks(np.arange(len(levels)))
            a.set_xticklabels([str(v) for v in levels])
            a.set_xlabel(self.x)
            title = ", ".join(str(v) for v in (rv, cv) if v is not None)
            if title:
                a.set_title(title, fontsize="small")
        for a in flat[len(facets) :]:
            a.set_visible(False)
        for a in axes[:, 0]:
            a.set_ylabel(self.y)
        if self.hue:
            for h_i, h in enumerate(hues):
                flat[0].plot([], [], color=f"C{h_i % 10}", label=f"{self.hue} = {h}")
            flat[0].legend(fontsize="small", frameon=False)
        self._drawn = pd.concat(drawn, ignore_index=True)
        self.axes_, self.ax_, self.figure_ = axes, flat[0], fig
        return self
