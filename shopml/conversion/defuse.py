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
is p_ip(1 + p_dp) + p_dp·p_dp + p_dp = p(1 + p_dp).) By default z = 1 − p(tn | observed negative, x) and p_dp come from the frozen
true-negative / delayed-positive classifier pre-trained on the pre-training part
(:mod:`shopml.conversion.window_classifier`), as the paper and the official code
(``zi = 1 - tn``) do; ``weights_from="model"`` uses the Bayes form
p_dp / (p_dp + 1 − p) in the online model's detached p̂ and
p(h > W_v_obs | y=1, x) = ``aux["p_pay_late"]`` (an ablation).

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
    logit: torch.Tensor,
    kind: torch.Tensor,
    late: torch.Tensor,
    kinds: tuple[str, ...],
    true_neg: torch.Tensor | None = None,
    delayed_pos: torch.Tensor | None = None,
) -> torch.Tensor:
    """Sum of the DEFUSE four-type loss over IP / observed-negative / DP samples.

    With ``true_neg`` / ``delayed_pos`` from the frozen classifier: z = 1 − p(tn | obs neg)
    and p_dp = p(dp | x) (official code); otherwise z and p_dp from the detached p̂ and S.
    """
    if true_neg is not None and delayed_pos is not None:
        p_dp, z = delayed_pos, 1.0 - true_neg
    else:
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
    uses_window_classifier: ClassVar[bool] = True

    def deliver(self, timeline: Timeline, windows: Windows, split: StreamSplit) -> Delivery:
        """Clicks at click + W_v_obs as observed; late conversions duplicated at pay time."""
        return window_then_late_pay(timeline, windows, split)

    def loss(
        self, model: torch.nn.Module, out: dict[str, torch.Tensor], batch: Batch
    ) -> torch.Tensor:
        """DEFUSE CVR loss + refund loss."""
        cvr = defuse_cvr_loss(
            out["cvr_logit"],
            batch.kind,
            batch.aux["p_pay_late"],
            self.kinds,
            *self.frozen_window_probs(batch),
        )
        return cvr + self.refund_term(out, batch)
