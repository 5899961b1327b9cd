"""Regression metrics for post-click GMV prediction, as used by READER / TRACE.

Li et al., "Delayed Feedback Modeling for Post-Click Gross Merchandise Volume Prediction:
Benchmark, Insights and Approaches", WWW 2026, arXiv:2601.20307 (code: alimama-tech/OnlineGMV):

- ``regression_auc``: pairwise concordance. Over all pairs with different true values, the
  share whose predictions are ordered like the truth; pairs tied in prediction count 1/2.
  Computed in O(n log n) by counting inversions with a bitwise (radix) merge in NumPy.
- ``acc_within``: ACC, the share of rows whose relative error |pred - true| / true is at most
  ``tol`` (the paper uses 20%).
- ``alpr``: ALPR, the mean absolute base-2 log ratio |log2(pred / true)|.
- ``rmse``: root mean squared error.
"""

from __future__ import annotations

import numpy as np

from shopml.metrics.classification import (
    ArrayLike,
    MetricInputError,
    _finite,
    _same_length,
)


def _dense_ranks(values: np.ndarray) -> np.ndarray:
    """0-based ranks where equal values share a rank (int64)."""
    order = np.argsort(values)
    sorted_values = values[order]
    is_new = np.empty(len(values), dtype=np.int64)
    is_new[0] = 0
    np.not_equal(sorted_values[1:], sorted_values[:-1], out=is_new[1:], casting="unsafe")
    ranks = np.empty(len(values), dtype=np.int64)
    ranks[order] = np.cumsum(is_new)
    return ranks


