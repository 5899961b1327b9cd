"""The ``uplift`` preset: a randomised multi-arm marketing test along impression → click → conversion.

Serves the uplift family:

* EFIN — Liu et al., "Explicit Feature Interaction-aware Uplift Network for Online
  Marketing", KDD 2023: effects come from explicit interactions between the treatment and
  user features, several treatment arms.
* ECUP — Huang et al., "Entire Chain Uplift Modeling with Context-Enhanced Learning for
  Intelligent Marketing", WWW 2024 (arXiv:2402.03379): the treatment acts on every stage of the chain
  exposure → click → conversion, differently per stage, so modelling the entire chain
  (and not only the final conversion) helps.

Each row of ``clicks.parquet`` is one unit (a user in the campaign): ``click_id`` =
``user_id`` = unit id, ``ts`` = the time the unit entered the test, ``item_id`` = 0,
``treatment`` (0 = control, arms 1..K) and ``exposure`` (1 if the unit saw an impression).

Generative model
----------------
Features: 8 categorical fields ``age_bucket``, ``gender``, ``city_tier``, ``device``,
``member_level``, ``acq_channel``, ``weekday``, ``pref_category`` and 6 numeric ones
``activity_score``, ``price_sensitivity``, ``past_orders_log``, ``past_recency_days_log``,
``session_depth``, ``past_coupon_use_rate``; write their standardised versions ``act``,
``ps``, ``ord``, ``sess``.

Treatment: ``T ~ Categorical(ARM_PROBS)`` independently of the features (arms
0 control, 1 discount coupon, 2 personalised creative, 3 push notification).

Stage probabilities, for every arm ``a`` (σ = logistic):

    P(impression | x, a)             = p_I(x, a) = σ(η_I(x) + Δ_I^a(x))
    P(click | impression, x, a)      = p_C(x, a) = σ(η_C(x) + Δ_C^a(x))
    P(conversion | click, x, a)      = p_V(x, a) = σ(η_V(x) + Δ_V^a(x))

with baselines

    η_I = 0.3 + 0.9 act + δ_device + 0.2·1[weekend]
    η_C = −1.6 + 0.4 act + 0.2 sess + δ_category + δ_age
    η_V = −1.4 + 0.5 ord − 0.3 ps + δ_member + δ_city

and effects (zero for the control arm)

    arm 1 (coupon):    Δ_C = 0.1,  Δ_V = 1.1 σ(2 ps) − 0.45 − 0.25·1[member ≥ 4]
                                        + 0.4·1[acq_channel ∈ {2, 5}]·ps
    arm 2 (creative):  Δ_C = 0.8·1[age ≤ 1] + 0.3·1[device = 0] − 0.35
                             + 0.4·1[category ≡ 0 mod 4]·sess,
                       Δ_V = −0.25 + 0.1 ord
    arm 3 (push):      Δ_I = 1.6 σ(−2 act) − 0.1,  Δ_C = −0.25 σ(2 act)

so the coupon mostly moves conversion-given-click (helping price-sensitive users, hurting
high-tier members), the creative mostly moves click-through (young / mobile users up, the
rest down, and its extra clicks convert worse), and the push mostly moves exposure of
inactive users while annoying active ones. Effects are heterogeneous and negative for a
sizeable share of units in every arm.

Entire-chain probabilities and effects (the truth table):

    p_impression = p_I,  p_click = p_I p_C,  p_conversion = p_I p_C p_V,
    tau_{stage}_arm{a} = p_{stage}(x, a) − p_{stage}(x, 0).

Realised outcomes: ``exposure ~ Bern(p_I(x, T))``, ``click ~ exposure·Bern(p_C)``,
``conversion ~ click·Bern(p_V)``; a ``click`` event ``~Exp(30 min)`` after ``ts`` (clipped
to ``click_window_s``), a ``conversion`` event ``LogNormal(log 2 h, 1)`` after the click
(total within ``conversion_window_s`` of ``ts``) and a ``pay`` event at the same time with
``amount ~ LogNormal(μ_category, 0.5)`` (× 0.85 under the coupon). Labels derived with those
windows therefore have exactly the truth probabilities.
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
STAGES = ("impression", "click", "conversion")
ARM_NAMES = ("control", "discount_coupon", "personalised_creative", "push_notification")
ARM_PROBS = (0.4, 0.2, 0.2, 0.2)
CATEGORICAL = {
    "age_bucket": 6,
    "gender": 3,
    "city_tier": 5,
    "device": 4,
    "member_level": 6,
    "acq_channel": 8,
    "weekday": 7,
    "pref_category": 20,
}
NUMERIC = (
    "activity_score",
    "price_sensitivity",
    "past_orders_log",
    "past_recency_days_log",
    "session_depth",
    "past_coupon_use_rate",
)
PARAMS: dict[str, Any] = {
    "days": 14,
    "arm_names": list(ARM_NAMES),
    "arm_probs": list(ARM_PROBS),
    "click_delay_mean_s": 1_800,
    "conversion_delay_median_h": 2.0,
    "conversion_delay_sigma": 1.0,
    "click_window_s": DAY,
    "conversion_window_s": 3 * DAY,
    "coupon_amount_factor": 0.85,
}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


# Fixed standardisation constants (population mean, sd) of the numeric drivers, so the
# true response surfaces are the same functions of x for every sample size and seed.
_STANDARD = {
    "activity_score": (0.245, 1.031),
    "price_sensitivity": (-0.08, 1.005),
    "past_orders_log": (1.0, 0.638),
    "session_depth": (2.329, 1.655),
}


def _z(x: dict[str, np.ndarray], name: str) -> np.ndarray:
    """A numeric driver standardised with its fixed population constants."""
    mean, sd = _STANDARD[name]
    return (x[name] - mean) / sd


def _features(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Draw the unit features (8 categorical, 6 numeric, correlated through activity)."""
    cat = {k: rng.integers(0, v, n) for k, v in CATEGORICAL.items()}
    # skew a few categorical marginals so they are not all uniform
    cat["member_level"] = np.minimum(rng.geometric(0.35, n) - 1, 5)
    cat["city_tier"] = rng.choice(5, n, p=[0.15, 0.25, 0.3, 0.2, 0.1])
    act = rng.normal(size=n) + 0.15 * cat["member_level"]
    ps = rng.normal(size=n) - 0.2 * (cat["city_tier"] <= 1)
    num = {
        "activity_score": act,
        "price_sensitivity": ps,
        "past_orders_log": np.log1p(rng.poisson(np.exp(0.5 + 0.6 * act))).astype(float),
        "past_recency_days_log": np.log1p(rng.exponential(np.exp(2.0 - 0.5 * act))),
        "session_depth": rng.gamma(2.0, 1.0 + 0.3 * _sigmoid(act)),
        "past_coupon_use_rate": _sigmoid(ps + 0.5 * rng.normal(size=n)),
    }
    return {**cat, **num}


