"""The model data of a Bayesian fit: rows collapsed to cells, padded shapes, prior constants,
and the choice of parameterization (which random effects are centered).

Pure numpy; the numpyro models read the arrays made here (see
:mod:`bwestimators.models._slope` for their meaning).
"""

import numpy as np

#: Default prior scales (on the internal scale); ``priors=`` overrides them by name.
DEFAULT_PRIORS = {
    "intercept_scale": 2.5,
    "slope_scale": 2.5,
    "sd_scale": 1.0,
    "residual_scale": 1.0,
}


#: Fewest padded cells: a gradient over 64 cells costs what one over 8 does (the cost of a
#: small model is the number of operations, not their length), and the cells of
#: neighbouring designs (5 to 16 mice x 2 treatment values) share one shape.
MIN_CELLS = 64


def bucket(n, minimum=MIN_CELLS):
    """Padded size for n cells: the next of 64, 96, 128, 192, 256, ... (at most 1.5x).

    Steps alternate x1.5 and x4/3 from ``minimum`` (a power of 2).
    """
    size = minimum
    while size < n:
        size = size * 3 // 2 if size & (size - 1) == 0 else size * 4 // 3
    return size


#: Models whose level counts are padded: in the condition-means model the group
#: intercepts sum to zero over all levels, so padding would change it.
PADDED_MODELS = ("slope_model",)

#: Level counts of a model configuration that are padded, and the mask of each in the data.
_LEVEL_FIELDS = {"n_groups": "mask_g", "n_groups2": "mask_g2", "n_conditions": "mask_c"}
#: Model data indexed by levels (padded with the levels): array -> count field.
_LEVEL_DATA = {"c_group": "n_conditions", "group_chol": "n_groups", "group_h": "n_groups"}
#: The model data whose shapes follow the level counts.
LEVEL_DATA_KEYS = (*_LEVEL_FIELDS.values(), *_LEVEL_DATA)


#: Most padded levels per real level when a fit reuses a compiled sampler of more levels
#: (:func:`reusable_config`): every padded level is a NUTS dimension with no data, which
#: shortens trajectories (an independent normal turns back after half a period) and costs
#: ESS; 5 trees padded to 12 (14 dimensions) cost Orange 4/5 of its ESS.
MAX_PADDING = 1.5


#: Levels a sampler is compiled for when the data outgrew a compiled one of the same model
#: (a sweep or a grid search over growing datasets): 1.25 times the real counts, so that
#: the next sizes run on it.
HEADROOM = 1.25


def reusable_config(cfg, compiled, max_padding=MAX_PADDING):
    """The configuration of a compiled sampler this ``cfg`` can run on padded, or a new one.

    A candidate qualifies when it differs from ``cfg`` only in level counts
    (:data:`_LEVEL_FIELDS`) that are at least the real ones and at most
    ``max_padding`` times them (0 stays 0). The first qualifying candidate of
    ``compiled`` (most recent first) is taken. Without one, ``cfg`` itself,
    or, when a compiled candidate has fewer levels (the datasets grow),
    ``cfg`` with :data:`HEADROOM` times its level counts.

    Examples
    --------
    >>> from bwestimators._configs import SlopeConfig
    >>> ten = SlopeConfig("normal", 10, 0, 0, True, True, False, True, True, "partial", ())
    >>> reusable_config(ten._replace(n_groups=7), [ten]).n_groups
    10
    >>> reusable_config(ten._replace(n_groups=5), [ten]).n_groups
    5
    >>> reusable_config(ten._replace(n_groups=11), [ten]).n_groups
    14
    """
    fields = [f for f in _LEVEL_FIELDS if f in cfg._fields]
    grown = False
    for candidate in compiled:
        if type(candidate) is not type(cfg):
            continue
        if candidate._replace(**{f: getattr(cfg, f) for f in fields}) != cfg:
            continue
        counts = [(getattr(cfg, f), getattr(candidate, f)) for f in fields]
        if any((n == 0) != (m == 0) for n, m in counts):
            continue
        if all(n <= m <= n * max_padding for n, m in counts):
            return candidate
        grown = grown or all(m <= n for n, m in counts)
    if grown:
        return cfg._replace(**{f: int(np.ceil(getattr(cfg, f) * HEADROOM)) for f in fields})
    return cfg


