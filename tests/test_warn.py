"""Warnings name the user's line, whether the estimator is called directly or through sklearn."""

import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline

from bwestimators import ColumnSpec, HierarchicalSlopeRegressor, LMEComparator
from bwestimators._warn import capture_warnings, warn
from bwestimators.datasets import generate_fake_lfp


def _recorded(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return caught


def test_warn_skips_library_frames():
    (w,) = _recorded(lambda: warn("note"))
    assert w.filename == __file__


def test_lme_warning_names_the_user_line_through_a_pipeline():
    df = generate_fake_lfp(mouse_response_slope=9, n_trials=10, random_state=0).df
    pipe = make_pipeline(ColumnSpec("stim", group="mouse"), LMEComparator())
    caught = _recorded(
        lambda: cross_val_score(pipe, df, df["Log power"], groups=df["mouse"], cv=GroupKFold(2))
    )
    ours = [w for w in caught if "LMEComparator" in str(w.message)]
    assert ours and all(w.filename == __file__ for w in ours)


def test_convergence_warning_names_the_user_line():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"t": np.tile([0.0, 1.0], 20), "g": np.repeat(np.arange(4), 10)})
    df["y"] = rng.normal(size=len(df))
    est = HierarchicalSlopeRegressor(
        ColumnSpec("t", group="g"), num_warmup=5, num_samples=5, num_chains=2, random_state=0
    )
    caught = _recorded(lambda: est.fit(df, df["y"]))
    ours = [w for w in caught if "HierarchicalSlopeRegressor" in str(w.message)]
    assert ours and all(w.filename == __file__ for w in ours)


def test_fits_in_two_threads_keep_their_own_warnings():
    """Each fit's warnings_ (and a capture around it) holds its own thread's warnings only,
    and the process's warning state is as it was after (catch_warnings is process-wide)."""
    rng = np.random.default_rng(2)
    boundary = pd.DataFrame({"g": np.repeat(np.arange(6), 10), "t": np.tile([0, 1], 30)})
    boundary["y"] = 0.5 * boundary["t"] + rng.normal(size=60)
    clean = generate_fake_lfp(mouse_response_slope=9, n_trials=10, random_state=0).df
    jobs = {
        "boundary": (ColumnSpec("t", group="g"), boundary, "y"),
        "clean": (ColumnSpec("stim", group="mouse"), clean, "Log power"),
    }
    show, filters = warnings._showwarnmsg_impl, list(warnings.filters)
    start = threading.Barrier(len(jobs))
    seen = {}

    def fits(name, n=8):
        spec, df, y = jobs[name]
        start.wait()
        for _ in range(n):
            with capture_warnings() as caught:
                est = LMEComparator(spec, add_group_slope=False).fit(df, df[y])
            seen.setdefault(name, []).append((est.warnings_, [str(w.message) for w in caught]))

    with ThreadPoolExecutor(len(jobs)) as pool:
        for done in [pool.submit(fits, name) for name in jobs]:
            done.result()
    for own, caught in seen["boundary"]:
        assert any("boundary" in m for m in own)
        assert len(caught) == 1 and "LMEComparator" in caught[0]  # re-emitted once
    for own, caught in seen["clean"]:
        assert own == [] and caught == []
    assert warnings._showwarnmsg_impl is show and warnings.filters == filters


def test_capture_is_per_thread_and_leaves_other_threads_alone():
    outside = []

    def other():
        with warnings.catch_warnings(record=True) as c:  # this thread captures nothing of ours
            warnings.simplefilter("always")
            warn("from the other thread")
        outside.extend(c)

    with capture_warnings() as caught:
        warn("from this thread")
        with capture_warnings() as inner:
            warn("inner")
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert [str(w.message) for w in caught] == ["from this thread"]
    assert [str(w.message) for w in inner] == ["inner"]
    assert "from this thread" not in {str(w.message) for w in outside}