def _stage_logits(x: dict[str, np.ndarray], arm: int) -> tuple[np.ndarray, ...]:
    """(η_I + Δ_I, η_C + Δ_C, η_V + Δ_V) of every unit under arm `arm`."""
    act, ps = _z(x, "activity_score"), _z(x, "price_sensitivity")
    ord_, sess = _z(x, "past_orders_log"), _z(x, "session_depth")
    dev = np.array([0.3, 0.0, -0.2, -0.4])[x["device"]]
    cat = 0.5 * np.sin(1.7 * x["pref_category"] + 0.3)
    age = np.array([0.2, 0.15, 0.0, -0.1, -0.2, -0.3])[x["age_bucket"]]
    member = np.array([-0.3, 0.0, 0.2, 0.3, 0.4, 0.5])[x["member_level"]]
    city = np.array([0.2, 0.1, 0.0, -0.1, -0.2])[x["city_tier"]]
    eta_i = 0.3 + 0.9 * act + dev + 0.2 * (x["weekday"] >= 5)
    eta_c = -1.6 + 0.4 * act + 0.2 * sess + cat + age
    eta_v = -1.4 + 0.5 * ord_ - 0.3 * ps + member + city
    if arm == 1:
        eta_c = eta_c + 0.1
        eta_v = (
            eta_v
            + 1.1 * _sigmoid(2 * ps)
            - 0.45
            - 0.25 * (x["member_level"] >= 4)
            + 0.4 * np.isin(x["acq_channel"], (2, 5)) * ps
        )
    elif arm == 2:
        eta_c = (
            eta_c
            + 0.8 * (x["age_bucket"] <= 1)
            + 0.3 * (x["device"] == 0)
            - 0.35
            + 0.4 * (x["pref_category"] % 4 == 0) * sess
        )
        eta_v = eta_v - 0.25 + 0.1 * ord_
    elif arm == 3:
        eta_i = eta_i + 1.6 * _sigmoid(-2 * act) - 0.1
        eta_c = eta_c - 0.25 * _sigmoid(2 * act)
    return eta_i, eta_c, eta_v


