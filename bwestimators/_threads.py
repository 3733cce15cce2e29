"""Threads that share the work of one fit: its NUTS chains and its diagnostics.

A compiled jax program runs in the thread that calls it, with Python's GIL
released, and numpy's sorts and FFTs release it too: several threads of one
process then use several cores. :func:`run_all` runs a list of independent
jobs in up to :func:`num_threads` threads (the calling one among them), each
thread taking the next job when it finishes one, and returns the results in
the order of the jobs, so that which thread ran which job changes the timing
only, never the results.

``BWESTIMATORS_NUM_THREADS`` caps the threads (``1``: everything in the
calling thread); by default, one per CPU core this process may use.
"""

import contextlib
import os
import threading

from bwestimators.exceptions import InputError

#: The pool of helper threads, its size, and the process that made it (a forked child
#: inherits the pool but not its threads, and makes its own).
_POOL = {"executor": None, "size": 0, "pid": None}
_POOL_LOCK = threading.Lock()
#: A cap of :func:`num_threads` in the thread that set it (:func:`limited`).
_LOCAL = threading.local()


def num_threads():
    """How many threads share the work of a fit.

    ``BWESTIMATORS_NUM_THREADS`` when set (a positive integer; 1 runs the
    chains and the diagnostics in the calling thread, one after the other),
    else the number of CPU cores this process may use. Read at every call.
    Within :func:`limited`, at most its cap.

    Returns
    -------
    n : int

    Raises
    ------
    InputError
        When ``BWESTIMATORS_NUM_THREADS`` is not a positive integer.

    Examples
    --------
    >>> from bwestimators._threads import num_threads
    >>> num_threads() >= 1
    True
    """
    cap = getattr(_LOCAL, "cap", None)
    return _configured() if cap is None else min(_configured(), cap)


def _configured():
    """The threads of ``BWESTIMATORS_NUM_THREADS``, else one per CPU core (see num_threads)."""
    setting = os.environ.get("BWESTIMATORS_NUM_THREADS", "").strip()
    if not setting:
        try:
            return max(len(os.sched_getaffinity(0)), 1)
        except AttributeError:  # not on Linux
            return os.cpu_count() or 1
    try:
        n = int(setting)
    except ValueError:
        n = 0
    if n < 1:
        raise InputError(
            f"BWESTIMATORS_NUM_THREADS must be a positive integer, got {setting!r}; unset it "
            "to use one thread per CPU core."
        )
    return n


@contextlib.contextmanager
def limited(n):
    """Cap :func:`num_threads` at ``n`` in the calling thread (None: no cap).

    For fits that run in parallel workers already (a power sweep with
    ``n_jobs=2``): each worker's fits then take its share of the cores, not
    every core each.

    Examples
    --------
    >>> from bwestimators._threads import limited, num_threads
    >>> with limited(1):
    ...     num_threads()
    1
    """
    previous = getattr(_LOCAL, "cap", None)
    _LOCAL.cap = None if n is None else max(int(n), 1)
    try:
        yield
    finally:
        _LOCAL.cap = previous


def _executor(size):
    """The module's thread pool, grown to at least ``size`` threads."""
    from concurrent.futures import ThreadPoolExecutor

    with _POOL_LOCK:
        if _POOL["pid"] != os.getpid():
            _POOL.update(executor=None, size=0, pid=os.getpid())
        if _POOL["size"] < size:
            old = _POOL["executor"]
            _POOL["executor"] = ThreadPoolExecutor(size, thread_name_prefix="bwestimators")
            _POOL["size"] = size
            if old is not None:
                old.shutdown(wait=False)
        return _POOL["executor"]


def run_all(fn, jobs, threads=None):
    """``[fn(job) for job in jobs]``, computed in up to ``threads`` threads at a time.

    Parameters
    ----------
    fn : callable
        Called once per job; the calls must be independent of each other.
    jobs : sequence
    threads : int or None, default=None
        The most threads, the calling one included; None: :func:`num_threads`.

    Returns
    -------
    results : list
        ``fn(job)`` of every job, in the order of ``jobs``.

    Examples
    --------
    >>> from bwestimators._threads import run_all
    >>> run_all(lambda x: x * x, [1, 2, 3], threads=2)
    [1, 4, 9]
    """
    jobs = list(jobs)
    threads = min(num_threads() if threads is None else int(threads), len(jobs))
    if threads <= 1:
        return [fn(job) for job in jobs]
    results = [None] * len(jobs)
    lock = threading.Lock()
    remaining = iter(range(len(jobs)))

    def work():
        while True:
            with lock:
                i = next(remaining, None)
            if i is None:
                return
            results[i] = fn(jobs[i])

    pool = _executor(threads - 1)
    helpers = [pool.submit(work) for _ in range(threads - 1)]
    try:
        work()  # the calling thread takes jobs too
    finally:
        errors = [h.exception() for h in helpers]  # waits for every helper
    for error in errors:
        if error is not None:
            raise error
    return results
