"""Bayesian hierarchical estimators: HierarchicalSlopeRegressor and ConditionMeansRegressor.

Treatment kinds
---------------
A binary treatment (0/1, or two coded levels) and a continuous one (its values,
an effect per unit) enter the slope model as one column with one slope per
condition. A categorical treatment of k >= 3 levels (``treatment_kind``
"categorical" in the ColumnSpec, coded 0..k-1 with the reference level 0)
enters as k - 1 reference-coded dummies: ``beta`` has shape (k - 1,),
``b_condition`` (n_conditions, k - 1) and ``b_group`` (n_groups, k - 1). Each
random slope effect has one standard deviation shared by its k - 1 dummies: a
spread per dummy would be estimated from the same few groups k - 1 times over
(each poorly identified, each with its own funnel), and one sd per component
keeps ``variance_components_`` one row per component. ``effects_`` then has
one row per (condition, non-reference level), condition-major, with a
``treatment_level`` column. A categorical treatment is never centered.

User models
-----------
``HierarchicalSlopeRegressor(model=fn, effect_site="beta")`` samples the
user's numpyro model ``fn(data, cfg)`` instead of
:func:`bwestimators.models.slope_model`. It receives the same arguments:

* ``data``, a dict of arrays, one entry per collapsed cell (padded with cells
  of ``n == 0``): ``t``, ``g``, ``g2``, ``c``, ``n``, ``ybar``, ``ss``, the 0-d
  ``log_var_ref`` and the prior constants ``alpha_loc``, ``alpha_scale``,
  ``beta_scale``, ``sd_scale``, ``resid_scale`` (see
  :mod:`bwestimators.models._slope`). y is on the internal scale
  (standardized for the normal likelihood).
* ``cfg``, the static :class:`~bwestimators.models.SlopeConfig` (hashable:
  numbers of groups, conditions, treatment levels and the structure
  switches). Python control flow may read ``cfg`` but not ``data``: the model
  is traced once per configuration and shape.

The likelihood is best written with the package's own pieces, so that the
data are read exactly as the built-in model reads them::

    mu = ...  # linear predictor per cell
    params = sample_likelihood_params(cfg.dist_y, data)
    numpyro.factor("loglik", jnp.sum(cell_loglik(cfg.dist_y, mu, data, params)))

(both from :mod:`bwestimators.models`). The treatment effect is the site named
by ``effect_site`` (a sample or deterministic site), of shape () or
(n_conditions,) (for a categorical treatment of k levels: (k - 1,) or
(n_conditions, k - 1), reference-coded), on the internal scale: it is reported
in units of y per unit of treatment as the built-in ``beta``. ``effects_``,
``diagnostics_``, ``variance_components_`` (the sd sites it shares with the
built-in model, ``sigma_group``, ``sigma``, ...), the displays that read
``effects_`` and power sweeps work with any such model. ``predict``, the
predictive densities and ``idata_``'s log-likelihood rebuild the linear
predictor from the built-in site names (``alpha``, ``beta``, ``a_group``,
``b_group``, ``a_group2``, ``a_condition``, ``b_condition``, and the
likelihood's parameters); a model that samples its effects under those names
gets them, others get an error that says so. Compiled samplers of a user's
model are cached in memory per function object (never on disk: the code it
calls cannot be digested reliably); jax's compilation cache still applies.
"""

from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import StrOptions

from bwestimators import _slope_draws
from bwestimators._bayes import BayesianEstimatorBase, _structure_method
from bwestimators._cells import (
    MIN_POOLED_LEVELS,
    auto_pooling,
    auto_structure,
    marginal_data,
    marginal_effects,
    marginal_kind,
    nested,
    treatment_center,
    treatment_confounded,
)
from bwestimators._configs import MeansConfig, SlopeConfig
from bwestimators._families import LIKELIHOODS, get_family
from bwestimators.exceptions import InputError

