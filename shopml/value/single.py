"""Single-branch GMV baselines: Pre-, Offline-, Online- and Oracle-Single.

READER (Li et al., WWW 2026, arXiv 2601.20307), Sec. 5.1 "Baselines" / Table 4, and the
official code (github.com/alimama-tech/OnlineGMV: ``BaselineMLP``; ``run.sh``): one regression
tower trained with |log1p(y_hat) - log1p(y)| (see :mod:`shopml.value.base`), pre-trained on
the early span with complete labels, then:

* ``pre_single``: never updated on the stream (official ``baselinemlp`` pre-trained model);
* ``offline_single``: waits for complete labels - each click is delivered at click + 7 d with
  its final GMV (official ``baselinemlp_bdl``: trained once a day on the clicks whose window
  closed that day; here on each 3-hour slice, the same samples at a finer cadence);
* ``online_single``: one sample per purchase at its time with the GMV accumulated so far,
  so a repurchase click is re-delivered with a larger label (official
  ``baselinemlp_vanilla``, the "backfill" stream);
* ``oracle_single``: each click once at its first purchase with its *final* GMV, a label
  from the future (official ``baselinemlp_oracle``); an upper reference.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from shopml.conversion.base import Batch
from shopml.conversion.stream import Delivery, StreamSplit
from shopml.conversion.timeline import Timeline
from shopml.value.base import GmvMethod, log_l1, register_gmv_method
from shopml.value.protocol import complete_samples, purchase_samples

PAPER = "READER (arXiv 2601.20307), Table 4"


class _Single(GmvMethod):
    """Single tower; stream loss = log-space L1 on the delivered label."""

    branches: ClassVar[str] = "single"

    def loss(self, model: nn.Module, out: dict[str, torch.Tensor], batch: Batch) -> torch.Tensor:
        """Sum of |log1p(y_hat) - log1p(y_delivered)|."""
        return log_l1(out["single"], batch.y_cvr).sum()


@register_gmv_method("pre_single")
class PreSingle(_Single):
    """The pre-trained single tower, never updated."""

    online: ClassVar[bool] = False
    paper: ClassVar[str] = f"{PAPER}: Pre-Single"

    def deliver(self, timeline: Timeline, windows: Any, split: StreamSplit) -> Delivery:
        """No samples."""
        return purchase_samples(self._view().take([]), split)


@register_gmv_method("offline_single")
class OfflineSingle(_Single):
    """Complete labels only, at the end of each click's window."""

    paper: ClassVar[str] = f"{PAPER}: Offline-Single"

    def deliver(self, timeline: Timeline, windows: Any, split: StreamSplit) -> Delivery:
        """Every click at click + 7 d with its final GMV."""
        return complete_samples(self._view(), split, "window_end")


@register_gmv_method("online_single")
class OnlineSingle(_Single):
    """Incomplete labels as they arrive: one sample per purchase."""

    paper: ClassVar[str] = f"{PAPER}: Online-Single"

    def deliver(self, timeline: Timeline, windows: Any, split: StreamSplit) -> Delivery:
        """One sample per purchase with the GMV observed at that purchase."""
        return purchase_samples(self._view(), split)


@register_gmv_method("oracle_single")
class OracleSingle(_Single):
    """Final labels at the first purchase (leaks the future by design)."""

    paper: ClassVar[str] = f"{PAPER}: Oracle-Single"

    def deliver(self, timeline: Timeline, windows: Any, split: StreamSplit) -> Delivery:
        """Every click at its first purchase with its final GMV."""
        return complete_samples(self._view(), split, "first_purchase")
