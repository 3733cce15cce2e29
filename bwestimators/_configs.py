"""Static model configurations (hashable; shapes and switches), free of jax."""

from typing import NamedTuple


class SlopeConfig(NamedTuple):
    """Static configuration of the slope model (hashable, shapes included)."""

    dist_y: str
    n_groups: int
    n_groups2: int
    n_conditions: int
    group_intercept: bool
    group_slope: bool
    group2_intercept: bool
    condition_intercept: bool
    condition_slope: bool
    pooling: str
    centered: tuple
    nested: bool = False
    #: Levels of a categorical treatment (k >= 3, reference-coded dummies); 0 otherwise.
    n_treatment_levels: int = 0
    #: ``"partial"``: random group (group2) intercepts with a learned sd; ``"none"``:
    #: reference-coded unpooled intercepts (groupings of few levels).
    group_pooling: str = "partial"
    group2_pooling: str = "partial"
    #: What is integrated out (:mod:`bwestimators.models._marginal`): ``"none"``, the random
    #: group effects (``"groups"``), or those and the population coefficients (``"linear"``).
    marginal: str = "none"


class MeansConfig(NamedTuple):
    """Static configuration of the condition-means model."""

    dist_y: str
    n_groups: int
    n_cells: int
    group_intercept: bool
    centered: tuple
