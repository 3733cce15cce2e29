"""Simulation-based power benchmarks: which method finds a real effect, with how much data.

A :class:`PowerSimulation` sweeps a data generator over a grid of parameters
(true effect, trials, mice, noise, ...), fits every estimator to every
simulated dataset and returns a tidy table. The analysis functions turn it into
power per true effect, false-positive rates, ROC curves and confusion tables.

Every row records ``converged`` (:func:`fit_converged`); the tables leave
unconverged fits out by default and report their number and share. The
built-in generators are exact nulls at effect 0.

From pilot data: :meth:`PowerSimulation.from_estimator` simulates new datasets
from a fitted LME or Bayesian model with the effect set to the values asked and
the design extended to more animals (``n_group``) and trials (``n_detail``);
:func:`sample_size_table` gives per estimator the smallest design that reaches
a target power, with the binomial interval of its power.

Which ANOVA answers which design. ``AnovaComparator(kind="rm")`` (repeated
measures on animal means) answers designs where every animal gets every
treatment level (the treatment varies within animals, as stimulation on and
off in each mouse): it is the paired t-test for two levels. The default
``kind="between"`` takes the treatment levels as independent groups of animals
and answers designs where each animal gets one level only; used on a
within-animal design it counts the spread between animals against the effect.
Measured on ``generate_fake_lfp`` (10 mice, 10 trials, 50 datasets per point):
power at ``mouse_response_slope`` 0 / 2 / 5 was 0.00 / 0.00 / 0.00 for
``"between"`` and 0.08 / 0.60 / 1.00 for ``"rm"`` (the ROC AUC of
``"between"`` was 1.00: its p-values order the datasets, but never fall under
0.05). The mixed model (LME) and the Bayesian model answer both designs.

Checkpoints: ``PowerSimulation.run(checkpoint=path)`` writes rows as they
come and, run again, skips the datasets already there.

* **The sweep key.** Every row of a checkpoint carries, in its last column
  ``sweep``, the SHA-256 digest of the whole sweep configuration
  (:meth:`PowerSimulation.sweep_key`): the generator (its qualified name and
  fixed arguments: defaults, ``partial`` arguments, closure values; not its
  code), every estimator's name, class and ``get_params()`` (display settings
  such as ``progress_bar`` left out), ``y``, ``spec``, the grid points in
  order, ``n_repeats``, ``effect_param``, ``alpha``, ``condition``,
  ``random_state``, and ``batch_size`` where an estimator samples batches
  together (``fit_many``). Workers, backend and progress bar are not in it. A
  checkpoint written by another sweep is refused with an
  :class:`~bwestimators.exceptions.InputError` (a ``ValueError``) that says to
  delete it or choose another path. Rows are keyed by (grid point, repeat,
  estimator); a dataset counts as done when the rows of all its estimators are
  there, and is redone otherwise.
* **CSV** (any path not ending in ``.parquet``): the header is written once,
  then rows are appended, one write per finished job. A process killed
  mid-write leaves an incomplete last record (too few fields, or a ``sweep``
  value that is not a whole digest); on resume it is dropped, with any
  dataset left without all its rows, and the file is rewritten once without
  them.
* **Parquet** (a path ending in ``.parquet``): a folder of part files
  (``part-000001.parquet``, ...; ``pandas.read_parquet(path)`` reads it as one
  table). Each part is written to a hidden temporary file and renamed, so a
  part is whole or absent. Parts are written at most every 2 seconds and when
  the run ends or stops on an exception (``KeyboardInterrupt`` included), so a
  process killed outright loses at most the last 2 seconds of work; a finished
  sweep is compacted into one part.
"""

import csv
import functools
import hashlib
import io
import json
import logging
import math
import numbers
import os
import re
import time
import types
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import ParameterGrid

from bwestimators._power_tables import (
    _NOT_GRID,
    _RESULT_ORDER,
    _ROW_BASE,
    _ROW_HEAD,
    _ROW_TAIL,
    _SWEEP_COLUMN,
    confusion_table,
    false_positive_rate,
    power_table,
    roc_auc_table,
    roc_table,
    sample_size_table,
)
from bwestimators._warn import capture_warnings
from bwestimators.exceptions import InputError, InputTypeError

__all__ = [
    "MAX_R_HAT",
    "MIN_ESS_PER_CHAIN",
    "SWEEP_SAMPLER",
    "PowerSimulation",
    "confusion_table",
    "detection",
    "false_positive_rate",
    "fit_converged",
    "power_table",
    "roc_auc_table",
    "roc_table",
    "sample_size_table",
]

logger = logging.getLogger(__name__)

KEY = ["grid_index", "repeat"]

