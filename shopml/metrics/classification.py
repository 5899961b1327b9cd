"""Binary-classification metrics for CTR / CVR / NetCVR models, vectorised and O(n log n).

- ``auc``: ROC AUC, weighted, ties scored 1/2 (equal to ``sklearn.metrics.roc_auc_score``).
- ``pr_auc``: step-wise average precision (equal to ``sklearn.metrics.average_precision_score``).
- ``nll``: mean log loss (equal to ``sklearn.metrics.log_loss``, same clipping).
- ``pcoc``: predicted over observed conversions, ``sum(p) / sum(y)``; 1 is calibrated.
- ``group_auc``: GAUC, the impression-weighted mean of per-group AUC over groups holding both
  classes (Zhou et al., "Deep Interest Network for Click-Through Rate Prediction", KDD 2018).
- ``ri_auc`` / ``ri_prauc``: relative improvement of a streaming model over the static
  pre-trained model, as a fraction of the gap to the oracle, from TESLA (Luo et al.,
  "Modeling Cascaded Delay Feedback for Online Net Conversion Rate Prediction: Benchmark,
  Insights and Solutions", WWW 2026, arXiv:2601.19965, Appendix D.3).

The private ``_``-helpers for input checking are shared by ``regression`` and ``uplift``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

ArrayLike = npt.ArrayLike


class MetricInputError(ValueError):
    """Bad input to a metric: the message names the argument and the problem."""


# ---------------------------------------------------------------------------------------------
# input checks shared by the metric modules
# ---------------------------------------------------------------------------------------------


def _as_1d(name: str, values: ArrayLike, dtype: type | None = np.float64) -> np.ndarray:
    """A non-empty 1-d array (converted to ``dtype`` unless None), or MetricInputError."""
    array = np.asarray(values)
    if array.ndim == 2 and 1 in array.shape:
        array = array.reshape(-1)
    if array.ndim != 1:
        raise MetricInputError(f"{name} must be 1-dimensional, got shape {array.shape}")
    if array.size == 0:
        raise MetricInputError(f"{name} is empty")
    if dtype is not None:
        try:
            array = array.astype(dtype, copy=False)
        except (TypeError, ValueError) as exc:
            raise MetricInputError(f"{name} must be numeric: {exc}") from exc
    return array


def _finite(name: str, values: ArrayLike) -> np.ndarray:
    """A non-empty 1-d float array without NaN or infinity."""
    array = _as_1d(name, values)
    if not np.isfinite(array).all():
        bad = ~np.isfinite(array)
        first = int(np.argmax(bad))
        raise MetricInputError(
            f"{name} contains {int(bad.sum())} NaN or infinite value(s) "
            f"(first at row {first}: {array[first]})"
        )
    return array


def _binary(name: str, values: ArrayLike) -> np.ndarray:
    """A non-empty 1-d float array holding only 0 and 1."""
    array = _as_1d(name, values)
    ok = (array == 0) | (array == 1)
    if not ok.all():
        first = int(np.argmin(ok))
        raise MetricInputError(f"{name} must hold only 0/1 labels; row {first} is {array[first]!r}")
    return array


def _same_length(**arrays: np.ndarray) -> int:
    """The common length of the arrays, or MetricInputError listing every length."""
    lengths = {name: len(array) for name, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{name}={n}" for name, n in lengths.items())
        raise MetricInputError(f"length mismatch: {described}")
    return next(iter(lengths.values()))


def _weights(sample_weight: ArrayLike | None, n: int) -> np.ndarray | None:
    """Checked non-negative finite weights of length n, or None."""
    if sample_weight is None:
        return None
    weight = _finite("sample_weight", sample_weight)
    if len(weight) != n:
        raise MetricInputError(f"length mismatch: sample_weight={len(weight)}, y_true={n}")
    if (weight < 0).any():
        raise MetricInputError("sample_weight must be non-negative")
    return weight


def _tie_blocks(sorted_values: np.ndarray) -> np.ndarray:
    """Start index of every run of equal values in a sorted array."""
    change = np.flatnonzero(sorted_values[1:] != sorted_values[:-1]) + 1
    return np.concatenate(([0], change))


def _class_mass_by_score(
    y_true: np.ndarray, y_score: np.ndarray, weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Positive and negative weight per distinct score, scores ascending."""
    order = np.argsort(y_score)
    starts = _tie_blocks(y_score[order])
    y_sorted, w_sorted = y_true[order], weight[order]
    positive = np.add.reduceat(w_sorted * y_sorted, starts)
    negative = np.add.reduceat(w_sorted * (1.0 - y_sorted), starts)
    return positive, negative


