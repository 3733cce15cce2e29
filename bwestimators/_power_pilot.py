"""Datasets simulated from a fitted estimator (pilot data), for power sweeps.

:class:`PilotGenerator` holds what a fitted :class:`~bwestimators.LMEComparator`
or normal-likelihood :class:`~bwestimators.HierarchicalSlopeRegressor` learned
from a pilot (intercept per condition, group spread, residual sd) and the
pilot's design, and draws new datasets from it with a chosen treatment effect,
any number of groups and trials. It is a plain picklable object: a
:class:`~bwestimators.power.PowerSimulation` uses it as its generator.
"""

import numbers

import numpy as np
import pandas as pd

from bwestimators._spec_checks import as_frame
from bwestimators.exceptions import InputError, InputTypeError

#: Keys of ``extend`` and the grid column each one becomes.
EXTEND_COLUMNS = {"group": "n_group", "detail": "n_detail"}


def _fitted_kind(est):
    """``"lme"`` or ``"bayes"``; an InputError for anything else."""
    from bwestimators.hierarchical import ConditionMeansRegressor
    from bwestimators.lme import LMEComparator

    fitted = hasattr(est, "effects_")
    if fitted and getattr(est.spec_, "treatment_kind_", None) == "categorical":
        raise InputError(
            "from_estimator simulates a binary or continuous treatment; the pilot's treatment "
            f"{est.spec_.treatment!r} is categorical (not supported yet): fit the pilot on the "
            "rows of the reference and one other level."
        )
    if isinstance(est, LMEComparator) and fitted:
        return "lme"
    slope_model = (
        not isinstance(est, ConditionMeansRegressor) and getattr(est, "model", None) is None
    )
    if hasattr(est, "draws_") and hasattr(est, "variance_components_") and slope_model:
        family = est.family_
        # normal only: lognormal is collapsible too, but its parameters are on log y
        if not (family.collapsible and family.link == "identity" and family.report_scale == "y"):
            raise InputError(
                "from_estimator simulates normal data; the pilot was fitted with "
                f"dist_y={est.dist_y!r}. Fit it with dist_y='normal' (on log power, for "
                "example)."
            )
        if "sigma" not in est.draws_:
            raise InputError(f"{type(est).__name__} has no residual sd to simulate from.")
        return "bayes"
    raise InputTypeError(
        "from_estimator needs a fitted LMEComparator or HierarchicalSlopeRegressor (its "
        f"built-in model; call fit first), got {type(est).__name__}."
    )


def _correlation(est, kind):
    """Correlation of the group intercepts and slopes (in treatment units); 0 for Bayes."""
    if kind != "lme" or not getattr(est, "add_group_slope_", False):
        return 0.0
    from bwestimators.lme import _cov_re_in_treatment_units

    cov = _cov_re_in_treatment_units(
        est.result_.cov_re, est.treatment_center_, est.treatment_scale_
    )
    if cov.shape[0] < 2 or cov[0, 0] <= 0 or cov[1, 1] <= 0:
        return 0.0
    return float(np.clip(cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1]), -1, 1))


def _posterior_sds(est):
    """Posterior draws (n,) of the group, group-slope and residual sd, in units of y."""
    scale = float(est.y_scale_.scale)
    n = None
    out = {}
    for name, site in (("group", "sigma_group"), ("group_slope", "sigma_group_slope")):
        if site in est.draws_:
            out[name] = np.asarray(est.draws_[site], dtype=float).reshape(-1) * scale
            n = len(out[name])
    out["residual"] = np.asarray(est.draws_["sigma"], dtype=float).reshape(-1) * scale
    n = len(out["residual"]) if n is None else n
    return out, n


