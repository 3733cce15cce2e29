import warnings
from contextlib import contextmanager

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import logsumexp
from sklearn.model_selection import GridSearchCV, GroupKFold, LeaveOneGroupOut, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline

from bwestimators import AnovaComparator, ColumnSpec, HierarchicalSlopeRegressor, LMEComparator
from bwestimators.display import ModelComparisonDisplay, PosteriorPredictiveDisplay
from bwestimators.metrics import log_predictive_density, log_predictive_density_scorer
from bwestimators.model_selection import compare_models, cross_validate_models, explore_models
from tests.conftest import FAST

SPEC = ColumnSpec("t", group="g")


def _data(effect, n_g=8, n_rep=10, noise="normal", random_state=0):
    rng = np.random.default_rng(random_state)
    g = np.repeat(np.arange(n_g), 2 * n_rep)
    t = np.tile(np.repeat([0.0, 1.0], n_rep), n_g)
    e = rng.normal(0, 0.5, len(g)) if noise == "normal" else 0.3 * rng.standard_t(2, len(g))
    y = 1 + rng.normal(0, 0.5, n_g)[g] + effect * t + e
    return pd.DataFrame({"g": [f"g{i}" for i in g], "t": t}), pd.Series(y, name="y")


@contextmanager
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def test_loo_prefers_true_model_when_effect_is_strong():
    X, y = _data(effect=1.0)
    with _quiet():
        table = explore_models(HierarchicalSlopeRegressor(SPEC, random_state=0, **FAST), X, y)
    assert {"full", "no treatment", "no group", "no group slope", "student"} <= set(table.index)
    assert (
        table.loc["full", "elpd"] - table.loc["no treatment", "elpd"]
        > 4 * table.loc["no treatment", "dse"]
    )


def test_loo_does_not_strongly_prefer_larger_model_without_effect():
    X, y = _data(effect=0.0, random_state=1)
    models = {
        "full": HierarchicalSlopeRegressor(SPEC, random_state=0, **FAST),
        "no treatment": HierarchicalSlopeRegressor(
            SPEC, priors={"slope_scale": 1e-4}, random_state=0, **FAST
        ),
    }
    with _quiet():
        table = compare_models(models, X, y)
    diff = abs(table.loc["full", "elpd"] - table.loc["no treatment", "elpd"])
    assert diff < 2 * max(table["dse"].max(), 1.0)
    ModelComparisonDisplay.from_comparison(table)
    plt.close("all")


def test_log_predictive_density_matches_manual():
    X, y = _data(effect=0.5)
    with _quiet():
        est = HierarchicalSlopeRegressor(SPEC, random_state=0, **FAST).fit(X, y)
    lpd = log_predictive_density(est, X.iloc[:5], y.iloc[:5], pointwise=True)
    d = {k: v.reshape(-1, *v.shape[2:]) for k, v in est.draws_.items()}
    s, loc = est.y_scale_.scale, est.y_scale_.loc
    gi = est.spec_.transform(X.iloc[:5])["group"].cat.codes.to_numpy()
    mu = d["alpha"][:, None] + d["a_group"][:, gi] + d["beta"][:, None] * X["t"].iloc[:5].to_numpy()
    lp = stats.norm.logpdf(y.iloc[:5].to_numpy(), loc + s * mu, s * d["sigma"][:, None])
    np.testing.assert_allclose(lpd, logsumexp(lp, axis=0) - np.log(lp.shape[0]), rtol=1e-4)
    # LOO (in-sample ELPD) is below the in-sample log predictive density
    with _quiet():
        loo = compare_models({"m": est}).loc["m", "elpd"]
    assert loo < log_predictive_density(est, X, y) * len(y)


def test_cross_validate_models_table():
    X, y = _data(effect=0.5)
    table = cross_validate_models(
        {
            "bayes": HierarchicalSlopeRegressor(SPEC, random_state=0, **FAST),
            "lme": LMEComparator(SPEC),
            "anova": AnovaComparator(SPEC),
        },
        X,
        y,
        groups=X["g"],
        cv=GroupKFold(n_splits=4),
    )
    assert len(table) == 4 * 3
    assert table.groupby("estimator").size().eq(4).all()
    assert table["log_predictive_density"].notna().all()


