"""ECAD: entire-space cascade delayed-feedback modelling of the effective CVR.

Zhao, Yan, Gui, Han, Sheng, Yu, Chen, Xu, Zheng: "Entire Space Cascade Delayed
Feedback Modeling for Effective Conversion Rate Prediction", CIKM 2023,
arXiv 2308.04768.

Source note. Only the paper's abstract (and TESLA's description of ECAD,
arXiv 2601.19965 §1–2: "use fully observed labels and adopt batch-based
feedback modeling, typically updating the model once per day offline") could
be read while this module was written; the method section was not reachable.
The abstract fixes the model: two tasks, CVR and conversion-&-refund rate
(CVRFR), are learned over the *entire click space* with the ESMM framework, the
effective (net) conversion rate is ECVR = CVR − CVRFR, and "auxiliary tasks"
scheduled on the conversion and refund *times* alleviate the cascade delayed
feedback (CDF). Equations (1)–(5) below follow from that; the time-window
auxiliary tasks (6)–(8) and their schedule are this module's reconstruction.
Equation numbers are this module's, not the paper's.

Model
-----
For a click x let y = 1 if it is paid within the conversion attribution window
W_v, and z = 1 if it is paid *and* refunded (within W_r after the pay). Since a
refund needs a pay, z ≤ y, and the effective label is y(1 − z) = y − z.

(1)  p_CVR(x)   = P(y = 1 | x)        = σ(f_v(x))
(2)  p_RFR(x)   = P(z = 1 | y = 1, x) = σ(f_r(x))      (latent, never fit on paid clicks only)
(3)  p_CVRFR(x) = P(y = 1, z = 1 | x) = p_CVR(x) · p_RFR(x)      (entire space, ESMM chain rule)
(4)  p_ECVR(x)  = P(y = 1, z = 0 | x) = p_CVR(x) − p_CVRFR(x) = p_CVR(x)(1 − p_RFR(x))
(5)  L_main = Σ_{clicks i} ℓ(y_i, p_CVR(x_i)) + ℓ(z_i, p_CVRFR(x_i)),  ℓ = binary cross-entropy

Both trained tasks are defined on every click, so the refund signal is learned
without the data sparsity and sample selection bias of a refund-rate tower fit
on paid clicks only.

Auxiliary time-window tasks (the conversion and refund times). For a horizon h
(seconds after the click):

    y^h = 1{t_pay − t_click ≤ h},    z^h = 1{t_refund − t_click ≤ h}

(so y^h = y for h ≥ W_v, z^h = z for h ≥ W_v + W_r, and z^h ≤ y^h). The label of
horizon h is *fully observed* h seconds after the click — long before the
cascade label z (up to W_v + W_r). With horizons H = (h_1 < … < W_v < W_v + W_r):

(6)  p^h_CVR   = σ(f_v^h(x)) for h < W_v,  p^{W_v}_CVR = p_CVR  (CVR heads stop at W_v)
(7)  p^h_CVRFR = p^{min(h, W_v)}_CVR · σ(f_r^h(x)),   σ(f_r^{W_v+W_r}) = p_RFR
     (exact chain rule: a refund by h implies a pay by h, and pays stop at W_v)
(8)  L = Σ_h λ_h Σ_{(i, h) delivered} ℓ(y_i^h, p^h_CVR(x_i)) + ℓ(z_i^h, p^h_CVRFR(x_i)),
     λ_h = 1 for the main horizons (W_v for CVR, W_v + W_r for CVRFR), λ_aux otherwise.

Each (click, horizon) label is used once, when it is fully observed. Short
horizons bring the freshest clicks into the shared embedding and towers (their
labels are exact, not fake negatives); the main horizons give eqs. (1)–(5).
``predict`` returns p_CVR (1) and clamp(p_CVR − p_CVRFR, 1e-6, 1 − 1e-6) (4).

Network: one embedding table shared by a CVR MLP (heads f_v^h, h ≤ W_v) and an
RFR MLP (heads f_r^h, all h) — ESMM's shared lookup with two towers, built from
:mod:`shopml.nn` with :class:`ModelConfig` sizes. Option ``esmm=False`` makes
the CVRFR heads direct, p^h_CVRFR = σ(f_r^h(x)), with ECVR clamped as in (4).

Protocols
---------
A delivered row carries one horizon (``kind`` = horizon index, names
``h<seconds>s``): ``y_cvr`` = y^h (MASKED if h > W_v, or if not delivered in
this row) and ``y_rfr`` = z^h — the *CVRFR* label over the whole click space,
**not** the baselines' refund-given-pay label. Labels of one horizon delivered
at the same time share a row; every (click, horizon) label is delivered once.
No ``prepare`` arrays are needed. Pre-training (``pretrain_loss``) fits every
horizon on every pre-training click, from the trainer's complete labels and
delays (its ``y_rfr`` there is refund-given-pay; z = 1{y_rfr = 1}). Both protocols use the clicks from
``pretrain_end`` on (gap included, as BDL, :mod:`shopml.conversion.bdl`) and
deliver the labels that become known during the stream: known time in
[stream_start, stream_end), delivery time < stream_end. Including the gap
clicks keeps each horizon's flow stationary from the first slice (at time t,
horizon h brings the clicks of t − h; the gap is W_v + W_r, the longest
horizon); with streaming clicks only, the main CVRFR head would get no label
before stream_start + W_v + W_r.

``ecad`` — the paper's daily batch setting. The labels of horizon h are known
(fully observed) at t_click + h; each is delivered at the first batch boundary
at or after that, ``stream_start + k · batch_s`` (k ≥ 0, ``batch_s`` = 1 day by
default), with both labels of the horizon. At a boundary the model thus trains,
once, on the labels fully observed since the previous boundary (TESLA's "fully
observed labels … once per day"), while clicks whose cascade label is still
incomplete already enter through the short horizons (ECAD's answer to CDF,
versus BDL which waits W_v + W_r for every click). Default horizons (1 d, W_v,
W_v + W_r). The trainer applies a batch in the 15-min slice that contains its
boundary.

``ecad_stream`` — adapted to the TESLA stream (App. D.2). Horizons (W_v_obs,
1 d, W_v, W_v + W_r), delivered continuously at t_click + h: the click at
t_click + W_v_obs with the labels observed then (exact labels of horizon
W_v_obs), and re-delivered with its updated labels at t_click + 1 d, at
t_click + W_v (complete CVR: a delayed pay arrives as a positive here) and at
t_click + W_v + W_r (complete CVRFR: a delayed refund arrives here). Refunds are
taken at their actual time (TESLA's refund observation window is TESLA's own).

Deviations from the paper and why
---------------------------------
- Time-window auxiliary tasks and their schedule: reconstruction (see Source
  note); horizons and λ_aux are options (``short_windows_s``, ``aux_weight``).
- Compact network (shared embedding + two small MLPs) instead of the
  production model, for a 2-core CPU.
- ``ecad_stream`` is not in the paper. A delayed pay or refund is re-delivered
  at the next horizon's maturity, not at the event time: delivering positives
  at the event time and negatives at maturity trains each head on positives of
  recent clicks against negatives of clicks h earlier, which ECAD (no
  importance weights, no calibration) cannot correct. On a simulated CASCADE
  run (100k clicks, 8 + 4 days) that variant gave NetCVR AUC 0.47 and CVR
  PCOC 8.4, versus 0.67 / 2.3 with delivery at maturity. It is kept as option
  ``redeliver_at_event=True`` (positives at max(t_event, t_click + W_v_obs),
  negatives at t_click + h).
- Batch boundaries are aligned to ``stream_start`` (not calendar midnight), as
  BDL's; labels that became known in the gap are not trained on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from shopml.conversion import option_checks as check
from shopml.conversion.base import Batch, ModelConfig, StreamMethod, register_method
from shopml.conversion.stream import MASKED, Delivery, StreamSplit
from shopml.conversion.timeline import DAY, Timeline, Windows
from shopml.data.eventlog import NO_EVENT
from shopml.nn import MLP, FieldEmbedding

P_MIN = 1e-6
_NEVER = np.iinfo(np.int64).max


class ECADOptions(BaseModel):
    """Options of the ECAD methods (pass as keyword options to the method)."""

    model_config = ConfigDict(extra="forbid")
    short_windows_s: tuple[int, ...] = Field(
        default=(DAY,), description="auxiliary horizons in (W_v_obs, W_v) (stream) or (0, W_v)"
    )
    aux_weight: float = Field(default=1.0, ge=0.0, description="λ_aux of eq. (8)")
    esmm: bool = Field(default=True, description="CVRFR = CVR · RFR (eq. 3); False: direct head")
    batch_s: int = Field(default=DAY, gt=0, description="daily batch period of `ecad`")
    redeliver_at_event: bool = Field(
        default=False,
        description="ecad_stream: positives at pay/refund time instead of at horizon maturity",
    )


class ECADNet(nn.Module):
    """Shared embedding; CVR tower with `n_cvr` horizon heads, RFR tower with `n_cvrfr`."""

    def __init__(
        self, cardinalities: Sequence[int], config: ModelConfig, n_cvr: int, n_cvrfr: int
    ) -> None:
        super().__init__()
        self.emb = FieldEmbedding(cardinalities, config.embed_dim)
        self.cvr = MLP(self.emb.out_dim, config.hidden, n_cvr)
        self.rfr = MLP(self.emb.out_dim, config.hidden, n_cvrfr)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """x [B, F] -> logits: "cvr_win" [B, n_cvr], "rfr_win" [B, n_cvrfr], main heads [B]."""
        e = self.emb(x).flatten(1)
        cvr, rfr = self.cvr(e), self.rfr(e)
        return {
            "cvr_win": cvr,
            "rfr_win": rfr,
            "cvr_logit": cvr[:, -1],
            "rfr_logit": rfr[:, -1],
        }


def _log1mexp(logp: torch.Tensor) -> torch.Tensor:
    """log(1 − exp(logp)) for logp < 0 (clamped below 0 so p = 1 stays finite)."""
    return torch.log(-torch.expm1(logp.clamp(max=-1e-7)))


def _bce_logp(logp: torch.Tensor, label: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Σ weight · BCE from log-probabilities, over samples whose label is not MASKED."""
    keep = label != MASKED
    if not bool(keep.any()):
        return logp.sum() * 0.0
    lp, y, w = logp[keep], label[keep], weight[keep]
    return -(w * (y * lp + (1.0 - y) * _log1mexp(lp))).sum()


