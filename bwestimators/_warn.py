"""Warnings reported at the user's line, not inside this package or scikit-learn."""

import contextlib
import contextvars
import importlib.util
import os
import re
import sys
import threading
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


# ---- per-fit capture, safe under threads ----------------------------------------------
#
# ``warnings.catch_warnings(record=True)`` swaps the process-wide ``showwarning`` and
# filter list: fits capturing in two threads (a power sweep on joblib's threading backend
# or a Dask worker's threads) see each other's warnings, and interleaved exits leave the
# process's warnings captured. Here a capture is a collector pushed on a context-local
# stack; while any is active, one filter ("always", but matching only where a capture is
# active) heads ``warnings.filters`` and ``warnings._showwarnmsg`` (what the interpreter
# calls to show a warning; ``catch_warnings`` leaves it alone) hands each warning to the
# innermost capture of the emitting thread, or to the previous handler elsewhere. Both are
# removed when the last capture ends. Python 3.14's context-aware ``catch_warnings``
# (``sys.flags.context_aware_warnings``) is thread-safe by itself and is used there.

_CAPTURES = contextvars.ContextVar("bwestimators_warning_captures", default=())
_LOCK = threading.Lock()
_users = 0
_previous_show = None
_filter_lists = []  # the filter lists the capture filter was put in, cleaned at the end


class _WhereCapturing:
    """A warnings-filter message pattern that matches only where a capture is active."""

    pattern = "<a bwestimators warning capture is active here>"

    def match(self, text):
        return bool(_CAPTURES.get())

    def __repr__(self):
        return f"re.compile({self.pattern!r})"

    def __reduce__(self):  # pickled filter lists (sent to other processes) keep the singleton
        return "_WHERE_CAPTURING"


_WHERE_CAPTURING = _WhereCapturing()
_CAPTURE_FILTER = ("always", _WHERE_CAPTURING, Warning, None, 0)


def _route(msg):
    """``warnings._showwarnmsg`` while captures are active: to this context's capture."""
    captures = _CAPTURES.get()
    if captures:
        captures[-1].append(msg)
    else:
        _previous_show(msg)


def _filters_mutated():
    """Reset the "already warned" registries, as ``catch_warnings`` does on entry."""
    reset = getattr(warnings, "_filters_mutated", None)
    if reset is not None:
        reset()


def _drop_capture_filter(filters):
    while True:
        try:
            filters.remove(_CAPTURE_FILTER)
        except ValueError:
            return


def _start():
    global _users, _previous_show
    with _LOCK:
        if _users == 0:
            _previous_show = warnings._showwarnmsg
            warnings._showwarnmsg = _route
        _users += 1
        filters = warnings.filters  # replaced by any catch_warnings entered or left since
        if not filters or filters[0] is not _CAPTURE_FILTER:
            _drop_capture_filter(filters)
            filters.insert(0, _CAPTURE_FILTER)
            if not any(f is filters for f in _filter_lists):
                _filter_lists.append(filters)
        _filters_mutated()  # each capture sees its warnings, even ones already shown once


def _stop():
    global _users
    with _LOCK:
        _users -= 1
        if _users:
            return
        for filters in (*_filter_lists, warnings.filters):
            _drop_capture_filter(filters)
        _filter_lists.clear()
        _filters_mutated()
        if warnings._showwarnmsg is _route:
            warnings._showwarnmsg = _previous_show


@contextlib.contextmanager
def capture_warnings():
    """Record every warning raised in this thread (or context) inside the block.

    Like ``warnings.catch_warnings(record=True)`` with ``simplefilter("always")``, but
    safe when fits in several threads capture at once: each capture gets only the
    warnings raised by its own thread, and warnings of threads that capture nothing
    are shown as usual. Captures nest; the innermost one gets the warnings. The
    captured warnings are not shown; re-emit those the user should see.

    Yields
    ------
    caught : list of warnings.WarningMessage

    Examples
    --------
    >>> with capture_warnings() as caught:
    ...     warnings.warn("kept here")
    >>> [str(w.message) for w in caught]
    ['kept here']
    """
    if getattr(sys.flags, "context_aware_warnings", False):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield caught
        return
    caught = []
    _start()
    token = _CAPTURES.set((*_CAPTURES.get(), caught))
    try:
        yield caught
    finally:
        _CAPTURES.reset(token)
        _stop()


def reemit(caught, skip=None):
    """Warn again the captured warnings, except those whose message matches ``skip`` (a regex)."""
    for w in caught:
        if skip is not None and re.search(skip, str(w.message)):
            continue
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