def cells_fit(candidate, shapes, max_padding=2.0):
    """Whether model data of ``shapes`` fit a sampler compiled for ``candidate`` shapes.

    Both are dicts of array name -> shape, without the level arrays
    (:data:`LEVEL_DATA_KEYS`). The cell arrays (1-d, as long as ``n``) may be
    padded up to the candidate's length, at most ``max_padding`` times theirs
    (empty cells cost a gradient little); every other shape must be equal.

    Returns
    -------
    size : int or None
        The candidate's number of cells, or None when the data do not fit.
    """
    if set(candidate) != set(shapes) or "n" not in shapes:
        return None
    n, size = shapes["n"][0], candidate["n"][0]
    if not n <= size <= n * max_padding:
        return None
    for key, shape in shapes.items():
        is_cell = shape == (n,)
        if candidate[key] != ((size,) if is_cell else shape):
            return None
    return size


def pad_cells(cells, size):
    """The cell arrays (1-d, as long as ``n``) padded with empty cells to ``size``."""
    n = len(cells["n"])
    return {k: np.pad(v, (0, size - n)) if np.shape(v) == (n,) else v for k, v in cells.items()}


def level_masks(cfg, padded, codes, within_var=1.0):
    """Masks of the real levels: 0.0 for a real level, the padding's scale for a padded one.

    A padded level is a normal with no data, of a fixed scale (no funnel). The
    scale is that of a real level's posterior when its data inform it
    (``sqrt(within_var / median rows per level)``, at most 1, with
    ``within_var`` the pooled within-cell variance on the internal scale):
    padded levels far wider than the real ones would make NUTS's trajectories
    long in early warmup, before the mass matrix is adapted.

    Parameters
    ----------
    cfg, padded : NamedTuple
        The exact configuration and the padded one (:func:`reusable_config`).
    codes : dict of ndarray
        Row codes ``g``, ``g2``, ``c``.
    within_var : float, default=1.0

    Returns
    -------
    masks : dict of ndarray
        ``mask_g``, ``mask_g2``, ``mask_c`` (float32, shape the padded count).
    """
    masks = {}
    for field, name in _LEVEL_FIELDS.items():
        if field in cfg._fields:
            n, size = getattr(cfg, field), getattr(padded, field)
            key = name.removeprefix("mask_")
            rows = np.bincount(codes[key][codes[key] >= 0]) if key in codes else np.ones(1)
            median = float(np.median(rows[rows > 0])) if rows.any() else 1.0
            scale = min(np.sqrt(within_var / max(median, 1.0)), 1.0)
            masks[name] = np.where(np.arange(size) < n, 0.0, scale).astype(np.float32)
    return masks


def pad_level_data(cells, cfg, padded):
    """Pad the arrays indexed by levels (``c_group``, ...) to the padded counts (with zeros)."""
    for name, field in _LEVEL_DATA.items():
        if name in cells and field in cfg._fields:
            extra = getattr(padded, field) - getattr(cfg, field)
            cells[name] = np.pad(cells[name], [(0, extra)] + [(0, 0)] * (cells[name].ndim - 1))
    return cells


#: Posterior sites with a level axis (axis 2, after chains and draws): site -> count field.
LEVEL_SITES = {
    **{
        f"{prefix}_group{suffix}": "n_groups"
        for prefix in ("a", "b")
        for suffix in ("", "_raw", "_total", "_diff")
    },
    **{f"a_group2{suffix}": "n_groups2" for suffix in ("", "_raw", "_total", "_diff")},
    **{
        f"{prefix}_condition{suffix}": "n_conditions"
        for prefix in ("a", "b")
        for suffix in ("", "_raw", "_total", "_diff")
    },
}


def unpad_draws(draws, cfg, padded, batch_axes=0):
    """Draws of the real levels only: every level site sliced to ``cfg``'s counts.

    The level axis comes after ``batch_axes`` leading dataset axes and the
    (chains, draws) axes; trailing axes (several treatment levels) are kept.
    """
    if cfg == padded:
        return draws
    out = dict(draws)
    axis = batch_axes + 2
    for name, field in LEVEL_SITES.items():
        if name in out and field in cfg._fields:
            index = (slice(None),) * axis + (slice(0, getattr(cfg, field)),)
            out[name] = out[name][index]
    return out


