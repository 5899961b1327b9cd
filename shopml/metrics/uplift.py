"""Uplift (treatment-effect ranking) metrics, matching scikit-uplift's ``sklift.metrics``.

Rows are ranked by predicted uplift, highest first; ties are broken the way sklift does
(a stable ascending sort, reversed), so ``uplift_at_k`` and ``uplift_by_percentile`` cut the
ranking at exactly the same rows. Curves are evaluated at the end of every run of tied scores.
With N_t(k), N_c(k) treated / control rows and Y_t(k), Y_c(k) their responders among the top k:

- ``uplift_curve``: (Y_t/N_t - Y_c/N_c) * k (Devriendt, Guns & Verbeke, "Learning to rank for
  uplift modeling", arXiv:2002.05897, 2020).
- ``qini_curve``: Y_t - Y_c * N_t / N_c (Radcliffe, "Using control groups to target on
  predicted lift", Direct Marketing Analytics Journal, 2007).
- ``perfect_uplift_curve`` / ``perfect_qini_curve``: the same curves for the best possible
  ranking (for Qini optionally without negative effects, Radcliffe's optimum).
- ``uplift_auc_score`` (alias ``auuc``) and ``qini_auc_score`` (alias ``qini``): area between
  the model's curve and the random-targeting diagonal, divided by the same area of the perfect
  curve (trapezoid rule), i.e. sklift's normalised AUUC and Qini coefficient.
- ``uplift_at_k``: treated minus control response rate in the top k rows (``"overall"``) or in
  the top k share of each group (``"by_group"``).
- ``uplift_by_percentile``: group sizes, response rates and uplift per score bin.
- ``pehe``: sqrt(mean((tau_true - tau_pred)^2)), Hill, "Bayesian nonparametric modeling for
  causal inference", JCGS 2011; ``ate_error``: |mean(tau_pred) - mean(tau_true)|.

Treatment must be coded 0 (control) / 1 (treated); for multi-arm data select one arm against
control with ``binary_arm``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from shopml.metrics.classification import (
    ArrayLike,
    MetricInputError,
    _as_1d,
    _binary,
    _finite,
    _same_length,
)


def _check_uplift_inputs(
    y_true: ArrayLike, uplift: ArrayLike, treatment: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Checked (labels, scores, treatment) arrays of equal length; both groups present."""
    labels = _binary("y_true", y_true)
    scores = _finite("uplift", uplift)
    treated = _binary_treatment(treatment)
    _same_length(y_true=labels, uplift=scores, treatment=treated)
    return labels, scores, treated


def _binary_treatment(treatment: ArrayLike) -> np.ndarray:
    """Treatment as a float 0/1 array holding both groups, or MetricInputError."""
    raw = _as_1d("treatment", treatment)
    ok = (raw == 0) | (raw == 1)
    if not ok.all():
        first = int(np.argmin(ok))
        raise MetricInputError(
            f"treatment must be coded 0 (control) / 1 (treated); row {first} is {raw[first]!r}. "
            "For multi-arm data use binary_arm(treatment, arm) to compare one arm with control"
        )
    n_treated = int(raw.sum())
    if n_treated == 0 or n_treated == len(raw):
        missing = "treated" if n_treated == 0 else "control"
        raise MetricInputError(f"treatment has no {missing} rows; uplift needs both groups")
    return raw


def _descending_order(scores: np.ndarray) -> np.ndarray:
    """Row order by score, highest first; tied rows in reverse index order (as sklift)."""
    return np.argsort(scores, kind="stable")[::-1]


