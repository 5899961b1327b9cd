"""FNC: fake negative calibration (Ktena et al., RecSys 2019).

Ktena, Tejani, Theis, Myana, Dilipkumar, Huszár, Yoo, Shi, "Addressing
Delayed Feedback for Continuous Training with Neural Networks in CTR
Prediction", RecSys 2019 (arXiv 1907.06558).

Every click enters the stream at once as a negative and, if it converts, again
as a positive at conversion time. A converted click is then seen once with each
label, so the stream's label distribution is the *biased* one

    b(y=1 | x) = p(x) / (1 + p(x)),   b(y=0 | x) = 1 / (1 + p(x)),

the model is trained with plain BCE on it, f(x) → b(x), and the prediction is
calibrated back by inverting the relation:

    p(x) = b(x) / (1 − b(x)) = exp(logit),   clipped to ≤ 1.

Delivery policy (kinds ``click_neg`` / ``pos`` / ``refund``): every streaming
click at its click time with ``y_cvr = 0, y_rfr = MASKED``; every paid click
again at its pay time with ``y_cvr = 1`` and ``y_rfr`` = refund already
happened by then; a refund duplicate at refund time (``y_cvr = MASKED, y_rfr =
1``) when the refund comes after the pay. Only samples delivered in
[stream_start, stream_end).

Refund tower: as in the official TESLA ``ali_refnc_stream_train.py``, plain
BCE, uncalibrated. With option ``refund_debias=True`` the refund stage gets the
analogous FNC treatment: it has the same structure (every conversion first as a
refund-negative, then a refund duplicate), so the RFR prediction is calibrated
the same way, r = b_r / (1 − b_r).

Pre-training: the calibration needs a model of b, not p, from the start, so
:meth:`pretrain_loss` trains on the FNC view of the complete pre-training
labels — each positive counts once as a negative and once as a positive
(BCE(f, y) + y · BCE(f, 0)) — whose minimiser is b = p/(1+p). The trainer keys shared pre-trained states
on the pre-training loss, so FNC gets its own. (The official TESLA
``ali_refnc_stream_train.py`` trains with plain BCE and predicts sigmoid(f)
uncalibrated; we follow the paper.)
"""

from __future__ import annotations

from typing import ClassVar

import torch

from shopml.conversion import option_checks as check
from shopml.conversion._delivery import click_then_pay, refund_loss
from shopml.conversion.base import Batch, StreamMethod, masked_bce, register_method
from shopml.conversion.stream import MASKED, Delivery, StreamSplit
from shopml.conversion.timeline import Timeline, Windows


def fnc_biased_bce(logit: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """Sum of BCE(f, y) + 1[y=1]·BCE(f, 0): complete labels seen as the FNC stream sees them."""
    fake_neg = torch.where(label == 1.0, torch.zeros_like(label), torch.full_like(label, MASKED))
    return masked_bce(logit, label) + masked_bce(logit, fake_neg)


def calibrate(logit: torch.Tensor) -> torch.Tensor:
    """p = b / (1 − b) with b = sigmoid(logit), i.e. exp(logit), clipped to [0, 1]."""
    return torch.exp(logit.clamp(max=0.0))


@register_method("fnc")
class FNC(StreamMethod):
    """Fake negatives + positive duplicates, plain BCE, calibrated prediction p = b/(1-b)."""

    paper: ClassVar[str] = "Ktena et al., RecSys 2019 (arXiv 1907.06558): FNC"
    option_checks: ClassVar[dict[str, check.OptionCheck]] = {"refund_debias": check.flag}

    @property
    def refund_debias(self) -> bool:
        """Whether the refund tower is calibrated like the CVR tower."""
        return bool(self.options.get("refund_debias", False))

    def deliver(self, timeline: Timeline, windows: Windows, split: StreamSplit) -> Delivery:
        """Every click at click time as a negative; positive duplicate at pay; refund duplicate."""
        return click_then_pay(timeline, split)

    def loss(
        self, model: torch.nn.Module, out: dict[str, torch.Tensor], batch: Batch
    ) -> torch.Tensor:
        """Plain BCE on the biased stream (both towers)."""
        return masked_bce(out["cvr_logit"], batch.y_cvr) + refund_loss(out, batch)

    def pretrain_loss(
        self, model: torch.nn.Module, out: dict[str, torch.Tensor], batch: Batch
    ) -> torch.Tensor:
        """Complete labels in the FNC view (each positive also as a negative), so f learns b."""
        rfr = batch.y_rfr
        rfr_loss = (
            fnc_biased_bce(out["rfr_logit"], rfr)
            if self.refund_debias
            else masked_bce(out["rfr_logit"], rfr)
        )
        return fnc_biased_bce(out["cvr_logit"], batch.y_cvr) + rfr_loss

    def predict(self, out: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """p_cvr = b/(1−b); p_rfr likewise if refund_debias, else sigmoid; p_net = p_cvr·(1−p_rfr)."""
        p_cvr = calibrate(out["cvr_logit"])
        p_rfr = (
            calibrate(out["rfr_logit"]) if self.refund_debias else torch.sigmoid(out["rfr_logit"])
        )
        return p_cvr, p_cvr * (1.0 - p_rfr)
