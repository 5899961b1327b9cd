"""The GMV stream protocol: the NetCVR stream machinery of :mod:`shopml.conversion` reused.

READER (Li et al., WWW 2026, arXiv 2601.20307), Sec. 5.1 / Table 4 and the official code
(github.com/alimama-tech/OnlineGMV, ``method_main.py`` / ``*/data.py``): the model is
pre-trained on the early span (days 0-50 of TRACE) with complete labels, a gap of one
attribution window (7 d) follows, then online training on the later days (57-82) in slices
of 0.125 day (3 h): train on the samples delivered in slice n, evaluate on the clicks of slice
n+1 against their *final* GMV; metrics are averaged over the evaluated slices.

Reused unchanged from :mod:`shopml.conversion`: :class:`StreamConfig` / :class:`StreamSplit`
(time split and slices), :class:`Delivery` (a time-ordered training stream), the
:class:`StreamData` tensors and :func:`run_stream` (pre-training, slice loop, pre-trained
state sharing, checkpoint/resume). A GMV delivery encodes its labels in Delivery's two
label columns: ``y_cvr`` = the GMV observed at delivery time, ``y_rfr`` = the number of
purchases observed then. Only *converting* clicks enter (TRACE lists converting clicks
only, and the paper trains and evaluates on them); the :class:`Timeline` of the stream data
holds their first purchase time and no refunds.

Sample kinds (``Delivery.kinds``): ``purchase`` (one sample per purchase at its time, label =
GMV accumulated so far: the official "backfill" stream), ``window_end`` (each click again at
click + 7 d with its final GMV: the official "attribution back" samples READER adds),
``complete`` (a final label, for Offline at click + 7 d and Oracle at the first purchase).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shopml.conversion.base import ModelConfig
from shopml.conversion.stream import Delivery, StreamConfig, StreamSplit
from shopml.conversion.timeline import Timeline
from shopml.conversion.trainer import RunConfig, StreamData
from shopml.data.eventlog import NO_EVENT, EventLog
from shopml.metrics import acc_within, alpr, regression_auc, rmse
from shopml.value.gmv import DAY, DEFAULT_WINDOW_S, GmvView

KINDS = ("purchase", "window_end", "complete")
#: ALPR needs positive predictions: anything below one cent counts as one cent.
ALPR_FLOOR = 0.01


class GmvWindows(BaseModel):
    """The GMV attribution window; the leakage gap between pre-training and stream equals it."""

    model_config = ConfigDict(extra="forbid")  # a misspelt window is an error, not the default
    attribution_s: int = Field(default=DEFAULT_WINDOW_S, gt=0)

    @property
    def leakage_gap_s(self) -> int:
        """Gap between the pre-training part and the stream: one attribution window."""
        return self.attribution_s


def gmv_model_config() -> ModelConfig:
    """Network and optimiser defaults of the GMV methods (one setting shared by all methods)."""
    return ModelConfig(lr=1e-3, stream_lr=1e-3, batch_size=512, pretrain_epochs=2)


def gmv_stream_config() -> StreamConfig:
    """The official split: 50 pre-training days, a 7-day gap, 3-hour slices to the end."""
    return StreamConfig(pretrain_days=50, slice_s=3 * 3600)


class GmvRunConfig(RunConfig):
    """A GMV stream run: RunConfig with the GMV window, split and model defaults."""

    windows: GmvWindows = Field(default_factory=GmvWindows)  # type: ignore[assignment]
    stream: StreamConfig = Field(default_factory=gmv_stream_config)
    model: ModelConfig = Field(default_factory=gmv_model_config)


@dataclass
class GmvData:
    """Stream tensors of the converting clicks of a log, their GMV view and original rows."""

    stream: StreamData
    view: GmvView
    source_rows: np.ndarray

    @property
    def final_gmv(self) -> np.ndarray:
        """Final GMV of every (converting) click."""
        return self.view.final_gmv


def categorical_features(log: EventLog, rows: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """The log's declared categorical features at `rows`, stacked [n, F], and their sizes."""
    codes, cards = log.categorical_codes("the GMV methods")
    return codes[rows], cards