#: Sampler settings for sweeps: importance sampling (``method="importance"``) of the model
#: whose group effects, alpha and beta are integrated out (normal likelihood,
#: ``parameterization="auto"``; see :mod:`bwestimators.models._marginal`), 2000 draws, and
#: NUTS with 2 chains of 300 warmup + 1000 draws where the importance weights cannot be
#: trusted. The sampled posterior is then three standard deviations: Newton's mode and two
#: rounds of 2000 Student-t proposals cost about 6 ms per dataset, vectorized over a batch.
#: Measured on 400 ``generate_fake_lfp`` datasets (10 mice, 10 trials, responses 0-15): all
#: importance-sampled and converged, the smallest ESS 785, 105 datasets per second with 2
#: workers (25 with NUTS). On ``bench_calibration.py``'s 1200 datasets (6 and 8 animals) 98-99.5 %
#: were importance-sampled (the others ran NUTS), with the false-positive rates and coverages
#: of NUTS within Monte Carlo error. Before: with NUTS, 2 x (300 + 1000) draws left no fit
#: unconverged on 384 points of bayes-window's grid (6 mice, 8-29 trials) and 1 warned (an
#: ESS just under 400); the R-hat check is noisy at these sizes (on chains stationary by
#: construction, AR(1), 30 quantities like this model's, the largest split R-hat exceeds 1.01
#: in 32 % of fits at an ESS of 670 per quantity and in 3 % at 1000).
SWEEP_SAMPLER = {"method": "importance", "num_warmup": 300, "num_samples": 1000, "num_chains": 2}

#: Version of the checkpoint layout; part of the sweep key (2: the ``converged`` column).
_CHECKPOINT_FORMAT = 2
#: A Bayesian NUTS fit counts as converged with no divergence, every R-hat at most this ...
MAX_R_HAT = 1.01
#: ... and a bulk and tail ESS of every parameter of at least this many per chain
#: (Vehtari et al. 2021, "Rank-normalization, folding, and localization").
MIN_ESS_PER_CHAIN = 100
#: Estimator parameters that change no result and stay out of the sweep key.
_DISPLAY_PARAMS = frozenset({"progress_bar", "verbose"})
#: Seconds between two part files of a Parquet checkpoint.
_PARQUET_FLUSH_SECONDS = 2.0


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


_RESULT_COLUMNS = set(_RESULT_ORDER)
#: Columns of every results row; a grid parameter may not have one of these names.
_RESERVED_COLUMNS = _NOT_GRID


def detection(row, alpha):
    """``detected`` and a continuous ``score`` for one effects row.

    Bayesian rows (with ``prob_positive``): detected when the interval excludes
    0; score = estimate / posterior sd. Frequentist rows: detected when
    ``p_value < alpha``; score = sign(estimate) * -log10(p).

    Examples
    --------
    >>> from bwestimators.power import detection
    >>> detection({"estimate": 0.5, "p_value": 0.01}, alpha=0.05)
    (True, 2.0)
    >>> detection({"estimate": 0.5, "std_error": 0.25, "lower": -0.1, "upper": 1.0,
    ...            "prob_positive": 0.95}, alpha=0.05)
    (False, 2.0)
    """
    if pd.notna(row.get("prob_positive", np.nan)):
        detected = bool(row["lower"] > 0 or row["upper"] < 0)
        score = row["estimate"] / row["std_error"] if row.get("std_error", 0) else np.nan
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


def fit_converged(model):
    """Whether a fitted estimator's fit converged, from its own diagnostics.

    * Bayesian NUTS fits (``diagnostics_`` with ``max_r_hat``): no divergent
      transition, every R-hat at most :data:`MAX_R_HAT` (1.01) and the smallest
      bulk and tail ESS of every parameter at least :data:`MIN_ESS_PER_CHAIN`
      (100) per chain. An importance-sampled fit (``method="importance"``)
      has no R-hat and the ESS of its weights, with a Pareto k-hat at most
      0.7 (or it ran NUTS instead, see
      :class:`~bwestimators.HierarchicalSlopeRegressor`).
    * Bayesian SVI fits: ``diagnostics_["svi_converged"]`` (the ELBO reached a
      plateau before ``num_steps``).
    * Estimators with ``converged_`` (:class:`~bwestimators.LMEComparator`:
      the optimizer's own flag): that flag.
    * Others (:class:`~bwestimators.AnovaComparator`, closed-form): True.

    Parameters
    ----------
    model : fitted estimator

    Returns
    -------
    converged : bool

    Examples
    --------
    >>> from bwestimators import AnovaComparator, ColumnSpec
    >>> from bwestimators.datasets import generate_fake_lfp
    >>> from bwestimators.power import fit_converged
    >>> df = generate_fake_lfp(n_trials=3, n_mice=4, random_state=0).df
    >>> fit_converged(AnovaComparator(ColumnSpec("stim", group="mouse")).fit(df, df["Power"]))
    True
    """
    diagnostics = getattr(model, "diagnostics_", None)
    if isinstance(diagnostics, Mapping):
        if "svi_converged" in diagnostics:
            return bool(diagnostics["svi_converged"])
        if "max_r_hat" in diagnostics:
            min_ess = MIN_ESS_PER_CHAIN * int(diagnostics.get("num_chains", 1))
            r_hat = float(diagnostics["max_r_hat"])
            ess = min(float(diagnostics["min_ess_bulk"]), float(diagnostics["min_ess_tail"]))
            return bool(
                int(diagnostics.get("divergences", 0)) == 0
                and (math.isnan(r_hat) or r_hat <= MAX_R_HAT)
                and (math.isnan(ess) or ess >= min_ess)
            )
    flag = getattr(model, "converged_", None)
    if flag is not None:
        return bool(flag)
    return True