def _cumulative_counts(
    labels: np.ndarray, scores: np.ndarray, treated: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows, treated rows, control rows and responders per group in the top k, at run ends."""
    # only run ends are read, so the order inside a run of ties does not matter here
    small_ints = scores.dtype.kind in "iu" and scores.dtype.itemsize <= 2
    order = np.argsort(scores, kind="stable" if small_ints else None)[::-1]
    sorted_scores = scores[order]
    run_ends = np.r_[np.flatnonzero(sorted_scores[1:] != sorted_scores[:-1]), len(order) - 1]
    treated_sorted = treated[order]
    responders = labels[order]
    n_treated = np.cumsum(treated_sorted)[run_ends]
    y_treated = np.cumsum(responders * treated_sorted)[run_ends]
    y_control = np.cumsum(responders * (1.0 - treated_sorted))[run_ends]
    n_rows = run_ends + 1
    n_control = n_rows - n_treated
    return n_rows, n_treated, n_control, y_treated, y_control


def _safe_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator with 0 where the denominator is 0."""
    return np.divide(
        numerator,
        denominator,
        out=np.zeros_like(numerator, dtype=np.float64),
        where=denominator != 0,
    )


def _from_origin(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Curve points with (0, 0) prepended."""
    return np.r_[0, x], np.r_[0.0, y]


def uplift_curve(
    y_true: ArrayLike, uplift: ArrayLike, treatment: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """Uplift curve: x = rows targeted, y = (treated rate - control rate) * x, from (0, 0)."""
    labels, scores, treated = _check_uplift_inputs(y_true, uplift, treatment)
    return _uplift_curve(labels, scores, treated)


def _uplift_curve(
    labels: np.ndarray, scores: np.ndarray, treated: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    n_rows, n_treated, n_control, y_treated, y_control = _cumulative_counts(labels, scores, treated)
    rate_gap = _safe_ratio(y_treated, n_treated) - _safe_ratio(y_control, n_control)
    return _from_origin(n_rows, rate_gap * n_rows)


def qini_curve(
    y_true: ArrayLike, uplift: ArrayLike, treatment: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """Qini curve: x = rows targeted, y = Y_t - Y_c * N_t / N_c, from (0, 0)."""
    labels, scores, treated = _check_uplift_inputs(y_true, uplift, treatment)
    return _qini_curve(labels, scores, treated)


def _qini_curve(
    labels: np.ndarray, scores: np.ndarray, treated: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    n_rows, n_treated, n_control, y_treated, y_control = _cumulative_counts(labels, scores, treated)
    return _from_origin(n_rows, y_treated - y_control * _safe_ratio(n_treated, n_control))


def _perfect_uplift_scores(labels: np.ndarray, treated: np.ndarray) -> np.ndarray:
    """Best ranking for the uplift curve (sklift's): treated responders and control
    non-responders first; the tie-break favours responders when control responders outnumber
    treated non-responders, treated rows otherwise."""
    control_responders = np.count_nonzero((labels == 1) & (treated == 0))
    treated_non_responders = np.count_nonzero((labels == 0) & (treated == 1))
    tie_break = labels if control_responders > treated_non_responders else treated
    return (2 * (labels == treated) + tie_break).astype(np.int8)  # int8 sorts by radix


def perfect_uplift_curve(y_true: ArrayLike, treatment: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Uplift curve of the best possible ranking (as sklift.metrics.perfect_uplift_curve)."""
    labels = _binary("y_true", y_true)
    treated = _binary_treatment(treatment)
    _same_length(y_true=labels, treatment=treated)
    return _uplift_curve(labels, _perfect_uplift_scores(labels, treated), treated)


def perfect_qini_curve(
    y_true: ArrayLike, treatment: ArrayLike, negative_effect: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Qini curve of the best ranking; without negative effects, Radcliffe's 3-point optimum."""
    labels = _binary("y_true", y_true)
    treated = _binary_treatment(treatment)
    n = _same_length(y_true=labels, treatment=treated)
    if not isinstance(negative_effect, bool):
        raise MetricInputError(f"negative_effect must be bool, got {type(negative_effect)}")
    if negative_effect:
        # treated responders first, control responders last
        best_scores = (labels * (2 * treated - 1)).astype(np.int8)
        return _qini_curve(labels, best_scores, treated)
    n_treated = treated.sum()
    incremental = (labels * treated).sum() - n_treated * (labels * (1 - treated)).sum() / (
        n - n_treated
    )
    if incremental < 0:
        raise MetricInputError(
            "perfect Qini curve without negative effects needs a non-negative overall uplift; "
            f"the data's incremental responders are {incremental:.6g} (use negative_effect=True)"
        )
    return np.array([0.0, incremental, float(n)]), np.array([0.0, incremental, incremental])


def _normalised_area(
    x_model: np.ndarray, y_model: np.ndarray, x_best: np.ndarray, y_best: np.ndarray, name: str
) -> float:
    """(area(model) - area(diagonal)) / (area(best) - area(diagonal)), trapezoid rule."""
    diagonal = x_best[-1] * y_best[-1] / 2.0
    best = np.trapezoid(y_best, x_best) - diagonal
    if best == 0:
        raise MetricInputError(
            f"{name} is undefined: the perfect curve coincides with random targeting "
            "(no responders, or responders only where they cannot be ranked)"
        )
    return float((np.trapezoid(y_model, x_model) - diagonal) / best)


def uplift_auc_score(y_true: ArrayLike, uplift: ArrayLike, treatment: ArrayLike) -> float:
    """AUUC normalised by the perfect uplift curve, both net of the random diagonal (sklift)."""
    labels, scores, treated = _check_uplift_inputs(y_true, uplift, treatment)
    x_model, y_model = _uplift_curve(labels, scores, treated)
    x_best, y_best = _uplift_curve(labels, _perfect_uplift_scores(labels, treated), treated)
    return _normalised_area(x_model, y_model, x_best, y_best, "uplift AUC")


def qini_auc_score(
    y_true: ArrayLike, uplift: ArrayLike, treatment: ArrayLike, negative_effect: bool = True
) -> float:
    """Qini coefficient: area over the diagonal of the Qini curve relative to the perfect one."""
    labels, scores, treated = _check_uplift_inputs(y_true, uplift, treatment)
    x_model, y_model = _qini_curve(labels, scores, treated)
    x_best, y_best = perfect_qini_curve(labels, treated, negative_effect)
    return _normalised_area(x_model, y_model, x_best, y_best, "Qini coefficient")


auuc = uplift_auc_score
qini = qini_auc_score


def _top_count(k: float | int, n: int, what: str, allow_all: bool = False) -> int:
    """How many of n rows k selects: a share in (0, 1), or a count in [1, n) ([1, n] if allowed)."""
    if isinstance(k, bool) or not isinstance(k, (int, float, np.integer, np.floating)):
        raise MetricInputError(f"k must be a float share or an int count, got {k!r}")
    if isinstance(k, (int, np.integer)):
        if not (0 < k <= n if allow_all else 0 < k < n):
            limit = f"[1, {n}]" if allow_all else f"[1, {n})"
            raise MetricInputError(f"k={k} must be a count in {limit} ({what} rows: {n})")
        return int(k)
    if not 0 < k < 1:
        raise MetricInputError(f"k={k} must be a share in (0, 1)")
    top = int(n * k)
    if top == 0:
        raise MetricInputError(f"k={k} selects none of the {n} {what} rows; pick a larger k")
    return top


def uplift_at_k(
    y_true: ArrayLike,
    uplift: ArrayLike,
    treatment: ArrayLike,
    k: float | int = 0.3,
    strategy: Literal["overall", "by_group"] = "overall",
) -> float:
    """Treated minus control response rate among the top-k rows by predicted uplift (sklift)."""
    labels, scores, treated = _check_uplift_inputs(y_true, uplift, treatment)
    if strategy not in ("overall", "by_group"):
        raise MetricInputError(f"strategy must be 'overall' or 'by_group', got {strategy!r}")
    order = _descending_order(scores)
    labels_sorted, treated_sorted = labels[order], treated[order]
    if strategy == "overall":
        top = _top_count(k, len(labels), "all")
        top_labels, top_treated = labels_sorted[:top], treated_sorted[:top]
        n_treated_top = top_treated.sum()
        n_control_top = top - n_treated_top
        if n_treated_top == 0 or n_control_top == 0:
            missing = "treated" if n_treated_top == 0 else "control"
            raise MetricInputError(f"the top {top} rows hold no {missing} rows; pick a larger k")
        rate_treated = (top_labels * top_treated).sum() / n_treated_top
        rate_control = (top_labels * (1 - top_treated)).sum() / n_control_top
        return float(rate_treated - rate_control)
    is_treated = treated_sorted == 1
    rates = []
    for group_mask, group in ((is_treated, "treated"), (~is_treated, "control")):
        group_labels = labels_sorted[group_mask]
        top = _top_count(k, len(group_labels), group, allow_all=True)
        rates.append(group_labels[:top].mean())
    return float(rates[0] - rates[1])


def _split_bins(n: int, bins: int) -> np.ndarray:
    """Bin index of each of n consecutive rows, sized like numpy.array_split."""
    base, extra = divmod(n, bins)
    sizes = np.full(bins, base, dtype=np.int64)
    sizes[:extra] += 1
    return np.repeat(np.arange(bins), sizes)


def _rates_by_bin(
    labels: np.ndarray, bin_index: np.ndarray, bins: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rows and response rate per bin (NaN for an empty bin)."""
    size = np.bincount(bin_index, minlength=bins)
    responders = np.bincount(bin_index, weights=labels, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = responders / size
    return size, rate


def uplift_by_percentile(
    y_true: ArrayLike,
    uplift: ArrayLike,
    treatment: ArrayLike,
    strategy: Literal["overall", "by_group"] = "overall",
    bins: int = 10,
    std: bool = False,
    total: bool = False,
    string_percentiles: bool = True,
) -> pd.DataFrame:
    """Per score bin: n_treatment, n_control, response rates and uplift (sklift's table).

    ``"overall"`` cuts the ranking of all rows into ``bins`` near-equal bins (numpy.array_split
    sizes); ``"by_group"`` cuts the treated and the control ranking separately. A bin without
    rows of a group has NaN rate. ``std=True`` adds binomial standard errors
    sqrt(rate * (1 - rate) / n); ``total=True`` appends a ``total`` row over all rows. Deviation
    from sklift: the total row's standard errors are those of the total rates (sklift sums the
    per-bin values there).
    """
    labels, scores, treated = _check_uplift_inputs(y_true, uplift, treatment)
    n = len(labels)
    if strategy not in ("overall", "by_group"):
        raise MetricInputError(f"strategy must be 'overall' or 'by_group', got {strategy!r}")
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins <= 0:
        raise MetricInputError(f"bins must be a positive int, got {bins!r}")
    if bins >= n:
        raise MetricInputError(f"bins={bins} must be smaller than the number of rows ({n})")
    order = _descending_order(scores)
    labels_sorted, is_treated = labels[order], treated[order] == 1
    if strategy == "overall":
        bin_of_row = _split_bins(n, bins)
        n_t, rate_t = _rates_by_bin(labels_sorted[is_treated], bin_of_row[is_treated], bins)
        n_c, rate_c = _rates_by_bin(labels_sorted[~is_treated], bin_of_row[~is_treated], bins)
    else:
        n_t, rate_t = _rates_by_bin(
            labels_sorted[is_treated], _split_bins(int(is_treated.sum()), bins), bins
        )
        n_c, rate_c = _rates_by_bin(
            labels_sorted[~is_treated], _split_bins(int((~is_treated).sum()), bins), bins
        )
    edges = [round(p * 100 / bins) for p in range(1, bins + 1)]
    if string_percentiles:
        index: list = [f"{lo}-{hi}" for lo, hi in zip([0, *edges[:-1]], edges, strict=True)]
    else:
        index = list(edges)
    table = pd.DataFrame(
        {
            "n_treatment": n_t.astype(np.int64),
            "n_control": n_c.astype(np.int64),
            "response_rate_treatment": rate_t,
            "response_rate_control": rate_c,
            "uplift": rate_t - rate_c,
        },
        index=pd.Index(index, name="percentile"),
    )
    if total:
        n_treated = int(is_treated.sum())
        rate_treated_all = labels_sorted[is_treated].mean()
        rate_control_all = labels_sorted[~is_treated].mean()
        table.loc["total"] = [
            n_treated,
            n - n_treated,
            rate_treated_all,
            rate_control_all,
            rate_treated_all - rate_control_all,
        ]
        table = table.astype({"n_treatment": np.int64, "n_control": np.int64})
    if std:
        with np.errstate(invalid="ignore", divide="ignore"):
            var_t = table["response_rate_treatment"] * (1 - table["response_rate_treatment"])
            var_t = var_t / table["n_treatment"]
            var_c = table["response_rate_control"] * (1 - table["response_rate_control"])
            var_c = var_c / table["n_control"]
        table["std_treatment"] = np.sqrt(var_t)
        table["std_control"] = np.sqrt(var_c)
        table["std_uplift"] = np.sqrt(var_t + var_c)
    return table


def binary_arm(treatment: ArrayLike, arm: int) -> np.ndarray:
    """Boolean mask of rows in control (0) or in ``arm``, to score one arm against control."""
    codes = _finite("treatment", treatment)
    if arm == 0:
        raise MetricInputError("arm must be a treatment arm, not the control code 0")
    if not (codes == 0).any():
        raise MetricInputError("treatment has no control rows (code 0)")
    if not (codes == arm).any():
        present = np.unique(codes).tolist()
        raise MetricInputError(f"arm {arm} does not occur in treatment (codes present: {present})")
    return (codes == 0) | (codes == arm)


def _effect_columns(tau_true: ArrayLike, tau_pred: ArrayLike) -> list[tuple[np.ndarray, np.ndarray]]:
    """(truth, prediction) per arm: one pair for 1-d effects, one per column for (n, K) ones
    (a fitted estimator's ``predict`` and ``UpliftData.truth``), checked alike."""
    truth, pred = np.asarray(tau_true), np.asarray(tau_pred)
    if truth.ndim == 2 or pred.ndim == 2:
        if truth.shape != pred.shape or truth.ndim != 2:
            raise MetricInputError(
                f"tau_true has shape {truth.shape} and tau_pred {pred.shape}: give both as "
                "(n,) or both as (n, arms) with one column per arm in the same order"
            )
        return [
            (_finite(f"tau_true[:, {k}]", truth[:, k]), _finite(f"tau_pred[:, {k}]", pred[:, k]))
            for k in range(truth.shape[1])
        ]
    pair = (_finite("tau_true", tau_true), _finite("tau_pred", tau_pred))
    _same_length(tau_true=pair[0], tau_pred=pair[1])
    return [pair]


def pehe(tau_true: ArrayLike, tau_pred: ArrayLike) -> float:
    """PEHE: sqrt(mean((tau_true - tau_pred)^2)), the RMSE of individual effect estimates
    (over every unit and arm for (n, arms) input, as ``shopml bench uplift`` reports it)."""
    columns = _effect_columns(tau_true, tau_pred)
    return float(np.sqrt(np.mean([np.mean((t - p) ** 2) for t, p in columns])))


def ate_error(tau_true: ArrayLike, tau_pred: ArrayLike) -> float:
    """Absolute error of the average treatment effect, |mean(tau_pred) - mean(tau_true)|
    (for (n, arms) input the mean over arms of each arm's error, as the benchmark reports)."""
    columns = _effect_columns(tau_true, tau_pred)
    return float(np.mean([abs(p.mean() - t.mean()) for t, p in columns]))


# ---------------------------------------------------------------------------------------------
# plots
# ---------------------------------------------------------------------------------------------

_MAX_PLOT_POINTS = 2000


def _thin(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At most _MAX_PLOT_POINTS evenly spaced points, always keeping both ends."""
    if len(x) <= _MAX_PLOT_POINTS:
        return x, y
    keep = np.unique(np.linspace(0, len(x) - 1, _MAX_PLOT_POINTS).astype(np.int64))
    return x[keep], y[keep]


def _plot_curves(
    model: tuple[np.ndarray, np.ndarray],
    best: tuple[np.ndarray, np.ndarray],
    score: float,
    score_name: str,
    y_label: str,
    title: str | None,
    path: str | Path,
) -> Path:
    """Model, perfect and random curves in one PNG (matplotlib, Agg canvas, no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.plot(*_thin(*model), label=f"model ({score_name} = {score:.4f})", color="tab:blue")
    axes.plot(*_thin(*best), label="perfect", color="tab:green", linestyle="--")
    axes.plot([0, best[0][-1]], [0, best[1][-1]], label="random", color="grey", linestyle=":")
    axes.set_xlabel("rows targeted (highest predicted uplift first)")
    axes.set_ylabel(y_label)
    axes.set_title(title or f"{y_label} ({score_name} = {score:.4f})")
    axes.legend(loc="best")
    axes.grid(alpha=0.3)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, format="png", bbox_inches="tight")
    return out


def plot_qini(
    y_true: ArrayLike,
    uplift: ArrayLike,
    treatment: ArrayLike,
    path: str | Path,
    negative_effect: bool = True,
    title: str | None = None,
) -> Path:
    """Save the Qini curve with its perfect and random references as a PNG; return the path."""
    labels, scores, treated = _check_uplift_inputs(y_true, uplift, treatment)
    model = _qini_curve(labels, scores, treated)
    best = perfect_qini_curve(labels, treated, negative_effect)
    score = _normalised_area(*model, *best, "Qini coefficient")
    return _plot_curves(model, best, score, "Qini", "incremental responders (Qini)", title, path)


def plot_uplift_curve(
    y_true: ArrayLike,
    uplift: ArrayLike,
    treatment: ArrayLike,
    path: str | Path,
    title: str | None = None,
) -> Path:
    """Save the uplift curve with its perfect and random references as a PNG; return the path."""
    labels, scores, treated = _check_uplift_inputs(y_true, uplift, treatment)
    model = _uplift_curve(labels, scores, treated)
    best = _uplift_curve(labels, _perfect_uplift_scores(labels, treated), treated)
    score = _normalised_area(*model, *best, "uplift AUC")
    return _plot_curves(model, best, score, "AUUC", "uplift x rows targeted", title, path)
