"""Delay models: p(delay > w | converted, x) for the importance weights.

ES-DFM (Yang et al., AAAI 2021, "Capturing Delayed Feedback in Conversion
Rate Prediction via Elapsed-Time Sampling") and TESLA (arXiv 2601.19965,
eq. 1–4) weight samples by the probability that a true conversion (refund)
arrives after the observation window. As in both papers, the delay model is
trained once on the pre-training part, where delays are fully observed, and
then frozen.

Model: a discrete-time delay distribution. Delays are bucketed into ``K``
log-spaced bins over (0, horizon]; a small embedding + MLP network predicts a
softmax over the bins given x; ``survival(x, w) = P(h > w | x)`` sums the
mass of the bins above w, linear inside the bin that contains w.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from shopml.nn import MLP, FieldEmbedding


def delay_bins(horizon_s: float, n_bins: int = 32, first_s: float = 60.0) -> np.ndarray:
    """Bin edges: 0, then log-spaced from `first_s` to `horizon_s` (n_bins bins in all)."""
    if horizon_s <= first_s:
        raise ValueError(f"horizon {horizon_s} must exceed the first bin edge {first_s}")
    return np.concatenate([[0.0], np.geomspace(first_s, horizon_s, n_bins)])


class DelayNet(nn.Module):
    """Embeddings + MLP → logits over delay bins."""

    def __init__(
        self,
        cardinalities: Sequence[int],
        n_bins: int,
        embed_dim: int = 8,
        hidden: Sequence[int] = (64,),
    ) -> None:
        super().__init__()
        self.emb = FieldEmbedding(cardinalities, embed_dim)
        self.mlp = MLP(self.emb.out_dim, hidden, n_bins)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, F] -> bin logits [B, n_bins]."""
        return self.mlp(self.emb(x).flatten(1))


class DelayModel:
    """p(h > w | converted, x), fitted on fully observed delays of the pre-training part."""

    def __init__(
        self, cardinalities: Sequence[int], horizon_s: float, n_bins: int = 32, seed: int = 0
    ) -> None:
        self.edges = delay_bins(horizon_s, n_bins)
        self.n_bins = len(self.edges) - 1
        torch.manual_seed(seed)
        self.net = DelayNet(cardinalities, self.n_bins)

    def fit(
        self,
        x: np.ndarray,
        delay_s: np.ndarray,
        epochs: int = 2,
        batch_size: int = 2048,
        lr: float = 3e-3,
        seed: int = 0,
    ) -> DelayModel:
        """Fit on converted samples: x [n, F] codes, delay_s [n] observed delays (all ≤ horizon)."""
        if len(x) != len(delay_s):
            raise ValueError("x and delay_s differ in length")
        if len(x) == 0:
            raise ValueError("no converted samples to fit the delay model on")
        if np.isnan(delay_s).any() or (delay_s < 0).any():
            raise ValueError("delays must be finite and non-negative")
        target = np.clip(np.searchsorted(self.edges, delay_s, side="right") - 1, 0, self.n_bins - 1)
        xt = torch.as_tensor(x, dtype=torch.long)
        yt = torch.as_tensor(target, dtype=torch.long)
        gen = torch.Generator().manual_seed(seed)
        opt = torch.optim.Adam(self.net.parameters(), lr=lr)
        self.net.train()
        for _ in range(epochs):
            perm = torch.randperm(len(xt), generator=gen)
            for start in range(0, len(xt), batch_size):
                idx = perm[start : start + batch_size]
                if len(idx) < 2:
                    continue
                loss = F.cross_entropy(self.net(xt[idx]), yt[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        self.net.eval()
        return self

    @torch.no_grad()
    def bin_probs(self, x: np.ndarray, batch_size: int = 65536) -> np.ndarray:
        """Predicted probability of each delay bin, [n, n_bins]."""
        self.net.eval()
        out = [
            torch.softmax(
                self.net(torch.as_tensor(x[s : s + batch_size], dtype=torch.long)), dim=1
            ).numpy()
            for s in range(0, len(x), batch_size)
        ]
        return np.concatenate(out) if out else np.zeros((0, self.n_bins))

    def survival(self, x: np.ndarray, w: float | np.ndarray) -> np.ndarray:
        """P(h > w | converted, x) for a window w (scalar or per-row array of seconds)."""
        probs = self.bin_probs(x)
        return survival_from_bins(probs, self.edges, w)


def survival_from_bins(probs: np.ndarray, edges: np.ndarray, w: float | np.ndarray) -> np.ndarray:
    """P(h > w) from bin probabilities: mass above w's bin plus the linear share of its own bin."""
    n, k = probs.shape
    w_arr = np.broadcast_to(np.asarray(w, dtype=np.float64), (n,))
    tail = np.concatenate(
        [np.cumsum(probs[:, ::-1], axis=1)[:, ::-1], np.zeros((n, 1))], axis=1
    )  # tail[:, j] = P(bin >= j)
    j = np.clip(np.searchsorted(edges, w_arr, side="right") - 1, 0, k)
    inside = j < k
    lo = edges[np.minimum(j, k - 1)]
    hi = edges[np.minimum(j, k - 1) + 1]
    frac = np.where(inside, np.clip((w_arr - lo) / (hi - lo), 0.0, 1.0), 0.0)
    rows = np.arange(n)
    own = np.where(inside, probs[rows, np.minimum(j, k - 1)], 0.0)
    above = tail[rows, np.minimum(j + 1, k)]
    return np.where(w_arr <= 0, 1.0, above + own * (1.0 - frac))
