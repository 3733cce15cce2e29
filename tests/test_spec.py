import copy

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from bwestimators import ColumnSpec
from bwestimators.exceptions import InputError


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


def test_three_level_string_treatment_is_categorical_and_errors_name_column():
    X = pd.DataFrame({"dose level": ["a", "b", "c"]})
    spec = ColumnSpec("dose level").fit(X)
    assert spec.treatment_kind_ == "categorical"
    assert spec.treatment_levels_ == ["a", "b", "c"]
    with pytest.raises(ValueError, match="dose level"):
        ColumnSpec("dose level", treatment_kind="binary").fit(X)
    with pytest.raises(ValueError, match="dose level"):
        ColumnSpec("dose level", treatment_kind="continuous").fit(X)


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


@pytest.mark.parametrize(
    ("categories", "ordered"), [(["pre", "post"], False), (["low", "high"], True)]
)
def test_categorical_treatment_keeps_category_order(categories, ordered):
    """Not re-sorted alphabetically ("high" < "low" would flip the effect's sign)."""
    first, second = categories
    X = pd.DataFrame(
        {"dose": pd.Categorical([first, second, second, first], categories, ordered=ordered)}
    )
    spec = ColumnSpec("dose")
    Z = spec.fit_transform(X)
    assert Z["treatment"].tolist() == [0.0, 1.0, 1.0, 0.0]
    assert spec.treatment_levels_ == [first, second]
    assert spec.treatment_reference_ == first
    meta = Z.attrs["bwestimators_spec"]
    assert meta["treatment_reference"] == first
    assert meta["treatment_levels"] == [first, second]
    # a subset with one level keeps the declared coding
    assert spec.fit_transform(X.iloc[[1]])["treatment"].tolist() == [1.0]
    assert spec.treatment_reference_ == first


def test_treatment_levels_win_over_category_order():
    X = pd.DataFrame({"dose": pd.Categorical(["pre", "post"], categories=["pre", "post"])})
    spec = ColumnSpec("dose", treatment_levels=["post", "pre"])
    assert spec.fit_transform(X)["treatment"].tolist() == [1.0, 0.0]
    assert spec.treatment_reference_ == "post"


def test_treatment_reference_of_plain_columns():
    X = pd.DataFrame({"stim": ["on", "off", "on"], "power": [0.5, 1.0, 2.0]})
    assert ColumnSpec("stim").fit(X).treatment_reference_ == "off"
    assert ColumnSpec("power").fit(X).treatment_reference_ is None
    # two numbers are a binary treatment, the smaller the reference (coded 0)
    two = ColumnSpec("power").fit(X.iloc[:2])
    assert (two.treatment_kind_, two.treatment_reference_) == ("binary", 0.5)
    assert two.transform(X.iloc[:2])["treatment"].tolist() == [0.0, 1.0]


def test_categorical_treatment_unused_categories():
    """Three declared categories, two used: the used ones, in category order."""
    cats = ["pre", "washout", "post"]
    X = pd.DataFrame({"dose": pd.Categorical(["pre", "post", "pre"], categories=cats)})
    spec = ColumnSpec("dose").fit(X)
    assert spec.treatment_levels_ == ["pre", "post"]
    assert spec.transform(X)["treatment"].tolist() == [0.0, 1.0, 0.0]


@settings(max_examples=15, deadline=None)
@given(
    labels=st.lists(st.text(min_size=1, max_size=4), min_size=2, max_size=2, unique=True),
    picks=st.lists(st.integers(0, 1), min_size=0, max_size=8),
)
def test_categorical_treatment_codes_follow_category_order(labels, picks):
    """For any category order, the first category is coded 0 and the second 1."""
    picks = [0, 1, *picks]
    X = pd.DataFrame({"t": pd.Categorical([labels[i] for i in picks], categories=labels)})
    Z = ColumnSpec("t").fit_transform(X)
    assert Z["treatment"].tolist() == [float(i) for i in picks]


def test_categorical_group_and_condition_keep_category_order():
    X = pd.DataFrame(
        {
            "stim": [0, 1, 0, 1],
            "mouse": pd.Categorical(["b", "b", "a", "a"], categories=["z", "b", "a"]),
            "phase": pd.Categorical(["late", "early", "late", "early"], ["late", "early"]),
        }
    )
    spec = ColumnSpec("stim", condition="phase", group="mouse")
    Z = spec.fit_transform(X)
    assert Z["group"].cat.categories.tolist() == ["b", "a"]
    assert Z["group"].cat.codes.tolist() == [0, 0, 1, 1]
    assert Z["condition"].cat.categories.tolist() == ["late", "early"]
    assert Z["condition"].cat.codes.tolist() == [0, 1, 0, 1]


