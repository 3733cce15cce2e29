"""Joint predictive densities of each group's rows, and group-summed log-likelihoods.

A mixin of the Bayesian estimators, through
:class:`bwestimators._predictive.PosteriorPredictiveMixin`, which gives it
``_row_mu``-based helpers (``_flat_draws``, ``_unseen_terms``,
``_likelihood_params``, ``_log_density``, ``_gaussian``).
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from bwestimators._densities import design_columns, factorize, log_mean_exp, lowrank_normal_logpdf

#: Draws x rows evaluated at once (memory bound of the row loops).
_MAX_DRAWS_TIMES_ROWS = 4_000_000

#: Monte Carlo draws of new random effects per posterior draw (joint densities of
#: non-normal likelihoods).
_MC_EFFECTS = 8


class GroupPredictiveMixin:
    """Densities of groups of rows that share random effects (leave-one-group-out)."""

    def group_log_likelihood(self):
        """Log-likelihood of the fit data summed over each group's rows, in y's units.

        Computed in blocks of rows (the pointwise rows x draws array is never
        formed unless ``idata_`` was built already). Used for PSIS
        leave-one-group-out comparison.

        Returns
        -------
        loglik : ndarray of shape (chains, draws, n_groups)
            Groups in the order of ``spec_.categories_["group"]``.
        """
        from bwestimators.exceptions import InputError

        check_is_fitted(self, "draws_")
        if "group" not in self.spec_.categories_:
            raise InputError("Leave-one-group-out needs a group column in the ColumnSpec.")
        rows = self._fit_rows
        g = rows["codes"]["g"]
        n_groups = len(self.spec_.categories_["group"])
        draws = self._flat_draws()
        n_draws = next(iter(draws.values())).shape[0]
        out = np.zeros((n_draws, n_groups))
        block = max(1, _MAX_DRAWS_TIMES_ROWS // n_draws)
        for start in range(0, len(g), block):
            sl = slice(start, start + block)
            codes = {k: v[sl] for k, v in rows["codes"].items()}
            lp = self._log_density(draws, codes, rows["t"][sl], rows["y"][sl])
            onehot = np.zeros((lp.shape[1], n_groups))
            onehot[np.arange(lp.shape[1]), g[sl]] = 1.0
            out += lp.astype(float) @ onehot
        n_chains = next(iter(self.draws_.values())).shape[0]
        return out.reshape(n_chains, -1, n_groups)

    def _group_log_density(self, draws, codes, t, y, labels):
        """Joint log predictive density of each group's rows (in order of appearance)."""
        from bwestimators.exceptions import InputError

        if "group" not in labels:
            raise InputError("by_group=True needs a group column in the ColumnSpec.")
        group_codes, _ = factorize(labels["group"])
        out = np.empty(group_codes.max() + 1 if len(group_codes) else 0)
        for k in range(len(out)):
            idx = np.flatnonzero(group_codes == k)
            rows = {key: v[idx] for key, v in codes.items()}
            lab = {role: v[idx] for role, v in labels.items()}
            out[k] = self._joint_log_density(draws, rows, t[idx], y[idx], lab)
        return out

    def _joint_log_density(self, draws, codes, t, y, labels):
        """log mean over draws of the joint density of some rows (y's units)."""
        from bwestimators.models._likelihoods import observation_dist

        tc = t - self.treatment_center_
        Z, keys = design_columns(self._unseen_terms(draws, codes, tc), labels, len(t))
        sd = np.stack([draws[k] for k in keys], axis=1) if keys else None
        z = self.y_scale_.forward(y)
        jac = float(self.y_scale_.log_jacobian(y).sum())
        params = self._likelihood_params(draws)
        n_draws = next(iter(draws.values())).shape[0]
        mu_of = self._row_mu
        if self._gaussian:
            rr, ztr = np.zeros(n_draws), np.zeros((n_draws, Z.shape[1]))
            block = max(1, _MAX_DRAWS_TIMES_ROWS // n_draws)
            for start in range(0, len(t), block):
                sl = slice(start, start + block)
                r = z[sl] - mu_of(draws, {k: v[sl] for k, v in codes.items()}, tc[sl])
                rr += np.einsum("sn,sn->s", r, r)
                ztr += r @ Z[sl]
            var = params["sigma"][:, 0] ** 2
            lp = lowrank_normal_logpdf(len(t), rr, ztr, Z.T @ Z, var, sd)
            return float(log_mean_exp(lp)) + jac
        # Monte Carlo over the new effects: _MC_EFFECTS per draw, rows in blocks
        rng = np.random.default_rng(0)
        eta = rng.standard_normal((n_draws, _MC_EFFECTS, Z.shape[1]))
        if keys:
            eta = eta * sd[:, None, :]
        lp = np.zeros((n_draws, _MC_EFFECTS))
        wide = {k: p[..., None] for k, p in params.items()}
        block = max(1, _MAX_DRAWS_TIMES_ROWS // (n_draws * _MC_EFFECTS))
        for start in range(0, len(t), block):
            sl = slice(start, start + block)
            mu = mu_of(draws, {k: v[sl] for k, v in codes.items()}, tc[sl])
            lin = mu[:, None, :] + eta @ Z[sl].T
            dist = observation_dist(self.dist_y, lin, wide)
            lp += np.asarray(dist.log_prob(z[sl]), dtype=float).sum(axis=-1)
        return float(log_mean_exp(lp.ravel())) + jac
