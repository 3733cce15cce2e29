import copy

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from bwestimators import ColumnSpec


@pytest.fixture
def df():
    return pd.DataFrame(
        {
            "stim on": ["off", "on", "off", "on", "off", "on"],
            "Stim phase": [0.0, 0.0, 0.25, 0.25, 0.5, 0.5],
            "Inversion": [True, False, True, False, True, False],
            "mouse (id)": ["m1", "m1", "m2", "m2", "m3", "m3"],
            "trial": [1, 1, 2, 2, 3, 3],
            "Log power": [1.0, 1.5, 0.8, 1.2, 1.1, 1.3],
        }
    )


def test_roles_and_dtypes(df):
    spec = ColumnSpec("stim on", condition="Stim phase", group="mouse (id)", detail="trial")
    Z = spec.fit_transform(df)
    assert list(Z.columns) == ["treatment", "condition", "group", "detail"]
    assert Z["treatment"].dtype == np.float64
    assert Z["treatment"].tolist() == [0, 1, 0, 1, 0, 1]
    for role in ("condition", "group", "detail"):
        assert isinstance(Z[role].dtype, pd.CategoricalDtype)
    assert Z["group"].tolist() == df["mouse (id)"].tolist()
    assert Z["condition"].tolist() == df["Stim phase"].tolist()
    assert list(spec.get_feature_names_out()) == ["treatment", "condition", "group", "detail"]
    assert Z.index.equals(df.index)


def test_several_conditions_round_trip(df):
    spec = ColumnSpec("stim on", condition=["Stim phase", "Inversion"], group="mouse (id)")
    Z = spec.fit_transform(df)
    decoded = spec.decode_condition(Z["condition"])
    pd.testing.assert_frame_equal(decoded, df[["Stim phase", "Inversion"]].reset_index(drop=True))
    assert decoded["Inversion"].dtype == bool
    assert len(spec.condition_levels_) == Z["condition"].nunique()


def test_single_condition_round_trip(df):
    spec = ColumnSpec("stim on", condition="Stim phase").fit(df)
    decoded = spec.decode_condition(spec.transform(df)["condition"])
    assert decoded["Stim phase"].tolist() == df["Stim phase"].tolist()


def test_caller_frame_unchanged(df):
    before = copy.deepcopy(df)
    spec = ColumnSpec("stim on", condition=["Stim phase", "Inversion"], group="mouse (id)")
    spec.fit_transform(df)
    pd.testing.assert_frame_equal(df, before)


def test_unseen_levels_become_missing(df):
    spec = ColumnSpec("stim on", condition="Stim phase", group="mouse (id)").fit(df)
    new = df.copy()
    new.loc[0, "mouse (id)"] = "m99"
    new.loc[1, "Stim phase"] = 0.75
    Z = spec.transform(new)
    assert pd.isna(Z.loc[0, "group"]) and Z.loc[2, "group"] == "m2"
    assert pd.isna(Z.loc[1, "condition"])
    assert list(Z["group"].cat.categories) == ["m1", "m2", "m3"]


def test_unseen_combined_condition_missing(df):
    spec = ColumnSpec("stim on", condition=["Stim phase", "Inversion"]).fit(df)
    new = df.copy()
    new.loc[0, "Inversion"] = False  # (0.0, False) exists
    new.loc[2, "Inversion"] = False  # (0.25, False) exists
    new.loc[4, "Stim phase"] = 0.9
    Z = spec.transform(new)
    assert Z["condition"].isna().tolist() == [False, False, False, False, True, False]


@pytest.mark.parametrize(
    ("values", "levels", "expected"),
    [
        ([True, False, True], None, [1.0, 0.0, 1.0]),
        (["on", "off", "on"], None, [1.0, 0.0, 1.0]),
        (["on", "off", "on"], ["on", "off"], [0.0, 1.0, 0.0]),
        ([0.0, 2.5, 5.0], None, [0.0, 2.5, 5.0]),
        ([0, 1, 1], None, [0.0, 1.0, 1.0]),
    ],
)
def test_treatment_coding(values, levels, expected):
    X = pd.DataFrame({"t": values})
    Z = ColumnSpec("t", treatment_levels=levels).fit_transform(X)
    assert Z["treatment"].tolist() == expected


def test_three_level_string_treatment_names_column():
    X = pd.DataFrame({"dose level": ["a", "b", "c"]})
    with pytest.raises(ValueError, match="dose level"):
        ColumnSpec("dose level").fit(X)


def test_missing_column_names_it(df):
    with pytest.raises(ValueError, match=r"'mouse'.*Did you mean 'mouse \(id\)'"):
        ColumnSpec("stim on", group="mouse").fit(df)
    with pytest.raises(ValueError, match="Stim fase"):
        ColumnSpec("stim on", condition=["Stim fase"]).fit(df)


def test_missing_column_at_transform(df):
    spec = ColumnSpec("stim on", group="mouse (id)").fit(df)
    with pytest.raises(ValueError, match="mouse"):
        spec.transform(df.drop(columns="mouse (id)"))


def test_treatment_levels_must_cover_data():
    X = pd.DataFrame({"t": ["a", "b", "c"]})
    with pytest.raises(ValueError, match="not in treatment_levels"):
        ColumnSpec("t", treatment_levels=["a", "b"]).fit(X)


def test_set_output_and_pipeline(df):
    spec = ColumnSpec("stim on", group="mouse (id)").set_output(transform="pandas")
    Z = spec.fit_transform(df)
    assert isinstance(Z, pd.DataFrame)
    pipe = make_pipeline(ColumnSpec("stim on", group="mouse (id)"), FunctionTransformer())
    Z2 = pipe.fit_transform(df)
    assert Z2["group"].tolist() == df["mouse (id)"].tolist()


def test_clone_and_params(df):
    spec = ColumnSpec("stim on", condition=["Stim phase", "Inversion"], group="mouse (id)")
    c = clone(spec)
    assert c.get_params() == spec.get_params()
    c.set_params(group=None)
    assert "group" not in c.fit_transform(df).columns


def test_integer_positions_on_arrays():
    X = np.array([[0.0, 1.0], [1.0, 1.0], [0.0, 2.0], [1.0, 2.0]])
    Z = ColumnSpec(0, group=1).fit_transform(X)
    assert Z["treatment"].tolist() == [0, 1, 0, 1]
    assert Z["group"].cat.categories.tolist() == [1.0, 2.0]


def test_attrs_carry_original_names(df):
    spec = ColumnSpec("stim on", condition=["Stim phase", "Inversion"], group="mouse (id)")
    Z = spec.fit_transform(df)
    meta = Z.attrs["bwestimators_spec"]
    assert meta["columns"]["condition"] == ["Stim phase", "Inversion"]
    assert meta["columns"]["group"] == "mouse (id)"


def test_no_rows_raises(df):
    with pytest.raises(ValueError, match="no rows"):
        ColumnSpec("stim on").fit(df.iloc[:0])
