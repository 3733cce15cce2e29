"""Every figure of the displays, the examples and the demo: no text on text, none cut off.

A figure is drawn (``fig.canvas.draw()``, which runs the constrained layout) and
the window extent of every visible, non-empty text is read: titles, axis labels,
tick labels, legend texts, figure texts (suptitle). Two of them must not
overlap, none may fall outside the figure, and the figure must have a size a
page can hold. The figures of the examples and of the demo are caught at
``savefig``: what is checked is what a user gets.
"""

import importlib
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from bwestimators.datasets import load_chirp_power, load_radon
from bwestimators.display import (
    DataDisplay,
    DiagnosticsDisplay,
    InterceptDisplay,
    PosteriorSlopeDisplay,
)

EXAMPLES = Path(__file__).parent.parent / "examples"
#: Overlaps of at most this many pixels (anti-aliasing, descenders) are not counted.
TOLERANCE = 1.0
#: The largest figure a page (or a screen) holds, in inches.
MAX_SIZE = (20.0, 24.0)
#: The smallest font a reader can read, in points.
MIN_FONT = 5.5


def _drawn_ticks(axis):
    """The ticks an Axis draws (those inside its view), as matplotlib draws them."""
    update = getattr(axis, "_update_ticks", None)
    if update is not None:
        return update()
    low, high = sorted(axis.get_view_interval())
    return [t for t in axis.get_major_ticks() if low <= t.get_loc() <= high]


def _texts(fig):
    """Every text a reader sees in ``fig``, with a name saying where it is."""
    out = [("figure text", t) for t in fig.texts]
    for legend in fig.legends:
        out += [("figure legend", t) for t in [legend.get_title(), *legend.get_texts()]]
    for k, ax in enumerate(fig.axes):
        if not ax.get_visible():
            continue
        where = f"axes {k}"
        out += [(f"{where} title", t) for t in (ax.title, ax._left_title, ax._right_title)]
        out += [(f"{where} x label", ax.xaxis.label), (f"{where} y label", ax.yaxis.label)]
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            out.append((f"{where} {name} offset", axis.get_offset_text()))
            for tick in _drawn_ticks(axis):
                out += [(f"{where} {name} tick", t) for t in (tick.label1, tick.label2)]
        out += [(f"{where} text", t) for t in ax.texts]
        legend = ax.get_legend()
        if legend is not None and legend.get_visible():
            out += [(f"{where} legend", t) for t in [legend.get_title(), *legend.get_texts()]]
    return out


def layout_problems(fig):
    """The overlapping, cut off and unreadably small texts of a figure, and a too large size.

    Parameters
    ----------
    fig : matplotlib Figure

    Returns
    -------
    problems : list of str
        Empty for a readable figure.
    """
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes, names, problems = [], [], []
    for where, text in _texts(fig):
        if not text.get_visible() or not text.get_text().strip():
            continue
        box = text.get_window_extent(renderer)
        if box.width <= 0 or box.height <= 0:
            continue
        label = f"{where} {text.get_text()!r}"
        if text.get_fontsize() < MIN_FONT:
            problems.append(f"{label}: font {text.get_fontsize():.1f} pt")
        boxes.append(box.extents)
        names.append(label)
    width, height = fig.bbox.width, fig.bbox.height
    b = np.array(boxes).reshape(-1, 4)
    outside = (
        (b[:, 0] < -TOLERANCE)
        | (b[:, 1] < -TOLERANCE)
        | (b[:, 2] > width + TOLERANCE)
        | (b[:, 3] > height + TOLERANCE)
    )
    problems += [f"{names[i]} outside the figure" for i in np.flatnonzero(outside)]
    dx = np.minimum(b[:, None, 2], b[None, :, 2]) - np.maximum(b[:, None, 0], b[None, :, 0])
    dy = np.minimum(b[:, None, 3], b[None, :, 3]) - np.maximum(b[:, None, 1], b[None, :, 1])
    hit = np.triu((dx > TOLERANCE) & (dy > TOLERANCE), k=1)
    problems += [f"{names[i]} overlaps {names[j]}" for i, j in zip(*np.nonzero(hit), strict=True)]
    w_in, h_in = fig.get_size_inches()
    if w_in > MAX_SIZE[0] or h_in > MAX_SIZE[1]:
        problems.append(f"figure of {w_in:.1f} x {h_in:.1f} inches")
    return problems


