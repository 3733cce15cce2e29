"""Warnings reported at the user's line, not inside this package or scikit-learn."""

import importlib.util
import os
import warnings
from functools import cache


@cache
def _library_paths():
    """Folders whose frames a warning skips: this package, scikit-learn, joblib."""
    paths = [os.path.dirname(os.path.abspath(__file__))]
    for name in ("sklearn", "joblib"):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            paths.extend(os.path.abspath(p) for p in spec.submodule_search_locations)
    return tuple(p + os.sep for p in paths)


def warn(message, category=UserWarning):
    """``warnings.warn`` attributed to the first frame outside the library.

    Whether the user called ``est.fit`` directly, through a Pipeline, or in
    ``cross_val_score``, the warning names the user's file and line, so the
    default filter shows it once per line of the user's code.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn("something to know")
    >>> caught[0].filename.endswith("_warn.py")
    False
    """
    warnings.warn(message, category, skip_file_prefixes=_library_paths())
