"""Predictions of the Bayesian estimators: expected values, predictive densities, posterior
predictive draws and the ArviZ data (``idata_``), all in y's units.

A mixin of :class:`bwestimators._bayes.BayesianEstimatorBase`: it reads the
fitted ``draws_``, ``y_scale_``, ``family_`` and the subclass's ``_row_mu``
(the linear predictor of rows from the draws).
"""

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from bwestimators._cells import unique_rows

#: Draws x rows evaluated at once (memory bound of the row loops).
_MAX_DRAWS_TIMES_ROWS = 4_000_000


class PosteriorPredictiveMixin:
    """predict, log_predictive_density, sample_posterior_predictive and idata_."""

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

    def _row_blocks(self, codes, t, draws):
        """Linear predictors (draws x rows) of consecutive blocks of rows, with their slices."""
        n_draws = next(iter(draws.values())).shape[0]
        block = max(1, _MAX_DRAWS_TIMES_ROWS // n_draws)
        for start in range(0, len(t), block):
            sl = slice(start, start + block)
            rows = {k: v[sl] for k, v in codes.items()}
            yield sl, self._row_mu(draws, rows, t[sl] - self.treatment_center_)

    def _likelihood_params(self, draws):
        """The family's own parameters, as (draws, 1) columns."""
        return {k: draws[k][:, None] for k in self.family_.param_names}

    def _log_density(self, draws, codes, t, y):
        """Pointwise log density (draws x rows) of y, in y's units."""
        from bwestimators.models._likelihoods import observation_dist

        z = self.y_scale_.forward(y)
        jac = self.y_scale_.log_jacobian(y)
        params = self._likelihood_params(draws)
        n_draws = next(iter(draws.values())).shape[0]
        out = np.empty((n_draws, len(t)), dtype=np.float32)
        for sl, mu in self._row_blocks(codes, t, draws):
            lp = np.asarray(observation_dist(self.dist_y, mu, params).log_prob(z[sl]))
            out[:, sl] = lp + jac[sl]
        return out

    def predict(self, X, return_std=False):
        """Posterior mean of the expected value of y.

        Groups not seen at fit time get the population-level prediction (their
        random effects set to zero).

        Parameters
        ----------
        X : DataFrame
        return_std : bool, default=False
            Also return the standard deviation of the posterior predictive
            distribution of y. For the student likelihood the observation
            variance is averaged over the draws where it exists (nu > 2).

        Returns
        -------
        y_mean : ndarray of shape (n_samples,)
        y_std : ndarray of shape (n_samples,), only with ``return_std=True``
        """
        from bwestimators.models._likelihoods import expected_value, observation_variance

        check_is_fitted(self, "draws_")
        codes, t, _ = self._predict_codes(X)
        # rows that share codes and treatment share their prediction: compute each once
        first, inverse = unique_rows(codes, t)
        codes, t = {k: v[first] for k, v in codes.items()}, t[first]
        draws = self._flat_draws()
        params = self._likelihood_params(draws)
        mean = np.empty(len(t))
        std = np.empty(len(t))
        for sl, mu in self._row_blocks(codes, t, draws):
            m_int = np.asarray(expected_value(self.dist_y, mu, params))
            v_int = np.asarray(observation_variance(self.dist_y, m_int, params))
            m, v = self.y_scale_.moments(m_int, v_int)
            mean[sl] = m.mean(axis=0)
            # heavy tails (student with nu <= 2) have no variance: average where it exists
            finite = np.isfinite(v)
            v_mean = np.where(finite, v, 0.0).sum(axis=0) / np.maximum(finite.sum(axis=0), 1)
            std[sl] = np.sqrt(m.var(axis=0) + np.where(finite.any(axis=0), v_mean, np.inf))
        return (mean[inverse], std[inverse]) if return_std else mean[inverse]

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

        check_is_fitted(self, "draws_")
        codes, t, data = self._predict_codes(X)
        y = self._check_y(y, data, fit=False)
        self.family_.check_support(y)
        draws = self._flat_draws()
        lp = self._log_density(draws, codes, t, y).astype(float)
        out = logsumexp(lp, axis=0) - np.log(lp.shape[0])
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
        codes, t, _ = self._predict_codes(X)
        draws = self._flat_draws(max_draws=n_draws)
        mu = self._row_mu(draws, codes, t - self.treatment_center_)
        seed = int(check_random_state(random_state).randint(0, 2**31 - 1))
        dist = observation_dist(self.dist_y, mu, self._likelihood_params(draws))
        return self.y_scale_.inverse(np.asarray(dist.sample(jax.random.PRNGKey(seed))))

    # ---- ArviZ -------------------------------------------------------------------------
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
