"""Shared layers: one embedding table for many categorical fields, an MLP, and a
factorization-machine interaction.

The MLP follows the implementation details of TESLA (arXiv 2601.19965, App.
D.5): fully connected layers each followed by BatchNorm and LeakyReLU. The
paper uses hidden sizes {256, 256, 128}; shopml's default is smaller because
it targets a 2-core CPU (configurable per method).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class FieldEmbedding(nn.Module):
    """Embeds F categorical fields (codes in [0, cardinality_f)) into an F × dim tensor."""

    def __init__(self, cardinalities: Sequence[int], dim: int) -> None:
        super().__init__()
        if not cardinalities:
            raise ValueError("FieldEmbedding needs at least one field")
        sizes = torch.tensor([int(c) for c in cardinalities], dtype=torch.long)
        if (sizes <= 0).any():
            raise ValueError(f"cardinalities must be positive, got {list(cardinalities)}")
        offsets = torch.cat([torch.zeros(1, dtype=torch.long), sizes.cumsum(0)[:-1]])
        self.register_buffer("offsets", offsets, persistent=False)
        self.register_buffer("sizes", sizes, persistent=False)
        self.table = nn.Embedding(int(sizes.sum()), dim)
        nn.init.normal_(self.table.weight, std=0.01)
        self.n_fields = len(cardinalities)
        self.dim = dim

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        """codes [B, F] (int64) -> embeddings [B, F, dim]; codes out of range are an error."""
        if codes.dim() != 2 or codes.shape[1] != self.n_fields:
            raise ValueError(
                f"expected codes of shape [B, {self.n_fields}], got {tuple(codes.shape)}"
            )
        return self.table(codes + self.offsets)

    @property
    def out_dim(self) -> int:
        """Flattened output width (F × dim)."""
        return self.n_fields * self.dim


class MLP(nn.Module):
    """Linear → BatchNorm → LeakyReLU blocks, then an optional linear head."""

    def __init__(self, in_dim: int, hidden: Sequence[int], out_dim: int | None = 1) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.BatchNorm1d(h), nn.LeakyReLU()]
            width = h
        if out_dim is not None:
            layers.append(nn.Linear(width, out_dim))
            width = out_dim
        self.net = nn.Sequential(*layers)
        self.out_dim = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, in_dim] -> [B, out_dim]."""
        return self.net(x)


class FMInteraction(nn.Module):
    """Second-order factorization-machine term over field embeddings (Rendle, "Factorization
    Machines", ICDM 2010, eq. 1 and its O(F·k) form, lemma 3.1): for embeddings v_f of the F
    fields, sum over field pairs f < g of <v_f, v_g> = ½ Σ_d [(Σ_f v_fd)² − Σ_f v_fd²].

    Added to an MLP's logit it gives the DeepFM network (Guo et al., IJCAI 2017, arXiv
    1703.04247, eq. 1), whose FM part and MLP share one embedding table.
    """

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        """emb [B, F, dim] -> [B] sum of the pairwise inner products of the F embeddings."""
        if emb.dim() != 3:
            raise ValueError(f"expected embeddings of shape [B, F, dim], got {tuple(emb.shape)}")
        total = emb.sum(dim=1)
        return 0.5 * (total.square() - emb.square().sum(dim=1)).sum(dim=1)
