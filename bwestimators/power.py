"""Simulation-based power benchmarks: which method finds a real effect, with how much data.

A :class:`PowerSimulation` sweeps a data generator over a grid of parameters
(true effect, trials, mice, noise, ...), fits every estimator to every
simulated dataset and returns a tidy table. The analysis functions turn it into
power per true effect, false-positive rates, ROC curves and confusion tables.
"""

import logging
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import ParameterGrid

logger = logging.getLogger(__name__)

KEY = ["grid_index", "repeat"]

#: Sampler settings for sweeps: 2 chains, a bulk ESS of the slope above 400 on LFP-sized data
#: (``ess_bulk`` is in every results row).
SWEEP_SAMPLER = {"num_warmup": 300, "num_samples": 600, "num_chains": 2}


def _dataset_seed(random_state, grid_index, repeat):
    base = 0 if random_state is None else int(random_state)
    return int(np.random.SeedSequence([base, grid_index, repeat]).generate_state(1)[0])


def _effect_row(effects, condition):
    if condition is None or len(effects) == 1:
        return effects.iloc[0]
    cond_cols = [c for c in effects.columns if c not in _RESULT_COLUMNS]
    for col in cond_cols:
        match = effects[effects[col] == condition]
        if len(match):
            return match.iloc[0]
    raise ValueError(f"condition {condition!r} is not in the effects table.")


_RESULT_COLUMNS = {
    "estimate",
    "sd",
    "std_err",
    "z",
    "t",
    "p_value",
    "lower",
    "upper",
    "prob_positive",
    "ess_bulk",
    "ess_tail",
    "r_hat",
}


def detection(row, alpha):
    """``detected`` and a continuous ``score`` for one effects row.

    Bayesian rows (with ``prob_positive``): detected when the interval excludes
    0; score = estimate / posterior sd. Frequentist rows: detected when
    ``p_value < alpha``; score = sign(estimate) * -log10(p).
    """
    if pd.notna(row.get("prob_positive", np.nan)):
        detected = bool(row["lower"] > 0 or row["upper"] < 0)
        score = row["estimate"] / row["sd"] if row.get("sd", 0) else np.nan
    else:
        p = max(float(row["p_value"]), 1e-300)
        detected = bool(p < alpha)
        score = np.sign(row["estimate"]) * -np.log10(p)
    return detected, float(score)


def _base_row(name, params, effect_param, grid_index, repeat, seed):
    return {
        "estimator": name,
        **params,
        "true_effect": params.get(effect_param, np.nan),
        "grid_index": grid_index,
        "repeat": repeat,
        "seed": seed,
        "error": None,
        "warnings": None,
    }


def _fill_row(row, model, condition, alpha, messages, seconds):
    effect = _effect_row(model.effects_, condition)
    row.update({k: v for k, v in effect.items() if k in _RESULT_COLUMNS})
    row["detected"], row["score"] = detection(effect, alpha)
    row["warnings"] = " | ".join(sorted({str(m)[:120] for m in messages})) or None
    row["fit_seconds"] = seconds


def _fit_one(est, spec, df, y, row, condition, alpha):
    t0 = time.perf_counter()
    try:
        model = clone(est)
        if spec is not None and hasattr(model, "spec") and model.spec is None:
            model.set_params(spec=spec)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.fit(df, df[y])
        messages = [w.message for w in caught]
        _fill_row(row, model, condition, alpha, messages, time.perf_counter() - t0)
    except Exception as exc:  # a failed fit is recorded, the sweep goes on
        row.update(error=f"{type(exc).__name__}: {exc}", detected=np.nan, score=np.nan)
        row["fit_seconds"] = time.perf_counter() - t0
    return row


