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
true-negative probability and ``z2 = 1 − p + dp``). By default z1 = p(tn | observed negative, x) and p_dp = p(dp | x) come from
the frozen true-negative / delayed-positive classifier pre-trained on the
pre-training part (:mod:`shopml.conversion.window_classifier`), and z2 uses the
online model's detached p̂, exactly as TESLA's official DDFM trainer (its
``tn``/``dp`` heads; ``z2 = 1 - p_no_grad + dp_prob``; the real negative's positive
weight is ``|1 - z2|``, which keeps the loss bounded when the frozen p_dp exceeds p̂). ``weights_from="model"``
computes z1 from p̂ and p(h > W_v_obs | y=1, x) = ``aux["p_pay_late"]`` instead:
with S ≈ 0.9 (most conversions come after the 15-min window) the observed
negative's soft label p̂·S / (1 − p̂ + p̂·S) follows the prediction itself, a
feedback loop; it is kept as an ablation. The CIKM paper's text was not
available to us: the equations follow the official reproduction and the
derivation here.

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

Calibration: in the stream DDFM over-predicts (CVR PCOC ~1.3), and more so with a larger
online step. Both estimators are unbiased only once both sides of a click have arrived, but
delayed positives come at pay time (hours) and real negatives at click + 3 d, and an online
learner weights recent samples most. Delivering the positives at click + 3 d too brings PCOC
to the Oracle's at no loss of AUC (``benchmarks/netcvr_pcoc_by_day.py
--lag-delayed-positives``, docs/conversion.md). The published delivery is kept.
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
    logit: torch.Tensor,
    kind: torch.Tensor,
    late: torch.Tensor,
    kinds: tuple[str, ...],
    true_neg: torch.Tensor | None = None,
    delayed_pos: torch.Tensor | None = None,
) -> torch.Tensor:
    """Sum of the DDFM soft-label loss over IP / observed-negative / DP / RN samples.

    With ``true_neg`` / ``delayed_pos`` from the frozen classifier: z1 = p(tn | obs neg),
    z2 = 1 − p̂ + p(dp | x) (official code); otherwise both from the detached p̂ and S.
    """
    p = detached_prob(logit)
    if true_neg is not None and delayed_pos is not None:
        z1 = true_neg
        z2 = 1.0 - p + delayed_pos
    else:
        p_dp = p * late
        z1 = (1.0 - p) / (1.0 - p + p_dp)
        z2 = 1.0 - p + p_dp
    pos, neg = bce(logit, 1.0), bce(logit, 0.0)

    def is_(name: str) -> torch.Tensor:
        return (kind == kinds.index(name)).to(logit.dtype)

    # |1 − z2| as the official trainer (``torch.abs(1-z2)``): with the frozen p(dp | x) above
    # the online p̂, 1 − z2 = p̂ − p_dp is negative, and a negative weight on ℓ(1) makes the
    # loss unbounded below (the first 2M-click run without it collapsed to AUC 0.69)
    per = (
        (is_("ip") + is_("dp")) * pos
        + is_("obs_neg") * (z1 * neg + (1.0 - z1) * pos)
        + is_("rn") * (z2 * neg + (1.0 - z2).abs() * pos)
    )
    return per.sum()


@register_method("ddfm")
class DDFM(DelayWeighted):
    """Separate unbiased soft-label estimators for windowed and duplicated samples."""

    paper: ClassVar[str] = "Dai et al., CIKM 2023: DDFM"
    kinds: ClassVar[tuple[str, ...]] = KINDS
    uses_window_classifier: ClassVar[bool] = True

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
        cvr = ddfm_cvr_loss(
            out["cvr_logit"],
            batch.kind,
            batch.aux["p_pay_late"],
            self.kinds,
            *self.frozen_window_probs(batch),
        )
        return cvr + self.refund_term(out, batch)