def _sorted_scores_by_class(
    labels: np.ndarray, scores: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Scores of positives and of negatives, each sorted ascending."""
    is_positive = labels == 1
    return np.sort(scores[is_positive]), np.sort(scores[~is_positive])


def _single_class_error(metric: str, has_positive: bool) -> MetricInputError:
    """The error for a metric that needs both classes but got one."""
    present = "positives" if has_positive else "negatives"
    return MetricInputError(
        f"{metric} is undefined when y_true holds a single class (only {present} carry weight)"
    )


def auc(y_true: ArrayLike, y_score: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
    """ROC AUC: weighted share of (positive, negative) pairs ranked right, ties counting 1/2."""
    labels = _binary("y_true", y_true)
    scores = _finite("y_score", y_score)
    n = _same_length(y_true=labels, y_score=scores)
    weight = _weights(sample_weight, n)
    if weight is None:
        # Mann-Whitney count: for each positive, negatives below it plus half the tied ones
        positive_scores, negative_scores = _sorted_scores_by_class(labels, scores)
        if len(positive_scores) == 0 or len(negative_scores) == 0:
            raise _single_class_error("AUC", len(positive_scores) > 0)
        below = np.searchsorted(negative_scores, positive_scores, side="left")
        below_or_tied = np.searchsorted(negative_scores, positive_scores, side="right")
        pairs_won = below.sum(dtype=np.int64) + 0.5 * (below_or_tied - below).sum(dtype=np.int64)
        return float(pairs_won / (len(positive_scores) * len(negative_scores)))
    positive, negative = _class_mass_by_score(labels, scores, weight)
    total_pos, total_neg = positive.sum(), negative.sum()
    if total_pos <= 0 or total_neg <= 0:
        raise _single_class_error("AUC", total_pos > 0)
    negatives_below = np.cumsum(negative) - negative
    pairs_won = np.dot(positive, negatives_below + 0.5 * negative)
    return float(pairs_won / (total_pos * total_neg))


def pr_auc(y_true: ArrayLike, y_score: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
    """Average precision: sum over score thresholds of recall gained times precision there."""
    labels = _binary("y_true", y_true)
    scores = _finite("y_score", y_score)
    n = _same_length(y_true=labels, y_score=scores)
    weight = _weights(sample_weight, n)
    if weight is None:
        # one step per distinct positive score v: recall gain (#pos == v) / P at
        # precision #pos >= v / #rows >= v
        positive_scores, negative_scores = _sorted_scores_by_class(labels, scores)
        n_pos = len(positive_scores)
        if n_pos == 0:
            raise MetricInputError("PR-AUC is undefined when y_true holds no positives")
        run_starts = _tie_blocks(positive_scores)
        run_sizes = np.diff(np.append(run_starts, n_pos))
        true_pos = n_pos - run_starts
        false_pos = len(negative_scores) - np.searchsorted(
            negative_scores, positive_scores[run_starts], side="left"
        )
        precision = true_pos / (true_pos + false_pos)
        return float(max(0.0, np.dot(run_sizes / n_pos, precision)))
    positive, negative = _class_mass_by_score(labels, scores, weight)
    positive, negative = positive[::-1], negative[::-1]  # highest score first
    total_pos = positive.sum()
    if total_pos <= 0:
        raise MetricInputError("PR-AUC is undefined when y_true holds no positives")
    true_pos = np.cumsum(positive)
    predicted_pos = true_pos + np.cumsum(negative)
    precision = np.divide(
        true_pos, predicted_pos, out=np.zeros_like(true_pos), where=predicted_pos != 0
    )
    return float(max(0.0, np.dot(positive / total_pos, precision)))


def nll(
    y_true: ArrayLike,
    y_prob: ArrayLike,
    eps: float | Literal["auto"] = "auto",
    sample_weight: ArrayLike | None = None,
) -> float:
    """Mean negative log-likelihood (log loss) of probabilities clipped to [eps, 1 - eps].

    ``eps="auto"`` uses the machine epsilon of ``y_prob``'s float dtype (float64 unless the
    input is float32), which is what scikit-learn >= 1.5 does; pass ``eps=1e-15`` for the
    clipping of older scikit-learn.
    """
    labels = _binary("y_true", y_true)
    raw = np.asarray(y_prob)
    dtype = raw.dtype if raw.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    probs = _finite("y_prob", raw)
    n = _same_length(y_true=labels, y_prob=probs)
    weight = _weights(sample_weight, n)
    if probs.min() < 0 or probs.max() > 1:
        raise MetricInputError(
            f"y_prob must lie in [0, 1]; got range [{probs.min()}, {probs.max()}]"
        )
    clip = float(np.finfo(dtype).eps) if eps == "auto" else float(eps)
    if not 0 <= clip < 0.5:
        raise MetricInputError(f"eps must be 'auto' or in [0, 0.5), got {eps!r}")
    prob_of_label = np.where(labels == 1, probs, 1.0 - probs)
    losses = -np.log(np.clip(prob_of_label, clip, 1.0 - clip))
    if weight is None:
        return float(losses.mean())
    if weight.sum() <= 0:
        raise MetricInputError("sample_weight sums to zero")
    return float(np.dot(weight, losses) / weight.sum())


def pcoc(y_true: ArrayLike, y_prob: ArrayLike) -> float:
    """Predicted over observed conversions, sum(y_prob) / sum(y_true); 1.0 means calibrated."""
    observed = _finite("y_true", y_true)
    predicted = _finite("y_prob", y_prob)
    _same_length(y_true=observed, y_prob=predicted)
    if (observed < 0).any():
        raise MetricInputError("y_true must be non-negative (0/1 labels or counts)")
    if (predicted < 0).any():
        first = int(np.argmax(predicted < 0))
        raise MetricInputError(
            "y_prob must be non-negative (probabilities or expected counts); "
            f"row {first} is {predicted[first]}"
        )
    total = observed.sum()
    if total <= 0:
        raise MetricInputError("PCOC is undefined when y_true sums to zero (no conversions)")
    return float(predicted.sum() / total)


def group_auc(
    y_true: ArrayLike,
    y_score: ArrayLike,
    groups: ArrayLike,
    weighting: Literal["impressions", "uniform"] = "impressions",
) -> float:
    """GAUC: mean per-group AUC over groups with both classes, weighted by group size."""
    labels = _binary("y_true", y_true)
    scores = _finite("y_score", y_score)
    group_keys = _as_1d("groups", groups, dtype=None)
    _same_length(y_true=labels, y_score=scores, groups=group_keys)
    if weighting not in ("impressions", "uniform"):
        raise MetricInputError(f"weighting must be 'impressions' or 'uniform', got {weighting!r}")
    codes, uniques = pd.factorize(group_keys, use_na_sentinel=False)
    if len(uniques) < np.iinfo(np.int32).max:
        codes = codes.astype(np.int32)  # the stable sort below is faster on 32-bit keys
    # sort by score, then stably by group: rows end up ordered by (group, score)
    order = np.argsort(scores)
    order = order[np.argsort(codes[order], kind="stable")]
    sorted_codes, sorted_scores, sorted_labels = codes[order], scores[order], labels[order]

    new_group = np.empty(len(order), dtype=bool)
    new_group[0] = True
    np.not_equal(sorted_codes[1:], sorted_codes[:-1], out=new_group[1:])
    new_block = new_group.copy()  # a block = rows sharing group and score
    new_block[1:] |= sorted_scores[1:] != sorted_scores[:-1]
    block_starts = np.flatnonzero(new_block)

    block_pos = np.add.reduceat(sorted_labels, block_starts)
    block_size = np.diff(np.append(block_starts, len(order))).astype(np.float64)
    block_neg = block_size - block_pos
    block_group = np.cumsum(new_group)[block_starts] - 1  # 0..G-1 in sorted order
    n_groups = int(block_group[-1]) + 1

    neg_cum = np.cumsum(block_neg)
    neg_before_block = neg_cum - block_neg
    first_block_of_group = np.flatnonzero(np.r_[True, block_group[1:] != block_group[:-1]])
    neg_before_group = neg_before_block[first_block_of_group][block_group]
    negatives_below = neg_before_block - neg_before_group
    won = block_pos * (negatives_below + 0.5 * block_neg)

    pairs_won = np.bincount(block_group, weights=won, minlength=n_groups)
    group_pos = np.bincount(block_group, weights=block_pos, minlength=n_groups)
    group_neg = np.bincount(block_group, weights=block_neg, minlength=n_groups)
    both = (group_pos > 0) & (group_neg > 0)
    if not both.any():
        raise MetricInputError("GAUC is undefined: no group holds both positives and negatives")
    group_auc_values = pairs_won[both] / (group_pos[both] * group_neg[both])
    if weighting == "uniform":
        return float(group_auc_values.mean())
    impressions = group_pos[both] + group_neg[both]
    return float(np.dot(impressions, group_auc_values) / impressions.sum())


def _relative_improvement(name: str, method: float, pretrained: float, oracle: float) -> float:
    """(method - pretrained) / (oracle - pretrained) with checked inputs."""
    values = {"method": method, "pretrained": pretrained, "oracle": oracle}
    for key, value in values.items():
        if not np.isfinite(value):
            raise MetricInputError(f"{name}: {key} score is not finite ({value})")
    gap = oracle - pretrained
    if gap == 0:
        raise MetricInputError(f"{name} is undefined when oracle equals pretrained ({oracle})")
    return float((method - pretrained) / gap)


def ri_auc(auc_method: float, auc_pretrained: float, auc_oracle: float) -> float:
    """RI-AUC (TESLA): (AUC_method - AUC_pretrained) / (AUC_oracle - AUC_pretrained), a fraction.

    The paper reports this times 100 as a percent (e.g. 0.7688 is shown as 76.88%).
    """
    return _relative_improvement("RI-AUC", auc_method, auc_pretrained, auc_oracle)


def ri_prauc(prauc_method: float, prauc_pretrained: float, prauc_oracle: float) -> float:
    """RI-PRAUC (TESLA): RI-AUC computed on PR-AUC, as a fraction (the paper shows percent)."""
    return _relative_improvement("RI-PRAUC", prauc_method, prauc_pretrained, prauc_oracle)