_LIKELIHOOD_CHOICES = "{" + ", ".join(map(repr, LIKELIHOODS)) + "}"
_COMMON_PARAMS_DOC = f"""
    dist_y : {_LIKELIHOOD_CHOICES}, default={LIKELIHOODS[0]!r}
        Likelihood. Normal and student are fitted on standardized y and every
        number is reported back in the units of y. Lognormal is fitted on
        standardized log y and reported on the natural-log scale of y.
        Gamma, poisson, negative_binomial and exponential use a log link and
        bernoulli a logit link; their effects are reported on that link scale
        (a slope of 0.1 is a factor exp(0.1) on the mean of y for log links).
    parameterization : {"auto", "centered", "noncentered"}, default="auto"
        Parameterization of the random effects. ``"auto"`` decides per
        effect (intercepts and slopes of group, group2, condition): centered
        when the data inform its levels strongly (median rows per level times
        the between-level over the within-level variance, moment-corrected,
        above 20; for group slopes in a model without conditions above 6) and
        it has at least 6 levels, non-centered otherwise. Intercepts beside
        non-centered slopes of the same grouping are centered only from 8
        levels (with 6 or 7 mice that mix diverged); a grouping with the
        conditions nested in it (neurons within mice) stays non-centered; SVI
        fits center from a lower score (above 1: a normal guide of the
        non-centered form of well-informed levels comes out several times too
        narrow); bernoulli fits are non-centered. ``centered_`` records the
        choice; :mod:`bwestimators._cells` holds the measurements behind
        each threshold. With a normal or lognormal likelihood and NUTS,
        ``"auto"`` integrates the random group effects (intercepts and slopes)
        out in closed form instead, unless conditions are nested in the
        groups: the sampler then sees only the population parameters and
        the scales, and draws the group effects from their exact conditional
        posterior (:mod:`bwestimators.models._marginal`, the same posterior
        as either parameterization; ``marginalized_`` records it).
    priors : dict or None, default=None
        Overrides of the weakly informative default priors, on the internal
        scale (standardized y, or the link scale): ``intercept_scale`` (2.5,
        normal around 0, or around the log/logit of the mean of y for link
        models), ``slope_scale`` (2.5, divided by the sd of the treatment),
        ``sd_scale`` (1.0, half-normal scale of every random-effect sd) and
        ``residual_scale`` (1.0, half-normal scale of the residual sd). Student's
        degrees of freedom, the gamma shape and the negative-binomial
        concentration have Gamma(2, 0.1) priors.
    method : {"nuts", "svi", "importance"}, default="nuts"
        NUTS sampling, stochastic variational inference (then ``guide`` and
        ``num_steps`` apply, and ``num_samples * num_chains`` draws are taken
        from the fitted guide), or importance sampling
        (:mod:`bwestimators._importance`): for a posterior of at most 8
        sampled dimensions, as when the group effects are integrated out
        (``marginalized_``, three scales left), Newton's method finds the
        posterior mode, Student-t proposals around it (then around the
        weighted moments of the first round) are weighted by ``p / q``,
        Pareto-smoothed, and ``num_samples * num_chains`` draws resampled:
        the same posterior as NUTS, in a few milliseconds per dataset, and
        vectorized over datasets by :meth:`fit_many` (what
        :data:`bwestimators.power.SWEEP_SAMPLER` uses). Where the weights
        cannot be trusted (Pareto k-hat above 0.7, an ESS under 400, no mode
        found) or the posterior has more dimensions, the fit runs NUTS
        instead, with ``num_warmup``, ``num_chains`` and the other NUTS
        settings; ``diagnostics_["sampler"]`` says which ran and
        ``diagnostics_["pareto_k"]`` gives the weights' k-hat. The proposals
        have one mode: a posterior of several separate modes would need NUTS
        (or several chains) to show.
    num_warmup : int, default=500
    num_samples : int, default=1000
        Draws per chain after warmup.
    num_chains : int, default=4
        Chains, all run by one compiled sampler.
    target_accept_prob : float, default=0.95
        NUTS's target acceptance rate (step-size adaptation), rstanarm's default
        for hierarchical models: at 0.9, 7 of 30 simulated datasets with
        animal-specific responses (8 groups) had a divergence, at 0.95 2 (one
        transition each).
    max_tree_depth : int, default=10
    dense_mass : bool, default=False
        Adapt a dense mass matrix during warmup instead of a diagonal one: more
        effective draws per draw when parameters are correlated (the group
        intercepts with the population intercept), at a higher cost per step.
    num_steps : int, default=20000
        The most SVI optimisation steps (Adam, in jitted chunks). SVI stops
        earlier when its ELBO loss reaches a plateau (relative change of the mean
        loss between windows of 1000 steps under 1e-3, or within its noise); a fit
        that hits ``num_steps`` first warns (ConvergenceWarning, kept in
        ``warnings_``). The guide's draws are then corrected by Pareto-smoothed
        importance sampling (resampled by their weights ``p / q`` against the
        model, Yao et al. 2018): a normal guide is narrower than the posterior.
        ``diagnostics_`` holds ``svi_converged``, ``svi_steps``,
        ``svi_final_loss``, ``pareto_k`` (PSIS k-hat of the guide's draws; above
        0.7, as on data with many weakly informed groups, the weights cannot be
        trusted: the draws stay uncorrected and a warning says the intervals may
        be too narrow), ``psis_corrected`` and ``psis_ess`` (the effective sample
        size of the draws, the ``ess_bulk`` and ``ess_tail`` of ``effects_``).
    guide : {"normal", "laplace"}, default="normal"
        SVI guide: ``AutoMultivariateNormal`` (a full-rank normal in the
        unconstrained space; a mean-field normal gave slope sds 6 times too
        narrow on hierarchical data) or ``AutoLaplaceApproximation``. A guide
        that comes out degenerate (draws not finite, or a zero posterior sd, as
        the Laplace approximation gives at a singular Hessian, common when a
        random-effect sd goes to 0) raises a RuntimeError rather than reporting a
        point mass as a confident result.
    hdi_prob : float, default=0.94
        Probability mass of the highest-density intervals in the results.
    progress_bar : bool, default=False
        Show a tqdm bar over the phases of the fit (data, sampling, summaries)
        with the elapsed time; NUTS runs as one compiled call, so it has no
        per-draw progress, while SVI shows its optimisation steps.
    random_state : int, RandomState or None, default=None
        Seed of the sampler."""


