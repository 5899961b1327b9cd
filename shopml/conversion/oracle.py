"""Oracle: streaming clicks delivered at click time with their complete labels.

TESLA (Luo et al., WWW 2026, arXiv 2601.19965), App. D.4: "a privileged model
fine-tuned with ground-truth labels after full observation (i.e., after
W_c + W_r)", the upper bound for RI-AUC (App. D.3). It leaks future labels by
design. Cascaded plain BCE: L = BCE(y, p_cvr) + 1[y=1] · BCE(r, p_rfr).

Delivery policy (kind ``"complete"``): every streaming click exactly once, at
its click time, with ``y_cvr = paid`` (the complete conversion label) and
``y_rfr = refunded`` if paid else MASKED; no duplicates.
"""

from __future__ import annotations

from typing import ClassVar

from shopml.conversion._delivery import DeliveryBuilder
from shopml.conversion.base import StreamMethod, register_method
from shopml.conversion.stream import Delivery, StreamSplit
from shopml.conversion.timeline import Timeline, Windows

KINDS = ("complete",)


@register_method("oracle")
class Oracle(StreamMethod):
    """Ground-truth labels at click time (upper bound)."""

    paper: ClassVar[str] = "TESLA (arXiv 2601.19965), App. D.4: Oracle"

    def deliver(self, timeline: Timeline, windows: Windows, split: StreamSplit) -> Delivery:
        """Every streaming click at its click time with complete CVR and refund labels."""
        b = DeliveryBuilder(timeline, split, KINDS)
        b.add(
            b.rows, timeline.click_ts[b.rows], timeline.paid[b.rows].astype("float32"), "complete"
        )
        return b.build(complete_labels=True)
