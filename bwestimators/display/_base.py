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


#: The largest figure a display makes by itself, in inches (width, height): a page holds it.
MAX_FIGSIZE = (16.0, 20.0)


def wrap_shape(n_panels, col_wrap=None):
    """Rows and columns of a grid of ``n_panels`` facets, wrapped.

    Parameters
    ----------
    n_panels : int
    col_wrap : int or None, default=None
        Facets per row; by default one row up to 6 facets, else about
        ``sqrt(2 * n_panels)`` per row, at most 10.

    Returns
    -------
    nrows, ncols : int

    Examples
    --------
    >>> from bwestimators.display._base import wrap_shape
    >>> wrap_shape(4), wrap_shape(10), wrap_shape(85), wrap_shape(7, col_wrap=3)
    ((1, 4), (2, 5), (9, 10), (3, 3))
    """
    n_panels = max(int(n_panels), 1)
    if col_wrap:
        ncols = min(int(col_wrap), n_panels)
    elif n_panels <= 6:
        ncols = n_panels
    else:
        ncols = min(10, int(np.ceil(np.sqrt(2 * n_panels))))
    return int(np.ceil(n_panels / ncols)), ncols


def facet_figsize(nrows, ncols, panel=(2.4, 2.8), extra=(0.8, 0.6)):
    """The size of a new figure of ``nrows x ncols`` panels, bounded by :data:`MAX_FIGSIZE`.

    Each panel gets ``panel`` inches, or less when the grid would not fit a page.

    Examples
    --------
    >>> from bwestimators.display._base import facet_figsize
    >>> facet_figsize(1, 2)
    (5.6, 3.4)
    >>> facet_figsize(9, 10)
    (16.0, 20.0)
    """
    width = min(panel[0] * ncols + extra[0], MAX_FIGSIZE[0])
    height = min(panel[1] * nrows + extra[1], MAX_FIGSIZE[1])
    return (round(width, 2), round(height, 2))


def bottom_of_column(axes, n_panels):
    """Whether each of the first ``n_panels`` panels (row by row) is the lowest of its column."""
    ncols = axes.shape[1]
    return [k + ncols >= n_panels for k in range(n_panels)]


def fit_category_ticks(items, margin=1.25):
    """Tick labels at categorical positions, rotated (x) or thinned to fit their axes.

    Sets every label, draws the figure once (without rendering) to measure the
    labels and the axes, then, per axis: an x label wider than the space
    between two ticks turns vertical; when the labels still do not fit, only
    every k-th is kept.

    Parameters
    ----------
    items : list of (Axes, positions, labels, which)
        ``which`` is ``"x"`` or ``"y"``; all the Axes belong to one figure.
    margin : float, default=1.25
        Room kept for a later change of the layout (titles added afterwards).

    Returns
    -------
    steps : list of int
        Per item: 1 when every label is shown, k when every k-th is.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from bwestimators.display._base import fit_category_ticks
    >>> fig, ax = plt.subplots(figsize=(3, 3), layout="constrained")
    >>> fit_category_ticks([(ax, range(40), [f"neuron {i}" for i in range(40)], "y")])
    [3]
    >>> plt.close(fig)
    """
    prepared = []
    for ax, positions, labels, which in items:
        positions = np.asarray(positions, dtype=float)
        order = np.argsort(positions, kind="stable")
        positions, labels = positions[order], [str(labels[i]) for i in order]
        axis = ax.xaxis if which == "x" else ax.yaxis
        axis.set_ticks(positions, labels)
        prepared.append((ax, axis, positions, labels, which))
    steps = [1] * len(prepared)
    if not any(len(p[2]) > 1 for p in prepared):
        return steps
    fig = prepared[0][0].figure
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    for k, (ax, axis, positions, labels, which) in enumerate(prepared):
        if len(positions) < 2:
            continue
        box = ax.get_window_extent(renderer)
        low, high = axis.get_view_interval()
        length = box.width if which == "x" else box.height
        gap = np.min(np.diff(positions)) * length / max(abs(high - low), 1e-12)
        extents = [t.get_window_extent(renderer) for t in axis.get_majorticklabels()]
        if not extents:
            continue
        need = max(e.height for e in extents)
        if which == "x":
            if max(e.width for e in extents) * margin <= gap:
                continue
            ax.tick_params(axis="x", labelrotation=90)
        steps[k] = max(1, int(np.ceil(need * margin / max(gap, 1e-9))))
        if steps[k] > 1:
            axis.set_ticks(positions[:: steps[k]], labels[:: steps[k]])
    return steps


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