def nested(inner, outer):
    """Whether every level of ``inner`` lies within a single level of ``outer``."""
    inner, outer = np.asarray(inner, dtype=np.int64), np.asarray(outer, dtype=np.int64)
    base = int(outer.max(initial=0)) + 1
    levels = np.unique(inner * base + outer) // base
    return bool(len(levels) == len(np.unique(levels)))


def informative(keys, z, t):
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
    if not np.isfinite(within):  # one row per (level, treatment): a continuous treatment
        within = _residual_variance(*_level_moments(level.ravel(), z, t))
    size = np.bincount(level.ravel()).astype(float)
    if not np.isfinite(within) or within <= 0 or len(size) < 2:
        return 0.0
    means = np.bincount(level.ravel(), weights=z) / size
    between = means.var(ddof=1) - within * np.mean(1.0 / size)
    return float(np.median(size) * max(between, 0.0) / within)


def unique_rows(codes, t):
    """The distinct (codes, treatment) rows: their first positions and each row's index.

    The columns are combined into one integer key per row (mixed radix; the
    treatment's distinct values numbered first), renumbered densely whenever
    the key could outgrow int64, so millions of rows cost a fraction of a
    second; a few sorts, no pandas.

    Returns
    -------
    first : ndarray of int
        Position of the first row of each distinct combination, in order of appearance.
    inverse : ndarray of int
        For every row, the index of its combination in ``first``.

    Examples
    --------
    >>> import numpy as np
    >>> from bwestimators._cells import unique_rows
    >>> first, inverse = unique_rows({"g": np.array([1, 0, 1, 1])}, np.array([0.0, 1, 0, 1]))
    >>> first.tolist(), inverse.tolist()
    ([0, 1, 3], [0, 1, 0, 2])
    """
    t = np.asarray(t)
    n = len(t)
    _, key = np.unique(t, return_inverse=True)
    key = key.reshape(-1).astype(np.int64)
    for values in codes.values():
        values = np.asarray(values, dtype=np.int64).reshape(-1)
        low = values.min(initial=0)
        radix = int(values.max(initial=0)) - int(low) + 1
        if (int(key.max(initial=0)) + 1) * radix >= 2**62:  # renumber the keys densely first
            _, key = np.unique(key, return_inverse=True)
            key = key.reshape(-1).astype(np.int64)
        key = key * radix + (values - low)
    _, key = np.unique(key, return_inverse=True)  # dense, in sorted order of the keys
    key = key.reshape(-1)
    first = np.full(key.max(initial=-1) + 1, n)
    np.minimum.at(first, key, np.arange(n))
    order = np.argsort(first)  # the combinations in order of appearance
    rank = np.empty(len(first), dtype=np.int64)
    rank[order] = np.arange(len(first))
    return first[order], rank[key]


def collapse(codes, t, z, family):
    """Rows collapsed to cells (collapsible families) or kept one per cell, then padded.

    Sums are taken in float64; the arrays handed to jax are float32, with the
    within-cell sum of squares centered on each cell's mean.

    Returns
    -------
    cells : dict of ndarray
        ``g``, ``g2``, ``c`` (codes), ``t``, ``n``, ``ybar``, ``ss``, padded to
        :func:`bucket` of the number of cells, and the 0-d ``log_var_ref`` (log
        of the pooled within-cell variance, the reference of the normal cell
        likelihood).
    """
    if family.collapsible:
        first, inverse = unique_rows(codes, t)
        n = np.bincount(inverse).astype(float)
        ybar = np.bincount(inverse, weights=z) / n
        ss = np.bincount(inverse, weights=(z - ybar[inverse]) ** 2)
        cell_codes = {k: v[first] for k, v in codes.items()}
        cell_t = t[first]
    else:
        n, ybar, ss = np.ones(len(t)), z, np.zeros(len(t))
        cell_codes, cell_t = codes, t
    # reference variance of the normal cell likelihood (see models._likelihoods._normal_cells)
    ref = ss.sum() / n.sum() if family.collapsible and ss.sum() > 0 else 1.0
    pad = bucket(len(n)) - len(n)
    cells = {k: np.pad(v, (0, pad)).astype(np.int32) for k, v in cell_codes.items()}
    for name, values in (("t", cell_t), ("n", n), ("ybar", ybar), ("ss", ss)):
        cells[name] = np.pad(values, (0, pad)).astype(np.float32)
    cells["log_var_ref"] = np.float32(np.log(ref))
    return cells


