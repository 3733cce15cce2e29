import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline

from bwestimators import (
    AnovaComparator,
    ColumnSpec,
    HierarchicalSlopeRegressor,
    LMEComparator,
    make_change,
)
from bwestimators.display import (
    DataDisplay,
    DiagnosticsDisplay,
    InterceptDisplay,
    PosteriorSlopeDisplay,
)
from tests.conftest import FAST, simulate_nested

SPEC = ColumnSpec("stim", condition="brain region", group="mouse id", detail="trial")


@pytest.fixture(scope="module")
def data():
    df, _ = simulate_nested(n_rep=4, random_state=0)
    return df


@pytest.fixture(scope="module")
def fitted(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bayes = HierarchicalSlopeRegressor(SPEC, random_state=0, **FAST).fit(data, data["y value"])
        lme = LMEComparator(SPEC).fit(data, data["y value"])
        anova = AnovaComparator(SPEC).fit(data, data["y value"])
    return {"bayes": bayes, "lme": lme, "anova": anova}


def _not_blank(fig, tmp_path):
    path = tmp_path / "fig.png"
    fig.savefig(path, dpi=50)
    img = plt.imread(path)
    assert img.std() > 0.01
    plt.close(fig)


@pytest.mark.parametrize("name", ["bayes", "lme", "anova"])
def test_slope_display_numbers_equal_effects(fitted, data, name, tmp_path):
    est = fitted[name]
    fig, ax = plt.subplots()
    disp = PosteriorSlopeDisplay.from_estimator(est, data, data["y value"], ax=ax, kind="density")
    assert disp.ax_ is ax and disp.figure_ is fig
    drawn = disp.frame()
    np.testing.assert_allclose(drawn["estimate"], est.effects_["estimate"])
    np.testing.assert_allclose(drawn["lower"], est.effects_["lower"])
    np.testing.assert_allclose(drawn["upper"], est.effects_["upper"])
    assert list(drawn["brain region"]) == ["c0", "c1", "c2"]
    # one whisker per condition, drawn at the estimates
    segments = disp.errorbar_[0].lines[2][0].get_segments()
    assert len(segments) == 3
    np.testing.assert_allclose(sorted(s[0][1] for s in segments), sorted(drawn["lower"]))
    # data overlay equals make_change
    overlay = disp.data_frame()
    want = make_change(data, "y value", SPEC)
    np.testing.assert_allclose(np.sort(overlay["y value diff"]), np.sort(want["y value diff"]))
    assert (len(disp.violins_) == 1) == (name == "bayes")
    _not_blank(fig, tmp_path)


def test_slope_display_facets(data, tmp_path):
    df = data.assign(phase=np.where(data["brain region"] == "c0", "early", "late"))
    spec = ColumnSpec("stim", condition=["brain region", "phase"], group="mouse id")
    lme = LMEComparator(spec).fit(df, df["y value"])
    disp = PosteriorSlopeDisplay.from_estimator(
        lme, df, df["y value"], x="brain region", col="phase"
    )
    assert disp.ax_.shape == (1, 2)
    assert disp.frame()["x"].notna().all()
    with pytest.raises(ValueError, match="not a condition column"):
        disp.plot(col="nope")
    _not_blank(disp.figure_, tmp_path)


def test_pipeline_and_not_fitted(data):
    pipe = make_pipeline(SPEC, LMEComparator()).fit(data, data["y value"])
    disp = PosteriorSlopeDisplay.from_estimator(pipe, data, data["y value"])
    assert len(disp.frame()) == 3
    with pytest.raises(NotFittedError):
        PosteriorSlopeDisplay.from_estimator(LMEComparator(SPEC))
    plt.close("all")


def test_intercept_display(fitted, tmp_path):
    for name in ("bayes", "lme"):
        fig, ax = plt.subplots()
        disp = InterceptDisplay.from_estimator(fitted[name], ax=ax)
        assert disp.ax_ is ax
        drawn = disp.frame()
        assert drawn["estimate"].is_monotonic_increasing
        assert set(drawn["mouse id"]) == set(fitted[name].intercepts_["mouse id"])
        _not_blank(fig, tmp_path)


def test_data_display(data, tmp_path):
    disp = DataDisplay.from_data(
        data, "stim", "y value", detail="trial", col="mouse id", hue="brain region"
    )
    assert disp.axes_.shape == (1, 6)
    # one line per (mouse, region, trial)
    assert len(disp.lines_) == 6 * 3 * 4
    assert len(disp.frame()) == len(data)
    _not_blank(disp.figure_, tmp_path)
    with pytest.raises(ValueError, match="nope"):
        DataDisplay.from_data(data, "stim", "nope")


def test_diagnostics_display(fitted, tmp_path):
    disp = DiagnosticsDisplay.from_estimator(fitted["bayes"])
    assert disp.axes_.shape == (3, 2)
    _not_blank(disp.figure_, tmp_path)
    with pytest.raises(TypeError):
        DiagnosticsDisplay.from_estimator(fitted["lme"])