def test_cross_val_score_and_grid_search():
    X, y = _data(effect=0.5)
    pipe = make_pipeline(
        ColumnSpec("t", group="g"), HierarchicalSlopeRegressor(random_state=0, **FAST)
    )
    with _quiet():
        scores = cross_val_score(
            pipe, X, y, groups=X["g"], cv=LeaveOneGroupOut(), scoring=log_predictive_density_scorer
        )
    assert scores.shape == (8,) and np.isfinite(scores).all()
    grid = GridSearchCV(
        Pipeline([("spec", ColumnSpec("t", group="g")), ("model", LMEComparator())]),
        {
            "model": [
                HierarchicalSlopeRegressor(random_state=0, **FAST),
                LMEComparator(),
                AnovaComparator(),
            ]
        },
        cv=GroupKFold(n_splits=4),
    )
    with _quiet():
        grid.fit(X, y, groups=X["g"])
    assert len(grid.cv_results_["mean_test_score"]) == 3


def test_grid_search_picks_student_on_outliers():
    X, y = _data(effect=0.5, noise="t", n_rep=15, random_state=3)
    est = HierarchicalSlopeRegressor(SPEC, random_state=0, **FAST)
    grid = GridSearchCV(
        est,
        {"dist_y": ["normal", "student"]},
        cv=GroupKFold(n_splits=4),
        scoring=log_predictive_density_scorer,
    )
    with _quiet():
        grid.fit(X, y, groups=X["g"])
    assert grid.best_params_["dist_y"] == "student"


def test_posterior_predictive_display():
    X, y = _data(effect=0.5)
    with _quiet():
        est = HierarchicalSlopeRegressor(SPEC, random_state=0, **FAST).fit(X, y)
    disp = PosteriorPredictiveDisplay.from_estimator(est, X, y, n_draws=20)
    assert disp.axes_.shape == (1, 2)
    frame = disp.frame()
    assert (frame["source"] == "predicted").sum() == 20 * len(X)
    pred = frame[frame["source"] == "predicted"]
    # predictive draws are centered on the data, with the spread of the data
    assert pred["y"].mean() == pytest.approx(y.mean(), abs=0.1)
    assert pred["y"].std() == pytest.approx(y.std(), rel=0.25)
    plt.close("all")


def test_fitted_pipeline_pickles(tmp_path):
    import joblib

    X, y = _data(effect=0.5)
    pipe = make_pipeline(ColumnSpec("t", group="g"), LMEComparator()).fit(X, y)
    joblib.dump(pipe, tmp_path / "pipe.joblib")
    loaded = joblib.load(tmp_path / "pipe.joblib")
    np.testing.assert_allclose(loaded.predict(X), pipe.predict(X))
    assert loaded.get_params(deep=True)["columnspec__group"] == "g"


def test_grid_search_over_model_switches():
    X, y = _data(effect=0.5)
    X = X.assign(c=np.where(X["g"].isin(["g0", "g1", "g2", "g3"]), "a", "b"))
    spec = ColumnSpec("t", condition="c", group="g")
    grid = GridSearchCV(
        LMEComparator(spec), {"add_group_slope": [False, True]}, cv=GroupKFold(n_splits=4)
    )
    with _quiet():
        grid.fit(X, y, groups=X["g"])
    assert set(grid.cv_results_["param_add_group_slope"]) == {False, True}
    grid = GridSearchCV(
        HierarchicalSlopeRegressor(spec, random_state=0, **FAST),
        {"condition_pooling": ["partial", "none"]},
        cv=GroupKFold(n_splits=4),
        scoring=log_predictive_density_scorer,
    )
    with _quiet():
        grid.fit(X, y, groups=X["g"])
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()
    # the spec inside is reachable and settable like any nested parameter
    est = grid.best_estimator_
    assert est.get_params(deep=True)["spec__condition"] == "c"