def _fit_batch(generator, estimators, y, spec, tasks, effect_param, alpha, condition):
    """Generate the datasets of some tasks and fit every estimator to each; rows per fit.

    Estimators with ``fit_many`` (the Bayesian ones) fit all the batch's
    datasets in vectorized sampler calls, and each row gets the warnings of its
    own fit (the fitted estimator's ``warnings_``); if that fails, each dataset
    is fitted alone so that the failure is recorded for the dataset that caused it.
    """
    dfs = []
    for _, params, _, seed in tasks:
        out = generator(**params, random_state=seed)
        dfs.append(out if isinstance(out, pd.DataFrame) else out[0])
    rows = {}
    for name, est in estimators.items():
        base = [_base_row(name, params, effect_param, gi, r, seed) for gi, params, r, seed in tasks]
        fitted = None
        if len(tasks) > 1 and hasattr(est, "fit_many"):
            model = clone(est)
            if spec is not None and model.spec is None:
                model.set_params(spec=spec)
            t0 = time.perf_counter()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # each fit keeps its own in warnings_
                    fitted = model.fit_many(dfs, [df[y] for df in dfs])
            except Exception:  # refit one by one below, to record which dataset failed
                fitted = None
            if fitted is not None:
                seconds = (time.perf_counter() - t0) / len(tasks)
                for row, m in zip(base, fitted, strict=True):
                    _fill_row(row, m, condition, alpha, getattr(m, "warnings_", []), seconds)
        if fitted is None:
            base = [
                _fit_one(est, spec, df, y, row, condition, alpha)
                for df, row in zip(dfs, base, strict=True)
            ]
        rows[name] = base
    return [rows[name][k] for k in range(len(tasks)) for name in estimators]


