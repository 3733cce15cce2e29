"""numpyro model functions of the hierarchical slope model and the condition-means model.

The models read a dict ``data`` of arrays, one entry per cell (a unique
(group, group2, condition, treatment) combination for the normal and lognormal
likelihoods, one row otherwise), padded with empty cells of weight 0:

``t`` treatment, ``g`` group code, ``g2`` group2 code, ``c`` condition code,
``n`` number of observations (0 for padding), ``ybar`` mean of y, ``ss``
within-cell sum of squares of y, ``log_var_ref`` (0-d, the log of the pooled
within-cell variance), and 0-d prior constants ``alpha_loc``,
``alpha_scale``, ``beta_scale``, ``sd_scale``, ``resid_scale``. The level
counts of ``cfg`` may be padded (a fit running on the sampler of a dataset
with more groups or conditions): ``mask_g``, ``mask_g2``, ``mask_c`` (one
entry per level) are 0 for a real level and, for a padded one, the scale of
the fixed normal it gets instead of its prior (see :func:`_level_normal`).

Everything that changes between datasets is in ``data`` (arrays), and
everything that fixes shapes is in the static ``cfg``, so a jitted sampler is
compiled once per configuration and shape.
"""

import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist

from bwestimators.models._likelihoods import cell_loglik, sample_likelihood_params
from bwestimators.models._marginal import integrate_groups, integrate_linear


def _level_normal(name, loc, scale, mask=None):
    """Sample ``name ~ Normal(loc, scale)`` on the real levels, a fixed normal on padding.

    ``loc`` has the level axis first (and any trailing axes); ``mask`` (the
    level axis: 0 for a real level, the fixed scale of a padded one; None: no
    padding) switches the prior of each level. A padded level has no data, so
    it is an independent ``Normal(0, mask)``: no funnel with ``scale`` and no
    effect on the real levels.
    """
    events = jnp.ndim(loc)
    if mask is not None:
        pad = jnp.reshape(mask, jnp.shape(mask) + (1,) * (events - 1))
        loc, scale = jnp.where(pad > 0, 0.0, loc), jnp.where(pad > 0, pad, scale)
    return numpyro.sample(name, dist.Normal(loc, scale).to_event(events))


def _random_effect(name, n, sd, centered, loc=None, mask=None, k=0):
    """Zero-mean normal effects with scale ``sd``, centered or not.

    Centered with a ``loc``, the totals ``loc + effect`` are sampled
    (``name_total ~ Normal(loc, sd)``), which removes the ridge between the
    population value and the effects when the data inform every level well.
    ``mask`` marks the real levels among padded ones (see :func:`_level_normal`);
    non-centered effects are standard normal on every level already.
    ``k`` > 0: effects of shape (n, k), one per level and dummy of a
    categorical treatment (``loc`` then of shape (k,)), all with the scale ``sd``.
    """
    shape = (n, k) if k else (n,)
    if centered and loc is not None:
        mean = jnp.broadcast_to(loc, shape) if k else jnp.full(n, loc)
        total = _level_normal(f"{name}_total", mean, sd, mask)
        return numpyro.deterministic(name, total - loc)
    if centered:
        return _level_normal(name, jnp.zeros(shape), sd, mask)
    raw = numpyro.sample(f"{name}_raw", dist.Normal(jnp.zeros(shape), 1.0).to_event(len(shape)))
    return numpyro.deterministic(name, raw * sd)


def treatment_design(cfg, t):
    """The treatment as the model multiplies it with the slopes.

    The treatment itself (shape (cells,)) for a binary or continuous one; for a
    categorical treatment of ``cfg.n_treatment_levels`` = k levels (``t`` the
    level index 0..k-1), its k - 1 reference-coded dummies, shape (cells, k - 1).
    """
    k = getattr(cfg, "n_treatment_levels", 0)
    if not k:
        return t
    return (t[:, None] == jnp.arange(1, k, dtype=t.dtype)).astype(t.dtype)


def _reference_conditions(n, data, mask=None):
    """Unpooled condition intercepts coded against the first: ``a_condition = ref + diff``.

    The same prior as ``a_condition ~ Normal(alpha_loc, alpha_scale)`` each
    (a shear of Jacobian 1: ``diff[c] | ref ~ Normal(alpha_loc - ref, alpha_scale)``
    for ``c >= 1``; ``diff[0]`` is a fixed standard normal, unused). With
    centered group totals around ``ref``, the data inform the totals and the
    differences directly, and ``ref`` only through the group prior: no ridge
    between the condition intercepts and the group intercepts, which very
    informative data (millions of rows) make too narrow for a diagonal mass matrix.
    """
    loc, scale = data["alpha_loc"], data["alpha_scale"]
    ref = numpyro.sample("a_condition_ref", dist.Normal(loc, scale))
    first = jnp.arange(n) == 0
    dummy = jnp.where(first, 1.0, 0.0 if mask is None else mask)
    diff = _level_normal("a_condition_diff", jnp.full(n, loc - ref), scale, dummy)
    return ref, numpyro.deterministic("a_condition", ref + jnp.where(first, 0.0, diff))