def assert_readable(fig, name="figure"):
    problems = layout_problems(fig)
    assert not problems, f"{name}: {len(problems)} problem(s):\n" + "\n".join(problems[:15])


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ---------------------------------------------------------------- the checker itself


def test_checker_sees_overlap_and_cut_off_text():
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.set_xticks(np.arange(20))
    ax.set_xticklabels([f"label number {i}" for i in range(20)])
    problems = layout_problems(fig)
    assert any("overlaps" in p for p in problems)
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.set_title("a title far too long for a figure three inches wide, cut off at both ends")
    assert any("outside the figure" in p for p in layout_problems(fig))
    fig, ax = plt.subplots(figsize=(3, 2), layout="constrained")
    ax.set_title("short")
    ax.set_xlabel("x")
    assert layout_problems(fig) == []


# ---------------------------------------------------------------- small data, many sizes

#: The numbers of conditions or facets every display is drawn with.
SIZES = [1, 10, 42, 85]


def _names(n):
    """n condition names, as long as the real ones (radon county names; neuron labels)."""
    counties = list(pd.unique(load_radon()["county"]))
    if n <= len(counties):
        return [str(c) for c in counties[:n]]
    return [f"neuron {i} mouse {i % 6}" for i in range(n)]


def _lfp_like(n_groups, n_trials=3, seed=0):
    rng = np.random.default_rng(seed)
    rows = [
        (g, t, s, 5 + 0.1 * k + 0.8 * s + rng.normal(0, 0.3))
        for k, g in enumerate(_names(n_groups))
        for t in range(n_trials)
        for s in (0, 1)
    ]
    return pd.DataFrame(rows, columns=["mouse", "i_trial", "stim", "Log power"])


def _effects(n, attrs=None, columns=None, seed=0):
    rng = np.random.default_rng(seed)
    est = rng.normal(0.5, 1.0, n)
    sd = rng.uniform(0.1, 0.4, n)
    effects = pd.DataFrame(columns if columns is not None else {"neuron": _names(n)})
    effects = effects.assign(
        estimate=est, std_error=sd, lower=est - 1.9 * sd, upper=est + 1.9 * sd
    ).reset_index(drop=True)
    effects.attrs = attrs or {
        "method": "bayes",
        "interval": "hdi",
        "level": 0.94,
        "y": "isi",
        "treatment": "stim",
    }
    draws = est + sd * rng.normal(size=(200, n))
    return effects, draws


def _change(effects, columns, n_per=4, seed=0):
    rng = np.random.default_rng(seed)
    parts = []
    for row in effects.itertuples(index=False):
        part = pd.DataFrame({c: [getattr(row, c)] * n_per for c in columns})
        parts.append(part.assign(**{"isi diff": row.estimate + rng.normal(0, 0.5, n_per)}))
    return pd.concat(parts, ignore_index=True)


@pytest.mark.parametrize("n", [1, 10])  # 42: the hue test, 85: the radon counties below
def test_data_display_facets(n):
    df = _lfp_like(n)
    disp = DataDisplay.from_data(df, "stim", "Log power", detail="i_trial", col="mouse")
    assert_readable(disp.figure_, f"DataDisplay col with {n} facets")


def test_data_display_radon_counties():
    df = load_radon()
    disp = DataDisplay.from_data(df, "floor", "log_radon", col="county")
    assert_readable(disp.figure_, "radon, 85 counties")


@pytest.mark.parametrize("n", [10, 42])
def test_data_display_hue(n):
    df = _lfp_like(n)
    disp = DataDisplay.from_data(df, "stim", "Log power", hue="mouse", detail="i_trial")
    assert_readable(disp.figure_, f"DataDisplay hue with {n} levels")


