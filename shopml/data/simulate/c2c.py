"""The ``c2c`` preset: a second-hand (C2C) marketplace where most items can be sold once.

Serves MSNet (Wu et al., "MetaSplit: Meta-Split Network for Limited-Stock Product
Recommendation", 2024, arXiv:2403.06747), a ranking model for Xianyu-/Mercari-like C2C
platforms. Its premise: most listings have stock 1 and disappear once sold, a minority
(B2C-like sellers) have ample stock, and a user's behaviour sequence mixes both kinds, so the
model splits the history by stock volume. This world reproduces exactly that mixture.

Rows of ``clicks.parquet`` are clicks; the outcome is a ``pay`` event (amount = price).

Generative model
----------------
Catalog. ``n_items ≈ n / clicks_per_item`` items in ``C`` categories; a share
``single_stock_share`` (default 0.8) are C2C listings with stock 1, listed uniformly in time
over ``[t0 - prelist_days, end]``; the rest are B2C items with stock ``⌊10^U(1,3)⌋``
(10 … 1000) listed before ``t0``. Each category ``c`` has a latent vector ``w_c ∈ R^d``
(d = 8); item ``i`` has ``v_i = w_{c_i} + 0.5 ε``, quality ``q_i ~ N(0, 0.5²)``, a condition
(new … poor; C2C listings are mostly used, B2C mostly new) and a log-normal price
``p_i = e^{μ_c + 0.6 ε} · f_condition``.

Users. ``u`` has a latent ``z_u ~ N(0, I_d)``, activity ``a_u ~ LogNormal(0, 1)`` (share of
clicks), category preference ``π_u = softmax(z_u · W / √d · 1.5)``, a share
``b_u ~ Beta(2, 4)`` of clicks on B2C items (so histories mix both kinds), a buying
propensity ``β_u ~ N(0, 0.5²)`` and price sensitivity ``s_u ~ LogNormal(0, 0.4)``.

Clicks. Click times follow a diurnal cycle over the horizon. A click of ``u`` draws a
category ``c ~ π_u``; with probability ``1 − b_u`` it goes to the C2C pool — the newest
listing of ``c`` listed at or before ``ts − A``, ``A ~ Exp(mean 2 days)`` (C2C feeds favour
fresh listings) — else to a B2C item of ``c`` by a power-law popularity rank.

Purchase. Given the item is still in stock when the buyer decides,

    logit P(pay | click, available) = b0 + 0.9 · z_u·v_i/√d + q_i + β_u
                                      − 0.5 · s_u · (log p_i − μ_c) + γ_condition
                                      + γ_single · 1[stock_i = 1] + γ_hour + γ_position,

and the pay would happen ``D ~ LogNormal(log 1.5 h, 1.2)`` after the click (clipped to the
conversion window). Stock is a race: the pays of an item are served in time order, the
``k``-th would-be pay succeeds iff ``k ≤ stock_i``; an item's *sold-out time* is the time of
its last successful pay. After it, the item leaves the feed, so its later clicks never
happen (they are removed), and clicks that came before it but whose buyer decided after it
are *unavailable*: they cannot convert. Every stock-1 item is paid at most once and has no
click at or after its sale.

Outputs
-------
``clicks``: click_id, ts, user_id, item_id, user fields (``user_age_bucket``,
``user_level``, ``user_city_tier``), item fields (``item_category``, ``item_price_bucket``,
``item_condition``, ``item_is_single_stock``), context (``hour``, ``position``) and the
sequences ``hist_items`` (the user's previous clicked item ids, oldest first, at most 20,
strictly earlier than the click) and ``hist_stock_kind`` (aligned: 1 = stock-1 item,
2 = ample stock; 0 is reserved for padding, as is item id 0). ``events``: ``pay``.
``catalog``: item_id, category, price, stock, condition, is_single_stock, listed_ts,
title_tokens. ``truth``: click_id, ``p_pay`` (true purchase probability given available),
``available`` (1 iff the item was still in stock when the buyer decided), ``sold_out_ts``
(the item's sold-out time, -1 if never).

Because clicks on sold-out items are removed, the simulator draws candidate clicks at a rate
of about ``1 / survival`` over a horizon 10% longer than ``days`` (re-drawing from the same
seed with a higher rate if too few survive) and keeps the first ``n`` surviving clicks in
time, so ``n`` rows cover about ``days`` days. Pays (and sales to clicks past the cut) may
fall after the last kept click; ``available`` reflects the whole simulated world.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from shopml.data.eventlog import EventLog
from shopml.data.schema import EVENTS_SCHEMA, Feature, FeatureSpec
from shopml.data.simulate import SimResult, register_preset

DAY = 86_400
HOUR = 3_600
T0 = 1_735_689_600  # 2025-01-01 00:00 UTC

PARAMS: dict[str, Any] = {
    "days": 30,
    "n_categories": 24,
    "latent_dim": 8,
    "single_stock_share": 0.8,
    "clicks_per_item": 5.0,
    "clicks_per_user": 25.0,
    "prelist_days": 10.0,
    "fresh_age_days": 2.0,
    "b2c_share_beta": (2.0, 4.0),
    "b2c_popularity_power": 3.0,
    "pay_bias": -5.0,
    "affinity_weight": 0.9,
    "price_weight": 0.5,
    "single_stock_effect": 0.3,
    "condition_effect": (0.3, 0.2, 0.0, -0.3, -0.6),
    "position_effect_per_slot": -0.01,
    "pay_delay_median_h": 1.5,
    "pay_delay_sigma": 1.2,
    "conversion_window_s": 3 * DAY,
    "history_len": 20,
    "max_position": 50,
    "price_bucket_width_log": 0.7,
    "n_price_buckets": 12,
    "title_len": 6,
    "title_vocab_per_category": 64,
}
CONDITIONS = ("new", "like_new", "good", "fair", "poor")
_COND_P_C2C = np.array([0.08, 0.30, 0.35, 0.19, 0.08])
_COND_P_B2C = np.array([0.92, 0.08, 0.0, 0.0, 0.0])
_COND_PRICE = np.array([1.0, 0.8, 0.65, 0.5, 0.35])
# Diurnal click intensity by hour of day (peaks at noon and in the evening).
_DIURNAL = np.array(
    [2, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 7, 8, 7, 6, 6, 6, 7, 8, 10, 11, 10, 7, 4], dtype=float
)
_HOUR_EFFECT = 0.15 * np.cos((np.arange(24) - 21) / 24 * 2 * np.pi)
USER_FIELDS = {"user_age_bucket": 7, "user_level": 5, "user_city_tier": 5}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _sample_rows(cum: np.ndarray, rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Per draw j, the index k with cum[rows[j], k-1] <= u[j] < cum[rows[j], k] (chunked)."""
    out = np.empty(len(rows), dtype=np.int64)
    step = 200_000
    last = cum.shape[1] - 1
    for s in range(0, len(rows), step):  # chunks bound memory; each chunk is vectorised
        c = cum[rows[s : s + step]]
        out[s : s + step] = np.minimum((c <= u[s : s + step, None]).sum(axis=1), last)
    return out


