"""Log predictive densities of held-out groups, scorers, and which densities compare."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.model_selection import GridSearchCV, GroupKFold

from bwestimators import AnovaComparator, ColumnSpec, HierarchicalSlopeRegressor, LMEComparator
from bwestimators.exceptions import InputError
from bwestimators.metrics import (
    group_log_predictive_density_scorer,
    log_predictive_density,
    log_predictive_density_scorer,
)
from bwestimators.model_selection import cross_validate_models, summarize_cross_validation
from tests.conftest import FAST

SPEC = ColumnSpec("t", group="g")


def _hierarchical(group_sd, n_g=8, n_rep=8, random_state=0, log=False):
    rng = np.random.default_rng(random_state)
    g = np.repeat(np.arange(n_g), 2 * n_rep)
    t = np.tile(np.repeat([0.0, 1.0], n_rep), n_g)
    y = 1 + rng.normal(0, group_sd, n_g)[g] + 0.5 * t + rng.normal(0, 0.5, len(g))
    return pd.DataFrame({"g": [f"g{i}" for i in g], "t": t}), pd.Series(
        np.exp(y) if log else y, name="y"
    )


def test_leave_one_group_out_ranks_models_with_groups_first():
    """Large group sd: the hierarchical models predict a new group's rows far better."""
    X, y = _hierarchical(group_sd=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
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
    assert set(table.columns) >= {"group_log_predictive_density", "n_groups", "score_seconds"}
    assert (table["n_groups"] == 2).all()
    summary = summarize_cross_validation(table)
    assert summary.index[-1] == "anova"
    assert summary.loc["anova", "elpd_diff"] > max(summary.loc["anova", "dse"], 20)
    # the joint density of a group exceeds the product of its rows' densities under the
    # hierarchical models (rows share the group effect), and equals it under the ANOVA
    rows = summarize_cross_validation(table, "log_predictive_density")
    assert summary.loc["lme", "elpd"] > rows.loc["lme", "elpd"]
    assert summary.loc["anova", "elpd"] == pytest.approx(rows.loc["anova", "elpd"])


def test_anova_density_is_independent_normal_rows():
    X, y = _hierarchical(group_sd=0.5)
    anova = AnovaComparator(SPEC, aggregate=None).fit(X, y)
    sd = np.sqrt(anova.result_.mse_resid)
    mean = np.where(X["t"] == 1, y[X["t"] == 1].mean(), y[X["t"] == 0].mean())
    rows = stats.norm.logpdf(y, mean, sd)
    np.testing.assert_allclose(log_predictive_density(anova, X, y, pointwise=True), rows)
    by_group = log_predictive_density(anova, X, y, by_group=True, pointwise=True)
    np.testing.assert_allclose(by_group, pd.Series(rows).groupby(X["g"].to_numpy()).sum())
    assert log_predictive_density_scorer(anova, X, y) == pytest.approx(rows.mean())
    assert group_log_predictive_density_scorer(anova, X, y) == pytest.approx(by_group.mean())


def test_by_group_needs_a_group():
    X, y = _hierarchical(group_sd=0.5)
    anova = AnovaComparator(ColumnSpec("t"), aggregate=None).fit(X, y)
    with pytest.raises(InputError, match="needs a group"):
        log_predictive_density(anova, X, y, by_group=True)


def test_discrete_and_continuous_likelihoods_do_not_compare():
    X, y = _hierarchical(group_sd=0.5)
    models = {
        "poisson": HierarchicalSlopeRegressor(SPEC, dist_y="poisson"),
        "normal": HierarchicalSlopeRegressor(SPEC),
    }
    with pytest.raises(InputError, match="discrete and continuous"):
        cross_validate_models(models, X, y.round(), groups=X["g"], cv=GroupKFold(2))


def test_grid_search_over_likelihoods_picks_lognormal_in_y_units():
    """Skewed positive data: lognormal beats normal once both densities are in y's units."""
    X, y = _hierarchical(group_sd=0.3, log=True, random_state=2)
    grid = GridSearchCV(
        HierarchicalSlopeRegressor(SPEC, random_state=0, **FAST),
        {"dist_y": ["normal", "lognormal"]},
        cv=GroupKFold(n_splits=3),
        scoring=log_predictive_density_scorer,
        refit=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grid.fit(X, y, groups=X["g"])
    assert grid.best_params_["dist_y"] == "lognormal"