def _unpooled_effects(name, n, data, mask=None):
    """Unpooled (fixed) effects of the levels of a grouping, coded against the first level.

    ``name`` (deterministic) is 0 for the first level and ``name_diff`` for the
    others, each difference ``Normal(0, alpha_scale)`` (the intercept's weakly
    informative scale); ``name_diff[0]`` is a fixed standard normal, unused.
    For a grouping of few levels, whose sd the data do not identify (see
    :func:`bwestimators._cells.auto_pooling`).
    """
    first = jnp.arange(n) == 0
    dummy = jnp.where(first, 1.0, 0.0 if mask is None else mask)
    diff = _level_normal(f"{name}_diff", jnp.zeros(n), data["alpha_scale"], dummy)
    return numpyro.deterministic(name, jnp.where(first, 0.0, diff))


def _through_mean(name, loc, scale, effects, mask=None):
    """Sample ``name ~ Normal(loc, scale)`` as ``name_observed = name + mean(effects)``.

    ``effects`` are non-centered effects around ``name`` (level axis first; the
    mean is over the real levels, see :func:`_level_normal` for ``mask``). The
    data inform the value of the observed levels, ``name`` plus the mean of
    their effects, and only that: sampling ``name`` itself leaves a ridge
    between it and every effect (correlation -0.5 between the intercept and
    each of the 10 subjects' effects on R's sleep data; between the slope and
    the 6 samples' slopes of nlme's Assay, or the mice's slopes, when their sd
    is large), which NUTS with a diagonal mass matrix mixes slowly or diverges
    in. Given the effects, ``name -> name_observed`` is a shift (Jacobian 1), so
    ``name_observed ~ Normal(loc + mean, scale)`` is the same prior.
    """
    real = jnp.ones(effects.shape[0]) if mask is None else jnp.where(mask > 0, 0.0, 1.0)
    weights = jnp.reshape(real, real.shape + (1,) * (effects.ndim - 1))
    mean = jnp.sum(effects * weights, axis=0) / jnp.sum(real)
    prior = dist.Normal(loc + mean, scale)
    observed = numpyro.sample(f"{name}_observed", prior.to_event(jnp.ndim(mean)))
    return numpyro.deterministic(name, observed - mean)


def _scale(name, data):
    return numpyro.sample(name, dist.HalfNormal(data["sd_scale"]))


