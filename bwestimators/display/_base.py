"""The scaffolding every Display shares: the axes grid, the fitted attributes, style keywords.

A display holds the numbers it draws (set in ``__init__``), returns them as a
tidy table from :meth:`_DisplayBase.frame` at any time, and draws them with
``plot(ax=None, ...)``, which sets

- ``figure_``: the matplotlib Figure,
- ``axes_``: a 2-D numpy array of every Axes drawn on (one per panel),
- ``ax_``: the first (or only) Axes, ``axes_[0, 0]``.

Style keyword dictionaries (``scatter_kwargs``, ``line_kwargs``, ...) are merged
over each display's defaults with :func:`merge_style`, as scikit-learn's
``PredictionErrorDisplay`` does.
"""

import numpy as np

#: Short matplotlib aliases and the full names they stand for (as scikit-learn's displays use).
_ALIASES = {
    "c": "color",
    "ls": "linestyle",
    "lw": "linewidth",
    "ec": "edgecolor",
    "fc": "facecolor",
    "ms": "markersize",
    "mec": "markeredgecolor",
    "mew": "markeredgewidth",
    "mfc": "markerfacecolor",
    "ds": "drawstyle",
    "aa": "antialiased",
}


def merge_style(defaults, user=None):
    """Style keywords of one artist: the user's over the display's defaults.

    Short matplotlib aliases (``c``, ``lw``, ``ls``, ``ms``, ...) are read as
    their full names, so ``{"c": "red"}`` replaces a default ``color`` instead
    of clashing with it.

    Parameters
    ----------
    defaults : dict
        The display's keywords, written with full names.
    user : dict or None
        The caller's keywords (may use aliases).

    Returns
    -------
    kwargs : dict
        ``{**defaults, **user}`` with the aliases resolved.

    Raises
    ------
    TypeError
        When ``user`` gives an alias and its full name together, or is not a dict.

    Examples
    --------
    >>> from bwestimators.display._base import merge_style
    >>> merge_style({"color": "black", "linewidth": 1.0}, {"c": "red"})
    {'color': 'red', 'linewidth': 1.0}
    """
    if user is None:
        return dict(defaults)
    if not isinstance(user, dict):
        raise TypeError(f"style keywords must be a dict or None, got {type(user).__name__}.")
    merged = dict(defaults)
    for key, value in user.items():
        full = _ALIASES.get(key, key)
        if full != key and full in user:
            raise TypeError(f"Got both {key!r} and {full!r}, which are aliases of one another.")
        merged[full] = value
    return merged


def axes_grid(ax=None, nrows=1, ncols=1, **subplots_kw):
    """A 2-D array of Axes of shape (nrows, ncols): new, or the given ones reused.

    Parameters
    ----------
    ax : matplotlib Axes, array-like of Axes or None
        Axes to draw on: exactly ``nrows * ncols`` of them, in any shape (read
        row by row). ``None`` makes a new figure.
    nrows, ncols : int, default=1
        The grid's shape.
    **subplots_kw
        Passed to :func:`matplotlib.pyplot.subplots` for a new figure (``figsize``,
        ``sharex``, ``sharey``, ...); a constrained layout by default.

    Returns
    -------
    figure : matplotlib Figure
    axes : ndarray of Axes, shape (nrows, ncols)

    Raises
    ------
    ValueError
        When ``ax`` holds another number of Axes than the grid needs, or something
        that is not an Axes.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from bwestimators.display._base import axes_grid
    >>> fig, axes = axes_grid(None, 1, 2)
    >>> axes.shape
    (1, 2)
    >>> fig, axes = axes_grid(axes.ravel(), 2, 1)
    >>> axes.shape
    (2, 1)
    >>> plt.close("all")
    """
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes

    if ax is None:
        subplots_kw.setdefault("layout", "constrained")
        fig, axes = plt.subplots(nrows, ncols, squeeze=False, **subplots_kw)
        return fig, axes
    given = np.empty(1, dtype=object)
    given[0] = ax
    flat = given if isinstance(ax, Axes) else np.asarray(ax, dtype=object).ravel()
    if flat.size != nrows * ncols:
        raise ValueError(
            f"This display draws {nrows} x {ncols} = {nrows * ncols} panel(s), so ax must hold "
            f"{nrows * ncols} matplotlib Axes; got {flat.size}. Pass ax=None for a new figure."
        )
    wrong = [type(a).__name__ for a in flat if not isinstance(a, Axes)]
    if wrong:
        raise ValueError(f"ax must hold matplotlib Axes only, got {wrong[0]}.")
    axes = flat.reshape(nrows, ncols)
    return axes[0, 0].figure, axes


def thin_ticks(ax, positions, labels, max_labels=25):
    """Tick labels at every position, or at every k-th when there are many."""
    step = max(1, int(np.ceil(len(positions) / max_labels)))
    ax.set_xticks(positions[::step])
    ax.set_xticklabels(labels[::step], rotation=90 if len(positions) > 8 else 0)


class _DisplayBase:
    """Base of the Display objects: the fitted axes attributes and the ``frame`` contract.

    Subclasses hold their numbers from ``__init__`` on, return them from
    :meth:`frame` (without needing :meth:`plot`), and start ``plot`` with
    :meth:`_make_axes`, which sets ``figure_``, ``axes_`` and ``ax_``.

    Attributes
    ----------
    figure_ : matplotlib Figure
        Set by ``plot``.
    axes_ : ndarray of matplotlib Axes, shape (n_rows, n_cols)
        Every panel, set by ``plot``.
    ax_ : matplotlib Axes
        The first (or only) panel, ``axes_[0, 0]``.
    """

    def frame(self):
        """The tidy table the display draws; valid right after construction."""
        raise NotImplementedError

    def _make_axes(self, ax, nrows=1, ncols=1, **subplots_kw):
        """Make or reuse the axes grid (see :func:`axes_grid`) and set the axes attributes."""
        self.figure_, self.axes_ = axes_grid(ax, nrows, ncols, **subplots_kw)
        self.ax_ = self.axes_[0, 0]
        return self.axes_