def _history(
    user: np.ndarray, ts: np.ndarray, values: list[np.ndarray], max_len: int
) -> list[pa.Array]:
    """Per row, list arrays of each value at the same user's previous <= max_len rows with a
    strictly smaller ts (oldest first), built with one sort by (user, ts)."""
    n = len(user)
    order = np.lexsort((np.arange(n), ts, user))
    u, t = user[order], ts[order]
    idx = np.arange(n, dtype=np.int64)
    new_user = np.ones(n, dtype=bool)
    new_user[1:] = u[1:] != u[:-1]
    new_run = new_user.copy()
    new_run[1:] |= t[1:] != t[:-1]
    user_start = np.maximum.accumulate(np.where(new_user, idx, 0))
    run_start = np.maximum.accumulate(np.where(new_run, idx, 0))  # first row with this (user, ts)
    lo = np.maximum(user_start, run_start - max_len)
    # back to the original row order: row r's history is sorted rows lo .. run_start - 1
    lo_r = np.empty(n, dtype=np.int64)
    len_r = np.empty(n, dtype=np.int64)
    lo_r[order] = lo
    len_r[order] = run_start - lo
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(len_r, out=offsets[1:])
    row_of = np.repeat(idx, len_r)
    flat = order[lo_r[row_of] + (np.arange(offsets[-1], dtype=np.int64) - offsets[:-1][row_of])]
    off = pa.array(offsets.astype(np.int32))
    return [pa.ListArray.from_arrays(off, pa.array(v[flat], pa.int64())) for v in values]


