"""The frozen "true negative / delayed positive" classifier of ES-DFM, DEFUSE and DDFM.

ES-DFM (Yang et al., AAAI 2021, arXiv 2012.03245), DEFUSE (Chen et al., WWW 2022,
arXiv 2202.06472) and DDFM (Dai et al., CIKM 2023) weight or relabel the samples
of an observation-window stream by two probabilities of the click x:

* ``p_delayed_pos(x) = P(pay delay > W_v_obs and paid within W_v_attr | x)`` — the
  delayed-positive rate p_dp, over all clicks;
* ``p_true_neg(x) = P(never pays | not paid by W_v_obs, x)`` — the share of observed
  negatives that are real negatives.

The official code of all three (and TESLA's ``ali_*_tn_dp_pretrain.py`` +
``ali_trainer_re{esdfm,defuse,ddfm}.py``) learns them with a separately pre-trained
two-head classifier on the pre-training part, where labels are complete, and keeps it
frozen during streaming: the ``tn`` head is trained on observed negatives only (label:
real negative), the ``dp`` head on every click (label: delayed positive). This module
is that classifier: one shared embedding + MLP with two logits, fitted once, evaluated
for every click.

Why it matters: the closed forms (1 − p)/(1 − p + p·S) and p·S, with p the *online*
model's own detached prediction, are algebraically the same quantities, but they
feed the model's errors back into its labels. DDFM's soft label for an observed
negative is 1 − z1 = p·S / (1 − p + p·S) ≈ S·p when most conversions are late
(S ≈ 0.9 here): the label follows the prediction, the estimator loses almost all of
its restoring force and a small bias in S or p is amplified about 1 / (1 − S)-fold.
The frozen classifier has no such loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from shopml.conversion.stream import StreamSplit
from shopml.conversion.timeline import Timeline, Windows
from shopml.nn import MLP, FieldEmbedding


class WindowClassifierNet(nn.Module):
    """Embeddings + MLP → two logits: (true negative | observed negative, delayed positive)."""

    def __init__(self, cardinalities: Sequence[int], embed_dim: int = 8, hidden: Sequence[int] = (64,)):
        super().__init__()
        self.emb = FieldEmbedding(cardinalities, embed_dim)
        self.mlp = MLP(self.emb.out_dim, hidden, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, F] -> logits [B, 2] (column 0: tn, column 1: dp)."""
        return self.mlp(self.emb(x).flatten(1))


def window_labels(
    timeline: Timeline, windows: Windows, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(tn, tn_mask, dp) for `rows`: real negative among observed negatives; delayed positive."""
    paid = timeline.paid[rows]
    late = paid & (timeline.pay_delay[rows] > windows.conversion_observation_s)
    observed_negative = ~paid | late
    return (~paid).astype(np.float32), observed_negative.astype(np.float32), late.astype(np.float32)


def window_classifier_loss(
    logits: torch.Tensor, tn: torch.Tensor, tn_mask: torch.Tensor, dp: torch.Tensor
) -> torch.Tensor:
    """Official tn/dp pre-training loss: masked mean BCE of the tn head + mean BCE of the dp head."""
    tn_bce = F.binary_cross_entropy_with_logits(logits[:, 0], tn, reduction="none")
    tn_loss = (tn_bce * tn_mask).sum() / tn_mask.sum().clamp_min(1e-6)
    dp_loss = F.binary_cross_entropy_with_logits(logits[:, 1], dp)
    return tn_loss + dp_loss


def fit_window_classifier(
    features: np.ndarray,
    timeline: Timeline,
    windows: Windows,
    split: StreamSplit,
    options: dict[str, Any],
    chunk: int = 1 << 18,
) -> dict[str, np.ndarray]:
    """Fit on the pre-training clicks; ``p_true_neg`` and ``p_delayed_pos`` for every click."""
    rows = split.pretrain_rows(timeline.click_ts)
    if len(rows) == 0:
        raise ValueError("no pre-training clicks to fit the true-negative / delayed-positive classifier")
    tn, tn_mask, dp = window_labels(timeline, windows, rows)
    if dp.sum() == 0 or tn_mask.sum() == 0:
        raise ValueError(
            "the pre-training part has no delayed positives or no observed negatives; "
            "the true-negative / delayed-positive classifier cannot be fitted"
        )
    cards = (np.asarray(features).max(axis=0) + 1).astype(int).tolist()
    seed = int(options.get("seed", 0))
    epochs = int(options.get("classifier_epochs", 2))
    batch_size = int(options.get("classifier_batch", 2048))
    with torch.random.fork_rng():  # leave the caller's global torch RNG untouched
        torch.manual_seed(seed)
        net = WindowClassifierNet(cards)
        opt = torch.optim.Adam(net.parameters(), lr=float(options.get("classifier_lr", 3e-3)))
        x = torch.as_tensor(features[rows], dtype=torch.long)
        targets = [torch.as_tensor(a) for a in (tn, tn_mask, dp)]
        gen = torch.Generator().manual_seed(seed)
        net.train()
        for _ in range(epochs):
            perm = torch.randperm(len(x), generator=gen)
            for start in range(0, len(x), batch_size):
                idx = perm[start : start + batch_size]
                if len(idx) < 2:
                    continue
                loss = window_classifier_loss(net(x[idx]), *(t[idx] for t in targets))
                opt.zero_grad()
                loss.backward()
                opt.step()
        net.eval()
        with torch.no_grad():
            probs = [
                torch.sigmoid(net(torch.as_tensor(features[s : s + chunk], dtype=torch.long))).numpy()
                for s in range(0, len(features), chunk)
            ]
    both = np.concatenate(probs).astype(np.float32) if probs else np.zeros((0, 2), np.float32)
    return {"p_true_neg": both[:, 0], "p_delayed_pos": both[:, 1]}
