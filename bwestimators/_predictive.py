"""Predictions of the Bayesian estimators: expected values, predictive densities, posterior
predictive draws and the ArviZ data (``idata_``), all in y's units.

A mixin of :class:`bwestimators._bayes.BayesianEstimatorBase`: it reads the
fitted ``draws_``, ``y_scale_``, ``family_`` and the subclass's ``_row_mu``
(the linear predictor of rows from the draws).
"""

import numpy as np
from scipy.special import logsumexp
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from bwestimators._cells import unique_rows
from bwestimators._densities import (
    design_columns,
    gauss_hermite,
    log_mean_exp,
    role_labels,
)
from bwestimators._group_predictive import _MAX_DRAWS_TIMES_ROWS, GroupPredictiveMixin
from bwestimators._levels import treatment_dummies

#: Random effects a row may not know (its level unseen at fit time), integrated over in every
#: prediction: (effect site, sd site, code key, role of the level labels, slope?).
_UNSEEN_EFFECTS = (
    ("a_group", "sigma_group", "g", "group", False),
    ("b_group", "sigma_group_slope", "g", "group", True),
    ("a_group2", "sigma_group2", "g2", "group2", False),
    ("a_condition", "sigma_condition", "c", "condition", False),
    ("b_condition", "sigma_condition_slope", "c", "condition", True),
)


def _slope_multipliers(est, tc):
    """Each row's multiplier of a new random slope: the (centered) treatment; for a categorical
    treatment one per dummy, 1 at that dummy's level (independent slopes, a shared sd)."""
    levels = getattr(est, "treatment_levels_", None)
    if levels is None:
        return [tc]
    return list(treatment_dummies(tc, len(levels)).T)