def _world(n_candidates: int, horizon_days: float, rng: np.random.Generator) -> dict[str, Any]:
    """Draw the catalog, users and candidate clicks (before the stock race)."""
    P = PARAMS
    C, d = P["n_categories"], P["latent_dim"]
    horizon = horizon_days * DAY
    prelist = P["prelist_days"] * DAY

    # ---- catalog
    n_items = max(4 * C, round(n_candidates / P["clicks_per_item"]))
    n_single = max(2 * C, round(n_items * P["single_stock_share"]))
    n_b2c = max(C, n_items - n_single)
    n_items = n_single + n_b2c
    single = np.zeros(n_items, dtype=bool)
    single[:n_single] = True
    category = np.concatenate(
        [rng.integers(0, C, n_single), np.arange(n_b2c) % C]  # every category has B2C items
    ).astype(np.int64)
    listed = np.empty(n_items, dtype=np.int64)
    listed[:n_single] = T0 + (rng.uniform(-prelist, horizon, n_single)).astype(np.int64)
    listed[n_single:] = T0 - (rng.uniform(prelist, 200 * DAY, n_b2c)).astype(np.int64)
    stock = np.ones(n_items, dtype=np.int64)
    stock[n_single:] = np.floor(10 ** rng.uniform(1, 3, n_b2c)).astype(np.int64)
    condition = np.empty(n_items, dtype=np.int64)
    condition[:n_single] = rng.choice(5, n_single, p=_COND_P_C2C)
    condition[n_single:] = rng.choice(5, n_b2c, p=_COND_P_B2C)
    cat_vec = rng.normal(size=(C, d))
    cat_logprice = rng.normal(3.5, 0.8, C)
    item_vec = cat_vec[category] + 0.5 * rng.normal(size=(n_items, d))
    quality = rng.normal(0, 0.5, n_items)
    price = np.round(
        np.exp(cat_logprice[category] + 0.6 * rng.normal(size=n_items)) * _COND_PRICE[condition],
        2,
    )
    price = np.maximum(price, 0.5)
    tv = P["title_vocab_per_category"]
    titles = category[:, None] * tv + 1 + rng.integers(0, tv, (n_items, P["title_len"]))

    # ---- users
    n_users = max(10, round(n_candidates / P["clicks_per_user"]))
    z = rng.normal(size=(n_users, d))
    activity = rng.lognormal(0, 1, n_users)
    logits = z @ cat_vec.T / np.sqrt(d) * 1.5
    pref = np.exp(logits - logits.max(axis=1, keepdims=True))
    pref_cum = np.cumsum(pref / pref.sum(axis=1, keepdims=True), axis=1)
    b2c_share = rng.beta(*P["b2c_share_beta"], n_users)
    buy_bias = rng.normal(0, 0.5, n_users)
    price_sens = rng.lognormal(0, 0.4, n_users)
    user_fields = {k: rng.integers(0, v, n_users) for k, v in USER_FIELDS.items()}
    # user fields carry signal: older/higher-level users buy more readily
    buy_bias = buy_bias + 0.08 * user_fields["user_age_bucket"] + 0.1 * user_fields["user_level"]

    # ---- candidate clicks
    m = n_candidates
    user = np.searchsorted(np.cumsum(activity) / activity.sum(), rng.uniform(size=m))
    user = np.minimum(user, n_users - 1)
    day = rng.integers(0, int(np.ceil(horizon_days)), m)
    hour = rng.choice(24, m, p=_DIURNAL / _DIURNAL.sum())
    ts = T0 + day * DAY + hour * HOUR + rng.integers(0, HOUR, m)
    cat = _sample_rows(pref_cum, user, rng.uniform(size=m))
    to_b2c = rng.uniform(size=m) < b2c_share[user]

    # C2C pool: newest stock-1 listing of the category listed at or before ts - age.
    s_idx = np.flatnonzero(single)
    s_order = s_idx[np.lexsort((listed[s_idx], category[s_idx]))]
    s_key = category[s_order] * (1 << 40) + (listed[s_order] - T0 + (1 << 38))
    s_cat_start = np.searchsorted(category[s_order], np.arange(C))
    age = rng.exponential(P["fresh_age_days"] * DAY, m).astype(np.int64)
    target = cat * (1 << 40) + (ts - age - T0 + (1 << 38))
    pos = np.searchsorted(s_key, target, side="right") - 1
    found = (pos >= s_cat_start[cat]) & (pos >= 0)
    item = np.where(found, s_order[np.clip(pos, 0, len(s_order) - 1)], -1)
    # B2C pool (and fallback when the category has no listing yet): power-law popularity.
    b_idx = np.flatnonzero(~single)
    b_order = b_idx[np.argsort(category[b_idx], kind="stable")]
    b_cat_start = np.searchsorted(category[b_order], np.arange(C))
    b_cat_count = np.bincount(category[b_order], minlength=C)
    rank = np.floor(b_cat_count[cat] * rng.uniform(size=m) ** P["b2c_popularity_power"])
    b_item = b_order[b_cat_start[cat] + rank.astype(np.int64)]
    use_b2c = to_b2c | ~found
    item = np.where(use_b2c, b_item, item)
    position = np.minimum(rng.geometric(0.08, m) - 1, P["max_position"] - 1)

    # ---- true purchase probability given availability
    aff = np.einsum("ij,ij->i", z[user], item_vec[item]) / np.sqrt(d)
    logit = (
        P["pay_bias"]
        + P["affinity_weight"] * aff
        + quality[item]
        + buy_bias[user]
        - P["price_weight"] * price_sens[user] * (np.log(price[item]) - cat_logprice[cat])
        + np.asarray(P["condition_effect"])[condition[item]]
        + P["single_stock_effect"] * single[item]
        + _HOUR_EFFECT[hour]
        + P["position_effect_per_slot"] * position
    )
    p_pay = _sigmoid(logit)
    window = P["conversion_window_s"]
    delay = rng.lognormal(np.log(P["pay_delay_median_h"] * HOUR), P["pay_delay_sigma"], m)
    delay = np.clip(delay, 60, window - 60).astype(np.int64)
    would_pay = rng.uniform(size=m) < p_pay
    return {
        "items": {
            "category": category,
            "price": price,
            "stock": stock,
            "condition": condition,
            "single": single,
            "listed": listed,
            "titles": titles,
        },
        "users": user_fields,
        "clicks": {
            "user": user,
            "ts": ts,
            "hour": hour,
            "item": item,
            "position": position,
            "p_pay": p_pay,
            "pay_ts": ts + delay,
            "would_pay": would_pay,
        },
    }