def test_data_display_continuous_treatment():
    """Ten days of sleep deprivation in 18 subjects (lme4's sleepstudy): ten x ticks per panel."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "Subject": np.repeat([f"subject {i}" for i in range(18)], 10),
            "Days": np.tile(np.arange(10), 18),
        }
    )
    df["Reaction"] = 250 + 10 * df["Days"] + rng.normal(0, 20, len(df))
    disp = DataDisplay.from_data(df, "Days", "Reaction", col="Subject")
    assert_readable(disp.figure_, "sleepstudy-like, 18 subjects x 10 days")


def test_data_display_chirp_hue_and_facets():
    df = load_chirp_power()
    disp = DataDisplay.from_data(df, "stim_on", "Log power", hue="Inversion", col="Subject")
    assert_readable(disp.figure_, "chirp data")


@pytest.mark.parametrize(
    ("n", "overlay"), [(1, True), (10, False), (10, True), (42, True), (85, False), (85, True)]
)
def test_slope_display_conditions(n, overlay):
    effects, draws = _effects(n)
    change = _change(effects, ["neuron"]) if overlay else None
    disp = PosteriorSlopeDisplay.from_effects(
        effects, draws=draws, change=change, kind="density", estimator_name="bayes"
    )
    assert_readable(disp.figure_, f"slopes, {n} conditions")


def test_slope_display_without_condition():
    effects, draws = _effects(1, columns={})
    disp = PosteriorSlopeDisplay.from_effects(effects, draws=draws, kind="density")
    assert_readable(disp.figure_, "slopes, no condition")


def _chirp_effects():
    phases, inversions = [0.0, 0.25, 0.5, 0.75], [False, True]
    columns = pd.DataFrame(
        [(p, i) for p in phases for i in inversions], columns=["Stim phase", "Inversion"]
    )
    return _effects(len(columns), columns=columns)


@pytest.mark.parametrize(
    "layout", [{}, {"x": "Stim phase", "hue": "Inversion"}, {"col": "Inversion"}]
)
def test_slope_display_two_condition_columns(layout):
    effects, draws = _chirp_effects()
    disp = PosteriorSlopeDisplay.from_effects(effects, draws=draws, **layout)
    assert_readable(disp.figure_, f"slopes, two condition columns {layout}")


@pytest.mark.parametrize("layout", [{}, {"x": "region", "hue": "treatment_level"}])
def test_slope_display_categorical_treatment(layout):
    """A categorical treatment: one row per (condition, level against the reference)."""
    columns = pd.DataFrame(
        [(r, lv) for r in _names(10) for lv in ("10 Hz", "20 Hz", "40 Hz")],
        columns=["region", "treatment_level"],
    )
    effects, draws = _effects(len(columns), columns=columns)
    disp = PosteriorSlopeDisplay.from_effects(effects, draws=draws, **layout)
    assert disp.condition_columns == ["region"]
    assert_readable(disp.figure_, f"categorical treatment {layout}")


@pytest.mark.parametrize("n", [10])
def test_slope_display_facets(n):
    names = _names(n)
    columns = pd.DataFrame([(a, b) for a in names for b in ("left", "right")])
    columns.columns = ["region", "side"]
    effects, draws = _effects(len(columns), columns=columns)
    disp = PosteriorSlopeDisplay.from_effects(effects, draws=draws, col="region")
    assert_readable(disp.figure_, f"slopes faceted over {n} regions")


@pytest.mark.parametrize("n", SIZES)
def test_intercept_display(n):
    effects, _ = _effects(n, columns={"county": _names(n)})
    disp = InterceptDisplay.from_effects(effects, estimator_name="bayes")
    assert_readable(disp.figure_, f"intercepts of {n} groups")


@pytest.mark.parametrize("k", [1, 6])
def test_diagnostics_display(k):
    draws = np.random.default_rng(0).normal(size=(2, 100, k))
    disp = DiagnosticsDisplay(draws, _names(k)).plot()
    assert_readable(disp.figure_, f"diagnostics of {k} effects")


# ---------------------------------------------------------------- examples and the demo


@pytest.fixture
def saved_figures(monkeypatch):
    """Every figure given to ``savefig``, checked there instead of written."""
    caught = []

    def check(fig, fname, *args, **kwargs):
        caught.append((Path(str(fname)).name, layout_problems(fig)))

    monkeypatch.setattr(Figure, "savefig", check)
    return caught


def _tiny_parse(description, argv=None):
    """The examples' settings with a tiny sampler: the figures, not the numbers, are checked."""
    import argparse

    args = argparse.Namespace(quick=True, out=".")
    return args, Path("."), {"num_warmup": 60, "num_samples": 60, "num_chains": 1}


