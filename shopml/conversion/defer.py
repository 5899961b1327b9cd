"""DEFER: delayed feedback modeling with real negatives (Gu et al., KDD 2021).

Gu, Sheng, Fan, Zhou, Zhu, "Real Negatives Matter: Continuous Training with
Real Negatives for Delayed Feedback Modeling", KDD 2021 (arXiv 2104.14121).

Every click is delivered after the observation window W_v_obs with its observed
label, *and* every click is delivered a second time once its label is certain:
conversions (immediate and delayed) as positives, real negatives (no
conversion within the attribution window) as negatives at ``click + W_v_attr``.
Every click therefore appears exactly twice, so the feature distribution is
kept, and the label distribution becomes (p = p(y=1|x),
p_dp = p · p(h > W_v_obs | y=1, x))

    q(y=1|x) = p − p_dp / 2,   q(y=0|x) = 1 − p + p_dp / 2.

Importance weights p/q:

    w+ = p / (p − p_dp/2)             = 1 / (1 − S/2),   S = p(h > W_v_obs | y=1, x)
    w− = (1 − p) / (1 − p + p_dp/2)
    L  = −Σ [ y w+ log f + (1 − y) w− log(1 − f) ]

with p the current prediction, detached, and S = ``aux["p_pay_late"]`` from the
DelayModel fitted in :meth:`prepare` (the official DEFER/TESLA code uses a
separately pre-trained p_dp classifier instead of p̂·S).

Delivery policy (kinds ``ip`` / ``obs_neg`` / ``ip_dup`` / ``dp`` / ``rn`` /
``refund``): every streaming click at ``click_ts + W_v_obs`` with the label
observed then (``ip`` / ``obs_neg``); every click paid within the window again
at its ``pay_ts`` (``ip_dup``: the official TESLA ``add_redefer_duplicate_samples``
delivers the duplicate of every conversion at its pay time, which for an
immediate positive precedes the windowed copy); every click paid after the
window again at ``pay_ts`` (``dp``); every click that never converts again at
``click_ts + W_v_attr`` with ``y_cvr = 0`` (``rn``). Positives carry ``y_rfr`` =
refund already happened by their delivery; a refund duplicate follows at the
refund time if the refund comes after the click's *last* positive delivery.
Only samples delivered in [stream_start, stream_end).

Refund tower: plain BCE as the official ``ali_redefer_stream_train.py``;
``refund_debias=True`` applies FNW weights (the zero-refund-window limit; note an
immediate positive's two positive copies both enter the refund stage, which
this approximation ignores).
"""

from __future__ import annotations

from typing import ClassVar

import torch

from shopml.conversion._delivery import (
    REFUND_KIND,
    DelayWeighted,
    DeliveryBuilder,
    detached_prob,
    weighted_by_label,
)
from shopml.conversion.base import Batch, register_method
from shopml.conversion.stream import Delivery, StreamSplit
from shopml.conversion.timeline import Timeline, Windows

KINDS = ("ip", "obs_neg", "ip_dup", "dp", "rn", REFUND_KIND)


def defer_weights(p: torch.Tensor, late: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """DEFER weights: (w+, w−) = (1 / (1 − S/2), (1 − p) / (1 − p + p·S/2)) for detached p."""
    p_dp = p * late
    return 1.0 / (1.0 - 0.5 * late), (1.0 - p) / (1.0 - p + 0.5 * p_dp)


@register_method("defer")
class DEFER(DelayWeighted):
    """Observation window + duplicates of every click once its label is certain, weighted BCE."""

    paper: ClassVar[str] = "Gu et al., KDD 2021 (arXiv 2104.14121): DEFER"
    kinds: ClassVar[tuple[str, ...]] = KINDS

    def deliver(self, timeline: Timeline, windows: Windows, split: StreamSplit) -> Delivery:
        """Window samples, positive duplicates at pay time, real-negative duplicates at click + W_v_attr."""
        b = DeliveryBuilder(timeline, split, KINDS)
        w = windows.conversion_observation_s
        b.at_window_end(w, "ip", "obs_neg")
        b.immediate_pay_duplicates(w, "ip_dup")
        b.pay_duplicates("dp", after_window_s=w)
        b.real_negative_duplicates(windows.conversion_attribution_s, "rn")
        return b.build()

    def loss(
        self, model: torch.nn.Module, out: dict[str, torch.Tensor], batch: Batch
    ) -> torch.Tensor:
        """DEFER-weighted CVR BCE + refund loss."""
        logit = out["cvr_logit"]
        w_pos, w_neg = defer_weights(detached_prob(logit), batch.aux["p_pay_late"])
        return weighted_by_label(logit, batch.y_cvr, w_pos, w_neg) + self.refund_term(out, batch)