#: Variance components of the slope model: component -> numpyro site.
_VARIANCE_SITES = {
    "group": "sigma_group",
    "group_slope": "sigma_group_slope",
    "group2": "sigma_group2",
    "condition": "sigma_condition",
    "condition_slope": "sigma_condition_slope",
    "residual": "sigma",
}


_SLOPE_DOC = f"""Bayesian hierarchical regression of y on a treatment, with partial pooling.

    The linear predictor, with non-centered (or centered) random effects, is::

        mu = alpha + a_group[g] + a_group2[g2] + a_condition[c]
             + (beta + b_condition[c] + b_group[g]) * treatment

    A categorical treatment (k >= 3 levels) enters as k - 1 reference-coded
    dummies, each with its own ``beta``, condition and group slopes (see the
    module documentation). Random effects are normal with half-normal standard
    deviations. A
    continuous treatment (more than two values) whose mean lies more than two
    standard deviations from 0 enters the model centered at its mean
    (``treatment_center_``): intercepts at 0 would be an extrapolation far
    from the data, tied to the slopes in a ridge NUTS samples badly. The
    slopes are unchanged by it and ``intercepts_`` are reported at treatment
    0. With a
    normal likelihood the rows are collapsed exactly to the sufficient
    statistics of every (group, group2, condition, treatment) cell, so a
    gradient costs O(cells), not O(rows); refits of the same configuration on
    data of the same padded shape reuse the compiled sampler.

    Parameters
    ----------
    spec : ColumnSpec or None, default=None
        Roles of the columns of X. None: X is the output of a ColumnSpec (as in
        a pipeline).
    {_COMMON_PARAMS_DOC}
    add_group_intercept : bool, default=True
        Random intercept per group (needs a group).
    add_group_slope : bool or "auto", default="auto"
        Random treatment slope per group. ``"auto"``: a slope per group when the
        treatment varies within groups (at least five groups with two or more
        treatment values and three or more rows: fewer do not inform the spread
        of the slopes), the maximal structure the
        design supports (Barr et al. 2013); without it, animals that differ in
        their response inflate the false-positive rate. Conditions nested in the
        groups (neurons within mice) with condition slopes already let the
        response vary within each group, and get no group slope. The choice is
        kept in ``add_group_slope_``.
    add_group2_intercept : bool, default=True
        Random intercept per group2 level (when group2 is given).
    add_condition_intercept : bool, default=True
        Intercept per condition.
    add_condition_slope : bool, default=True
        Treatment slope per condition.
    condition_pooling : {{"auto", "partial", "none"}}, default="auto"
        ``"partial"``: condition intercepts and slopes are random effects around
        ``alpha`` and ``beta`` with learned scales. ``"none"``: independent
        intercepts and slopes per condition with the weakly informative priors
        (no ``alpha``/``beta``). ``"auto"``: partial pooling when the condition
        has at least {MIN_POOLED_LEVELS} levels, none with fewer (the scale of
        the condition effects is not identified by two to four levels, and its
        posterior funnel makes NUTS diverge). The choice is kept in
        ``condition_pooling_``.
    group_pooling : {{"auto", "partial", "none"}}, default="auto"
        The same choice for the group and the group2 intercepts. ``"partial"``:
        random intercepts with a learned sd (``sigma_group``, ``sigma_group2``).
        ``"none"``: unpooled (fixed) intercepts, coded against the first level
        (each difference with the intercept's weakly informative prior), no sd;
        rows of groups unseen at fit time then cannot be predicted.
        ``"auto"``: partial pooling of a grouping with at least
        {MIN_POOLED_LEVELS} levels, none with fewer (two blocks of an assay:
        their sd is the prior's, a funnel NUTS diverges in). The choices are
        kept in ``group_pooling_`` and ``group2_pooling_``. The group slopes
        (``add_group_slope``) stay random effects.
    model : callable or None, default=None
        A numpyro model ``model(data, cfg)`` sampled instead of the built-in
        slope model; it gets the same collapsed data and static configuration
        (the protocol is in this module's documentation, "User models"). The
        structure options above then only shape ``cfg``.
    effect_site : str, default="beta"
        The site of ``model`` that holds the treatment effect, of shape () or
        (n_conditions,), on the model's internal scale (standardized y); for a
        categorical treatment of k levels, (k - 1,) or (n_conditions, k - 1).
        Not used without ``model``.

    Attributes
    ----------
    effects_ : DataFrame
        One row per condition level (one row without a condition) with the
        decoded condition column(s), ``estimate`` (posterior mean of the
        treatment effect, in units of y per unit of treatment; on the log or
        logit scale for link likelihoods), ``std_error`` (posterior sd),
        ``lower``/``upper`` (``hdi_prob`` HDI), ``prob_positive``,
        ``ess_bulk``, ``ess_tail``, ``r_hat``. ``effects_.attrs`` holds
        ``method``, ``interval`` (``"hdi"``), ``level``, ``scale``, ``y``,
        ``treatment``, ``treatment_kind`` (and ``reference``). For a
        categorical treatment: one row per (condition, non-reference level),
        with a ``treatment_level`` column, each level against the reference.
    variance_components_ : DataFrame
        Standard deviations ``group``, ``group_slope``, ``group2``,
        ``condition``, ``condition_slope``, ``residual`` (those in the model),
        with ``estimate``, ``lower``, ``upper``: in units of y for normal and
        student likelihoods, of log y for lognormal, on the link scale (log,
        logit) for the others; ``attrs["scale"]`` says which.
    intercepts_ : DataFrame
        Per group, ``alpha + a_group`` in units of y (link scale for link
        likelihoods), with HDI.
    idata_ : arviz DataTree
        Posterior (with named coordinates), pointwise log_likelihood (per
        observation, in y's units), observed_data and sample_stats; built on
        first access.
    diagnostics_ : dict
        ``divergences``, ``min_ess_bulk``, ``min_ess_tail``, ``max_r_hat``,
        ``sampler`` (``"nuts"``, ``"svi"`` or ``"importance"``: what produced the
        draws) and the settings; a ``ConvergenceWarning`` is raised when
        r_hat > 1.01, ESS < 400 or there are divergences. An importance-sampled
        fit has no R-hat (NaN) and the ESS of its weights for every quantity.
    warnings_ : list of str
        The messages of those warnings (empty for a clean fit), kept with the
        fit (as ``LMEComparator.warnings_``), e.g. for the rows of a power sweep.
    draws_ : dict of ndarray
        Raw posterior draws on the internal scale, shape (chains, draws, ...).
    config_ : SlopeConfig
        Static model configuration.
    centered_ : tuple of str
        Random effects that were centered (parameterization).
    marginalized_ : tuple of str
        What was integrated out (see ``parameterization``): ``"group"``,
        ``"group_slope"`` (the random group effects), and ``"alpha"`` and
        ``"beta"`` too when the model has nothing else (no conditions, no
        group2) and every group's own regression is identified; empty when
        nothing was.
    add_group_slope_, condition_pooling_, group_pooling_, group2_pooling_ :
        The model structure used (the ``"auto"`` choices resolved;
        ``group2_pooling_`` is None without a group2).
    treatment_center_ : float
        The value subtracted from a continuous treatment inside the model (0
        for a binary or categorical one).
    treatment_levels_ : list or None
        The levels of a categorical treatment, the reference first; None for a
        binary or continuous one.

    Examples
    --------
    >>> from bwestimators import ColumnSpec, HierarchicalSlopeRegressor
    >>> from bwestimators.datasets import generate_fake_lfp
    >>> df = generate_fake_lfp(mouse_response_slope=9, n_trials=5, random_state=0).df
    >>> est = HierarchicalSlopeRegressor(ColumnSpec("stim", group="mouse"), num_warmup=200,
    ...                                  num_samples=200, num_chains=2, random_state=0)
    >>> est = est.fit(df, df["Log power"])
    >>> est.effects_[["estimate", "lower", "upper"]].shape
    (1, 3)
    >>> bool(est.effects_["estimate"].iloc[0] > 0)
    True
    """