def slope_linear_predictor(cfg, data, reference_conditions=False):
    """Sample the coefficients and return the linear predictor of every cell.

    ``cfg.centered`` names the effects (``"group"``, ``"group_slope"``,
    ``"group2"``, ``"condition"``, ``"condition_slope"``) that are centered;
    the others are non-centered. The first centered intercept effect (group,
    else condition) is centered on ``alpha`` and the first centered slope
    effect (condition, else group) on
    ``beta``. With conditions nested in groups (``cfg.nested``, each condition
    level within one group, ``data["c_group"]`` its group) and centered
    condition effects, the condition intercepts are centered on their group's
    intercept, ``alpha + a_group[c_group]``: the group level is the parent of
    the condition level rather than a second additive term. With
    ``cfg.group_pooling`` (``cfg.group2_pooling``) ``"none"`` the group
    (group2) intercepts are unpooled, coded against the first level
    (:func:`_unpooled_effects`). Non-centered group intercepts carry
    ``alpha``, and non-centered condition slopes (else group slopes) carry
    ``beta``, through their mean (:func:`_through_mean`), unless ``alpha``
    (``beta``) is also the location of other effects. ``reference_conditions``:
    unpooled condition intercepts coded against the first
    (:func:`_reference_conditions`) whatever the group intercepts are (the
    caller integrates them out).
    """
    t, g, g2, c = data["t"], data["g"], data["g2"], data["c"]
    mask_g, mask_g2, mask_c = (data.get(key) for key in ("mask_g", "mask_g2", "mask_c"))
    k = max(cfg.n_treatment_levels - 1, 0)  # dummies of a categorical treatment, else 0
    has_cond = cfg.n_conditions > 0
    unpooled_group = cfg.n_groups > 0 and cfg.group_intercept and cfg.group_pooling == "none"
    group_int = cfg.n_groups > 0 and cfg.group_intercept and not unpooled_group
    group_slope = cfg.n_groups > 0 and cfg.group_slope
    cent_group = "group" in cfg.centered
    cent_cond = "condition" in cfg.centered
    cent_cond_slope = "condition_slope" in cfg.centered
    cent_group_slope = "group_slope" in cfg.centered
    nested_centered = (
        cfg.nested and cent_cond and group_int and cfg.condition_intercept and cfg.pooling != "none"
    )
    group_sd = _scale("sigma_group", data) if nested_centered else None
    a_group = b_group = None
    reference = (group_int and cent_group) or reference_conditions
    if has_cond and cfg.pooling == "none" and cfg.condition_intercept and reference:
        alpha, a_cond = _reference_conditions(cfg.n_conditions, data, mask_c)
        mu = a_cond[c]  # the group totals are centered on alpha (the reference condition)
    elif has_cond and cfg.pooling == "none" and cfg.condition_intercept:
        loc = jnp.full(cfg.n_conditions, data["alpha_loc"])
        a_cond = _level_normal("a_condition", loc, data["alpha_scale"], mask_c)
        alpha, mu = None, a_cond[c]
    else:
        # alpha through the mean of non-centered group intercepts, unless it is also the mean
        # of centered condition intercepts (which would tie the two means together)
        cond_around_alpha = has_cond and cfg.condition_intercept and cent_cond
        group_first = group_int and not nested_centered and not cent_group and not cond_around_alpha
        if group_first:  # non-centered group intercepts: alpha through their observed mean
            a_group = _random_effect("a_group", cfg.n_groups, _scale("sigma_group", data), False)
            alpha = _through_mean("alpha", data["alpha_loc"], data["alpha_scale"], a_group, mask_g)
        else:
            alpha = numpyro.sample("alpha", dist.Normal(data["alpha_loc"], data["alpha_scale"]))
        mu = alpha
        if has_cond and cfg.condition_intercept:
            sd = _scale("sigma_condition", data)
            if nested_centered:
                parent_group = _random_effect("a_group", cfg.n_groups, group_sd, False)
                loc = alpha + parent_group[data["c_group"]]
                a_cond = _random_effect("a_condition", cfg.n_conditions, sd, True, loc, mask_c)
                mu = mu + a_cond[c] + parent_group[data["c_group"]][c]
            else:
                loc = None if (group_int and cent_group) else alpha
                effect = _random_effect("a_condition", cfg.n_conditions, sd, cent_cond, loc, mask_c)
                mu = mu + effect[c]
    cond_slope = has_cond and cfg.condition_slope
    if cond_slope and cfg.pooling == "none":
        scale = data["beta_scale"]
        shape = (cfg.n_conditions, k) if k else (cfg.n_conditions,)
        b_cond = _level_normal("b_condition", jnp.zeros(shape), scale, mask_c)
        beta, slope = None, b_cond[c]
    elif cond_slope and not cent_cond_slope and not group_slope:
        # the slope through the conditions' mean slope (not with group slopes around it too:
        # that ties the two means together, 2 divergences on the chirp data)
        sd = _scale("sigma_condition_slope", data)
        b_cond = _random_effect("b_condition", cfg.n_conditions, sd, False, k=k)
        beta = _through_mean("beta", jnp.zeros(k) if k else 0.0, data["beta_scale"], b_cond, mask_c)
        slope = beta + b_cond[c]
    elif group_slope and not cent_group_slope and not cond_slope:  # through the groups' slopes
        sd = _scale("sigma_group_slope", data)
        b_group = _random_effect("b_group", cfg.n_groups, sd, False, k=k)
        beta = _through_mean(
            "beta", jnp.zeros(k) if k else 0.0, data["beta_scale"], b_group, mask_g
        )
        slope = beta
    else:
        beta_prior = dist.Normal(jnp.zeros(k), data["beta_scale"]).to_event(1) if k else None
        beta = numpyro.sample("beta", beta_prior or dist.Normal(0.0, data["beta_scale"]))
        slope = beta
        if cond_slope:
            sd = _scale("sigma_condition_slope", data)
            b_cond = _random_effect(
                "b_condition", cfg.n_conditions, sd, cent_cond_slope, beta, mask_c, k=k
            )
            slope = slope + b_cond[c]
    if unpooled_group:
        mu = mu + _unpooled_effects("a_group", cfg.n_groups, data, mask_g)[g]
    elif a_group is not None:
        mu = mu + a_group[g]
    elif group_int and not nested_centered:
        sd = _scale("sigma_group", data)
        mu = mu + _random_effect("a_group", cfg.n_groups, sd, cent_group, alpha, mask_g)[g]
    if b_group is not None:
        slope = slope + b_group[g]
    elif group_slope:
        sd = _scale("sigma_group_slope", data)
        loc = None if (cond_slope and cent_cond_slope and cfg.pooling != "none") else beta
        effect = _random_effect("b_group", cfg.n_groups, sd, cent_group_slope, loc, mask_g, k=k)
        slope = slope + effect[g]
    if cfg.n_groups2 and cfg.group2_intercept and cfg.group2_pooling == "none":
        mu = mu + _unpooled_effects("a_group2", cfg.n_groups2, data, mask_g2)[g2]
    elif cfg.n_groups2 and cfg.group2_intercept:
        sd = _scale("sigma_group2", data)
        cent = "group2" in cfg.centered
        mu = mu + _random_effect("a_group2", cfg.n_groups2, sd, cent, mask=mask_g2)[g2]
    if k:  # per cell: the slope of its level's dummy (0 for the reference level)
        return mu + jnp.sum(slope * treatment_design(cfg, t), axis=-1)
    return mu + slope * t