def test_duplicated_role_column_is_refused(df):
    dup = pd.concat([df, df[["mouse (id)"]]], axis=1)
    with pytest.raises(InputError, match=r"'mouse \(id\)' \(role 'group'\) appears 2 times"):
        ColumnSpec("stim on", group="mouse (id)").fit(dup)
    spec = ColumnSpec("stim on", group="mouse (id)").fit(df)
    with pytest.raises(InputError, match="appears 2 times"):
        spec.transform(dup)
    cond = pd.concat([df, df[["Inversion"]]], axis=1)
    with pytest.raises(InputError, match=r"'Inversion' \(role 'condition'\)"):
        ColumnSpec("stim on", condition=["Stim phase", "Inversion"]).fit(cond)


def test_duplicated_unused_column_is_harmless(df):
    dup = pd.concat([df, df[["Log power"]]], axis=1)
    Z = ColumnSpec("stim on", group="mouse (id)").fit_transform(dup)
    assert Z["group"].tolist() == df["mouse (id)"].tolist()


def test_multiindex_columns_are_refused(df):
    multi = df.copy()
    multi.columns = pd.MultiIndex.from_tuples([(c, "x") for c in df.columns])
    with pytest.raises(InputError, match=r"MultiIndex columns.*Flatten"):
        ColumnSpec("stim on", group="mouse (id)").fit(multi)
    with pytest.raises(InputError, match="MultiIndex"):
        ColumnSpec(("stim on", "x")).fit(multi)
    spec = ColumnSpec("stim on").fit(df)
    with pytest.raises(InputError, match="MultiIndex"):
        spec.transform(multi)


def test_unseen_treatment_level_is_named(df):
    spec = ColumnSpec("stim on", group="mouse (id)").fit(df)
    new = df.assign(**{"stim on": ["off", "mid", "low", "on", "high", "top"]})
    with pytest.raises(InputError, match="not seen at fit time") as info:
        spec.transform(new)
    message = str(info.value)
    assert "'stim on'" in message and "'off'" in message and "'on'" in message
    assert "'mid', 'low', 'high', ..." in message
    assert "missing" not in message
    # missing values stay missing, for the estimators to report
    Z = spec.transform(df.assign(**{"stim on": ["off", None, "on", "on", "off", "on"]}))
    assert np.isnan(Z["treatment"].iloc[1])


def _roles_frame():
    return pd.DataFrame(
        {
            "stim": ["off", "on"] * 3,
            "mouse": [1, 1, 2, 2, 3, 3],
            "session": [10, 11, 10, 11, 10, 11],
            "trial": [1, 2, 3, 4, 5, 6],
            "phase": [0.0, 0.0, 0.5, 0.5, 1.0, 1.0],
            "site": ["1", "1", "2", "2", "1", "1"],
        }
    )


@pytest.mark.parametrize(
    ("role", "column", "convert", "hint"),
    [
        ("group", "mouse", str, "astype(int)"),
        ("group2", "session", str, "astype(int)"),
        ("detail", "trial", str, "astype(int)"),
        ("condition", "phase", str, "astype(float)"),
        ("condition", "site", int, "astype(str)"),
    ],
)
def test_numbers_and_strings_swapped_since_fit(role, column, convert, hint):
    """1 at fit and "1" now (or the other way round) is named, not read as unseen levels."""
    X = _roles_frame()
    spec = ColumnSpec("stim", **{role: column}).fit(X)
    new = X.assign(**{column: X[column].map(convert)})
    pattern = f"{role.capitalize()} column '{column}' was .* at fit time and holds"
    with pytest.raises(InputError, match=pattern) as info:
        spec.transform(new)
    assert f"df['{column}'].{hint}" in str(info.value)


def test_treatment_numbers_and_strings_swapped_since_fit():
    X = pd.DataFrame({"stim": ["0", "1", "0"]})
    spec = ColumnSpec("stim").fit(X)
    with pytest.raises(InputError, match=r"Treatment column 'stim' was strings.*astype\(str\)"):
        spec.transform(pd.DataFrame({"stim": [0, 1, 1]}))
    spec = ColumnSpec("stim", treatment_levels=[1, 0]).fit(pd.DataFrame({"stim": [0, 1]}))
    with pytest.raises(InputError, match=r"was numeric.*astype\(int\)"):
        spec.transform(pd.DataFrame({"stim": ["0", "1"]}))


def test_genuinely_new_levels_still_become_missing():
    """Only a kind swap whose string forms match is an error; new labels stay missing."""
    X = _roles_frame()
    spec = ColumnSpec("stim", group="mouse", condition=["phase", "site"]).fit(X)
    new = X.assign(mouse=["m7"] * 6, site="9")
    Z = spec.transform(new)
    assert Z["group"].isna().all() and Z["condition"].isna().all()
    partly = X.assign(mouse=[1, 1, 2, 2, 4, 4])
    assert spec.transform(partly)["group"].isna().tolist() == [False] * 4 + [True] * 2


def test_numbers_and_strings_swapped_in_one_of_several_conditions():
    X = _roles_frame()
    spec = ColumnSpec("stim", condition=["phase", "site"]).fit(X)
    with pytest.raises(InputError, match=r"Condition column 'site' was strings.*astype\(str\)"):
        spec.transform(X.assign(site=X["site"].astype(int)))
