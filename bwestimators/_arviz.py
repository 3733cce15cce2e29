"""Import ArviZ safely next to numpyro (every ArviZ import of the library goes through here).

Importing this module loads numpyro for real first (:mod:`bwestimators._numpyro`),
so that ArviZ's lazy numpyro converter cannot break numpyro later on.
"""

from bwestimators import _numpyro  # noqa: F401 - loads numpyro for real before ArviZ


def array_stats():
    """ArviZ's array-level statistics (``arviz_stats.base.array_stats``)."""
    from arviz_stats.base import array_stats as stats

    return stats


def arviz():
    """The ``arviz`` package."""
    import arviz as az

    return az
