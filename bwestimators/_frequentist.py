"""Helpers of the frequentist estimators: a working frame with quoted names, contrasts, warnings."""

import warnings

import numpy as np
import pandas as pd
from scipy import stats


def quote(name):
    """A column name quoted for a statsmodels (patsy) formula: ``Q('Log power')``."""
    return f"Q({str(name)!r})"


def working_frame(data, y, y_name):
    """A new frame with y, the coded treatment and the role columns under their original names.

    The treatment holds its numeric (0/1) coding and the other roles their
    Categoricals; several condition columns are one combined column named after
    them (``"Stim phase x Inversion"``). The caller's frame is not touched.

    Returns
    -------
    frame : DataFrame
    roles : dict
        Role (and ``"y"``) to the column name in ``frame``.
    """
    Z, names = data.Z, data.names
    cols, roles = {}, {}
    for role in ("treatment", "condition", "group", "group2"):
        if role in Z.columns:
            name = names[role]
            name = " x ".join(map(str, name)) if isinstance(name, list) else str(name)
            cols[name] = Z[role].to_numpy() if role == "treatment" else Z[role]
            roles[role] = name
    y_col = "y" if y_name is None else str(y_name)
    while y_col in cols:
        y_col = f"{y_col} (y)"
    cols[y_col] = np.asarray(y, dtype=float)
    roles["y"] = y_col
    return pd.DataFrame(cols, index=Z.index), roles


def design_rows(model_spec, frame):
    """Fixed-effects design rows of a fitted formula model for new data."""
    if hasattr(model_spec, "get_model_matrix"):
        return np.asarray(model_spec.get_model_matrix(frame), dtype=float)
    import patsy

    return np.asarray(patsy.build_design_matrices([model_spec], frame)[0], dtype=float)


def model_spec_of(result):
    data = result.model.data
    spec = getattr(data, "model_spec", None)
    return spec if spec is not None else data.design_info


def contrast_table(L, params, cov, alpha, df=None):
    """Estimate, standard error, statistic, p-value and interval of each contrast row of L.

    With ``df`` (residual degrees of freedom) the t distribution is used, else
    the normal (Wald z).
    """
    est = L @ params
    se = np.sqrt(np.einsum("ij,jk,ik->i", L, cov, L))
    stat = est / se
    if df is None:
        p = 2 * stats.norm.sf(np.abs(stat))
        q = stats.norm.ppf(1 - alpha / 2)
    else:
        p = 2 * stats.t.sf(np.abs(stat), df)
        q = stats.t.ppf(1 - alpha / 2, df)
    return {
        "estimate": est,
        "std_err": se,
        "stat": stat,
        "p_value": p,
        "lower": est - q * se,
        "upper": est + q * se,
    }


class WarningLog:
    """Collect the warnings raised inside a block, to keep them and re-emit them once."""

    def __init__(self):
        self.messages = []

    def __enter__(self):
        self._ctx = warnings.catch_warnings(record=True)
        self._caught = self._ctx.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        self._ctx.__exit__(*exc)
        seen = []
        for w in self._caught:
            text = f"{w.category.__name__}: {w.message}"
            if text not in seen:
                seen.append(text)
        self.messages = seen
        return False
