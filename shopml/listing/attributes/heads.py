"""Attribute heads on frozen image features: a shared hidden layer and one softmax per attribute.

The pretrained encoder stays frozen (linear-probe style transfer, as in the EfficientNet
paper's transfer experiments, Tan & Le, ICML 2019, arXiv:1905.11946, Sec. 5); on top sits a
small multi-task MLP: standardised features -> Linear(d, hidden) -> ReLU -> dropout -> one
Linear(hidden, K_a) per attribute a (``hidden=0``: dropout and one linear softmax layer per
attribute on the standardised features, i.e. multinomial logistic regression), trained with the sum over attributes of the softmax
cross-entropy over the items whose label for a is known. Training is seeded (weights,
dropout and batch order) and deterministic on CPU for a fixed thread count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class HeadConfig:
    """Hyper-parameters of the attribute heads."""

    hidden: int = 256
    dropout: float = 0.3
    lr: float = 5e-4
    weight_decay: float = 1e-3
    epochs: int = 60
    batch_size: int = 128
    patience: int = 10


def build_heads(input_dim: int, class_counts: dict[str, int], hidden: int, dropout: float):
    """The multi-task head module (torch)."""
    import torch
    from torch import nn

    class AttributeHeads(nn.Module):
        """Standardise -> shared hidden layer -> one linear layer per attribute."""

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("mean", torch.zeros(input_dim))
            self.register_buffer("scale", torch.ones(input_dim))
            self.hidden = nn.Linear(input_dim, hidden) if hidden > 0 else None
            self.dropout = nn.Dropout(dropout)
            width = hidden if hidden > 0 else input_dim
            self.heads = nn.ModuleDict(
                {name: nn.Linear(width, k) for name, k in class_counts.items()}
            )

        def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
            h = (x - self.mean) / self.scale
            if self.hidden is not None:
                h = torch.relu(self.hidden(h))
            h = self.dropout(h)
            return {name: head(h) for name, head in self.heads.items()}

    return AttributeHeads()


def train_heads(
    x_train: np.ndarray,
    y_train: dict[str, np.ndarray],
    x_val: np.ndarray,
    y_val: dict[str, np.ndarray],
    class_counts: dict[str, int],
    config: HeadConfig,
    seed: int,
    progress: bool = False,
):
    """Train the heads (labels -1 = unknown, ignored); keep the epoch with the lowest val loss."""
    import copy

    import torch
    from torch.nn import functional as F

    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = build_heads(x_train.shape[1], class_counts, config.hidden, config.dropout)
    mean = x_train.mean(axis=0)
    scale = x_train.std(axis=0)
    model.mean.copy_(torch.from_numpy(mean.astype(np.float32)))
    model.scale.copy_(torch.from_numpy(np.maximum(scale, 1e-6).astype(np.float32)))
    optimiser = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    xt = torch.from_numpy(np.ascontiguousarray(x_train, dtype=np.float32))
    yt = {a: torch.from_numpy(y.astype(np.int64)) for a, y in y_train.items()}
    xv = torch.from_numpy(np.ascontiguousarray(x_val, dtype=np.float32))
    yv = {a: torch.from_numpy(y.astype(np.int64)) for a, y in y_val.items()}

    def loss_of(logits: dict[str, torch.Tensor], labels: dict[str, torch.Tensor]) -> torch.Tensor:
        total = torch.zeros(())
        for name, out in logits.items():
            target = labels[name]
            known = target >= 0
            if bool(known.any()):
                total = total + F.cross_entropy(out[known], target[known])
        return total

    best_loss, best_state, best_epoch, stale = float("inf"), None, 0, 0
    history: list[float] = []
    bar = None
    if progress:
        from shopml.progress import progress_bar

        bar = progress_bar(total=config.epochs, desc="attribute heads", unit="epoch")
    for epoch in range(config.epochs):
        model.train()
        order = torch.randperm(len(xt), generator=generator)
        for start in range(0, len(order), config.batch_size):
            idx = order[start : start + config.batch_size]
            optimiser.zero_grad()
            loss = loss_of(model(xt[idx]), {a: y[idx] for a, y in yt.items()})
            loss.backward()
            optimiser.step()
        model.eval()
        with torch.no_grad():
            val_loss = float(loss_of(model(xv), yv)) if len(xv) else 0.0
        history.append(val_loss)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(val_loss=f"{val_loss:.3f}")
        if val_loss < best_loss - 1e-6:
            best_loss, best_state, best_epoch, stale = (
                val_loss,
                copy.deepcopy(model.state_dict()),
                epoch,
                0,
            )
        else:
            stale += 1
            if stale >= config.patience:
                break
    if bar is not None:
        bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return model, {"best_epoch": best_epoch + 1, "val_loss": best_loss, "val_history": history}


def predict_proba(model, x: np.ndarray) -> dict[str, np.ndarray]:
    """Softmax probabilities per attribute for (n, d) features."""
    import torch

    with torch.no_grad():
        logits = model(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)))
        return {a: torch.softmax(v, dim=1).numpy() for a, v in logits.items()}
