"""The ``cascade`` preset: a CASCADE-like net-conversion world (click -> pay -> refund).

Follows Luo et al., "Modeling Cascaded Delay Feedback for Online Net Conversion Rate
Prediction: Benchmark, Insights and Solutions" (TESLA, arXiv 2601.19965, WWW 2026) and
its dataset CASCADE (official code: github.com/alimama-tech/NetCVR). Reproduced:

* 25 days of clicks with an hour-of-day volume cycle, 22 categorical fields (8 user,
  6 item, 8 context; layout in :data:`world.STANDARD_FIELDS`), power-law user/item
  popularity, 3-day attribution windows for click->pay and pay->refund (the official
  code's ``pay_attr_window`` / ``refund_attr_window`` defaults);
* several high-cardinality hashed identity fields, as the official embedding sizes show:
  u_1 is the hashed user id and i_2 the hashed item id (bucket counts scale with the
  world, see :data:`world.ID_FIELDS`);
* the published statistics: CVR ~ 0.091, refunds ~ 54 % of conversions, median
  click->pay delay ~ 3.9 h, median pay->refund delay ~ 0.1 h (attributed events only);
* the paper's three insights: NetCVR has strong temporal dynamics (a late-night CVR dip
  and category appeal that drifts from day to day, so an online model beats a frozen
  one); CVR and refund rate are different functions of the features (cascaded modeling
  pays off); and delay carries signal - high-propensity clicks convert faster and
  high-refund-risk purchases are refunded faster.

Generative model (all per click x, vectorised). Every term is a function of the click's
22 observed field codes, except the day drift (by design: the date is not a feature, and
tracking the drift is what online learning is for):

* pay logit  eta(x) = b_pay + sum_f a_f[x_f] + sum_(f,g) <v_f[x_f], v_g[x_g]>
  + drift_pay(day, x_i0) + hour(x_c0) + scene(x_c2) + position(x_c1) + promotion(x_c5)
  + device(x_c6) + network(x_c4), with main effects a_f of the user and item fields
  (:data:`PAY_EFFECTS`: ordinal slopes on coarse derived codes such as membership, price
  and quality buckets; per-code random effects on category, brand, interest cluster and the
  hashed user / item ids u_1 / i_2) and low-rank interactions v_f . v_g between a user
  and an item field (:data:`PAIRS`: interest x category, gender x category, age x category,
  purchasing power x price);
* click->pay delay ~ log-logistic(log scale m_pay - k_pay * (eta - b_pay), shape s_pay);
* refund logit rho(x) = b_ref + sum_f r_f[x_f] (:data:`REFUND_EFFECTS`: crowd tag,
  quality, price, category, ...) + the same pairs with refund weights + promotion
  (+ promotion x crowd tag) + scene - 0.5 hour(x_c0) (late-night regret)
  + drift_ref(day, x_i0);
* pay->refund delay ~ mixture of a fast "cancel" log-logistic (share pi) and a slow
  "return after delivery" log-logistic, both with log scale shifted by -k_ref * (rho - b_ref).

There is no unobserved noise in either logit. Users and items still have latent factors,
but these only generate the codes (so fields are correlated as in a real log: membership,
interest and age share the user's taste latent); outcomes never read a latent directly.
Why: the benchmark reports the truth's metrics as the "Bayes limit", and the truth must be
the best predictor from the features for that limit to mean something (an earlier version
drove the logits by per-user / per-item latents that the fields revealed only through
coarse noisy codes, with no id field; a model trained on 300k clicks reached NetCVR AUC
0.69 against the truth's 0.80). The remaining gap of a trained model is estimation (finite
data: a user clicks ~20 times, so id effects are kept small), the drift, and what the model
cannot learn; ``benchmarks/bayes_gap.py`` and ``benchmarks/oracle_gap.py`` measure them (the
stream Oracle's NetCVR gap: 0.027 at 2M clicks, levelling off near 0.013 by 16M, 0.013 in a
drift-free 8M world; a logistic regression of nearly the truth's form, fitted on 2.4M
labelled clicks of a drift-free world: 0.011; of the truth's own NetCVR AUC at 2M clicks, about
0.002 rests on the id effects and 0.01 on the drift, ``bayes_gap.py --zero-effects``;
docs/conversion.md).

Truth is the probability *within* the attribution window, exactly as labels are drawn:
p_pay = sigmoid(eta) * F_pay(W | x) and p_refund_given_pay = sigmoid(rho) * F_ref(W | x);
a click pays iff U < p_pay and its delay is drawn from the delay law truncated to (0, W],
so the log holds only attributed events. Delays are floored to whole seconds and kept in
[1, W - 1] s (so both ``<= W`` and the official ``< W`` conventions agree).

Deviations: the mechanism is ours (the paper publishes statistics, not a model); drift
is a stationary AR(1) per category and random effects are centred on the expected
clicks (see :mod:`world`), so calibration holds for every seed without tuning; only
the first pay of a click exists (CASCADE keeps the first pay and refund timestamp);
add-to-cart events are not simulated. Calibration constants below were obtained once by
:func:`calibrate` (n_clicks=2_000_000, seed=12345) and are hard-coded.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import numpy as np
import pyarrow as pa

from shopml.data.eventlog import EventLog
from shopml.data.simulate import SimResult, register_preset
from shopml.data.simulate.world import (
    CASCADE_EPOCH,
    DAY,
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

_SALT = 0xCA5CADE
#: The published CASCADE statistics this preset is calibrated to (value, acceptance window).
TARGETS = {
    "cvr": (0.091, (0.081, 0.101)),
    "refund_share": (0.54, (0.49, 0.59)),
    "median_pay_delay_h": (3.9, (3.12, 4.68)),
    "median_refund_delay_h": (0.1, (0.05, 0.2)),
}

# Context effects (observed per click): 12 scenes, 4 devices, 3 network types.
_SCENE_PAY = np.array([0.0, 0.15, -0.10, 0.25, -0.30, 0.05, 0.10, -0.20, 0.30, 0.0, -0.05, 0.2],
                      dtype=np.float32)  # fmt: skip
_SCENE_REFUND = np.array([0.0, 0.10, 0.05, -0.20, 0.30, 0.0, 0.15, 0.0, -0.10, 0.2, 0.0, 0.1],
                         dtype=np.float32)  # fmt: skip
_DEVICE_PAY = np.array([0.0, 0.08, -0.12, 0.05], dtype=np.float32)
_NETWORK_PAY = np.array([0.0, -0.06, 0.04], dtype=np.float32)

#: Main effects of the user and item fields on the pay logit (sd on the logit scale of the
#: ordinal part and of the per-code random part; see :class:`world.Effect`). Coarse fields
#: carry most of the signal; the hashed ids (u_1, i_2) a moderate share.
PAY_EFFECTS: dict[str, Effect] = {
    "u_0": Effect(sd=0.10),  # gender
    "u_1": Effect(sd=0.12),  # user id
    "u_2": Effect(sd=0.15),  # interest cluster
    "u_4": Effect(slope=0.15),  # age
    "u_5": Effect(slope=0.15),  # purchasing power
    "u_6": Effect(slope=0.50),  # membership (the propensity latent's proxy)
    "u_7": Effect(slope=-0.15),  # activity: heavy browsers buy less per click
    "i_0": Effect(sd=0.30),  # category (static level; the daily drift comes on top)
    "i_1": Effect(sd=0.12),  # brand
    "i_2": Effect(sd=0.12),  # item id
    "i_3": Effect(slope=0.15),  # shop type
    "i_4": Effect(slope=-0.35),  # price bucket
    "i_5": Effect(slope=0.25),  # quality score
}
#: Main effects on the refund logit (learnt from paid clicks only: kept to coarse fields).
REFUND_EFFECTS: dict[str, Effect] = {
    "u_0": Effect(sd=0.10),
    "u_1": Effect(sd=0.05),
    "u_3": Effect(slope=0.55),  # crowd tag (the refund-proneness latent's proxy)
    "u_4": Effect(slope=-0.10),
    "u_6": Effect(slope=0.10),  # impulse buyers
    "i_0": Effect(sd=0.30),  # category refund level
    "i_1": Effect(sd=0.05),
    "i_2": Effect(sd=0.05),
    "i_3": Effect(slope=-0.15),
    "i_4": Effect(slope=0.20),  # expensive items are returned more
    "i_5": Effect(slope=-0.45),  # quality
}
#: Low-rank user-field x item-field interactions; weights = (pay, refund) sds.
PAIRS: tuple[Pair, ...] = (
    Pair("u_2", "i_0", rank=2, weights=(0.20, -0.15)),  # interest x category (affinity)
    Pair("u_0", "i_0", rank=1, weights=(0.25, 0.0)),  # gender x category
    Pair("u_4", "i_0", rank=1, weights=(0.20, 0.10)),  # age x category
    Pair("u_5", "i_4", rank=1, weights=(0.25, -0.10), ordinal=True),  # power x price
)


@dataclass(frozen=True)
class CascadeParams:
    """Constants of the cascade world; the ``*_intercept`` and ``*_log_scale`` ones are
    calibrated (see module docstring), the rest are modelling choices."""

    n_days: int = 25
    epoch: int = CASCADE_EPOCH
    conversion_window_s: int = 3 * DAY
    refund_window_s: int = 3 * DAY
    # pay propensity
    pay_intercept: float = -2.603  # calibrated: mean p_pay = 0.091
    position_slope: float = -0.006
    promo_pay: float = 0.35
    drift_sd: float = 0.35  # category appeal: stationary sd on the logit scale
    drift_phi: float = 0.85  # day-to-day autocorrelation of category appeal
    global_drift_sd: float = 0.08
    # click -> pay delay (log-logistic)
    pay_delay_log_scale: float = 10.1051  # calibrated: median attributed delay = 3.9 h
    pay_delay_shape: float = 1.0
    pay_delay_slope: float = 0.45  # log-scale drop per unit of pay logit (faster if likely)
    # refund given pay
    refund_intercept: float = 0.5006  # calibrated: refund share of conversions = 0.54
    promo_refund: float = 0.45
    promo_crowd_refund: float = 0.25  # promotion x crowd tag: impulse buyers regret deals
    refund_drift_sd: float = 0.15
    # pay -> refund delay (mixture of fast cancels and slow returns, log-logistic)
    cancel_share: float = 0.6
    cancel_log_scale: float = 4.6398  # calibrated: median attributed refund delay = 0.1 h
    cancel_shape: float = 1.0
    return_log_scale: float = float(np.log(30 * HOUR))
    return_shape: float = 0.5
    refund_delay_slope: float = 0.35  # log-scale drop per unit of refund logit
    # amounts
    amount_sigma: float = 0.15


def _split(effects: dict[str, Effect], side: str) -> dict[str, Effect]:
    return {name: e for name, e in effects.items() if name[0] == side[0]}


@dataclass
class _Effects:
    """Per-user / per-item sums of the observed fields' effects, the interaction factors and
    the per-(day, category) drift (all centred on the expected clicks)."""

    user_pay: np.ndarray
    item_pay: np.ndarray
    user_ref: np.ndarray
    item_ref: np.ndarray
    user_promo_ref: np.ndarray  # refund effect of a promotion, per user (via the crowd tag)
    factors: Factors
    drift: np.ndarray  # flat (n_days * n_categories)
    ref_drift: np.ndarray


def _effects(world: World, p: CascadeParams, rng: np.random.Generator) -> _Effects:
    """Draw the effect tables of the pay and refund logits (functions of observed codes)."""
    n_cat = world.n_categories
    crowd = standardized(ordinal_scores(world.vocab["u_3"]), world.code_shares("u_3"))
    drift = ar1_drift(rng, p.n_days, n_cat, p.drift_sd, p.drift_phi)
    drift += ar1_drift(rng, p.n_days, 1, p.global_drift_sd, p.drift_phi)
    ref_drift = ar1_drift(rng, p.n_days, n_cat, p.refund_drift_sd, p.drift_phi)
    cells = world.cell_shares()
    return _Effects(
        user_pay=world.main_effects(rng, "user", _split(PAY_EFFECTS, "user")),
        item_pay=world.main_effects(rng, "item", _split(PAY_EFFECTS, "item")),
        user_ref=world.main_effects(rng, "user", _split(REFUND_EFFECTS, "user")),
        item_ref=world.main_effects(rng, "item", _split(REFUND_EFFECTS, "item")),
        user_promo_ref=np.float32(p.promo_crowd_refund) * np.take(crowd, world.user_fields["u_3"]),
        factors=world.pair_factors(rng, PAIRS),
        drift=centered(drift, cells).ravel(),
        ref_drift=centered(ref_drift, cells).ravel(),
    )


def _logits(
    world: World, eff: _Effects, b: ClickBlock, p: CascadeParams
) -> tuple[np.ndarray, np.ndarray]:
    """Pay and refund logits (without intercepts) of one block of clicks, float32."""
    cell = b.day * world.n_categories + b.category
    promo = b.promo.astype(np.float32)
    hour_eff = HOURLY_LOGIT[b.hour]

    eta = np.take(eff.user_pay, b.user)
    eta += np.take(eff.item_pay, b.item)
    eta += np.take(eff.drift, cell)
    eta += hour_eff
    eta += _SCENE_PAY[b.scene]
    eta += np.float32(p.position_slope) * b.position
    eta += np.float32(p.promo_pay) * promo
    eta += _DEVICE_PAY[b.device]
    eta += _NETWORK_PAY[b.network]

    rho = np.take(eff.user_ref, b.user)
    rho += np.take(eff.item_ref, b.item)
    rho += np.take(eff.ref_drift, cell)
    rho += (np.float32(p.promo_refund) + np.take(eff.user_promo_ref, b.user)) * promo
    rho += _SCENE_REFUND[b.scene]
    rho -= np.float32(0.5) * hour_eff  # late-night purchases are regretted more often
    world.pair_terms(eff.factors, b, [eta, rho])
    return eta, rho


@dataclass
class _Laws:
    p_pay_inf: np.ndarray
    pay_log_scale: np.ndarray
    pay_in_window: np.ndarray  # F_pay(W | x)
    p_ref_inf: np.ndarray
    cancel_log_scale: np.ndarray
    return_log_scale: np.ndarray
    cancel_in_window: np.ndarray  # pi * L_cancel(W | x)
    return_in_window: np.ndarray  # (1 - pi) * L_return(W | x)

    @property
    def p_pay(self) -> np.ndarray:
        return self.p_pay_inf * self.pay_in_window

    @property
    def p_refund(self) -> np.ndarray:
        return self.p_ref_inf * (self.cancel_in_window + self.return_in_window)


def _laws(eta: np.ndarray, rho: np.ndarray, p: CascadeParams) -> _Laws:
    """Outcome probabilities and delay laws of clicks with logits (eta, rho) under `p`."""
    f32 = np.float32
    pay_ls = f32(p.pay_delay_log_scale) - f32(p.pay_delay_slope) * eta
    shift = f32(p.refund_delay_slope) * rho
    cancel_ls = f32(p.cancel_log_scale) - shift
    return_ls = f32(p.return_log_scale) - shift
    return _Laws(
        p_pay_inf=sigmoid(eta + f32(p.pay_intercept)),
        pay_log_scale=pay_ls,
        pay_in_window=loglogistic_cdf(p.conversion_window_s, pay_ls, p.pay_delay_shape),
        p_ref_inf=sigmoid(rho + f32(p.refund_intercept)),
        cancel_log_scale=cancel_ls,
        return_log_scale=return_ls,
        cancel_in_window=f32(p.cancel_share)
        * loglogistic_cdf(p.refund_window_s, cancel_ls, p.cancel_shape),
        return_in_window=f32(1 - p.cancel_share)
        * loglogistic_cdf(p.refund_window_s, return_ls, p.return_shape),
    )


def _world(n_clicks: int, seed: int, p: CascadeParams) -> tuple[World, _Effects]:
    world_ss, effect_ss = np.random.SeedSequence([int(seed), _SALT]).spawn(2)
    world = build_world(world_ss, int(n_clicks), p.n_days, p.epoch)
    return world, _effects(world, p, np.random.default_rng(effect_ss))


def _outcomes(b: ClickBlock, law: _Laws, world: World, p: CascadeParams) -> tuple[np.ndarray, ...]:
    """Sample one block's attributed pays and refunds: (paid rows, pay ts, amounts,
    refunded rows, refund ts, refund amounts); rows are global click ids."""
    rng = b.rng
    paid = np.flatnonzero(rng.random(len(b), dtype=np.float32) < law.p_pay)
    q = rng.random(len(paid), dtype=np.float32) * law.pay_in_window[paid]
    pay_delay = integer_delays(
        loglogistic_quantile(q, law.pay_log_scale[paid], p.pay_delay_shape),
        p.conversion_window_s,
    )
    pay_ts = b.ts[paid] + pay_delay
    price = np.take(world.item_price, b.item[paid])
    amount = np.maximum(np.round(price * lognormal_noise(rng, len(paid), p.amount_sigma), 2), 0.01)

    ref_sel = rng.random(len(paid), dtype=np.float32) < law.p_refund[paid]
    refunded = paid[ref_sel]
    c_w = law.cancel_in_window[refunded]
    r_w = law.return_in_window[refunded]
    is_cancel = rng.random(len(refunded), dtype=np.float32) * (c_w + r_w) < c_w
    v = rng.random(len(refunded), dtype=np.float32)
    share = np.float32(p.cancel_share)
    cancel_delay = loglogistic_quantile(
        v * c_w / share, law.cancel_log_scale[refunded], p.cancel_shape
    )
    return_delay = loglogistic_quantile(
        v * r_w / (1 - share), law.return_log_scale[refunded], p.return_shape
    )
    ref_delay = integer_delays(np.where(is_cancel, cancel_delay, return_delay), p.refund_window_s)
    return (
        paid + b.start,
        pay_ts,
        amount,
        refunded + b.start,
        pay_ts[ref_sel] + ref_delay,
        amount[ref_sel],
    )


def simulate_cascade(
    n_clicks: int, seed: int = 0, params: CascadeParams | None = None
) -> SimResult:
    """Simulate a CASCADE-like world of `n_clicks` clicks over 25 days, deterministic for `seed`."""
    check_args(n_clicks, seed)
    p = params or CascadeParams()
    world, eff = _world(n_clicks, seed, p)
    n = world.n_clicks
    cols = world.new_clicks_columns()
    truth = {
        name: np.empty(n, dtype=np.float64)
        for name in ("p_pay", "p_refund_given_pay", "p_net", "pay_delay_scale_s",
                     "refund_delay_scale_s", "p_pay_no_drift", "p_net_no_drift")
    }  # fmt: skip
    parts: list[tuple[np.ndarray, ...]] = []
    for b in world.blocks():
        world.fill_clicks(cols, b)
        eta, rho = _logits(world, eff, b, p)
        law = _laws(eta, rho, p)
        sl = slice(b.start, b.stop)
        p_pay, p_ref = law.p_pay, law.p_refund
        truth["p_pay"][sl] = p_pay
        truth["p_refund_given_pay"][sl] = p_ref
        truth["p_net"][sl] = p_pay * (1 - p_ref)
        truth["pay_delay_scale_s"][sl] = np.exp(law.pay_log_scale)
        truth["refund_delay_scale_s"][sl] = np.exp(law.cancel_log_scale)
        # the same click on an average day (drift terms at their stationary mean, 0): the
        # best any predictor that cannot see the day could approach (benchmarks/bayes_gap.py)
        cell = b.day * world.n_categories + b.category
        still = _laws(eta - np.take(eff.drift, cell), rho - np.take(eff.ref_drift, cell), p)
        truth["p_pay_no_drift"][sl] = still.p_pay
        truth["p_net_no_drift"][sl] = still.p_pay * (1 - still.p_refund)
        parts.append(_outcomes(b, law, world, p))

    paid, pay_ts, amount, refunded, ref_ts, ref_amount = (
        np.concatenate([part[k] for part in parts]) for k in range(6)
    )
    events = events_table(
        np.concatenate([paid, refunded]),
        np.concatenate([np.zeros(len(paid), np.int8), np.ones(len(refunded), np.int8)]),
        ("pay", "refund"),
        np.concatenate([pay_ts, ref_ts]),
        np.concatenate([amount, ref_amount]),
    )
    meta = {
        "source": "simulator",
        "preset": "cascade",
        "seed": int(seed),
        "conversion_window_s": p.conversion_window_s,
        "refund_window_s": p.refund_window_s,
        "start_ts": p.epoch,
        "end_ts": p.epoch + p.n_days * DAY,
        "n_days": p.n_days,
        "truth": {
            "p_pay": "P(pay within conversion window | click)",
            "p_refund_given_pay": "P(refund within refund window of the pay | pay)",
            "p_net": "p_pay * (1 - p_refund_given_pay)",
            "pay_delay_scale_s": "median of the untruncated click->pay delay law",
            "refund_delay_scale_s": "median of the untruncated fast (cancel) refund delay law",
            "p_pay_no_drift": "p_pay with the day-drift terms at their mean (0)",
            "p_net_no_drift": "p_net with the day-drift terms at their mean (0)",
        },
        "paper": "arXiv 2601.19965 (TESLA / CASCADE)",
    }
    log = EventLog(clicks=world.clicks_table(cols), events=events, spec=world.feature_spec(meta))
    truth_table = pa.table({"click_id": cols["click_id"], **truth})
    config = {
        "preset": "cascade",
        "n_clicks": int(n_clicks),
        "seed": int(seed),
        "params": asdict(p),
    }
    return SimResult(log=log, truth=truth_table, config=config)


@register_preset("cascade")
def cascade(n_clicks: int, seed: int, params: dict | None = None) -> SimResult:
    """CASCADE-like click -> pay -> refund world (TESLA, arXiv 2601.19965).

    `params` overrides fields of :class:`CascadeParams` (sensitivity studies such as the
    drift-strength sweep; the defaults are the calibrated world).
    """
    if not params:
        return simulate_cascade(n_clicks, seed)
    known = set(CascadeParams.__dataclass_fields__)
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(f"unknown cascade parameters {unknown}; choose from {sorted(known)}")
    checked = {name: _check_param(name, value) for name, value in params.items()}
    return simulate_cascade(n_clicks, seed, replace(CascadeParams(), **checked))


def _check_param(name: str, value: object) -> int | float:
    """The value as its field's kind (10.0 -> 10 for a whole-number field); ValueError naming
    a parameter that is not a number of its kind or outside the range its distribution allows."""
    integral = CascadeParams.__dataclass_fields__[name].type in ("int", int)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"cascade parameter {name}: expected a number, got {value!r}")
    if not np.isfinite(value) or (integral and value != int(value)):
        kind = "a whole number" if integral else "a finite number"
        raise ValueError(f"cascade parameter {name}: expected {kind}, got {value!r}")
    if name == "drift_phi" and not 0 <= value < 1:
        raise ValueError(f"cascade parameter drift_phi: must be in [0, 1), got {value!r}")
    if name == "cancel_share" and not 0 <= value <= 1:
        raise ValueError(f"cascade parameter cancel_share: must be in [0, 1], got {value!r}")
    if (name.endswith(("_sd", "_sigma"))) and value < 0:
        raise ValueError(f"cascade parameter {name}: a spread cannot be negative, got {value!r}")
    if (name.endswith(("_shape", "_window_s")) or name == "n_days") and value <= 0:
        raise ValueError(f"cascade parameter {name}: must be positive, got {value!r}")
    return int(value) if integral else float(value)


# ------------------------------------------------------------------------------ calibration
def _weighted_median_delay(
    weights: np.ndarray, parts: list[tuple[float, np.ndarray, float, int]]
) -> float:
    """Median (s) of the delay law mixed over clicks with `weights`, each click's law being
    sum(share * loglogistic(log_scale, shape)) over `parts`, truncated to each part's window."""

    def mass(t: float) -> float:
        return sum(
            float(np.dot(weights, share * loglogistic_cdf(min(t, win), ls, shape)))
            for share, ls, shape, win in parts
        )

    half = 0.5 * mass(float(max(win for *_, win in parts)))
    lo, hi = 0.0, float(np.log(max(win for *_, win in parts)))
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if mass(float(np.exp(mid))) < half else (lo, mid)
    return float(np.exp(0.5 * (lo + hi)))


