"""The ``journeys`` preset: multi-channel ad journeys with known per-touchpoint credit.

Serves multi-touch attribution (MTA):

* DNAMTA — Arava et al., "Deep Neural Net with Attention for Multi-channel Multi-touch
  Attribution", 2018 (arXiv:1809.02230): sequences of channel touchpoints plus user
  context, predicting conversion, attention weights read as credit.
* Markov-chain removal effects — Anderl et al., "Mapping the customer journey: A graph-based
  framework for online attribution modeling", 2016.
* Shapley-value attribution — Shao & Li, "Data-driven multi-touch attribution models",
  KDD 2011; Dalessandro et al., "Causally motivated attribution for online advertising",
  2012.

The preset is built so that every channel's *true* credit is well defined, and so that
last-touch attribution is measurably wrong (late, frequent, weak channels such as
``direct`` and ``search`` are last far more often than they cause conversions; early
``display`` has a long-lasting real effect).

Generative model (additive, time-decayed hazard)
------------------------------------------------
User ``u`` has context ``age_bucket``, ``device``, ``region``, ``customer_segment`` and a
responsiveness ``m_u = exp(γ_segment + γ_device + 0.5 ε)``. The journey starts at
``s_u ~ U[0, 20 d]`` and lasts ``L_u ~ Gamma(2, 1.5 d)`` clipped to [0.5 d, 7 d]; conversions
are observed until ``E_u = s_u + L_u + 3 d`` (≤ 30 d).

Touchpoints. The number of touches of channel ``c`` is ``N_uc ~ Poisson(r_c ι_u)`` with
``ι_u ~ Gamma(2, 1/2) · m_u^0.3`` (mild targeting of responsive users); a user with no
touch gets one, of a channel drawn ∝ r_c. A touch of ``c`` happens at
``t = s_u + L_u · B``, ``B ~ Beta(a_c, b_c)`` (display/social early, search/direct late), and
belongs to campaign ``k ~ Categorical(0.4, 0.3, 0.2, 0.1)`` with multiplier ``κ_k``.

Conversion. Touch ``j`` (channel ``c_j``, campaign ``k_j``, time ``t_j``) adds the hazard

    λ_j(t) = β_j · exp(−(t − t_j)/τ_{c_j}) · 1[t ≥ t_j],   β_j = m_u · ρ_{c_j}(x_u) · κ_{k_j} · h_{c_j} / τ_{c_j},

where ``h_c`` is the channel's incremental effect (the hazard mass of one touch,
∫ λ_j = h_c m_u ρ κ) and ``ρ_c(x)`` a context interaction (social works better for young
users, email for returning/loyal customers). The conversion time is the first event of the
process with intensity ``λ(t) = Σ_j λ_j(t)`` on ``[s_u, E_u]``:

    P(convert_u) = 1 − exp(−Σ_j Λ_j),   Λ_j = β_j τ_{c_j} (1 − exp(−(E_u − t_j)/τ_{c_j})).

Equivalently every touch runs its own competing process and the conversion is caused by the
one that fires first, so given a conversion at ``t*`` touch ``j`` caused it with probability

    credit_j = λ_j(t*) / λ(t*),

its true (additive-hazard) credit. Simulation is exact: each touch draws its own first event
by inverting ``Λ_j``; the user's conversion is the earliest one. Touches after the
conversion are not shown (the journey ends), a ``conversion`` has
``amount ~ LogNormal(3.8, 0.6)``.

Truth
-----
``truth`` (one row per user): ``user_id``, ``p_convert`` (ex-ante, over the user's full planned
schedule), ``credit_<channel>`` (the user's conversion split by ``credit_j``; zeros for
non-converters), ``p_convert_without_<channel>`` (the same user with that channel's touches
removed). ``spec.meta`` holds ``true_channel_share`` (Σ credit per channel / conversions),
``true_removal_share`` (Σ_u [p_u − p_u^{−c}], normalised) and ``true_shapley_share``
(exact Shapley values of ``V(S) = Σ_u 1 − exp(−Σ_{c∈S} Λ_uc)``, normalised), plus the
observed ``last_touch_share`` for reference.

Tables: ``clicks`` — one row per user journey (``click_id`` = ``user_id``, ``ts`` = first
touch, ``item_id`` = 0, context features); ``events`` — empty; ``touchpoints`` (sorted by
user, ts) and ``conversions``.
"""

