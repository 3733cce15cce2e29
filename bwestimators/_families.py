"""Likelihood families: every fact about a likelihood that the estimators need, in one place.

One frozen :class:`Family` per value of ``dist_y``: the support of y, the
link, the internal scale the model sees (standardized y, standardized log y,
or y as it is for link models), whether rows collapse exactly to sufficient
statistics, the likelihood's own parameters with their priors, the value that
pads empty cells, and the scale the effects are reported on. No other module
compares ``dist_y`` to a name: they ask the family. The numpyro distribution
of each family lives in :mod:`bwestimators.models._likelihoods` (the only
module that imports jax for it); adding a likelihood means adding a
:class:`Family` here and its distribution there.

This module imports no jax.
"""

import math
from dataclasses import dataclass

import numpy as np

from bwestimators.exceptions import InputError

#: Priors of the likelihoods' own parameters: ``(kind, arguments)``; a string
#: argument names a prior constant of the model data (set from ``priors=``).
_HALF_NORMAL_RESIDUAL = ("half_normal", ("resid_scale",))
_GAMMA_2_01 = ("gamma", (2.0, 0.1))


@dataclass(frozen=True)
class Family:
    """What a likelihood is, for the estimators (no jax).

    Parameters
    ----------
    name : str
        The value of ``dist_y``.
    support : {"real", "positive", "count", "binary"}
        Values y may take.
    link : {"identity", "log", "logit"}
        Link between the linear predictor and the mean of y on the internal scale.
    transform : {"standardize", "standardize_log", "none"}
        The internal scale: ``(y - loc) / scale``, ``(log y - loc) / scale``,
        or y as it is (link models, ``loc=0, scale=1``).
    collapsible : bool
        Rows collapse exactly to (n, mean, sum of squares) per cell.
    params : tuple of (str, tuple)
        The likelihood's own parameters, in sampling order, each with its prior
        ``(kind, arguments)``.
    pad_value : float
        A value of y inside the support, for padding cells of weight 0.
    report_scale : str
        Scale of the reported effects: ``"y"``, ``"log y"``, ``"log"`` or ``"logit"``.
    """

    name: str
    support: str
    link: str
    transform: str
    collapsible: bool = False
    params: tuple = ()
    pad_value: float = 0.0
    report_scale: str = "y"

    @property
    def standardized(self):
        """Whether the model sees standardized y (or log y), reported back in y's units."""
        return self.transform != "none"

    @property
    def param_names(self):
        """Names of the likelihood's own parameters."""
        return tuple(name for name, _ in self.params)

    def check_support(self, y):
        """Raise a clear error when y lies outside the support."""
        if self.support == "positive" and (y <= 0).any():
            raise InputError(
                f"dist_y={self.name!r} needs y > 0, but y has {int((y <= 0).sum())} value(s) "
                "<= 0. Use dist_y='normal' or 'student', or shift y."
            )
        if self.support == "count":
            bad = (y < 0) | (y != np.round(y))
            if bad.any():
                raise InputError(
                    f"dist_y={self.name!r} needs non-negative integer counts in y; "
                    f"{int(bad.sum())} value(s) are not."
                )
        if self.support == "binary" and not np.isin(y, (0.0, 1.0)).all():
            raise InputError(f"dist_y={self.name!r} needs y in {{0, 1}} (or bool).")

    def supports(self, y):
        """Whether every value of y lies in the support."""
        try:
            self.check_support(np.asarray(y, dtype=float))
        except InputError:
            return False
        return True

    def link_proxy(self, z):
        """Internal-scale y roughly on the link scale, to judge how informative the data are."""
        if self.link == "log":
            return np.log(z + (0.5 if self.support == "count" else 0.0))
        return z

    def intercept_location(self, y):
        """Prior location of the intercept on the internal scale, from the observed y."""
        if self.link == "logit":
            p = float(np.clip(np.mean(y), 0.01, 0.99))
            return math.log(p / (1 - p))
        if self.link == "log":
            return math.log(max(float(np.mean(y)), 1e-3))
        return 0.0

    @property
    def centering_allowed(self):
        """Whether centered random effects may be chosen (binary data inform them too weakly)."""
        return self.support != "binary"

    @property
    def varies_scale(self):
        """Whether the family has a free dispersion parameter (used to list model variants)."""
        return self.support in ("real", "positive") and bool(self.params)


