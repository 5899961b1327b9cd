"""Delay-aware ranking loss (DAR) of TESLA (Luo et al., WWW 2026, arXiv 2601.19965, §4.4).

For one tower and one minibatch, with positives P (observed label 1, with
their observed delays h_i) and negatives N (observed label 0):

- eq. 7, delay-based positive weighting:
  ``w_i = w_min + α · σ((m − h_i) / s)``, ``m = median(h)``, ``s = max(std(h), 1)``
  (s is clamped from below "to prevent overconfidence due to small variance");
- eq. 8, uncertainty-based negative sampling: ``π_j ∝ (1 − p̂_j)`` over N
  (low-uncertainty negatives: the lower the prediction, the likelier a true
  negative); K negatives are drawn for each positive, with replacement;
- eq. 9 / 10: ``L_DAR = Σ_i w_i · (−1/K Σ_k log σ(o_i − o_{j_k}))`` with o the
  tower's logits.

Table 4's variants are switches: ``negatives`` = ``"low_uncertainty"`` (LN,
π ∝ 1 − p̂), ``"high_uncertainty"`` (HN, π ∝ p̂) or ``"random"`` (RN, uniform);
``positive_weighting`` on (PW) or off (w_i = 1).

Choices where the paper leaves room, settled by the official code
(``trainers/ali_trainer_esdfmRF.py``, ``DelayTime_bpr_loss_weighted_neg``):

- m is ``torch.median`` (the lower median for an even count), std the unbiased
  sample std; with fewer than two positives s = 1.
- Delays are measured in ``delay_unit_s`` seconds before eq. 7 — hours in the
  official code (``delay / 3600``), so the clamp s ≥ 1 means one hour.
- The official code uses w_min = 1, α = 1, and reduces eq. 9 as a
  *weighted mean* ``Σ w_i ℓ_i / Σ w_i``; ``reduction="sum"`` gives eq. 9 as
  printed, ``reduction="mean"`` the official normalisation.
- The temperature τ of eq. 8 cancels in its normalisation (π_j = ((1−p̂_j)/τ) /
  Σ_k ((1−p̂_k)/τ)); the official code has none, so it is omitted here.
- Sampling uses ``torch.multinomial`` with an explicit ``torch.Generator`` so
  runs are reproducible; a custom ``sampler`` can replace it (tests fix the
  negative choice this way).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
import torch.nn.functional as F

Negatives = Literal["low_uncertainty", "high_uncertainty", "random"]
Sampler = Callable[[torch.Tensor, int, int], torch.Tensor]
"""(π over negatives [n_neg], n_pos, K) → indices into the negatives [n_pos, K]."""


def delay_weights(
    delays: torch.Tensor, w_min: float = 1.0, alpha: float = 1.0, min_scale: float = 1.0
) -> torch.Tensor:
    """Eq. 7: w_i = w_min + α·σ((m − h_i)/s), m = median, s = max(std, min_scale).

    ``delays`` are the positives' observed delays (already in the unit of
    ``min_scale``); non-finite delays get the weight of a median delay.
    """
    if delays.numel() == 0:
        return delays.new_zeros(0)
    finite = torch.isfinite(delays)
    h = delays[finite]
    if h.numel() == 0:
        return torch.full_like(delays, w_min + alpha * 0.5)
    m = torch.median(h)
    std = torch.std(h) if h.numel() >= 2 else h.new_tensor(0.0)
    s = torch.clamp(std, min=min_scale)
    z = torch.where(finite, (m - delays) / s, torch.zeros_like(delays))
    return w_min + alpha * torch.sigmoid(z)


def negative_distribution(p_neg: torch.Tensor, negatives: Negatives) -> torch.Tensor:
    """Eq. 8 (LN) and Table 4's HN / RN: sampling probabilities over the negatives."""
    if negatives == "low_uncertainty":
        raw = 1.0 - p_neg
    elif negatives == "high_uncertainty":
        raw = p_neg.clone()
    elif negatives == "random":
        raw = torch.ones_like(p_neg)
    else:
        raise ValueError(
            f"negatives must be low_uncertainty, high_uncertainty or random, got {negatives!r}"
        )
    raw = raw.clamp(min=0.0)
    total = raw.sum()
    if not bool(total > 0):
        return torch.full_like(p_neg, 1.0 / max(len(p_neg), 1))
    return raw / total


def multinomial_sampler(generator: torch.Generator | None) -> Sampler:
    """K negatives per positive, i.i.d. from π, with replacement (seeded by `generator`)."""

    def sample(pi: torch.Tensor, n_pos: int, k: int) -> torch.Tensor:
        idx = torch.multinomial(pi, n_pos * k, replacement=True, generator=generator)
        return idx.view(n_pos, k)

    return sample


def dar_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    delays: torch.Tensor,
    *,
    k: int = 50,
    negatives: Negatives = "low_uncertainty",
    positive_weighting: bool = True,
    w_min: float = 1.0,
    alpha: float = 1.0,
    delay_unit_s: float = 3600.0,
    min_scale: float = 1.0,
    reduction: Literal["sum", "mean"] = "sum",
    generator: torch.Generator | None = None,
    sampler: Sampler | None = None,
    probs: torch.Tensor | None = None,
) -> torch.Tensor:
    """Delay-aware ranking loss of one tower on one batch (eq. 7–10).

    ``labels``: 1 positive, 0 negative, anything else (MASKED) ignored.
    ``delays``: per-sample observed delay in seconds (used for positives only).
    ``probs``: p̂ for the negative sampling (default ``sigmoid(logits)``, detached).
    Returns 0 (with a graph) when the batch lacks positives or negatives.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    pos = labels == 1
    neg = labels == 0
    n_pos, n_neg = int(pos.sum()), int(neg.sum())
    if n_pos == 0 or n_neg == 0:
        return logits.sum() * 0.0
    o_pos = logits[pos]
    o_neg = logits[neg]
    p_hat = (torch.sigmoid(logits) if probs is None else probs).detach()
    pi = negative_distribution(p_hat[neg], negatives)
    draw = sampler if sampler is not None else multinomial_sampler(generator)
    idx = draw(pi, n_pos, k)
    if idx.shape != (n_pos, k):
        raise ValueError(f"sampler returned shape {tuple(idx.shape)}, expected {(n_pos, k)}")
    # eq. 9: −1/K Σ_k log σ(o_i − o_jk), per positive
    per_pos = -F.logsigmoid(o_pos.unsqueeze(1) - o_neg[idx]).mean(dim=1)
    if positive_weighting:
        w = delay_weights(
            delays[pos].to(logits.dtype) / delay_unit_s, w_min, alpha, min_scale
        ).detach()
    else:
        w = torch.ones_like(per_pos)
    if reduction == "sum":
        return (w * per_pos).sum()
    if reduction == "mean":
        return (w * per_pos).sum() / w.sum()
    raise ValueError(f"reduction must be 'sum' or 'mean', got {reduction!r}")