from __future__ import annotations

from itertools import combinations
from math import factorial
from typing import Any

import numpy as np
import pyarrow as pa

from shopml.data.eventlog import EventLog
from shopml.data.schema import (
    CONVERSIONS_SCHEMA,
    EVENTS_SCHEMA,
    TOUCHPOINTS_SCHEMA,
    Feature,
    FeatureSpec,
)
from shopml.data.simulate import SimResult, register_preset

DAY = 86_400
T0 = 1_735_689_600  # 2025-01-01 00:00 UTC
CHANNELS = ("search", "display", "social", "email", "affiliate", "direct")
# Per channel: mean touches per journey, Beta timing (a, b) within the journey, hazard mass
# of one touch (incremental effect), decay time constant in days.
CHANNEL_PARAMS: dict[str, dict[str, float]] = {
    "search": {"rate": 1.2, "a": 4.0, "b": 1.5, "effect": 0.009, "tau_days": 0.5},
    "display": {"rate": 3.0, "a": 1.2, "b": 3.0, "effect": 0.016, "tau_days": 3.0},
    "social": {"rate": 1.5, "a": 1.5, "b": 2.5, "effect": 0.009, "tau_days": 2.0},
    "email": {"rate": 0.8, "a": 2.0, "b": 2.0, "effect": 0.018, "tau_days": 1.0},
    "affiliate": {"rate": 0.4, "a": 3.0, "b": 2.0, "effect": 0.015, "tau_days": 1.0},
    "direct": {"rate": 1.2, "a": 5.0, "b": 1.2, "effect": 0.0025, "tau_days": 0.25},
}
CAMPAIGN_PROBS = (0.4, 0.3, 0.2, 0.1)
CAMPAIGN_EFFECT = (1.3, 1.0, 0.8, 0.6)
CONTEXT = {"age_bucket": 6, "device": 3, "region": 8, "customer_segment": 4}
SEGMENTS = ("new", "returning", "loyal", "lapsed")
PARAMS: dict[str, Any] = {
    "start_days": 20.0,
    "journey_days_gamma": (2.0, 1.5),
    "journey_days_clip": (0.5, 7.0),
    "tail_days": 3.0,
    "segment_effect": (-0.3, 0.2, 0.5, -0.5),
    "device_effect": (0.1, 0.0, -0.1),
    "responsiveness_sd": 0.5,
    "targeting_power": 0.3,
    "amount_lognormal": (3.8, 0.6),
}


def _context_multiplier(ctx: dict[str, np.ndarray]) -> np.ndarray:
    """ρ_c(x): per user and channel, the context interaction of the channel's effect."""
    n = len(ctx["age_bucket"])
    rho = np.ones((n, len(CHANNELS)))
    age, seg = ctx["age_bucket"], ctx["customer_segment"]
    rho[:, CHANNELS.index("social")] = np.where(age <= 1, 1.6, np.where(age >= 4, 0.6, 1.0))
    rho[:, CHANNELS.index("email")] = np.where(
        np.isin(seg, (1, 2)), 1.4, np.where(seg == 0, 0.5, 1.0)
    )
    return rho


def _shapley(values: dict[frozenset, float], k: int) -> np.ndarray:
    """Exact Shapley values of a set function over k players given on all subsets."""
    phi = np.zeros(k)
    for i in range(k):
        others = [j for j in range(k) if j != i]
        for size in range(k):
            w = factorial(size) * factorial(k - size - 1) / factorial(k)
            for s in combinations(others, size):
                s_set = frozenset(s)
                phi[i] += w * (values[s_set | {i}] - values[s_set])
    return phi


def _string_column(codes: np.ndarray, names: list[str]) -> pa.Array:
    """Map integer codes to strings through an Arrow dictionary (vectorised)."""
    arr = pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(names))
    return arr.cast(pa.string())