def build_gmv_data(log: EventLog, config: GmvRunConfig, check: bool = True) -> GmvData:
    """Restrict a log to its converting clicks, build their GMV view, stream tensors and split
    (with ``check``, a log with validation errors raises EventLogError first, as in
    :meth:`StreamData.from_log`)."""
    if check:
        from shopml.data.validate import require_valid

        require_valid(log, log.path)
    full = GmvView.from_log(log, config.windows.attribution_s)
    rows = np.flatnonzero(full.converted)
    if len(rows) == 0:
        raise ValueError("the log has no purchases within the GMV window: nothing to learn")
    view = full.take(rows)
    free = np.flatnonzero(view.final_gmv <= 0)
    if len(free):
        click = int(log.column("click_id")[rows[free[0]]])
        raise ValueError(
            f"{len(free):,} converting click(s) whose purchases within the GMV window total 0 "
            f"(first: click_id {click}): the GMV metrics are over clicks with final GMV > 0; "
            "drop the zero-amount purchases or give them their amounts"
        )
    features, cards = categorical_features(log, rows)
    timeline = Timeline(
        click_ts=view.click_ts,
        pay_ts=view.first_pay_ts,
        refund_ts=np.full(len(view), NO_EVENT, dtype=np.int64),
    )
    split = StreamSplit.make(view.click_ts, config.windows, config.stream)  # type: ignore[arg-type]
    stream = StreamData(features, cards, timeline, split, config.windows)  # type: ignore[arg-type]
    return GmvData(stream, view, rows)


# ---------------------------------------------------------------------------- deliveries
def _delivery(split: StreamSplit, row, ts, gmv, count, kind: str) -> Delivery:
    ts = np.asarray(ts, dtype=np.int64)
    keep = (ts >= split.stream_start) & (ts < split.stream_end)
    kind_code = np.full(int(keep.sum()), KINDS.index(kind), np.int8)
    return Delivery(
        np.asarray(row)[keep], ts[keep], np.asarray(gmv)[keep], np.asarray(count)[keep], kind_code, KINDS
    )


def purchase_samples(view: GmvView, split: StreamSplit) -> Delivery:
    """One sample per purchase at its time with the GMV and purchase count observed then."""
    return _delivery(
        split, view.owner, view.pay_ts, view.cumulative_gmv, view.rank.astype(np.float32), "purchase"
    )


def window_end_samples(view: GmvView, split: StreamSplit) -> Delivery:
    """Every click again at click + window with its final GMV and purchase count."""
    rows = np.arange(len(view))
    ts = view.click_ts + view.window_s
    return _delivery(split, rows, ts, view.final_gmv, view.n_purchases.astype(np.float32), "window_end")


def complete_samples(view: GmvView, split: StreamSplit, at: str) -> Delivery:
    """Every click once with its final label: at its first purchase (Oracle) or window end (Offline)."""
    rows = np.arange(len(view))
    if at == "first_purchase":
        ts = view.first_pay_ts
    elif at == "window_end":
        ts = view.click_ts + view.window_s
    else:
        raise ValueError(f"at must be 'first_purchase' or 'window_end', got {at!r}")
    return _delivery(split, rows, ts, view.final_gmv, view.n_purchases.astype(np.float32), "complete")


# ------------------------------------------------------------------------------- metrics
def _slice_mean(fn, y: np.ndarray, p: np.ndarray, slice_id: np.ndarray) -> float:
    order = np.argsort(slice_id, kind="stable")
    y, p, s = y[order], p[order], slice_id[order]
    cuts = np.flatnonzero(np.diff(s)) + 1
    values = []
    for ys, ps in zip(np.split(y, cuts), np.split(p, cuts), strict=True):
        if len(ys) < 2 or ys.min() == ys.max():
            continue  # pairwise AUC needs two distinct labels; skip such slices for every metric
        values.append(fn(ys, ps))
    return float(np.mean(values)) if values else float("nan")


def gmv_metrics(y_true: np.ndarray, y_pred: np.ndarray, slice_id: np.ndarray) -> dict[str, float]:
    """AUC, ACC (relative error <= 20 %), ALPR, RMSE: slice-averaged (the paper) and pooled."""
    y = np.asarray(y_true, dtype=np.float64)
    p = np.maximum(np.asarray(y_pred, dtype=np.float64), ALPR_FLOOR)
    if len(y) == 0:
        return {}
    if (y <= 0).any():
        raise ValueError("GMV metrics are computed over converting clicks only (final GMV > 0)")
    fns = {"auc": regression_auc, "acc": acc_within, "alpr": alpr, "rmse": rmse}
    out = {name: _slice_mean(fn, y, p, slice_id) for name, fn in fns.items()}
    out.update({f"{name}_pooled": float(fn(y, p)) for name, fn in fns.items()})
    return out


def days(seconds: float) -> float:
    """Seconds as days."""
    return seconds / DAY
