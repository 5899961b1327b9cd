"""Uplift modelling: scikit-learn-style estimators (S/T/X-learner, TARNet, EFIN, ECUP), data
bundles (Hillstrom, Criteo uplift, the simulator's ``uplift`` preset), plots and the
``shopml bench uplift`` benchmark. See docs/marketing.md.

The estimators and data bundles are imported lazily (``from shopml.uplift import EFIN`` loads
PyTorch only then)."""

from __future__ import annotations

from shopml.lazy import lazy_getattr
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

_EXPORTS = {
    "SLearner": "shopml.uplift.meta",
    "TLearner": "shopml.uplift.meta",
    "XLearner": "shopml.uplift.meta",
    "TARNet": "shopml.uplift.tarnet",
    "EFIN": "shopml.uplift.efin",
    "ECUP": "shopml.uplift.ecup",
    "UpliftData": "shopml.uplift.data",
    "hillstrom_data": "shopml.uplift.data",
    "criteo_data": "shopml.uplift.data",
    "simulated_data": "shopml.uplift.data",
}


__getattr__ = lazy_getattr(__name__, _EXPORTS)


__all__ = [
    *_EXPORTS,
    "UpliftEstimator",
    "UpliftInputError",
    "arm_scores",
    "get_method",
    "methods",
    "register_method",
    "uplift_score",
    "uplift_scorer",
]