def _run_example(name, monkeypatch):
    import tempfile

    monkeypatch.chdir(tempfile.mkdtemp(prefix="bwestimators-layout-"))  # the CSVs they write
    monkeypatch.syspath_prepend(str(EXAMPLES))
    module = importlib.import_module(name)
    monkeypatch.setattr(module, "parse", _tiny_parse)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module.main([])


@pytest.mark.parametrize(
    "name",
    [
        "plot_lfp_example",
        "plot_spikes_example",
        "plot_radon_example",
        "plot_chirp_power_example",
        "plot_user_model",
        "plot_power_from_pilot",
        pytest.param("plot_power_comparison", marks=[pytest.mark.slow]),
    ],
)
def test_example_figures(name, saved_figures, monkeypatch):
    _run_example(name, monkeypatch)
    assert saved_figures, f"{name} saved no figure"
    bad = {fig: problems for fig, problems in saved_figures if problems}
    assert not bad, "\n".join(f"{k}: {v[:8]}" for k, v in bad.items())


def test_demo_figures(saved_figures, monkeypatch, tmp_path, capsys):
    from bwestimators import cli

    monkeypatch.setattr(
        cli,
        "_sampler_settings",
        lambda quick: {"num_warmup": 60, "num_samples": 60, "num_chains": 1},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert cli.main(["demo", "--quick", "--out", str(tmp_path)]) == 0
    names = [fig for fig, _ in saved_figures]
    assert {"slopes.png", "data.png"} <= set(names)
    bad = {fig: problems for fig, problems in saved_figures if problems}
    assert not bad, "\n".join(f"{k}: {v[:8]}" for k, v in bad.items())


@pytest.mark.parametrize("n_conditions", [1, 10, 42])
def test_cli_fit_figures(n_conditions, saved_figures, tmp_path, capsys):
    from bwestimators import ColumnSpec
    from bwestimators.cli import _fit_all

    rng = np.random.default_rng(0)
    names = _names(n_conditions)
    rows = [
        (c, f"m{g}", t, s, 1 + 0.3 * s + 0.2 * g + rng.normal(0, 0.3))
        for c in names
        for g in range(4)
        for t in range(2)
        for s in (0, 1)
    ]
    df = pd.DataFrame(rows, columns=["region", "mouse", "trial", "stim", "Log power"])
    # one condition level: no condition column (ANOVA cannot fit a one-level condition)
    condition = "region" if n_conditions > 1 else None
    spec = ColumnSpec("stim", condition=condition, group="mouse", detail="trial")
    methods = ("lme", "anova") if n_conditions <= 10 else ("anova",)  # LME: slow with 42
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _fit_all(df, "Log power", spec, methods, "normal", 0, True, tmp_path)
    bad = {fig: problems for fig, problems in saved_figures if problems}
    assert not bad, "\n".join(f"{k}: {v[:8]}" for k, v in bad.items())


def test_cli_power_figures(saved_figures, tmp_path, capsys):
    from bwestimators import cli

    config = tmp_path / "sweep.toml"
    config.write_text("repeats = 2\n[grid]\nmouse_response_slope = [0, 9]\nn_trials = [5]\n")
    argv = ["power", "--config", str(config), "--methods", "lme", "anova", "--out", str(tmp_path)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert cli.main(argv) == 0
    assert {"power_curves.png", "roc.png"} <= {fig for fig, _ in saved_figures}
    bad = {fig: problems for fig, problems in saved_figures if problems}
    assert not bad, "\n".join(f"{k}: {v[:8]}" for k, v in bad.items())
