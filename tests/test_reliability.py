"""No silent wrong results: y is aligned to X by label, or refused."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bwestimators import AnovaComparator, ColumnSpec, HierarchicalSlopeRegressor, LMEComparator
from bwestimators.exceptions import InputError
from bwestimators.metrics import log_predictive_density

SPEC = ColumnSpec("stim", group="mouse")


@pytest.fixture(scope="module")
def lfp():
    from bwestimators.datasets import generate_fake_lfp

    return generate_fake_lfp(mouse_response_slope=9, n_trials=5, random_state=0).df


@pytest.mark.parametrize("make", [lambda: LMEComparator(SPEC), lambda: AnovaComparator(SPEC)])
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**16))
def test_shuffled_x_with_its_own_y_gives_the_same_effects(lfp, make, seed):
    """y is matched to X by label: shuffling the rows changes nothing."""
    shuffled = lfp.sample(frac=1, random_state=seed)
    base = make().fit(lfp, lfp["Log power"])
    est = make().fit(shuffled, lfp["Log power"])
    np.testing.assert_allclose(est.effects_["estimate"], base.effects_["estimate"], rtol=1e-8)
    assert est.score(shuffled, lfp["Log power"]) == pytest.approx(
        base.score(lfp, lfp["Log power"]), rel=1e-8
    )
    assert log_predictive_density(est, shuffled, lfp["Log power"]) == pytest.approx(
        log_predictive_density(base, lfp, lfp["Log power"]), rel=1e-8
    )


def test_position_matching_is_still_possible(lfp):
    """A plain array pairs by position, as in scikit-learn."""
    shuffled = lfp.sample(frac=1, random_state=1)
    by_label = LMEComparator(SPEC).fit(shuffled, lfp["Log power"])
    by_position = LMEComparator(SPEC).fit(shuffled, shuffled["Log power"].to_numpy())
    np.testing.assert_allclose(by_label.effects_["estimate"], by_position.effects_["estimate"])


@pytest.mark.parametrize(
    "make",
    [
        lambda: LMEComparator(SPEC),
        lambda: AnovaComparator(SPEC),
        lambda: HierarchicalSlopeRegressor(SPEC, num_warmup=10, num_samples=10, num_chains=1),
    ],
)
def test_an_index_that_does_not_match_is_refused(lfp, make):
    y = lfp["Log power"].reset_index(drop=True)
    y.index = y.index + 1000
    with pytest.raises(InputError, match="index of y does not match the index of X"):
        make().fit(lfp, y)
    repeated = lfp["Log power"].copy()
    repeated.index = np.zeros(len(repeated), dtype=int)
    with pytest.raises(InputError, match="labels repeat"):
        make().fit(lfp, repeated)


def test_score_refuses_a_foreign_index(lfp):
    est = LMEComparator(SPEC).fit(lfp, lfp["Log power"])
    y = pd.Series(lfp["Log power"].to_numpy(), index=lfp.index + 1)
    with pytest.raises(InputError, match="index of y"):
        est.score(lfp, y)


@pytest.mark.parametrize(
    "make",
    [
        lambda: LMEComparator(SPEC),
        lambda: AnovaComparator(SPEC),
        lambda: AnovaComparator(SPEC, kind="rm"),
        lambda: HierarchicalSlopeRegressor(SPEC, num_warmup=10, num_samples=10, num_chains=1),
    ],
)
@pytest.mark.parametrize(
    ("values", "message"),
    [
        (lambda n: np.full(n, 3.0), "y is constant"),
        (lambda n: np.r_[1e200, -1e200, np.ones(n - 2)], "too large"),
    ],
)
def test_constant_or_overflowing_y_is_refused(lfp, make, values, message):
    with pytest.raises(InputError, match=message):
        make().fit(lfp, values(len(lfp)))


def _pre_post_frame(effect=1.0, seed=1):
    """Six mice, pre and post trials; post is on average ``effect`` above pre."""
    rng = np.random.default_rng(seed)
    n_mice, n_trials = 6, 8
    mouse = np.repeat([f"m{i}" for i in range(n_mice)], 2 * n_trials)
    dose = np.tile(np.repeat(["pre", "post"], n_trials), n_mice)
    slope = effect + rng.normal(scale=0.3, size=n_mice)
    y = (
        np.repeat(rng.normal(size=n_mice), 2 * n_trials)
        + np.repeat(slope, 2 * n_trials) * (dose == "post")
        + rng.normal(scale=0.5, size=len(mouse))
    )
    return pd.DataFrame(
        {"dose": pd.Categorical(dose, categories=["pre", "post"]), "mouse": mouse, "y": y}
    )


def test_categorical_treatment_keeps_its_order_and_the_sign_of_the_effect():
    """Categories ["pre", "post"]: post vs pre, not the alphabetical "post" < "pre"."""
    df = _pre_post_frame(effect=1.0)
    est = LMEComparator(ColumnSpec("dose", group="mouse")).fit(df, df["y"])
    assert est.effects_["estimate"].iloc[0] > 0
    assert est.spec_.treatment_reference_ == "pre"
    flipped = LMEComparator(ColumnSpec("dose", group="mouse", treatment_levels=["post", "pre"]))
    flipped.fit(df, df["y"])
    assert flipped.effects_["estimate"].iloc[0] < 0
    assert flipped.spec_.treatment_reference_ == "post"
    np.testing.assert_allclose(
        flipped.effects_["estimate"].iloc[0], -est.effects_["estimate"].iloc[0], rtol=1e-6
    )