class PilotGenerator:
    """New datasets like a pilot's, from the fitted estimator, with a chosen effect.

    Built by :meth:`bwestimators.power.PowerSimulation.from_estimator`; called
    as ``generator(effect=..., n_group=..., n_detail=..., random_state=...)``.

    The model of a dataset is, for row ``i`` of group ``g`` in condition ``c``
    with (coded) treatment ``t``::

        y = a[c] + effect * t + u[g] + v[g] * t + e

    ``a[c]``: the pilot's mean of ``y - b[c] * t`` in condition ``c`` (``b``: the
    fitted effects), ``u, v``: normal with the fitted group sd, group-slope sd
    and (LME) their correlation, ``e``: normal with the fitted residual sd.
    New group ``k`` copies the cells (condition, treatment) of pilot group
    ``k mod n_pilot_groups`` and their numbers of rows, or ``n_detail`` rows per
    cell. With ``fitted_effect`` (or ``effect=None``) the effects are the
    fitted ones, per condition, whatever ``effect`` says. With
    ``parameters="posterior"`` every dataset takes the sds (and the fitted
    effects) from one posterior draw.
    """

    def __init__(self, est, X, y, *, parameters="mean", fitted_effect=False, y_name=None):
        kind = _fitted_kind(est)
        if parameters not in ("mean", "posterior"):
            raise InputError(f"parameters must be 'mean' or 'posterior', got {parameters!r}.")
        if parameters == "posterior" and kind != "bayes":
            raise InputError(
                "parameters='posterior' needs a Bayesian estimator (posterior draws); "
                f"{type(est).__name__} has point estimates only: use parameters='mean'."
            )
        spec = est.spec_
        cols = dict(spec.columns_)
        if "group" not in cols:
            raise InputError("from_estimator needs a pilot with a group (spec group=...).")
        if "group2" in cols:
            raise InputError(
                "from_estimator does not simulate a second grouping (group2) yet; fit the "
                "pilot without group2."
            )
        X = as_frame(X)
        y = np.asarray(y, dtype=float).reshape(-1)
        if len(y) != len(X):
            raise InputError(f"y has {len(y)} values but X has {len(X)} rows.")
        Z = spec.transform(X)
        t = Z["treatment"].to_numpy(dtype=float)
        if "condition" in Z:
            cond = pd.Categorical(Z["condition"]).codes.astype(int)
        else:
            cond = np.zeros(len(X), dtype=int)
        b = est.effects_["estimate"].to_numpy(dtype=float)
        if len(b) != cond.max() + 1:
            raise InputError(
                "the effects table of the pilot fit has one row per condition level; "
                f"found {len(b)} rows for {cond.max() + 1} levels."
            )
        residual = y - b[cond] * t
        self.intercepts = np.array([residual[cond == c].mean() for c in range(len(b))])
        self.pilot_effects = b
        vc = est.variance_components_["estimate"]
        if "group" not in vc.index:
            pooling = getattr(est, "group_pooling_", None)
            why = (
                f"unpooled group intercepts (group_pooling_={pooling!r}: a pilot of fewer "
                "than 5 groups)"
                if pooling == "none"
                else "no group intercepts"
            )
            raise InputError(
                f"The pilot fit has {why}, so it has no spread of group intercepts to draw "
                "new groups from. Refit the pilot with group_pooling='partial' (and "
                "add_group_intercept=True), or use an LMEComparator pilot."
            )
        self.sd = {k: float(vc.get(k, 0.0)) for k in ("group", "group_slope", "residual")}
        # the Bayesian group sd is that of the intercepts at the centered treatment's center
        self.center = float(getattr(est, "treatment_center_", 0.0)) if kind == "bayes" else 0.0
        self.correlation = _correlation(est, kind)
        self.parameters = parameters
        self.fitted_effect = bool(fitted_effect)
        if parameters == "posterior":
            self.sd_draws, self.n_draws = _posterior_sds(est)
            self.effect_draws = np.asarray(est.effect_draws(), dtype=float)
        self.group_column = cols["group"]
        self.detail_column = cols.get("detail")
        self.y_name = y_name or "y"
        design_cols = [
            c for role, c in cols.items() if role in ("treatment", "condition") for c in _list(c)
        ]
        self.design_columns = design_cols
        frame = X[design_cols].copy()
        frame["_t"], frame["_c"], frame["_g"] = t, cond, Z["group"].astype(str).to_numpy()
        self.patterns = []
        for _, rows in frame.groupby("_g", sort=True, observed=True):
            cells = rows.groupby(["_c", "_t"], sort=True)
            pattern = cells.head(1).copy()
            pattern["_n"] = cells.size().to_numpy()
            self.patterns.append(pattern.reset_index(drop=True))
        self.n_pilot_groups = len(self.patterns)
        self.pilot_detail = int(np.median(np.concatenate([p["_n"] for p in self.patterns])))

    def __call__(self, effect=None, n_group=None, n_detail=None, random_state=None):
        """One simulated dataset (a DataFrame with the pilot's role columns and y)."""
        rng = np.random.default_rng(random_state)
        n_group = self.n_pilot_groups if n_group is None else int(n_group)
        sd = dict(self.sd)
        fitted = effect is None or self.fitted_effect
        slopes = self.pilot_effects if fitted else None
        if self.parameters == "posterior":
            k = int(rng.integers(self.n_draws))
            sd.update({name: float(d[k]) for name, d in self.sd_draws.items()})
            if fitted:
                slopes = self.effect_draws[k]
        if slopes is None:
            slopes = np.full(len(self.intercepts), float(effect))
        cov = np.array(
            [
                [sd["group"] ** 2, self.correlation * sd["group"] * sd["group_slope"]],
                [self.correlation * sd["group"] * sd["group_slope"], sd["group_slope"] ** 2],
            ]
        )
        u = rng.multivariate_normal(np.zeros(2), cov, size=n_group, method="svd")
        frames = []
        width = len(str(n_group - 1))
        for g in range(n_group):
            pattern = self.patterns[g % self.n_pilot_groups]
            counts = pattern["_n"].to_numpy() if n_detail is None else int(n_detail)
            rows = pattern.loc[pattern.index.repeat(counts)].reset_index(drop=True)
            rows[self.group_column] = f"sim{g:0{width}d}"
            if self.detail_column is not None:
                rows[self.detail_column] = rows.groupby(["_c", "_t"]).cumcount().to_numpy()
            tt, cc = rows["_t"].to_numpy(), rows["_c"].to_numpy()
            mu = self.intercepts[cc] + slopes[cc] * tt + u[g, 0] + u[g, 1] * (tt - self.center)
            rows[self.y_name] = mu + rng.normal(0.0, sd["residual"], len(rows))
            frames.append(rows)
        df = pd.concat(frames, ignore_index=True)
        return df.drop(columns=["_t", "_c", "_g", "_n"])


