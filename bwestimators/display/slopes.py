"""PosteriorSlopeDisplay: treatment effects per condition, with their uncertainty, over the data."""

from bwestimators.display._base import _DisplayBase, fit_category_ticks
from bwestimators.display._common import (
    display_title,
    effect_label,
    effects_condition_columns,
    fitted_parts,
    is_bayesian,
    method_label,
)
from bwestimators.display._slope_artists import draw_panel, set_titles, slope_styles
from bwestimators.display._slope_layout import (
    change_overlay,
    check_draws,
    effect_positions,
    grid_shape,
    label_columns,
    make_layout,
    overlay_frame,
    panel_places,
    slope_panels,
)


class PosteriorSlopeDisplay(_DisplayBase):
    """Treatment effect per condition: estimate, interval, posterior density and data.

    Create it with :meth:`from_estimator` (a fitted estimator) or :meth:`from_effects`
    (an effects table, e.g. one saved as CSV); :meth:`plot` draws it. Every estimator
    of the library works (no density for the frequentist ones).

    Parameters
    ----------
    effects : DataFrame
        An effects table (decoded condition columns, ``estimate``, ``lower``,
        ``upper``), as ``est.effects_``.
    condition_columns : list of str or None, default=None
        The condition columns of ``effects``; by default the columns before
        its result columns.
    draws : ndarray of shape (n_draws, n_effects) or None
        Posterior draws of the effects (Bayesian fits), one column per row of
        ``effects``.
    change, change_column : DataFrame or None, str or None
        The change of the data between treatment levels (:func:`make_change`), and
        its column with the change.
    y_label : str or None, default=None
        Label of the effect axis; by default from ``effects.attrs``
        (``"effect of stim on Log power"``).
    estimator_name : str or None
        Name of the method in the title; by default from ``effects.attrs["method"]``.
        The title names the interval too (``"94 % HDI"``, ``"95 % CI"``) when
        ``effects.attrs`` says which it is.

    Attributes
    ----------
    title : str or None
        The title drawn: method and interval (``"Mixed model (LME) (95 % CI)"``).
    ax_ : matplotlib Axes
        The first (or only) panel.
    axes_ : ndarray of matplotlib Axes, shape (n_rows, n_cols)
        Every panel (one with no facets).
    figure_ : matplotlib Figure
    errorbar_ : list of matplotlib containers, one per panel
    estimates_ : list of PathCollection, the estimate dots of each panel
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
    >>> PosteriorSlopeDisplay.from_effects(lme.effects_).axes_.shape
    (1, 1)
    """

    def __init__(
        self,
        effects,
        condition_columns=None,
        *,
        draws=None,
        change=None,
        change_column=None,
        y_label=None,
        estimator_name=None,
    ):
        if condition_columns is None:
            condition_columns = effects_condition_columns(effects)
        check_draws(draws, len(effects))
        self.effects = effects
        self.condition_columns = list(condition_columns)
        self.draws = draws
        self.change = change
        self.change_column = change_column
        self.y_label = effect_label(effects.attrs) if y_label is None else y_label
        self.estimator_name = estimator_name
        self.title = display_title(effects.attrs, estimator_name)
        self._layout = {"x": None, "hue": None, "col": None, "row": None, "order": "auto"}

    @classmethod
    def from_effects(
        cls,
        effects,
        *,
        condition_columns=None,
        draws=None,
        change=None,
        change_column=None,
        y_label=None,
        estimator_name=None,
        ax=None,
        **plot_kwargs,
    ):
        """Draw an effects table: a fitted estimator's ``effects_``, or one read back from a file.

        Parameters
        ----------
        effects : DataFrame
            Decoded condition column(s) first, then at least ``estimate``,
            ``lower`` and ``upper`` (the contract of ``est.effects_``).
        condition_columns : list of str or None, default=None
            The condition columns; by default the columns before the result columns.
        draws : ndarray of shape (n_draws, n_effects) or None
            Posterior draws, for ``kind="density"`` and the 50% interval.
        change : DataFrame or None
            Data overlay: the change per (group, detail), from :func:`make_change`.
        change_column : str or None
            The column of ``change`` with the change (default: its last column).
        y_label : str or None
            Axis label; by default from ``effects.attrs`` (treatment and y names).
        estimator_name : str or None
            Method named in the title; by default from ``effects.attrs["method"]``.
        ax : matplotlib Axes, array of Axes or None
            Where to draw: one Axes per facet panel.
        **plot_kwargs
            ``x``, ``hue``, ``col``, ``row``, ``col_wrap``, ``kind``, ``order``,
            ``orient`` and the style dictionaries of :meth:`plot`.

        Returns
        -------
        display : PosteriorSlopeDisplay

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import pandas as pd
        >>> from bwestimators.display import PosteriorSlopeDisplay
        >>> effects = pd.DataFrame({"region": ["a", "b"], "estimate": [1.0, 2.0],
        ...                         "lower": [0.5, 1.5], "upper": [1.5, 2.5]})
        >>> disp = PosteriorSlopeDisplay.from_effects(effects, scatter_kwargs={"color": "red"})
        >>> disp.frame()["x"].tolist()
        [0.0, 1.0]
        """
        if change is not None and change_column is None:
            change_column = change.columns[-1]
        disp = cls(
            effects,
            condition_columns,
            draws=draws,
            change=change,
            change_column=change_column,
            y_label=y_label,
            estimator_name=estimator_name,
        )
        return disp.plot(ax=ax, **plot_kwargs)

    @classmethod
    def from_estimator(
        cls, estimator, X=None, y=None, *, add_data=True, change="subtract", ax=None, **plot_kwargs
    ):
        """Build the display from a fitted estimator (or pipeline) and draw it.

        Reads the estimator's ``effects_``, ``condition_columns_`` and, for
        Bayesian fits, ``effect_draws()``, then goes through :meth:`from_effects`.

        Parameters
        ----------
        estimator : fitted estimator or Pipeline
        X : DataFrame or None
            Raw data (the columns the spec names), for the data overlay.
        y : array-like or None
            Outcome, for the data overlay.
        add_data : bool, default=True
            Draw the change of the data between treatment levels per (group,
            detail) as box + strip, when X and y are given.
        change : {"subtract", "divide"}, default="subtract"
            How the data change is computed (see :func:`make_change`).
        ax : matplotlib Axes, array of Axes or None
            Where to draw: one Axes per facet panel.
        **plot_kwargs
            ``x``, ``hue``, ``col``, ``row``, ``col_wrap``, ``kind``, ``order``,
            ``orient`` and the style dictionaries of :meth:`plot`.

        Returns
        -------
        display : PosteriorSlopeDisplay
        """
        model, spec = fitted_parts(estimator)
        overlay = (None, None)
        if add_data and X is not None and y is not None and spec is not None:
            overlay = change_overlay(X, y, spec, change)
        return cls.from_effects(
            model.effects_.copy(),
            condition_columns=model.condition_columns_,
            draws=model.effect_draws() if is_bayesian(model) else None,
            change=overlay[0],
            change_column=overlay[1],
            y_label=effect_label(model.effects_.attrs, getattr(y, "name", None)),
            estimator_name=method_label(model.effects_.attrs, type(model).__name__),
            ax=ax,
            **plot_kwargs,
        )

    @property
    def _label_columns(self):
        """The columns that label a row of the effects table (see :func:`label_columns`)."""
        return label_columns(self.effects, self.condition_columns)

    def frame(self):
        """The tidy table drawn: condition labels, estimate, interval and x position.

        Valid right after construction: the positions are those of the layout
        last drawn (the default layout before :meth:`plot`).
        """
        out = self.effects[[*self._label_columns, "estimate", "lower", "upper"]].copy()
        out["x"] = effect_positions(self._panels(), len(out))
        return out

    def data_frame(self):
        """The data overlay: one row per (group, condition, detail) with its change and x."""
        if self.change is None:
            return None
        return overlay_frame(self._panels(), self.change)

    def _panels(self):
        """Every facet panel of the current layout, row by row (see :func:`slope_panels`)."""
        return slope_panels(
            self.effects, self.condition_columns, self._layout, self.draws, self.change
        )

    def plot(
        self,
        ax=None,
        *,
        x=None,
        hue=None,
        col=None,
        row=None,
        col_wrap=None,
        kind="interval",
        order="auto",
        orient="auto",
        errorbar_kwargs=None,
        scatter_kwargs=None,
        density_kwargs=None,
        data_kwargs=None,
    ):
        """Draw the display.

        Parameters
        ----------
        ax : matplotlib Axes, array of Axes or None
            Where to draw: one Axes per facet panel (rows x columns); a new
            figure when None.
        x, hue, col, row : str or None
            Condition columns for the condition axis, the colour (dodged, legend
            right of the panels), and facet columns and rows. By default all
            conditions share the condition axis, labelled by all their columns.
        col_wrap : int or None, default=None
            Facets per row with ``col`` alone; by default chosen from their number.
        kind : {"interval", "density"}, default="interval"
            ``"density"`` adds the posterior density (half violin) of Bayesian fits.
        order : {"auto", "data", "estimate"} or list, default="auto"
            Order of the conditions: ``"data"`` the order of the effects table,
            ``"estimate"`` ranked by estimate, ``"auto"`` ranked when there are more
            than 12 conditions, or a list of condition labels (values, or the values
            of several columns joined by ``", "``) drawn in that order (left to
            right, or top to bottom): pass the same list to the displays of two
            estimators to compare them condition by condition.
        orient : {"auto", "v", "h"}, default="auto"
            ``"h"`` draws a forest plot: conditions on the y axis, effects on the x
            axis. ``"auto"`` does so with more than 12 conditions per panel (and
            neither ``x`` nor ``hue``).
        errorbar_kwargs, scatter_kwargs, density_kwargs, data_kwargs : dict or None
            Keywords of ``Axes.errorbar`` for the intervals (default black), of
            ``Axes.scatter`` for the estimates (black dots, coloured by ``hue``),
            properties of the density bodies (``facecolor="tab:blue"``, ``alpha=0.35``)
            and keywords of ``Axes.scatter`` for the data points (orange).

        Returns
        -------
        self : PosteriorSlopeDisplay
        """
        options = {"x": x, "hue": hue, "col": col, "row": row}
        self._layout = make_layout(options, order, orient, col_wrap, kind, self._label_columns)
        panels = self._panels()
        nrows, ncols, figsize, share = grid_shape(panels, len(self.effects))
        axes = self._make_axes(ax, nrows, ncols, figsize=figsize, **share)
        styles = slope_styles(errorbar_kwargs, scatter_kwargs, density_kwargs, data_kwargs)
        styles["change_column"] = self.change_column
        self.errorbar_, self.estimates_, self.violins_, self.data_artists_ = [], [], [], []
        ticks, names = [], (self._label_columns, self.y_label)
        for panel, where in zip(panels, panel_places(panels, axes), strict=True):
            drawn = draw_panel(
                axes[panel.i, panel.j], panel, self._layout, kind, styles, where, names
            )
            self.data_artists_ += drawn["data"]
            self.violins_ += drawn["density"]
            self.errorbar_.append(drawn["errorbar"])
            self.estimates_.append(drawn["estimates"])
            ticks.append(drawn["ticks"])
        set_titles(self.figure_, self.ax_, self.title, len(panels), (row, col))
        fit_category_ticks([t for t in ticks if t is not None])
        return self