def _fill_row(row, model, condition, alpha, messages, seconds):
    effect = _effect_row(model.effects_, condition)
    row.update({k: v for k, v in effect.items() if k in _RESULT_COLUMNS})
    row["detected"], row["score"] = detection(effect, alpha)
    row["converged"] = fit_converged(model)
    row["warnings"] = " | ".join(sorted({str(m)[:120] for m in messages})) or None
    row["fit_seconds"] = seconds


def _fit_one(est, spec, df, y, row, condition, alpha):
    t0 = time.perf_counter()
    try:
        model = clone(est)
        if spec is not None and hasattr(model, "spec") and model.spec is None:
            model.set_params(spec=spec)
        with capture_warnings() as caught:  # this thread's: safe under a threaded backend
            model.fit(df, df[y])
        messages = getattr(model, "warnings_", None)
        if messages is None:
            messages = [w.message for w in caught]
        _fill_row(row, model, condition, alpha, messages, time.perf_counter() - t0)
    except Exception as exc:  # a failed fit is recorded, the sweep goes on
        row.update(
            error=f"{type(exc).__name__}: {exc}", detected=np.nan, score=np.nan, converged=np.nan
        )
        row["fit_seconds"] = time.perf_counter() - t0
    return row


def _worker_threads(n_jobs, config):
    """The threads of each worker's fits: its share of the cores with several workers, else None."""
    from joblib import effective_n_jobs, parallel_config

    from bwestimators._threads import num_threads

    with parallel_config(**config):
        workers = effective_n_jobs(n_jobs)
    return max(1, num_threads() // workers) if workers > 1 else None


def _fit_batch(generator, estimators, y, spec, tasks, effect_param, alpha, condition, threads):
    """Generate the datasets of some tasks and fit every estimator to each; rows per fit.

    ``threads``: the most threads a fit's chains and diagnostics take
    (:func:`bwestimators._threads.limited`; None: one per core), the worker's
    share of the cores when several workers fit at once.

    Estimators with ``fit_many`` (the Bayesian ones) fit all the batch's
    datasets in vectorized sampler calls, and each row gets the warnings of its
    own fit (the fitted estimator's ``warnings_``); if that fails, each dataset
    is fitted alone so that the failure is recorded for the dataset that caused it.
    """
    from bwestimators._threads import limited

    with limited(threads):
        return _generate_and_fit(
            generator, estimators, y, spec, tasks, effect_param, alpha, condition
        )


def _generate_and_fit(generator, estimators, y, spec, tasks, effect_param, alpha, condition):
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
                with capture_warnings():  # dropped: each fit keeps its own in warnings_
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
    param_grid : dict of lists, or list of such dicts
        Grid of generator parameters (scikit-learn's ``ParameterGrid``); not
        empty, and no parameter may have the name of a results column
        (``estimator``, ``seed``, ``repeat``, ``estimate``, ``sd``, ...).
    n_repeats : int, default=20
        Datasets per grid point, at least 1.
    effect_param : str, default="mouse_response_slope"
        The grid parameter that is the true effect (0 = no effect).
    alpha : float, default=0.05
        Level of the frequentist tests, in (0, 1).
    condition : object or None, default=None
        Condition level whose effect is recorded (the first row by default).
    n_jobs : int or None, default=None
        joblib workers (None: one).
    backend : str or None, default=None
        joblib backend; ``"dask"`` runs the sweep on the Dask cluster of the
        ``dask.distributed.Client`` the user connected.
    random_state : int or None, default=None
        Seed of the dataset seeds (a non-negative integer): the same value
        gives the same table whatever the backend.
    progress : bool, default=True
        Show a tqdm progress bar over datasets, with the time left.
    batch_size : int, default=1
        Datasets generated and fitted per job, at least 1. Above 1, estimators
        with a ``fit_many`` method (the Bayesian ones) sample all the datasets
        of a job in one vectorized call (NUTS: about twice the throughput on a
        CPU; importance sampling, ``SWEEP_SAMPLER``: 43 LFP datasets per second
        in one process at batch 50, 105 with ``n_jobs=2``);
        tables are reproducible for the same ``random_state`` and
        ``batch_size``.

    Notes
    -----
    The parameters are checked when :meth:`run` starts; a wrong one raises an
    :class:`~bwestimators.exceptions.InputError` (a ``ValueError``) or, for a
    wrong type, an :class:`~bwestimators.exceptions.InputTypeError` (also a
    ``TypeError``) that names it. Checkpoints: see the module documentation.

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

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        effect,
        extend=None,
        estimators=None,
        parameters="mean",
        n_repeats=20,
        **kwargs,
    ):
        """A sweep of datasets simulated from a fitted pilot, as simr does for lme4.

        New datasets are drawn from what ``estimator`` learned from the pilot
        ``X, y`` (see :class:`~bwestimators._power_pilot.PilotGenerator`): the
        intercept of each condition, normal group intercepts and treatment
        slopes with the fitted sds (and, for the LME, their correlation), the
        fitted residual sd, the treatment effect set to each value of
        ``effect``, and the pilot's design (its conditions and treatment levels
        per group, copied group by group, and its rows per cell) extended to
        more groups and rows. Every estimator of ``estimators`` is fitted to
        every dataset.

        Parameters
        ----------
        estimator : fitted LMEComparator or HierarchicalSlopeRegressor
            Fitted to the pilot, with a ``spec`` that names a group (no
            group2). Bayesian: ``dist_y="normal"`` only (others: InputError).
        X, y : DataFrame and array-like
            The pilot data the estimator was fitted to. ``y``'s name (a
            Series') names the outcome column of the simulated data (``"y"``
            otherwise).
        effect : float, list of float, or "fitted"
            True treatment effects (units of y per unit of treatment, the same
            in every condition); 0 is an exact null. ``"fitted"``: the pilot's
            own effects (per condition); the grid shows the first one.
        extend : dict or None
            ``{"group": [4, 6, 8, 12], "detail": [10, 20]}``: numbers of groups
            (grid column ``n_group``) and of rows per group, condition and
            treatment level (trials; grid column ``n_detail``). A dimension not
            given keeps the pilot's (its groups; its rows per cell).
        estimators : dict of str to estimator or None
            The estimators of the sweep; default: the pilot's estimator
            (unfitted clone) under its class name.
        parameters : {"mean", "posterior"}, default="mean"
            ``"mean"``: the point estimates (LME) or posterior means (Bayes).
            ``"posterior"`` (Bayes only): each dataset takes its sds from one
            posterior draw, and with ``effect="fitted"`` also its effect, so
            that the power averages over the pilot's uncertainty ("assurance").
        n_repeats : int, default=20
            Datasets per grid point.
        **kwargs
            Other parameters of :class:`PowerSimulation` (``random_state``,
            ``n_jobs``, ``batch_size``, ``alpha``, ``progress``, ...).

        Returns
        -------
        sim : PowerSimulation
            With ``effect_param="effect"`` and a grid of ``effect``, ``n_group``
            and ``n_detail``; :func:`sample_size_table` reads its results.

        Examples
        --------
        >>> from bwestimators import ColumnSpec, LMEComparator
        >>> from bwestimators.datasets import generate_fake_lfp
        >>> from bwestimators.power import PowerSimulation, sample_size_table
        >>> pilot = generate_fake_lfp(n_mice=4, n_trials=5, random_state=0).df
        >>> lme = LMEComparator(ColumnSpec("stim", group="mouse")).fit(pilot, pilot["Log power"])
        >>> sim = PowerSimulation.from_estimator(lme, pilot, pilot["Log power"], effect=[0.1],
        ...     extend={"group": [4, 8]}, n_repeats=4, random_state=0, progress=False)
        >>> results = sim.run()
        >>> sorted(results["n_group"].unique().tolist())
        [4, 8]
        >>> list(sample_size_table(results, 0.5).columns[:3])
        ['estimator', 'effect', 'n_group']
        """
        from bwestimators._power_pilot import sweep_arguments

        args = sweep_arguments(estimator, X, y, effect, extend, estimators, parameters)
        return cls(**args, n_repeats=n_repeats, **kwargs)

    def _tasks(self):
        grid = list(ParameterGrid(self.param_grid))
        return [
            (gi, params, r, _dataset_seed(self.random_state, gi, r))
            for gi, params in enumerate(grid)
            for r in range(self.n_repeats)
        ]

    def _validate(self):
        """Check the parameters; raise an error that names the wrong one."""
        _validate_sweep(self)

    def sweep_key(self):
        """SHA-256 digest of everything that defines the rows of this sweep.

        Written into every row of a checkpoint (column ``sweep``); a checkpoint
        with another key is refused. See the module documentation for what the
        key covers.

        Returns
        -------
        key : str
            64 hexadecimal digits.
        """
        self._validate()
        return _sweep_digest(self)

    def run(self, checkpoint=None):
        """Run the sweep.

        Parameters
        ----------
        checkpoint : str, Path or None
            A ``.csv`` file, or a ``.parquet`` folder of part files. Finished
            rows are written as they come; run the same sweep again and it skips
            the datasets already there (an incomplete trailing record, as left by
            a killed process, is redone). A checkpoint of another sweep (other
            grid, estimators, seed, ...) raises a ``ValueError``. See the module
            documentation.

        Returns
        -------
        results : DataFrame
            One row per (grid point, repeat, estimator): ``estimator``, the grid
            values, ``true_effect``, ``grid_index``, ``repeat``, ``seed``,
            ``error`` and ``warnings`` (what the fit warned, e.g. about
            convergence), the effects-table columns that hold a value in some
            row, ``detected``, ``score``, ``converged`` (:func:`fit_converged`;
            missing for a failed fit) and ``fit_seconds``.
        """
        from joblib import Parallel, delayed, parallel_config
        from tqdm.auto import tqdm

        self._validate()
        tasks = self._tasks()
        names = list(self.estimators)
        grid_keys = list(dict.fromkeys(k for _, params, _, _ in tasks for k in params))
        store = None
        done = []
        if checkpoint is not None:
            columns = [*_ROW_HEAD, *grid_keys, *_ROW_BASE, *_RESULT_ORDER, *_ROW_TAIL]
            store = _checkpoint_store(checkpoint, [*columns, _SWEEP_COLUMN], self.sweep_key())
            done = _load_checkpoint(store, tasks, names, self.effect_param)
        finished = {(row["grid_index"], row["repeat"]) for row in done}
        todo = [t for t in tasks if (t[0], t[2]) not in finished]
        if finished:
            logger.info(
                "checkpoint has %d of %d datasets; %d to go", len(finished), len(tasks), len(todo)
            )
        # batches are cut from the whole task list, so that a resumed sweep fits the
        # same batches as an uninterrupted one (a whole batch is written at once)
        size = int(self.batch_size)
        batches = [
            [t for t in tasks[i : i + size] if (t[0], t[2]) not in finished]
            for i in range(0, len(tasks), size)
        ]
        config = {"backend": self.backend} if self.backend else {}
        threads = _worker_threads(self.n_jobs, config)
        fixed = (self.generator, self.estimators, self.y, self.spec)
        after = (self.effect_param, self.alpha, self.condition, threads)
        jobs = (delayed(_fit_batch)(*fixed, batch, *after) for batch in batches if batch)
        collected = list(done)
        bar = tqdm(
            total=len(tasks),
            initial=len(tasks) - len(todo),
            disable=None if self.progress else True,  # None: a bar only on a terminal
            desc="datasets",
            unit="dataset",
        )
        try:
            if store is not None:
                store.open()
            with parallel_config(**config):
                parallel = Parallel(n_jobs=self.n_jobs, return_as="generator_unordered")
                for rows in parallel(jobs):
                    collected.extend(rows)
                    if store is not None:
                        store.append(rows)
                    bar.update(len(rows) // len(names))
        finally:
            bar.close()
            if store is not None:
                store.close()
        if store is not None:
            store.finish(collected)
        return _results_frame(collected, names, grid_keys)


# ---- parameter checks and the sweep key ------------------------------------------------


def _sweep_digest(self):
    """SHA-256 digest of the configuration of a sweep (see PowerSimulation.sweep_key)."""
    fit_many = any(hasattr(est, "fit_many") for est in self.estimators.values())
    config = {
        "format": _CHECKPOINT_FORMAT,
        "generator": _canonical(self.generator),
        "estimators": [[name, _canonical(est)] for name, est in self.estimators.items()],
        "y": _canonical(self.y),
        "spec": _canonical(self.spec),
        "grid": [_canonical(point) for point in ParameterGrid(self.param_grid)],
        "n_repeats": _canonical(self.n_repeats),
        "effect_param": _canonical(self.effect_param),
        "alpha": _canonical(self.alpha),
        "condition": _canonical(self.condition),
        "random_state": _canonical(self.random_state),
        "batch_size": _canonical(self.batch_size) if fit_many else None,
    }
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _validate_sweep(self):
    """Check the parameters; raise an error that names the wrong one."""
    if not callable(self.generator):
        raise InputTypeError(
            f"generator must be callable (a function returning a DataFrame), "
            f"got {type(self.generator).__name__}."
        )
    if not isinstance(self.estimators, Mapping):
        raise InputTypeError(
            f"estimators must be a dict of name -> estimator, got {type(self.estimators).__name__}."
        )
    if not self.estimators:
        raise InputError("estimators is empty; pass a dict of name -> estimator.")
    for name, est in self.estimators.items():
        if not isinstance(name, str):
            raise InputTypeError(f"estimators: the name {name!r} is not a string.")
        if not hasattr(est, "fit") or not hasattr(est, "get_params"):
            raise InputTypeError(
                f"estimators[{name!r}] is not an estimator (no fit/get_params): "
                f"{type(est).__name__}."
            )
    _check_grid(self.param_grid)
    _check_int("n_repeats", self.n_repeats, minimum=1)
    _check_int("batch_size", self.batch_size, minimum=1)
    if not isinstance(self.alpha, numbers.Real) or isinstance(self.alpha, bool):
        raise InputTypeError(f"alpha must be a number in (0, 1), got {self.alpha!r}.")
    if not 0 < self.alpha < 1:
        raise InputError(f"alpha must be in (0, 1) (the test level), got {self.alpha!r}.")
    if self.random_state is not None:
        _check_int("random_state", self.random_state, minimum=0, none="or None")
    if self.n_jobs is not None:
        _check_int("n_jobs", self.n_jobs, none="or None")
        if self.n_jobs == 0:
            raise InputError("n_jobs must not be 0 (None or 1: one worker, -1: all cores).")
    if self.backend is not None and not isinstance(self.backend, str):
        raise InputTypeError(f"backend must be a str or None, got {self.backend!r}.")
    if not isinstance(self.effect_param, str):
        raise InputTypeError(f"effect_param must be a str, got {self.effect_param!r}.")


def _check_int(name, value, *, minimum=None, none=""):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        kind = f"an integer {none}".strip()
        raise InputTypeError(f"{name} must be {kind}, got {value!r}.")
    if minimum is not None and value < minimum:
        raise InputError(f"{name} must be at least {minimum}, got {value!r}.")


def _check_grid(param_grid):
    grids = [param_grid] if isinstance(param_grid, Mapping) else param_grid
    if not isinstance(grids, Sequence) or isinstance(grids, str):
        raise InputTypeError(
            "param_grid must be a dict of lists (or a list of such dicts), "
            f"got {type(param_grid).__name__}."
        )
    if not grids or any(isinstance(g, Mapping) and not g for g in grids):
        raise InputError(
            "param_grid is empty; give the generator parameters to sweep, "
            "e.g. {'mouse_response_slope': [0, 5, 9]}."
        )
    for g in grids:
        if not isinstance(g, Mapping):
            raise InputTypeError(f"param_grid: {g!r} is not a dict of lists.")
        for name, values in g.items():
            if isinstance(values, str) or not isinstance(values, (Sequence, np.ndarray)):
                raise InputTypeError(
                    f"param_grid[{name!r}] must be a list of values, got {values!r}; "
                    "wrap a single value in a list."
                )
            if len(values) == 0:
                raise InputError(f"param_grid[{name!r}] is empty; give at least one value.")
            if name in _RESERVED_COLUMNS:
                raise InputError(
                    f"param_grid: the parameter name {name!r} is a column of the results "
                    "table; rename the generator's parameter."
                )


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _qualname(obj):
    return f"{getattr(obj, '__module__', None)}.{getattr(obj, '__qualname__', repr(obj))}"


def _canonical(obj, depth=0):
    """A JSON-able description of ``obj``, the same in every process for equal values."""
    if depth > 12:
        return "..."
    deeper = functools.partial(_canonical, depth=depth + 1)
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        value = float(obj)
        return value if math.isfinite(value) else repr(value)
    if isinstance(obj, np.ndarray):
        return {"ndarray": str(obj.dtype), "shape": list(obj.shape), "values": deeper(obj.tolist())}
    if isinstance(obj, (pd.DataFrame, pd.Series)):
        digest = hashlib.sha256(pd.util.hash_pandas_object(obj, index=True).to_numpy().tobytes())
        columns = list(obj.columns) if isinstance(obj, pd.DataFrame) else [obj.name]
        return {
            "pandas": type(obj).__name__,
            "columns": deeper(columns),
            "hash": digest.hexdigest(),
        }
    if isinstance(obj, Mapping):
        items = [[deeper(k), deeper(v)] for k, v in obj.items()]
        return {"dict": sorted(items, key=lambda kv: json.dumps(kv[0], sort_keys=True))}
    if isinstance(obj, (list, tuple)):
        return [deeper(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return {"set": sorted((deeper(v) for v in obj), key=json.dumps)}
    if isinstance(obj, type):
        return {"class": _qualname(obj)}
    if isinstance(obj, functools.partial):
        return {"partial": deeper(obj.func), "args": deeper(obj.args), "kw": deeper(obj.keywords)}
    if isinstance(obj, types.MethodType):
        return {"method": _qualname(obj.__func__), "self": deeper(obj.__self__)}
    if hasattr(obj, "get_params"):
        params = obj.get_params(deep=False)
        params = {k: v for k, v in params.items() if k not in _DISPLAY_PARAMS}
        return {"class": _qualname(type(obj)), "params": deeper(params)}
    if isinstance(obj, types.FunctionType):
        cells = []
        for cell in obj.__closure__ or ():
            try:
                cells.append(deeper(cell.cell_contents))
            except ValueError:  # an empty cell
                cells.append(None)
        return {
            "function": _qualname(obj),
            "defaults": deeper(obj.__defaults__),
            "kwdefaults": deeper(obj.__kwdefaults__),
            "closure": cells,
        }
    if isinstance(obj, (types.BuiltinFunctionType, types.ModuleType)):
        return {"builtin": _qualname(obj) if hasattr(obj, "__qualname__") else obj.__name__}
    if callable(obj) and hasattr(obj, "__dict__"):
        return {"object": _qualname(type(obj)), "state": deeper(vars(obj))}
    return {"object": _qualname(type(obj)), "repr": _ADDRESS.sub("", repr(obj))}


# ---- checkpoints -----------------------------------------------------------------------


def _checkpoint_store(path, columns, key):
    path = Path(path)
    if path.suffix == ".parquet":
        return _ParquetCheckpoint(path, columns, key)
    return _CsvCheckpoint(path, columns, key)


def _foreign(path, detail):
    return InputError(
        f"checkpoint {path} belongs to another sweep ({detail}): the grid, the estimators, "
        "the seed or another setting differ. Delete it to start this sweep over, or choose "
        "another checkpoint path."
    )


def _load_checkpoint(store, tasks, names, effect_param):
    """The rows of the datasets a checkpoint has all rows of; rewrite it if it has more."""
    records, clean = store.read()
    by_task = {(gi, r): (params, seed) for gi, params, r, seed in tasks}
    found = {}
    for k, rec in enumerate(records):
        if rec[_SWEEP_COLUMN] != store.key:
            theirs = str(rec[_SWEEP_COLUMN])[:12]
            detail = (
                f"its row {k + 1} has sweep key {theirs}..., this sweep's is {store.key[:12]}..."
            )
            raise _foreign(store.path, detail)
        try:
            task, name = (int(rec["grid_index"]), int(rec["repeat"])), str(rec["estimator"])
        except (TypeError, ValueError) as exc:
            raise store.damaged(k, exc) from exc
        if task not in by_task or name not in names:
            raise store.damaged(k, f"dataset {task}, estimator {name!r} is not in this sweep")
        if name in found.setdefault(task, {}):
            clean = False  # a duplicate (of an interrupted compaction): keep the first
            continue
        found[task][name] = rec
    rows = []
    for task, by_name in found.items():
        if len(by_name) < len(names):
            clean = False  # this dataset was cut short: it is redone
            continue
        params, seed = by_task[task]
        for name in names:
            try:
                rows.append(_restore_row(by_name[name], name, params, effect_param, task, seed))
            except (TypeError, ValueError) as exc:
                raise store.damaged(records.index(by_name[name]), exc) from exc
    if not clean:
        logger.info(
            "checkpoint %s: kept the %d complete datasets, dropped an incomplete record",
            store.path,
            len(rows) // len(names),
        )
        store.rewrite(rows)
    return rows


def _missing(value):
    return (
        value is None
        or value is pd.NA
        or (isinstance(value, str) and value == "")
        or (isinstance(value, float) and math.isnan(value))
    )


def _restore_row(rec, name, params, effect_param, task, seed):
    """A results row as :func:`_fit_batch` made it, from a checkpoint record."""
    row = _base_row(name, params, effect_param, task[0], task[1], seed)
    row["error"] = None if _missing(rec["error"]) else str(rec["error"])
    row["warnings"] = None if _missing(rec["warnings"]) else str(rec["warnings"])
    for col in _RESULT_ORDER:
        if not _missing(rec[col]):
            row[col] = float(rec[col])
    for col in ("detected", "converged"):
        value = rec[col]
        if _missing(value):
            row[col] = np.nan
        elif isinstance(value, str):
            if value not in ("True", "False"):
                raise ValueError(f"{col} is {value!r}")
            row[col] = value == "True"
        else:
            row[col] = bool(value)
    for col in ("score", "fit_seconds"):
        row[col] = np.nan if _missing(rec[col]) else float(rec[col])
    return row


def _cell(value):
    """A CSV cell: numbers unquoted (floats in their shortest exact form), None empty."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return None if math.isnan(value) else value
    return str(value)


class _CsvCheckpoint:
    """Rows appended to a CSV file; the header once, the sweep key in the last column."""

    def __init__(self, path, columns, key):
        self.path, self.columns, self.key = path, columns, key
        self._file = self._writer = None

    def damaged(self, index, detail):
        return InputError(
            f"checkpoint {self.path} is damaged at row {index + 1} ({detail}); "
            "delete it to start the sweep over, or choose another checkpoint path."
        )

    def _records(self, rows):
        cols = self.columns[:-1]
        return ([*(_cell(row.get(c)) for c in cols), self.key] for row in rows)

    def _csv_writer(self, file):
        return csv.writer(file, lineterminator="\n", quoting=csv.QUOTE_STRINGS)

    def read(self):
        """The complete records (dicts of strings), and whether the file ends cleanly."""
        if not self.path.exists() or self.path.stat().st_size == 0:
            return [], True
        if self.path.is_dir():
            raise InputError(f"checkpoint {self.path} is a folder; give a .csv file path.")
        text = self.path.read_bytes().decode("utf-8", errors="replace")
        consumed = 0

        def lines():  # the csv reader takes lines as it needs them: none ahead
            nonlocal consumed
            for line in io.StringIO(text, newline=""):
                consumed += len(line)
                yield line

        reader = csv.reader(lines(), strict=True)
        try:
            header = next(reader)
        except (StopIteration, csv.Error):
            header = None
        if header != self.columns:
            if not header or header[-1] != _SWEEP_COLUMN:
                raise InputError(
                    f"checkpoint {self.path} was not written by this version of "
                    "PowerSimulation (it has no sweep key); delete it to start the sweep "
                    "over, or choose another checkpoint path."
                )
            raise _foreign(self.path, "its columns differ")
        records, end = [], consumed
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                if consumed < len(text):
                    raise self.damaged(len(records), exc) from exc
                break  # the file ends inside a quoted field: an incomplete last record
            whole = len(fields) == len(self.columns) and re.fullmatch(r"[0-9a-f]{64}", fields[-1])
            if not whole:
                if consumed < len(text):
                    raise self.damaged(len(records), "a record with missing fields")
                break  # an incomplete last record
            records.append(dict(zip(self.columns, fields, strict=True)))
            end = consumed
        clean = end == len(text) and text.endswith("\n")
        return records, clean

    def _write_all(self, rows):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = self._csv_writer(f)
            writer.writerow(self.columns)
            writer.writerows(self._records(rows))
        os.replace(tmp, self.path)

    def rewrite(self, rows):
        self._write_all(rows)

    def open(self):
        if not self.path.exists() or self.path.stat().st_size == 0:
            self._write_all([])
        self._file = open(self.path, "a", newline="", encoding="utf-8")
        self._writer = self._csv_writer(self._file)

    def append(self, rows):
        self._writer.writerows(self._records(rows))
        self._file.flush()

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = self._writer = None

    def finish(self, rows):
        pass


class _ParquetCheckpoint:
    """A folder of Parquet part files, each written whole (a hidden file, then renamed)."""

    def __init__(self, path, columns, key):
        self.path, self.columns, self.key = path, columns, key
        self._pending, self._last = [], 0.0

    def damaged(self, index, detail):
        return InputError(
            f"checkpoint {self.path} is damaged at row {index + 1} ({detail}); "
            "delete it to start the sweep over, or choose another checkpoint path."
        )

    def _parts(self):
        return sorted(self.path.glob("part-*.parquet"))

    def read(self):
        if not self.path.exists():
            return [], True
        if not self.path.is_dir():
            raise InputError(
                f"checkpoint {self.path} is a file; a .parquet checkpoint is a folder of part "
                "files (this file was not written by this version of PowerSimulation). "
                "Delete it to start the sweep over, or choose another checkpoint path."
            )
        for stale in self.path.glob(".part-*.tmp"):  # a part being written when killed
            stale.unlink(missing_ok=True)
        records = []
        for part in self._parts():
            try:
                frame = pd.read_parquet(part)
            except Exception as exc:  # any reader error: a bad part
                raise self.damaged(len(records), f"{part.name} is unreadable: {exc}") from exc
            if list(frame.columns) != self.columns:
                if _SWEEP_COLUMN not in frame.columns:
                    raise InputError(
                        f"checkpoint {self.path} was not written by this version of "
                        "PowerSimulation (it has no sweep key); delete it to start the sweep "
                        "over, or choose another checkpoint path."
                    )
                raise _foreign(self.path, f"the columns of {part.name} differ")
            records.extend(frame.astype(object).to_dict("records"))
        return records, True

    def _frame(self, rows):
        frame = pd.DataFrame(rows).reindex(columns=self.columns[:-1])
        frame[_SWEEP_COLUMN] = self.key
        for col in frame.columns:
            if col in (*_RESULT_ORDER, "score", "fit_seconds"):
                frame[col] = frame[col].astype("float64")
            elif col in ("grid_index", "repeat", "seed"):
                frame[col] = frame[col].astype("int64")
            elif col in ("detected", "converged"):
                frame[col] = frame[col].astype("boolean")
            elif col in ("estimator", "error", "warnings", _SWEEP_COLUMN):
                frame[col] = frame[col].astype("string")
            elif frame[col].dtype.kind not in "biuf":
                # grid values for reading: one type in every part (they are restored
                # from the grid on resume)
                frame[col] = frame[col].map(lambda v: None if _missing(v) else str(v))
                frame[col] = frame[col].astype("string")
            else:
                frame[col] = frame[col].astype("float64")
        return frame

    def _write_part(self, rows):
        self.path.mkdir(parents=True, exist_ok=True)
        parts = self._parts()
        number = int(parts[-1].stem.split("-")[1]) + 1 if parts else 1
        final = self.path / f"part-{number:06d}.parquet"
        tmp = self.path / f".{final.name}.tmp"
        self._frame(rows).to_parquet(tmp, index=False)
        os.replace(tmp, final)
        self._last = time.monotonic()
        return final

    def rewrite(self, rows):
        old = self._parts()
        if rows:
            self._write_part(rows)
        for part in old:
            part.unlink()

    def open(self):
        self.path.mkdir(parents=True, exist_ok=True)
        self._last = time.monotonic()

    def append(self, rows):
        self._pending.extend(rows)
        if time.monotonic() - self._last >= _PARQUET_FLUSH_SECONDS:
            self._flush()

    def _flush(self):
        if self._pending:
            self._write_part(self._pending)
            self._pending = []

    def close(self):
        self._flush()

    def finish(self, rows):
        if len(self._parts()) > 1:
            self.rewrite(rows)


def _results_frame(rows, names, grid_keys):
    """The results table, the same from fresh rows and from rows read back from a checkpoint."""
    results = pd.DataFrame(rows)
    present = [c for c in _RESULT_ORDER if c in results and results[c].notna().any()]
    results[present] = results[present].astype("float64")
    columns = [*_ROW_HEAD, *grid_keys, *_ROW_BASE, *present, *_ROW_TAIL]
    results = results[columns]
    order = {name: i for i, name in enumerate(names)}
    results = results.sort_values(
        ["grid_index", "repeat", "estimator"],
        key=lambda s: s.map(order) if s.name == "estimator" else s,
    ).reset_index(drop=True)
    results["detected"] = results["detected"].astype("boolean")
    results["converged"] = results["converged"].astype("boolean")
    return results
