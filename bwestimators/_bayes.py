"""The base of the Bayesian estimators: checks, preparing the model data, sampling, results.

The pieces live in modules of their own: the likelihood families
(:mod:`bwestimators._families`), cells and the parameterization choice
(:mod:`bwestimators._cells`), posterior summaries and convergence
(:mod:`bwestimators._summaries`), predictions and the ArviZ data
(:mod:`bwestimators._predictive`), the samplers (:mod:`bwestimators.inference`).
This class orchestrates them.
"""

from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from bwestimators import _cells
from bwestimators._base import EffectsEstimatorMixin
from bwestimators._families import LIKELIHOODS, YScale, get_family
from bwestimators._predictive import PosteriorPredictiveMixin
from bwestimators._summaries import (
    MAX_R_HAT,
    MIN_ESS,
    PosteriorSummaryMixin,
    convergence_report,
    ess_rhat,
)
from bwestimators.exceptions import InputError
from bwestimators.spec import ColumnSpec

#: Fewest draws (``num_samples * num_chains``, the default's 4000) from which a fit that just
#: misses the R-hat or ESS threshold without divergences samples twice as long chains.
EXTEND_FROM_DRAWS = 4000
#: Highest R-hat that more chains are expected to bring under ``MAX_R_HAT``.
EXTEND_MAX_R_HAT = 1.05 if MAX_R_HAT < 1.05 else MAX_R_HAT