def slope_model(data, cfg):
    """Hierarchical slope model.

    ``mu = alpha + a_group[g] + a_group2[g2] + a_condition[c]
    + (beta + b_condition[c] + b_group[g]) * t``, with the terms that ``cfg``
    switches on. With ``pooling="none"`` the condition intercepts and slopes are
    independent (``alpha``/``beta`` are then absent). With ``cfg.marginal`` the
    group effects are integrated out (:func:`_marginal_slope_model`), or those and
    ``alpha`` and ``beta`` (:func:`_linear_marginal_model`).
    """
    if cfg.marginal == "linear":
        return _linear_marginal_model(data, cfg)
    if cfg.marginal == "groups":
        return _marginal_slope_model(data, cfg)
    mu = slope_linear_predictor(cfg, data)
    params = sample_likelihood_params(cfg.dist_y, data)
    numpyro.factor("loglik", jnp.sum(cell_loglik(cfg.dist_y, mu, data, params)))


def _group_design(cfg, data, random_intercept):
    """The columns of each cell that the marginalized group effects multiply, (cells, q).

    A 1 for the random intercept (when ``random_intercept``), then the
    treatment (or the dummies of a categorical one) for the random slopes.
    """
    cols = [jnp.ones_like(data["ybar"])[:, None]] if random_intercept else []
    if cfg.group_slope:
        x = treatment_design(cfg, data["t"])
        cols.append(x if x.ndim == 2 else x[:, None])
    return jnp.concatenate(cols, axis=1)


def _slope_columns(cfg):
    """Columns of the random slopes in the group design (0 without them)."""
    if not cfg.group_slope:
        return 0
    return max(cfg.n_treatment_levels - 1, 1)


def _marginal_slope_model(data, cfg):
    """The slope model (:func:`slope_model`), group effects integrated out.

    The sampled sites are those of the slope model but the group effects:
    the population parameters, scales and other effects, from their marginal
    posterior. Under a seed handler (``numpyro.prng_key()`` gives a key, as
    when :func:`bwestimators.inference.run_nuts` turns the draws into
    constrained values), ``a_group`` and ``b_group`` (deterministic sites)
    are drawn from their conditional posterior given each draw, so the
    draws of every site are those of the full model. For the families whose
    cells are collapsible (normal, lognormal), without conditions nested in
    the groups (see :func:`bwestimators._cells.marginal_effects`), when
    ``cfg.marginal`` is ``"groups"``; :func:`~bwestimators.models._marginal.integrate_groups`
    does the integral. Group intercepts with ``group_pooling="none"``
    stay fixed effects.
    """
    random_intercept = cfg.group_intercept and cfg.group_pooling != "none"
    rest = cfg._replace(
        group_intercept=cfg.group_intercept and not random_intercept,
        group_slope=False,
        marginal="none",
    )
    # unpooled condition intercepts: reference-coded, as beside centered group totals (the
    # mean of the integrated group intercepts ties the condition intercepts into a ridge)
    m = slope_linear_predictor(rest, data, reference_conditions=random_intercept)
    params = sample_likelihood_params(cfg.dist_y, data)
    sds = _group_sds(cfg, data, random_intercept)
    z = _group_design(cfg, data, random_intercept)
    key = numpyro.prng_key()
    loglik, effects = integrate_groups(cfg, data, z, m, params["sigma"], sds, key)
    numpyro.factor("loglik", loglik)
    if effects is not None:
        _group_effect_sites(cfg, effects, random_intercept)