def _tied_pairs(ranks: np.ndarray) -> int:
    """Number of pairs sharing a rank."""
    counts = np.bincount(ranks).astype(np.int64)
    return int((counts * (counts - 1) // 2).sum())


def _count_inversions(values: np.ndarray) -> int:
    """Pairs i < j with values[i] > values[j], for non-negative ints, in O(n log max).

    Processes the bits of the values from the highest down. Before handling bit b the array is
    arranged by the bits above b (ties kept in sequence order); inside each such bucket every
    element with bit b = 0 is inverted with each earlier element with bit b = 1. A stable
    partition on bit b then gives the arrangement for the next bit. Buffers are allocated once.
    """
    n = len(values)
    if n < 2:
        return 0
    index_dtype = np.int32 if n < np.iinfo(np.int32).max else np.int64
    arranged = values.astype(index_dtype, copy=True)
    spare = np.empty_like(arranged)
    positions = np.arange(n, dtype=index_dtype)
    bucket, is_one, start, ones_before, target, scratch = (
        np.empty_like(arranged) for _ in range(6)
    )
    is_zero = np.empty(n, dtype=bool)
    inversions = 0
    for bit in range(int(arranged.max()).bit_length() - 1, -1, -1):
        np.right_shift(arranged, bit + 1, out=bucket)
        np.right_shift(arranged, bit, out=is_one)
        np.bitwise_and(is_one, 1, out=is_one)
        np.equal(is_one, 0, out=is_zero)
        bucket_size = np.bincount(bucket)
        bucket_start = (np.cumsum(bucket_size) - bucket_size).astype(index_dtype)
        np.take(bucket_start, bucket, out=start)
        # ones before each element inside its bucket
        np.cumsum(is_one, out=ones_before)
        np.subtract(ones_before, is_one, out=ones_before)
        np.take(ones_before, start, out=scratch)
        np.subtract(ones_before, scratch, out=ones_before)
        inversions += int(np.sum(ones_before, where=is_zero, dtype=np.int64))
        # stable partition: zeros keep their order first, then ones
        zeros_in_bucket = bucket_size - np.bincount(bucket, weights=is_one).astype(np.int64)
        np.take(zeros_in_bucket.astype(index_dtype), bucket, out=target)
        np.add(target, start, out=target)
        np.add(target, ones_before, out=target)
        np.subtract(positions, ones_before, out=scratch)
        np.copyto(target, scratch, where=is_zero)
        spare[target] = arranged
        arranged, spare = spare, arranged
    return inversions


def regression_auc(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Pairwise AUC: share of pairs with y_true_i != y_true_j ordered alike by y_pred (ties 1/2)."""
    truth = _finite("y_true", y_true)
    pred = _finite("y_pred", y_pred)
    n = _same_length(y_true=truth, y_pred=pred)
    truth_rank = _dense_ranks(truth)
    pred_rank = _dense_ranks(pred)
    pairs_total = n * (n - 1) // 2
    pairs_distinct_truth = pairs_total - _tied_pairs(truth_rank)
    if pairs_distinct_truth == 0:
        raise MetricInputError("regression AUC is undefined: all y_true values are equal")
    # order rows by (truth, prediction); a remaining descent in prediction is a discordant pair
    joint = truth_rank * (int(pred_rank.max()) + 1) + pred_rank
    order = np.argsort(joint)
    sorted_joint = joint[order]
    run_starts = np.flatnonzero(np.r_[True, sorted_joint[1:] != sorted_joint[:-1]])
    run_sizes = np.diff(np.append(run_starts, n)).astype(np.int64)
    pairs_tied_both = int((run_sizes * (run_sizes - 1) // 2).sum())
    pred_ties_only = _tied_pairs(pred_rank) - pairs_tied_both
    discordant = _count_inversions(pred_rank[order])
    concordant = pairs_distinct_truth - pred_ties_only - discordant
    return float((concordant + 0.5 * pred_ties_only) / pairs_distinct_truth)


def acc_within(y_true: ArrayLike, y_pred: ArrayLike, tol: float = 0.2) -> float:
    """ACC: share of rows with |y_pred - y_true| / y_true <= tol (y_true must be > 0)."""
    truth = _finite("y_true", y_true)
    pred = _finite("y_pred", y_pred)
    _same_length(y_true=truth, y_pred=pred)
    if not tol >= 0:
        raise MetricInputError(f"tol must be non-negative, got {tol}")
    if (truth <= 0).any():
        raise MetricInputError(
            f"acc_within needs y_true > 0 (relative error); {int((truth <= 0).sum())} row(s) "
            "are <= 0 — evaluate on converted clicks only"
        )
    return float(np.mean(np.abs(pred - truth) / truth <= tol))


def alpr(y_true: ArrayLike, y_pred: ArrayLike, floor: float | None = None) -> float:
    """ALPR: mean |log2(y_pred / y_true)|; both must be > 0 unless ``floor`` clips y_pred up.

    ``floor=None`` (default) raises on y_pred <= 0; a positive ``floor`` (e.g. 0.01) replaces
    predictions below it by ``floor`` first. y_true must always be > 0.
    """
    truth = _finite("y_true", y_true)
    pred = _finite("y_pred", y_pred)
    _same_length(y_true=truth, y_pred=pred)
    if (truth <= 0).any():
        raise MetricInputError(
            f"alpr needs y_true > 0; {int((truth <= 0).sum())} row(s) are <= 0 — "
            "evaluate on converted clicks only"
        )
    if floor is not None:
        if not floor > 0:
            raise MetricInputError(f"floor must be positive, got {floor}")
        pred = np.maximum(pred, floor)
    elif (pred <= 0).any():
        raise MetricInputError(
            f"alpr needs y_pred > 0; {int((pred <= 0).sum())} row(s) are <= 0 "
            "(pass floor=... to clip them)"
        )
    return float(np.mean(np.abs(np.log2(pred / truth))))


def rmse(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Root mean squared error."""
    truth = _finite("y_true", y_true)
    pred = _finite("y_pred", y_pred)
    _same_length(y_true=truth, y_pred=pred)
    return float(np.sqrt(np.mean((pred - truth) ** 2)))