def prior_constants(priors, family, y, t):
    """The 0-d prior constants of the model data (``alpha_loc``, ``beta_scale``, ...)."""
    priors = {**DEFAULT_PRIORS, **(priors or {})}
    return {
        "alpha_loc": family.intercept_location(y),
        "alpha_scale": priors["intercept_scale"],
        "beta_scale": priors["slope_scale"] / (float(np.std(t)) or 1.0),
        "sd_scale": priors["sd_scale"],
        "resid_scale": priors["residual_scale"],
    }


def _level_moments(level, z, t):
    """Rows, and centered sums of squares and products of t and z, per level."""
    n = np.bincount(level).astype(float)
    dt = t - (np.bincount(level, weights=t) / n)[level]
    dz = z - (np.bincount(level, weights=z) / n)[level]
    sxy = np.bincount(level, weights=dt * dz)
    return n, np.bincount(level, weights=dt**2), sxy, np.bincount(level, weights=dz**2)


def _residual_variance(n, sxx, sxy, szz):
    """Pooled residual variance of a straight line in t fitted within each level."""
    varies = sxx > 1e-12 * np.maximum(szz, 1.0)
    slope = np.where(varies, sxy / np.where(varies, sxx, 1.0), 0.0)
    dof = n.sum() - len(n) - varies.sum()
    return float((szz - slope * sxy).sum() / dof) if dof > 0 else np.nan


def informative_slopes(keys, z, t):
    """How well the data inform the treatment slope of each level of a grouping.

    The between-level variance of the per-level least-squares slopes of z on t
    (method-of-moments: less their mean sampling variance) over the median
    sampling variance of one level's slope; levels where t does not vary are
    left out. Pure noise scores 0; as :func:`informative`, but for slopes.
    """
    _, level = np.unique(keys, return_inverse=True)
    n, sxx, sxy, szz = _level_moments(level.ravel(), z, t)
    varies = (sxx > 1e-12 * np.maximum(szz, 1.0)) & (n > 2)
    if varies.sum() < 2:
        return 0.0
    sxx, sxy, szz, n = sxx[varies], sxy[varies], szz[varies], n[varies]
    slope = sxy / sxx
    sigma2 = _residual_variance(n, sxx, sxy, szz)
    if not np.isfinite(sigma2) or sigma2 <= 0:
        return 0.0
    sampling = sigma2 / sxx
    between = slope.var(ddof=1) - sampling.mean()
    return float(max(between, 0.0) / np.median(sampling))


#: Fewest levels of a condition, group or group2 that are pooled by default
#: (``condition_pooling="auto"``, ``group_pooling="auto"``).
MIN_POOLED_LEVELS = 5


def auto_pooling(pooling, n_levels):
    """``"partial"`` or ``"none"``: the ``"auto"`` pooling of a role with ``n_levels`` levels.

    Partial pooling (random effects with a learned scale) from
    :data:`MIN_POOLED_LEVELS` levels on; with fewer, the scale is not
    identified (two levels give one difference to estimate an sd from), its
    posterior is the prior's, and the funnel between it and the effects makes
    NUTS diverge: the levels are then estimated separately (``"none"``).

    Examples
    --------
    >>> auto_pooling("auto", 2), auto_pooling("auto", 5), auto_pooling("partial", 2)
    ('none', 'partial', 'partial')
    """
    if pooling != "auto":
        return pooling
    return "partial" if n_levels >= MIN_POOLED_LEVELS else "none"


