"""ES-DFM: elapsed-time sampling delayed feedback model (Yang et al., AAAI 2021).

Yang, Li, Han, Zhuang, Zhan, Zeng, Tong, "Capturing Delayed Feedback in
Conversion Rate Prediction via Elapsed-Time Sampling", AAAI 2021
(arXiv 2012.03245); derivation as restated in TESLA (arXiv 2601.19965), App. C.

Each click waits an observation window W_v_obs and is delivered with the label
observed then; a conversion after the window is inserted again as a positive
duplicate at its pay time. With h the pay delay and e = W_v_obs the elapsed
time (TESLA eq. 12–15), the duplicated stream has

    q(y=1|x) = p(x) / (1 + p_dp(x)),
    q(y=0|x) = (1 − p(x) + p_dp(x)) / (1 + p_dp(x)),
    p_dp(x)  = p(x) · p(h > e | y=1, x)         (delayed-positive probability),

and importance weighting p/q (eq. 16–19) gives

    w+ = 1 + p_dp(x)                                       (eq. 17)
    w− = (1 − p(x)) (1 + p_dp(x)) / (1 − p(x) + p_dp(x))   (eq. 18)
    L  = −Σ [ y w+ log f + (1 − y) w− log(1 − f) ]         (eq. 19)

By default (as the official ES-DFM and TESLA code) p_dp(x) and the real-negative
share (1 − p)/(1 − p + p_dp) come from the frozen true-negative / delayed-positive
classifier of :mod:`shopml.conversion.window_classifier`, pre-trained on the
pre-training part: w+ = 1 + p_dp, w− = (1 + p_dp) · p(tn | observed negative, x).
``weights_from="model"`` instead writes them in the online model's detached p̂ and
p(h > W_v_obs | y=1, x) = ``aux["p_pay_late"]`` from a frozen
:class:`~shopml.conversion.delay.DelayModel`, exactly as eq. 17/18 read; that
variant feeds the model's own errors back into its weights (see the classifier
module) and is kept as an ablation.

Delivery policy (kinds ``ip`` / ``obs_neg`` / ``dp`` / ``refund``): every
streaming click at ``click_ts + W_v_obs`` with ``y_cvr`` = paid by then
(``ip`` if 1, ``obs_neg`` if 0); a click paid after its window again at
``pay_ts`` with ``y_cvr = 1`` (``dp``); positives carry ``y_rfr`` = refund
already happened; a refund duplicate at refund time for refunds after the
positive's delivery. Only samples delivered in [stream_start, stream_end).

Refund tower: plain BCE, as the official TESLA ``ali_reesdfm_stream_train.py``
(``refund_loss_fn``: no weights). Baselines have no refund observation window,
so the analogous refund-stage correction is ES-DFM with a zero window, which
reduces to FNW's weights (p(h_r > 0) = 1); ``refund_debias=True`` applies it.

Calibration in the benchmark: ES-DFM's CVR PCOC climbs above 1 over the stream days (quick
stream, seed 1: 1.10 → 1.21) although its weighted samples are unbiased as data. The cause is
the simulated hour-of-day click-volume cycle: observed samples follow the current hour's
volume, delayed positives the volume of hours before, so the positive share the online
learner sees swings over the day; with a flat hourly volume ES-DFM's PCOC is the Oracle's
(``benchmarks/netcvr_pcoc_by_day.py --flat-volume``; docs/conversion.md).
"""

from __future__ import annotations

from typing import ClassVar

import torch

from shopml.conversion._delivery import (
    WINDOW_KINDS,
    DelayWeighted,
    detached_prob,
    weighted_by_label,
    window_then_late_pay,
)
from shopml.conversion.base import Batch, register_method
from shopml.conversion.stream import Delivery, StreamSplit
from shopml.conversion.timeline import Timeline, Windows


def esdfm_weights(p: torch.Tensor, late: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """ES-DFM eq. 17/18: (w+, w−) from detached p and late = p(h > W_obs | y=1, x)."""
    p_dp = p * late
    return 1.0 + p_dp, (1.0 - p) * (1.0 + p_dp) / (1.0 - p + p_dp)


def esdfm_classifier_weights(
    true_neg: torch.Tensor, delayed_pos: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 17/18 from the frozen classifier: w+ = 1 + p_dp, w− = (1 + p_dp) · p(tn | obs neg)."""
    return 1.0 + delayed_pos, (1.0 + delayed_pos) * true_neg


@register_method("esdfm")
class ESDFM(DelayWeighted):
    """Observation window + delayed-positive duplicates, importance-weighted BCE."""

    paper: ClassVar[str] = "Yang et al., AAAI 2021 (arXiv 2012.03245): ES-DFM"
    kinds: ClassVar[tuple[str, ...]] = WINDOW_KINDS
    uses_window_classifier: ClassVar[bool] = True

    def deliver(self, timeline: Timeline, windows: Windows, split: StreamSplit) -> Delivery:
        """Clicks at click + W_v_obs as observed; late conversions duplicated at pay time."""
        return window_then_late_pay(timeline, windows, split)

    def loss(
        self, model: torch.nn.Module, out: dict[str, torch.Tensor], batch: Batch
    ) -> torch.Tensor:
        """ES-DFM-weighted CVR BCE (eq. 17–19) + refund loss."""
        logit = out["cvr_logit"]
        true_neg, delayed_pos = self.frozen_window_probs(batch)
        if true_neg is not None:
            w_pos, w_neg = esdfm_classifier_weights(true_neg, delayed_pos)
        else:
            w_pos, w_neg = esdfm_weights(detached_prob(logit), batch.aux["p_pay_late"])
        return weighted_by_label(logit, batch.y_cvr, w_pos, w_neg) + self.refund_term(out, batch)
