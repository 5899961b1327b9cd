"""What every GMV stream method provides: the networks, the log-space loss, routing, registry.

READER (Li et al., "Delayed Feedback Modeling for Post-Click Gross Merchandise Volume
Prediction: Benchmark, Insights and Approaches", WWW 2026, arXiv 2601.20307; official code
github.com/alimama-tech/OnlineGMV). Shared by every method there and here:

* regression loss: L = |log(1 + y_hat) - log(1 + y)| (``src/trainer.py``: MAE in log1p
  space). Our networks output u = softplus(z + b) = log(1 + y_hat) directly (the official
  towers output |z| in GMV space); b is the mean log1p final GMV of the pre-training clicks,
  so training starts at the right scale;
* Single-branch model (``BaselineMLP``): one embedding + MLP regression tower;
* Dual-branch model (``SharedBottomTwoTower``): a shared bottom (embedding + first hidden
  layer) and two towers, the *single-purchase* branch y_s and the *repurchase* branch y_m;
* repurchase router (the official ``Classifier``): a separate embedding + MLP giving
  p = sigmoid(logit / T), T = 0.5, trained with BCE on the repurchase flag during
  pre-training and frozen during the stream (the official stream trainers freeze it);
  its MLP uses LayerNorm (the official Dice activation normalises with LayerNorm) so that
  a frozen router is not changed by BatchNorm statistics;
* soft routing (official test code): y_hat = y_s if p <= 0.1, y_m if p >= 0.9, else
  (1 - p) y_s + p y_m; hard routing (ablation): y_m if p >= 0.5 else y_s.

A method is a stream method of :mod:`shopml.conversion` (delivery policy + loss, run by
:func:`shopml.conversion.trainer.run_stream`) registered in this family's own registry
(``@register_gmv_method``). Before a run the benchmark binds the method to the data
(:meth:`GmvMethod.bind`): the GMV view and the pre-training label scale. Per-click complete
labels reach the losses through ``Batch.aux`` (``final_gmv``, ``repurchase``); only the
pre-training loss, the oracles and samples that carry a final label (window end) read them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from shopml.conversion.base import Batch, ModelConfig, StreamMethod
from shopml.conversion.stream import Delivery, StreamSplit
from shopml.conversion.timeline import Timeline
from shopml.nn import MLP, FieldEmbedding
from shopml.value.gmv import GmvView

ROUTER_TEMPERATURE = 0.5
SOFT_LOW, SOFT_HIGH = 0.1, 0.9


class LayerNormMLP(nn.Module):
    """Linear -> LayerNorm -> LeakyReLU blocks and a linear head (no batch statistics)."""

    def __init__(self, in_dim: int, hidden: Sequence[int], out_dim: int = 1) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.LayerNorm(h), nn.LeakyReLU()]
            width = h
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, out_dim)
        self.width = width

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden layer."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, in_dim] -> [B, out_dim]."""
        return self.head(self.body(x))


class Router(nn.Module):
    """Repurchase router: p(repurchase | x) from its own embedding + MLP (logit output)."""

    def __init__(self, cardinalities: Sequence[int], config: ModelConfig) -> None:
        super().__init__()
        self.emb = FieldEmbedding(cardinalities, config.embed_dim)
        self.mlp = LayerNormMLP(self.emb.out_dim, config.hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, F] -> router logit [B]."""
        return self.mlp(self.emb(x).flatten(1))[:, 0]


class SingleNet(nn.Module):
    """Single-branch regression: embedding + MLP -> u = log1p(y_hat)."""

    def __init__(self, cardinalities: Sequence[int], config: ModelConfig, offset: float) -> None:
        super().__init__()
        self.emb = FieldEmbedding(cardinalities, config.embed_dim)
        self.mlp = MLP(self.emb.out_dim, config.hidden, 1)
        self.register_buffer("offset", torch.tensor(float(offset)))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """x [B, F] -> {"single": u [B]}."""
        z = self.mlp(self.emb(x).flatten(1))[:, 0]
        return {"single": F.softplus(z + self.offset)}


class DualNet(nn.Module):
    """Shared bottom + single-purchase and repurchase towers, and the repurchase router."""

    def __init__(self, cardinalities: Sequence[int], config: ModelConfig, offset: float) -> None:
        super().__init__()
        if len(config.hidden) < 2:
            raise ValueError("the dual-branch model needs at least two hidden layers (bottom + tower)")
        self.emb = FieldEmbedding(cardinalities, config.embed_dim)
        self.bottom = MLP(self.emb.out_dim, config.hidden[:1], None)
        self.single = MLP(self.bottom.out_dim, config.hidden[1:], 1)
        self.multi = MLP(self.bottom.out_dim, config.hidden[1:], 1)
        self.router = Router(cardinalities, config)
        self.register_buffer("offset", torch.tensor(float(offset)))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """x [B, F] -> {"single", "multi": u = log1p(y_hat) [B], "router_logit" [B]}."""
        h = self.bottom(self.emb(x).flatten(1))
        return {
            "single": F.softplus(self.single(h)[:, 0] + self.offset),
            "multi": F.softplus(self.multi(h)[:, 0] + self.offset),
            "router_logit": self.router(x),
        }


# ---------------------------------------------------------------------------- losses
def log_l1(u: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-sample |u - log1p(y)| where u = log1p(y_hat) (the official MAE in log1p space)."""
    return torch.abs(u - torch.log1p(y))


def router_probability(logit: torch.Tensor, temperature: float = ROUTER_TEMPERATURE) -> torch.Tensor:
    """p = sigmoid(logit / T) (official: T = 0.5)."""
    return torch.sigmoid(logit / temperature)