def treatment_confounded(t, fixed, n_levels=0):
    """Whether the treatment lies in the span of fixed (unpooled) intercepts.

    With unpooled intercepts of a grouping whose levels each have one
    treatment value (mice assigned to arms, a drug given in one session), the
    intercepts and the treatment effect trade off exactly: the data do not
    inform the effect, only the priors do.

    Parameters
    ----------
    t : ndarray of shape (n_rows,)
        The treatment (a categorical one's level codes 0..k-1).
    fixed : list of ndarray of shape (n_rows,)
        Level codes of every grouping with unpooled intercepts.
    n_levels : int, default=0
        k for a categorical treatment (its k - 1 dummies are checked), else 0.

    Returns
    -------
    confounded : bool
        True when the treatment (or one of its dummies) is, numerically, a
        combination of an overall intercept and the levels' dummies.

    Examples
    --------
    >>> import numpy as np
    >>> mouse = np.repeat([0, 1, 2, 3], 4)
    >>> treatment_confounded(np.repeat([0.0, 0.0, 1.0, 1.0], 4), [mouse])  # one arm each
    True
    >>> treatment_confounded(np.tile([0.0, 1.0], 8), [mouse])  # both levels in every mouse
    False
    """
    from bwestimators._levels import treatment_dummies

    if not fixed:
        return False
    first, _ = unique_rows(dict(enumerate(fixed)), t)  # the span needs the distinct rows only
    t = np.asarray(t, dtype=float)[first]
    columns = treatment_dummies(t, n_levels) if n_levels else t[:, None]
    basis = [np.ones((len(first), 1))]
    for code in fixed:
        code = np.asarray(code)[first]
        basis.append((code[:, None] == np.unique(code)[None, 1:]).astype(float))
    basis = np.column_stack(basis)
    coef, *_ = np.linalg.lstsq(basis, columns, rcond=None)
    resid = np.linalg.norm(columns - basis @ coef, axis=0)
    spread = np.linalg.norm(columns - columns.mean(axis=0), axis=0)
    return bool(np.any(resid <= 1e-8 * np.maximum(spread, 1e-300)))


def varies_within(keys, t, min_levels=None):
    """Whether the treatment varies within levels of a grouping, enough to inform a slope.

    True when at least ``min_levels`` (default :data:`MIN_POOLED_LEVELS`)
    levels each have two or more treatment values and three or more rows: a
    slope per level is then identified, and so is the spread of the slopes.
    """
    _, level = np.unique(keys, return_inverse=True)
    level = level.ravel()
    codes_t = np.unique(t, return_inverse=True)[1].ravel()
    pairs = np.unique(np.column_stack([level, codes_t]), axis=0)
    n_values = np.bincount(pairs[:, 0], minlength=level.max(initial=-1) + 1)
    n_rows = np.bincount(level)
    need = MIN_POOLED_LEVELS if min_levels is None else min_levels
    return bool(((n_values >= 2) & (n_rows >= 3)).sum() >= need)


def auto_structure(codes, t, condition_pooling, group_slope, condition_slope):
    """The ``"auto"`` switches of the slope model resolved from the design.

    Parameters
    ----------
    codes : dict of ndarray
        Row codes ``g`` and ``c``.
    t : ndarray
        The treatment per row.
    condition_pooling : {"auto", "partial", "none"}
    group_slope : bool or "auto"
    condition_slope : bool

    Returns
    -------
    condition_pooling : {"partial", "none"}
        Partial pooling from :data:`MIN_POOLED_LEVELS` condition levels.
    group_slope : bool
        A random slope per group when the treatment varies within enough groups
        (:func:`varies_within`), unless conditions nested in the groups carry
        their own slopes (they already let the response vary within each group).
    """
    has_cond, has_group = codes["c"].max() > 0, codes["g"].max() > 0
    condition_pooling = auto_pooling(condition_pooling, codes["c"].max() + 1)
    if group_slope == "auto":
        within = condition_slope and has_cond and nested(codes["c"], codes["g"])
        group_slope = varies_within(codes["g"], t) and not within
    return condition_pooling, bool(group_slope and has_group)


def treatment_center(t):
    """The value a continuous treatment is centered on inside the model (0: not centered).

    A treatment with more than two values whose mean lies more than two
    standard deviations from 0 (log2 dose 3..9): intercepts at 0 would be an
    extrapolation far from the data, tied to the slopes in a ridge.
    """
    far = abs(np.mean(t)) > 2 * np.std(t)
    return float(np.mean(t)) if np.unique(t).size > 2 and far else 0.0


#: Fewest levels whose effects may be centered: the scale of the effects of fewer levels
#: keeps posterior mass near 0, where a centered parameterization has its funnel.
MIN_CENTERED_LEVELS = 6

#: Fewest levels whose intercepts may be centered beside non-centered slopes of the same
#: grouping (NUTS). With 6 or 7 mice, centered mouse intercepts beside non-centered mouse
#: slopes diverged in 13 of 16 fake-LFP fits without slope heterogeneity (4 x (1000 +
#: 1000) draws; 62 divergent transitions of 3000 in one fit with the sweep's sampler),
#: and in 23 % of the null datasets of bayes-window's grid (6 mice); non-centered ones in
#: none, with or without heterogeneity; with 8 and 12 mice centered ones in none.
MIN_CENTERED_BESIDE_SLOPES = 8

