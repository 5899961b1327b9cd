"""FNW: fake negative weighted (Ktena et al., RecSys 2019).

Ktena, Tejani, Theis, Myana, Dilipkumar, Huszár, Yoo, Shi, "Addressing
Delayed Feedback for Continuous Training with Neural Networks in CTR
Prediction", RecSys 2019 (arXiv 1907.06558).

Same stream as FNC: every click at once as a negative, a positive duplicate at
conversion time, so the observed distribution is b(y=1|x) = p/(1+p),
b(y=0|x) = 1/(1+p). Importance sampling to the true distribution gives

    w+ = p(y=1|x) / b(y=1|x) = 1 + p(x),
    w− = p(y=0|x) / b(y=0|x) = (1 − p(x)) (1 + p(x)),
    L  = −Σ [ y · w+ · log f(x) + (1 − y) · w− · log(1 − f(x)) ],

with p(x) the model's own current prediction, detached (stop-gradient), as in
the paper and in the DEFUSE authors' FNW loss (TESLA's ``ali_refnw`` trainer
takes p from the frozen pre-trained model instead). The prediction is f itself.

Delivery policy: identical to FNC (kinds ``click_neg`` / ``pos`` /
``refund``): every streaming click at click time with ``y_cvr = 0``; paid clicks
again at pay time with ``y_cvr = 1`` and ``y_rfr`` = refund already happened;
a refund duplicate at refund time when the refund comes after the pay.

Refund tower: plain BCE, as in the official TESLA ``ali_refnw_stream_train.py``
(:class:`AliReFnwStreamTrainer.refund_loss_fn`). With ``refund_debias=True`` the
refund stage, which has exactly FNW's structure (every conversion first as a
refund-negative, then a refund duplicate), gets the same weights with
p = r̂ = the detached RFR prediction.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from shopml.conversion import option_checks as check
from shopml.conversion._delivery import (
    click_then_pay,
    detached_prob,
    fnw_weights,
    refund_loss,
    weighted_by_label,
)
from shopml.conversion.base import Batch, StreamMethod, register_method
from shopml.conversion.stream import Delivery, StreamSplit
from shopml.conversion.timeline import Timeline, Windows


@register_method("fnw")
class FNW(StreamMethod):
    """Fake negatives + positive duplicates, importance-weighted BCE."""

    paper: ClassVar[str] = "Ktena et al., RecSys 2019 (arXiv 1907.06558): FNW"
    option_checks: ClassVar[dict[str, check.OptionCheck]] = {"refund_debias": check.flag}

    def deliver(self, timeline: Timeline, windows: Windows, split: StreamSplit) -> Delivery:
        """Every click at click time as a negative; positive duplicate at pay; refund duplicate."""
        return click_then_pay(timeline, split)

    def loss(
        self, model: torch.nn.Module, out: dict[str, torch.Tensor], batch: Batch
    ) -> torch.Tensor:
        """FNW-weighted CVR BCE (w+ = 1 + p̂, w− = (1 − p̂)(1 + p̂)) + refund loss."""
        logit = out["cvr_logit"]
        w_pos, w_neg = fnw_weights(detached_prob(logit))
        cvr = weighted_by_label(logit, batch.y_cvr, w_pos, w_neg)
        return cvr + refund_loss(out, batch, bool(self.options.get("refund_debias", False)))