@register_preset("uplift")
def simulate_uplift(n: int, seed: int) -> SimResult:
    """Simulate a randomised ``n``-unit marketing test with 3 treatment arms (see module docstring)."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n <= 0:
        raise ValueError(f"uplift: n (number of units) must be a positive integer, got {n!r}")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ValueError(f"uplift: seed must be an integer, got {seed!r}")
    n = int(n)
    P = PARAMS
    rng = np.random.default_rng([int(seed), 0x0F1F7])
    x = _features(n, rng)
    n_arms = len(ARM_PROBS)
    treatment = rng.choice(n_arms, n, p=np.asarray(ARM_PROBS))

    probs: dict[str, np.ndarray] = {}
    for a in range(n_arms):
        p_i, p_c, p_v = (_sigmoid(e) for e in _stage_logits(x, a))
        probs[f"p_impression_arm{a}"] = p_i
        probs[f"p_click_arm{a}"] = p_i * p_c
        probs[f"p_conversion_arm{a}"] = p_i * p_c * p_v
        probs[f"p_click_given_impression_arm{a}"] = p_c
        probs[f"p_conversion_given_click_arm{a}"] = p_v

    rows = np.arange(n)
    stack = {
        k: np.stack([probs[f"{k}_arm{a}"] for a in range(n_arms)], axis=1)
        for k in ("p_impression", "p_click_given_impression", "p_conversion_given_click")
    }
    u = rng.uniform(size=(3, n))
    exposed = u[0] < stack["p_impression"][rows, treatment]
    clicked = exposed & (u[1] < stack["p_click_given_impression"][rows, treatment])
    converted = clicked & (u[2] < stack["p_conversion_given_click"][rows, treatment])

    # ---- times
    day = rng.integers(0, P["days"], n)
    hour = rng.choice(24, n, p=_diurnal())
    ts = T0 + day * DAY + hour * HOUR + rng.integers(0, HOUR, n)
    click_delay = np.clip(rng.exponential(P["click_delay_mean_s"], n), 1, P["click_window_s"] - 1)
    click_ts = ts + click_delay.astype(np.int64)
    conv_delay = rng.lognormal(
        np.log(P["conversion_delay_median_h"] * HOUR), P["conversion_delay_sigma"], n
    )
    conv_ts = click_ts + np.clip(conv_delay, 1, P["conversion_window_s"] - P["click_window_s"])
    conv_ts = conv_ts.astype(np.int64)
    mu = 3.2 + 0.4 * np.cos(x["pref_category"])
    amount = np.round(rng.lognormal(mu, 0.5), 2)
    amount = np.where(treatment == 1, np.round(amount * P["coupon_amount_factor"], 2), amount)

    # ---- tables
    unit_id = np.arange(1, n + 1, dtype=np.int64)
    features = [
        Feature(name=k, kind="categorical", vocab_size=v, group="user")
        for k, v in CATEGORICAL.items()
        if k != "weekday"
    ]
    features.insert(6, Feature(name="weekday", kind="categorical", vocab_size=7, group="context"))
    features += [Feature(name=k, kind="numeric", group="user") for k in NUMERIC]
    spec = FeatureSpec(
        features=features,
        meta={
            "source": "simulator",
            "preset": "uplift",
            "seed": int(seed),
            "row_unit": "unit (user in the campaign)",
            "ids": "one row per unit in the campaign, no products: item_id = 0",
            "ids_known": {"user": True, "item": False},
            "t0": T0,
            "arms": {str(a): name for a, name in enumerate(ARM_NAMES)},
            "arm_probs": list(ARM_PROBS),
            "stages": list(STAGES),
            "stage_event_kinds": {
                "impression": "exposure column",
                "click": "click",
                "conversion": "conversion",
            },
            "click_window_s": P["click_window_s"],
            "conversion_window_s": P["conversion_window_s"],
            "params": PARAMS,
        },
    )
    columns: dict[str, Any] = {
        "click_id": unit_id,
        "ts": ts.astype(np.int64),
        "user_id": unit_id,
        "item_id": np.zeros(n, dtype=np.int64),
    }
    for f in features:
        v = x[f.name]
        columns[f.name] = v.astype(np.float64) if f.kind == "numeric" else v.astype(np.int64)
    columns["treatment"] = treatment.astype(np.int64)
    columns["exposure"] = exposed.astype(np.int8)
    clicks = pa.table(columns).cast(spec.clicks_schema(treatment=True, exposure=True))

    ci, vi = np.flatnonzero(clicked), np.flatnonzero(converted)
    ev_id = np.concatenate([unit_id[ci], unit_id[vi], unit_id[vi]])
    ev_kind = np.concatenate(
        [
            np.full(len(ci), "click", object),
            np.full(len(vi), "conversion", object),
            np.full(len(vi), "pay", object),
        ]
    )
    ev_ts = np.concatenate([click_ts[ci], conv_ts[vi], conv_ts[vi]])
    ev_amount = np.concatenate([np.full(len(ci) + len(vi), np.nan), amount[vi]])
    order = np.lexsort((ev_id, ev_ts))
    events = pa.table(
        {
            "click_id": ev_id[order],
            "kind": pa.array(ev_kind[order], pa.string()),
            "ts": ev_ts[order],
            "amount": pa.array(ev_amount[order], pa.float64(), from_pandas=True),
        },
        schema=EVENTS_SCHEMA,
    )

    truth_cols: dict[str, np.ndarray] = {"click_id": unit_id}
    for a in range(n_arms):
        for s in STAGES:
            truth_cols[f"p_{s}_arm{a}"] = probs[f"p_{s}_arm{a}"]
        truth_cols[f"p_click_given_impression_arm{a}"] = probs[f"p_click_given_impression_arm{a}"]
        truth_cols[f"p_conversion_given_click_arm{a}"] = probs[f"p_conversion_given_click_arm{a}"]
    for a in range(1, n_arms):
        for s in STAGES:
            truth_cols[f"tau_{s}_arm{a}"] = probs[f"p_{s}_arm{a}"] - probs[f"p_{s}_arm0"]
    truth = pa.table(truth_cols)
    log = EventLog(clicks=clicks, events=events, spec=spec)
    return SimResult(log=log, truth=truth, config={"preset": "uplift", "n": n, "seed": int(seed)})


def _diurnal() -> np.ndarray:
    """Hour-of-day distribution of campaign entries (evening peak)."""
    w = np.array(
        [2, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 7, 8, 7, 6, 6, 6, 7, 8, 10, 11, 10, 7, 4], dtype=float
    )
    return w / w.sum()
