"""READER: RepurchasE-Aware Dual-branch prEdictoR for post-click GMV under delayed feedback.

Li, Chen, Xv, Zhang, Luo, Chan, Sheng, Zhu, Xu, Lin, "Delayed Feedback Modeling for Post-Click
Gross Merchandise Volume Prediction: Benchmark, Insights and Approaches", WWW 2026
(arXiv 2601.20307), Sec. 5; official code github.com/alimama-tech/OnlineGMV
(``method_src/stream_trainer_moe.py``, ``models/Calibrator.py``, ``models/Classifier.py``).

Network: the dual-branch model of :mod:`shopml.value.dual` (shared bottom, single-purchase
branch y_s, repurchase branch y_m) and the repurchase router p(x) = sigmoid(logit / 0.5),
frozen after pre-training. The branch weight of a sample is w = route(p) (soft: 0 if
p <= 0.1, 1 if p >= 0.9, else p; ``routing="hard"``: 1[p >= 0.5]); once a second purchase has
been observed p := 1, and at the end of the window p := 1[K > 1] (the flag is then known).

Label calibrator: rho(x, t, k) >= 0 (embedding + MLP, then [h, t, k] -> linear -> softplus),
t = elapsed / 7 d and k = purchases so far, predicts how much the log1p GMV still grows:
target log1p(y*) - log1p(y(t)). It is fitted before streaming on every purchase of the
pre-training *repurchase* clicks with an L1 loss (official pre-training of ``calibrator``),
trained until its L1 on the latest 10 % of those clicks (by click time, still pre-training
data) stops improving for 2 epochs (at most 30), and frozen. A streamed sample with observed GMV y(t) is trained towards

    y_cal = (1 - w) y(t) + w expm1(log1p(y(t)) + rho(x, t, k)),

(y_cal = y* for window-end samples, which carry the final label), with the loss

    L = mean |log1p(y_hat) - log1p(y_cal)|
        + beta * ( mean_end |log1p(y_hat) - log1p(y*)| - gamma * mean_end |log1p(y_hat) - log1p(y_prev)| ),

where y_hat = (1 - w) y_s + w y_m, "end" are the window-end samples, and y_prev is the
calibrated label the click had at its last purchase (K purchases, at t_K): the auxiliary
terms pull predictions to the final label and away from the earlier, possibly biased,
calibrated target (official ``boost_weight`` beta = 0.1, ``ga_loss_weight`` gamma = 0.5).

Stream: one sample per purchase with the GMV observed then, plus every click at click + 7 d
with its final GMV (official "attribution back" samples).

Switches (ablations): ``calibration`` (True; False trains on observed labels), ``routing``
("soft" | "hard"), ``boost_weight`` (0.1; 0 drops the auxiliary terms), ``ga_weight`` (0.5),
``calib_epochs`` (30, the most epochs), ``calib_patience`` (2), ``seed`` (0, calibrator fitting).

Calibrator fitting (a fix): with a fixed 2 epochs (~170 Adam steps on a 1M-click world) the
calibrator stayed nearly constant (rho ~ 0.35 for every k: 0.37 where the true remaining
growth at the first purchase is 0.78, 0.35 where it is 0.24 after a second purchase), i.e.
it under-corrected first-purchase labels and over-corrected later ones. The official
calibrator trains on millions of TRACE purchases; here it is trained to convergence on a
held-out part of the pre-training data instead (rho 0.71 / 0.35 / 0.18 at k = 1 / 2 / 3 vs
true means 0.78 / 0.24 / 0.11 on the same world).

Deviations: calibrator and router are trained here with the shared optimiser settings (Adam,
lr 1e-3, batch 512; the official classifier uses lr 2e-3, batch 1024); the calibrator input k
is the raw purchase count as in the official code, and the window-end sample carries k = K
(official K + 1, used only in its masks).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from shopml.conversion import option_checks as check
from shopml.conversion.base import Batch, ModelConfig
from shopml.conversion.stream import Delivery, StreamSplit
from shopml.conversion.timeline import Timeline
from shopml.nn import FieldEmbedding
from shopml.value.base import (
    LayerNormMLP,
    log_l1,
    mixed_log1p,
    register_gmv_method,
    router_probability,
    routing_weight,
)
from shopml.value.dual import _Dual
from shopml.value.gmv import GmvView
from shopml.value.protocol import KINDS, purchase_samples, window_end_samples

WINDOW_END = KINDS.index("window_end")


class Calibrator(nn.Module):
    """rho(x, t, k) >= 0: the expected remaining growth of log1p GMV."""

    def __init__(self, cardinalities: Sequence[int], config: ModelConfig) -> None:
        super().__init__()
        self.emb = FieldEmbedding(cardinalities, config.embed_dim)
        self.mlp = LayerNormMLP(self.emb.out_dim, config.hidden, 1)
        self.out = nn.Linear(self.mlp.width + 2, 1)

    def forward(self, x: torch.Tensor, t: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """x [B, F], t [B] elapsed / window, k [B] purchases so far -> rho [B]."""
        h = self.mlp.features(self.emb(x).flatten(1))
        return F.softplus(self.out(torch.cat([h, t[:, None], k[:, None]], dim=1)))[:, 0]


def calibrator_samples(
    view: GmvView, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per purchase of the repurchase clicks among `rows`: (click row, t, k, target rho)."""
    rows = np.asarray(rows, dtype=np.int64)
    rows = rows[view.repurchase[rows]]
    sub = view.take(rows)
    owner = sub.owner
    t = (sub.pay_ts - sub.click_ts[owner]) / float(view.window_s)
    target = np.log1p(sub.final_gmv[owner]) - np.log1p(sub.cumulative_gmv)
    return rows[owner], t, sub.rank.astype(np.float64), target


