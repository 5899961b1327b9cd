"""Meta-learners over any scikit-learn (or LightGBM) base model: S-, T- and X-learner.

Künzel, Sekhon, Bickel & Yu, "Metalearners for estimating heterogeneous treatment effects
using machine learning", PNAS 116(10), 2019 (arXiv:1706.03461). With arms a = 1..K and
control 0, μ_a(x) = E[Y | X = x, T = a]:

* S-learner: one model μ(x, t) on the features plus a one-hot treatment indicator;
  τ_a(x) = μ(x, a) − μ(x, 0).
* T-learner: one model per group, τ_a(x) = μ_a(x) − μ_0(x).
* X-learner: T-learner first stage; imputed effects D_a = Y − μ_0(X) on arm-a rows and
  D_0 = μ_a(X) − Y on control rows; regress them (τ_a¹ on arm rows, τ_a⁰ on control rows) and
  blend τ_a(x) = g(x) τ_a⁰(x) + (1 − g(x)) τ_a¹(x) with g the propensity of arm a among
  {0, a} (the arm's share of those rows by default — randomised data — or a classifier).

A classifier base model contributes ``predict_proba[:, 1]`` (binary outcomes), a regressor
``predict``. Missing feature values (NaN) pass through to the models when every model the
learner fits takes them itself (scikit-learn's ``allow_nan`` tag: HistGradientBoosting does);
otherwise ``fit`` / ``predict`` stop with an error naming the columns with NaN. The default base model is a small histogram gradient-boosting regressor, which
estimates E[Y | x] for binary and real outcomes alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.ensemble import HistGradientBoostingRegressor

from shopml.uplift.base import UpliftEstimator, UpliftInputError, allows_nan, register_method


def _default_base() -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(max_iter=100, learning_rate=0.1, random_state=0)


def _fit_response(model: Any, X: np.ndarray, y: np.ndarray, what: str) -> Any:
    """Fit a clone of `model` on (X, y); a classifier needs a 0/1 outcome with both classes."""
    fitted = clone(model)
    if is_classifier(fitted) and not np.isin(y, (0.0, 1.0)).all():
        value = y[~np.isin(y, (0.0, 1.0))][0]
        raise UpliftInputError(
            f"{what}: a classifier base model ({type(fitted).__name__}) estimates P(y = 1) and "
            f"needs a 0/1 outcome; y holds {value!r}. Use a regressor base model for other "
            "outcomes (the default HistGradientBoostingRegressor takes any)"
        )
    if is_classifier(fitted) and len(np.unique(y)) < 2:
        raise UpliftInputError(
            f"{what}: the outcome takes one value only on these rows; a classifier base model "
            "needs both classes (use a regressor base model or more data)"
        )
    return fitted.fit(X, y)


def _response(model: Any, X: np.ndarray) -> np.ndarray:
    """E[Y | x]: predict_proba[:, 1] of a classifier, predict of a regressor."""
    if is_classifier(model):
        proba = model.predict_proba(X)
        return proba[:, list(model.classes_).index(1)] if proba.shape[1] > 1 else proba[:, 0]
    return np.asarray(model.predict(X), dtype=np.float64)


class _MetaLearner(UpliftEstimator):
    def _base(self) -> Any:
        return _default_base() if self.base_estimator is None else self.base_estimator

    def _models(self) -> list[Any]:
        """Every model fitted on the features (all must take NaN for NaN to pass)."""
        return [self._base()]

    def _accepts_nan(self) -> bool:
        return all(allows_nan(model) for model in self._models())

    def _nan_advice(self) -> str:
        refusing = sorted({type(m).__name__ for m in self._models() if not allows_nan(m)})
        return (
            f"{type(self).__name__}: its model(s) {', '.join(refusing)} cannot take missing "
            "feature values (NaN); impute them first or use base models that handle them (e.g. "
            "HistGradientBoostingClassifier / Regressor, the default)"
        )


@register_method("s_learner")
class SLearner(_MetaLearner):
    """S-learner: one base model on [X, one-hot treatment]; uplift = μ(x, a) − μ(x, 0)."""

    def __init__(self, base_estimator: Any = None):
        self.base_estimator = base_estimator

    def _with_arm(self, X: np.ndarray, arm_index: np.ndarray | int) -> np.ndarray:
        onehot = np.zeros((X.shape[0], self.n_arms_))
        index = np.broadcast_to(np.asarray(arm_index), (X.shape[0],))
        rows = np.flatnonzero(index > 0)
        onehot[rows, index[rows] - 1] = 1.0
        return np.hstack([X, onehot])

    def _fit(self, X: np.ndarray, y: np.ndarray, arm_index: np.ndarray) -> None:
        self.model_ = _fit_response(self._base(), self._with_arm(X, arm_index), y, "S-learner")

    def _predict(self, X: np.ndarray) -> np.ndarray:
        control = _response(self.model_, self._with_arm(X, 0))
        return np.column_stack(
            [_response(self.model_, self._with_arm(X, a)) - control for a in range(1, self.n_arms_ + 1)]
        )


@register_method("t_learner")
class TLearner(_MetaLearner):
    """T-learner: one base model per group; uplift = μ_a(x) − μ_0(x)."""

    def __init__(self, base_estimator: Any = None):
        self.base_estimator = base_estimator

    def _fit(self, X: np.ndarray, y: np.ndarray, arm_index: np.ndarray) -> None:
        self.models_ = [
            _fit_response(self._base(), X[arm_index == a], y[arm_index == a], f"T-learner arm {a}")
            for a in range(self.n_arms_ + 1)
        ]

    def _predict(self, X: np.ndarray) -> np.ndarray:
        mu = [_response(m, X) for m in self.models_]
        return np.column_stack([mu[a] - mu[0] for a in range(1, self.n_arms_ + 1)])


@register_method("x_learner")
class XLearner(_MetaLearner):
    """X-learner (Künzel et al. 2019): imputed effects regressed per group, propensity-blended."""

    def __init__(
        self,
        base_estimator: Any = None,
        effect_estimator: Any = None,
        propensity_estimator: Any = None,
    ):
        self.base_estimator = base_estimator
        self.effect_estimator = effect_estimator
        self.propensity_estimator = propensity_estimator

    def _models(self) -> list[Any]:
        models = [self._base(), self._effect_model()]
        return models + ([self.propensity_estimator] if self.propensity_estimator is not None else [])

    def _effect_model(self) -> Any:
        if self.effect_estimator is not None:
            return self.effect_estimator
        base = self._base()
        return _default_base() if is_classifier(base) else base

    def _fit(self, X: np.ndarray, y: np.ndarray, arm_index: np.ndarray) -> None:
        control = arm_index == 0
        mu0 = _fit_response(self._base(), X[control], y[control], "X-learner control")
        self.effects_ = []
        for a in range(1, self.n_arms_ + 1):
            arm = arm_index == a
            mu_a = _fit_response(self._base(), X[arm], y[arm], f"X-learner arm {a}")
            imputed_arm = y[arm] - _response(mu0, X[arm])
            imputed_control = _response(mu_a, X[control]) - y[control]
            tau1 = clone(self._effect_model()).fit(X[arm], imputed_arm)
            tau0 = clone(self._effect_model()).fit(X[control], imputed_control)
            pair = arm | control
            if self.propensity_estimator is None:
                propensity: Any = float(arm.sum() / pair.sum())
            else:
                propensity = clone(self.propensity_estimator).fit(X[pair], arm[pair].astype(int))
            self.effects_.append((tau0, tau1, propensity))

    def _predict(self, X: np.ndarray) -> np.ndarray:
        columns = []
        for tau0, tau1, propensity in self.effects_:
            g = propensity if isinstance(propensity, float) else _response(propensity, X)
            columns.append(g * tau0.predict(X) + (1.0 - g) * tau1.predict(X))
        return np.column_stack(columns)
