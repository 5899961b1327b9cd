"""causalml's and scikit-uplift's meta-learners behind the same fit/predict contract.

Used by ``shopml bench uplift`` so the libraries users reach for today run on exactly the same
splits, features and base model as shopml's learners. Both are optional (the ``marketing``
extra); a missing library raises a clear error naming the package to install, and
``shopml bench uplift`` checks (:func:`missing_peers`) that every peer it is to run can be
imported before it fits anything.

* causalml (Uber, ``causalml.inference.meta``): ``BaseSClassifier``, ``BaseTClassifier``,
  ``BaseXClassifier`` — multi-treatment natively (``control_name=0``); the X-learner gets the
  arm's share of its rows as the propensity (randomised data), as shopml's X-learner does.
* scikit-uplift (``sklift.models``): ``SoloModel`` (S), ``TwoModels`` (T, vanilla),
  ``ClassTransformation`` — binary treatment only, so with several arms one model is fitted
  per arm on that arm's and the control rows (the usual way to use sklift on multi-arm tests).

Missing feature values (NaN) reach scikit-uplift's models when the base model takes them (its
``allow_nan`` tag); causalml's learners are given none (not tried with NaN here): they stop with
a clear error naming the columns with NaN.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingRegressor

from shopml.uplift.base import UpliftEstimator, UpliftInputError, allows_nan


def _require(module: str, package: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise UpliftInputError(
            f"{module} is not installed; pip install {package} (shopml's 'marketing' extra)"
        ) from exc


def importable(module: str) -> bool:
    """Whether ``module`` can be imported (its library is installed and loads)."""
    try:
        importlib.import_module(module)
    except Exception:
        return False
    return True


def missing_peers(names: list[str]) -> dict[str, list[str]]:
    """Package → the named peer methods needing it, for each package that cannot be imported."""
    missing: dict[str, list[str]] = {}
    for name in names:
        if name in PEER_MODULES:
            module, package = PEER_MODULES[name]
            if package in missing or not importable(module):
                missing.setdefault(package, []).append(name)
    return missing


class _Peer(UpliftEstimator):
    def __init__(self, learner: str, base_estimator: Any):
        self.learner = learner
        self.base_estimator = base_estimator

    def _nan_advice(self) -> str:
        return (
            f"{type(self).__name__} ({self.learner}) with {type(self.base_estimator).__name__} "
            "cannot take missing feature values (NaN); impute them first"
        )


class CausalMLLearner(_Peer):
    """causalml's BaseS/T/XClassifier (``learner`` = ``s``, ``t`` or ``x``)."""

    def _fit(self, X: np.ndarray, y: np.ndarray, arm_index: np.ndarray) -> None:
        meta = _require("causalml.inference.meta", "causalml")
        base = clone(self.base_estimator)
        if self.learner == "s":
            model = meta.BaseSClassifier(learner=base, control_name=0)
        elif self.learner == "t":
            model = meta.BaseTClassifier(learner=base, control_name=0)
        elif self.learner == "x":
            model = meta.BaseXClassifier(
                outcome_learner=base,
                effect_learner=HistGradientBoostingRegressor(max_iter=100, random_state=0),
                control_name=0,
            )
        else:
            raise UpliftInputError(f"causalml learner must be s, t or x, got {self.learner!r}")
        # randomised data: the arm's share of the arm + control rows is the propensity
        self.shares_ = {
            a: float((arm_index == a).sum() / ((arm_index == a) | (arm_index == 0)).sum())
            for a in range(1, self.n_arms_ + 1)
        }
        kwargs = {}
        if self.learner == "x":
            kwargs["p"] = {a: np.full(len(X), share) for a, share in self.shares_.items()}
        model.fit(X, y=y.astype(int), treatment=arm_index, **kwargs)
        self.model_ = model

    def _predict(self, X: np.ndarray) -> np.ndarray:
        kwargs = {}
        if self.learner == "x":
            kwargs["p"] = {a: np.full(len(X), share) for a, share in self.shares_.items()}
        return np.asarray(self.model_.predict(X, verbose=False, **kwargs)).reshape(len(X), -1)


class SkliftLearner(_Peer):
    """scikit-uplift's SoloModel / TwoModels / ClassTransformation, one model per arm."""

    def _accepts_nan(self) -> bool:
        return allows_nan(self.base_estimator)  # sklift hands X to the base model as it is

    def _one(self) -> Any:
        models = _require("sklift.models", "scikit-uplift")
        base = self.base_estimator
        if self.learner == "s":
            return models.SoloModel(clone(base))
        if self.learner == "t":
            return models.TwoModels(clone(base), clone(base), method="vanilla")
        if self.learner == "class_transformation":
            return models.ClassTransformation(clone(base))
        raise UpliftInputError(f"sklift learner must be s, t or class_transformation: {self.learner!r}")

    def _fit(self, X: np.ndarray, y: np.ndarray, arm_index: np.ndarray) -> None:
        self.models_ = []
        for a in range(1, self.n_arms_ + 1):
            rows = (arm_index == 0) | (arm_index == a)
            model = self._one()
            model.fit(X[rows], y[rows].astype(int), (arm_index[rows] == a).astype(int))
            self.models_.append(model)

    def _predict(self, X: np.ndarray) -> np.ndarray:
        return np.column_stack([m.predict(X) for m in self.models_])


#: bench name -> (the module it imports, the package that provides it)
PEER_MODULES: dict[str, tuple[str, str]] = {
    **{f"causalml_{k}_learner": ("causalml.inference.meta", "causalml") for k in "stx"},
    **{
        f"sklift_{k}": ("sklift.models", "scikit-uplift")
        for k in ("s_learner", "t_learner", "class_transformation")
    },
}

#: bench name -> factory(base classifier)
PEERS: dict[str, Callable[[Any], UpliftEstimator]] = {
    "causalml_s_learner": lambda base: CausalMLLearner("s", base),
    "causalml_t_learner": lambda base: CausalMLLearner("t", base),
    "causalml_x_learner": lambda base: CausalMLLearner("x", base),
    "sklift_s_learner": lambda base: SkliftLearner("s", base),
    "sklift_t_learner": lambda base: SkliftLearner("t", base),
    "sklift_class_transformation": lambda base: SkliftLearner("class_transformation", base),
}
