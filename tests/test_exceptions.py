"""InputError / InputTypeError: what the caller got wrong, told apart from bugs."""

import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.utils.estimator_checks import check_complex_data

from bwestimators import (
    AnovaComparator,
    ColumnSpec,
    ConditionMeansRegressor,
    HierarchicalSlopeRegressor,
    LMEComparator,
    make_change,
)
from bwestimators._base import EffectsEstimatorMixin
from bwestimators.exceptions import InputError, InputTypeError
from bwestimators.inference import run_svi
from bwestimators.metrics import log_predictive_density
from bwestimators.model_selection import compare_models, explore_models


def test_hierarchy():
    assert issubclass(InputError, ValueError)
    assert not issubclass(InputError, TypeError)
    assert issubclass(InputTypeError, InputError)
    assert issubclass(InputTypeError, TypeError)
    with pytest.raises(ValueError, match="what to do"):
        raise InputTypeError("what to do")


def test_module_imports_nothing_heavy():
    code = (
        "import sys, bwestimators.exceptions\n"
        "heavy = {'numpy', 'pandas', 'sklearn', 'jax'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


@pytest.fixture
def df():
    return pd.DataFrame(
        {
            "stim": [0, 1] * 6,
            "dose": ["lo", "mid", "hi"] * 4,
            "region": ["a"] * 6 + ["b"] * 6,
            "mouse": ["m1", "m1", "m2", "m2", "m3", "m3"] * 2,
            "y": np.linspace(0.0, 1.0, 12),
        }
    )


def _spec_cases(df):
    fitted = ColumnSpec("stim", group="mouse").fit(df)
    fitted_array = ColumnSpec(0).fit(np.tile([0.0, 1.0], (4, 1)))
    as_text = df.assign(stim=df["stim"].map({0: "off", 1: "on"}))
    return {
        "missing column": (lambda: ColumnSpec("stim", group="mose").fit(df), "Did you mean"),
        "no treatment": (lambda: ColumnSpec(group="mouse").fit(df), "needs a treatment"),
        "empty condition": (lambda: ColumnSpec("stim", condition=[]).fit(df), "empty list"),
        "no rows": (lambda: ColumnSpec("stim").fit(df.iloc[:0]), "no rows"),
        "levels": (lambda: ColumnSpec("stim", treatment_levels=[0]).fit(df), "two different"),
        "unknown level": (
            lambda: ColumnSpec("stim", treatment_levels=[0, 2]).fit(df),
            "not in treatment_levels",
        ),
        "three text levels": (
            lambda: ColumnSpec("dose", treatment_kind="binary").fit(df),
            "needs two levels",
        ),
        "dtype changed": (lambda: fitted.transform(as_text), "was numeric at fit time"),
        "n_features": (lambda: fitted_array.transform(np.zeros((3, 3))), "expecting 2"),
        "no condition": (lambda: fitted.decode_condition(["a"]), "no condition"),
        "1d array": (lambda: ColumnSpec(0).fit(np.zeros(4)), "Expected a 2D array"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "missing column",
        "no treatment",
        "empty condition",
        "no rows",
        "levels",
        "unknown level",
        "three text levels",
        "dtype changed",
        "n_features",
        "no condition",
        "1d array",
    ],
)
def test_spec_input_errors(df, case):
    call, message = _spec_cases(df)[case]
    with pytest.raises(InputError, match=message) as info:
        call()
    assert not isinstance(info.value, TypeError)


@pytest.mark.parametrize(
    ("X", "message"),
    [
        (sparse.csr_matrix(np.eye(3)), "Sparse input"),
        (np.array([[{"a": 1}, 1.0], [2.0, 3.0]], dtype=object), "string or a number"),
    ],
)
def test_spec_input_type_errors(X, message):
    with pytest.raises(InputTypeError, match=message):
        ColumnSpec(0).fit(X)


class _Stub(EffectsEstimatorMixin, BaseEstimator):
    """The shared input checks, without any model behind them."""

    def __init__(self, spec=None):
        self.spec = spec


def _data(frame, **roles):
    est = _Stub(ColumnSpec("stim", **roles))
    return est, est._resolve(frame, fit=True)


def test_resolve_and_role_spec_errors(df):
    with pytest.raises(InputError, match="minimum of 2"):
        _Stub(ColumnSpec("stim"))._resolve(df.iloc[:1], fit=True)
    with pytest.raises(InputTypeError, match="spec must be a ColumnSpec"):
        _Stub("stim")._resolve(df, fit=True)
    with pytest.raises(InputError, match="output of a ColumnSpec"):
        _Stub(None)._resolve(df, fit=True)  # _role_spec_for_frame: no 'treatment' column
    est = _Stub(ColumnSpec(0))
    est._resolve(np.tile([0.0, 1.0], (4, 1)), fit=True)
    with pytest.raises(InputError, match="expecting 2 features"):
        est._resolve(np.zeros((4, 3)), fit=False)


@pytest.mark.parametrize(
    ("y", "message"),
    [
        (None, "requires y to be passed"),
        (np.zeros((12, 2)), "one-dimensional"),
        (np.zeros(11), "11 values but X has 12 rows"),
        (np.array(["a"] * 12), "must be numeric"),
        (np.r_[np.nan, np.zeros(11)], "1 missing or infinite"),
        (np.arange(12) + 1j, "Complex data not supported"),
        (np.r_[np.arange(11), 1j].astype(object), "must be numeric"),
    ],
)
def test_check_y_errors(df, y, message):
    est, data = _data(df)
    with pytest.raises(InputError, match=message):
        est._check_y(y, data)


def test_complex_y_is_an_error_not_a_warning(df):
    """astype(float) of complex y only warns and drops the imaginary part."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InputError, match="Complex data not supported"):
            AnovaComparator(ColumnSpec("stim", group="mouse")).fit(df, df["y"] + 1j)


@pytest.mark.parametrize("estimator", [LMEComparator(), AnovaComparator()])
def test_check_complex_data(estimator):
    check_complex_data(type(estimator).__name__, estimator)


def test_check_roles_errors(df):
    cases = [
        (df.assign(stim=df["stim"].where(df.index > 0)), {}, {}, "1 missing"),
        (df.assign(mouse=df["mouse"].where(df.index > 0)), {"group": "mouse"}, {}, "Group"),
        (df.assign(stim=0), {}, {}, "single level"),
        (df, {}, {"need_group": True}, "needs a group column"),
        (df.assign(mouse="m1"), {"group": "mouse"}, {"need_group": True}, "single level"),
        (
            df.assign(stim=[0, 1] * 3 + [1] * 6),
            {"condition": "region"},
            {},
            "single treatment level",
        ),
    ]
    for frame, roles, kwargs, message in cases:
        est, data = _data(frame, **roles)
        with pytest.raises(InputError, match=message):
            est._check_roles(data, **kwargs)


def test_check_predict_roles_errors(df):
    est, _ = _data(df, condition="region")
    with pytest.raises(InputError, match="missing values"):
        est._check_predict_roles(est._resolve(df.assign(stim=np.nan), fit=False))
    unseen = est._resolve(df.assign(region="c"), fit=False)
    with pytest.raises(InputError, match="not seen at fit time"):
        est._check_predict_roles(unseen)
    est._check_predict_roles(unseen, unseen_condition_ok=True)


def _anova_cases(df):
    spec = ColumnSpec("stim", group="mouse")
    rm = AnovaComparator(spec, kind="rm").fit(df, df["y"])
    between = AnovaComparator(spec).fit(df, df["y"])
    return {
        "aggregate": (lambda: AnovaComparator(ColumnSpec("stim")).fit(df, df["y"]), "aggregate"),
        "numeric rm": (
            lambda: AnovaComparator(spec, kind="rm", treatment_as="numeric").fit(df, df["y"]),
            "needs kind='between'",
        ),
        "no residual df": (
            lambda: AnovaComparator(spec, aggregate=None).fit(df.iloc[:2], df["y"].iloc[:2]),
            "No residual degrees of freedom",
        ),
        "rm unbalanced": (
            lambda: AnovaComparator(spec, kind="rm", aggregate=None).fit(
                df.iloc[:11], df["y"].iloc[:11]
            ),
            "LMEComparator for unbalanced",
        ),
        "between unseen": (lambda: between.predict(df.assign(stim=0.5)), "not seen at fit"),
        "rm unseen": (lambda: rm.predict(df.assign(stim=0.5)), "not seen at fit"),
    }


@pytest.mark.parametrize(
    "case",
    ["aggregate", "numeric rm", "no residual df", "rm unbalanced", "between unseen", "rm unseen"],
)
def test_anova_input_errors(df, case):
    call, message = _anova_cases(df)[case]
    with pytest.raises(InputError, match=message) as info:
        call()
    assert not isinstance(info.value, TypeError)


def test_lme_input_errors(df):
    lme = LMEComparator(ColumnSpec("stim", group="mouse"), nested_group2=True)
    with pytest.raises(InputError, match="needs a group2 column"):
        lme.fit(df, df["y"])


def test_make_change_input_errors(df):
    spec = ColumnSpec("stim", group="mouse")
    with pytest.raises(InputTypeError, match="spec must be a ColumnSpec"):
        make_change(df, "y", "stim")
    cases = [
        (df, "y", spec, {"method": "ratio"}, "'subtract' or 'divide'"),
        (df, "power", spec, {}, "must name a column of df"),
        (df.assign(stim=np.nan), "y", ColumnSpec("stim"), {}, "no values in df"),
        (df[df["stim"] == 1], "y", spec, {}, "single level"),
    ]
    for frame, y, case_spec, kwargs, message in cases:
        with pytest.raises(InputError, match=message) as info:
            make_change(frame, y, case_spec, **kwargs)
        assert not isinstance(info.value, TypeError)


def test_model_selection_input_errors(df):
    spec = ColumnSpec("stim", group="mouse")
    anova = AnovaComparator(spec).fit(df, df["y"])
    with pytest.raises(InputError, match="must be 'loo'"):
        compare_models({"a": anova}, method="waic")
    with pytest.raises(InputError, match="estimators is empty"):
        compare_models({})
    with pytest.raises(InputError, match="'a' is not fitted; pass X and y"):
        compare_models({"a": AnovaComparator(spec)})
    with pytest.raises(InputTypeError, match="no posterior to compare; compare_models takes"):
        compare_models({"a": anova})
    with pytest.raises(InputError, match="needs an estimator with spec"):
        explore_models(HierarchicalSlopeRegressor(), df, df["y"])


def test_log_predictive_density_input_error(df):
    """Repeated-measures ANOVA has no residual scale; TypeError still lets CV skip it."""
    rm = AnovaComparator(ColumnSpec("stim", group="mouse"), kind="rm").fit(df, df["y"])
    with pytest.raises(InputTypeError, match="kind='between'"):
        log_predictive_density(rm, df, df["y"])


def test_hierarchical_unseen_levels_at_predict(df):
    """Reached through _cell_codes, without a posterior to fit."""
    spec = ColumnSpec("stim", group="mouse", condition="region")
    slope = HierarchicalSlopeRegressor(spec, condition_pooling="none")
    data = slope._resolve(df, fit=True)
    slope.treatment_levels_ = None  # what _prepare sets for a binary treatment
    slope._choose_structure(slope._cell_codes(data), data.Z["treatment"].to_numpy(float), data)
    with pytest.raises(InputError, match="condition_pooling='partial'"):
        slope._cell_codes(slope._resolve(df.assign(region="c"), fit=False), predict=True)
    means = ConditionMeansRegressor(spec)
    means.treatment_levels_ = None  # what _prepare sets for a binary treatment
    means._cell_codes(means._resolve(df, fit=True))
    with pytest.raises(InputError, match="not seen at fit time"):
        means._cell_codes(means._resolve(df.assign(region="c"), fit=False), predict=True)


def test_run_svi_guide():
    with pytest.raises(InputError, match="guide must be one of"):
        run_svi(None, None, {}, guide="mean-field", num_steps=1, num_draws=1, seed_value=0)
