"""BDL (batch deep learning): a daily batch update with complete labels.

TESLA (Luo et al., WWW 2026, arXiv 2601.19965), App. D.4: "a daily batch
model that waits for all feedback within attribution window, thus receiving
delay-free labels". Cascaded plain BCE on complete labels (no debiasing is
needed: labels are final when delivered).

Delivery policy (kind ``"complete"``): at each day boundary of the stream,
``D_k = stream_start + k · period`` (k = 0, 1, …; ``period`` = 1 day, option
``period_s``), every click with ``click_ts ≥ split.pretrain_end`` whose labels
are complete by ``D_k`` — i.e. ``click_ts + W_v_attr + W_r_attr ≤ D_k`` — and
that was not delivered at an earlier boundary, with ``y_cvr = paid`` and
``y_rfr = refunded`` if paid else MASKED. Only boundaries in
``[stream_start, stream_end)`` deliver.

Why BDL uses the gap clicks (``pretrain_end ≤ click_ts < stream_start``), unlike
the online methods: the gap only keeps labels that are unknown at the end of
pre-training out of the pre-training part. A gap click's labels are complete
at ``click_ts + W_v_attr + W_r_attr ≥ stream_start``, i.e. *during* the stream,
so a daily batch job run then would train on them without any leakage; and
without them BDL's first streaming clicks would only arrive six days into the
stream. The online methods deliver streaming clicks only (the gap's labels
would reach them with a lag that depends on the method, not the protocol).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from shopml.conversion import option_checks as check
from shopml.conversion._delivery import DeliveryBuilder
from shopml.conversion.base import StreamMethod, register_method
from shopml.conversion.stream import Delivery, StreamSplit
from shopml.conversion.timeline import DAY, Timeline, Windows

KINDS = ("complete",)


@register_method("bdl")
class BDL(StreamMethod):
    """Daily batch updates on clicks whose labels have matured (complete labels)."""

    paper: ClassVar[str] = "TESLA (arXiv 2601.19965), App. D.4: BDL"
    option_checks: ClassVar[dict[str, check.OptionCheck]] = {"period_s": check.integer(1)}

    def deliver(self, timeline: Timeline, windows: Windows, split: StreamSplit) -> Delivery:
        """Matured clicks (from pretrain_end on) at the first day boundary after their labels complete."""
        period = int(self.options.get("period_s", DAY))
        rows = np.flatnonzero(timeline.click_ts >= split.pretrain_end)
        b = DeliveryBuilder(timeline, split, KINDS, rows=rows)
        ready = timeline.click_ts[rows] + windows.leakage_gap_s - split.stream_start
        k = np.maximum(-np.floor_divide(-ready, period), 0)  # first boundary D_k ≥ ready time
        b.add(
            rows,
            split.stream_start + k * period,
            timeline.paid[rows].astype(np.float32),
            "complete",
        )
        return b.build(complete_labels=True)