def _stock_race(
    item: np.ndarray, pay_ts: np.ndarray, would_pay: np.ndarray, stock: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Serve would-be pays per item in time order: (pay succeeds, item sold-out time)."""
    sold_out = np.full(len(stock), np.iinfo(np.int64).max, dtype=np.int64)
    w = np.flatnonzero(would_pay)
    order = w[np.lexsort((w, pay_ts[w], item[w]))]
    it = item[order]
    start = np.ones(len(order), dtype=bool)
    start[1:] = it[1:] != it[:-1]
    idx = np.arange(len(order))
    rank = idx - np.maximum.accumulate(np.where(start, idx, 0))
    ok = rank < stock[it]
    last = rank == stock[it] - 1
    sold_out[it[last]] = pay_ts[order[last]]
    success = np.zeros(len(item), dtype=bool)
    success[order[ok]] = True
    return success, sold_out


@register_preset("c2c")
def simulate_c2c(n: int, seed: int) -> SimResult:
    """Simulate ``n`` clicks on a C2C marketplace with limited stock (see module docstring)."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n <= 0:
        raise ValueError(f"c2c: n (number of clicks) must be a positive integer, got {n!r}")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ValueError(f"c2c: seed must be an integer, got {seed!r}")
    n = int(n)
    P = PARAMS
    # Clicks on sold-out items are removed, so draw clicks at a rate 1/survival over a
    # horizon 10% longer than `days` and keep the first n survivors in time.
    horizon = 1.1
    rate = 1.3  # first guess of 1 / survival
    for _attempt in range(5):  # deterministic: each attempt restarts from the seed
        rng = np.random.default_rng([int(seed), 0xC2C])
        m = int(np.ceil(n * horizon * rate)) + 50
        w = _world(m, P["days"] * horizon, rng)
        it, ck = w["items"], w["clicks"]
        success, sold_out = _stock_race(ck["item"], ck["pay_ts"], ck["would_pay"], it["stock"])
        item_sold = sold_out[ck["item"]]
        kept = np.flatnonzero(ck["ts"] < item_sold)  # the item left the feed after selling out
        if len(kept) >= n:
            break
        rate *= n / max(len(kept), 1) * 1.03
    else:
        raise RuntimeError(f"c2c: could not draw {n} surviving clicks (seed {seed})")
    kept = kept[np.lexsort((kept, ck["ts"][kept]))][:n]  # first n clicks in time
    available = (ck["pay_ts"] < item_sold) | success
    paid = ck["would_pay"] & available

    user, ts, item = ck["user"][kept], ck["ts"][kept], ck["item"][kept]
    click_id = np.arange(1, n + 1, dtype=np.int64)
    item_id = item + 1  # 0 is reserved for padding
    hist_items, hist_kind = _history(
        user, ts, [item_id, np.where(it["single"][item], 1, 2)], P["history_len"]
    )

    pb = np.clip(
        np.floor(np.log(it["price"][item]) / P["price_bucket_width_log"]),
        0,
        P["n_price_buckets"] - 1,
    ).astype(np.int64)
    n_items = len(it["stock"])
    columns: dict[str, Any] = {
        "click_id": click_id,
        "ts": ts.astype(np.int64),
        "user_id": user.astype(np.int64) + 1,
        "item_id": item_id.astype(np.int64),
    }
    columns.update({k: v[user].astype(np.int64) for k, v in w["users"].items()})
    columns.update(
        item_category=it["category"][item],
        item_price_bucket=pb,
        item_condition=it["condition"][item],
        item_is_single_stock=it["single"][item].astype(np.int64),
        hour=ck["hour"][kept].astype(np.int64),
        position=ck["position"][kept].astype(np.int64),
        hist_items=hist_items,
        hist_stock_kind=hist_kind,
    )
    features = [
        Feature(name=k, kind="categorical", vocab_size=v, group="user")
        for k, v in USER_FIELDS.items()
    ]
    features += [
        Feature(
            name="item_category", kind="categorical", vocab_size=P["n_categories"], group="item"
        ),
        Feature(
            name="item_price_bucket",
            kind="categorical",
            vocab_size=P["n_price_buckets"],
            group="item",
        ),
        Feature(
            name="item_condition", kind="categorical", vocab_size=len(CONDITIONS), group="item"
        ),
        Feature(name="item_is_single_stock", kind="categorical", vocab_size=2, group="item"),
        Feature(name="hour", kind="categorical", vocab_size=24, group="context"),
        Feature(name="position", kind="categorical", vocab_size=P["max_position"], group="context"),
        Feature(
            name="hist_items",
            kind="sequence",
            vocab_size=n_items + 1,
            max_len=P["history_len"],
            group="user",
        ),
        Feature(
            name="hist_stock_kind",
            kind="sequence",
            vocab_size=3,
            max_len=P["history_len"],
            group="user",
        ),
    ]
    spec_features = features
    in_catalog = np.flatnonzero(it["listed"] <= ts.max())
    single_share = float(it["single"][in_catalog].mean())
    spec = FeatureSpec(
        features=spec_features,
        meta={
            "source": "simulator",
            "preset": "c2c",
            "seed": int(seed),
            "row_unit": "click",
            "t0": T0,
            "conversion_window_s": P["conversion_window_s"],
            "params": {k: list(v) if isinstance(v, tuple) else v for k, v in PARAMS.items()},
            "n_items": n_items,
            "single_stock_item_share": single_share,
            "padding_id": 0,
            "hist_stock_kind_codes": {"1": "stock-1 (C2C)", "2": "ample stock (B2C)"},
            "item_condition_codes": list(CONDITIONS),
        },
    )
    clicks = pa.table(
        {k: columns[k] for k in ["click_id", "ts", "user_id", "item_id"]}
        | {f.name: columns[f.name] for f in spec_features}
    )
    clicks = clicks.cast(spec.clicks_schema())

    pay_rows = np.flatnonzero(paid[kept])
    pay_ts = ck["pay_ts"][kept][pay_rows]
    o = np.lexsort((pay_rows, pay_ts))
    events = pa.table(
        {
            "click_id": click_id[pay_rows][o],
            "kind": pa.array(np.full(len(pay_rows), "pay", dtype=object), pa.string()),
            "ts": pay_ts[o].astype(np.int64),
            "amount": it["price"][item[pay_rows]][o].astype(np.float64),
        },
        schema=EVENTS_SCHEMA,
    )
    tt = it["titles"][in_catalog]
    catalog = pa.table(
        {
            "item_id": (in_catalog + 1).astype(np.int64),
            "category": it["category"][in_catalog],
            "price": it["price"][in_catalog],
            "stock": it["stock"][in_catalog],
            "condition": pa.array(np.asarray(CONDITIONS)[it["condition"][in_catalog]]),
            "is_single_stock": it["single"][in_catalog].astype(np.int8),
            "listed_ts": it["listed"][in_catalog],
            "title_tokens": pa.ListArray.from_arrays(
                pa.array(np.arange(0, tt.size + 1, tt.shape[1], dtype=np.int32)),
                pa.array(tt.ravel().astype(np.int64)),
            ),
        }
    )
    so = item_sold[kept]
    truth = pa.table(
        {
            "click_id": click_id,
            "p_pay": ck["p_pay"][kept],
            "available": available[kept].astype(np.int8),
            "sold_out_ts": np.where(so == np.iinfo(np.int64).max, -1, so).astype(np.int64),
        }
    )
    log = EventLog(clicks=clicks, events=events, spec=spec, catalog=catalog)
    return SimResult(log=log, truth=truth, config={"preset": "c2c", "n": n, "seed": int(seed)})
