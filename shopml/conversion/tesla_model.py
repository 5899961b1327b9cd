"""TESLA's CVR-RFR cascaded network (Luo et al., WWW 2026, arXiv 2601.19965, §4.2, §5.3.1).

§4.2: "TESLA includes two task-private embedding layers Emb_v, Emb_r and one
task-shared encoding module Enc_s [...] inspired by Progressive Layered
Extraction (PLE)". After encoding, shared and private information is combined
and fed into task-specific heads predicting p̂_v(x) (CVR) and p̂_r(x) (refund
rate, RFR); p̂_n(x) = p̂_v(x)·(1 − p̂_r(x)).

The three variants of §5.3.1 / Table 2 (``structure``):

- ``"hybrid"`` (TESLA's default): private embeddings ``emb_v``, ``emb_r``; a
  shared encoder of ``n_shared_experts`` experts reading both private
  embeddings (concatenated); ``n_task_experts`` private experts per task
  reading its own embedding; per-task softmax gates (reading the task's
  embedding) mix the task's private experts with the shared ones (one PLE
  extraction layer); task towers → logits.
- ``"shared"``: one embedding table and ``n_shared_experts + n_task_experts``
  shared experts whose mean feeds both towers — every lower-layer parameter is
  shared; only the towers are task-specific. No gates: a per-task gate would be a
  task-specific lower-layer parameter (that variant would be MMoE).
- ``"separate"``: private embeddings and ``n_shared_experts + n_task_experts``
  private experts per task with a private gate; no parameter is shared.

Each task sees the same number of experts in every variant, so the ablation
compares sharing, not capacity.

Deviations, and why:

- The official code (``models/ali_pretrain_esdfmRF_PLE.py``) realises "Enc_s"
  as a third, shared *embedding table* concatenated with each task's private
  embedding and fed to task-specific MLPs (no experts, no gates). We follow the
  paper's text and the PLE reference (private embeddings + shared expert
  encoder + gates) instead; the sharing pattern (task-private + task-shared
  lower parameters) is the same.
- Sizes default small for a 2-core CPU (embeddings of 8, experts one layer of
  64, towers one layer of 32) instead of the paper's {256, 256, 128} MLPs
  (App. D.5); all are configurable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import nn

from shopml.nn import MLP, FieldEmbedding

Structure = Literal["shared", "separate", "hybrid"]


class TeslaNetConfig(BaseModel):
    """Sizes and sharing pattern of the TESLA network."""

    model_config = ConfigDict(extra="forbid")
    structure: Structure = "hybrid"
    embed_dim: int = Field(default=8, gt=0)
    expert_hidden: list[int] = Field(default_factory=lambda: [64], min_length=1)
    n_shared_experts: int = Field(default=1, ge=0)
    n_task_experts: int = Field(default=1, ge=0)
    tower_hidden: list[int] = Field(default_factory=lambda: [32])

    @model_validator(mode="after")
    def _check_experts(self) -> TeslaNetConfig:
        if self.n_shared_experts + self.n_task_experts < 1:
            raise ValueError("TESLA needs at least one expert per task")
        if self.structure == "hybrid" and (self.n_shared_experts < 1 or self.n_task_experts < 1):
            raise ValueError(
                "the hybrid structure needs n_shared_experts >= 1 and n_task_experts >= 1 "
                "(use structure='shared' or 'separate' otherwise)"
            )
        return self


class _Experts(nn.Module):
    """n parallel MLP experts on one input → [B, n, width]."""

    def __init__(self, in_dim: int, hidden: Sequence[int], n: int) -> None:
        super().__init__()
        self.experts = nn.ModuleList([MLP(in_dim, hidden, out_dim=None) for _ in range(n)])
        self.width = hidden[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([e(x) for e in self.experts], dim=1)


class TeslaNet(nn.Module):
    """CVR-RFR cascaded network: x [B, F] codes → {"cvr_logit", "rfr_logit"}."""

    def __init__(self, cardinalities: Sequence[int], config: TeslaNetConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or TeslaNetConfig()
        self.structure = cfg.structure
        d = cfg.embed_dim
        n_all = cfg.n_shared_experts + cfg.n_task_experts
        width = cfg.expert_hidden[-1]
        if cfg.structure == "shared":
            self.emb = FieldEmbedding(cardinalities, d)
            self.shared = _Experts(self.emb.out_dim, cfg.expert_hidden, n_all)
        else:
            self.emb_v = FieldEmbedding(cardinalities, d)
            self.emb_r = FieldEmbedding(cardinalities, d)
            e_dim = self.emb_v.out_dim
            n_private = n_all if cfg.structure == "separate" else cfg.n_task_experts
            self.experts_v = _Experts(e_dim, cfg.expert_hidden, n_private)
            self.experts_r = _Experts(e_dim, cfg.expert_hidden, n_private)
            if cfg.structure == "hybrid":
                # Enc_s: shared experts over both private embeddings
                self.shared = _Experts(2 * e_dim, cfg.expert_hidden, cfg.n_shared_experts)
            self.gate_v = nn.Linear(e_dim, n_all) if n_all > 1 else None
            self.gate_r = nn.Linear(e_dim, n_all) if n_all > 1 else None
        self.tower_v = MLP(width, cfg.tower_hidden, 1)
        self.tower_r = MLP(width, cfg.tower_hidden, 1)

    @staticmethod
    def _mix(experts: torch.Tensor, gate: nn.Linear | None, gate_in: torch.Tensor) -> torch.Tensor:
        """Gate-weighted sum of experts [B, n, w] → [B, w]."""
        if gate is None:
            return experts[:, 0]
        weights = torch.softmax(gate(gate_in), dim=1)
        return torch.einsum("bn,bnw->bw", weights, experts)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x [B, F] → (CVR representation, RFR representation), each [B, width]."""
        if self.structure == "shared":
            h = self.shared(self.emb(x).flatten(1)).mean(dim=1)
            return h, h
        e_v = self.emb_v(x).flatten(1)
        e_r = self.emb_r(x).flatten(1)
        ex_v = self.experts_v(e_v)
        ex_r = self.experts_r(e_r)
        if self.structure == "hybrid":
            shared = self.shared(torch.cat([e_v, e_r], dim=1))
            ex_v = torch.cat([ex_v, shared], dim=1)
            ex_r = torch.cat([ex_r, shared], dim=1)
        return self._mix(ex_v, self.gate_v, e_v), self._mix(ex_r, self.gate_r, e_r)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """x [B, F] int64 codes → {"cvr_logit": [B], "rfr_logit": [B]}."""
        h_v, h_r = self.encode(x)
        return {"cvr_logit": self.tower_v(h_v)[:, 0], "rfr_logit": self.tower_r(h_r)[:, 0]}
