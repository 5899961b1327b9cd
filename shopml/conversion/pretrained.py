"""Pre-trained: the model trained on the pre-training part, never updated on the stream.

TESLA (Luo et al., WWW 2026, arXiv 2601.19965), App. D.4: "the initial model
trained on the pre-training set without any online updates", the static
reference for RI-AUC (App. D.3). Cascaded CVR/RFR dual tower trained with
plain BCE on complete labels; p_net = p_cvr · (1 − p_rfr).

Delivery policy: none (``online = False``; :meth:`deliver` returns an empty
delivery).
"""

from __future__ import annotations

from typing import ClassVar

from shopml.conversion._delivery import empty_delivery
from shopml.conversion.base import StreamMethod, register_method
from shopml.conversion.stream import Delivery, StreamSplit
from shopml.conversion.timeline import Timeline, Windows


@register_method("pretrained")
class Pretrained(StreamMethod):
    """No stream updates: the pre-trained checkpoint evaluated on every slice."""

    online: ClassVar[bool] = False
    paper: ClassVar[str] = "TESLA (arXiv 2601.19965), App. D.4: Pre-trained"

    def deliver(self, timeline: Timeline, windows: Windows, split: StreamSplit) -> Delivery:
        """No samples: the pre-trained model is never updated."""
        return empty_delivery()
