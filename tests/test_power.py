import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.base import clone

from bwestimators import AnovaComparator, ColumnSpec, LMEComparator
from bwestimators.datasets import generate_fake_lfp
from bwestimators.power import (
    PowerSimulation,
    confusion_table,
    false_positive_rate,
    power_table,
    roc_auc_table,
    roc_table,
)

SPEC = ColumnSpec("stim", group="mouse")


def _gaussian(n_mice=8, n_trials=6, effect=0.0, random_state=None):
    """Random intercepts per mouse, a true effect, normal noise: the LME's own model."""
    rng = np.random.default_rng(random_state)
    mouse = np.repeat(np.arange(n_mice), 2 * n_trials)
    stim = np.tile(np.repeat([0, 1], n_trials), n_mice)
    y = rng.normal(0, 1, n_mice)[mouse] + effect * stim + rng.normal(0, 1, len(mouse))
    return pd.DataFrame({"mouse": mouse.astype(str), "stim": stim, "y": y})


def _sim(estimators=None, **kw):
    args = {
        "y": "y",
        "spec": SPEC,
        "param_grid": {"effect": [0.0, 1.0]},
        "n_repeats": 10,
        "effect_param": "effect",
        "random_state": 0,
        "progress": False,
    }
    args.update(kw)
    estimators = estimators or {"lme": LMEComparator(), "anova": AnovaComparator(kind="rm")}
    return PowerSimulation(_gaussian, estimators, **args)


def test_results_table_columns():
    res = _sim(n_repeats=3).run()
    assert len(res) == 2 * 3 * 2
    for col in (
        "estimator",
        "effect",
        "true_effect",
        "seed",
        "estimate",
        "p_value",
        "lower",
        "upper",
        "detected",
        "score",
        "fit_seconds",
        "error",
    ):
        assert col in res.columns
    assert res["error"].isna().all()
    assert list(res["estimator"].iloc[:2]) == ["lme", "anova"]
    # the same seed gives the same dataset for every estimator
    assert res.groupby(["grid_index", "repeat"])["seed"].nunique().eq(1).all()


def test_lme_false_positive_rate_near_alpha():
    res = _sim(param_grid={"effect": [0.0]}, n_repeats=200).run()
    fp = false_positive_rate(res)
    lme = fp[fp["estimator"] == "lme"].iloc[0]
    # binomial test: the rate is compatible with alpha = 0.05
    assert stats.binomtest(int(lme["detected"]), int(lme["n"]), 0.05).pvalue > 0.01
    assert lme["lower"] <= 0.05 <= lme["upper"] or lme["rate"] < 0.1


def test_power_rises_with_effect():
    res = _sim(param_grid={"effect": [0.0, 0.3, 1.0]}, n_repeats=20).run()
    table = power_table(res)
    lme = table[table["estimator"] == "lme"].sort_values("effect")
    assert lme["rate"].is_monotonic_increasing
    assert lme["rate"].iloc[-1] > 0.9
    auc = roc_auc_table(res[res["effect"] != 0.3])
    assert (auc["auc"] > 0.9).all()
    roc = roc_table(res)
    assert {"fpr", "tpr", "threshold"} <= set(roc.columns)
    cells = ["true_positive", "false_negative", "false_positive", "true_negative"]
    conf = confusion_table(res)
    converged = res.groupby("estimator")["converged"].sum()
    assert conf.set_index("estimator")[cells].sum(axis=1).equals(converged.astype("int64"))
    assert (confusion_table(res, include_unconverged=True)[cells].sum(axis=1) == 60).all()


def test_unconverged_fits_are_left_out_and_counted():
    """The LME's own flag goes into ``converged``; the tables count without those fits,
    report their number and share, and count them on request."""
    res = _sim(param_grid={"effect": [1.0]}, n_repeats=20, estimators={"lme": LMEComparator()})
    res = res.run()
    assert res["converged"].notna().all()
    flipped = res.copy()
    flipped.loc[:4, "converged"] = False  # five fits marked unconverged
    flipped.loc[:4, "detected"] = True
    n_bad = int((~flipped["converged"]).sum())
    table = power_table(flipped).iloc[0]
    ok = flipped[flipped["converged"]]
    assert table["n"] == len(ok) and table["detected"] == ok["detected"].sum()
    assert table["unconverged"] == n_bad and table["unconverged_share"] == n_bad / 20
    everything = power_table(flipped, include_unconverged=True).iloc[0]
    assert everything["n"] == 20 and everything["detected"] == flipped["detected"].sum()


def test_failed_fit_is_recorded():
    def generator(effect=0.0, random_state=None):
        df = _gaussian(effect=effect, random_state=random_state)
        df.loc[0, "y"] = np.nan  # every fit fails on NaN in y
        return df

    res = PowerSimulation(
        generator,
        {"lme": LMEComparator()},
        y="y",
        spec=SPEC,
        param_grid={"effect": [0.0]},
        n_repeats=2,
        effect_param="effect",
        progress=False,
    ).run()
    assert res["error"].str.contains("missing").all()
    assert res["detected"].isna().all()
    assert power_table(res)["errors"].iloc[0] == 2


