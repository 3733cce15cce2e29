"""Posterior summaries: mean, sd, HDI, probability of being positive, ESS and R-hat, and the
convergence verdict of a fit (numpy and ArviZ's array statistics; no jax).
"""

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from bwestimators._psis import MAX_PARETO_K
from bwestimators._warn import warn

#: Thresholds of a clean NUTS fit (Vehtari et al. 2021).
MAX_R_HAT = 1.01
MIN_ESS = 400


def ess_rhat(stacked):
    """Bulk ESS, tail ESS and R-hat of (chains, draws, k) draws; NaN under 4 draws."""
    from bwestimators._diagnostics import diagnostics

    if stacked.shape[1] < 4:
        nan = np.full(stacked.shape[-1], np.nan)
        return nan, nan, nan
    return diagnostics(stacked)


def summarize_draws(draws, hdi_prob, with_diagnostics=True):
    """Mean, sd, HDI, probability of being positive, bulk and tail ESS and r_hat of draws.

    Parameters
    ----------
    draws : ndarray of shape (n_chains, n_draws, k) or (n_chains, n_draws)
    hdi_prob : float
    with_diagnostics : bool, default=True
        Compute ESS and r_hat (NaN otherwise, and for a single chain's r_hat).

    Returns
    -------
    summary : dict of ndarray, each of shape (k,)

    Examples
    --------
    >>> import numpy as np
    >>> from bwestimators._summaries import summarize_draws
    >>> draws = np.random.default_rng(0).normal(1.0, 0.1, size=(2, 500, 1))
    >>> s = summarize_draws(draws, 0.94)
    >>> bool(s["lower"][0] < 1.0 < s["upper"][0]), float(s["prob_positive"][0])
    (True, 1.0)
    """
    from bwestimators._hdi import hdi as highest_density

    draws = np.asarray(draws, dtype=float)
    if draws.ndim == 2:
        draws = draws[..., None]
    flat = draws.reshape(-1, draws.shape[-1])
    hdi = highest_density(flat, hdi_prob)
    nan = np.full(draws.shape[-1], np.nan)
    ess_bulk = ess_tail = r_hat = nan
    if with_diagnostics:
        ess_bulk, ess_tail, r_hat = ess_rhat(draws)
    return {
        "mean": flat.mean(axis=0),
        "sd": flat.std(axis=0, ddof=1),
        "lower": hdi[..., 0],
        "upper": hdi[..., 1],
        "prob_positive": (flat > 0).mean(axis=0),
        "ess_bulk": ess_bulk,
        "ess_tail": ess_tail,
        "r_hat": r_hat,
    }


def _finite_extreme(values, fn):
    finite = np.asarray(values)[np.isfinite(values)]
    return float(fn(finite)) if finite.size else np.nan


def convergence_report(convergence, sample_stats):
    """The diagnostics of a NUTS fit and the problems found in them.

    Parameters
    ----------
    convergence : tuple of ndarray
        Bulk ESS, tail ESS and R-hat of every parameter.
    sample_stats : dict
        The sampler's statistics (``diverging``).

    Returns
    -------
    numbers : dict
        ``divergences``, ``min_ess_bulk``, ``min_ess_tail``, ``max_r_hat``.
    problems : list of str
        What is wrong, in words (empty for a clean fit).
    """
    ess_bulk, ess_tail, r_hat = convergence
    div = int(np.sum(sample_stats["diverging"])) if "diverging" in sample_stats else 0
    numbers = {
        "divergences": div,
        "min_ess_bulk": _finite_extreme(ess_bulk, np.min),
        "min_ess_tail": _finite_extreme(ess_tail, np.min),
        "max_r_hat": _finite_extreme(r_hat, np.max),
    }
    problems = []
    if div > 0:
        problems.append(f"{div} divergent transitions")
    if numbers["max_r_hat"] > MAX_R_HAT:
        problems.append(f"r_hat up to {numbers['max_r_hat']:.4f} (> {MAX_R_HAT})")
    low = min(numbers["min_ess_bulk"], numbers["min_ess_tail"])
    if low < MIN_ESS:
        problems.append(f"effective sample size down to {low:.0f} (< {MIN_ESS})")
    return numbers, problems


