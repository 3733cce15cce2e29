"""Import ArviZ safely next to numpyro.

ArviZ's numpyro converter loads numpyro lazily (``lazy_loader``). When ArviZ is
imported before numpyro, numpyro's package becomes a lazy module, and the
submodule attributes that numpyro sets while it loads are lost
(``numpyro.distributions.distribution`` disappears and ``numpyro.factor``
fails). Loading numpyro for real first avoids it, and :func:`repair_numpyro`
mends a numpyro that was already loaded that way; every ArviZ import of the
library goes through here, and :mod:`bwestimators.inference` imports it.
"""

import sys

import numpyro

numpyro.__version__  # noqa: B018 - touch the module so that a lazy numpyro loads now


def repair_numpyro():
    """Put back numpyro's submodule attributes lost to a lazy load (ArviZ imported first)."""
    for name, module in list(sys.modules.items()):
        if name.startswith("numpyro.") and module is not None:
            parent, _, child = name.rpartition(".")
            package = sys.modules.get(parent)
            if package is not None and child not in vars(package):
                setattr(package, child, module)


repair_numpyro()


def array_stats():
    """ArviZ's array-level statistics (``arviz_stats.base.array_stats``)."""
    from arviz_stats.base import array_stats as stats

    return stats


def arviz():
    """The ``arviz`` package."""
    import arviz as az

    return az
