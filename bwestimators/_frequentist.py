"""Helpers of the frequentist estimators: a working frame with quoted names, contrasts, warnings,
and pickling of their fitted statsmodels formula results."""

import numpy as np
import pandas as pd
from scipy import stats

from bwestimators._warn import capture_warnings


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
        "std_error": se,
        "stat": stat,
        "p_value": p,
        "lower": est - q * se,
        "upper": est + q * se,
    }


class WarningLog:
    """Collect the warnings raised inside a block, to keep them and re-emit them once.

    Only the warnings of this thread: fits running in other threads keep theirs.
    """

    def __init__(self):
        self.messages = []

    def __enter__(self):
        self._ctx = capture_warnings()
        self._caught = self._ctx.__enter__()
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


#: Where statsmodels keeps a formula model's design: ``model_spec`` (0.15), ``design_info`` (0.14).
_DESIGN_ATTRS = ("model_spec", "design_info")


def _shallow_copy(obj, **changes):
    """A new object of obj's class with obj's attributes and ``changes`` (no pickling hooks)."""
    new = object.__new__(type(obj))
    vars(new).update(vars(obj), **changes)
    return new


def _without_design(result, attr):
    """A copy of a statsmodels result whose model data lacks its formula design ``attr``."""
    inner = getattr(result, "_results", result)
    bare = _shallow_copy(inner.model.data)
    del vars(bare)[attr]
    inner_copy = _shallow_copy(inner, model=_shallow_copy(inner.model, data=bare))
    return inner_copy if inner is result else _shallow_copy(result, _results=inner_copy)


def _rebuilt_design(data, attr):
    """The formula design of fitted model data, built again from its formula and frame.

    The formula is evaluated with this module's names (among them those the
    estimators' formulas saw at fit time: ``np``, ``pd``) and patsy's builtins
    (``Q``, ``C``, ``I``, ...).
    """
    frame = data.frame if "frame" in vars(data) else data.orig_endog.join(data.orig_exog)
    namespace = dict(globals())
    if attr == "design_info":  # statsmodels 0.14: patsy
        import patsy

        env = patsy.EvalEnvironment([namespace])
        _, design = patsy.dmatrices(data.formula, frame, eval_env=env, return_type="dataframe")
        return design.design_info
    from statsmodels.formula._manager import FormulaManager

    manager = FormulaManager()
    manager.get_matrices(data.formula, frame, eval_env=namespace, pandas=True)
    return manager.spec


class FormulaPickleMixin:
    """Pickling of a fitted statsmodels formula result (``result_``) that loads anywhere.

    statsmodels pickles a formula model without its design (patsy's cannot be
    pickled) and rebuilds it on loading by evaluating the formula in a frame a
    few levels up the caller's stack; loaded at a script's top level there is
    no such frame (``AttributeError: 'NoneType' object has no attribute
    'f_locals'``). Here ``result_`` is pickled as a copy without the design
    (the fitted estimator is not touched), and the design is rebuilt on loading
    from the fitted formula and frame, in a namespace of its own.
    """

    def __getstate__(self):
        state = dict(super().__getstate__())
        result = state.get("result_")
        data = getattr(getattr(result, "model", None), "data", None)
        found = [a for a in _DESIGN_ATTRS if data is not None and a in vars(data)]
        attr = found[0] if found else None
        if attr is not None and getattr(data, "formula", None) is not None:
            state["result_"] = _without_design(result, attr)
            state["_rebuild_design"] = attr
        return state

    def __setstate__(self, state):
        state = dict(state)
        attr = state.pop("_rebuild_design", None)
        super().__setstate__(state)
        if attr is not None:
            data = self.result_.model.data
            setattr(data, attr, _rebuilt_design(data, attr))
