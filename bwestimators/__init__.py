"""Treatment effects in nested experimental data, the scikit-learn way.

Public names are imported lazily, so ``import bwestimators`` stays fast and does
not import jax or numpyro; they load on first use.
"""

import importlib

__version__ = "0.1.0"

_LAZY = {
    "ColumnSpec": "bwestimators.spec",
    "HierarchicalSlopeRegressor": "bwestimators.hierarchical",
    "ConditionMeansRegressor": "bwestimators.hierarchical",
    "LMEComparator": "bwestimators.lme",
    "AnovaComparator": "bwestimators.anova",
    "make_change": "bwestimators.effects",
}
_SUBMODULES = {
    "datasets",
    "display",
    "effects",
    "hierarchical",
    "inference",
    "lme",
    "anova",
    "metrics",
    "model_selection",
    "models",
    "power",
    "spec",
}

__all__ = [*sorted(_LAZY), "__version__"]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"bwestimators.{name}")
    raise AttributeError(f"module 'bwestimators' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__) | _SUBMODULES)
