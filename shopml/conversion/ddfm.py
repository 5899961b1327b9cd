"""DDFM: dually enhanced delayed feedback model (Dai et al., CIKM 2023).

Dai, Zhang, Wu, Zhang, Liu, Xu, Zhou, Chen, "Dually Enhanced Delayed Feedback
Modeling for Streaming Conversion Rate Prediction", CIKM 2023.

DDFM keeps the *newly observed* samples (delivered after the observation
window W_v_obs) and the *duplicated early* samples (delivered once the label is
certain) apart, with one unbiased estimator for each that shares the same
form, addition-only soft labels, so no importance ratio can blow up. With p =
p(y=1|x) and p_dp = p · p(h > W_v_obs | y=1, x):

newly observed (d = 0): an observed positive is certain; an observed negative
is a real negative with probability z1 = (1 − p) / (1 − p + p_dp):

    ℓ_IP = ℓ(1, f),      ℓ_obsneg = z1 · ℓ(0, f) + (1 − z1) · ℓ(1, f)

duplicated (d = 1): delayed positives at pay time, real negatives at the end
of the attribution window, with z2 = 1 − p + p_dp:

    ℓ_DP = ℓ(1, f),      ℓ_RN = z2 · ℓ(0, f) + (1 − z2) · ℓ(1, f)

Both are unbiased: on newly observed data E[ℓ] = p ℓ(1) + (1 − p) ℓ(0)
exactly; on duplicated data (mass p_dp + (1 − p) = z2 per click) E[ℓ] =
z2 · (p ℓ(1) + (1 − p) ℓ(0)), whose per-x minimiser is p too
(1 − z2 = p − p_dp ≥ 0). This is the loss of the official TESLA
``ali_reddfm_stream_train.py`` (``cvr_loss_fn``: loss1–loss4 with ``z1`` the
true-negative probability and ``z2 = 1 − p + dp``). p is the current
prediction, detached; p(h > W_v_obs | y=1, x) = ``aux["p_pay_late"]`` from the
DelayModel fitted in :meth:`prepare` (DDFM estimates its latent variables with
a shared-bottom network, TESLA's code with a pre-trained two-head classifier;
we use the same quantities through p̂ and the delay model). The CIKM paper's
text was not available to us: the equations follow the official
reproduction above and the derivation here.

Delivery policy (kinds ``ip`` / ``obs_neg`` / ``dp`` / ``rn`` / ``refund``,
as TESLA's ``add_reddfm_duplicate_samples``): every streaming click at
``click_ts + W_v_obs`` with the label observed then (``ip`` / ``obs_neg``);
clicks paid after the window again at ``pay_ts`` (``dp``); clicks that never
convert again at ``click_ts + W_v_attr`` (``rn``); immediate positives are not
duplicated. Positives carry ``y_rfr`` = refund already happened by then; a
refund duplicate at refund time for later refunds. Only samples delivered in
[stream_start, stream_end).

Refund tower: plain BCE as the official ``re*`` trainer;
``refund_debias=True`` applies FNW weights (the zero-refund-window limit).
"""

from __future__ import annotations

from typing import ClassVar

import torch

from shopml.conversion._delivery import (
    REFUND_KIND,
    DelayWeighted,
    DeliveryBuilder,
    bce,
    detached_prob,
)
from shopml.conversion.base import Batch, register_method
from shopml.conversion.stream import Delivery, StreamSplit
from shopml.conversion.timeline import Timeline, Windows

KINDS = ("ip", "obs_neg", "dp", "rn", REFUND_KIND)


def ddfm_cvr_loss(
    logit: torch.Tensor, kind: torch.Tensor, late: torch.Tensor, kinds: tuple[str, ...]
) -> torch.Tensor:
    """Sum of the DDFM soft-label loss over IP / observed-negative / DP / RN samples."""
    p = detached_prob(logit)
    p_dp = p * late
    z1 = (1.0 - p) / (1.0 - p + p_dp)
    z2 = 1.0 - p + p_dp
    pos, neg = bce(logit, 1.0), bce(logit, 0.0)

    def is_(name: str) -> torch.Tensor:
        return (kind == kinds.index(name)).to(logit.dtype)

    per = (
        (is_("ip") + is_("dp")) * pos
        + is_("obs_neg") * (z1 * neg + (1.0 - z1) * pos)
        + is_("rn") * (z2 * neg + (1.0 - z2) * pos)
    )
    return per.sum()


@register_method("ddfm")
class DDFM(DelayWeighted):
    """Separate unbiased soft-label estimators for windowed and duplicated samples."""

    paper: ClassVar[str] = "Dai et al., CIKM 2023: DDFM"
    kinds: ClassVar[tuple[str, ...]] = KINDS

    def deliver(self, timeline: Timeline, windows: Windows, split: StreamSplit) -> Delivery:
        """Window samples; delayed positives at pay time; real negatives at click + W_v_attr."""
        b = DeliveryBuilder(timeline, split, KINDS)
        w = windows.conversion_observation_s
        b.at_window_end(w, "ip", "obs_neg")
        b.pay_duplicates("dp", after_window_s=w)
        b.real_negative_duplicates(windows.conversion_attribution_s, "rn")
        return b.build()

    def loss(
        self, model: torch.nn.Module, out: dict[str, torch.Tensor], batch: Batch
    ) -> torch.Tensor:
        """DDFM CVR loss + refund loss."""
        cvr = ddfm_cvr_loss(out["cvr_logit"], batch.kind, batch.aux["p_pay_late"], self.kinds)
        return cvr + self.refund_term(out, batch)