def _marginalized(est, codes, t, data):
    """What a fit of ``est`` integrates out (:func:`~bwestimators._cells.marginal_effects`)."""
    builtin = est.model is None  # a user's model samples its effects as it likes
    effects = {
        "group": builtin and est.add_group_intercept and est.group_pooling_ == "partial",
        "group_slope": builtin and est.add_group_slope_,
    }
    others = data.n_levels("condition") > 0 or (
        data.n_levels("group2") > 0 and est.add_group2_intercept
    )
    family = get_family(est.dist_y)
    k = len(est.treatment_levels_ or ())
    method = _structure_method(est.method)
    return marginal_effects(est.parameterization, method, family, codes, effects, others, t, k)


class HierarchicalSlopeRegressor(BayesianEstimatorBase):
    __doc__ = _SLOPE_DOC

    _model_name = "slope_model"
    _parameter_constraints: ClassVar[dict] = {
        **BayesianEstimatorBase._parameter_constraints,
        "add_group_slope": ["boolean", StrOptions({"auto"})],
        "add_group2_intercept": ["boolean"],
        "add_condition_intercept": ["boolean"],
        "add_condition_slope": ["boolean"],
        "condition_pooling": [StrOptions({"auto", "partial", "none"})],
        "group_pooling": [StrOptions({"auto", "partial", "none"})],
        "model": [callable, None],
        "effect_site": [str],
    }

    def __init__(
        self,
        spec=None,
        *,
        dist_y="normal",
        add_group_intercept=True,
        add_group_slope="auto",
        add_group2_intercept=True,
        add_condition_intercept=True,
        add_condition_slope=True,
        condition_pooling="auto",
        group_pooling="auto",
        model=None,
        effect_site="beta",
        parameterization="auto",
        priors=None,
        method="nuts",
        num_warmup=500,
        num_samples=1000,
        num_chains=4,
        target_accept_prob=0.95,
        max_tree_depth=10,
        dense_mass=False,
        num_steps=20000,
        guide="normal",
        hdi_prob=0.94,
        progress_bar=False,
        random_state=None,
    ):
        self.spec = spec
        self.dist_y = dist_y
        self.add_group_intercept = add_group_intercept
        self.add_group_slope = add_group_slope
        self.add_group2_intercept = add_group2_intercept
        self.add_condition_intercept = add_condition_intercept
        self.add_condition_slope = add_condition_slope
        self.condition_pooling = condition_pooling
        self.group_pooling = group_pooling
        self.model = model
        self.effect_site = effect_site
        self.parameterization = parameterization
        self.priors = priors
        self.method = method
        self.num_warmup = num_warmup
        self.num_samples = num_samples
        self.num_chains = num_chains
        self.target_accept_prob = target_accept_prob
        self.max_tree_depth = max_tree_depth
        self.dense_mass = dense_mass
        self.num_steps = num_steps
        self.guide = guide
        self.hdi_prob = hdi_prob
        self.progress_bar = progress_bar
        self.random_state = random_state

    def _needs_group(self):
        return bool(self.add_group_intercept or self.add_group_slope) and self._group_given()

    def _cell_codes(self, data, predict=False):
        codes = {}
        for role, key in (("group", "g"), ("group2", "g2"), ("condition", "c")):
            values = data.codes(role)
            codes[key] = values if values is not None else np.zeros(len(data.Z), dtype=np.int64)
        if predict:
            self._check_unpooled_levels(data)
        return codes

    def _check_unpooled_levels(self, data):
        """Rows of levels unseen at fit time cannot be predicted without a population."""
        group, group2 = self.add_group_intercept, self.add_group2_intercept
        unpooled = (
            ("condition", "condition_pooling", self.condition_pooling_),
            ("group", "group_pooling", self.group_pooling_ if group else None),
            ("group2", "group_pooling", self.group2_pooling_ if group2 else None),
        )
        for role, param, pooling in unpooled:
            if pooling != "none" or role not in data.Z.columns:
                continue
            unseen = data.Z[role].isna().to_numpy()
            if unseen.any():
                raise InputError(
                    f"{role.capitalize()} column {data.names[role]!r} has {int(unseen.sum())} "
                    f"row(s) with levels not seen at fit time; with {param}='none' "
                    "there is no population-level effect to predict them with. Drop those "
                    f"rows, or fit with {param}='partial'."
                )

    def _choose_structure(self, codes, t, data):
        self.condition_pooling_, self.add_group_slope_ = auto_structure(
            codes,
            t,
            self.condition_pooling,
            self.add_group_slope if self._group_given() else False,
            self.add_condition_slope,
        )
        self.group_pooling_, self.group2_pooling_ = (
            auto_pooling(self.group_pooling, data.n_levels(role)) if data.n_levels(role) else None
            for role in ("group", "group2")
        )
        self._keep_treatment_identified(codes, t, data)
        self.marginalized_ = _marginalized(self, codes, t, data)

    def _unpooled_codes(self, codes):
        """Codes of the groupings whose intercepts are unpooled (fixed), by role."""
        unpooled = {
            "condition": self.add_condition_intercept and self.condition_pooling_ == "none",
            "group": self.add_group_intercept and self.group_pooling_ == "none",
            "group2": self.add_group2_intercept and self.group2_pooling_ == "none",
        }
        keys = {"condition": "c", "group": "g", "group2": "g2"}
        return {
            role: codes[keys[role]]
            for role, on in unpooled.items()
            if on and codes[keys[role]].max() > 0
        }

    def _keep_treatment_identified(self, codes, t, data):
        """Pool the intercepts of a grouping whose levels each have one treatment value.

        Unpooled intercepts of such a grouping take up the whole treatment
        effect (:func:`~bwestimators._cells.treatment_confounded`): an
        ``"auto"`` choice of ``"none"`` becomes ``"partial"`` (the effect is then
        estimated between levels, through their learned spread), and an
        explicit ``group_pooling="none"`` is refused.
        """
        k = len(self.treatment_levels_ or ())
        if not treatment_confounded(t, list(self._unpooled_codes(codes).values()), k):
            return
        for attr in ("group2_pooling_", "group_pooling_") if self.group_pooling == "auto" else ():
            if getattr(self, attr) == "none":
                setattr(self, attr, "partial")
                if not treatment_confounded(t, list(self._unpooled_codes(codes).values()), k):
                    return
        unpooled = self._unpooled_codes(codes)
        if treatment_confounded(t, list(unpooled.values()), k):
            names = ", ".join(f"{role} column {data.names[role]!r}" for role in unpooled)
            raise InputError(
                f"The treatment {data.names['treatment']!r} does not vary within the levels "
                f"of the unpooled intercepts ({names}): each level has one treatment value, "
                "so those intercepts absorb the treatment effect and only the priors would "
                "estimate it. Use group_pooling='partial' (and condition_pooling='partial') "
                "to estimate the effect between levels, or a design in which the treatment "
                "varies within them."
            )

    def _random_effects(self):
        partial = self.condition_pooling_ == "partial"
        switches = {
            "group": self.add_group_intercept and self.group_pooling_ == "partial",
            "group_slope": self.add_group_slope_,
            "group2": self.add_group2_intercept and self.group2_pooling_ == "partial",
            "condition": self.add_condition_intercept and partial,
            "condition_slope": self.add_condition_slope and partial,
        }
        return tuple(e for e, on in switches.items() if on and e not in self.marginalized_)

    def _config(self, data, centered, codes):
        return SlopeConfig(
            dist_y=self.dist_y,
            n_groups=data.n_levels("group"),
            n_groups2=data.n_levels("group2"),
            n_conditions=data.n_levels("condition"),
            group_intercept=bool(self.add_group_intercept),
            group_slope=self.add_group_slope_,
            group2_intercept=bool(self.add_group2_intercept),
            condition_intercept=bool(self.add_condition_intercept),
            condition_slope=bool(self.add_condition_slope),
            pooling=self.condition_pooling_,
            centered=tuple(centered),
            nested=bool(
                codes["c"].max() > 0 and codes["g"].max() > 0 and nested(codes["c"], codes["g"])
            ),
            n_treatment_levels=len(self.treatment_levels_ or ()),
            group_pooling=self.group_pooling_ or "partial",
            group2_pooling=self.group2_pooling_ or "partial",
            marginal=marginal_kind(self.marginalized_),
        )

    def _extra_data(self, codes, cells):
        if self.config_.marginal != "none":
            return marginal_data(cells, self.config_)
        if not self.config_.nested:
            return {}
        parent = np.zeros(self.config_.n_conditions, dtype=np.int32)
        parent[codes["c"]] = codes["g"]
        return {"c_group": parent}

    def _row_mu(self, draws, codes, t):
        self._check_standard_sites(draws)
        return _slope_draws.row_mu(draws, codes, t, self.config_.n_treatment_levels)

    def _effect_draws(self):
        if self.model is not None:
            return self._user_effect_draws()
        values = _slope_draws.effect_draws(
            self.draws_, self.config_.n_conditions, self.config_.n_treatment_levels
        )
        return values * self.y_scale_.scale

    def _model_fn(self):
        return self.model if self.model is not None else super()._model_fn()

    def _user_effect_draws(self):
        """The user model's effect site, (chains, draws[, n_conditions]), in units of y."""
        if self.effect_site not in self.draws_:
            raise InputError(
                f"The model {getattr(self.model, '__qualname__', self.model)!r} has no sample or "
                f"deterministic site {self.effect_site!r} (effect_site); its sites are "
                f"{sorted(self.draws_)}. Name the site of the treatment effect in effect_site."
            )
        values = np.asarray(self.draws_[self.effect_site])
        n_cond, k = self.config_.n_conditions, max(self.config_.n_treatment_levels - 1, 0)
        per_draw = values.shape[2:]
        allowed = [(), (n_cond,)] if not k else [(k,), (n_cond, k)]
        if per_draw not in allowed or (n_cond == 0 and per_draw == (0,)):
            raise InputError(
                f"The effect site {self.effect_site!r} has shape {per_draw} per draw; it must "
                f"be one of {[s for s in allowed if s != (0,)]} (n_conditions={n_cond}"
                + (f", {k} non-reference treatment levels)." if k else ").")
            )
        if len(per_draw) < (2 if k else 1):  # the same effect in every condition
            values = np.repeat(values[:, :, None], max(n_cond, 1), axis=2)
        values = values.reshape(*values.shape[:2], -1)
        return values * self.y_scale_.scale

    def _likelihood_params(self, draws):
        self._check_standard_sites(draws)
        return super()._likelihood_params(draws)

    def _check_standard_sites(self, draws):
        needed = set(self.family_.param_names)
        if needed - set(draws) or ("alpha" not in draws and "a_condition" not in draws):
            raise InputError(
                "predict and the pointwise likelihood need the sites of the built-in slope "
                "model (alpha or a_condition, beta or b_condition, a_group, ..., and the "
                f"likelihood's {sorted(needed)}), which this "
                f"model does not sample (it has {sorted(draws)}); sample them under those names "
                "(see the module documentation)."
            )

    def _results(self, draws, data):
        self.effects_ = self._effect_summary(data)
        present = {c: v for c, v in _VARIANCE_SITES.items() if v in draws}
        self.variance_components_ = (
            self._variance_table(present, self.y_scale_.scale) if present else None
        )
        standard = "alpha" in draws or "a_condition" in draws
        self.intercepts_ = self._intercepts(draws, data) if standard else None

    def _treatment_center(self, t):
        return 0.0 if self.treatment_levels_ else treatment_center(t)

    def _intercepts(self, draws, data):
        if "a_group" not in draws:
            return None
        values = _slope_draws.population(draws, "alpha", "a_condition")[..., None]
        values = values + draws["a_group"]
        if self.treatment_center_:  # back to the intercept at treatment 0
            slopes = _slope_draws.population(draws, "beta", "b_condition")[..., None]
            if "b_group" in draws:
                slopes = slopes + draws["b_group"]
            values = values - self.treatment_center_ * slopes
        return self._summary_frame(
            self.y_scale_.location(values),
            {self._label_column(data, "group"): data.spec.categories_["group"]},
        )

    def _posterior_dims(self):
        cats = self.spec_.categories_
        dims = {}
        for role, names in (
            ("group", ("a_group", "a_group_raw", "a_group_diff", "b_group", "b_group_raw")),
            ("group2", ("a_group2", "a_group2_raw", "a_group2_diff")),
            ("condition", ("a_condition", "a_condition_raw", "b_condition", "b_condition_raw")),
        ):
            if role in cats:
                for name in names:
                    dims[name] = (role, cats[role])
        return dims