def _event_delay(event_ts: np.ndarray, click_ts: np.ndarray) -> np.ndarray:
    """Seconds from click to event (int64), a huge value where there is no event."""
    has = event_ts != NO_EVENT
    return np.where(has, event_ts - np.where(has, click_ts, 0), _NEVER)


@register_method("ecad")
class ECAD(StreamMethod):
    """ECAD (Zhao et al., CIKM 2023) with its daily batch delivery; see the module docstring."""

    paper: ClassVar[str] = "Zhao et al., CIKM 2023, arXiv 2308.04768"
    online: ClassVar[bool] = True
    stream_timing: ClassVar[bool] = False  # True: TESLA stream timing (ecad_stream)
    option_checks: ClassVar[dict[str, check.OptionCheck]] = dict.fromkeys(
        ECADOptions.model_fields, check.checked_by_method
    )

    def __init__(self, config: ModelConfig | None = None, **options: Any) -> None:
        super().__init__(config, **options)
        self.opts = check.typed_options(ECADOptions, self.name, options)
        self.windows = Windows()  # replaced by the run's windows in prepare()/deliver()

    # -- horizons ------------------------------------------------------------
    @property
    def n_short(self) -> int:
        """Number of auxiliary horizons below W_v."""
        return len(self.opts.short_windows_s) + int(self.stream_timing)

    @property
    def n_cvr(self) -> int:
        """CVR heads: the short horizons and W_v (the main CVR head is the last)."""
        return self.n_short + 1

    @property
    def n_cvrfr(self) -> int:
        """CVRFR heads: the short horizons, W_v and W_v + W_r (the main head is the last)."""
        return self.n_short + 2

    def horizons(self, windows: Windows | None = None) -> np.ndarray:
        """All horizons in seconds, increasing: short ones, W_v, W_v + W_r."""
        w = windows or self.windows
        short = list(self.opts.short_windows_s)
        if self.stream_timing:
            if w.conversion_observation_s <= 0:
                raise ValueError("ecad_stream needs a positive conversion observation window")
            short = [w.conversion_observation_s, *short]
        h = np.array([*short, w.conversion_attribution_s, w.leakage_gap_s], dtype=np.int64)
        if h[0] <= 0 or np.any(np.diff(h) <= 0):
            raise ValueError(
                f"ECAD horizons must increase strictly and be positive: {h.tolist()} "
                "(short windows must lie between the observation and the attribution window)"
            )
        return h

    def kind_names(self, windows: Windows | None = None) -> tuple[str, ...]:
        """Delivery kind names: one per horizon."""
        return tuple(f"h{int(h)}s" for h in self.horizons(windows))

    # -- data ----------------------------------------------------------------
    def prepare(
        self, features: np.ndarray, timeline: Timeline, windows: Windows, split: StreamSplit
    ) -> dict[str, np.ndarray]:
        """No per-click arrays; records the run's windows (used by the losses)."""
        self.horizons(windows)
        self.windows = windows
        return {}

    def deliver(self, timeline: Timeline, windows: Windows, split: StreamSplit) -> Delivery:
        """One row per (click, horizon) label group, at the time the method may use it."""
        h = self.horizons(windows)
        self.windows = windows
        ts = timeline.click_ts  # clicks from pretrain_end on (gap included, see docstring)
        rows = np.flatnonzero((ts >= split.pretrain_end) & (ts < split.stream_end))
        click = timeline.click_ts[rows][:, None]
        pay_d = _event_delay(timeline.pay_ts[rows], timeline.click_ts[rows])[:, None]
        ref_d = _event_delay(timeline.refund_ts[rows], timeline.click_ts[rows])[:, None]
        y = pay_d <= h[None, :]  # [n, K] y^h
        z = ref_d <= h[None, :]  # [n, K] z^h
        known_cvr = known_rfr = click + h[None, :]  # labels of horizon h mature at click + h
        if self.stream_timing and self.opts.redeliver_at_event:
            obs = click + windows.conversion_observation_s
            known_cvr = np.where(y, np.maximum(timeline.pay_ts[rows][:, None], obs), known_cvr)
            known_rfr = np.where(z, np.maximum(timeline.refund_ts[rows][:, None], obs), known_rfr)
        if self.stream_timing:
            ts_cvr, ts_rfr = known_cvr, known_rfr
        else:  # the first batch boundary at or after the label is known
            period = self.opts.batch_s
            k = -np.floor_divide(-(known_cvr - split.stream_start), period)
            ts_cvr = ts_rfr = split.stream_start + k * period
        has_cvr = np.arange(len(h))[None, :] < self.n_cvr
        ts_cvr = np.where(has_cvr, ts_cvr, -1)
        same = ts_cvr == ts_rfr
        kind = np.broadcast_to(np.arange(len(h), dtype=np.int8)[None, :], y.shape)
        row = np.broadcast_to(rows[:, None], y.shape)
        yc = y.astype(np.float32)
        zc = z.astype(np.float32)
        parts = (  # (mask, known, ts, y_cvr, y_rfr): merged, CVR-only, CVRFR-only rows
            (same, known_rfr, ts_rfr, yc, zc),
            (has_cvr & ~same, known_cvr, ts_cvr, yc, np.full_like(zc, MASKED)),
            (~same, known_rfr, ts_rfr, np.full_like(yc, MASKED), zc),
        )
        cols: list[list[np.ndarray]] = [[], [], [], [], []]
        for mask, known, t, c, r in parts:
            # labels known during the stream only (not in the gap), used before its end
            keep = mask & (known >= split.stream_start) & (t < split.stream_end)
            for out, arr in zip(cols, (row, t, c, r, kind), strict=True):
                out.append(arr[keep])
        return Delivery(
            row=np.concatenate(cols[0]),
            ts=np.concatenate(cols[1]),
            y_cvr=np.concatenate(cols[2]),
            y_rfr=np.concatenate(cols[3]),
            kind=np.concatenate(cols[4]),
            kinds=self.kind_names(windows),
        )

    # -- model ---------------------------------------------------------------
    def build_model(self, cardinalities: Sequence[int]) -> nn.Module:
        """ECADNet: shared embedding, CVR and RFR towers with one head per horizon."""
        return ECADNet(cardinalities, self.config, self.n_cvr, self.n_cvrfr)

    def window_logprobs(
        self, out: dict[str, torch.Tensor], kind: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """log p^h_CVR (6) and log p^h_CVRFR (7) of each sample's horizon index `kind`."""
        idx = torch.arange(len(kind))
        k = kind.long()
        log_cvr = F.logsigmoid(out["cvr_win"][idx, k.clamp(max=self.n_cvr - 1)])
        rfr = out["rfr_win"][idx, k]
        log_cvrfr = log_cvr + F.logsigmoid(rfr) if self.opts.esmm else F.logsigmoid(rfr)
        return log_cvr, log_cvrfr

    def _weights(self, kind: torch.Tensor, main: int) -> torch.Tensor:
        one = torch.ones(len(kind))
        return torch.where(kind.long() == main, one, one * self.opts.aux_weight)

    def loss(self, model: nn.Module, out: dict[str, torch.Tensor], batch: Batch) -> torch.Tensor:
        """Eq. (8) summed over the batch: BCE of each row's horizon, delivered labels only."""
        log_cvr, log_cvrfr = self.window_logprobs(out, batch.kind)
        w_cvr = self._weights(batch.kind, self.n_cvr - 1)
        w_rfr = self._weights(batch.kind, self.n_cvrfr - 1)
        return _bce_logp(log_cvr, batch.y_cvr, w_cvr) + _bce_logp(log_cvrfr, batch.y_rfr, w_rfr)

    def pretrain_loss(
        self, model: nn.Module, out: dict[str, torch.Tensor], batch: Batch
    ) -> torch.Tensor:
        """Eq. (8) with every horizon's label on every click, from complete labels.

        Expects the trainer's pre-training batch: ``y_cvr`` = complete pay label,
        ``y_rfr`` = refund-given-pay (MASKED where unpaid), ``pay_delay`` /
        ``refund_delay`` complete. The CVRFR label is z = 1{y_rfr = 1} on every
        click; the short-horizon labels come from the delays.
        """
        h = torch.as_tensor(self.horizons(), dtype=torch.float64)
        n = len(batch)
        paid = batch.y_cvr == 1
        refunded = batch.y_rfr == 1
        pay_d = batch.pay_delay.double()
        ref_d = pay_d + batch.refund_delay.double()
        total = out["cvr_logit"].sum() * 0.0
        for j in range(len(h)):
            kind = torch.full((n,), j, dtype=torch.long)
            log_cvr, log_cvrfr = self.window_logprobs(out, kind)
            # main horizons use the complete labels; NaN delays compare False
            y = paid if j == self.n_cvr - 1 else paid & (pay_d <= h[j])
            z = refunded if j == len(h) - 1 else refunded & (ref_d <= h[j])
            if j < self.n_cvr:
                total = total + _bce_logp(log_cvr, y.float(), self._weights(kind, self.n_cvr - 1))
            total = total + _bce_logp(log_cvrfr, z.float(), self._weights(kind, self.n_cvrfr - 1))
        return total

    def predict(self, out: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(p_CVR, clamp(p_CVR − p_CVRFR)) from the main heads, eqs. (1), (3), (4)."""
        p_cvr = torch.sigmoid(out["cvr_logit"])
        p_rfr = torch.sigmoid(out["rfr_logit"])
        p_cvrfr = p_cvr * p_rfr if self.opts.esmm else p_rfr
        return p_cvr, (p_cvr - p_cvrfr).clamp(P_MIN, 1.0 - P_MIN)


@register_method("ecad_stream")
class ECADStream(ECAD):
    """ECAD on the TESLA stream: labels at t_click + W_v_obs, re-delivered at longer horizons."""

    stream_timing: ClassVar[bool] = True
