"""The package's numpyro models by name, imported when a sampler first traces them.

A fit hands its model to :mod:`bwestimators.inference` as a
:class:`BuiltinModel`: it keys the compiled samplers and the exported ones on
disk exactly as the model function does (by module and name), without
importing it. A fit whose sampler is on disk (``jax.export``) therefore runs
without importing numpyro; the model module (and numpyro) load only when a
sampler is traced.
"""

import importlib

#: The module that defines each model of :mod:`bwestimators.models`.
_MODULES = {
    "slope_model": "bwestimators.models._slope",
    "means_model": "bwestimators.models._slope",
}


class BuiltinModel:
    """A model function of :mod:`bwestimators.models`, imported on first call.

    Parameters
    ----------
    name : str
        The model's name in :mod:`bwestimators.models` (``"slope_model"``, ``"means_model"``).

    Examples
    --------
    >>> from bwestimators._model_ref import BuiltinModel
    >>> model = BuiltinModel("slope_model")
    >>> model.__module__, model.__qualname__
    ('bwestimators.models._slope', 'slope_model')
    >>> model == BuiltinModel("slope_model")
    True
    """

    def __init__(self, name):
        if name not in _MODULES:
            raise ValueError(f"No built-in model {name!r}; known: {sorted(_MODULES)}.")
        self.__module__ = _MODULES[name]
        self.__qualname__ = self.__name__ = name

    def function(self):
        """The model function itself (imports its module, and numpyro)."""
        return getattr(importlib.import_module(self.__module__), self.__name__)

    def __call__(self, *args, **kwargs):
        return self.function()(*args, **kwargs)

    def __eq__(self, other):
        return isinstance(other, BuiltinModel) and other.__name__ == self.__name__

    def __hash__(self):
        return hash((BuiltinModel, self.__name__))

    def __repr__(self):
        return f"BuiltinModel({self.__name__!r})"