@register_preset("journeys")
def simulate_journeys(n: int, seed: int) -> SimResult:
    """Simulate ``n`` users' multi-channel ad journeys and conversions (see module docstring)."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n <= 0:
        raise ValueError(f"journeys: n (number of users) must be a positive integer, got {n!r}")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ValueError(f"journeys: seed must be an integer, got {seed!r}")
    n = int(n)
    P = PARAMS
    C = len(CHANNELS)
    cp = {k: np.array([CHANNEL_PARAMS[c][k] for c in CHANNELS]) for k in CHANNEL_PARAMS["search"]}
    tau = cp["tau_days"] * DAY
    rng = np.random.default_rng([int(seed), 0x3A77])

    # ---- users
    ctx = {k: rng.integers(0, v, n) for k, v in CONTEXT.items()}
    ctx["customer_segment"] = rng.choice(4, n, p=[0.35, 0.3, 0.2, 0.15])
    log_m = (
        np.asarray(P["segment_effect"])[ctx["customer_segment"]]
        + np.asarray(P["device_effect"])[ctx["device"]]
        + P["responsiveness_sd"] * rng.normal(size=n)
    )
    m = np.exp(log_m)
    start = rng.uniform(0, P["start_days"] * DAY, n)
    shape, scale = P["journey_days_gamma"]
    length = np.clip(rng.gamma(shape, scale, n), *P["journey_days_clip"]) * DAY
    end = start + length + P["tail_days"] * DAY
    intensity = rng.gamma(2.0, 0.5, n) * m ** P["targeting_power"]

    # ---- touchpoints (user-major, then sorted by time within user)
    counts = rng.poisson(cp["rate"][None, :] * intensity[:, None])
    empty = np.flatnonzero(counts.sum(axis=1) == 0)
    counts[empty, rng.choice(C, len(empty), p=cp["rate"] / cp["rate"].sum())] = 1
    user = np.repeat(np.repeat(np.arange(n), C), counts.ravel())
    channel = np.repeat(np.tile(np.arange(C), n), counts.ravel())
    pos = rng.beta(cp["a"][channel], cp["b"][channel])  # position within the journey
    t = start[user] + length[user] * pos
    campaign = rng.choice(len(CAMPAIGN_PROBS), len(user), p=np.asarray(CAMPAIGN_PROBS))
    # sort by (user, whole second) with one integer key (radix sort); ties keep draw order
    order = np.argsort(user * (1 << 23) + np.floor(t).astype(np.int64), kind="stable")
    user, channel, t, campaign = user[order], channel[order], t[order], campaign[order]

    # ---- additive decayed hazard; each touch's own first event by inverting Λ_j
    rho = _context_multiplier(ctx)
    mass = (
        cp["effect"][channel] * m[user] * rho[user, channel] * np.asarray(CAMPAIGN_EFFECT)[campaign]
    )
    beta = mass / tau[channel]  # peak hazard per second
    lam_total = mass * (1 - np.exp(-(end[user] - t) / tau[channel]))  # Λ_j within the horizon
    e = rng.exponential(size=len(t))
    fires = e < lam_total
    with np.errstate(divide="ignore", invalid="ignore"):
        fire_t = np.where(fires, t - tau[channel] * np.log1p(-e / mass), np.inf)
    seg_start = np.flatnonzero(np.r_[True, user[1:] != user[:-1]])
    t_star = np.minimum.reduceat(fire_t, seg_start)  # every user has >= 1 touch
    converted = np.isfinite(t_star)

    # ---- truth: ex-ante probability, removal effects, per-touch credit at t*
    flat = user * C + channel
    lam_uc = np.bincount(flat, weights=lam_total, minlength=n * C).reshape(n, C)
    lam_u = lam_uc.sum(axis=1)
    p_convert = -np.expm1(-lam_u)
    p_without = -np.expm1(-(lam_u[:, None] - lam_uc))
    ts_star_u = t_star[user]
    before = converted[user] & (t < ts_star_u)
    lam_at = np.where(
        before, beta * np.exp(-(np.where(before, ts_star_u, t) - t) / tau[channel]), 0.0
    )
    lam_sum = np.add.reduceat(lam_at, seg_start)
    credit_touch = np.where(before, lam_at / np.where(lam_sum > 0, lam_sum, 1.0)[user], 0.0)
    credit_uc = np.bincount(flat, weights=credit_touch, minlength=n * C).reshape(n, C)
    n_conv = int(converted.sum())

    # ---- the observed log: touches up to the conversion
    keep = ~converted[user] | (t < ts_star_u)
    k_user, k_channel, k_t, k_campaign = user[keep], channel[keep], t[keep], campaign[keep]
    touch_ts = np.floor(T0 + k_t).astype(np.int64)
    conv_users = np.flatnonzero(converted)
    conv_ts = np.floor(T0 + t_star[conv_users]).astype(np.int64) + 1  # strictly after its touches
    amount = np.round(rng.lognormal(*P["amount_lognormal"], n), 2)[conv_users]

    # last touch before each conversion (observed), for reference in meta
    last_idx = np.r_[np.flatnonzero(k_user[1:] != k_user[:-1]), len(k_user) - 1]
    last_channel = np.full(n, -1)
    last_channel[k_user[last_idx]] = k_channel[last_idx]
    lt = np.bincount(last_channel[conv_users], minlength=C) / max(n_conv, 1)

    # exact Shapley of the aggregate conversion function over channels
    subsets = [frozenset(c) for size in range(C + 1) for c in combinations(range(C), size)]
    masks = np.array([[i in sub for i in range(C)] for sub in subsets], dtype=float)
    v_sum = np.zeros(len(subsets))
    for lo in range(0, n, 100_000):  # chunks bound memory
        v_sum += -np.expm1(-(lam_uc[lo : lo + 100_000] @ masks.T)).sum(axis=0)
    values = dict(zip(subsets, v_sum.tolist(), strict=True))
    phi = _shapley(values, C)
    removal = (p_convert[:, None] - p_without).sum(axis=0)

    def share(v: np.ndarray) -> dict[str, float]:
        total = float(v.sum())
        return {c: (float(v[i]) / total if total > 0 else 0.0) for i, c in enumerate(CHANNELS)}

    user_id = np.arange(1, n + 1, dtype=np.int64)
    features = [
        Feature(name=k, kind="categorical", vocab_size=v, group="user") for k, v in CONTEXT.items()
    ]
    campaign_names = [f"{c}_{k}" for c in CHANNELS for k in range(len(CAMPAIGN_PROBS))]
    spec = FeatureSpec(
        features=features,
        meta={
            "source": "simulator",
            "preset": "journeys",
            "seed": int(seed),
            "row_unit": "user journey",
            "ids": "one row per user journey, no products: item_id = 0",
            "ids_known": {"user": True, "item": False},
            "t0": T0,
            "channels": list(CHANNELS),
            "campaigns": campaign_names,
            "conversion_window_s": int((P["journey_days_clip"][1] + P["tail_days"]) * DAY),
            "customer_segment_codes": list(SEGMENTS),
            "channel_params": CHANNEL_PARAMS,
            "campaign_probs": list(CAMPAIGN_PROBS),
            "campaign_effect": list(CAMPAIGN_EFFECT),
            "params": {k: list(v) if isinstance(v, tuple) else v for k, v in PARAMS.items()},
            "conversions": n_conv,
            "conversion_rate": n_conv / n,
            "true_channel_share": share(credit_uc.sum(axis=0)),
            "true_removal_share": share(removal),
            "true_shapley_share": share(phi),
            "last_touch_share": share(lt),
        },
    )
    first_ts = np.floor(T0 + t[seg_start]).astype(np.int64)  # journey start = first touch
    clicks = pa.table(
        {
            "click_id": user_id,
            "ts": first_ts,
            "user_id": user_id,
            "item_id": np.zeros(n, dtype=np.int64),
            **{k: ctx[k].astype(np.int64) for k in CONTEXT},
        }
    ).cast(spec.clicks_schema())
    touchpoints = pa.table(
        {
            "user_id": user_id[k_user],
            "ts": touch_ts,
            "channel": _string_column(k_channel, list(CHANNELS)),
            "campaign": _string_column(
                k_channel * len(CAMPAIGN_PROBS) + k_campaign, campaign_names
            ),
        },
        schema=TOUCHPOINTS_SCHEMA,
    )
    conversions = pa.table(
        {"user_id": user_id[conv_users], "ts": conv_ts, "amount": amount.astype(np.float64)},
        schema=CONVERSIONS_SCHEMA,
    )
    events = EVENTS_SCHEMA.empty_table()
    truth_cols: dict[str, np.ndarray] = {"user_id": user_id, "p_convert": p_convert}
    for i, c in enumerate(CHANNELS):
        truth_cols[f"credit_{c}"] = credit_uc[:, i]
    for i, c in enumerate(CHANNELS):
        truth_cols[f"p_convert_without_{c}"] = p_without[:, i]
    truth = pa.table(truth_cols)
    log = EventLog(
        clicks=clicks, events=events, spec=spec, touchpoints=touchpoints, conversions=conversions
    )
    return SimResult(log=log, truth=truth, config={"preset": "journeys", "n": n, "seed": int(seed)})
