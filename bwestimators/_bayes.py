"""The fitting machinery shared by the Bayesian estimators.

Input checks, the internal scale of y, collapsing rows to cells, padding,
running the sampler, summaries, predictions and the ArviZ data.
"""

import math
import warnings

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from bwestimators._base import EffectsEstimatorMixin

LIKELIHOODS = (
    "normal",
    "student",
    "lognormal",
    "gamma",
    "poisson",
    "negative_binomial",
    "exponential",
    "bernoulli",
)
_COLLAPSIBLE = ("normal", "lognormal")
_STANDARDIZED = ("normal", "student", "lognormal")
_POSITIVE = ("lognormal", "gamma", "exponential")
_COUNT = ("poisson", "negative_binomial")
_DEFAULT_PRIORS = {
    "intercept_scale": 2.5,
    "slope_scale": 2.5,
    "sd_scale": 1.0,
    "residual_scale": 1.0,
}
_MAX_DRAWS_TIMES_ROWS = 4_000_000


def _bucket(n):
    """Padded size for n cells: the next of 8, 12, 16, 24, 32, 48, ... (at most 1.5x)."""
    size = 8
    while size < n:
        size = size * 3 // 2 if size & (size - 1) == 0 else size * 4 // 3
    return size


def _check_y_support(dist_y, y):
    if dist_y in _POSITIVE and (y <= 0).any():
        raise ValueError(
            f"dist_y={dist_y!r} needs y > 0, but y has {int((y <= 0).sum())} value(s) <= 0. "
            "Use dist_y='normal' or 'student', or shift y."
        )
    if dist_y in _COUNT and ((y < 0).any() or (y != np.round(y)).any()):
        raise ValueError(
            f"dist_y={dist_y!r} needs non-negative integer counts in y; "
            f"{int(((y < 0) | (y != np.round(y))).sum())} value(s) are not."
        )
    if dist_y == "bernoulli" and not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("dist_y='bernoulli' needs y in {0, 1} (or bool).")


class YScale:
    """Internal scale of y: standardized y (or log y), or y as it is for link models."""

    def __init__(self, dist_y, y):
        self.dist_y = dist_y
        if dist_y in _STANDARDIZED:
            z = np.log(y) if dist_y == "lognormal" else y
            self.loc, self.scale = float(z.mean()), float(z.std())
            if self.scale == 0:
                raise ValueError("y is constant; there is nothing to estimate.")
        else:
            self.loc, self.scale = 0.0, 1.0

    def forward(self, y):
        """y on the internal scale."""
        if self.dist_y == "lognormal":
            y = np.log(y)
        return (y - self.loc) / self.scale

    def log_jacobian(self, y):
        """log |d internal / d y| per observation, to report densities in y's units."""
        if self.dist_y == "lognormal":
            return -np.log(y) - math.log(self.scale)
        return np.full(np.shape(y), -math.log(self.scale))


def _link_proxy(dist_y, y):
    """y roughly on the link scale, for choosing the parameterization."""
    if dist_y in ("gamma", "exponential"):
        return np.log(y)
    if dist_y in _COUNT:
        return np.log(y + 0.5)
    return y


def _nested(inner, outer):
    """Whether every level of ``inner`` lies within a single level of ``outer``."""
    inner, outer = np.asarray(inner, dtype=np.int64), np.asarray(outer, dtype=np.int64)
    base = int(outer.max(initial=0)) + 1
    levels = np.unique(inner * base + outer) // base
    return bool(len(levels) == len(np.unique(levels)))