FAMILIES = {
    f.name: f
    for f in (
        Family(
            "normal",
            "real",
            "identity",
            "standardize",
            collapsible=True,
            params=(("sigma", _HALF_NORMAL_RESIDUAL),),
        ),
        Family(
            "student",
            "real",
            "identity",
            "standardize",
            params=(("sigma", _HALF_NORMAL_RESIDUAL), ("nu", _GAMMA_2_01)),
        ),
        Family(
            "lognormal",
            "positive",
            "identity",
            "standardize_log",
            collapsible=True,
            params=(("sigma", _HALF_NORMAL_RESIDUAL),),
            report_scale="log y",
        ),
        Family(
            "gamma",
            "positive",
            "log",
            "none",
            params=(("shape", _GAMMA_2_01),),
            pad_value=1.0,
            report_scale="log",
        ),
        Family("poisson", "count", "log", "none", report_scale="log"),
        Family(
            "negative_binomial",
            "count",
            "log",
            "none",
            params=(("phi", _GAMMA_2_01),),
            report_scale="log",
        ),
        Family("exponential", "positive", "log", "none", pad_value=1.0, report_scale="log"),
        Family("bernoulli", "binary", "logit", "none", report_scale="logit"),
    )
}

#: The values ``dist_y`` takes, in the documented order.
LIKELIHOODS = tuple(FAMILIES)

#: The default likelihood.
DEFAULT_LIKELIHOOD = LIKELIHOODS[0]


def get_family(dist_y):
    """The :class:`Family` of ``dist_y``, or a ValueError listing the choices."""
    try:
        return FAMILIES[dist_y]
    except (KeyError, TypeError):
        raise InputError(f"dist_y must be one of {LIKELIHOODS}, got {dist_y!r}.") from None


class YScale:
    """The internal scale of y: standardized y (or log y), or y as it is for link models.

    Parameters
    ----------
    family : Family
    y : ndarray
        The observed y (defines ``loc`` and ``scale`` for standardized families).
    """

    def __init__(self, family, y):
        self.family = family
        if family.standardized:
            z = self._log(y)
            self.loc, self.scale = float(z.mean()), float(z.std())
            if not np.isfinite(self.scale) or self.scale == 0:
                raise InputError("y is constant; there is nothing to estimate.")
        else:
            self.loc, self.scale = 0.0, 1.0

    def _log(self, y):
        return np.log(y) if self.family.transform == "standardize_log" else y

    def forward(self, y):
        """y on the internal scale."""
        return (self._log(y) - self.loc) / self.scale

    def inverse(self, z):
        """Values on the internal scale back in y's units."""
        y = self.loc + self.scale * np.asarray(z)
        return np.exp(y) if self.family.transform == "standardize_log" else y

    def location(self, values):
        """Linear-predictor values (intercepts) on the reported scale (y, log y, or link)."""
        return self.loc + self.scale * np.asarray(values)

    def log_jacobian(self, y):
        """log |d internal / d y| per observation, to report densities in y's units."""
        out = np.full(np.shape(y), -math.log(self.scale))
        if self.family.transform == "standardize_log":
            out = out - np.log(y)
        return out

    def moments(self, mean, var):
        """Mean and variance in y's units from those on the internal scale.

        For ``standardize_log`` the internal distribution is normal, and y is
        lognormal: ``E[y] = exp(m + v / 2)``, ``Var[y] = (exp(v) - 1) exp(2m + v)``
        with m and v the mean and variance of log y.
        """
        if self.family.transform != "standardize_log":
            return self.loc + self.scale * mean, None if var is None else var * self.scale**2
        log_var = np.broadcast_to(var, np.shape(mean)) * self.scale**2
        log_mean = self.loc + self.scale * mean
        y_mean = np.exp(log_mean + log_var / 2)
        return y_mean, (np.exp(log_var) - 1) * np.exp(2 * log_mean + log_var)