class ConditionMeansRegressor(BayesianEstimatorBase):
    __doc__ = f"""Bayesian mean of every condition x treatment-level cell, with group intercepts.

    ``mu = cell_mean[condition, treatment level] + a_group[g]``: the model of
    bayes-window's BayesConditions, with the group intercepts normal around 0
    (a learned sd), so that the cell means are the means of the population of
    groups, not of the groups observed. Its effects table is the posterior of
    the difference between the highest and the lowest treatment level per
    condition; for a categorical treatment (k >= 3 levels), of every level
    against the reference level, one row per (condition, level). The
    treatment is used as a factor (its distinct values).

    Parameters
    ----------
    spec : ColumnSpec or None, default=None
        Roles of the columns of X; None when X is the output of a ColumnSpec.
    {_COMMON_PARAMS_DOC}
    add_group_intercept : bool, default=True
        Random intercept per group (needs a group).

    Attributes
    ----------
    effects_ : DataFrame
        Per condition: the highest minus the lowest treatment level's mean, with
        the columns of :class:`HierarchicalSlopeRegressor`'s ``effects_``.
    cell_means_ : DataFrame
        Posterior mean and HDI of every condition x treatment-level population
        mean (the mean over the population of groups, whose uncertainty
        includes the spread between groups, as the standard error of the mean
        of group means does), in units of y (link scale for link likelihoods).
        Its ``treatment`` column holds the treatment values, or the levels of a
        categorical treatment.
    intercepts_ : DataFrame or None
        Per group, its deviation ``a_group`` from the population cell means, in
        units of y (link scale for link likelihoods), with HDI.
    variance_components_, idata_, diagnostics_, warnings_, draws_ :
        As in :class:`HierarchicalSlopeRegressor`.

    Examples
    --------
    >>> from bwestimators import ColumnSpec, ConditionMeansRegressor
    >>> from bwestimators.datasets import generate_fake_lfp
    >>> df = generate_fake_lfp(mouse_response_slope=9, n_trials=5, random_state=0).df
    >>> est = ConditionMeansRegressor(ColumnSpec("stim", group="mouse"), num_warmup=200,
    ...                               num_samples=200, num_chains=2, random_state=0)
    >>> est = est.fit(df, df["Log power"])
    >>> est.cell_means_.shape[0]
    2
    """

    _model_name = "means_model"
    _parameter_constraints: ClassVar[dict] = BayesianEstimatorBase._parameter_constraints

    def __init__(
        self,
        spec=None,
        *,
        dist_y="normal",
        add_group_intercept=True,
        parameterization="auto",
        priors=None,
        method="nuts",
        num_warmup=500,
        num_samples=1000,
        num_chains=4,
        target_accept_prob=0.95,
        max_tree_depth=10,
        dense_mass=False,
        num_steps=20000,
        guide="normal",
        hdi_prob=0.94,
        progress_bar=False,
        random_state=None,
    ):
        self.spec = spec
        self.dist_y = dist_y
        self.add_group_intercept = add_group_intercept
        self.parameterization = parameterization
        self.priors = priors
        self.method = method
        self.num_warmup = num_warmup
        self.num_samples = num_samples
        self.num_chains = num_chains
        self.target_accept_prob = target_accept_prob
        self.max_tree_depth = max_tree_depth
        self.dense_mass = dense_mass
        self.num_steps = num_steps
        self.guide = guide
        self.hdi_prob = hdi_prob
        self.progress_bar = progress_bar
        self.random_state = random_state

    def _cell_codes(self, data, predict=False):
        t = data.Z["treatment"].to_numpy(dtype=float)
        if not predict and data.kind == "continuous":
            raise InputError(
                f"ConditionMeansRegressor estimates a mean per treatment level, and treatment "
                f"column {data.names['treatment']!r} is continuous: use "
                "HierarchicalSlopeRegressor for an effect per unit, or ColumnSpec(..., "
                "treatment_kind='categorical') for each level against the reference."
            )
        if not predict:
            levels = self.treatment_levels_
            self.treatment_values_ = np.arange(float(len(levels))) if levels else np.unique(t)
        level = np.searchsorted(self.treatment_values_, t)
        level = np.clip(level, 0, len(self.treatment_values_) - 1)
        known = self.treatment_values_[level] == t
        c = data.codes("condition")
        c = c if c is not None else np.zeros(len(t), dtype=np.int64)
        cell = np.where(known & (c >= 0), c * len(self.treatment_values_) + level, -1)
        if predict and (cell < 0).any():
            raise InputError(
                f"{int((cell < 0).sum())} row(s) of X have a treatment value or condition not "
                "seen at fit time; ConditionMeansRegressor predicts only the cells it estimated: "
                "drop those rows."
            )
        g = data.codes("group")
        return {"g": g if g is not None else np.zeros(len(t), dtype=np.int64), "c": cell}

    def _config(self, data, centered, codes):
        n_cond = max(data.n_levels("condition"), 1)
        return MeansConfig(
            dist_y=self.dist_y,
            n_groups=data.n_levels("group"),
            n_cells=n_cond * len(self.treatment_values_),
            group_intercept=bool(self.add_group_intercept),
            centered=tuple(centered),
        )

    def _row_mu(self, draws, codes, t):
        mu = draws["cell_mean"][:, codes["c"]]
        if "a_group" in draws:
            g = codes["g"]
            mu = mu + np.where(g[None, :] >= 0, draws["a_group"][:, np.clip(g, 0, None)], 0.0)
        return mu

    def _results(self, draws, data):
        n_levels = len(self.treatment_values_)
        scale = self.y_scale_.scale
        self.effects_ = self._effect_summary(data)
        n_cond = self.config_.n_cells // n_levels
        labels = self.treatment_levels_ or self.treatment_values_
        table = self._summary_frame(
            self.y_scale_.location(draws["cell_mean"]),
            {"treatment": np.tile(np.asarray(labels), n_cond)},
        )
        if "condition" in data.Z.columns:
            cond = self._condition_frame(data).loc[np.repeat(np.arange(n_cond), n_levels)]
            table = pd.concat([cond.reset_index(drop=True), table], axis=1)
        self.cell_means_ = table
        self.variance_components_ = self._variance_table(
            {"group": "sigma_group", "residual": "sigma"}, scale
        )
        self.intercepts_ = None
        if "a_group" in draws:
            self.intercepts_ = self._summary_frame(
                draws["a_group"] * scale,
                {self._label_column(data, "group"): data.spec.categories_["group"]},
            )

    def _effect_draws(self):
        cm = self.draws_["cell_mean"]
        means = cm.reshape(*cm.shape[:2], -1, len(self.treatment_values_))
        if self.treatment_levels_:  # every level against the reference, condition-major
            diff = means[..., 1:] - means[..., :1]
            return diff.reshape(*cm.shape[:2], -1) * self.y_scale_.scale
        return (means[..., -1] - means[..., 0]) * self.y_scale_.scale

    def _posterior_dims(self):
        cats = self.spec_.categories_
        dims = {}
        if "group" in cats:
            dims.update(
                {n: ("group", cats["group"]) for n in ("a_group", "a_group_dev", "a_group_dev_raw")}
            )
        return dims