#: Centered random effects when the data inform their levels more than this: the
#: posterior of each level is then dominated by its data (shrinkage under 1/21),
#: where a centered parameterization samples well and a non-centered one has a funnel.
CENTERED_ABOVE = 20.0

#: The same threshold for SVI fits: a normal guide fits the centered form of an effect
#: whose levels the data inform more than the effects' spread does (shrinkage under 1/2),
#: and the non-centered one otherwise, where each form is the less curved (a full-rank
#: normal guide of the non-centered form of well-informed levels is several times too
#: narrow). NUTS keeps the margin of CENTERED_ABOVE against the divergences of a funnel.
SVI_CENTERED_ABOVE = 1.0

#: Centered random slopes (NUTS) when :func:`informative_slopes` exceeds this. Measured on
#: ``generate_fake_lfp`` datasets (6 and 10 mice, 8 to 29 trials; 2 chains of 300 + 1000):
#: with a score of 6 to 20, centered slopes had no divergence, 17-19 leapfrog steps per
#: draw and a smallest ESS of 820-1160, non-centered ones 20-38 % of fits with
#: divergences (6 mice), 32-48 steps and an ESS of 430-530; under 6, centered slopes
#: diverged in 20-100 % of fits. Only in models without conditions: next to condition
#: slopes (``load_chirp_power``, 7 mice, score 14.6) centered group slopes diverged once
#: in 4 x 1000 draws, so there :data:`CENTERED_ABOVE` applies.
CENTERED_SLOPES_ABOVE = 6.0

_EFFECT_KEYS = {
    "group": "g",
    "group_slope": "g",
    "group2": "g2",
    "condition": "c",
    "condition_slope": "c",
}


def choose_centered(parameterization, codes, z, t, family, method, effects):
    """Random effects that are centered (a tuple, part of the model configuration).

    Parameters
    ----------
    parameterization : {"auto", "centered", "noncentered"}
    codes : dict of ndarray
        Row codes ``g``, ``g2``, ``c``.
    z, t : ndarray
        y on the internal scale, and the treatment, per row.
    family : Family
    method : {"nuts", "svi"}
    effects : iterable of str
        The random effects of the model, among ``"group"``, ``"group_slope"``,
        ``"group2"``, ``"condition"``, ``"condition_slope"``.

    Returns
    -------
    centered : tuple of str

    Notes
    -----
    ``"auto"`` judges each effect on its own: an intercept effect of at least
    :data:`MIN_CENTERED_LEVELS` levels is centered when :func:`informative` of
    its levels exceeds :data:`CENTERED_ABOVE`, a slope effect when
    :func:`informative_slopes` does (or, in a model without conditions,
    exceeds :data:`CENTERED_SLOPES_ABOVE`). Intercepts beside non-centered
    slopes of the same grouping need :data:`MIN_CENTERED_BESIDE_SLOPES`
    levels (NUTS). A grouping whose
    conditions (or group2 levels) are nested in it (each level within one
    group) stays non-centered: the nested effects absorb most of its variation,
    and its levels are informed by a few nested levels, not by every row. So
    does a grouping nested in the conditions (animals within diets): its
    effects and the condition effects share a ridge, which whitening eases. SVI fits
    use the lower threshold :data:`SVI_CENTERED_ABOVE`; families whose data inform
    effects weakly (binary) are non-centered.
    """
    effects = tuple(e for e in _EFFECT_KEYS if e in set(effects))
    if parameterization != "auto":
        return effects if parameterization == "centered" else ()
    if not family.centering_allowed:
        return ()
    proxy = family.link_proxy(z)
    has_cond = "c" in codes and codes["c"].max() > 0
    centered = []
    for effect in effects:
        key = _EFFECT_KEYS[effect]
        if key not in codes or codes[key].max() + 1 < MIN_CENTERED_LEVELS:
            continue
        if key != "c" and has_cond and nested(codes["c"], codes[key]):
            continue
        if key != "c" and has_cond and nested(codes[key], codes["c"]):
            continue
        if (
            key == "g"
            and codes.get("g2", np.zeros(1)).max() > 0
            and nested(codes["g2"], codes[key])
        ):
            continue
        slope = effect.endswith("_slope")
        score = (informative_slopes if slope else informative)(codes[key], proxy, t)
        if method == "svi":
            above = SVI_CENTERED_ABOVE
        else:
            above = CENTERED_SLOPES_ABOVE if slope and not has_cond else CENTERED_ABOVE
        if score > above:
            centered.append(effect)
    if method != "svi":
        centered = [e for e in centered if not _funnel_beside_slopes(e, centered, effects, codes)]
    return tuple(centered)


