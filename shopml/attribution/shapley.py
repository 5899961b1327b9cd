"""Shapley-value attribution over channels from coalition conversion rates.

Shao & Li, "Data-driven multi-touch attribution models", KDD 2011; Dalessandro, Perlich,
Stitelman & Provost, "Causally motivated attribution for online advertising", ADKDD 2012;
simplified and ordered variants: Zhao, Mahboobi & Bagheri, "Shapley value methods for
attribution modeling in online advertising", arXiv:1804.05327, 2018.

Players are the channels. A coalition S is the *set* of channels a journey touched; its
value is the observed conversion rate of the journeys whose channel set is exactly S,

    v(S) = conversions(S) / journeys(S),   v(∅) = 0,   v(S) = 0 if no journey has set S,

and the exact Shapley value of channel j in the game restricted to S (j ∈ S) is

    φ_j(S) = Σ_{T ⊆ S∖{j}} |T|! (|S| − |T| − 1)! / |S|! · [v(T ∪ {j}) − v(T)].

We compute φ(S) for *every* coalition at once (a 2^C × 2^C subset-weight matrix per
channel, C ≤ 10), then split each converted journey's conversion over its channels in
proportion to φ_j(S) of its own set S (negative values clipped to 0; an all-≤0 row falls back
to an equal split). Channel credit = the sum over converted journeys. ``extras`` also holds
the Shapley values of the full game (all channels), φ_j(C), as in Shao & Li.

Variants (documented in docs/marketing.md):

* **simplified Shapley** (Zhao et al., Eq. 8): with the cumulative value
  v(S) = Σ_{T ⊆ S} R(T) (R(T) = conversions of journeys whose set is exactly T) the Shapley
  value reduces to φ_j = Σ_{S ∋ j} R(S) / |S| — each conversion split equally over the
  distinct channels of its journey. :func:`simplified_shapley` computes it; the test checks
  it against the exact formula on that value function.
* **ordered Shapley** (Zhao et al., Sec. 4) gives separate credit to a channel's 1st, 2nd, …
  touch position in the journey; not implemented here (channel-level credit is what the
  benchmark scores).
"""

from __future__ import annotations

from math import factorial

import numpy as np

from shopml.attribution.base import Attribution, from_journey_credit, register_method
from shopml.attribution.journeys import Journeys

MAX_CHANNELS = 10


def popcount(masks: np.ndarray) -> np.ndarray:
    """Number of set bits of each integer mask."""
    masks = np.asarray(masks, dtype=np.int64)
    count = np.zeros_like(masks)
    for bit in range(63):
        count += (masks >> bit) & 1
        if not (masks >> (bit + 1)).any():
            break
    return count


def subgame_shapley(values: np.ndarray, n_players: int) -> np.ndarray:
    """Exact Shapley values of every restricted game: ``values`` has one entry per coalition
    mask (length 2^k, values[0] = v(∅)); returns phi[S, j] = φ_j of the game on S (0 if j ∉ S)."""
    if n_players > MAX_CHANNELS:
        raise ValueError(
            f"shapley: {n_players} channels; exact Shapley is limited to {MAX_CHANNELS} "
            "(group rare channels together)"
        )
    n_sets = 1 << n_players
    if len(values) != n_sets:
        raise ValueError(f"shapley: expected {n_sets} coalition values, got {len(values)}")
    masks = np.arange(n_sets)
    size = popcount(masks)
    fact = np.array([factorial(i) for i in range(n_players + 1)], dtype=np.float64)
    outer, inner = np.meshgrid(masks, masks, indexing="ij")  # S, T
    is_subset = (inner & outer) == inner
    s_size, t_size = size[:, None], size[None, :]
    phi = np.zeros((n_sets, n_players))
    for j in range(n_players):
        bit = 1 << j
        in_s = (masks & bit) != 0
        ok = is_subset & in_s[:, None] & ((masks & bit) == 0)[None, :]
        weight = np.where(
            ok,
            fact[t_size] * fact[np.maximum(s_size - t_size - 1, 0)] / fact[s_size],
            0.0,
        )
        marginal = values[masks | bit] - values
        phi[:, j] = weight @ marginal
    return phi


def coalition_rates(journeys: Journeys) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per coalition mask: number of journeys, conversions, and conversion rate (0 if unseen)."""
    n_ch = len(journeys.channels)
    masks = journeys.channel_masks()
    n = np.bincount(masks, minlength=1 << n_ch).astype(np.float64)
    conv = np.bincount(masks, weights=journeys.converted.astype(np.float64), minlength=1 << n_ch)
    rate = np.divide(conv, n, out=np.zeros_like(conv), where=n > 0)
    return n, conv, rate


def simplified_shapley(journeys: Journeys) -> np.ndarray:
    """Zhao et al.'s simplified Shapley: conversions per channel, φ_j = Σ_{S∋j} R(S)/|S|."""
    n_ch = len(journeys.channels)
    _, conv, _ = coalition_rates(journeys)
    masks = np.arange(1 << n_ch)
    size = np.maximum(popcount(masks), 1)
    member = (masks[:, None] >> np.arange(n_ch)[None, :]) & 1
    return ((conv / size)[:, None] * member).sum(axis=0)


@register_method("shapley")
def shapley(journeys: Journeys, seed: int = 0) -> Attribution:
    """Per-journey exact Shapley split of each conversion, from coalition conversion rates."""
    n_ch = len(journeys.channels)
    _, _, rate = coalition_rates(journeys)
    phi = subgame_shapley(rate, n_ch)
    masks = journeys.channel_masks()[journeys.converted == 1]
    member = ((masks[:, None] >> np.arange(n_ch)[None, :]) & 1).astype(np.float64)
    pos = np.clip(phi[masks], 0.0, None) * member
    total = pos.sum(axis=1, keepdims=True)
    even = member / member.sum(axis=1, keepdims=True)
    credit = np.where(total > 0, pos / np.where(total > 0, total, 1.0), even)
    full = phi[(1 << n_ch) - 1]
    return from_journey_credit(
        "shapley",
        journeys,
        credit,
        {"full_game_shapley": dict(zip(journeys.channels, full.tolist(), strict=True))},
    )