def _group_sds(cfg, data, random_intercept):
    """Sample the group sds: one per column of :func:`_group_design` (the slopes' shared)."""
    k = _slope_columns(cfg)
    sds = [_scale("sigma_group", data)[None]] if random_intercept else []
    if k:
        sds.append(jnp.full(k, _scale("sigma_group_slope", data)))
    return jnp.concatenate(sds)


def _group_effect_sites(cfg, effects, random_intercept):
    """Record draws of the group effects (n_groups, q) as ``a_group`` and ``b_group``."""
    if random_intercept:
        numpyro.deterministic("a_group", effects[:, 0])
    if cfg.group_slope:
        slopes = effects[:, int(random_intercept) :]
        numpyro.deterministic("b_group", slopes if cfg.n_treatment_levels else slopes[:, 0])


def _linear_marginal_model(data, cfg):
    """The slope model of group intercepts and slopes only, everything linear integrated out.

    For a model whose mean is ``alpha + a_group[g] + (beta + b_group[g]) * t``
    (no conditions, no group2; ``cfg.marginal == "linear"``): the sampler sees
    the residual sd and the two group sds;
    :func:`~bwestimators.models._marginal.integrate_linear` does the integral
    over ``alpha``, ``beta`` and the group effects, and, under a seed handler,
    draws them (deterministic sites) from their conditional posterior given
    the scales, so the draws of every site are those of the full model.
    """
    params = sample_likelihood_params(cfg.dist_y, data)
    k = _slope_columns(cfg)
    sds = _group_sds(cfg, data, True)
    loc = jnp.concatenate([jnp.reshape(data["alpha_loc"], (1,)), jnp.zeros(k)])
    scale = jnp.concatenate(
        [jnp.reshape(data["alpha_scale"], (1,)), jnp.full(k, data["beta_scale"])]
    )
    key = numpyro.prng_key()
    loglik, draws = integrate_linear(data, params["sigma"], sds, loc, scale, key)
    numpyro.factor("loglik", loglik)
    if draws is None:
        return
    gamma, effects = draws
    numpyro.deterministic("alpha", gamma[0])
    numpyro.deterministic("beta", gamma[1:] if cfg.n_treatment_levels else gamma[1])
    _group_effect_sites(cfg, effects, True)


def means_linear_predictor(cfg, data):
    """One mean per (condition x treatment level) cell plus group intercepts.

    The group intercepts are normal around 0 with a learned sd, so the cell
    means are the means of the population of groups (the observed groups are
    a sample of it): their posterior includes the between-group variation, as
    the standard error of the mean of the group means does.

    Sampled as the same model in better coordinates: iid ``Normal(0, sd)``
    intercepts are their mean ``m ~ Normal(0, sd / sqrt(n_groups))`` plus
    zero-sum deviations (``ZeroSumNormal(sd)``), independent of it; the means
    of the observed groups, ``cell_observed = cell_mean + m``, are what the
    data inform, so the sampler sees ``m``, the deviations and
    ``cell_observed`` (nearly independent) rather than a ridge between the
    cell means and the intercepts; ``cell_mean = cell_observed - m``.
    """
    loc = jnp.full(cfg.n_cells, data["alpha_loc"])
    if not (cfg.n_groups and cfg.group_intercept):
        m = numpyro.sample("cell_mean", dist.Normal(loc, data["alpha_scale"]).to_event(1))
        return m[data["c"]]
    sd = _scale("sigma_group", data)
    shape = (cfg.n_groups,)
    m_raw = numpyro.sample("a_group_mean_raw", dist.Normal(0.0, 1.0))
    group_mean = m_raw * sd / jnp.sqrt(cfg.n_groups)
    if "group" in cfg.centered:
        dev = numpyro.sample("a_group_dev", dist.ZeroSumNormal(sd, event_shape=shape))
    else:
        dev = numpyro.sample("a_group_dev_raw", dist.ZeroSumNormal(1.0, event_shape=shape)) * sd
    numpyro.deterministic("a_group", group_mean + dev)
    observed = numpyro.sample(
        "cell_observed", dist.Normal(loc + group_mean, data["alpha_scale"]).to_event(1)
    )
    numpyro.deterministic("cell_mean", observed - group_mean)
    return observed[data["c"]] + dev[data["g"]]


def means_model(data, cfg):
    """Condition-means model: ``mu = cell_mean[cell] + a_group[g]``."""
    mu = means_linear_predictor(cfg, data)
    params = sample_likelihood_params(cfg.dist_y, data)
    numpyro.factor("loglik", jnp.sum(cell_loglik(cfg.dist_y, mu, data, params)))
