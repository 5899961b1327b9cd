"""DEFUSE: delayed feedback modeling with unbiased estimation (Chen et al., WWW 2022).

Chen, Jin, Zhao, Wang, Liu, Xu, Zheng, "Asymptotically Unbiased Estimation for
Delayed Feedback Modeling via Label Correction", WWW 2022 (arXiv 2202.06472).

Same stream as ES-DFM (observation window W_v_obs, delayed positives
duplicated at pay time), but the observed negatives are split, through a latent
variable, into fake negatives (FN: will convert later) and real negatives (RN),
giving four sample types — immediate positives IP, FN, RN, delayed positives
DP — each with its own importance weight. With p = p(y=1|x) and
p_dp = p · p(h > W_v_obs | y=1, x):

    z(x) = p(FN | observed negative, x) = p_dp / (1 − p + p_dp)
    L = Σ_IP      w_IP · ℓ(1, f)
      + Σ_obs neg [ z · w_FN · ℓ(1, f) + (1 − z) · w_RN · ℓ(0, f) ]
      + Σ_DP      w_DP · ℓ(1, f)
    w_IP = w_RN = 1 + p_dp,   w_FN = p_dp,   w_DP = 1.

(Check: with the stream's normaliser 1 + p_dp, E_q[L] = E_p[ℓ]: the ℓ(1) mass
is p_ip(1 + p_dp) + p_dp·p_dp + p_dp = p(1 + p_dp).) p is the current
prediction, detached; p(h > W_v_obs | y=1, x) = ``aux["p_pay_late"]`` from the
DelayModel fitted in :meth:`prepare`. The paper obtains z from a separately
trained classifier (z = 1 − p(RN | obs neg)); its official code also computes
the Bayes form p_dp / (p_dp + 1 − p) used here, which needs no extra head.

Delivery policy: identical to ES-DFM (kinds ``ip`` / ``obs_neg`` / ``dp`` /
``refund``; see :mod:`shopml.conversion.esdfm`).

Deviation from the official code: the DEFUSE authors' ``unbiased_defuse_loss``
(and TESLA's ``ali_redefuse_stream_train.py`` copy of it) applies *both* the
IP and the DP term to every observed positive (``z * (loss1 + loss4)``); we
apply w_IP to the window positives and w_DP to the duplicates, as the paper's
four-type estimator (and its unbiasedness) requires.

Refund tower: plain BCE as in the official ``re*`` trainer;
``refund_debias=True`` applies FNW weights (the zero-refund-window limit).
"""

from __future__ import annotations

from typing import ClassVar

import torch

from shopml.conversion._delivery import (
    WINDOW_KINDS,
    DelayWeighted,
    bce,
    detached_prob,
    window_then_late_pay,
)
from shopml.conversion.base import Batch, register_method
from shopml.conversion.stream import Delivery, StreamSplit
from shopml.conversion.timeline import Timeline, Windows


def defuse_cvr_loss(
    logit: torch.Tensor, kind: torch.Tensor, late: torch.Tensor, kinds: tuple[str, ...]
) -> torch.Tensor:
    """Sum of the DEFUSE four-type loss over IP / observed-negative / DP samples."""
    p = detached_prob(logit)
    p_dp = p * late
    z = p_dp / (1.0 - p + p_dp)
    pos, neg = bce(logit, 1.0), bce(logit, 0.0)
    ip = (kind == kinds.index("ip")).to(logit.dtype)
    on = (kind == kinds.index("obs_neg")).to(logit.dtype)
    dp = (kind == kinds.index("dp")).to(logit.dtype)
    per = (
        ip * (1.0 + p_dp) * pos + on * (z * p_dp * pos + (1.0 - z) * (1.0 + p_dp) * neg) + dp * pos
    )
    return per.sum()


@register_method("defuse")
class DEFUSE(DelayWeighted):
    """ES-DFM stream with label correction of observed negatives (IP/FN/RN/DP weights)."""

    paper: ClassVar[str] = "Chen et al., WWW 2022 (arXiv 2202.06472): DEFUSE"
    kinds: ClassVar[tuple[str, ...]] = WINDOW_KINDS

    def deliver(self, timeline: Timeline, windows: Windows, split: StreamSplit) -> Delivery:
        """Clicks at click + W_v_obs as observed; late conversions duplicated at pay time."""
        return window_then_late_pay(timeline, windows, split)

    def loss(
        self, model: torch.nn.Module, out: dict[str, torch.Tensor], batch: Batch
    ) -> torch.Tensor:
        """DEFUSE CVR loss + refund loss."""
        cvr = defuse_cvr_loss(out["cvr_logit"], batch.kind, batch.aux["p_pay_late"], self.kinds)
        return cvr + self.refund_term(out, batch)