class BayesianEstimatorBase(
    PosteriorSummaryMixin,
    PosteriorPredictiveMixin,
    EffectsEstimatorMixin,
    RegressorMixin,
    BaseEstimator,
):
    """Base of the Bayesian estimators; subclasses give the model and its results."""

    _categorical_treatment = True

    _parameter_constraints: ClassVar[dict] = {
        "spec": [ColumnSpec, None],
        "dist_y": [StrOptions(set(LIKELIHOODS))],
        "parameterization": [StrOptions({"auto", "centered", "noncentered"})],
        "priors": [dict, None],
        "method": [StrOptions({"nuts", "svi", "importance"})],
        "num_warmup": [Interval(Integral, 0, None, closed="left")],
        "num_samples": [Interval(Integral, 1, None, closed="left")],
        "num_chains": [Interval(Integral, 1, None, closed="left")],
        "target_accept_prob": [Interval(Real, 0, 1, closed="neither")],
        "max_tree_depth": [Interval(Integral, 1, None, closed="left")],
        "dense_mass": ["boolean"],
        "num_steps": [Interval(Integral, 1, None, closed="left")],
        "guide": [StrOptions({"normal", "laplace"})],
        "hdi_prob": [Interval(Real, 0, 1, closed="neither")],
        "progress_bar": ["boolean"],
        "random_state": ["random_state"],
        "add_group_intercept": ["boolean"],
    }

    #: Name of the numpyro model function in :mod:`bwestimators.models`, imported only when a
    #: sampler is traced (so that neither importing the estimator classes nor a fit on a sampler
    #: exported to the disk cache imports numpyro; see :mod:`bwestimators._model_ref`).
    _model_name = None

    def _model_fn(self):
        from bwestimators._model_ref import BuiltinModel

        return BuiltinModel(self._model_name)

    # ---- to be given by subclasses -------------------------------------------------
    def _config(self, data, centered, codes):  # pragma: no cover - abstract
        raise NotImplementedError

    def _extra_data(self, codes, cells):
        """Model data beyond the cells (arrays whose shapes the configuration fixes)."""
        return {}

    def _cell_codes(self, data, predict=False):  # pragma: no cover - abstract
        raise NotImplementedError

    def _row_mu(self, draws, codes, t):  # pragma: no cover - abstract
        raise NotImplementedError

    def _effect_draws(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _results(self, draws, data):  # pragma: no cover - abstract
        raise NotImplementedError

    def _choose_structure(self, codes, t, data):
        """Resolve the data-dependent model switches ("auto" options) into fitted attributes."""

    def _treatment_center(self, t):
        """The value subtracted from the treatment inside the model (0: none)."""
        return 0.0

    def _random_effects(self):
        """The model's random effects, among those :func:`_cells.choose_centered` judges."""
        return ("group",) if self.add_group_intercept else ()

    # ---- checks ----------------------------------------------------------------------
    def _check_params(self):
        self._validate_params()
        unknown = set(self.priors or {}) - set(_cells.DEFAULT_PRIORS)
        if unknown:
            raise InputError(
                f"Unknown prior(s) {sorted(unknown)}; the priors dict takes "
                f"{sorted(_cells.DEFAULT_PRIORS)}."
            )

    def _needs_group(self):
        return bool(self.add_group_intercept) and self._group_given()

    def _group_given(self):
        return self.spec is None or getattr(self.spec, "group", None) is not None

    # ---- fit -------------------------------------------------------------------------
    def fit(self, X, y):
        """Fit the model by NUTS (or SVI).

        Parameters
        ----------
        X : DataFrame
            The raw columns named by ``spec``, or the output of a ColumnSpec when
            ``spec`` is None.
        y : array-like of shape (n_samples,)
            Outcome.

        Returns
        -------
        self : estimator
        """
        from tqdm.auto import tqdm

        bar = tqdm(
            total=3,
            desc=type(self).__name__,
            disable=not self.progress_bar,
            bar_format="{desc}: {n}/{total}{postfix} [{elapsed}]",
        )
        try:
            bar.set_postfix_str("checking and collapsing the data")
            cells, seed_value = self._prepare(X, y)
            bar.update(1)
            bar.set_postfix_str(f"{self.method.upper()} (compiled once per model shape)")
            draws, stats = self._sample(cells, seed_value)
            draws, stats, values = _more_draws(self, cells, seed_value, draws, stats)
            bar.update(1)
            bar.set_postfix_str("summaries and diagnostics")
            self._finish(draws, stats, values)
            bar.update(1)
            bar.set_postfix_str("done")
        finally:
            bar.close()
        return self

    def fit_many(self, Xs, ys):
        """Fit clones of this estimator to many datasets, in vectorized sampler calls.

        Datasets whose model has the same configuration and padded shape (for
        example, the datasets of a power sweep) are sampled together in one
        ``jax.vmap`` of the NUTS program: on a CPU, 50 LFP-sized datasets
        sample about twice as fast together as one after the other. A group of
        datasets smaller than ``Xs`` (datasets of one configuration among
        others) is sampled in chunks of powers of two, so that a sweep compiles
        a few vectorized programs per configuration, not one per group size
        (see :func:`_chunks`). Each clone
        gets the seed of ``random_state``, as with :meth:`fit`; results agree
        with :meth:`fit` in distribution, not to the last digit.

        The rule of :meth:`fit` for a fit that just misses R-hat or ESS
        (twice as long chains, see :func:`_more_draws`) applies to each
        dataset after the vectorized sampling: such a dataset (rare) is
        sampled again alone, by the path of :meth:`fit`, so its draws are
        those that :meth:`fit` would return for it after its own near miss.

        Parameters
        ----------
        Xs : sequence of DataFrame
        ys : sequence of array-like

        Returns
        -------
        estimators : list of fitted estimators, one per dataset
        """
        from sklearn.base import clone

        if len(Xs) != len(ys):
            raise InputError(f"{len(Xs)} datasets in Xs but {len(ys)} in ys.")
        fitted = [clone(self) for _ in Xs]
        prepared = [est._prepare(X, y) for est, X, y in zip(fitted, Xs, ys, strict=True)]
        if self.method == "svi":
            for est, (cells, seed_value) in zip(fitted, prepared, strict=True):
                est._finish(*est._sample(cells, seed_value))
            return fitted
        batches = {}
        for i, (est, (cells, _)) in enumerate(zip(fitted, prepared, strict=True)):
            shapes = tuple(sorted((k, np.shape(v)) for k, v in cells.items()))
            batches.setdefault((est._padded_config, shapes), []).append(i)
        sample = _importance_batch if self.method == "importance" else _nuts_batch
        for (cfg, _), idx in batches.items():
            for part in _chunks(idx, len(Xs)):
                sample(self, cfg, [fitted[i] for i in part], [prepared[i] for i in part])
        return fitted

    def _sampler_settings(self):
        return {
            "num_warmup": int(self.num_warmup),
            "num_samples": int(getattr(self, "_draws_per_chain", None) or self.num_samples),
            "num_chains": int(self.num_chains),
            "target_accept_prob": self.target_accept_prob,
            "max_tree_depth": int(self.max_tree_depth),
            "dense_mass": bool(self.dense_mass),
        }

    def _prepare(self, X, y):
        """Check the input, set the data-derived attributes, return the model data and seed."""
        self._check_params()
        self.family_ = get_family(self.dist_y)
        self._sampler = self.method  # "nuts" where importance sampling cannot be trusted
        self._importance_stats = None
        data = self._resolve(X, fit=True)
        y = self._check_y(y, data)
        self._check_roles(data, need_group=self._needs_group())
        self.family_.check_support(y)
        self.y_scale_ = YScale(self.family_, y)
        z = self.y_scale_.forward(y)
        self.treatment_levels_ = _categorical_levels(data)
        codes = self._cell_codes(data)
        t = data.Z["treatment"].to_numpy(dtype=float)
        self._choose_structure(codes, t, data)
        self.treatment_center_ = self._treatment_center(t)
        cells = _cells.collapse(codes, t - self.treatment_center_, z, self.family_)
        # a categorical treatment's level index is no dose: its prior scale and the centering
        # choice see whether a row has a non-reference level (the dummies' scale)
        t_scale = (t != 0).astype(float) if self.treatment_levels_ else t
        constants = _cells.prior_constants(self.priors, self.family_, y, t_scale)
        cells.update({k: np.float32(v) for k, v in constants.items()})
        self.centered_ = _cells.choose_centered(
            self.parameterization,
            codes,
            z,
            t_scale,
            self.family_,
            _structure_method(self.method),
            self._random_effects(),
        )
        self.config_ = self._config(data, self.centered_, codes)
        cells.update(self._extra_data(codes, cells))
        cells = _pad_levels(self, cells, codes)
        self._fit_rows = {"codes": codes, "t": t, "y": y}
        self._data_ = data
        seed_value = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
        return cells, seed_value

    def _unpad(self, draws, batch_axes=0):
        """Draws of the real levels only (see :func:`_pad_levels`)."""
        return _cells.unpad_draws(draws, self.config_, self._padded_config, batch_axes)

    def _sample(self, cells, seed_value):
        draws, stats = self._sample_padded(cells, seed_value)
        return self._unpad(draws), stats

    def _sample_padded(self, cells, seed_value):
        from bwestimators import inference

        if self._sampler == "importance":
            return _importance_sample(self, cells, seed_value)
        if self._sampler == "nuts":
            return inference.run_nuts(
                self._model_fn(),
                self._padded_config,
                cells,
                seed_value=seed_value,
                **self._sampler_settings(),
            )
        # stats: losses, num_steps (run), converged, final_loss, pareto_k
        return inference.run_svi(
            self._model_fn(),
            self._padded_config,
            cells,
            guide=self.guide,
            num_steps=int(self.num_steps),
            num_draws=int(self.num_samples) * int(self.num_chains),
            seed_value=seed_value,
            progress_bar=bool(self.progress_bar),
        )

    def _finish(self, draws, stats, diagnostic_values=None):
        """Keep the draws and compute the results and diagnostics.

        ``diagnostic_values`` are the bulk ESS, tail ESS and R-hat of
        :meth:`_diagnostic_draws` (kept as ``_convergence``), when the caller
        computed them already (for a batch of fits at once in :meth:`fit_many`).
        """
        self.draws_ = draws
        self.sample_stats_ = stats
        if diagnostic_values is None and self._sampler in ("svi", "importance"):
            # one "chain" of draws resampled by importance weights, some repeated: no R-hat,
            # and the ESS of every quantity is that of the weights (_psis.resample_ess)
            k = self._diagnostic_draws().shape[-1]
            ess = np.full(k, float(stats["psis_ess"]))
            diagnostic_values = (ess, ess, np.full(k, np.nan))
        elif diagnostic_values is None:
            diagnostic_values = ess_rhat(self._diagnostic_draws())
        self._convergence = diagnostic_values
        self._results(draws, self._data_)
        self._diagnose()
        self._idata = None

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True
        return tags


def _nuts_batch(est, cfg, fitted, prepared):
    """Sample the datasets of one configuration in one vectorized NUTS call and finish the fits."""
    from bwestimators import inference

    draws, stats = inference.run_nuts_batched(
        est._model_fn(),
        cfg,
        [cells for cells, _ in prepared],
        [seed_value for _, seed_value in prepared],
        **est._sampler_settings(),
    )
    _finish_batch(fitted, prepared, draws, stats)


def _importance_batch(est, cfg, fitted, prepared):
    """Importance-sample the datasets of one configuration in one vectorized call, finish the fits.

    A fit whose importance weights cannot be trusted is sampled again alone
    by NUTS (:func:`_more_draws`), as :meth:`~BayesianEstimatorBase.fit` does.
    """
    from bwestimators._importance import run_importance_batched

    out = run_importance_batched(
        est._model_fn(),
        cfg,
        [cells for cells, _ in prepared],
        [seed_value for _, seed_value in prepared],
        num_draws=_importance_draws(est),
    )
    if out is None:  # too many dimensions to importance-sample: NUTS, vectorized as well
        for fit in fitted:
            fit._sampler = "nuts"
        _nuts_batch(est, cfg, fitted, prepared)
        return
    for j, (fit, (cells, seed_value)) in enumerate(zip(fitted, prepared, strict=True)):
        draws, stats = fit._unpad(out[0][j]), out[1][j]
        fit._finish(*_more_draws(fit, cells, seed_value, draws, stats))


def _importance_draws(est):
    """Draws an importance-sampled fit returns: as many as its NUTS chains would."""
    return int(est.num_samples) * int(est.num_chains)


def _importance_sample(est, cells, seed_value):
    """One fit's importance-sampled draws and stats, or NUTS's when its dimension is too large."""
    from bwestimators._importance import run_importance_batched

    out = run_importance_batched(
        est._model_fn(), est._padded_config, [cells], [seed_value], num_draws=_importance_draws(est)
    )
    if out is None:
        est._sampler = "nuts"
        return est._sample_padded(cells, seed_value)
    return out[0][0], out[1][0]


def _structure_method(method):
    """The sampler the model's structure is chosen for: importance sampling falls back to NUTS."""
    return "svi" if method == "svi" else "nuts"


def _finish_batch(fitted, prepared, draws, stats):
    """Finish the fits of one vectorized call (:meth:`~BayesianEstimatorBase.fit_many`).

    ``draws`` and ``stats`` have the datasets on their first axis. The ESS and
    R-hat of all the fits come from one vectorized call; a fit that just misses
    them is sampled again alone with twice as long chains (:func:`_more_draws`),
    as :meth:`~BayesianEstimatorBase.fit` does.
    """
    stacks = []
    for j, est in enumerate(fitted):
        est.draws_ = est._unpad({k: v[j] for k, v in draws.items()})
        stacks.append(est._diagnostic_draws())
    values = ess_rhat(np.concatenate(stacks, axis=-1))
    bounds = np.cumsum([0] + [st.shape[-1] for st in stacks])
    for j, (est, (cells, seed_value)) in enumerate(zip(fitted, prepared, strict=True)):
        own = tuple(v[bounds[j] : bounds[j + 1]] for v in values)
        own_stats = {k: v[j] for k, v in stats.items()}
        est._finish(*_more_draws(est, cells, seed_value, est.draws_, own_stats, own))


def _chunks(idx, full):
    """``idx`` cut into vectorized calls: all of it when it has ``full`` items, else powers of two.

    A sampler is compiled once per number of datasets it vectorizes over: a
    group of ``full`` datasets (a whole batch of one configuration) is one
    call; a smaller group (a batch whose datasets got different
    configurations) is cut into powers of two, largest first (37 -> 32, 4,
    1), so that at most ``log2(full) + 2`` programs per configuration are
    ever compiled.

    Examples
    --------
    >>> from bwestimators._bayes import _chunks
    >>> [len(c) for c in _chunks(list(range(37)), 50)]
    [32, 4, 1]
    >>> [len(c) for c in _chunks(list(range(50)), 50)]
    [50]
    """
    if len(idx) == full:
        return [idx]
    out, start = [], 0
    while start < len(idx):
        size = 1 << ((len(idx) - start).bit_length() - 1)
        out.append(idx[start : start + size])
        start += size
    return out


def _categorical_levels(data):
    """All levels of a categorical treatment (k >= 3, reference first), else None."""
    meta = data.meta or {}
    if meta.get("treatment_kind") != "categorical":
        return None
    return list(meta["treatment_levels"])


def _pad_levels(est, cells, codes, padded=None):
    """The sampled configuration (``_padded_config``): a compiled one of more levels, if any.

    A dataset with a few groups, group2 levels or conditions fewer than
    those of a sampler compiled in this process (at most
    :data:`_cells.MAX_PADDING` times as many) runs on it, its levels padded
    (:func:`_cells.reusable_config`), instead of compiling its own; the
    model data get the masks of the real levels. The draws are sliced back
    to the real levels right after sampling (``_unpad``). ``padded``
    forces a configuration.
    """
    est._padded_config = est.config_
    if est._model_name not in _cells.PADDED_MODELS:
        return cells
    from bwestimators import inference

    user_model = getattr(est, "model", None) is not None  # gets the masks, never padding
    sharing = inference.sharing_compiled_samplers() and not user_model
    if padded is None and est.method == "nuts" and sharing:
        compiled = inference.compiled_configs(
            est._model_fn(), est._sampler_settings(), cells, _cells.LEVEL_DATA_KEYS
        )
        padded = _cells.reusable_config(est.config_, [c for c, _ in compiled])
        sizes = [size for c, size in compiled if c == padded]
        if sizes:  # its cells too: as many as the compiled sampler's
            cells = _cells.pad_cells(cells, min(sizes))
    est._padded_config = padded or est.config_
    cells = _cells.pad_level_data(cells, est.config_, est._padded_config)
    within = float(np.exp(cells["log_var_ref"]))
    cells.update(_cells.level_masks(est.config_, est._padded_config, codes, within))
    return cells


def _more_draws(est, cells, seed_value, draws, stats, values=None):
    """Draws, stats and their ESS/R-hat; twice as long chains where they help.

    A NUTS fit of at least :data:`EXTEND_FROM_DRAWS` draws without
    divergences whose R-hat or ESS only just misses its threshold (R-hat
    up to :data:`EXTEND_MAX_R_HAT`, ESS at least half of ``MIN_ESS``) is
    sampled again with twice ``num_samples`` per chain (the same seed and
    warmup): a weakly identified parameter (the subject and the residual
    sd of one row per subject and level, R's sleep data) mixes slowly, not
    wrongly, and a chain that lingers in its tail needs longer chains, not
    more of them. Divergences are not cured by more draws, and a fit far
    off is reported as it is. ``diagnostics_["num_samples"]`` says what ran.
    ``values`` are the ESS and R-hat of ``draws`` when the caller has them
    (:meth:`~BayesianEstimatorBase.fit_many`, which computes those of a
    batch at once); the longer chains are sampled by :meth:`fit`'s path.

    An importance-sampled fit (``method="importance"``) is kept when its
    weights can be trusted: the mode found, a Pareto k-hat at most 0.7 and
    an ESS of the weights of at least ``MIN_ESS`` (the draws resampled from
    them count as fewer, ``diagnostics_`` reports those, and warns below
    ``MIN_ESS`` as for short chains). Otherwise the same model is sampled by
    NUTS, to which the rule above applies.
    """
    if est._sampler == "importance":
        est._importance_stats = stats
        if stats["reliable"] and stats["weights_ess"] >= MIN_ESS:
            return draws, stats, None
        est._sampler = "nuts"  # the weights cannot be trusted: NUTS, on the same model
        draws, stats = est._sample(cells, seed_value)
    if est._sampler != "nuts":  # SVI: the ESS of its importance weights (:meth:`_finish`)
        return draws, stats, None
    est.draws_ = draws
    if values is None:
        values = ess_rhat(est._diagnostic_draws())
    if int(est.num_samples) * int(est.num_chains) < EXTEND_FROM_DRAWS:
        return draws, stats, values
    numbers, problems = convergence_report(values, stats)
    low = min(numbers["min_ess_bulk"], numbers["min_ess_tail"])
    near = numbers["max_r_hat"] <= EXTEND_MAX_R_HAT and low >= MIN_ESS / 2
    if not problems or numbers["divergences"] or not near:
        return draws, stats, values
    est._draws_per_chain = 2 * int(est.num_samples)
    try:
        draws, stats = est._sample(cells, seed_value)
    finally:
        est._draws_per_chain = None
    est.draws_ = draws
    return draws, stats, ess_rhat(est._diagnostic_draws())
