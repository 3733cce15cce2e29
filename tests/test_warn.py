"""Warnings name the user's line, whether the estimator is called directly or through sklearn."""

import warnings

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline

from bwestimators import ColumnSpec, HierarchicalSlopeRegressor, LMEComparator
from bwestimators._warn import warn
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
