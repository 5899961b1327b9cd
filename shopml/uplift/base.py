"""The scikit-learn front shared by every uplift estimator, the method registry and the scorer.

An uplift estimator is a scikit-learn estimator with

* ``fit(X, y, treatment)`` — ``treatment`` holds integer arm codes, ``0`` = control and
  ``1..K`` the treatment arms (any non-negative codes; the arms are the sorted non-zero codes
  seen in ``fit``, stored in ``arms_``; labels such as ``"control"`` are refused with an
  :class:`UpliftInputError` naming the row: map them to codes first); ``y`` is the outcome
  (binary or real), or for chain models (ECUP) a 2-D array of stage labels whose last column
  is the final outcome. Sample weights are not supported: ``fit(..., sample_weight=w)``
  raises an :class:`UpliftInputError` saying so;
* ``predict(X)`` → an ``(n, K)`` array: the estimated uplift of every arm over control.

Pipelines and model selection: ``treatment`` is per-row metadata, so it travels through
scikit-learn's *metadata routing* (scikit-learn ≥ 1.4)::

    sklearn.set_config(enable_metadata_routing=True)
    pipe = make_pipeline(StandardScaler(), TLearner().set_fit_request(treatment=True))
    search = GridSearchCV(pipe, grid, scoring=uplift_scorer("qini"), cv=3)
    search.fit(X, y, treatment=t)   # treatment is split with the folds, given to fit and scorer

``uplift_scorer`` scores the predictions of every arm against control on the rows of that arm
and control (Qini coefficient, AUUC or uplift@k from :mod:`shopml.metrics.uplift`) and
averages over arms. It is a callable ``scorer(estimator, X, y, treatment=...)`` and matches the
columns to the rows by arm code, from the fitted estimator's ``arms_``: a fitted arm with no
scored rows is skipped with a warning, scored rows of an arm the model never saw (or a
prediction with another number of columns) are an :class:`UpliftInputError`. Called directly,
``arm_scores`` / ``uplift_score`` take ``arms=`` (the model's ``arms_``) for the same matching.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from shopml.metrics import uplift as uplift_metrics

_METHODS: dict[str, type] = {}


class UpliftInputError(ValueError):
    """Bad input to an uplift estimator (names the argument, row and value)."""


def register_method(name: str) -> Callable[[type], type]:
    """Class decorator: register an uplift estimator class under ``name``."""

    def wrap(cls: type) -> type:
        if name in _METHODS:
            raise ValueError(f"uplift method {name!r} registered twice")
        _METHODS[name] = cls
        cls.method_name = name
        return cls

    return wrap


def _load_methods() -> None:
    import shopml.uplift.ecup
    import shopml.uplift.efin
    import shopml.uplift.meta
    import shopml.uplift.tarnet  # noqa: F401


def methods() -> list[str]:
    """Names of every registered uplift estimator."""
    _load_methods()
    return sorted(_METHODS)


def get_method(name: str) -> type:
    """The estimator class registered under ``name`` (clear error listing the known ones)."""
    _load_methods()
    if name not in _METHODS:
        raise KeyError(f"unknown uplift method {name!r}; known: {sorted(_METHODS)}")
    return _METHODS[name]


def check_treatment(treatment: Any, n_rows: int) -> np.ndarray:
    """Treatment as int64 arm codes (0 = control), one per row, with control and ≥ 1 arm."""
    if treatment is None:
        raise UpliftInputError(
            "treatment is required: fit(X, y, treatment=arm codes, 0 = control). In a Pipeline "
            "or GridSearchCV enable metadata routing and call set_fit_request(treatment=True)"
        )
    if n_rows < 2:
        raise UpliftInputError(f"uplift needs control and treated rows; got {n_rows} sample(s)")
    codes = np.asarray(treatment)
    if codes.ndim != 1 or len(codes) != n_rows:
        raise UpliftInputError(
            f"treatment must be 1-D with one code per row of X ({n_rows}); got shape {codes.shape}"
        )
    as_float = _as_float_codes(codes)
    bad = ~np.isfinite(as_float) | (as_float < 0) | (as_float != np.round(as_float))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise UpliftInputError(
            f"treatment must hold non-negative integer arm codes (0 = control); row {row} is "
            f"{codes[row]!r} ({int(bad.sum())} such row(s))"
        )
    codes = as_float.astype(np.int64)
    if not (codes == 0).any():
        raise UpliftInputError("treatment has no control rows (code 0); uplift needs a control")
    if (codes == 0).all():
        raise UpliftInputError("treatment has only control rows (code 0); uplift needs an arm")
    return codes


def _as_float_codes(codes: np.ndarray) -> np.ndarray:
    """The codes as float64; labels that are not numbers (e.g. ``'control'``) → a clear error."""
    with contextlib.suppress(TypeError, ValueError):  # numbers: done; else find the label
        return codes.astype(np.float64)
    for row, value in enumerate(codes.tolist()):
        try:
            float(value)
        except (TypeError, ValueError):
            raise UpliftInputError(
                f"treatment must hold integer arm codes (0 = control), not labels; row {row} is "
                f"{value!r}. Map the labels to integer arm codes first, control to 0 (e.g. "
                "{'control': 0, 'arm a': 1, 'arm b': 2})"
            ) from None
    raise UpliftInputError("treatment must hold integer arm codes (0 = control)")


class UpliftEstimator(BaseEstimator):
    """Base class: input checks, arms bookkeeping and the ``(n, K)`` predict contract.

    Subclasses implement ``_fit(X, y, codes)`` (``codes``: arm index 0..K per row, 0 =
    control) and ``_predict(X)`` returning the ``(n, K)`` uplift."""

    #: whether y may be a 2-D array of chain (stage) labels
    _multi_stage = False

    def _validate_fit(self, X: Any, y: Any, treatment: Any) -> tuple[np.ndarray, ...]:
        """Checked float X, float y, arm index per row; sets n_features_in_ and arms_."""
        if y is None:
            raise UpliftInputError(
                "requires y to be passed, but the target y is None (y: the observed outcome)"
            )
        X, y = validate_data(
            self, X, y, reset=True, dtype=np.float64, multi_output=self._multi_stage,
            y_numeric=True, ensure_all_finite="allow-nan",
        )  # fmt: skip
        self._check_missing(X)
        self._refuse_empty_columns(X)
        y = np.asarray(y, dtype=np.float64)
        codes = check_treatment(treatment, X.shape[0])
        arms = np.unique(codes[codes != 0])
        self.arms_ = arms
        self.n_arms_ = len(arms)
        index = np.searchsorted(np.r_[0, arms], codes)
        return X, y, index

    def _validate_predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "arms_")
        X = validate_data(self, X, reset=False, dtype=np.float64, ensure_all_finite="allow-nan")
        self._check_missing(X)
        return X

    def _accepts_nan(self) -> bool:
        """Whether missing feature values (NaN) may reach the model (subclasses say when)."""
        return False

    def _nan_advice(self) -> str:
        """What to do about missing feature values when the model cannot take them."""
        return f"{type(self).__name__} cannot take missing feature values (NaN); impute them first"

    def _check_missing(self, X: np.ndarray) -> None:
        """A clear error naming the columns with NaN when the model cannot take them."""
        if self._accepts_nan():
            return
        missing = np.isnan(X).sum(axis=0)
        if not missing.any():
            return
        names = getattr(self, "feature_names_in_", None)
        columns = [
            f"{names[j] if names is not None else f'column {j}'} ({int(missing[j])} rows)"
            for j in np.flatnonzero(missing)
        ]
        shown = ", ".join(columns[:10]) + (f" and {len(columns) - 10} more" if len(columns) > 10 else "")
        raise UpliftInputError(f"{self._nan_advice()}; columns with NaN: {shown}")

    def _refuse_empty_columns(self, X: np.ndarray) -> None:
        """UpliftInputError naming the feature columns without a value on any training row
        (scikit-learn's histogram models fail on one with an unrelated message)."""
        empty = np.flatnonzero(np.isnan(X).all(axis=0)) if len(X) else np.array([], int)
        if len(empty):
            names = getattr(self, "feature_names_in_", None)
            shown = [str(names[j]) if names is not None else f"column {j}" for j in empty]
            raise UpliftInputError(
                f"{type(self).__name__}: feature(s) {', '.join(shown[:10])}"
                f"{f' and {len(shown) - 10} more' if len(shown) > 10 else ''} have no value on "
                "any training row (all NaN); drop them before fitting"
            )

    def fit(self, X: Any, y: Any, treatment: Any = None, **unsupported: Any) -> UpliftEstimator:
        """Fit on features X, outcome y and treatment arm codes (0 = control)."""
        if "sample_weight" in unsupported:
            raise UpliftInputError(
                f"{type(self).__name__}.fit: sample_weight is not supported by shopml's uplift "
                "estimators (every row counts once); fit without it"
            )
        if unsupported:
            raise TypeError(
                f"{type(self).__name__}.fit() got unexpected keyword argument(s) "
                f"{sorted(unsupported)}; it takes X, y and treatment"
            )
        X, y, index = self._validate_fit(X, y, treatment)
        self._fit(X, y, index)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Estimated uplift of every treatment arm over control, shape (n, number of arms)."""
        X = self._validate_predict(X)
        return np.asarray(self._predict(X), dtype=np.float64).reshape(X.shape[0], self.n_arms_)

    def _fit(self, X: np.ndarray, y: np.ndarray, arm_index: np.ndarray) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define _fit")

    def _predict(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must define _predict")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.input_tags.allow_nan = self._accepts_nan()
        return tags


def allows_nan(model: Any) -> bool:
    """Whether a scikit-learn model takes missing values (NaN) itself: its ``allow_nan`` tag,
    or for a Pipeline its first step's (an imputer there takes them), for a parameter search
    its estimator's (scikit-learn tags neither of those as taking NaN)."""
    from sklearn.utils import get_tags

    steps = getattr(model, "steps", None)
    if steps:
        return allows_nan(steps[0][1])
    is_search = hasattr(model, "param_grid") or hasattr(model, "param_distributions")
    if is_search and getattr(model, "estimator", None) is not None:
        return allows_nan(model.estimator)
    try:
        return bool(get_tags(model).input_tags.allow_nan)
    except (AttributeError, TypeError, ValueError):
        return False


# ------------------------------------------------------------------------------------ scoring
_SCORES: dict[str, Callable[..., float]] = {
    "qini": uplift_metrics.qini_auc_score,
    "auuc": uplift_metrics.uplift_auc_score,
    "uplift_at_30": lambda y, u, t: uplift_metrics.uplift_at_k(y, u, t, k=0.3),
}


def arm_scores(
    y_true: Any,
    uplift: Any,
    treatment: Any,
    metric: str = "qini",
    arms: Any = None,
    stage: int = -1,
) -> list[float]:
    """``metric`` of each arm's uplift column against control on the rows of that arm and control.

    ``arms``: the arm code of each column of ``uplift`` (a fitted estimator's ``arms_``); given,
    columns are matched to rows by arm code, an arm with no scored rows is skipped with a
    warning (the list then holds the scored arms only, in arm order) and rows of an arm the
    model never saw are refused. Not given, the scored rows' arms are taken, in code order, as
    the columns' arms. ``stage``: the label column scored when ``y_true`` is 2-D (chain labels).
    """
    if metric not in _SCORES:
        raise UpliftInputError(f"unknown uplift metric {metric!r}; known: {sorted(_SCORES)}")
    y = np.asarray(y_true, dtype=np.float64)
    if y.ndim == 2:
        y = y[:, stage]
    pred = np.asarray(uplift, dtype=np.float64)
    codes = check_treatment(treatment, len(y))
    pred = pred.reshape(len(y), -1)
    present = np.unique(codes[codes != 0])
    if arms is None:
        arm_codes = present
        if pred.shape[1] != len(arm_codes):
            raise UpliftInputError(
                f"uplift has {pred.shape[1]} column(s) but the scored rows have arms "
                f"{arm_codes.tolist()}; pass arms= (the fitted model's arms_) to match columns "
                "to arms by code"
            )
    else:
        arm_codes = np.asarray(arms).astype(np.int64).ravel()
        if pred.shape[1] != len(arm_codes):
            raise UpliftInputError(
                f"uplift has {pred.shape[1]} column(s) but the model has {len(arm_codes)} arm(s) "
                f"{arm_codes.tolist()}"
            )
        unseen = sorted(set(present.tolist()) - set(arm_codes.tolist()))
        if unseen:
            raise UpliftInputError(
                f"the scored rows hold arm(s) {unseen} that the model was not fitted on (its "
                f"arms: {arm_codes.tolist()}); drop those rows or fit on data with those arms"
            )
        absent = [int(a) for a in arm_codes if a not in present]
        if absent:
            warnings.warn(
                f"no scored rows of arm(s) {absent}: scoring the model's other arm(s) "
                f"{[int(a) for a in arm_codes if a in present]} only",
                UserWarning,
                stacklevel=2,
            )
    scores = []
    for column, arm in enumerate(arm_codes):
        if arm not in present:
            continue
        rows = (codes == 0) | (codes == arm)
        scores.append(
            float(_SCORES[metric](y[rows], pred[rows, column], (codes[rows] == arm).astype(int)))
        )
    return scores


def uplift_score(
    y_true: Any, uplift: Any, treatment: Any, metric: str = "qini", arms: Any = None,
    stage: int = -1,
) -> float:  # fmt: skip
    """Mean over arms of ``metric`` (``qini``, ``auuc`` or ``uplift_at_30``), arm vs control
    (``arms``: the fitted model's ``arms_``, one per column; see :func:`arm_scores`)."""
    return float(np.mean(arm_scores(y_true, uplift, treatment, metric, arms=arms, stage=stage)))


def _fitted_uplift_estimator(estimator: Any) -> Any:
    """The fitted uplift estimator inside a Pipeline / search (or the estimator itself)."""
    seen = 0
    while not hasattr(estimator, "arms_") and seen < 20:
        seen += 1
        if hasattr(estimator, "steps"):
            estimator = estimator.steps[-1][1]
        elif hasattr(estimator, "best_estimator_"):
            estimator = estimator.best_estimator_
        elif hasattr(estimator, "estimator_"):
            estimator = estimator.estimator_
        else:
            break
    return estimator


class UpliftScorer:
    """A scikit-learn scorer ``scorer(estimator, X, y, treatment=...)``: the mean over the
    fitted estimator's arms of ``metric``, each arm scored against control by arm code."""

    def __init__(self, metric: str = "qini"):
        self.metric = metric
        self._treatment_request: bool | str | None = True

    def __call__(self, estimator: Any, X: Any, y_true: Any, treatment: Any = None) -> float:
        """Predict X with ``estimator`` and score the uplift against ``y_true`` and ``treatment``."""
        if treatment is None:
            raise UpliftInputError(
                "uplift_scorer got no treatment: enable metadata routing "
                "(sklearn.set_config(enable_metadata_routing=True)) and pass treatment= to fit"
            )
        uplift = estimator.predict(X)
        fitted = _fitted_uplift_estimator(estimator)
        return uplift_score(
            y_true, uplift, treatment, self.metric, arms=getattr(fitted, "arms_", None),
            stage=int(getattr(fitted, "scored_stage_", -1)),
        )  # fmt: skip

    def set_score_request(self, *, treatment: bool | str | None = True) -> UpliftScorer:
        """Whether (or under which alias) the scorer requests ``treatment`` (routing)."""
        self._treatment_request = treatment
        return self

    def get_metadata_routing(self) -> Any:
        """scikit-learn metadata routing: the scorer's ``score`` requests ``treatment``."""
        from sklearn.utils.metadata_routing import MetadataRequest

        request = MetadataRequest(owner=type(self).__name__)
        request.score.add_request(param="treatment", alias=self._treatment_request)
        return request

    def __repr__(self) -> str:
        return f"uplift_scorer({self.metric!r})"


def uplift_scorer(metric: str = "qini") -> UpliftScorer:
    """A scikit-learn scorer (for GridSearchCV, cross_validate) that receives the treatment
    through metadata routing; needs ``sklearn.set_config(enable_metadata_routing=True)``."""
    import sklearn

    if metric not in _SCORES:
        raise UpliftInputError(f"unknown uplift metric {metric!r}; known: {sorted(_SCORES)}")
    if not sklearn.get_config().get("enable_metadata_routing", False):
        raise UpliftInputError(
            "uplift_scorer needs scikit-learn metadata routing to receive the treatment: call "
            "sklearn.set_config(enable_metadata_routing=True) (or use sklearn.config_context)"
        )
    return UpliftScorer(metric)