class PowerSimulation:
    """A power sweep: datasets from a generator over a grid, every estimator fitted to each.

    Parameters
    ----------
    generator : callable
        Called as ``generator(**grid_point, random_state=seed)``; returns a
        DataFrame or a tuple whose first element is one (as
        :func:`~bwestimators.datasets.generate_fake_lfp`).
    estimators : dict of str to estimator
        Unfitted estimators; each is cloned for each dataset. Estimators with
        ``spec=None`` get ``spec``.
    y : str
        Outcome column of the generated data.
    spec : ColumnSpec or None
        Roles of the generated data's columns.
    param_grid : dict of lists
        Grid of generator parameters (scikit-learn's ``ParameterGrid``).
    n_repeats : int, default=20
        Datasets per grid point.
    effect_param : str, default="mouse_response_slope"
        The grid parameter that is the true effect (0 = no effect).
    alpha : float, default=0.05
        Level of the frequentist tests.
    condition : object or None, default=None
        Condition level whose effect is recorded (the first row by default).
    n_jobs : int or None, default=None
        joblib workers (None: one).
    backend : str or None, default=None
        joblib backend; ``"dask"`` runs the sweep on the Dask cluster of the
        ``dask.distributed.Client`` the user connected.
    random_state : int or None, default=None
        Seed of the dataset seeds: the same value gives the same table whatever
        the backend.
    progress : bool, default=True
        Show a tqdm progress bar over datasets, with the time left.
    batch_size : int, default=1
        Datasets generated and fitted per job. Above 1, estimators with a
        ``fit_many`` method (the Bayesian ones) sample all the datasets of a job
        in one vectorized call (about twice the throughput on a CPU); tables
        are reproducible for the same ``random_state`` and ``batch_size``.

    Examples
    --------
    >>> from bwestimators import AnovaComparator, ColumnSpec
    >>> from bwestimators.datasets import generate_fake_lfp
    >>> from bwestimators.power import PowerSimulation, power_table
    >>> sim = PowerSimulation(generate_fake_lfp, {"anova": AnovaComparator(kind="rm")},
    ...                       y="Log power", spec=ColumnSpec("stim", group="mouse"),
    ...                       param_grid={"mouse_response_slope": [0, 9], "n_trials": [5]},
    ...                       n_repeats=3, random_state=0, progress=False)
    >>> results = sim.run()
    >>> len(results)
    6
    >>> power_table(results)["n"].tolist()
    [3, 3]
    """

    def __init__(
        self,
        generator,
        estimators,
        *,
        y,
        spec,
        param_grid,
        n_repeats=20,
        effect_param="mouse_response_slope",
        alpha=0.05,
        condition=None,
        n_jobs=None,
        backend=None,
        random_state=None,
        progress=True,
        batch_size=1,
    ):
        self.generator = generator
        self.estimators = estimators
        self.y = y
        self.spec = spec
        self.param_grid = param_grid
        self.n_repeats = n_repeats
        self.effect_param = effect_param
        self.alpha = alpha
        self.condition = condition
        self.n_jobs = n_jobs
        self.backend = backend
        self.random_state = random_state
        self.progress = progress
        self.batch_size = batch_size

    def _tasks(self):
        grid = list(ParameterGrid(self.param_grid))
        return [
            (gi, params, r, _dataset_seed(self.random_state, gi, r))
            for gi, params in enumerate(grid)
            for r in range(self.n_repeats)
        ]

    def run(self, checkpoint=None):
        """Run the sweep.

        Parameters
        ----------
        checkpoint : str, Path or None
            A ``.csv`` or ``.parquet`` file. Finished rows are written as they
            come; run again with the same arguments, the sweep skips the
            datasets already there.

        Returns
        -------
        results : DataFrame
            One row per (grid point, repeat, estimator): ``estimator``, the grid
            values, ``true_effect``, ``grid_index``, ``repeat``, ``seed``, the
            effects-table columns, ``detected``, ``score``, ``fit_seconds``,
            ``error`` and ``warnings`` (what the fit warned, e.g. about convergence).
        """
        from joblib import Parallel, delayed, parallel_config
        from tqdm.auto import tqdm

        if not self.estimators:
            raise ValueError("estimators is empty; pass a dict of name -> estimator.")
        tasks = self._tasks()
        done = _read_checkpoint(checkpoint)
        finished = set(map(tuple, done[KEY].drop_duplicates().to_numpy())) if len(done) else set()
        todo = [t for t in tasks if (t[0], t[2]) not in finished]
        if finished:
            logger.info(
                "checkpoint has %d of %d datasets; %d to go", len(finished), len(tasks), len(todo)
            )
        size = max(1, int(self.batch_size))
        batches = [todo[i : i + size] for i in range(0, len(todo), size)]
        jobs = (
            delayed(_fit_batch)(
                self.generator,
                self.estimators,
                self.y,
                self.spec,
                batch,
                self.effect_param,
                self.alpha,
                self.condition,
            )
            for batch in batches
        )
        collected = [done] if len(done) else []
        bar = tqdm(
            total=len(tasks),
            initial=len(tasks) - len(todo),
            disable=not self.progress,
            desc="datasets",
            unit="dataset",
        )
        config = {"backend": self.backend} if self.backend else {}
        with parallel_config(**config):
            parallel = Parallel(n_jobs=self.n_jobs, return_as="generator_unordered")
            try:
                for rows in parallel(jobs):
                    frame = pd.DataFrame(rows)
                    collected.append(frame)
                    if checkpoint is not None:
                        _write_checkpoint(checkpoint, pd.concat(collected, ignore_index=True))
                    bar.update(len(rows) // len(self.estimators))
            finally:
                bar.close()
        results = pd.concat(collected, ignore_index=True) if collected else pd.DataFrame()
        order = {name: i for i, name in enumerate(self.estimators)}
        results = results.sort_values(
            ["grid_index", "repeat", "estimator"],
            key=lambda s: s.map(order) if s.name == "estimator" else s,
        ).reset_index(drop=True)
        if "detected" in results:
            results["detected"] = results["detected"].astype("boolean")
        return results


def _read_checkpoint(path):
    if path is None or not Path(path).exists():
        return pd.DataFrame()
    path = Path(path)
    frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    return frame


def _write_checkpoint(path, frame):
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    if path.suffix == ".parquet":
        frame.astype({"error": "string", "warnings": "string"}).to_parquet(tmp, index=False)
    else:
        frame.to_csv(tmp, index=False)
    tmp.replace(path)


# ---- analysis ------------------------------------------------------------------------


def _grid_columns(results):
    fixed = {
        "estimator",
        "true_effect",
        "grid_index",
        "repeat",
        "seed",
        "error",
        "warnings",
        "detected",
        "score",
        "fit_seconds",
        *_RESULT_COLUMNS,
    }
    return [c for c in results.columns if c not in fixed]


def power_table(results, *, by=None, confidence=0.95):
    """Detection rate per estimator and grid point, with a binomial interval.

    Parameters
    ----------
    results : DataFrame
        Output of :meth:`PowerSimulation.run`.
    by : list of str or None
        Grouping columns; default: ``estimator`` and every grid column.
    confidence : float, default=0.95
        Level of the Wilson interval of the rate.

    Returns
    -------
    table : DataFrame
        ``by`` columns, ``n`` (successful fits), ``detected``, ``rate``,
        ``lower``, ``upper``, ``errors``.
    """
    from scipy.stats import binomtest

    by = by or ["estimator", *_grid_columns(results)]
    rows = []
    for key, g in results.groupby(by, sort=True, dropna=False):
        ok = g["detected"].notna()
        n, k = int(ok.sum()), int(g.loc[ok, "detected"].astype(bool).sum())
        lo, hi = (
            binomtest(k, n).proportion_ci(confidence, method="wilson") if n else (np.nan, np.nan)
        )
        key = key if isinstance(key, tuple) else (key,)
        rows.append(
            {
                **dict(zip(by, key, strict=True)),
                "n": n,
                "detected": k,
                "rate": k / n if n else np.nan,
                "lower": lo,
                "upper": hi,
                "errors": int((~ok).sum()),
            }
        )
    return pd.DataFrame(rows)


def false_positive_rate(results, **kwargs):
    """:func:`power_table` at true effect 0: the rate of false detections."""
    null = results[results["true_effect"] == 0]
    if not len(null):
        raise ValueError("results have no true effect of 0; add 0 to the effect grid.")
    return power_table(null, **kwargs)


def roc_table(results, *, by=("estimator",)):
    """ROC curve points per estimator: datasets with a true effect > 0 against those with 0.

    Returns
    -------
    table : DataFrame
        ``by`` columns, ``fpr``, ``tpr``, ``threshold`` (of ``score``).
    """
    from sklearn.metrics import roc_curve

    frames = []
    for key, g in _roc_groups(results, by):
        fpr, tpr, thr = roc_curve(g["true_effect"] > 0, g["score"])
        frames.append(pd.DataFrame({**key, "fpr": fpr, "tpr": tpr, "threshold": thr}))
    return pd.concat(frames, ignore_index=True)


def roc_auc_table(results, *, by=("estimator",)):
    """Area under the ROC curve per estimator (true effect > 0 against 0)."""
    from sklearn.metrics import roc_auc_score

    rows = [
        {**key, "auc": roc_auc_score(g["true_effect"] > 0, g["score"]), "n": len(g)}
        for key, g in _roc_groups(results, by)
    ]
    return pd.DataFrame(rows)


def _roc_groups(results, by):
    by = list(by)
    ok = results[results["score"].notna()]
    for key, g in ok.groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        if g["true_effect"].eq(0).all() or g["true_effect"].gt(0).all():
            raise ValueError("ROC needs datasets with a true effect of 0 and with one above 0.")
        yield dict(zip(by, key, strict=True)), g


def confusion_table(results, *, by=("estimator",)):
    """True/false positives and negatives of ``detected`` per estimator."""
    rows = []
    ok = results[results["detected"].notna()]
    for key, g in ok.groupby(list(by), sort=True):
        key = key if isinstance(key, tuple) else (key,)
        truth, det = g["true_effect"] > 0, g["detected"].astype(bool)
        rows.append(
            {
                **dict(zip(by, key, strict=True)),
                "true_positive": int((truth & det).sum()),
                "false_negative": int((truth & ~det).sum()),
                "false_positive": int((~truth & det).sum()),
                "true_negative": int((~truth & ~det).sum()),
            }
        )
    return pd.DataFrame(rows)
