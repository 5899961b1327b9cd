"""Markov-chain attribution with removal effects.

Anderl, Becker, von Wangenheim & Schumann, "Mapping the customer journey: Lessons learned
from graph-based online attribution modeling", International Journal of Research in
Marketing 33(3), 2016 (the model behind the ChannelAttribution package).

Every journey is a walk ``start → c_1 → … → c_n → conversion | null``. A first-order chain
is estimated from the transition counts of all journeys (one vectorised ``bincount`` over
state pairs). With transient states T = {start, channels} and absorbing {conversion, null},
the probability of absorption in ``conversion`` from each transient state solves

    (I − Q) x = r,       Q = P[T, T],  r = P[T, conversion],

and P(conversion) = x[start]. Removing channel c redirects every transition into c to
``null`` (column c of Q set to 0); its removal effect is

    RE_c = 1 − x_{−c}[start] / x[start].

Channel credit = total conversions × RE_c / Σ_k RE_k (Anderl et al., Eq. 4). Self-loops
(c → c) do not change absorption probabilities, so repeated touches need no special case.

Per-journey credits (the paper defines only channel totals): each converted journey's
conversion is split over the distinct channels it touched in proportion to their removal
effects; their sum per channel differs from the channel table, which follows the paper.
``order`` > 1 is not implemented (first order only).
"""

from __future__ import annotations

import numpy as np

from shopml.attribution.base import Attribution, register_method
from shopml.attribution.journeys import Journeys


def transition_counts(journeys: Journeys) -> np.ndarray:
    """Counts of transitions between states 0 = start, 1..C = channels, C+1 = conversion,
    C+2 = null, from all journeys (a (C+3)×(C+3) matrix)."""
    t = journeys.touches
    n_ch = len(journeys.channels)
    n_states = n_ch + 3
    state = t["channel"].to_numpy() + 1
    pos = t["position"].to_numpy()
    last = pos == t["length"].to_numpy() - 1
    conv = journeys.converted[t["journey"].to_numpy()] == 1
    src = np.r_[np.zeros(int((pos == 0).sum()), np.int64), state[:-1][~last[:-1]], state[last]]
    dst = np.r_[state[pos == 0], state[1:][~last[:-1]], np.where(conv[last], n_ch + 1, n_ch + 2)]
    return (
        np.bincount(src * n_states + dst, minlength=n_states * n_states)
        .reshape(n_states, n_states)
        .astype(np.float64)
    )


def absorption(counts: np.ndarray, removed: int | None = None) -> float:
    """P(reaching conversion from start) of the chain estimated from ``counts``; with a
    channel state removed, transitions into it go to null."""
    n_states = counts.shape[0]
    conv_state = n_states - 2
    rows = counts.sum(axis=1, keepdims=True)
    prob = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    transient = np.arange(n_states - 2)
    q = prob[np.ix_(transient, transient)].copy()
    r = prob[transient, conv_state].copy()
    if removed is not None:
        q[:, removed] = 0.0
        r[removed] = 0.0
    x = np.linalg.solve(np.eye(len(transient)) - q, r)
    return float(x[0])


def removal_effects(journeys: Journeys) -> tuple[np.ndarray, float]:
    """Removal effect of each channel and the chain's P(conversion)."""
    counts = transition_counts(journeys)
    base = absorption(counts)
    if base <= 0:
        raise ValueError("markov: no journey converts, removal effects are undefined")
    n_ch = len(journeys.channels)
    effects = np.array([1.0 - absorption(counts, removed=c + 1) / base for c in range(n_ch)])
    return effects, base


@register_method("markov")
def markov(journeys: Journeys, seed: int = 0) -> Attribution:
    """First-order Markov chain removal-effect attribution (Anderl et al. 2016)."""
    effects, base = removal_effects(journeys)
    share = (
        effects / effects.sum() if effects.sum() > 0 else np.full(len(effects), 1 / len(effects))
    )
    conv = np.flatnonzero(journeys.converted == 1)
    value = journeys.table["value"].to_numpy()[conv]
    masks = journeys.channel_masks()[conv]
    present = (masks[:, None] >> np.arange(len(effects))[None, :]) & 1
    weight = present * np.maximum(effects, 0)[None, :]
    total = weight.sum(axis=1, keepdims=True)
    even = present / present.sum(axis=1, keepdims=True)
    credit = np.where(total > 0, weight / np.where(total > 0, total, 1.0), even)
    n_conv = len(conv)
    return Attribution(
        method="markov",
        channels=list(journeys.channels),
        journey_ids=conv,
        journey_credit=credit,
        channel_conversions=n_conv * share,
        channel_value=float(value.sum()) * share,
        extras={
            "removal_effects": dict(zip(journeys.channels, effects.tolist(), strict=True)),
            "p_conversion": base,
        },
    )
