"""Building blocks shared by the baseline stream methods: sample delivery and loss weights.

Delivery (TESLA, arXiv 2601.19965, App. D.2, as every baseline is extended to
NetCVR there and in the official code's ``re*`` scripts): a method first lays
out its *CVR-stage* samples — "every click at click time as a negative", "every
click at the end of the conversion observation window with the label observed
then", "a positive duplicate at pay time", "a real-negative duplicate at the
end of the conversion attribution window" — and :meth:`DeliveryBuilder.build`
then adds the *refund stage* the same way for every baseline:

- a sample delivered with ``y_cvr = 1`` carries ``y_rfr = 1`` if the click's
  refund already happened by the delivery time, else ``y_rfr = 0``;
- a sample with ``y_cvr = 0`` carries ``y_rfr = MASKED``;
- a refunded click whose refund happens after the *last* delivery of the
  click as a positive gets a refund duplicate at the refund time
  (``y_cvr = MASKED``, ``y_rfr = 1``). Baselines have no refund observation
  window (that is TESLA's): refunds enter at their actual time.

Only streaming clicks are delivered, and only samples whose delivery time is in
``[split.stream_start, split.stream_end)``. Everything is vectorised NumPy.

Weights: the delay-based methods (ES-DFM, DEFER, DEFUSE, DDFM) need
``S(x) = p(h > W_v_obs | y = 1, x)``; :func:`pay_late_survival` fits a
:class:`~shopml.conversion.delay.DelayModel` on the pre-training clicks (whose
delays are fully observed) and returns it for every click. The refund tower of
every baseline is trained as in the official ``re*`` trainers: plain BCE on the
delivered refund labels (:func:`refund_loss`); ``refund_debias=True`` applies
the FNW weights of the refund stage instead (see :func:`fnw_weights`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from shopml.conversion import option_checks as check
from shopml.conversion.base import Batch, StreamMethod, masked_bce
from shopml.conversion.delay import DelayModel
from shopml.conversion.stream import MASKED, Delivery, StreamSplit
from shopml.conversion.timeline import Timeline, Windows
from shopml.conversion.window_classifier import fit_window_classifier

REFUND_KIND = "refund"
CLICK_THEN_PAY_KINDS = ("click_neg", "pos", REFUND_KIND)
WINDOW_KINDS = ("ip", "obs_neg", "dp", REFUND_KIND)


class DeliveryBuilder:
    """Collects the CVR-stage samples of one policy, then adds the refund stage and filters."""

    def __init__(
        self,
        timeline: Timeline,
        split: StreamSplit,
        kinds: tuple[str, ...],
        rows: np.ndarray | None = None,
    ) -> None:
        self.timeline = timeline
        self.split = split
        self.kinds = kinds
        self.rows = split.stream_rows(timeline.click_ts) if rows is None else rows
        self._parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]] = []

    def add(self, rows: np.ndarray, ts: np.ndarray, y_cvr: np.ndarray | float, kind: str) -> None:
        """Add samples: click rows, delivery times, CVR labels, one kind name."""
        rows = np.asarray(rows, dtype=np.int64)
        ts = np.broadcast_to(np.asarray(ts, dtype=np.int64), rows.shape)
        y = np.broadcast_to(np.asarray(y_cvr, dtype=np.float32), rows.shape)
        self._parts.append((rows, ts, y, self.kinds.index(kind)))

    # -- the building blocks ------------------------------------------------
    def at_click(self, kind: str, y_cvr: np.ndarray | float = 0.0) -> None:
        """Every click at its click time (default: as a negative)."""
        self.add(self.rows, self.timeline.click_ts[self.rows], y_cvr, kind)

    def at_window_end(self, window_s: int, pos_kind: str, neg_kind: str) -> None:
        """Every click at click + window with the CVR label observed then."""
        rows = self.rows
        ts = self.timeline.click_ts[rows] + window_s
        pos = observed(self.timeline.pay_ts[rows], ts)
        self.add(rows[pos], ts[pos], 1.0, pos_kind)
        self.add(rows[~pos], ts[~pos], 0.0, neg_kind)

    def pay_duplicates(
        self, kind: str, after_window_s: int | None = None, at_click_plus_s: int | None = None
    ) -> None:
        """A positive at pay time for paid clicks (only those paid after click + window if given);
        at click + `at_click_plus_s` instead of at pay time if given (a calibration diagnostic,
        benchmarks/netcvr_pcoc_by_day.py; no method uses it)."""
        rows = self.rows[self.timeline.paid[self.rows]]
        pay = self.timeline.pay_ts[rows]
        if after_window_s is not None:
            late = pay > self.timeline.click_ts[rows] + after_window_s
            rows, pay = rows[late], pay[late]
        if at_click_plus_s is not None:
            pay = self.timeline.click_ts[rows] + at_click_plus_s
        self.add(rows, pay, 1.0, kind)

    def immediate_pay_duplicates(self, window_s: int, kind: str) -> None:
        """A positive at pay time for clicks paid within click + window (DEFER's IP copies)."""
        rows = self.rows[self.timeline.paid[self.rows]]
        pay = self.timeline.pay_ts[rows]
        early = pay <= self.timeline.click_ts[rows] + window_s
        self.add(rows[early], pay[early], 1.0, kind)

    def real_negative_duplicates(self, attribution_s: int, kind: str) -> None:
        """A negative at click + W_v_attr for clicks that never convert (real negatives)."""
        rows = self.rows[~self.timeline.paid[self.rows]]
        self.add(rows, self.timeline.click_ts[rows] + attribution_s, 0.0, kind)

    # -- assembly -------------------------------------------------------------
    def build(self, complete_labels: bool = False) -> Delivery:
        """The time-ordered Delivery: refund labels, refund duplicates, stream-window filter.

        ``complete_labels=True`` (Oracle, BDL): ``y_rfr`` is the complete refund
        label of every paid click and no refund duplicates are added.
        """
        tl = self.timeline
        if self._parts:
            row = np.concatenate([p[0] for p in self._parts])
            ts = np.concatenate([p[1] for p in self._parts])
            y_cvr = np.concatenate([p[2] for p in self._parts])
            kind = np.concatenate([np.full(len(p[0]), p[3], np.int8) for p in self._parts])
        else:
            row, ts = np.zeros(0, np.int64), np.zeros(0, np.int64)
            y_cvr, kind = np.zeros(0, np.float32), np.zeros(0, np.int8)
        pos = y_cvr == 1.0
        refund = tl.refund_ts[row]
        seen = tl.refunded[row] if complete_labels else observed(refund, ts)
        y_rfr = np.where(pos, seen.astype(np.float32), np.float32(MASKED)).astype(np.float32)
        if not complete_labels and REFUND_KIND in self.kinds:
            # refund duplicates: refunded clicks whose refund comes after their last positive delivery
            last = np.full(len(tl), np.iinfo(np.int64).min, dtype=np.int64)
            np.maximum.at(last, row[pos], ts[pos])
            cand = np.flatnonzero(tl.refunded & (last > np.iinfo(np.int64).min))
            cand = cand[tl.refund_ts[cand] > last[cand]]
            row = np.concatenate([row, cand])
            ts = np.concatenate([ts, tl.refund_ts[cand]])
            y_cvr = np.concatenate([y_cvr, np.full(len(cand), MASKED, np.float32)])
            y_rfr = np.concatenate([y_rfr, np.ones(len(cand), np.float32)])
            kind = np.concatenate(
                [kind, np.full(len(cand), self.kinds.index(REFUND_KIND), np.int8)]
            )
        keep = (ts >= self.split.stream_start) & (ts < self.split.stream_end)
        return Delivery(row[keep], ts[keep], y_cvr[keep], y_rfr[keep], kind[keep], self.kinds)


def click_then_pay(timeline: Timeline, split: StreamSplit) -> Delivery:
    """FNC/FNW stream: every click at click time as a negative, a positive duplicate at pay time."""
    b = DeliveryBuilder(timeline, split, CLICK_THEN_PAY_KINDS)
    b.at_click("click_neg")
    b.pay_duplicates("pos")
    return b.build()


def window_then_late_pay(timeline: Timeline, windows: Windows, split: StreamSplit) -> Delivery:
    """ES-DFM/DEFUSE stream: every click at click + W_v_obs as observed, late payers duplicated at pay time."""
    b = DeliveryBuilder(timeline, split, WINDOW_KINDS)
    w = windows.conversion_observation_s
    b.at_window_end(w, "ip", "obs_neg")
    b.pay_duplicates("dp", after_window_s=w)
    return b.build()


def observed(event_ts: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Whether an event (NO_EVENT = never) has happened by time `at`."""
    return event_ts <= at  # NO_EVENT is int64 max, so never <= any real time


def empty_delivery(kinds: tuple[str, ...] = ("none",)) -> Delivery:
    """A Delivery with no samples."""
    z = np.zeros(0)
    return Delivery(z, z, z, z, z, kinds)


# -- delay model -------------------------------------------------------------------
class DelayWeighted(StreamMethod):
    """Base of the methods weighted by S(x) = p(h > W_v_obs | y=1, x): provides ``aux["p_pay_late"]``.

    Options: ``delay_epochs`` (2), ``delay_bins`` (32), ``seed`` (0) for the
    delay model; ``refund_debias`` (False) for the refund tower. Methods whose
    official code uses the frozen true-negative / delayed-positive classifier
    (``uses_window_classifier``) also get ``aux["p_true_neg"]`` and
    ``aux["p_delayed_pos"]`` and take their weights from it unless
    ``weights_from="model"`` (the closed forms in the online p̂ and S, an ablation).
    """

    uses_window_classifier: ClassVar[bool] = False
    option_checks: ClassVar[dict[str, check.OptionCheck]] = {
        "weights_from": check.choice("classifier", "model"),
        "refund_debias": check.flag,
        "seed": check.integer(0),
        "delay_bins": check.integer(2),
        "delay_epochs": check.integer(1),
        "classifier_epochs": check.integer(1),
        "classifier_batch": check.integer(1),
        "classifier_lr": check.positive,
    }

    @property
    def weights_from_classifier(self) -> bool:
        """True if the weights come from the frozen tn/dp classifier (official code)."""
        return self.uses_window_classifier and self.options.get("weights_from") != "model"

    def frozen_window_probs(
        self, batch: Batch
    ) -> tuple[torch.Tensor, torch.Tensor] | tuple[None, None]:
        """(p(tn | observed negative), p(dp)) of the batch from the frozen classifier, or
        (None, None) when the weights come from the model (``weights_from="model"``)."""
        if not self.weights_from_classifier:
            return None, None
        return batch.aux["p_true_neg"], batch.aux["p_delayed_pos"]

    def prepare(
        self, features: np.ndarray, timeline: Timeline, windows: Windows, split: StreamSplit
    ) -> dict[str, np.ndarray]:
        """Fit the pay-delay model (and the tn/dp classifier) on the pre-training clicks."""
        aux = {"p_pay_late": pay_late_survival(features, timeline, windows, split, self.options)}
        if self.weights_from_classifier:
            aux.update(fit_window_classifier(features, timeline, windows, split, self.options))
        return aux

    def refund_term(self, out: dict[str, torch.Tensor], batch: Batch) -> torch.Tensor:
        """The refund-tower loss (official re* code: plain BCE; FNW-weighted if refund_debias)."""
        return refund_loss(out, batch, bool(self.options.get("refund_debias", False)))


def pay_late_survival(
    features: np.ndarray,
    timeline: Timeline,
    windows: Windows,
    split: StreamSplit,
    options: dict[str, Any],
    chunk: int = 1 << 18,
) -> np.ndarray:
    """S(x) = p(pay delay > W_v_obs | paid, x) for every click, from a DelayModel fitted on pre-training clicks."""
    rows = split.pretrain_rows(timeline.click_ts)
    rows = rows[timeline.paid[rows]]
    if len(rows) == 0:
        raise ValueError("no conversions in the pre-training part to fit the delay model on")
    cards = (np.asarray(features).max(axis=0) + 1).astype(int).tolist()
    seed = int(options.get("seed", 0))
    with torch.random.fork_rng():  # leave the caller's global torch RNG untouched
        model = DelayModel(
            cards,
            horizon_s=windows.conversion_attribution_s,
            n_bins=options.get("delay_bins", 32),
            seed=seed,
        )
        model.fit(
            features[rows],
            timeline.pay_delay[rows],
            epochs=int(options.get("delay_epochs", 2)),
            seed=seed,
        )
    w = windows.conversion_observation_s
    out = [model.survival(features[s : s + chunk], w) for s in range(0, len(features), chunk)]
    return np.concatenate(out).astype(np.float32) if out else np.zeros(0, np.float32)


# -- losses ------------------------------------------------------------------------
def bce(logit: torch.Tensor, target: float | torch.Tensor) -> torch.Tensor:
    """Per-sample binary cross-entropy with logits (target may be soft)."""
    t = torch.as_tensor(target, dtype=logit.dtype).expand_as(logit)
    return F.binary_cross_entropy_with_logits(logit, t, reduction="none")


def detached_prob(logit: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """The current prediction p̂ = sigmoid(logit), detached and clipped to [eps, 1 − eps] (as the official code)."""
    return torch.sigmoid(logit).detach().clamp(eps, 1.0 - eps)


def fnw_weights(p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """FNW weights (Ktena et al., RecSys 2019): (w+, w-) = (1 + p, (1 - p)(1 + p)) for a detached p."""
    return 1.0 + p, (1.0 - p) * (1.0 + p)


def weighted_by_label(
    logit: torch.Tensor, label: torch.Tensor, w_pos: torch.Tensor, w_neg: torch.Tensor
) -> torch.Tensor:
    """Sum of BCE with weight w_pos on label-1 and w_neg on label-0 samples (MASKED skipped)."""
    weight = torch.where(label == 1.0, w_pos, w_neg)
    return masked_bce(logit, label, weight)


def refund_loss(out: dict[str, torch.Tensor], batch: Batch, debias: bool = False) -> torch.Tensor:
    """Refund-tower loss: plain BCE as in the official re* trainers, or FNW-weighted if `debias`."""
    logit = out["rfr_logit"]
    if not debias:
        return masked_bce(logit, batch.y_rfr)
    w_pos, w_neg = fnw_weights(detached_prob(logit))
    return weighted_by_label(logit, batch.y_rfr, w_pos, w_neg)