def calibrator_loss(
    calibrator: Calibrator, x: torch.Tensor, t: torch.Tensor, k: torch.Tensor, target: torch.Tensor
) -> torch.Tensor:
    """Mean L1 between rho(x, t, k) and the true remaining log1p growth."""
    return torch.abs(calibrator(x, t, k) - target).mean()


def _split_holdout(
    view: GmvView, rows: np.ndarray, holdout: float
) -> tuple[np.ndarray, np.ndarray]:
    """Repurchase clicks among `rows` split by click time: the earliest (1 - holdout) share
    for fitting, the latest `holdout` share for early stopping (no stream data is used)."""
    rows = np.asarray(rows, dtype=np.int64)
    rows = rows[view.repurchase[rows]]
    rows = rows[np.argsort(view.click_ts[rows], kind="stable")]
    cut = len(rows) - round(holdout * len(rows))
    return rows[:cut], rows[cut:]


def fit_calibrator(
    features: np.ndarray,
    view: GmvView,
    split: StreamSplit,
    config: ModelConfig,
    max_epochs: int = 30,
    seed: int = 0,
    patience: int = 2,
    holdout: float = 0.1,
) -> Calibrator:
    """Fit the label calibrator on the purchases of the pre-training repurchase clicks until
    its L1 on the latest `holdout` share of those clicks stops improving (`patience` epochs,
    at most `max_epochs`); returns the best state, frozen."""
    cards = (np.asarray(features).max(axis=0) + 1).astype(int).tolist()
    fit_rows, held_rows = _split_holdout(view, split.pretrain_rows(view.click_ts), holdout)
    x_all = torch.from_numpy(np.ascontiguousarray(features, dtype=np.int64))

    def tensors(rows: np.ndarray) -> tuple[torch.Tensor, ...]:
        r, t, k, target = calibrator_samples(view, rows)
        return (
            x_all[torch.from_numpy(r)],
            torch.from_numpy(t.astype(np.float32)),
            torch.from_numpy(k.astype(np.float32)),
            torch.from_numpy(target.astype(np.float32)),
        )

    xx, tt, kk, yy = tensors(fit_rows)
    held = tensors(held_rows)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = Calibrator(cards, config)
        gen = torch.Generator().manual_seed(seed)
        opt = torch.optim.Adam(model.parameters(), lr=config.lr)
        best, best_state, stale = float("inf"), copy.deepcopy(model.state_dict()), 0
        for _ in range(max_epochs if len(yy) else 0):
            model.train()
            perm = torch.randperm(len(yy), generator=gen)
            for lo in range(0, len(yy), config.batch_size):
                idx = perm[lo : lo + config.batch_size]
                loss = calibrator_loss(model, xx[idx], tt[idx], kk[idx], yy[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
            if not len(held[3]):
                best_state = copy.deepcopy(model.state_dict())
                continue
            model.eval()
            with torch.no_grad():
                score = calibrator_loss(model, *held).item()
            if score < best:
                best, best_state, stale = score, copy.deepcopy(model.state_dict()), 0
            else:
                stale += 1
                if stale >= patience:
                    break
        model.load_state_dict(best_state)
    model.eval()
    for param in model.parameters():
        param.requires_grad_(False)
    return model


def reader_targets(
    y: torch.Tensor,
    rho: torch.Tensor,
    w: torch.Tensor,
) -> torch.Tensor:
    """Calibrated label (1 - w) y + w expm1(log1p(y) + rho)."""
    return (1.0 - w) * y + w * torch.expm1(torch.log1p(y) + rho)


def reader_loss(
    u_single: torch.Tensor,
    u_multi: torch.Tensor,
    w: torch.Tensor,
    label: torch.Tensor,
    is_end: torch.Tensor,
    final: torch.Tensor,
    previous: torch.Tensor,
    boost_weight: float,
    ga_weight: float,
) -> torch.Tensor:
    """READER's loss (mean over the batch): main log-L1 to the calibrated label, plus
    beta * (end-sample log-L1 to the final label - gamma * end-sample log-L1 to the previous label)."""
    u = mixed_log1p(u_single, u_multi, w)
    loss = log_l1(u, label).mean()
    if boost_weight and bool(is_end.any()):
        now = log_l1(u[is_end], final[is_end]).mean()
        prev = log_l1(u[is_end], previous[is_end]).mean()
        loss = loss + boost_weight * (now - ga_weight * prev)
    return loss


@register_gmv_method("reader")
class Reader(_Dual):
    """Repurchase-aware dual branches, router, label calibrator, auxiliary window-end terms."""

    paper: ClassVar[str] = "READER (arXiv 2601.20307), Sec. 5"
    option_checks: ClassVar[dict[str, check.OptionCheck]] = {
        "calibration": check.flag,
        "calib_epochs": check.integer(1),
        "calib_patience": check.integer(1),
        "seed": check.integer(0),
        "boost_weight": check.non_negative,
        "ga_weight": check.non_negative,
    }

    def __init__(self, config: ModelConfig | None = None, **options: Any) -> None:
        super().__init__(config, **options)
        self.calibrator: Calibrator | None = None

    def prepare(
        self, features: np.ndarray, timeline: Timeline, windows: Any, split: StreamSplit
    ) -> dict[str, np.ndarray]:
        """Fit the calibrator on pre-training clicks; per-click labels and last-purchase time."""
        aux = super().prepare(features, timeline, windows, split)
        view = self._view()
        if bool(self.options.get("calibration", True)):
            settings = (
                int(self.options.get("calib_epochs", 30)),
                int(self.options.get("seed", 0)),
                int(self.options.get("calib_patience", 2)),
            )
            # READER variants of one run share the calibrator fitted on the same data
            key = ("calibrator", id(view), settings, json.dumps(self.config.model_dump(), sort_keys=True))
            if self.cache is not None and key in self.cache:
                self.calibrator = self.cache[key]
            else:
                self.calibrator = fit_calibrator(features, view, split, self.config, *settings)
                if self.cache is not None:
                    self.cache[key] = self.calibrator
        last = np.where(view.converted, view.last_pay_ts - view.click_ts, 0)
        aux["last_elapsed"] = (last / float(view.window_s)).astype(np.float32)
        return aux

    def deliver(self, timeline: Timeline, windows: Any, split: StreamSplit) -> Delivery:
        """One sample per purchase (observed GMV) plus every click at click + 7 d (final GMV)."""
        view = self._view()
        return Delivery.concat([purchase_samples(view, split), window_end_samples(view, split)])

    def _rho(self, x: torch.Tensor, t: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        if self.calibrator is None:
            return torch.zeros_like(t)
        return self.calibrator(x, t, k)

    def loss(self, model: nn.Module, out: dict[str, torch.Tensor], batch: Batch) -> torch.Tensor:
        """READER's calibrated, routed loss (times the batch size: the trainer divides by it)."""
        routing = str(self.options.get("routing", "soft"))
        view = self._view()
        y, k = batch.y_cvr, batch.y_rfr
        is_end = batch.kind == WINDOW_END
        with torch.no_grad():
            p = router_probability(out["router_logit"])
            repurchased = k > 1.5
            p_now = torch.where(is_end, repurchased.float(), torch.where(repurchased, torch.ones_like(p), p))
            w = routing_weight(p_now, routing)
            t = batch.elapsed / float(view.window_s)
            label = reader_targets(y, self._rho(batch.x, t, k), w)
            label = torch.where(is_end, y, label)
            # the label the click had at its last purchase (only used on window-end samples)
            w_prev = routing_weight(torch.where(repurchased, torch.ones_like(p), p), routing)
            previous = reader_targets(y, self._rho(batch.x, batch.aux["last_elapsed"], k), w_prev)
        loss = reader_loss(
            out["single"],
            out["multi"],
            w,
            label,
            is_end,
            y,
            previous,
            float(self.options.get("boost_weight", 0.1)),
            float(self.options.get("ga_weight", 0.5)),
        )
        return loss * len(batch)
