import copy

import numpy as np
import pandas as pd
import pytest

from bwestimators import ColumnSpec, make_change


@pytest.fixture
def df():
    rng = np.random.default_rng(0)
    rows = []
    for mouse in ["a", "b"]:
        for cond in ["x", "y"]:
            for trial in range(3):
                for stim in (0, 1):
                    rows.append((mouse, cond, trial, stim, rng.normal() + stim * 2))
    return pd.DataFrame(rows, columns=["mouse", "region name", "trial", "stim", "Log power"])


def test_subtract_matches_manual(df):
    spec = ColumnSpec("stim", condition="region name", group="mouse", detail="trial")
    out = make_change(df, "Log power", spec)
    assert len(out) == 12
    wide = df.pivot_table(
        index=["region name", "mouse", "trial"], columns="stim", values="Log power"
    )
    np.testing.assert_allclose(out["Log power diff"], (wide[1] - wide[0]).to_numpy())
    assert list(out.columns) == ["region name", "mouse", "trial", "Log power diff"]


def test_divide_and_group_means(df):
    pos = df.assign(**{"Log power": df["Log power"] + 10})
    out = make_change(pos, "Log power", ColumnSpec("stim", group="mouse"), method="divide")
    m = pos.groupby(["mouse", "stim"])["Log power"].mean().unstack()
    np.testing.assert_allclose(out["Log power diff"], (m[1] / m[0]).to_numpy())


def test_unpaired_dropped_with_count(df):
    partial = df[
        ~((df.mouse == "a") & (df["region name"] == "x") & (df.trial == 0) & (df.stim == 1))
    ]
    before = copy.deepcopy(partial)
    spec = ColumnSpec("stim", condition="region name", group="mouse", detail="trial")
    with pytest.warns(UserWarning, match="dropped 1 of 12"):
        out = make_change(partial, "Log power", spec)
    assert len(out) == 11
    pd.testing.assert_frame_equal(partial, before)


def test_bad_inputs(df):
    with pytest.raises(ValueError, match="method"):
        make_change(df, "Log power", ColumnSpec("stim"), method="ratio")
    with pytest.raises(ValueError, match="power"):
        make_change(df, "power", ColumnSpec("stim"))
    with pytest.raises(ValueError, match="single level"):
        make_change(df[df.stim == 1], "Log power", ColumnSpec("stim"))