def calibrate(
    n_clicks: int = 2_000_000, seed: int = 12345, params: CascadeParams | None = None
) -> CascadeParams:
    """One-off solve of the four calibrated constants against :data:`TARGETS` (exact
    expectations under the model on one large world; not used at run time)."""
    p = params or CascadeParams()
    world, eff = _world(n_clicks, seed, p)
    logits = [_logits(world, eff, b, p) for b in world.blocks()]
    eta = np.concatenate([e for e, _ in logits])
    rho = np.concatenate([r for _, r in logits])
    W, RW = p.conversion_window_s, p.refund_window_s

    def solve(f: Callable[[float], float], lo: float, hi: float, target: float) -> float:
        for _ in range(50):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if f(mid) < target else (lo, mid)
        return 0.5 * (lo + hi)

    for _ in range(6):
        law = _laws(eta, rho, p)
        f_w = law.pay_in_window
        b = solve(lambda b, f_w=f_w: float(np.mean(sigmoid(eta + np.float32(b)) * f_w)), -8, 4,
                  TARGETS["cvr"][0])  # fmt: skip
        p = replace(p, pay_intercept=round(b, 4))
        law = _laws(eta, rho, p)
        med = _weighted_median_delay(
            law.p_pay_inf, [(1.0, law.pay_log_scale, p.pay_delay_shape, W)]
        )
        target = TARGETS["median_pay_delay_h"][0] * HOUR
        p = replace(p, pay_delay_log_scale=round(p.pay_delay_log_scale + np.log(target / med), 4))
    w_pay = _laws(eta, rho, p).p_pay
    for _ in range(6):
        law = _laws(eta, rho, p)
        g_w = law.cancel_in_window + law.return_in_window
        b = solve(
            lambda b, g_w=g_w: float(np.dot(w_pay, sigmoid(rho + np.float32(b)) * g_w) / w_pay.sum()),
            -8, 8, TARGETS["refund_share"][0],
        )  # fmt: skip
        p = replace(p, refund_intercept=round(b, 4))
        law = _laws(eta, rho, p)
        med = _weighted_median_delay(
            w_pay * law.p_ref_inf,
            [
                (p.cancel_share, law.cancel_log_scale, p.cancel_shape, RW),
                (1 - p.cancel_share, law.return_log_scale, p.return_shape, RW),
            ],
        )
        target = TARGETS["median_refund_delay_h"][0] * HOUR
        p = replace(p, cancel_log_scale=round(p.cancel_log_scale + np.log(target / med), 4))
    return p