def routing_weight(p: torch.Tensor, mode: str = "soft") -> torch.Tensor:
    """Weight of the repurchase branch: soft (0 below 0.1, 1 above 0.9, else p) or hard (p >= 0.5)."""
    if mode == "soft":
        return torch.where(p <= SOFT_LOW, torch.zeros_like(p), torch.where(p >= SOFT_HIGH, torch.ones_like(p), p))
    if mode == "hard":
        return (p >= 0.5).to(p.dtype)
    raise ValueError(f"routing must be 'soft' or 'hard', got {mode!r}")


def mixed_log1p(u_single: torch.Tensor, u_multi: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """log1p((1 - w) y_s + w y_m) for branch outputs in log1p space."""
    return torch.log1p((1.0 - w) * torch.expm1(u_single) + w * torch.expm1(u_multi))


def dual_pretrain_loss(out: dict[str, torch.Tensor], batch: Batch) -> torch.Tensor:
    """Pre-training on complete labels: each branch on its own clicks (true repurchase flag,
    official ``src/trainer.py``) + the router's BCE on the flag (official ``Classifier``)."""
    y = batch.aux["final_gmv"]
    multi = batch.aux["repurchase"] > 0.5
    branch = torch.where(multi, out["multi"], out["single"])
    router = F.binary_cross_entropy_with_logits(out["router_logit"], multi.float(), reduction="sum")
    return log_l1(branch, y).sum() + router


# -------------------------------------------------------------------------- methods
class GmvMethod(StreamMethod):
    """Base of the GMV methods: single- or dual-branch network, bound to a GMV view."""

    branches: ClassVar[str] = "single"  # "single" or "dual"

    def __init__(self, config: ModelConfig | None = None, **options: Any) -> None:
        super().__init__(config, **options)
        self.view: GmvView | None = None
        self.offset = 0.0
        #: per-run cache shared by the methods of one benchmark seed (e.g. READER's calibrator)
        self.cache: dict | None = None

    def bind(self, view: GmvView, split: StreamSplit) -> GmvMethod:
        """Attach the GMV view of the stream data; the output offset is the mean log1p final
        GMV of the pre-training clicks (complete labels, no look-ahead)."""
        self.view = view
        pre = split.pretrain_rows(view.click_ts)
        if len(pre) == 0:
            raise ValueError("no clicks in the pre-training part")
        self.offset = float(np.mean(np.log1p(view.final_gmv[pre])))
        return self

    def _view(self) -> GmvView:
        if self.view is None:
            raise RuntimeError(f"{self.name}: call bind(view, split) before running the method")
        return self.view

    def prepare(
        self, features: np.ndarray, timeline: Timeline, windows: Any, split: StreamSplit
    ) -> dict[str, np.ndarray]:
        """Per-click complete labels for the pre-training loss and final-label samples."""
        view = self._view()
        return {
            "final_gmv": view.final_gmv.astype(np.float32),
            "repurchase": view.repurchase.astype(np.float32),
        }

    def build_model(self, cardinalities: Sequence[int]) -> nn.Module:
        """SingleNet or DualNet, starting at the pre-training label scale."""
        cls = DualNet if self.branches == "dual" else SingleNet
        return cls(cardinalities, self.config, self.offset)

    def deliver(self, timeline: Timeline, windows: Any, split: StreamSplit) -> Delivery:
        """The method's training stream (subclasses)."""
        raise NotImplementedError(f"{type(self).__name__} must define its delivery policy")

    def pretrain_loss(self, model: nn.Module, out: dict[str, torch.Tensor], batch: Batch) -> torch.Tensor:
        """Complete-label pre-training (single tower, or dual branches + router)."""
        if self.branches == "dual":
            return dual_pretrain_loss(out, batch)
        return log_l1(out["single"], batch.aux["final_gmv"]).sum()

    def predict(self, out: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(GMV, router p) of the router-mixed branches, or (GMV, GMV) of the single tower."""
        if self.branches == "dual":
            p = router_probability(out["router_logit"])
            w = routing_weight(p, str(self.options.get("routing", "soft")))
            return torch.expm1(mixed_log1p(out["single"], out["multi"], w)), p
        gmv = torch.expm1(out["single"])
        return gmv, gmv


    def finalize(
        self, rows: np.ndarray, first: np.ndarray, second: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """(GMV, router p or None) of evaluated click `rows` from :meth:`predict`'s two outputs."""
        return first, second if self.branches == "dual" else None


_METHODS: dict[str, Callable[..., GmvMethod]] = {}


def register_gmv_method(name: str) -> Callable[[type[GmvMethod]], type[GmvMethod]]:
    """Register a GMV method class under `name`."""

    def wrap(cls: type[GmvMethod]) -> type[GmvMethod]:
        cls.name = name
        _METHODS[name] = cls
        return cls

    return wrap


def gmv_methods() -> dict[str, Callable[..., GmvMethod]]:
    """All registered GMV methods by name (imports the method modules)."""
    import importlib

    for module in ("single", "dual", "reader"):
        importlib.import_module(f"shopml.value.{module}")
    return dict(_METHODS)


def get_gmv_method(name: str, config: ModelConfig | None = None, **options: Any) -> GmvMethod:
    """Instantiate a registered GMV method by name."""
    registry = gmv_methods()
    if name not in registry:
        raise ValueError(f"unknown GMV method {name!r}; choose from {sorted(registry)}")
    return registry[name](config, **options)
