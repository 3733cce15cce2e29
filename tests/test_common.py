"""scikit-learn's common estimator checks on every public estimator and on ColumnSpec.

The checks feed plain numeric arrays, so the roles are named by integer
position. Their random data have a continuous "treatment" in column 0 and, for
the LME, a "group" in column 1 with a different value in every row.
"""

import warnings

from sklearn.utils.estimator_checks import parametrize_with_checks

from bwestimators import (
    AnovaComparator,
    ColumnSpec,
    ConditionMeansRegressor,
    HierarchicalSlopeRegressor,
    LMEComparator,
)

SMALL = {"num_warmup": 100, "num_samples": 100, "num_chains": 2, "random_state": 0}

ESTIMATORS = [
    ColumnSpec(0, group=1),
    LMEComparator(ColumnSpec(0, group=1)),
    AnovaComparator(ColumnSpec(0), aggregate=None, treatment_as="numeric"),
    HierarchicalSlopeRegressor(ColumnSpec(0), **SMALL),
    ConditionMeansRegressor(ColumnSpec(0), **SMALL),
]


_LME_REASON = (
    "the checks' random data have a different group in every row; a mixed model needs "
    "repeated observations per group, and statsmodels' fit or prediction is singular"
)
_LME_SINGULAR = (
    "check_regressors_no_decision_function",
    "check_dont_overwrite_parameters",
    "check_dict_unchanged",
    "check_dtype_object",
    "check_pipeline_consistency",
    "check_fit2d_predict1d",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_regressors_int",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
)


_MEANS_REASON = (
    "the checks' data have a continuous treatment (random floats); ConditionMeansRegressor "
    "estimates a mean per treatment level and refuses a continuous treatment with an InputError "
    "(its base class is checked through HierarchicalSlopeRegressor)"
)
_MEANS_CONTINUOUS = (
    "check_dict_unchanged",
    "check_dont_overwrite_parameters",
    "check_estimators_dtypes",
    "check_estimators_fit_returns_self",
    "check_estimators_overwrite_params",
    "check_f_contiguous_array_estimator",
    "check_fit2d_1feature",
    "check_fit2d_predict1d",
    "check_fit_check_is_fitted",
    "check_fit_idempotent",
    "check_n_features_in",
    "check_n_features_in_after_fitting",
    "check_positive_only_tag_during_fit",
    "check_readonly_memmap_input",
    "check_regressor_data_not_an_array",
    "check_regressors_int",
    "check_regressors_no_decision_function",
    "check_regressors_train",
)


def _expected_failures(estimator):
    if isinstance(estimator, LMEComparator):
        return dict.fromkeys(_LME_SINGULAR, _LME_REASON)
    if isinstance(estimator, ConditionMeansRegressor):
        return dict.fromkeys(_MEANS_CONTINUOUS, _MEANS_REASON)
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failures)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(estimator)