def _list(value):
    return list(value) if isinstance(value, (list, tuple)) else [value]


def check_extend(extend):
    """``extend`` as a param grid piece: ``{"n_group": [...], "n_detail": [...]}``."""
    if extend is None:
        return {}
    if not isinstance(extend, dict):
        raise InputTypeError(
            f"extend must be a dict such as {{'group': [4, 8, 12], 'detail': [10, 20]}}, "
            f"got {extend!r}."
        )
    grid = {}
    for key, values in extend.items():
        if key not in EXTEND_COLUMNS:
            raise InputError(
                f"extend: unknown key {key!r}; use 'group' (number of groups) or 'detail' "
                "(rows per group, condition and treatment level)."
            )
        values = _list(values) if not isinstance(values, range) else list(values)
        for v in values:
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                raise InputError(f"extend[{key!r}]: {v!r} is not a whole number >= 1.")
        if key == "group" and min(values) < 2:
            raise InputError("extend['group']: give at least 2 groups.")
        grid[EXTEND_COLUMNS[key]] = [int(v) for v in values]
    return grid


def sweep_arguments(estimator, X, y, effect, extend, estimators, parameters):
    """The arguments of a PowerSimulation from a fitted pilot (see ``from_estimator``)."""
    from sklearn.base import clone

    if getattr(estimator, "spec", None) is None:
        raise InputError(
            "from_estimator needs an estimator fitted with a spec (ColumnSpec) that "
            "names the pilot's columns."
        )
    fitted = isinstance(effect, str) and effect == "fitted"
    if isinstance(effect, str) and not fitted:
        raise InputError(f"effect must be numbers or 'fitted', got {effect!r}.")
    y_name = str(getattr(y, "name", None) or "y")
    generator = PilotGenerator(
        estimator,
        X,
        y,
        parameters=parameters,
        fitted_effect=fitted,
        y_name=y_name,
    )
    if fitted:
        effects = [float(generator.pilot_effects[0])]
    else:
        effects = list(effect) if isinstance(effect, (list, tuple, np.ndarray)) else [effect]
        for value in effects:
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise InputTypeError(f"effect must be numbers or 'fitted', got {value!r}.")
    if estimators is None:
        estimators = {type(estimator).__name__: clone(estimator)}
    return {
        "generator": generator,
        "estimators": estimators,
        "y": y_name,
        "spec": estimator.spec,
        "param_grid": {"effect": [float(v) for v in effects], **check_extend(extend)},
        "effect_param": "effect",
    }