def _informative(keys, z, t):
    """Median rows per level times the between-level over the within-level variance of z.

    The within-level variance is pooled within (level, treatment) cells, so a
    treatment effect does not count as noise; the between-level variance is the
    method-of-moments estimate (variance of the level means less their
    sampling variance), so pure noise scores 0.
    """
    _, level = np.unique(keys, return_inverse=True)
    t_values, t_code = np.unique(t, return_inverse=True)
    cell = level.ravel() * len(t_values) + t_code.ravel()
    n_cell = np.bincount(cell)
    sum_cell = np.bincount(cell, weights=z)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_cell = sum_cell / n_cell
        dev = np.bincount(cell, weights=(z - mean_cell[cell]) ** 2, minlength=len(n_cell))
        var_cell = dev / (n_cell - 1)
    within = var_cell[n_cell > 1].mean() if (n_cell > 1).any() else np.nan
    size = np.bincount(level.ravel()).astype(float)
    if not np.isfinite(within) or within <= 0 or len(size) < 2:
        return 0.0
    means = np.bincount(level.ravel(), weights=z) / size
    between = means.var(ddof=1) - within * np.mean(1.0 / size)
    return float(np.median(size) * max(between, 0.0) / within)


class BayesianEstimatorBase(EffectsEstimatorMixin, RegressorMixin, BaseEstimator):
    """Base of the Bayesian estimators; subclasses give the model and its results."""

    #: Name of the numpyro model function in :mod:`bwestimators.models`, imported on first fit
    #: (so that importing the estimator classes does not import jax).
    _model_name = None

    def _model_fn(self):
        import bwestimators.models

        return getattr(bwestimators.models, self._model_name)

    # ---- to be given by subclasses -------------------------------------------------
    def _config(self, data, centered, codes):  # pragma: no cover - abstract
        raise NotImplementedError

    def _extra_data(self, codes):
        """Model data beyond the cells (arrays whose shapes the configuration fixes)."""
        return {}

    def _cell_codes(self, data, predict=False):  # pragma: no cover - abstract
        raise NotImplementedError

    def _row_mu(self, draws, codes, t):  # pragma: no cover - abstract
        raise NotImplementedError

    def _results(self, draws, data):  # pragma: no cover - abstract
        raise NotImplementedError

    # ---- checks ----------------------------------------------------------------------
    def _check_params(self):
        if self.dist_y not in LIKELIHOODS:
            raise ValueError(f"dist_y must be one of {LIKELIHOODS}, got {self.dist_y!r}.")
        if self.method not in ("nuts", "svi"):
            raise ValueError(f"method must be 'nuts' or 'svi', got {self.method!r}.")
        if self.parameterization not in ("auto", "centered", "noncentered"):
            raise ValueError(
                "parameterization must be 'auto', 'centered' or 'noncentered', got "
                f"{self.parameterization!r}."
            )
        if not 0 < self.hdi_prob < 1:
            raise ValueError(f"hdi_prob must be in (0, 1), got {self.hdi_prob!r}.")
        for name in ("num_warmup", "num_samples", "num_chains"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < (
                0 if name == "num_warmup" else 1
            ):
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        unknown = set(self.priors or {}) - set(_DEFAULT_PRIORS)
        if unknown:
            raise ValueError(
                f"Unknown prior(s) {sorted(unknown)}; the priors dict takes "
                f"{sorted(_DEFAULT_PRIORS)}."
            )

    # ---- data ------------------------------------------------------------------------
    def _prior_constants(self, y, t):
        priors = {**_DEFAULT_PRIORS, **(self.priors or {})}
        t_sd = float(np.std(t)) or 1.0
        if self.dist_y in _STANDARDIZED:
            alpha_loc = 0.0
        elif self.dist_y == "bernoulli":
            p = float(np.clip(y.mean(), 0.01, 0.99))
            alpha_loc = math.log(p / (1 - p))
        else:
            alpha_loc = math.log(max(float(y.mean()), 1e-3))
        return {
            "alpha_loc": alpha_loc,
            "alpha_scale": priors["intercept_scale"],
            "beta_scale": priors["slope_scale"] / t_sd,
            "sd_scale": priors["sd_scale"],
            "resid_scale": priors["residual_scale"],
        }

    def _cells(self, codes, t, z):
        """Rows collapsed to cells (normal likelihoods) or kept, then padded."""
        n_rows = len(t)
        if self.dist_y in _COLLAPSIBLE:
            keys = np.column_stack([*codes.values(), t])
            _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
            inverse = inverse.ravel()
            n = np.bincount(inverse).astype(float)
            ybar = np.bincount(inverse, weights=z) / n
            ss = np.bincount(inverse, weights=(z - ybar[inverse]) ** 2)
            cell_codes = {k: v[first] for k, v in codes.items()}
            cell_t = t[first]
        else:
            n, ybar, ss = np.ones(n_rows), z, np.zeros(n_rows)
            cell_codes, cell_t = codes, t
        size = _bucket(len(n))
        pad = size - len(n)
        cells = {k: np.pad(v, (0, pad)).astype(np.int32) for k, v in cell_codes.items()}
        cells["t"] = np.pad(cell_t, (0, pad)).astype(np.float32)
        cells["n"] = np.pad(n, (0, pad)).astype(np.float32)
        cells["ybar"] = np.pad(ybar, (0, pad)).astype(np.float32)
        cells["ss"] = np.pad(ss, (0, pad)).astype(np.float32)
        return cells

    def _centered(self, codes, z, t):
        """Roles whose random effects are centered (a tuple, part of the model configuration).

        ``"auto"``: a role is centered when the data inform its levels strongly
        (:func:`_informative` above 1), except a grouping whose conditions are
        nested in it (each condition level within one group): the condition
        effects then absorb most of its variation, and it stays non-centered.
        SVI and bernoulli fits are non-centered.
        """
        roles = {"group": "g", "group2": "g2", "condition": "c"}
        if self.parameterization != "auto":
            return tuple(roles) if self.parameterization == "centered" else ()
        if self.method == "svi" or self.dist_y == "bernoulli":
            return ()
        proxy = _link_proxy(self.dist_y, z)
        has_cond = "c" in codes and codes["c"].max() > 0
        centered = []
        for role, key in roles.items():
            if key not in codes or codes[key].max() == 0:
                continue
            if role != "condition" and has_cond and _nested(codes["c"], codes[key]):
                continue
            if _informative(codes[key], proxy, t) > 1.0:
                centered.append(role)
        return tuple(centered)

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
        bar.set_postfix_str("checking and collapsing the data")
        cells, seed_value = self._prepare(X, y)
        bar.update(1)
        bar.set_postfix_str(f"{self.method.upper()} (compiled once per model shape)")
        draws, stats = self._sample(cells, seed_value)
        bar.update(1)
        bar.set_postfix_str("summaries and diagnostics")
        self._finish(draws, stats)
        bar.update(1)
        bar.set_postfix_str("done")
        bar.close()
        return self

    def fit_many(self, Xs, ys):
        """Fit clones of this estimator to many datasets, in vectorized sampler calls.

        Datasets whose model has the same configuration and padded shape (for
        example, the datasets of a power sweep) are sampled together in one
        ``jax.vmap`` of the NUTS program: on a CPU, 50 LFP-sized datasets
        sample about twice as fast together as one after the other. Each clone
        gets the seed of ``random_state``, as with :meth:`fit`; results agree
        with :meth:`fit` in distribution, not to the last digit.

        Parameters
        ----------
        Xs : sequence of DataFrame
        ys : sequence of array-like

        Returns
        -------
        estimators : list of fitted estimators, one per dataset
        """
        from sklearn.base import clone

        from bwestimators import inference

        if len(Xs) != len(ys):
            raise ValueError(f"{len(Xs)} datasets in Xs but {len(ys)} in ys.")
        fitted = [clone(self) for _ in Xs]
        prepared = [est._prepare(X, y) for est, X, y in zip(fitted, Xs, ys, strict=True)]
        if self.method != "nuts":
            for est, (cells, seed_value) in zip(fitted, prepared, strict=True):
                est._finish(*est._sample(cells, seed_value))
            return fitted
        batches = {}
        for i, (est, (cells, _)) in enumerate(zip(fitted, prepared, strict=True)):
            shapes = tuple(sorted((k, np.shape(v)) for k, v in cells.items()))
            batches.setdefault((est.config_, shapes), []).append(i)
        for (cfg, _), idx in batches.items():
            draws, stats = inference.run_nuts_batched(
                self._model_fn(),
                cfg,
                [prepared[i][0] for i in idx],
                [prepared[i][1] for i in idx],
                **self._sampler_settings(),
            )
            stacks = []
            for j, i in enumerate(idx):
                fitted[i].draws_ = {k: v[j] for k, v in draws.items()}
                stacks.append(fitted[i]._diagnostic_draws())
            # one vectorized diagnostics call for the whole batch
            values = self._ess_rhat(np.concatenate(stacks, axis=-1))
            bounds = np.cumsum([0] + [st.shape[-1] for st in stacks])
            for j, i in enumerate(idx):
                fitted[i]._finish(
                    fitted[i].draws_,
                    {k: v[j] for k, v in stats.items()},
                    tuple(v[bounds[j] : bounds[j + 1]] for v in values),
                )
        return fitted

    def _sampler_settings(self):
        return {
            "num_warmup": int(self.num_warmup),
            "num_samples": int(self.num_samples),
            "num_chains": int(self.num_chains),
            "target_accept_prob": self.target_accept_prob,
            "max_tree_depth": int(self.max_tree_depth),
            "dense_mass": bool(self.dense_mass),
        }

    def _prepare(self, X, y):
        """Check the input, set the data-derived attributes, return the model data and seed."""
        self._check_params()
        data = self._resolve(X, fit=True)
        y = self._check_y(y, len(data.Z))
        self._check_roles(data, need_group=self._needs_group())
        _check_y_support(self.dist_y, y)
        self.y_scale_ = YScale(self.dist_y, y)
        z = self.y_scale_.forward(y)
        codes = self._cell_codes(data)
        t = data.Z["treatment"].to_numpy(dtype=float)
        cells = self._cells(codes, t, z)
        cells.update({k: np.float32(v) for k, v in self._prior_constants(y, t).items()})
        self.centered_ = self._centered(codes, z, t)
        self.config_ = self._config(data, self.centered_, codes)
        cells.update(self._extra_data(codes))
        self._fit_rows = {"codes": codes, "t": t, "y": y}
        self._data_ = data
        seed_value = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
        return cells, seed_value

    def _sample(self, cells, seed_value):
        from bwestimators import inference

        if self.method == "nuts":
            return inference.run_nuts(
                self._model_fn(),
                self.config_,
                cells,
                seed_value=seed_value,
                **self._sampler_settings(),
            )
        draws, losses = inference.run_svi(
            self._model_fn(),
            self.config_,
            cells,
            guide=self.guide,
            num_steps=int(self.num_steps),
            num_draws=int(self.num_samples) * int(self.num_chains),
            seed_value=seed_value,
            progress_bar=bool(self.progress_bar),
        )
        return draws, {"losses": losses}

    def _finish(self, draws, stats, diagnostic_values=None):
        """Keep the draws and compute the results and diagnostics.

        ``diagnostic_values`` are the bulk ESS, tail ESS and R-hat of
        :meth:`_diagnostic_draws` (kept as ``_convergence``), when the caller
        computed them already (for a batch of fits at once in :meth:`fit_many`).
        """
        self.draws_ = draws
        self.sample_stats_ = stats
        if diagnostic_values is None:
            diagnostic_values = self._ess_rhat(self._diagnostic_draws())
        self._convergence = diagnostic_values
        self._results(draws, self._data_)
        self._diagnose()
        self._idata = None

    def _diagnostic_draws(self):
        """The draws whose ESS and R-hat are reported, (chains, draws, k).

        The reported effects first (their ESS goes to ``effects_``), then every
        parameter (for ``diagnostics_``).
        """
        effects = np.asarray(self._effect_draws())
        parts = [effects.reshape(*effects.shape[:2], -1)]
        parts += [np.asarray(d).reshape(d.shape[0], d.shape[1], -1) for d in self.draws_.values()]
        return np.concatenate(parts, axis=-1)

    @staticmethod
    def _ess_rhat(stacked):
        """Bulk ESS, tail ESS and R-hat of (chains, draws, k) draws; NaN under 4 draws."""
        from bwestimators._diagnostics import diagnostics

        if stacked.shape[1] < 4:
            nan = np.full(stacked.shape[-1], np.nan)
            return nan, nan, nan
        return diagnostics(stacked)

    def _effect_summary(self, data):
        """The effects table from the effect draws and their diagnostics."""
        s = self._summary(self._effect_draws())
        k = len(s["mean"])
        ess_bulk, ess_tail, r_hat = (v[:k] for v in self._convergence)
        return self._effects_table(
            data,
            {
                "estimate": s["mean"],
                "sd": s["sd"],
                "lower": s["lower"],
                "upper": s["upper"],
                "p_value": np.full(k, np.nan),
                "prob_positive": s["prob_positive"],
                "ess_bulk": ess_bulk,
                "ess_tail": ess_tail,
                "r_hat": r_hat,
            },
        )

    def _needs_group(self):
        return bool(self.add_group_intercept) and self._group_given()

    def _group_given(self):
        return self.spec is None or getattr(self.spec, "group", None) is not None

    # ---- summaries -------------------------------------------------------------------
    def _summary(self, draws):
        """Mean, sd, HDI and probability of being positive of draws (chains, draws[, k])."""
        from bwestimators.inference import summarize_draws

        draws = np.asarray(draws)
        if draws.ndim == 2:
            draws = draws[..., None]
        return summarize_draws(draws, self.hdi_prob, with_diagnostics=False)

    def _diagnose(self):
        ess_bulk = ess_tail = r_hat = np.array([np.nan])
        if self.method == "nuts":
            ess_bulk, ess_tail, r_hat = self._convergence
        div = int(self.sample_stats_["diverging"].sum()) if "diverging" in self.sample_stats_ else 0
        finite_rhat = r_hat[np.isfinite(r_hat)]
        self.diagnostics_ = {
            "divergences": div,
            "min_ess_bulk": float(np.nanmin(ess_bulk)) if np.isfinite(ess_bulk).any() else np.nan,
            "min_ess_tail": float(np.nanmin(ess_tail)) if np.isfinite(ess_tail).any() else np.nan,
            "max_r_hat": float(finite_rhat.max()) if finite_rhat.size else np.nan,
            "num_chains": int(self.num_chains),
            "num_samples": int(self.num_samples),
            "centered": list(self.centered_),
        }
        self.warnings_ = []
        if self.method != "nuts":
            return
        problems = []
        if div > 0:
            problems.append(f"{div} divergent transitions")
        if self.diagnostics_["max_r_hat"] > 1.01:
            problems.append(f"r_hat up to {self.diagnostics_['max_r_hat']:.4f} (> 1.01)")
        if self.diagnostics_["min_ess_bulk"] < 400 or self.diagnostics_["min_ess_tail"] < 400:
            low = min(self.diagnostics_["min_ess_bulk"], self.diagnostics_["min_ess_tail"])
            problems.append(f"effective sample size down to {low:.0f} (< 400)")
        if problems:
            message = (
                f"{type(self).__name__}: {'; '.join(problems)}. Try more num_warmup/num_samples "
                "or num_chains, parameterization='centered' or 'noncentered' (now centered: "
                f"{list(self.centered_) or 'none'}), or a simpler model (fewer random effects)."
            )
            self.warnings_.append(message)
            warnings.warn(message, ConvergenceWarning, stacklevel=3)

    def effect_draws(self):
        """Posterior draws of the treatment effect per condition, as reported in ``effects_``.

        Returns
        -------
        draws : ndarray of shape (n_chains * n_samples, n_rows_of_effects)
        """
        check_is_fitted(self, "draws_")
        d = np.asarray(self._effect_draws())
        if d.ndim == 2:
            d = d[..., None]
        return d.reshape(-1, d.shape[-1])

    # ---- prediction --------------------------------------------------------------------
    def _flat_draws(self, max_draws=None):
        flat = {k: v.reshape(-1, *v.shape[2:]) for k, v in self.draws_.items()}
        total = next(iter(flat.values())).shape[0]
        if max_draws is not None and total > max_draws:
            idx = np.linspace(0, total - 1, max_draws).astype(int)
            flat = {k: v[idx] for k, v in flat.items()}
        return flat

    def _likelihood_params(self, draws):
        return {k: draws[k] for k in ("sigma", "nu", "shape", "phi") if k in draws}

    def _predict_codes(self, X):
        data = self._resolve(X, fit=False)
        # unseen conditions are the model's business: population level or an error in _cell_codes
        self._check_predict_roles(data, unseen_condition_ok=True)
        return self._cell_codes(data, predict=True), data.Z["treatment"].to_numpy(dtype=float)

    def _moments(self, mu, params, need_var):
        """Mean and variance of y (in y's units) for linear predictors mu (draws x rows)."""
        from bwestimators.models._likelihoods import expected_value, observation_variance

        p = {k: v[:, None] for k, v in params.items()}
        s, loc = self.y_scale_.scale, self.y_scale_.loc
        if self.dist_y == "lognormal":
            sigma = p["sigma"] * s
            log_mu = loc + s * mu
            mean = np.exp(log_mu + sigma**2 / 2)
            var = (np.exp(sigma**2) - 1) * np.exp(2 * log_mu + sigma**2) if need_var else None
            return mean, var
        mean_int = np.asarray(expected_value(self.dist_y, mu, p))
        var = None
        if need_var:
            var = np.asarray(observation_variance(self.dist_y, mean_int, p)) * s**2
        return loc + s * mean_int, var

    def predict(self, X, return_std=False):
        """Posterior mean of the expected value of y.

        Groups not seen at fit time get the population-level prediction (their
        random effects set to zero).

        Parameters
        ----------
        X : DataFrame
        return_std : bool, default=False
            Also return the standard deviation of the posterior predictive
            distribution of y.

        Returns
        -------
        y_mean : ndarray of shape (n_samples,)
        y_std : ndarray of shape (n_samples,), only with ``return_std=True``
        """
        check_is_fitted(self, "draws_")
        codes, t = self._predict_codes(X)
        n_rows = len(t)
        draws = self._flat_draws()
        n_draws = next(iter(draws.values())).shape[0]
        block = max(1, _MAX_DRAWS_TIMES_ROWS // n_draws)
        params = self._likelihood_params(draws)
        mean = np.empty(n_rows)
        std = np.empty(n_rows) if return_std else None
        for start in range(0, n_rows, block):
            sl = slice(start, start + block)
            mu = self._row_mu(draws, {k: v[sl] for k, v in codes.items()}, t[sl])
            m, v = self._moments(mu, params, return_std)
            mean[sl] = m.mean(axis=0)
            if return_std:
                std[sl] = np.sqrt(m.var(axis=0) + v.mean(axis=0))
        return (mean, std) if return_std else mean

    def log_predictive_density(self, X, y, pointwise=False):
        """Log posterior predictive density of observed y, in y's units.

        For each row, ``log mean_s p(y_i | theta_s)`` over the posterior draws
        (groups not seen at fit time at their population level, random effects
        zero). Rows are treated one at a time (pointwise), as for held-out data.

        Parameters
        ----------
        X : DataFrame
        y : array-like of shape (n_samples,)
        pointwise : bool, default=False
            Return one value per row instead of the mean over rows.

        Returns
        -------
        lpd : float or ndarray of shape (n_samples,)
        """
        from scipy.special import logsumexp

        from bwestimators.models._likelihoods import observation_dist

        check_is_fitted(self, "draws_")
        codes, t = self._predict_codes(X)
        y = self._check_y(y, len(t))
        _check_y_support(self.dist_y, y)
        z = self.y_scale_.forward(y)
        jac = self.y_scale_.log_jacobian(y)
        draws = self._flat_draws()
        p = {k: v[:, None] for k, v in self._likelihood_params(draws).items()}
        n_draws = next(iter(draws.values())).shape[0]
        block = max(1, _MAX_DRAWS_TIMES_ROWS // n_draws)
        out = np.empty(len(y))
        for start in range(0, len(y), block):
            sl = slice(start, start + block)
            mu = self._row_mu(draws, {k: v[sl] for k, v in codes.items()}, t[sl])
            lp = np.asarray(observation_dist(self.dist_y, mu, p).log_prob(z[sl]))
            out[sl] = logsumexp(lp, axis=0) - np.log(n_draws) + jac[sl]
        return out if pointwise else float(out.mean())

    def sample_posterior_predictive(self, X, n_draws=100, random_state=None):
        """Draws of y from the posterior predictive distribution, in y's units.

        Parameters
        ----------
        X : DataFrame
        n_draws : int, default=100
            Posterior draws used (evenly spaced over the chains).
        random_state : int or None

        Returns
        -------
        y_draws : ndarray of shape (n_draws, n_samples)
        """
        import jax

        from bwestimators.models._likelihoods import observation_dist

        check_is_fitted(self, "draws_")
        codes, t = self._predict_codes(X)
        draws = self._flat_draws(max_draws=n_draws)
        p = {k: v[:, None] for k, v in self._likelihood_params(draws).items()}
        mu = self._row_mu(draws, codes, t)
        seed = int(check_random_state(random_state).randint(0, 2**31 - 1))
        z = np.asarray(observation_dist(self.dist_y, mu, p).sample(jax.random.PRNGKey(seed)))
        s, loc = self.y_scale_.scale, self.y_scale_.loc
        if self.dist_y == "lognormal":
            return np.exp(loc + s * z)
        return loc + s * z

    # ---- ArviZ -------------------------------------------------------------------------
    def _pointwise_loglik(self):
        from bwestimators.models._likelihoods import observation_dist

        rows = self._fit_rows
        y = rows["y"]
        z = self.y_scale_.forward(y)
        jac = self.y_scale_.log_jacobian(y)
        draws = self._flat_draws()
        params = self._likelihood_params(draws)
        n_draws = next(iter(draws.values())).shape[0]
        out = np.empty((n_draws, len(y)), dtype=np.float32)
        block = max(1, _MAX_DRAWS_TIMES_ROWS // n_draws)
        p = {k: v[:, None] for k, v in params.items()}
        for start in range(0, len(y), block):
            sl = slice(start, start + block)
            mu = self._row_mu(draws, {k: v[sl] for k, v in rows["codes"].items()}, rows["t"][sl])
            lp = np.asarray(observation_dist(self.dist_y, mu, p).log_prob(z[sl]))
            out[:, sl] = lp + jac[sl]
        n_chains = self.draws_[next(iter(self.draws_))].shape[0]
        return out.reshape(n_chains, -1, len(y))

    def _posterior_dims(self):
        """Variable name -> (dim name, coordinate labels) for vector parameters."""
        return {}

    @property
    def idata_(self):
        """ArviZ data (a DataTree): posterior, log_likelihood, observed_data, sample_stats.

        Built on first access (the pointwise log-likelihood has one value per
        draw and observation) and kept.
        """
        if not hasattr(self, "draws_"):
            raise AttributeError("idata_ exists after fit.")
        if getattr(self, "_idata", None) is None:
            self._idata = self._build_idata()
        return self._idata

    def _build_idata(self):
        from bwestimators._arviz import arviz

        az = arviz()

        dims_map = self._posterior_dims()
        posterior, dims, coords = {}, {}, {}
        for name, value in self.draws_.items():
            posterior[name] = np.asarray(value)
            if name in dims_map and np.ndim(value) == 3:
                dim, labels = dims_map[name]
                dims[name] = [dim]
                coords[dim] = [str(v) for v in labels]
        coords["obs"] = np.arange(len(self._fit_rows["y"]))
        groups = {
            "posterior": posterior,
            "log_likelihood": {"y": self._pointwise_loglik()},
            "observed_data": {"y": self._fit_rows["y"]},
        }
        if "diverging" in self.sample_stats_:
            groups["sample_stats"] = {
                "diverging": self.sample_stats_["diverging"],
                "n_steps": self.sample_stats_["num_steps"],
            }
        dims["y"] = ["obs"]
        return az.from_dict(groups, dims=dims, coords=coords)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_idata"] = None
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True
        return tags