def marginal_effects(
    parameterization, method, family, codes, effects, others=True, t=None, n_levels=0
):
    """What a NUTS fit integrates out: random group effects, and maybe ``alpha`` and ``beta``.

    With a normal or lognormal likelihood the group intercepts and slopes
    have a closed-form integral (:mod:`bwestimators.models._marginal`); the
    sampler then sees the population parameters and the scales only, without
    the funnel between a scale and its effects. When the mean has nothing
    else (no conditions, no group2: ``others`` False), group intercepts and
    slopes are both random and every group's own regression on the
    treatment is identified (``t``, see :func:`groups_identified`), ``alpha``
    and ``beta`` are integrated out too, and the sampler sees the three
    scales. ``"auto"`` parameterization and NUTS only (an explicit
    ``"centered"`` or ``"noncentered"`` samples the effects as asked; SVI's
    guide is fitted to the full model), and not when conditions are nested
    in the groups (their effects are centered on the group intercepts, see
    :func:`choose_centered`).

    Parameters
    ----------
    parameterization : {"auto", "centered", "noncentered"}
    method : {"nuts", "svi"}
    family : Family
    codes : dict of ndarray
        Row codes ``g``, ``c``.
    effects : dict of str to bool
        Whether the model has random ``"group"`` intercepts and ``"group_slope"`` slopes
        (False for an effect that must stay sampled).
    others : bool, default=True
        Whether the mean has terms beyond ``alpha``, ``beta`` and the group effects.
    t : ndarray or None
        The treatment per row (the level index of a categorical one); None:
        ``alpha`` and ``beta`` stay sampled.
    n_levels : int, default=0
        Levels of a categorical treatment (0 for a binary or continuous one).

    Returns
    -------
    marginalized : tuple of str
        Among ``"alpha"``, ``"beta"``, ``"group"``, ``"group_slope"``.

    Examples
    --------
    >>> import numpy as np
    >>> from bwestimators._cells import marginal_effects
    >>> from bwestimators._families import get_family
    >>> codes = {"g": np.repeat(np.arange(6), 4), "c": np.zeros(24, dtype=int)}
    >>> both = {"group": True, "group_slope": True}
    >>> marginal_effects("auto", "nuts", get_family("normal"), codes, both)
    ('group', 'group_slope')
    >>> t = np.tile([0.0, 1.0], 12)
    >>> marginal_effects("auto", "nuts", get_family("normal"), codes, both, False, t)
    ('alpha', 'beta', 'group', 'group_slope')
    >>> marginal_effects("auto", "nuts", get_family("poisson"), codes, {"group": True})
    ()
    """
    if parameterization != "auto" or method != "nuts" or not family.collapsible:
        return ()
    g, c = codes["g"], codes["c"]
    if g.max() == 0 or (c.max() > 0 and nested(c, g)):
        return ()
    marginalized = tuple(effect for effect, on in effects.items() if on)
    linear = marginalized == ("group", "group_slope") and not others and t is not None
    if linear and groups_identified(g, t, n_levels):
        return ("alpha", "beta", *marginalized)
    return marginalized


def marginal_kind(marginalized):
    """The ``marginal`` field of the model configuration for :func:`marginal_effects`' answer."""
    if "alpha" in marginalized:
        return "linear"
    return "groups" if marginalized else "none"


def groups_identified(g, t, n_levels=0):
    """Whether every group's own regression on the treatment is identified.

    Every group has as many distinct treatment values as the design has
    columns: two for a binary or continuous treatment, all ``n_levels`` of a
    categorical one (``t`` its level index).

    Examples
    --------
    >>> import numpy as np
    >>> groups_identified(np.array([0, 0, 1, 1]), np.array([0.0, 1, 0, 1]))
    True
    >>> groups_identified(np.array([0, 0, 1, 1]), np.array([0.0, 1, 1, 1]))
    False
    """
    values = np.unique(t, return_inverse=True)[1].ravel()
    pairs = np.unique(np.column_stack([g, values]), axis=0)
    per_group = np.bincount(pairs[:, 0], minlength=int(g.max()) + 1)
    return bool(per_group.min() >= (n_levels or 2))


