"""InterceptDisplay: per-group intercepts with intervals, ordered by value."""

import numpy as np

from bwestimators.display._common import fitted_parts


class InterceptDisplay:
    """Per-group intercepts (Bayesian random intercepts or LME BLUPs) with intervals.

    Parameters
    ----------
    intercepts : DataFrame
        The estimator's ``intercepts_`` (group column, ``estimate``, ``lower``, ``upper``).
    group_column : str
    estimator_name : str or None

    Attributes
    ----------
    ax_, figure_ : matplotlib Axes and Figure
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
    """

    def __init__(self, intercepts, group_column, *, estimator_name=None):
        self.intercepts = intercepts
        self.group_column = group_column
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(cls, estimator, *, ax=None):
        """Draw the intercepts of a fitted estimator (or pipeline).

        Parameters
        ----------
        estimator : fitted estimator with ``intercepts_``
        ax : matplotlib Axes or None

        Returns
        -------
        display : InterceptDisplay
        """
        model, _ = fitted_parts(estimator)
        table = getattr(model, "intercepts_", None)
        if table is None:
            raise ValueError(f"{type(model).__name__} has no per-group intercepts to show.")
        disp = cls(table.copy(), table.columns[0], estimator_name=type(model).__name__)
        return disp.plot(ax=ax)

    def frame(self):
        """The intercepts drawn, in drawing order, with their y position."""
        return self._drawn

    def plot(self, ax=None):
        """Draw the intercepts, ordered by value.

        Parameters
        ----------
        ax : matplotlib Axes or None

        Returns
        -------
        self : InterceptDisplay
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(
                figsize=(4.5, 0.25 * len(self.intercepts) + 1.5), layout="constrained"
            )
        t = self.intercepts.sort_values("estimate", kind="stable").reset_index(drop=True)
        pos = np.arange(len(t))
        est = t["estimate"].to_numpy()
        has_interval = t["lower"].notna().all()
        err = [est - t["lower"], t["upper"] - est] if has_interval else None
        self.errorbar_ = ax.errorbar(
            est, pos, xerr=err, fmt="o", color="black", ms=4, elinewidth=1.2
        )
        ax.set_yticks(pos)
        ax.set_yticklabels([str(v) for v in t[self.group_column]])
        ax.set_ylabel(self.group_column)
        ax.set_xlabel("intercept")
        if self.estimator_name:
            ax.set_title(f"{self.estimator_name}: intercepts", fontsize="medium")
        self._drawn = t.assign(y=pos)
        self.ax_, self.figure_ = ax, ax.figure
        return self