def svi_report(stats, num_steps):
    """The diagnostics of an SVI fit and the problems found in them.

    Parameters
    ----------
    stats : dict
        From :func:`bwestimators.inference.run_svi`: ``losses``, ``num_steps``,
        ``converged``, ``final_loss``, ``pareto_k``, ``psis_corrected``, ``psis_ess``.
    num_steps : int
        The most steps the fit was allowed.

    Returns
    -------
    numbers : dict
        ``svi_converged`` (the loss reached its plateau), ``svi_steps`` (steps
        run), ``svi_final_loss`` (mean ELBO loss of the last window of steps),
        ``pareto_k`` (PSIS k-hat of the importance weights against the model of
        the draws resampled; of the guide's draws when no proposal had a k-hat
        of at most 0.7, the guide is then no usable approximation of the
        posterior), ``psis_corrected`` (the draws were resampled by their
        importance weights), ``psis_ess`` (the effective sample size of the
        draws; also the ``ess_bulk`` and ``ess_tail`` of ``effects_``) and
        ``psis_proposal_scale`` (the proposal resampled: the guide, 1, or the
        guide widened by this factor).
    problems : list of str
        What is wrong, with its remedy (empty for a clean fit).

    Examples
    --------
    >>> stats = {"converged": True, "num_steps": 3000, "final_loss": 12.5,
    ...          "pareto_k": 0.9, "psis_corrected": False, "psis_ess": 35.0}
    >>> numbers, problems = svi_report(stats, 20000)
    >>> numbers["psis_corrected"], len(problems)
    (False, 1)
    """
    numbers = {
        "svi_converged": bool(stats["converged"]),
        "svi_steps": int(stats["num_steps"]),
        "svi_final_loss": float(stats["final_loss"]),
        "pareto_k": float(stats["pareto_k"]),
        "psis_corrected": bool(stats.get("psis_corrected", False)),
        "psis_ess": float(stats.get("psis_ess", np.nan)),
        "psis_proposal_scale": float(stats.get("psis_proposal_scale", np.nan)),
    }
    problems = []
    if not numbers["svi_converged"]:
        problems.append(
            f"SVI stopped at num_steps={num_steps} before its loss reached a plateau; "
            "increase num_steps, or use method='nuts'."
        )
    if not numbers["pareto_k"] <= MAX_PARETO_K:
        problems.append(
            f"the SVI guide is a poor approximation of the posterior (Pareto k-hat "
            f"{numbers['pareto_k']:.2f} > {MAX_PARETO_K}): its draws could not be corrected "
            "by importance sampling and its intervals may be too narrow; use method='nuts' "
            "for calibrated intervals."
        )
    elif numbers["psis_ess"] < MIN_ESS:
        problems.append(
            f"the importance-weighted SVI draws count as {numbers['psis_ess']:.0f} "
            f"independent draws (< {MIN_ESS}); increase num_samples (the importance "
            "sampling weighs twice num_samples * num_chains draws of the guide, at least 8000, "
            "so its ESS grows in proportion beyond 4000 draws), or use method='nuts'."
        )
    return numbers, problems


