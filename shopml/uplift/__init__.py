"""Uplift modelling: scikit-learn-style estimators (S/T/X-learner, TARNet, EFIN, ECUP), data
bundles (Hillstrom, Criteo uplift, the simulator's ``uplift`` preset), plots and the
``shopml bench uplift`` benchmark. See docs/marketing.md."""

from shopml.uplift.base import (
    UpliftEstimator,
    UpliftInputError,
    arm_scores,
    get_method,
    methods,
    register_method,
    uplift_score,
    uplift_scorer,
)

__all__ = [
    "UpliftEstimator",
    "UpliftInputError",
    "arm_scores",
    "get_method",
    "methods",
    "register_method",
    "uplift_score",
    "uplift_scorer",
]
