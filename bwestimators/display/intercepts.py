"""InterceptDisplay: per-group intercepts with intervals, ordered by value."""

import numpy as np

from bwestimators.display._base import MAX_FIGSIZE, _DisplayBase, fit_category_ticks, merge_style
from bwestimators.display._common import fitted_parts, interval_label, method_label


class InterceptDisplay(_DisplayBase):
    """Per-group intercepts (Bayesian random intercepts or LME BLUPs) with intervals.

    Parameters
    ----------
    intercepts : DataFrame
        The estimator's ``intercepts_`` (group column, ``estimate``, ``lower``, ``upper``).
    group_column : str or None, default=None
        The group column of ``intercepts``; by default its first column.
    estimator_name : str or None
        The method, named in the title.
    interval : str or None, default=None
        The interval in words (``"94 % HDI"``), named in the x label.

    Attributes
    ----------
    ax_ : matplotlib Axes
    axes_ : ndarray of matplotlib Axes, shape (1, 1)
    figure_ : matplotlib Figure
    errorbar_ : matplotlib ErrorbarContainer

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from bwestimators import ColumnSpec, LMEComparator
    >>> from bwestimators.display import InterceptDisplay
    >>> from bwestimators.datasets import generate_fake_lfp
    >>> df = generate_fake_lfp(n_trials=5, random_state=0).df
    >>> lme = LMEComparator(ColumnSpec("stim", group="mouse")).fit(df, df["Log power"])
    >>> InterceptDisplay.from_estimator(lme).frame().shape
    (10, 5)
    >>> InterceptDisplay(lme.intercepts_).frame()["y"].tolist()[:3]
    [0, 1, 2]
    """

    def __init__(self, intercepts, group_column=None, *, estimator_name=None, interval=None):
        missing = [c for c in ("estimate", "lower", "upper") if c not in intercepts.columns]
        if missing:
            raise ValueError(
                f"intercepts needs the columns estimate, lower and upper; {missing} missing."
            )
        self.intercepts = intercepts
        self.group_column = intercepts.columns[0] if group_column is None else group_column
        self.estimator_name = estimator_name
        self.interval = interval

    @classmethod
    def from_effects(
        cls, intercepts, *, group_column=None, estimator_name=None, interval=None, ax=None, **kwargs
    ):
        """Draw an intercepts table: a fitted ``intercepts_``, or one read back from a file.

        Parameters
        ----------
        intercepts : DataFrame
            Group column first, then ``estimate``, ``lower``, ``upper``.
        group_column : str or None, default=None
            The group column; by default the first column.
        estimator_name : str or None
            Title.
        interval : str or None, default=None
            The interval in words (``"94 % HDI"``).
        ax : matplotlib Axes or None
        **kwargs
            Style dictionaries of :meth:`plot`.

        Returns
        -------
        display : InterceptDisplay

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import pandas as pd
        >>> from bwestimators.display import InterceptDisplay
        >>> table = pd.DataFrame({"mouse": ["a", "b"], "estimate": [2.0, 1.0],
        ...                       "lower": [1.5, 0.5], "upper": [2.5, 1.5]})
        >>> InterceptDisplay.from_effects(table).frame()["mouse"].tolist()
        ['b', 'a']
        """
        disp = cls(intercepts, group_column, estimator_name=estimator_name, interval=interval)
        return disp.plot(ax=ax, **kwargs)

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, **kwargs):
        """Draw the intercepts of a fitted estimator (or pipeline).

        Parameters
        ----------
        estimator : fitted estimator with ``intercepts_``
        ax : matplotlib Axes or None
        **kwargs
            Style dictionaries of :meth:`plot`.

        Returns
        -------
        display : InterceptDisplay
        """
        model, _ = fitted_parts(estimator)
        table = getattr(model, "intercepts_", None)
        if table is None:
            raise ValueError(f"{type(model).__name__} has no per-group intercepts to show.")
        attrs = model.effects_.attrs
        return cls.from_effects(
            table.copy(),
            estimator_name=method_label(attrs, type(model).__name__),
            interval=interval_label(attrs),
            ax=ax,
            **kwargs,
        )

    def frame(self):
        """The intercepts in drawing order (by estimate), with their y position."""
        t = self.intercepts.sort_values("estimate", kind="stable").reset_index(drop=True)
        return t.assign(y=np.arange(len(t)))

    def plot(self, ax=None, *, errorbar_kwargs=None):
        """Draw the intercepts, ordered by value.

        Parameters
        ----------
        ax : matplotlib Axes or None
        errorbar_kwargs : dict or None
            Keywords of ``Axes.errorbar`` (default black dots and whiskers).

        Returns
        -------
        self : InterceptDisplay
        """
        t = self.frame()
        height = min(0.2 * len(t) + 1.4, MAX_FIGSIZE[1])
        ax = self._make_axes(ax, figsize=(5.0, height))[0, 0]
        est = t["estimate"].to_numpy()
        has_interval = t["lower"].notna().all()
        err = [est - t["lower"], t["upper"] - est] if has_interval else None
        style = merge_style(
            {"fmt": "o", "color": "black", "markersize": 4, "elinewidth": 1.2}, errorbar_kwargs
        )
        self.errorbar_ = ax.errorbar(est, t["y"], xerr=err, **style)
        ax.set_ylim(-0.7, len(t) - 0.3)
        ax.set_ylabel(self.group_column)
        interval = f" ({self.interval})" if self.interval and has_interval else ""
        ax.set_xlabel(f"intercept{interval}")
        if self.estimator_name:
            ax.set_title(f"{self.estimator_name}: intercepts", fontsize="medium")
        fit_category_ticks([(ax, t["y"], [str(v) for v in t[self.group_column]], "y")])
        return self
