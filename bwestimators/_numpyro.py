"""Import numpyro safely next to ArviZ; importing this module loads numpyro.

ArviZ's numpyro converter loads numpyro lazily (``lazy_loader``). When ArviZ is
imported before numpyro, numpyro's package becomes a lazy module, and the
submodule attributes that numpyro sets while it loads are lost when a submodule
is imported first (``import numpyro.distributions``:
``numpyro.distributions.distribution`` disappears and ``numpyro.factor``
fails). Loading the package for real first avoids it, and :func:`repair_numpyro`
mends a numpyro that was already loaded that way.

Only the code that traces a numpyro model (the models of
:mod:`bwestimators.models`, the tracing paths of :mod:`bwestimators.inference`)
and the ArviZ imports (:mod:`bwestimators._arviz`) import this module: a fit on
a sampler exported to the disk cache runs without numpyro.

Examples
--------
>>> from bwestimators._numpyro import numpyro
>>> hasattr(numpyro.distributions, "distribution")
True
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
