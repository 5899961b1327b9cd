"""TARNet: a shared representation with one outcome head per arm.

Shalit, Johansson & Sontag, "Estimating individual treatment effect: generalization bounds and
algorithms", ICML 2017 (arXiv:1606.03976), the TARNet architecture (CFR without the IPM
penalty): Φ = MLP(x), ŷ_a = h_a(Φ(x)) for a = 0..K, trained on each row's factual head only
(log loss for binary outcomes, squared error otherwise); τ_a(x) = ŷ_a − ŷ_0. The paper has
two heads (treated / control); with K arms it has K + 1. Randomised marketing tests need no
balancing penalty, so it is left out (the ``alpha = 0`` case of CFR).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from shopml.uplift.base import register_method
from shopml.uplift.nets import NeuralUpliftEstimator, mlp


@register_method("tarnet")
class TARNet(NeuralUpliftEstimator):
    """TARNet: shared MLP body, one head per arm (control included)."""

    def __init__(
        self,
        hidden: int = 64,
        head_hidden: int = 32,
        epochs: int = 20,
        batch_size: int = 512,
        learning_rate: float = 2e-3,
        weight_decay: float = 1e-5,
        validation_fraction: float = 0.1,
        patience: int = 2,
        weight_average: bool = False,
        random_state: int | np.random.RandomState | None = 0,
        verbose: bool = False,
    ):
        self.hidden = hidden
        self.head_hidden = head_hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.weight_average = weight_average
        self.random_state = random_state
        self.verbose = verbose

    def _build(self, n_features: int, n_arms: int, n_stages: int) -> nn.Module:
        return TARNetModule(n_features, n_arms, n_stages, int(self.hidden), int(self.head_hidden))


class TARNetModule(nn.Module):
    """Shared body Φ and one head per arm (control first): output (b, arms + 1, stages)."""

    def __init__(self, n_features: int, n_arms: int, n_stages: int, hidden: int, head_hidden: int):
        super().__init__()
        self.body = mlp([n_features, hidden, hidden])
        self.heads = nn.ModuleList([mlp([hidden, head_hidden], n_stages) for _ in range(n_arms + 1)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        phi = self.body(x)
        return torch.stack([head(phi) for head in self.heads], dim=1)