class PosteriorPredictiveMixin(GroupPredictiveMixin):
    """predict, log_predictive_density, sample_posterior_predictive and idata_.

    Rows of a group (group2 level, condition under partial pooling) unseen at fit
    time integrate over new random effects drawn from their fitted distribution.
    """

    def _flat_draws(self, max_draws=None):
        flat = {k: v.reshape(-1, *v.shape[2:]) for k, v in self.draws_.items()}
        total = next(iter(flat.values())).shape[0]
        if max_draws is not None and total > max_draws:
            idx = np.linspace(0, total - 1, max_draws).astype(int)
            flat = {k: v[idx] for k, v in flat.items()}
        return flat

    def _predict_codes(self, X):
        data = self._resolve(X, fit=False)
        # unseen conditions are the model's business: population level or an error in _cell_codes
        self._check_predict_roles(data, unseen_condition_ok=True)
        codes = self._cell_codes(data, predict=True)
        return codes, data.Z["treatment"].to_numpy(dtype=float), data

    def _unseen_terms(self, draws, codes, tc):
        """``(sd site, z, role)`` of every random effect unknown to some of the rows.

        ``z`` is each row's multiplier of the new effect (1 for an intercept, see
        :func:`_slope_multipliers` for a slope, 0 where the row knows the effect).
        """
        slope_zs = _slope_multipliers(self, tc)
        terms = []
        for effect, sd_site, key, role, slope in _UNSEEN_EFFECTS:
            if effect not in draws or sd_site not in draws or key not in codes:
                continue
            unseen = np.asarray(codes[key]) < 0
            if unseen.any():
                for z in slope_zs if slope else [1.0]:
                    terms.append((sd_site, np.where(unseen, z, 0.0), role))
        return terms

    @staticmethod
    def _unseen_variance(draws, terms):
        """Variance (draws x rows) of the new random effects in each row's linear predictor."""
        if not terms:
            return None
        return sum(draws[site][:, None] ** 2 * z[None, :] ** 2 for site, z, _ in terms)

    def _row_blocks(self, codes, t, draws, width=1):
        """Blocks of rows: slice, linear predictor (draws x rows), unseen variance (or None)."""
        n_draws = next(iter(draws.values())).shape[0]
        block = max(1, _MAX_DRAWS_TIMES_ROWS // (n_draws * width))
        tc = t - self.treatment_center_
        for start in range(0, len(t), block):
            sl = slice(start, start + block)
            rows = {k: v[sl] for k, v in codes.items()}
            terms = self._unseen_terms(draws, rows, tc[sl])
            yield sl, self._row_mu(draws, rows, tc[sl]), self._unseen_variance(draws, terms)

    def _likelihood_params(self, draws):
        """The family's own parameters, as (draws, 1) columns."""
        return {k: draws[k][:, None] for k in self.family_.param_names}

    @property
    def _gaussian(self):
        # the families that collapse exactly to sufficient statistics are the normal ones
        return self.family_.collapsible

    def _log_density(self, draws, codes, t, y):
        """Pointwise log density (draws x rows) of y, in y's units, float32.

        Rows with unseen levels integrate over their new effects: a normal
        with the added variance for normal observations, Gauss-Hermite
        quadrature otherwise.
        """
        from bwestimators.models._likelihoods import observation_dist

        z = self.y_scale_.forward(y)
        jac = self.y_scale_.log_jacobian(y)
        params = self._likelihood_params(draws)
        n_draws = next(iter(draws.values())).shape[0]
        out = np.empty((n_draws, len(t)), dtype=np.float32)
        x, w = gauss_hermite()
        width = 1 if self._gaussian else len(x)  # quadrature nodes per row
        for sl, mu, v in self._row_blocks(codes, t, draws, width=width):
            if self._gaussian:
                var = params["sigma"] ** 2 if v is None else params["sigma"] ** 2 + v
                lp = -0.5 * (np.log(2 * np.pi * var) + (z[sl] - mu) ** 2 / var)
            elif v is None:
                lp = np.asarray(observation_dist(self.dist_y, mu, params).log_prob(z[sl]))
            else:
                lin = mu[..., None] + np.sqrt(v)[..., None] * x
                wide = {k: p[..., None] for k, p in params.items()}
                lpk = np.asarray(
                    observation_dist(self.dist_y, lin, wide).log_prob(z[sl][:, None]), dtype=float
                )
                lp = logsumexp(lpk + np.log(w), axis=-1)
            out[:, sl] = lp + jac[sl]
        return out

    def _internal_moments(self, mu, v, params):
        """Mean and variance of y on the internal scale per draw, over the new effects too."""
        from bwestimators.models._likelihoods import expected_value, observation_variance

        if v is None or self.family_.link == "identity":
            m = np.asarray(expected_value(self.dist_y, mu, params), dtype=float)
            var = np.asarray(observation_variance(self.dist_y, m, params), dtype=float)
            return m, var if v is None else var + v
        x, w = gauss_hermite()
        lin = mu[..., None] + np.sqrt(v)[..., None] * x
        wide = {k: p[..., None] for k, p in params.items()}
        mk = np.asarray(expected_value(self.dist_y, lin, wide), dtype=float)
        vk = np.asarray(observation_variance(self.dist_y, mk, wide), dtype=float)
        m = mk @ w
        return m, np.maximum((vk + mk**2) @ w - m**2, 0.0)

    def predict(self, X, return_std=False):
        """Posterior mean of the expected value of y, in y's units.

        Rows of groups seen at fit time use their group's effects. Rows of a
        group not seen at fit time (or a group2 level, or a condition under
        partial pooling) get new random effects drawn from their fitted
        distribution: the mean and the standard deviation integrate over them
        (for each posterior draw, the variance of the group intercept, the group
        slope times the treatment squared and group2 adds to the linear
        predictor's, exactly for normal and lognormal, by Gauss-Hermite
        quadrature for the link likelihoods).

        Parameters
        ----------
        X : DataFrame
        return_std : bool, default=False
            Also return the standard deviation of the posterior predictive
            distribution of y (of a new observation of the row, new group effects
            included). For the student likelihood the observation variance is
            averaged over the draws where it exists (nu > 2).

        Returns
        -------
        y_mean : ndarray of shape (n_samples,)
        y_std : ndarray of shape (n_samples,), only with ``return_std=True``
        """
        check_is_fitted(self, "draws_")
        codes, t, _ = self._predict_codes(X)
        # rows that share codes and treatment share their prediction: compute each once
        first, inverse = unique_rows(codes, t)
        codes, t = {k: v[first] for k, v in codes.items()}, t[first]
        draws = self._flat_draws()
        params = self._likelihood_params(draws)
        mean = np.empty(len(t))
        std = np.empty(len(t))
        width = 1 if self.family_.link == "identity" else len(gauss_hermite()[0])
        for sl, mu, v_new in self._row_blocks(codes, t, draws, width=width):
            m_int, v_int = self._internal_moments(mu, v_new, params)
            m, v = self.y_scale_.moments(m_int, v_int)
            mean[sl] = m.mean(axis=0)
            # heavy tails (student with nu <= 2) have no variance: average where it exists
            finite = np.isfinite(v)
            v_mean = np.where(finite, v, 0.0).sum(axis=0) / np.maximum(finite.sum(axis=0), 1)
            std[sl] = np.sqrt(m.var(axis=0) + np.where(finite.any(axis=0), v_mean, np.inf))
        return (mean[inverse], std[inverse]) if return_std else mean[inverse]

    def log_predictive_density(self, X, y, pointwise=False, by_group=False, labels=None):
        """Log posterior predictive density of observed y, in y's units.

        ``by_group=False``: for each row, ``log mean_s p(y_i | theta_s)`` over
        the posterior draws, rows one at a time (pointwise), as for held-out
        rows. ``by_group=True``: for each group, the joint density of its rows,
        ``log mean_s p(y_G | theta_s)``: the rows of a group share its effects,
        so this is the density leave-one-group-out cross-validation scores.

        Rows of groups not seen at fit time integrate over new group effects
        (and group2 levels, and conditions under partial pooling): for normal
        and lognormal observations exactly (a normal with the added variance,
        jointly a multivariate normal with the covariance the shared effects
        induce), otherwise by Gauss-Hermite quadrature (pointwise) or Monte Carlo
        over the new effects, 8 per posterior draw (joint). Lognormal densities
        include the Jacobian of the log, so every likelihood's density is in
        the units of y.

        Parameters
        ----------
        X : DataFrame
        y : array-like of shape (n_samples,)
        pointwise : bool, default=False
            Return one value per row (per group with ``by_group``) instead of the mean.
        by_group : bool, default=False
            Joint density of each group's rows.
        labels : dict or None, default=None
            Level labels per row for ``"group"``, ``"group2"``, ``"condition"``
            (rows with the same label share its effect); by default the raw
            columns of X named by ``spec``. Needed to tell apart several groups
            unseen at fit time when X is the output of a ColumnSpec.

        Returns
        -------
        lpd : float, or ndarray of shape (n_samples,) (or (n_groups,) with ``by_group``)
        """
        check_is_fitted(self, "draws_")
        codes, t, data = self._predict_codes(X)
        y = self._check_y(y, data, fit=False)
        self.family_.check_support(y)
        draws = self._flat_draws()
        if by_group:
            labels = role_labels(self.spec, X, data.Z, labels)
            out = self._group_log_density(draws, codes, t, y, labels)
        else:
            lp = self._log_density(draws, codes, t, y)
            out = log_mean_exp(lp, axis=0)
        return out if pointwise else float(out.mean())

    def sample_posterior_predictive(self, X, n_draws=100, random_state=None, labels=None):
        """Draws of y from the posterior predictive distribution, in y's units.

        Rows of levels unseen at fit time get new random effects, one per new
        level and posterior draw, shared by the rows with that level's label
        (see ``labels`` of :meth:`log_predictive_density`).

        Parameters
        ----------
        X : DataFrame
        n_draws : int, default=100
            Posterior draws used (evenly spaced over the chains).
        random_state : int or None
        labels : dict or None, default=None
            As in :meth:`log_predictive_density`.

        Returns
        -------
        y_draws : ndarray of shape (n_draws, n_samples)
        """
        import jax

        from bwestimators.models._likelihoods import observation_dist

        check_is_fitted(self, "draws_")
        codes, t, data = self._predict_codes(X)
        draws = self._flat_draws(max_draws=n_draws)
        tc = t - self.treatment_center_
        mu = self._row_mu(draws, codes, tc)
        rng = check_random_state(random_state)
        terms = self._unseen_terms(draws, codes, tc)
        Z, keys = design_columns(terms, role_labels(self.spec, X, data.Z, labels), len(t))
        if keys:
            sd = np.stack([draws[k] for k in keys], axis=1)
            mu = mu + (rng.standard_normal(sd.shape) * sd) @ Z.T
        seed = int(rng.randint(0, 2**31 - 1))
        dist = observation_dist(self.dist_y, mu, self._likelihood_params(draws))
        return self.y_scale_.inverse(np.asarray(dist.sample(jax.random.PRNGKey(seed))))

    # ---- ArviZ -------------------------------------------------------------------------
    def _posterior_dims(self):
        """Variable name -> (dim name, coordinate labels) for vector parameters."""
        return {}

    @property
    def idata_(self):
        """ArviZ data (a DataTree): posterior, log_likelihood, observed_data, sample_stats.

        Built on first access and kept (not pickled). The pointwise
        log-likelihood has one float32 value per draw and observation, computed
        in blocks of rows (at most 4 million values at a time): it takes
        ``4 * rows * draws`` bytes, 1.6 GB for the 105,425-row all-samples LFP
        frame with 4000 draws (built in 8 s there; peak memory is that array
        plus about 30 MB). Leave-one-group-out comparison needs only
        :meth:`group_log_likelihood` (groups x draws), which never forms it.
        """
        if not hasattr(self, "draws_"):
            raise AttributeError("idata_ exists after fit.")
        if getattr(self, "_idata", None) is None:
            self._idata = self._build_idata()
        return self._idata

    def _build_idata(self):
        from bwestimators._arviz import arviz

        rows = self._fit_rows
        dims_map = self._posterior_dims()
        posterior, dims, coords = {}, {"y": ["obs"]}, {"obs": np.arange(len(rows["y"]))}
        for name, value in self.draws_.items():
            posterior[name] = np.asarray(value)
            if name in dims_map and np.ndim(value) == 3:
                dim, labels = dims_map[name]
                dims[name] = [dim]
                coords[dim] = [str(v) for v in labels]
        loglik = self._log_density(self._flat_draws(), rows["codes"], rows["t"], rows["y"])
        n_chains = next(iter(self.draws_.values())).shape[0]
        groups = {
            "posterior": posterior,
            "log_likelihood": {"y": loglik.reshape(n_chains, -1, len(rows["y"]))},
            "observed_data": {"y": rows["y"]},
        }
        if "diverging" in self.sample_stats_:
            groups["sample_stats"] = {
                "diverging": self.sample_stats_["diverging"],
                "n_steps": self.sample_stats_["num_steps"],
            }
        return arviz().from_dict(groups, dims=dims, coords=coords)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_idata"] = None
        return state
