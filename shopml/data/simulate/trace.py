"""The ``trace`` preset: a TRACE-like post-click GMV world (click -> one or more purchases).

Follows Li et al., "Delayed Feedback Modeling for Post-Click Gross Merchandise Volume
Prediction: Benchmark, Insights and Approaches" (READER, arXiv 2601.20307, WWW 2026) and
its dataset TRACE (official code: github.com/alimama-tech/OnlineGMV). Reproduced:

* 82 days of clicks (whatever ``n_clicks``), the same 22-field layout as CASCADE
  (:data:`world.STANDARD_FIELDS`), a 7-day attribution window (``gmv_attr_window=7``);
* complete purchase sequences per click: several ``pay`` events, each with its own
  timestamp and amount, spread over the window; about 53.5 % of converting clicks buy more
  than once (the share the brief gives for TRACE; acceptance window [0.48, 0.59]);
* amounts depend on the item price and a user spending factor; the GMV label distribution
  drifts quickly (category appeal and category price level follow AR(1) paths across days,
  the paper's first insight), and repurchase clicks differ from single-purchase clicks
  (the repurchase propensity has its own drivers: loyalty, cheap/consumable categories,
  promotions - the paper's second insight).

Generative model (per click x):

* conversion logit eta(x) as in the cascade preset (user propensity, item appeal,
  affinity, category drift, hour-of-day, scene, position, promotion);
  first-purchase delay ~ log-logistic(log scale m - k * (eta - b), shape s) truncated to
  the window, p_convert = sigmoid(eta) * F(W | x);
* given conversion, repurchase (>= 2 purchases within the window) with
  q(x) = sigmoid(rho(x)); given repurchase, K - 2 ~ Poisson(lambda(x));
  repurchase times are t1 + (W - t1) * U^1.5 for sorted uniforms U (spread over the rest
  of the window, denser early);
* amounts: first = price * spend(user) * level(day, category) * LogNormal(mean 1),
  each repurchase the same times ``repeat_amount_ratio``.

Truth (exact expectations under this model, within the window): ``p_convert``,
``p_repurchase`` = P(K >= 2 | converted), ``expected_purchases`` = E[K] and
``expected_gmv`` = E[sum of amounts] = p_convert * m(x) * (1 + r * q * (1 + lambda)).

Deviations: the mechanism is ours; the count of purchases is drawn *within* the window
(then placed in time), which keeps expectations exact and cheap but means a late first
purchase squeezes its repurchases into the remaining window; TRACE's conversion rate is
not published (its file holds converting clicks only), so ``p_convert`` is calibrated to a
plausible 5 %. Calibration constants were obtained once by :func:`calibrate`
(n_clicks=2_000_000, seed=12345) and are hard-coded; drift is stationary AR(1) and random
effects are centred on the expected clicks (see :mod:`world`), so no seed is tuned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import numpy as np
import pyarrow as pa

from shopml.data.eventlog import EventLog
from shopml.data.simulate import SimResult, register_preset
from shopml.data.simulate.world import (
    DAY,
    DEFAULT_EPOCH,
    HOUR,
    HOURLY_LOGIT,
    ClickBlock,
    Effect,
    Factors,
    Pair,
    World,
    ar1_drift,
    build_world,
    centered,
    check_args,
    events_table,
    integer_delays,
    loglogistic_cdf,
    loglogistic_quantile,
    lognormal_noise,
    ordinal_scores,
    sigmoid,
    standardized,
)

_SALT = 0x72ACE
#: Targets: repurchase share is the TRACE statistic; the conversion rate is our choice.
TARGETS = {
    "cvr": (0.05, (0.04, 0.06)),
    "repurchase_share": (0.535, (0.48, 0.59)),
}
_SCENE_CONV = np.array([0.0, 0.15, -0.10, 0.25, -0.30, 0.05, 0.10, -0.20, 0.30, 0.0, -0.05, 0.2],
                       dtype=np.float32)  # fmt: skip
#: Main effects of the user and item fields on the conversion logit (as the cascade pay logit).
CONV_EFFECTS: dict[str, Effect] = {
    "u_0": Effect(sd=0.10),
    "u_1": Effect(sd=0.12),  # user id
    "u_2": Effect(sd=0.15),
    "u_4": Effect(slope=0.15),
    "u_5": Effect(slope=0.15),
    "u_6": Effect(slope=0.50),
    "u_7": Effect(slope=-0.15),
    "i_0": Effect(sd=0.30),
    "i_1": Effect(sd=0.12),
    "i_2": Effect(sd=0.12),  # item id
    "i_3": Effect(slope=0.15),
    "i_4": Effect(slope=-0.35),
    "i_5": Effect(slope=0.25),
}
#: Main effects on the repurchase logit: loyal members, consumable categories, cheap items.
REPURCHASE_EFFECTS: dict[str, Effect] = {
    "u_1": Effect(sd=0.10),
    "u_5": Effect(slope=0.20),
    "u_6": Effect(slope=0.45),  # membership (loyalty)
    "i_0": Effect(sd=0.60),  # consumables vs durables
    "i_2": Effect(sd=0.10),
    "i_4": Effect(slope=-0.40),
}
#: Low-rank user-field x item-field interactions; weights = (conversion, repurchase) sds.
PAIRS: tuple[Pair, ...] = (
    Pair("u_2", "i_0", rank=2, weights=(0.20, 0.0)),
    Pair("u_0", "i_0", rank=1, weights=(0.25, 0.0)),
    Pair("u_4", "i_0", rank=1, weights=(0.20, 0.10)),
    Pair("u_5", "i_4", rank=1, weights=(0.25, 0.0), ordinal=True),
)


@dataclass(frozen=True)
class TraceParams:
    """Constants of the trace world; ``*_intercept`` ones are calibrated, the rest chosen."""

    n_days: int = 82
    epoch: int = DEFAULT_EPOCH
    window_s: int = 7 * DAY
    # conversion
    conv_intercept: float = -3.3585  # calibrated: mean p_convert = 0.05
    position_slope: float = -0.006
    promo_conv: float = 0.35
    drift_sd: float = 0.4
    drift_phi: float = 0.85
    # first-purchase delay (log-logistic)
    delay_log_scale: float = float(np.log(3 * HOUR))
    delay_shape: float = 1.1
    delay_slope: float = 0.4
    # repurchase
    rep_intercept: float = -0.3196  # calibrated: P(K >= 2 | converted) = 0.535 on average
    extra_rate: float = 0.6  # lambda at the mean repurchase logit
    extra_slope: float = 0.3
    # amounts
    amount_sigma: float = 0.3
    spend_sd: float = 0.3
    repeat_amount_ratio: float = 0.7
    price_drift_sd: float = 0.15


def _split(effects: dict[str, Effect], side: str) -> dict[str, Effect]:
    return {name: e for name, e in effects.items() if name[0] == side[0]}


@dataclass
class _Effects:
    user_conv: np.ndarray
    item_conv: np.ndarray
    user_rep: np.ndarray
    item_rep: np.ndarray
    factors: Factors
    drift: np.ndarray  # flat (n_days * n_cat)
    level: np.ndarray  # flat (n_days * n_cat) price-level multiplier
    spend: np.ndarray  # per user, mean-one (a function of the purchasing-power field u_5)


def _effects(world: World, p: TraceParams, rng: np.random.Generator) -> _Effects:
    n_cat = world.n_categories
    cells = world.cell_shares()
    drift = ar1_drift(rng, p.n_days, n_cat, p.drift_sd, p.drift_phi)
    level = ar1_drift(rng, p.n_days, n_cat, p.price_drift_sd, p.drift_phi)
    level = np.exp(centered(level, cells)).ravel()
    power = standardized(ordinal_scores(world.vocab["u_5"]), world.code_shares("u_5"))
    spend = np.exp(p.spend_sd * np.take(power, world.user_fields["u_5"]) - 0.5 * p.spend_sd**2)
    return _Effects(
        user_conv=world.main_effects(rng, "user", _split(CONV_EFFECTS, "user")),
        item_conv=world.main_effects(rng, "item", _split(CONV_EFFECTS, "item")),
        user_rep=world.main_effects(rng, "user", _split(REPURCHASE_EFFECTS, "user")),
        item_rep=world.main_effects(rng, "item", _split(REPURCHASE_EFFECTS, "item")),
        factors=world.pair_factors(rng, PAIRS),
        drift=centered(drift, cells).ravel(),
        level=level.astype(np.float64),
        spend=spend.astype(np.float64),
    )


def _logits(
    world: World, eff: _Effects, b: ClickBlock, p: TraceParams
) -> tuple[np.ndarray, np.ndarray]:
    """Conversion and repurchase logits (without intercepts) of one block, float32."""
    cell = b.day * world.n_categories + b.category
    promo = b.promo.astype(np.float32)
    eta = np.take(eff.user_conv, b.user)
    eta += np.take(eff.item_conv, b.item)
    eta += np.take(eff.drift, cell)
    eta += HOURLY_LOGIT[b.hour]
    eta += _SCENE_CONV[b.scene]
    eta += np.float32(p.position_slope) * b.position
    eta += np.float32(p.promo_conv) * promo
    rho = np.take(eff.user_rep, b.user)
    rho += np.take(eff.item_rep, b.item)
    rho += np.float32(0.25) * promo
    world.pair_terms(eff.factors, b, [eta, rho])
    return eta, rho


def _world(n_clicks: int, seed: int, p: TraceParams) -> tuple[World, _Effects]:
    world_ss, effect_ss = np.random.SeedSequence([int(seed), _SALT]).spawn(2)
    world = build_world(world_ss, int(n_clicks), p.n_days, p.epoch)
    return world, _effects(world, p, np.random.default_rng(effect_ss))


def simulate_trace(n_clicks: int, seed: int = 0, params: TraceParams | None = None) -> SimResult:
    """Simulate a TRACE-like world of `n_clicks` clicks over 82 days, deterministic for `seed`."""
    check_args(n_clicks, seed)
    p = params or TraceParams()
    world, eff = _world(n_clicks, seed, p)
    n, W = world.n_clicks, p.window_s
    cols = world.new_clicks_columns()
    names = ("p_convert", "p_repurchase", "expected_purchases", "expected_gmv")
    truth = {name: np.empty(n, dtype=np.float64) for name in names}
    ev_rows: list[np.ndarray] = []
    ev_ts: list[np.ndarray] = []
    ev_amount: list[np.ndarray] = []
    for b in world.blocks():
        world.fill_clicks(cols, b)
        eta, rho = _logits(world, eff, b, p)
        log_scale = np.float32(p.delay_log_scale) - np.float32(p.delay_slope) * eta
        f_w = loglogistic_cdf(W, log_scale, p.delay_shape)
        p_conv = sigmoid(eta + np.float32(p.conv_intercept)) * f_w
        q = sigmoid(rho + np.float32(p.rep_intercept))
        lam = np.float32(p.extra_rate) * np.exp(np.float32(p.extra_slope) * rho)
        cell = b.day * world.n_categories + b.category
        mean_amount = (
            np.take(world.item_price, b.item)
            * np.take(eff.spend, b.user)
            * np.take(eff.level, cell)
        )
        per_conv = 1.0 + q.astype(np.float64) * (1.0 + lam)
        sl = slice(b.start, b.stop)
        truth["p_convert"][sl] = p_conv
        truth["p_repurchase"][sl] = q
        truth["expected_purchases"][sl] = p_conv * per_conv
        truth["expected_gmv"][sl] = (
            p_conv
            * mean_amount
            * (1.0 + p.repeat_amount_ratio * q.astype(np.float64) * (1.0 + lam))
        )

        rng = b.rng
        conv = np.flatnonzero(rng.random(len(b), dtype=np.float32) < p_conv)
        u = rng.random(len(conv), dtype=np.float32) * f_w[conv]
        d1 = integer_delays(loglogistic_quantile(u, log_scale[conv], p.delay_shape), W)
        multi = rng.random(len(conv), dtype=np.float32) < q[conv]
        extra = np.where(multi, 1 + rng.poisson(lam[conv]), 0)
        owner = np.repeat(np.arange(len(conv)), extra)  # position in conv of each repurchase
        frac = np.sort(owner + rng.random(len(owner))) - owner  # sorted within each click
        base = d1[owner]
        d_rep = np.minimum(base + ((W - 1 - base) * frac**1.5).astype(np.int64), W - 1)
        amounts = np.concatenate(
            [
                mean_amount[conv] * lognormal_noise(rng, len(conv), p.amount_sigma),
                p.repeat_amount_ratio
                * mean_amount[conv[owner]]
                * lognormal_noise(rng, len(owner), p.amount_sigma),
            ]
        )
        rows = np.concatenate([conv, conv[owner]])
        ev_rows.append(rows + b.start)
        ev_ts.append(b.ts[rows] + np.concatenate([d1, d_rep]))
        ev_amount.append(np.maximum(np.round(amounts, 2), 0.01))

    rows = np.concatenate(ev_rows)
    events = events_table(
        rows,
        np.zeros(len(rows), np.int8),
        ("pay",),
        np.concatenate(ev_ts),
        np.concatenate(ev_amount),
    )
    meta = {
        "source": "simulator",
        "preset": "trace",
        "seed": int(seed),
        "conversion_window_s": W,
        "gmv_window_s": W,
        "start_ts": p.epoch,
        "end_ts": p.epoch + p.n_days * DAY,
        "n_days": p.n_days,
        "truth": {
            "p_convert": "P(at least one pay within the window | click)",
            "p_repurchase": "P(at least two pays within the window | converted)",
            "expected_purchases": "E[number of pays within the window | click]",
            "expected_gmv": "E[sum of pay amounts within the window | click]",
        },
        "paper": "arXiv 2601.20307 (READER / TRACE)",
    }
    log = EventLog(clicks=world.clicks_table(cols), events=events, spec=world.feature_spec(meta))
    truth_table = pa.table({"click_id": cols["click_id"], **truth})
    config = {"preset": "trace", "n_clicks": int(n_clicks), "seed": int(seed), "params": asdict(p)}
    return SimResult(log=log, truth=truth_table, config=config)


@register_preset("trace")
def trace(n_clicks: int, seed: int) -> SimResult:
    """TRACE-like post-click GMV world with repurchases (READER, arXiv 2601.20307)."""
    return simulate_trace(n_clicks, seed)


def calibrate(
    n_clicks: int = 2_000_000, seed: int = 12345, params: TraceParams | None = None
) -> TraceParams:
    """One-off solve of the calibrated intercepts against :data:`TARGETS` (exact
    expectations on one large world; not used at run time)."""
    p = params or TraceParams()
    world, eff = _world(n_clicks, seed, p)
    logits = [_logits(world, eff, b, p) for b in world.blocks()]
    eta = np.concatenate([e for e, _ in logits])
    rho = np.concatenate([r for _, r in logits])
    log_scale = np.float32(p.delay_log_scale) - np.float32(p.delay_slope) * eta
    f_w = loglogistic_cdf(p.window_s, log_scale, p.delay_shape)

    def solve(f: Callable[[float], float], target: float) -> float:
        lo, hi = -10.0, 10.0
        for _ in range(50):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if f(mid) < target else (lo, mid)
        return round(0.5 * (lo + hi), 4)

    b = solve(lambda b: float(np.mean(sigmoid(eta + np.float32(b)) * f_w)), TARGETS["cvr"][0])
    p = replace(p, conv_intercept=b)
    w = sigmoid(eta + np.float32(b)) * f_w
    r = solve(
        lambda r: float(np.dot(w, sigmoid(rho + np.float32(r))) / w.sum()),
        TARGETS["repurchase_share"][0],
    )
    return replace(p, rep_intercept=r)