class PosteriorSummaryMixin:
    """Tables of a fitted Bayesian estimator: effects, variance components, convergence.

    A mixin of :class:`bwestimators._bayes.BayesianEstimatorBase`; reads
    ``draws_``, ``hdi_prob`` and the subclass's ``_effect_draws``.
    """

    def _diagnostic_draws(self):
        """The draws whose ESS and R-hat are reported, (chains, draws, k).

        The reported effects first (their ESS goes to ``effects_``), then every
        parameter (for ``diagnostics_``).
        """
        effects = np.asarray(self._effect_draws())
        parts = [effects.reshape(*effects.shape[:2], -1)]
        parts += [np.asarray(d).reshape(d.shape[0], d.shape[1], -1) for d in self.draws_.values()]
        return np.concatenate(parts, axis=-1)

    def _diagnose(self):
        if self.method == "svi":
            return self._diagnose_svi()
        numbers, problems = convergence_report(self._convergence, self.sample_stats_)
        # one "chain" of resampled draws for importance sampling; twice num_samples when a
        # fit that just missed a threshold sampled longer chains
        num_chains, num_samples = np.shape(next(iter(self.draws_.values())))[:2]
        self.diagnostics_ = {
            **numbers,
            "num_chains": int(num_chains),
            "num_samples": int(num_samples),
            "centered": list(self.centered_),
            "marginalized": list(getattr(self, "marginalized_", ())),
            "sampler": self._sampler,
        }
        if self.method == "importance":
            tried = self._importance_stats or {}
            self.diagnostics_["pareto_k"] = float(tried.get("pareto_k", np.nan))
        self.warnings_ = []
        if not problems:
            return
        message = f"{type(self).__name__}: {'; '.join(problems)}. {self._remedy()}"
        self.warnings_.append(message)
        warn(message, ConvergenceWarning)

    def _remedy(self):
        """What to try, for the problem at hand (divergences, or slow mixing without them)."""
        centered = list(self.centered_) or "none"
        marginalized = list(getattr(self, "marginalized_", ()))
        if marginalized:
            centered = f"{centered}; integrated out: {marginalized}"
        if self.diagnostics_["divergences"] and marginalized:
            return (
                f"The group effects were integrated out ({marginalized}), so no funnel of "
                "theirs diverged: the divergences come from the other effects or the scales. "
                "Try target_accept_prob=0.99, condition_pooling='none', or a simpler model."
            )
        if self.diagnostics_["divergences"]:
            return (
                "Divergences come from the geometry of the random effects: try "
                "parameterization='noncentered' (now centered: "
                f"{centered}), condition_pooling='none', or target_accept_prob=0.99; a "
                "simpler model (fewer random effects) if they persist."
            )
        return (
            "Without divergences, slow mixing comes from correlated parameters (for example "
            "a population intercept and effects with few levels): try dense_mass=True, then "
            f"more num_warmup/num_samples (now centered: {centered})."
        )

    def _diagnose_svi(self):
        """Diagnostics of an SVI fit (see :func:`svi_report`), warnings in ``warnings_``."""
        numbers, problems = svi_report(self.sample_stats_, int(self.num_steps))
        self.diagnostics_ = {
            **numbers,
            "num_chains": int(self.num_chains),
            "num_samples": int(self.num_samples),
            "centered": list(self.centered_),
            "sampler": "svi",
        }
        self.warnings_ = []
        for problem in problems:
            message = f"{type(self).__name__}: {problem}"
            self.warnings_.append(message)
            warn(message, ConvergenceWarning)

    def _summary(self, draws):
        """Mean, sd, HDI and probability of being positive of draws (chains, draws[, k])."""
        return summarize_draws(draws, self.hdi_prob, with_diagnostics=False)

    def _interval_attrs(self):
        """Method (``"bayes"``), interval ``"hdi"`` at ``hdi_prob``, the likelihood's scale."""
        return {
            "method": "bayes",
            "interval": "hdi",
            "level": self.hdi_prob,
            "scale": self.family_.report_scale,
        }

    def _effect_summary(self, data):
        """The effects table from the effect draws and their diagnostics."""
        s = self._summary(self._effect_draws())
        k = len(s["mean"])
        ess_bulk, ess_tail, r_hat = (v[:k] for v in self._convergence)
        return self._effects_table(
            data,
            {
                "estimate": s["mean"],
                "std_error": s["sd"],
                "lower": s["lower"],
                "upper": s["upper"],
                "prob_positive": s["prob_positive"],
                "ess_bulk": ess_bulk,
                "ess_tail": ess_tail,
                "r_hat": r_hat,
            },
        )

    def _summary_frame(self, draws, index=None):
        """Estimate, lower, upper of (chains, draws, k) draws, after the ``index`` columns."""
        import pandas as pd

        s = self._summary(draws)
        columns = {"estimate": s["mean"], "lower": s["lower"], "upper": s["upper"]}
        return pd.DataFrame({**(index or {}), **columns})

    def _variance_table(self, sites, scale):
        """Summary of each random-effect sd and the residual sd (``sites``: component -> site)."""
        present = {c: s for c, s in sites.items() if s in self.draws_}
        draws = np.stack([self.draws_[s] for s in present.values()], axis=-1) * scale
        table = self._summary_frame(draws).set_axis(list(present))
        table.index.name = "component"
        table.attrs = {**self._interval_attrs(), "quantity": "standard deviation"}
        return table

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
