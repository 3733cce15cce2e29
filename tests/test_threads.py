import threading

import pytest

from bwestimators._threads import num_threads, run_all
from bwestimators.exceptions import InputError


def test_num_threads_reads_the_environment(monkeypatch):
    monkeypatch.delenv("BWESTIMATORS_NUM_THREADS", raising=False)
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert num_threads() == cores
    monkeypatch.setenv("BWESTIMATORS_NUM_THREADS", " 3 ")
    assert num_threads() == 3


@pytest.mark.parametrize("setting", ["0", "-2", "two", "1.5"])
def test_a_bad_thread_count_is_an_input_error(monkeypatch, setting):
    monkeypatch.setenv("BWESTIMATORS_NUM_THREADS", setting)
    with pytest.raises(InputError, match="BWESTIMATORS_NUM_THREADS must be a positive integer"):
        num_threads()


def test_results_keep_the_order_of_the_jobs():
    assert run_all(lambda x: x * 10, range(7), threads=3) == [0, 10, 20, 30, 40, 50, 60]
    assert run_all(lambda x: x, [], threads=3) == []


def test_jobs_run_side_by_side_in_as_many_threads_as_allowed(monkeypatch):
    """Two jobs that each wait for the other finish only when they run at the same time."""
    monkeypatch.setenv("BWESTIMATORS_NUM_THREADS", "2")
    barrier = threading.Barrier(2, timeout=30)

    def job(_):
        barrier.wait()  # raises BrokenBarrierError when the other job never comes
        return threading.get_ident()

    idents = run_all(job, range(2))
    assert len(set(idents)) == 2
    assert threading.get_ident() in idents  # the calling thread takes jobs too


def test_one_thread_runs_every_job_in_the_calling_thread(monkeypatch):
    monkeypatch.setenv("BWESTIMATORS_NUM_THREADS", "1")
    assert set(run_all(lambda _: threading.get_ident(), range(5))) == {threading.get_ident()}


def test_an_error_in_a_job_reaches_the_caller_after_every_job():
    done = []

    def job(x):
        if x == 1:
            raise ValueError("job 1 failed")
        done.append(x)
        return x

    with pytest.raises(ValueError, match="job 1 failed"):
        run_all(job, range(6), threads=2)
    assert sorted(done) == [0, 2, 3, 4, 5]


def test_a_forked_child_makes_its_own_threads():
    """A child forked after the pool started gets working threads, not the parent's dead ones.

    In a process of its own without jax (forking a process that runs jax is unsafe).
    """
    import subprocess
    import sys

    code = (
        "import multiprocessing, sys, warnings\n"
        "warnings.simplefilter('ignore', DeprecationWarning)\n"
        "from bwestimators._threads import run_all\n"
        "assert 'jax' not in sys.modules\n"
        "assert run_all(lambda x: x + 1, range(4), threads=2) == [1, 2, 3, 4]\n"
        "def threaded_sum(jobs):\n"
        "    return sum(run_all(lambda x: x, jobs, threads=2))\n"
        "with multiprocessing.get_context('fork').Pool(1) as pool:\n"
        "    assert pool.apply_async(threaded_sum, (range(6),)).get(timeout=60) == 15\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
