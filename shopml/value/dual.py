"""Dual-branch GMV baselines: Pre-, Offline-, Online- and Oracle-Dual.

READER (Li et al., WWW 2026, arXiv 2601.20307), Sec. 4 insight 2 ("the label distribution
of repurchase samples substantially differs from that of single-purchase samples") and
Table 4, official code github.com/alimama-tech/OnlineGMV (``SharedBottomTwoTower`` +
``Classifier``; ``src/stream_trainer.py``, ``method_src/stream_trainer_*.py``). The network
(:class:`shopml.value.base.DualNet`) has a shared bottom, a single-purchase branch y_s, a
repurchase branch y_m and a router p(repurchase | x) frozen after pre-training. Pre-training:
each branch on its own clicks by the true repurchase flag, the router by BCE on it. Predictions
route softly (y_s if p <= 0.1, y_m if p >= 0.9, else (1 - p) y_s + p y_m). Stream:

* ``pre_dual``: never updated;
* ``offline_dual``: each click at click + 7 d with its final GMV; the flag is then known, so
  each sample trains its true branch (official ``shredbottom_twotower_bdl``);
* ``online_dual``: one sample per purchase with the GMV so far; the branch weight is the
  router's p, set to 1 once a second purchase has been observed (official
  ``sharedbottom_twotower_vanilla``);
* ``oracle_dual``: each click at its first purchase with its final GMV and its true branch
  (official ``sharebottom_twotower_oracle``), routed by the true flag at test time.

Oracle-Dual follows the official evaluation (``src/stream_trainer.py::test``): each *test*
click is routed by its true repurchase flag (y_m if it repurchases within the window, else
y_s), so it uses the label's repurchase flag at prediction time as well as final training
labels; ``test_routing="router"`` (variant ``oracle_dual_router_routing``) routes it by the
router like every other dual method, isolating the effect of the complete training labels.
Losses are summed over a batch's samples (official: the mean over single-branch samples plus
the mean over repurchase-branch samples for the oracle).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from shopml.conversion import option_checks as check
from shopml.conversion.base import Batch
from shopml.conversion.stream import Delivery, StreamSplit
from shopml.conversion.timeline import Timeline
from shopml.value.base import (
    GmvMethod,
    log_l1,
    mixed_log1p,
    register_gmv_method,
    router_probability,
    routing_weight,
)
from shopml.value.protocol import complete_samples, purchase_samples

PAPER = "READER (arXiv 2601.20307), Table 4"


class _Dual(GmvMethod):
    """Dual-branch network; the default stream loss trains each sample's true branch."""

    branches: ClassVar[str] = "dual"
    option_checks: ClassVar[dict[str, check.OptionCheck]] = {"routing": check.choice("soft", "hard")}

    def loss(self, model: nn.Module, out: dict[str, torch.Tensor], batch: Batch) -> torch.Tensor:
        """|log1p(y_branch) - log1p(y)| with the branch given by the delivered purchase count."""
        multi = batch.y_rfr > 1.5
        return log_l1(torch.where(multi, out["multi"], out["single"]), batch.y_cvr).sum()


@register_gmv_method("pre_dual")
class PreDual(_Dual):
    """The pre-trained dual-branch model, never updated."""

    online: ClassVar[bool] = False
    paper: ClassVar[str] = f"{PAPER}: Pre-Dual"

    def deliver(self, timeline: Timeline, windows: Any, split: StreamSplit) -> Delivery:
        """No samples."""
        return purchase_samples(self._view().take([]), split)


@register_gmv_method("offline_dual")
class OfflineDual(_Dual):
    """Complete labels (and the true branch) at the end of each click's window."""

    paper: ClassVar[str] = f"{PAPER}: Offline-Dual"

    def deliver(self, timeline: Timeline, windows: Any, split: StreamSplit) -> Delivery:
        """Every click at click + 7 d with its final GMV and purchase count."""
        return complete_samples(self._view(), split, "window_end")


@register_gmv_method("oracle_dual")
class OracleDual(_Dual):
    """Final labels and true branches at the first purchase (leaks the future by design); at
    test time each click is routed by its true repurchase flag (official), or by the router
    with ``test_routing="router"``."""

    paper: ClassVar[str] = f"{PAPER}: Oracle-Dual"
    option_checks: ClassVar[dict[str, check.OptionCheck]] = {
        "test_routing": check.choice("truth", "router")
    }

    def deliver(self, timeline: Timeline, windows: Any, split: StreamSplit) -> Delivery:
        """Every click at its first purchase with its final GMV and purchase count."""
        return complete_samples(self._view(), split, "first_purchase")

    def _test_routing(self) -> str:
        return str(self.options.get("test_routing", "truth"))

    def predict(self, out: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Router-mixed (GMV, p), or (y_s, y_m) for routing by the true flag in :meth:`finalize`."""
        if self._test_routing() == "router":
            return super().predict(out)
        return torch.expm1(out["single"]), torch.expm1(out["multi"])

    def finalize(
        self, rows: np.ndarray, first: np.ndarray, second: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Truth routing: y_m for clicks that repurchase (in the end), y_s for the others."""
        if self._test_routing() == "router":
            return super().finalize(rows, first, second)
        return np.where(self._view().repurchase[rows], second, first), None


@register_gmv_method("online_dual")
class OnlineDual(_Dual):
    """Observed labels per purchase; branch weight = router p, or 1 after a repurchase."""

    paper: ClassVar[str] = f"{PAPER}: Online-Dual"

    def deliver(self, timeline: Timeline, windows: Any, split: StreamSplit) -> Delivery:
        """One sample per purchase with the GMV observed at that purchase."""
        return purchase_samples(self._view(), split)

    def loss(self, model: nn.Module, out: dict[str, torch.Tensor], batch: Batch) -> torch.Tensor:
        """|log1p((1 - w) y_s + w y_m) - log1p(y_observed)|, w from the frozen router."""
        p = router_probability(out["router_logit"].detach())
        p = torch.where(batch.y_rfr > 1.5, torch.ones_like(p), p)
        w = routing_weight(p, str(self.options.get("routing", "soft")))
        return log_l1(mixed_log1p(out["single"], out["multi"], w), batch.y_cvr).sum()