class _Interrupting(LMEComparator):
    """An LME that raises KeyboardInterrupt after a number of fits (counted per class)."""

    calls = 0
    limit = 10**9

    def fit(self, X, y):
        type(self).calls += 1
        if type(self).calls > type(self).limit:
            raise KeyboardInterrupt
        return super().fit(X, y)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_checkpoint_resume(tmp_path, suffix):
    path = tmp_path / f"sweep{suffix}"
    sim = _sim({"lme": _Interrupting()}, n_repeats=5, random_state=1)
    _Interrupting.calls, _Interrupting.limit = 0, 4
    with pytest.raises(KeyboardInterrupt):
        sim.run(checkpoint=path)
    saved = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
    assert len(saved) == 4
    _Interrupting.calls, _Interrupting.limit = 0, 10**9
    resumed = sim.run(checkpoint=path)
    assert _Interrupting.calls == 6  # only the unfinished datasets were fitted
    full = _sim({"lme": LMEComparator()}, n_repeats=5, random_state=1).run()
    cols = ["effect", "repeat", "seed", "estimate", "p_value"]
    pd.testing.assert_frame_equal(resumed[cols], full[cols], check_dtype=False)


def test_joblib_and_dask_give_identical_tables(tmp_path):
    distributed = pytest.importorskip("distributed")
    sequential = _sim(n_repeats=3).run()
    parallel = _sim(n_repeats=3, n_jobs=2).run(checkpoint=tmp_path / "joblib.csv")
    cols = ["estimator", "effect", "repeat", "seed", "estimate", "p_value", "detected"]
    pd.testing.assert_frame_equal(sequential[cols], parallel[cols])
    with (
        # one worker thread: Python's warning capture is process-wide, so fits in concurrent
        # threads can see each other's warnings (tests/test_faults.py covers threads)
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        on_dask = _sim(n_repeats=3, backend="dask").run(checkpoint=tmp_path / "dask.parquet")
    pd.testing.assert_frame_equal(sequential[cols], on_dask[cols])
    # the checkpoints of either backend are the same sweep: read back, the same tables
    for path in ("joblib.csv", "dask.parquet"):
        resumed = _sim(n_repeats=3, estimators={"x": LMEComparator()}, n_jobs=None)
        with pytest.raises(ValueError, match="another sweep"):
            resumed.run(checkpoint=tmp_path / path)
        again = _sim(n_repeats=3).run(checkpoint=tmp_path / path)
        cols_all = [c for c in sequential.columns if c != "fit_seconds"]
        pd.testing.assert_frame_equal(again[cols_all], sequential[cols_all])


def test_bayesian_in_sweep_reports_ess():
    from bwestimators import HierarchicalSlopeRegressor
    from bwestimators.power import SWEEP_SAMPLER

    res = PowerSimulation(
        generate_fake_lfp,
        {"bayes": HierarchicalSlopeRegressor(random_state=0, **SWEEP_SAMPLER)},
        y="Log power",
        spec=SPEC,
        param_grid={"mouse_response_slope": [0, 9], "n_trials": [10]},
        n_repeats=2,
        random_state=0,
        progress=False,
    ).run()
    assert res["error"].isna().all()
    assert (res["ess_bulk"] >= 400).all()
    assert res.loc[res["true_effect"] == 9, "detected"].all()


def test_power_displays(tmp_path):
    import matplotlib.pyplot as plt

    from bwestimators.display import PowerCurveDisplay, PowerRocDisplay

    res = _sim(n_repeats=5).run()
    disp = PowerCurveDisplay.from_results(res, alpha=0.05)
    assert len(disp.lines_) == 2
    np.testing.assert_allclose(
        disp.frame().sort_values(["estimator", "true_effect"])["rate"],
        power_table(res, by=["estimator", "true_effect"]).sort_values(["estimator", "true_effect"])[
            "rate"
        ],
    )
    roc = PowerRocDisplay.from_results(res)
    assert "AUC" in roc.lines_["lme"].get_label()
    roc.figure_.savefig(tmp_path / "roc.png")
    assert plt.imread(tmp_path / "roc.png").std() > 0.01
    plt.close("all")


class _WarnsOnNull(LMEComparator):
    """An LME that warns when it finds no effect, with a fit_many (as the Bayesian estimators)."""

    def fit(self, X, y):
        super().fit(X, y)
        if abs(self.effects_["estimate"].iloc[0]) < 1.5:
            self.warnings_ = [*self.warnings_, "no effect here"]
            warnings.warn("no effect here", UserWarning, stacklevel=2)
        return self

    def fit_many(self, Xs, ys):
        return [clone(self).fit(X, y) for X, y in zip(Xs, ys, strict=True)]


def test_batched_rows_get_the_warnings_of_their_own_fit():
    # one batch with datasets that warn and datasets that do not
    res = _sim(
        {"flaky": _WarnsOnNull()}, param_grid={"effect": [0.0, 3.0]}, n_repeats=3, batch_size=6
    ).run()
    flagged = res["warnings"].fillna("").str.contains("no effect here")
    assert flagged.tolist() == (res["true_effect"] == 0).tolist()


def test_batched_sweep_matches_unbatched():
    from bwestimators import HierarchicalSlopeRegressor
    from bwestimators.power import SWEEP_SAMPLER

    def sweep(batch_size):
        return PowerSimulation(
            generate_fake_lfp,
            {
                "lme": LMEComparator(),
                "bayes": HierarchicalSlopeRegressor(random_state=0, **SWEEP_SAMPLER),
            },
            y="Log power",
            spec=SPEC,
            param_grid={"mouse_response_slope": [0, 9], "n_trials": [6]},
            n_repeats=3,
            random_state=0,
            progress=False,
            batch_size=batch_size,
        ).run()

    one, batched = sweep(1), sweep(3)
    cols = ["estimator", "mouse_response_slope", "repeat", "seed"]
    pd.testing.assert_frame_equal(one[cols], batched[cols])
    lme = one["estimator"] == "lme"
    np.testing.assert_allclose(one.loc[lme, "p_value"], batched.loc[lme, "p_value"])
    bayes = ~lme
    np.testing.assert_allclose(
        one.loc[bayes, "estimate"],
        batched.loc[bayes, "estimate"],
        atol=0.3 * one.loc[bayes, "std_error"].max(),
    )
    assert batched["error"].isna().all()


def _never_called(**kw):
    raise AssertionError("the parameters are checked before any dataset is generated")


@pytest.mark.parametrize(
    ("kw", "error", "match"),
    [
        ({"alpha": 2.0}, ValueError, r"alpha must be in \(0, 1\)"),
        ({"alpha": 0}, ValueError, r"alpha must be in \(0, 1\)"),
        ({"alpha": 1.0}, ValueError, r"alpha must be in \(0, 1\)"),
        ({"alpha": float("nan")}, ValueError, r"alpha must be in \(0, 1\)"),
        ({"alpha": "0.05"}, TypeError, "alpha must be a number"),
        ({"alpha": True}, TypeError, "alpha must be a number"),
        ({"n_repeats": 0}, ValueError, "n_repeats must be at least 1"),
        ({"n_repeats": 2.5}, TypeError, "n_repeats must be an integer"),
        ({"batch_size": 0}, ValueError, "batch_size must be at least 1"),
        ({"param_grid": {}}, ValueError, "param_grid is empty"),
        ({"param_grid": []}, ValueError, "param_grid is empty"),
        ({"param_grid": {"effect": []}}, ValueError, r"param_grid\['effect'\] is empty"),
        ({"param_grid": {"effect": 1.0}}, TypeError, r"param_grid\['effect'\] must be a list"),
        ({"param_grid": {"effect": "0.5"}}, TypeError, r"param_grid\['effect'\] must be a list"),
        ({"param_grid": {"seed": [1, 2]}}, ValueError, "'seed' is a column of the results"),
        ({"param_grid": "effect"}, TypeError, "param_grid must be a dict"),
        ({"random_state": -1}, ValueError, "random_state must be at least 0"),
        ({"random_state": np.random.default_rng(0)}, TypeError, "random_state must be an integer"),
        ({"n_jobs": 0}, ValueError, "n_jobs must not be 0"),
        ({"effect_param": 3}, TypeError, "effect_param must be a str"),
        ({"estimators": {}}, ValueError, "estimators is empty"),
        ({"estimators": [LMEComparator()]}, TypeError, "estimators must be a dict"),
        ({"estimators": {"x": object()}}, TypeError, r"estimators\['x'\] is not an estimator"),
        ({"estimators": {1: LMEComparator()}}, TypeError, "the name 1 is not a string"),
    ],
)
def test_parameters_are_checked(kw, error, match):
    estimators = kw.pop("estimators", {"lme": LMEComparator()})
    sim = PowerSimulation(
        _never_called,
        estimators,
        **{
            "y": "y",
            "spec": SPEC,
            "param_grid": {"effect": [0.0, 1.0]},
            "n_repeats": 2,
            "effect_param": "effect",
            "progress": False,
            **kw,
        },
    )
    with pytest.raises(error, match=match):
        sim.run()


def test_generator_must_be_callable():
    with pytest.raises(TypeError, match="generator must be callable"):
        PowerSimulation(
            "generate_fake_lfp", {"lme": LMEComparator()}, y="y", spec=SPEC, param_grid={"a": [1]}
        ).run()