def test_compare_models_leave_one_group_out_and_pareto_k():
    X, y = _data(effect=0.5)
    est = HierarchicalSlopeRegressor(SPEC, random_state=0, **FAST)
    no_group = HierarchicalSlopeRegressor(
        SPEC, add_group_intercept=False, add_group_slope=False, random_state=0, **FAST
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = compare_models({"groups": est, "no groups": no_group}, X, y, method="logo")
    assert table.attrs["method"] == "logo"
    assert {"max_pareto_k", "n_high_pareto_k", "reliable", "elpd", "dse"} <= set(table.columns)
    assert (table["reliable"] == (table["max_pareto_k"] <= 0.7)).all()
    assert (table["n_high_pareto_k"] <= 8).all()
    flagged = any("unreliable" in str(w.message) for w in caught)
    assert flagged == (not table["reliable"].all())
    # the group-summed log-likelihood (computed in row blocks) sums idata_'s pointwise values
    ll = est.idata_.log_likelihood["y"].to_numpy()
    codes = est.spec_.transform(X)["group"].cat.codes.to_numpy()
    manual = np.stack([ll[..., codes == k].sum(axis=-1) for k in range(8)], axis=-1)
    np.testing.assert_allclose(est.group_log_likelihood(), manual, rtol=1e-5)
    # a group's effect known from its own rows: LOGO ELPD below the in-sample group densities
    assert table.loc["groups", "elpd"] < manual.sum(axis=-1).mean()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loo = compare_models({"groups": est}, method="loo")
    assert loo.attrs["method"] == "loo" and loo["n_high_pareto_k"].iloc[0] >= 0
    ModelComparisonDisplay.from_comparison(table)
    plt.close("all")


def test_summarize_cross_validation_arithmetic():
    from bwestimators.model_selection import summarize_cross_validation

    table = pd.DataFrame(
        {
            "fold": [0, 0, 1, 1, 2, 2],
            "estimator": ["a", "b"] * 3,
            "group_log_predictive_density": [-1.0, -2.0, -1.5, -1.0, -2.0, -3.0],
            "log_predictive_density": [-0.5, -0.6, -0.7, -0.4, -0.5, -0.9],
            "n_groups": [2, 2, 2, 2, 2, 2],
            "n_test": [10, 10, 12, 12, 8, 8],
        }
    )
    out = summarize_cross_validation(table)
    a, b = np.array([-2.0, -3.0, -4.0]), np.array([-4.0, -2.0, -6.0])  # fold totals
    assert out.index.tolist() == ["a", "b"]
    assert out.loc["a", "elpd"] == pytest.approx(a.sum())
    assert out.loc["b", "elpd_diff"] == pytest.approx(a.sum() - b.sum())
    assert out.loc["b", "dse"] == pytest.approx(np.sqrt(3) * (a - b).std(ddof=1))
    assert out.loc["a", "se"] == pytest.approx(np.sqrt(3) * a.std(ddof=1))
    rows = summarize_cross_validation(table, "log_predictive_density")
    assert rows.loc["a", "elpd"] == pytest.approx(-0.5 * 10 - 0.7 * 12 - 0.5 * 8)


def test_group_folds_of_few_mice_fit_pooled_groups():
    """6 mice in 3 group folds: each training fold has 4 mice, which "auto" would leave
    unpooled, and a held-out mouse could not be scored. cross_validate_models fits them
    pooled; the plain estimator keeps "auto"; leave-one-group-out refuses an unpooled fit."""
    from bwestimators.exceptions import InputError

    rng = np.random.default_rng(2)
    g = np.repeat(np.arange(6), 10)
    t = np.tile([0.0, 1.0], 30)
    y = 0.5 * t + rng.normal(0, 1, 6)[g] + rng.normal(0, 1.0, g.size)
    df = pd.DataFrame({"y": y, "t": t, "mouse": [f"m{i}" for i in g]})
    est = HierarchicalSlopeRegressor(ColumnSpec("t", group="mouse"), random_state=0, **FAST)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = cross_validate_models(
            {"bayes": est}, df, df["y"], groups=df["mouse"], cv=GroupKFold(3)
        )
        assert np.isfinite(table["group_log_predictive_density"]).all()
        assert est.group_pooling == "auto"
        four = df[df["mouse"].isin(["m0", "m1", "m2", "m3"])]
        unpooled = est.fit(four, four["y"])
    assert unpooled.group_pooling_ == "none"
    with pytest.raises(InputError, match="group_pooling='partial'"):
        compare_models({"bayes": unpooled}, method="logo")