def marginal_data(cells, cfg):
    """The model data of the groups that a ``cfg.marginal`` model integrates over.

    ``"linear"``: :func:`group_regressions`; ``"groups"``: the factors of
    :func:`group_factors` (``group_chol``) of the design of the random group
    effects (intercepts unless unpooled, slopes if any).
    """
    if cfg.marginal == "linear":
        return group_regressions(cells, cfg.n_groups, cfg.n_treatment_levels)
    intercept = cfg.group_intercept and cfg.group_pooling != "none"
    k = cfg.n_treatment_levels
    factors = group_factors(cells, cfg.n_groups, k, intercept, cfg.group_slope)[0]
    return {"group_chol": factors.astype(np.float32)}


def group_factors(cells, n_groups, n_levels=0, intercept=True, slope=True):
    """Per group a factor ``F`` of the Gram matrix of its design, ``sum(n z z') = F F'``.

    ``z`` per cell: 1 (``intercept``), then the treatment or the dummies of a
    categorical one of ``n_levels`` (``slope``), as
    :func:`bwestimators.models._slope._group_design`. In float64, from the
    eigendecomposition (defined for a singular matrix: a group without a
    treatment level, or a padded group, whose factor is 0).

    Returns
    -------
    factors : ndarray (n_groups, q, q)
    gram : ndarray (n_groups, q, q)
    z : ndarray (real cells, q)
    real : ndarray of bool
        The cells with rows (not padding).
    """
    real = cells["n"] > 0
    n, g = cells["n"][real].astype(float), cells["g"][real]
    t = cells["t"][real].astype(float)
    cols = [np.ones((len(n), 1))] if intercept else []
    if slope and n_levels:
        cols.append((t[:, None] == np.arange(1, n_levels)[None, :]).astype(float))
    elif slope:
        cols.append(t[:, None])
    z = np.column_stack(cols)
    q = z.shape[1]
    gram = np.zeros((n_groups, q, q))
    np.add.at(gram, g, n[:, None, None] * z[:, :, None] * z[:, None, :])
    lam, vec = np.linalg.eigh(gram)
    factors = vec * np.sqrt(np.clip(lam, 0.0, None))[:, None, :]
    return factors, gram, z, real


def group_regressions(cells, n_groups, n_levels=0):
    """Every group's regression on its own design, the model data of ``marginal="linear"``.

    In float64 from the cells (every group's design of full rank, see
    :func:`groups_identified`): ``group_chol`` (``R0``, a factor of
    ``sum(n z z')``, :func:`group_factors`), ``group_h``
    (``R0^-1 sum(n z ybar)``), ``group_rss`` (the residual sum of
    squares about every group's least-squares fit, the within-cell sums of
    squares included) and ``group_rows`` (the number of rows); see
    :func:`bwestimators.models._marginal.integrate_linear`.
    """
    factors, gram, z, real = group_factors(cells, n_groups, n_levels)
    n, g = cells["n"][real].astype(float), cells["g"][real]
    ybar = cells["ybar"][real].astype(float)
    cz = np.zeros((n_groups, z.shape[1]))
    np.add.at(cz, g, (n * ybar)[:, None] * z)
    h = np.linalg.solve(factors, cz[..., None])[..., 0]
    fit = np.linalg.solve(gram, cz[..., None])[..., 0]
    rss = cells["ss"][real].astype(float).sum() + np.sum(n * (ybar - np.sum(z * fit[g], 1)) ** 2)
    return {
        "group_chol": factors.astype(np.float32),
        "group_h": h.astype(np.float32),
        "group_rss": np.float32(rss),
        "group_rows": np.float32(n.sum()),
    }


def _funnel_beside_slopes(effect, centered, effects, codes):
    """Whether ``effect`` is an intercept effect of too few levels to be centered beside its
    grouping's non-centered slopes (:data:`MIN_CENTERED_BESIDE_SLOPES`)."""
    slopes = f"{effect}_slope"
    if effect.endswith("_slope") or slopes not in effects or slopes in centered:
        return False
    return codes[_EFFECT_KEYS[effect]].max() + 1 < MIN_CENTERED_BESIDE_SLOPES
