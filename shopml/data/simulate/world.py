"""Shared generative building blocks of the simulated marketplaces.

A world is a set of users and items with latent factors, categorical fields
derived from those factors plus noise (and two hashed identity fields), power-law
popularity, clicks spread over days with an hour-of-day volume cycle, and slowly
drifting segment appeal. The outcome models (pay, refund, repurchase, ...) live in the
presets; this module holds only what several presets share, so that e.g. ``cascade``
and ``trace`` draw their marketplaces the same way.

Observability. The latents only *generate* the field codes; the presets build their
logits from the codes themselves (:meth:`World.main_effects`: a per-code effect of each
user / item field, :class:`Effect`; :meth:`World.pair_factors`: low-rank FM-style
interactions <v_f[x_f], v_g[x_g]> between a user field and an item field, :class:`Pair`),
plus context-field effects and a per-(day, category) drift. So the true probabilities are
a function of the 22 declared fields and the day, never of a hidden per-user or per-item
quantity: the truth is the best predictor a model can aim for (the "Bayes limit" of the
benchmarks). The user and item identities are observable as the hashed id fields u_1 and
i_2 (:data:`ID_FIELDS`; code = id mod bucket count, the bucket count being the smallest
power of two >= the number of users / items, capped below the official embedding size),
as in CASCADE, whose embedding sizes show several hashed id-like fields.

Follows the data-generating picture of the two Alibaba benchmarks the presets
imitate: CASCADE (Luo et al., "Modeling Cascaded Delay Feedback for Online Net
Conversion Rate Prediction", arXiv 2601.19965, WWW 2026; 22 categorical
user/item/context fields, 25 days, strong hour-of-day and day-to-day dynamics)
and TRACE (Li et al., "Delayed Feedback Modeling for Post-Click Gross Merchandise
Volume Prediction", arXiv 2601.20307, WWW 2026; the same 22-field layout over 82
days). Neither paper publishes a generative model; everything here is our own
construction, chosen to reproduce the published *statistics* rather than the
(unreleased) mechanism. Deviations worth knowing:

* The hour of day is read from the UTC clock of ``ts`` (the simulated world's
  local clock); the real logs are in China time.
* Segment drift is a *stationary* AR(1) process per segment rather than a pure
  random walk, so the population-level rates (and hence the hard-coded
  calibration of every preset) do not depend on the seed, while a segment's
  appeal still wanders from day to day (day-to-day autocorrelation ``phi``).
* Effects of field codes are centred and scaled to their intended sd under the expected
  click shares of the codes (:func:`standardized`), and the (day, category) drift is
  centred the same way (a sum-to-zero convention, :func:`centered`), for the same reason.
* Popularity is Zipf-Mandelbrot with an offset proportional to the population, so the
  head's share of clicks (top 1 % of items ~ 20 %, of users ~ 10 %) is the same at every
  scale; clicks are generated day by day (:meth:`World.blocks`), each day from its own
  seed, which keeps temporaries small (cache- and allocator-friendly at 10M clicks).
* Field vocabularies (:data:`STANDARD_FIELDS`) are far smaller than the real
  hashed vocabularies (the id fields' bucket counts grow with the world, up to 2^18 users
  and 2^17 items without collisions), and chosen no larger than the embedding tables of both
  official codebases (``cate_bin_size`` in alimama-tech/NetCVR and
  alimama-tech/OnlineGMV), so the official models can embed our codes directly.

Everything is vectorised NumPy on whole columns (loops run over days, never rows);
per-entity arrays are small (users ~ clicks/20, items ~ clicks/50) and per-click
temporaries are float32/int32; the output columns are int64 as the schema requires.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pyarrow as pa
from scipy.special import ndtr, ndtri

from shopml.data.schema import Feature, FeatureSpec

HOUR = 3_600
DAY = 86_400
#: 2025-01-01 00:00:00 UTC, the default start of a simulated world.
DEFAULT_EPOCH = 1_735_689_600
#: 2025-05-01 00:00:00 UTC: CASCADE spans 2025-05-01 .. 2025-05-25 (per the official
#: processing script's start date and source folder name).
CASCADE_EPOCH = 1_746_057_600

#: Relative click volume per hour of day (00h..23h): a night trough around 03-05h and
#: an evening peak at 20-22h, the usual shape of mobile e-commerce traffic.
HOURLY_VOLUME = np.array(
    [0.55, 0.35, 0.22, 0.16, 0.14, 0.17, 0.30, 0.55, 0.80, 0.95, 1.00, 1.02,
     1.05, 1.00, 0.98, 0.98, 1.00, 1.02, 1.05, 1.12, 1.25, 1.32, 1.22, 0.90],
    dtype=np.float64,
)  # fmt: skip

#: Additive effect on a conversion logit per hour of day: a late-night dip (people
#: browse without buying at 01-05h) and a mild afternoon/evening lift.
HOURLY_LOGIT = np.array(
    [-0.12, -0.24, -0.36, -0.42, -0.40, -0.30, -0.16, -0.04, 0.02, 0.05, 0.06, 0.07,
     0.08, 0.08, 0.09, 0.09, 0.08, 0.07, 0.06, 0.06, 0.07, 0.06, 0.03, -0.04],
    dtype=np.float32,
)  # fmt: skip

#: Relative click volume per weekday (Mon..Sun): slightly busier weekends.
WEEKDAY_VOLUME = np.array([0.97, 0.96, 0.97, 0.98, 1.00, 1.06, 1.06], dtype=np.float64)


@dataclass(frozen=True)
class FieldDef:
    """One of the 22 categorical fields: name, vocabulary size, group and meaning."""

    name: str
    vocab: int
    group: str
    meaning: str


#: The 22-field layout shared by the CASCADE- and TRACE-like presets, in the column order
#: of the official files. Vocabularies are <= min(NetCVR cate_bin_size, OnlineGMV
#: cate_bin_size) at the same position.
STANDARD_FIELDS: tuple[FieldDef, ...] = (
    FieldDef("u_0", 3, "user", "gender (from latent taste + noise)"),
    FieldDef("u_1", 2**18, "user", "user id, hashed (user id mod the world's bucket count)"),
    FieldDef("u_2", 1024, "user", "interest cluster (from latent taste)"),
    FieldDef("u_3", 256, "user", "crowd tag (from refund-proneness latent)"),
    FieldDef("u_4", 8, "user", "age bucket"),
    FieldDef("u_5", 10, "user", "purchasing-power level (from spending latent)"),
    FieldDef("u_6", 6, "user", "membership level (from purchase-propensity latent)"),
    FieldDef("u_7", 20, "user", "activity level (from click popularity + noise)"),
    FieldDef("i_0", 64, "item", "category (the drifting segment)"),
    FieldDef("i_1", 4096, "item", "brand (64 per category)"),
    FieldDef("i_2", 2**17, "item", "item id, hashed (item id mod the world's bucket count)"),
    FieldDef("i_3", 3, "item", "shop type (from item quality + noise)"),
    FieldDef("i_4", 32, "item", "price bucket (quantiles of log price)"),
    FieldDef("i_5", 20, "item", "quality score (from item quality + noise)"),
    FieldDef("c_0", 24, "context", "hour of day"),
    FieldDef("c_1", 100, "context", "position in the result list (0 = top)"),
    FieldDef("c_2", 12, "context", "scene / page"),
    FieldDef("c_3", 7, "context", "weekday (0 = Monday)"),
    FieldDef("c_4", 3, "context", "network type"),
    FieldDef("c_5", 2, "context", "promotion flag"),
    FieldDef("c_6", 4, "context", "device (mostly the user's main device)"),
    FieldDef("c_7", 7, "context", "request bucket (pure noise)"),
)
#: The hashed identity fields: their vocabulary (bucket count) is the smallest power of two
#: >= the number of users / items of the world, at most the :data:`STANDARD_FIELDS` vocab
#: (the cap; ids beyond it share buckets), so small worlds get small embedding tables.
ID_FIELDS = {"u_1": "user", "i_2": "item"}
#: Embedding-table sizes of the official codebases, per column (for reference / checks).
NETCVR_BIN_SIZES = (8, 327680, 655360, 655360, 8192, 655360, 16, 32, 256, 81920, 163840,
                    8, 512, 128, 256, 1024, 128, 16, 8, 8, 16, 16)  # fmt: skip
ONLINEGMV_BIN_SIZES = (5, 3604778, 1951876, 432750, 14, 19, 2638598, 1962400, 11123, 397159,
                       578622, 3, 622, 107, 8009, 30685, 104, 10, 3, 2, 9, 7)  # fmt: skip
FIELDS_BY_NAME: dict[str, FieldDef] = {f.name: f for f in STANDARD_FIELDS}


# ---------------------------------------------------------------------------- math helpers
def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function, dtype-preserving."""
    return 1.0 / (1.0 + np.exp(-x))


def loglogistic_cdf(t: float | np.ndarray, log_scale: np.ndarray, shape: float) -> np.ndarray:
    """CDF at `t` of a log-logistic delay: log D = log_scale + shape * Logistic(0, 1)."""
    z = (np.log(np.asarray(t, dtype=log_scale.dtype)) - log_scale) / np.asarray(
        shape, dtype=log_scale.dtype
    )
    return sigmoid(z)


def loglogistic_quantile(q: np.ndarray, log_scale: np.ndarray, shape: float) -> np.ndarray:
    """Inverse CDF of the log-logistic delay (q in (0, 1))."""
    q = np.clip(q, 1e-7, 1 - 1e-7)
    return np.exp(log_scale + shape * np.log(q / (1 - q)))


def integer_delays(delay_s: np.ndarray, window_s: int) -> np.ndarray:
    """Round continuous delays in (0, window] to whole seconds in [1, window - 1]."""
    return np.clip(delay_s.astype(np.int64), 1, window_s - 1)


# ---------------------------------------------------------------------- entity generation
def latent_factors(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    """Standard-normal latent factors, shape (dim, n) float32 (one contiguous row per factor)."""
    return rng.standard_normal((dim, n), dtype=np.float32)


@dataclass(frozen=True)
class PowerLaw:
    """Zipf-Mandelbrot popularity over `size` entities: P(rank r) ~ (r + offset)^-exponent
    (continuous approximation, sampled by inverse CDF); ids are a random permutation of
    ranks. An offset proportional to `size` keeps the head's share the same at any scale."""

    size: int
    exponent: float
    offset: float
    perm: np.ndarray  # id of each rank, int32

    @classmethod
    def draw(
        cls, rng: np.random.Generator, size: int, exponent: float = 1.0, offset: float = 0.0
    ) -> PowerLaw:
        """A popularity law with a random rank -> id permutation."""
        if size < 1:
            raise ValueError(f"size must be >= 1, got {size}")
        if exponent < 0 or offset < 0:
            raise ValueError(f"exponent and offset must be >= 0, got {exponent}, {offset}")
        return cls(size, exponent, offset, rng.permutation(size).astype(np.int32))

    def _g(self, x: np.ndarray | float) -> np.ndarray:
        if abs(self.exponent - 1.0) < 1e-9:
            return np.log(x)
        return np.power(x, 1.0 - self.exponent)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """`n` entity ids (int32)."""
        lo, hi = self.offset + 1.0, self.offset + self.size + 1.0
        u = rng.random(n, dtype=np.float32)
        if abs(self.exponent - 1.0) < 1e-9:
            x = np.exp(u * np.float32(np.log(hi / lo)))
            x *= np.float32(lo)
        else:
            a = 1.0 - self.exponent
            x = np.exp(np.log(np.float32(lo**a) + u * np.float32(hi**a - lo**a)) / np.float32(a))
        x -= np.float32(self.offset + 1.0)
        rank = np.clip(x.astype(np.int32), 0, self.size - 1)
        return np.take(self.perm, rank)

    def shares(self) -> np.ndarray:
        """Exact probability of each id under :meth:`sample` (float64, sums to 1)."""
        lo, hi = self.offset + 1.0, self.offset + self.size + 1.0
        edges = self._g(self.offset + 1.0 + np.arange(self.size + 1, dtype=np.float64))
        by_rank = np.diff(edges) / (self._g(hi) - self._g(lo))
        out = np.empty(self.size)
        out[self.perm] = by_rank
        return out


def derived_codes(
    rng: np.random.Generator,
    latent: np.ndarray,
    weights: tuple[float, ...] | np.ndarray,
    vocab: int,
    noise: float = 0.5,
) -> np.ndarray:
    """Categorical codes in [0, vocab) from a noisy projection of latent factors.

    x = weights . latent + noise * N(0,1), mapped through the normal CDF of its own scale
    and cut into `vocab` equal-probability bins: codes near each other share latent values,
    so a field is informative about the latent without revealing it."""
    w = np.asarray(weights, dtype=np.float32)
    if w.shape[0] != latent.shape[0]:
        raise ValueError(f"{w.shape[0]} weights for {latent.shape[0]} latent factors")
    x = np.tensordot(w, latent, axes=1) + np.float32(noise) * rng.standard_normal(
        latent.shape[1], dtype=np.float32
    )
    sd = float(np.sqrt(np.sum(w.astype(np.float64) ** 2) + noise**2)) or 1.0
    return np.minimum((ndtr(x / sd) * vocab).astype(np.int64), vocab - 1)


def quantile_codes(values: np.ndarray, vocab: int) -> np.ndarray:
    """Equal-frequency bucket codes in [0, vocab) of a per-entity value (by rank)."""
    order = np.argsort(values, kind="stable")
    codes = np.empty(len(values), dtype=np.int64)
    codes[order] = (np.arange(len(values), dtype=np.int64) * vocab) // max(len(values), 1)
    return codes


def centered(effect: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """`effect` minus its mean under the click `shares` of its entities (or cells): a
    sum-to-zero convention for random effects, so a preset's population rate is set by its
    intercept, not by which entities happen to be popular in a given seed."""
    mean = float(np.dot(shares.ravel(), effect.ravel().astype(np.float64)) / shares.sum())
    return (effect - np.float32(mean)).astype(np.float32)


def ar1_drift(
    rng: np.random.Generator, n_steps: int, n_segments: int, sd: float, phi: float
) -> np.ndarray:
    """Stationary AR(1) paths, shape (n_steps, n_segments) float32: marginal sd `sd`,
    step-to-step autocorrelation `phi` (1 - phi is the mean-reversion per step)."""
    if not 0 <= phi < 1:
        raise ValueError(f"phi must be in [0, 1), got {phi}")
    out = np.empty((n_steps, n_segments), dtype=np.float32)
    out[0] = rng.normal(0.0, sd, n_segments)
    innovation = sd * np.sqrt(1 - phi * phi)
    for t in range(1, n_steps):  # loop over days, not rows
        out[t] = phi * out[t - 1] + rng.normal(0.0, innovation, n_segments)
    return out


def id_buckets(n: int, cap: int) -> int:
    """Bucket count of a hashed identity field: the smallest power of two >= `n`, at most `cap`."""
    return min(int(cap), 1 << max(int(n) - 1, 0).bit_length())


def standardized(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per-code `values` centred and scaled to unit sd under the codes' click shares
    `weights` (float32; all zeros if the values are constant over the weighted codes)."""
    w = np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    x = np.asarray(values, dtype=np.float64)
    x = x - float(np.dot(w, x))
    sd = float(np.sqrt(np.dot(w, x * x)))
    return (x / sd if sd > 1e-9 else np.zeros_like(x)).astype(np.float32)


def ordinal_scores(vocab: int) -> np.ndarray:
    """Normal score of each code of an ordinal field: the centre of the code's bin when a
    standard normal is cut into `vocab` equal-probability bins (as :func:`derived_codes` and
    :func:`quantile_codes` do), float64."""
    return ndtri((np.arange(vocab, dtype=np.float64) + 0.5) / vocab)


@dataclass(frozen=True)
class Effect:
    """Main effect of one observed field on a logit: ``slope`` times the code's ordinal
    score plus an independent random effect per code of sd ``sd``. Both parts are
    standardised to unit sd (and zero mean) over the expected clicks, so ``slope`` and
    ``sd`` are the sds of the two parts on the logit scale, whatever the seed."""

    slope: float = 0.0
    sd: float = 0.0


@dataclass(frozen=True)
class Pair:
    """A low-rank (FM-style) interaction between an observed user field and an observed item
    field: per click sum_k a_k[user code] * b_k[item code] / sqrt(rank), each factor a
    unit-sd, click-centred function of the code (the ordinal score if ``ordinal``, else
    random); the term enters the preset's logit j with weight ``weights[j]`` (so a weight is
    the term's sd on that logit, and its click mean is 0: users and items are independent)."""

    user_field: str
    item_field: str
    rank: int
    weights: tuple[float, ...]
    ordinal: bool = False


@dataclass
class Factors:
    """Per-entity factors of a set of :class:`Pair` interactions: ``user`` (K, n_users),
    ``item`` (K, n_items) float32, and ``weights`` (K, n_logits) float32 (1/sqrt(rank) folded in)."""

    user: np.ndarray
    item: np.ndarray
    weights: np.ndarray


def weekday_of(ts: int) -> int:
    """Weekday (0 = Monday) of a unix timestamp (UTC)."""
    return int((ts // DAY + 3) % 7)  # 1970-01-01 was a Thursday


def sorted_times_in_day(
    rng: np.random.Generator, n: int, day_start: int, hourly: np.ndarray = HOURLY_VOLUME
) -> np.ndarray:
    """`n` sorted int64 timestamps in [day_start, day_start + 1 day) with intensity
    proportional to `hourly` (piecewise constant per hour).

    Sorted without a sort: the normalised cumulative sums of n+1 exponentials are the order
    statistics of n uniforms, mapped through the inverse CDF of the intensity."""
    if len(hourly) != 24:
        raise ValueError("hourly profile needs 24 values")
    cdf = np.concatenate([[0.0], np.cumsum(hourly, dtype=np.float64)])
    cdf /= cdf[-1]
    s = rng.standard_exponential(n + 1)
    np.cumsum(s, out=s)
    u = s[:-1]
    u /= s[-1]
    t = np.interp(u, cdf, np.arange(25, dtype=np.float64) * HOUR)
    return np.int64(day_start) + np.minimum(t.astype(np.int64), DAY - 1)


# ---------------------------------------------------------------------------- marketplace
@dataclass
class ClickBlock:
    """The clicks of one day: rows [start, stop) of the clicks table, plus the random
    generator the preset keeps using for this day's outcomes."""

    day: int
    start: int
    stop: int
    rng: np.random.Generator
    ts: np.ndarray  # int64, sorted
    user: np.ndarray  # int32
    item: np.ndarray  # int32
    category: np.ndarray  # int32
    hour: np.ndarray  # int32
    position: np.ndarray  # int32
    scene: np.ndarray  # int32
    promo: np.ndarray  # bool
    device: np.ndarray  # int32
    network: np.ndarray  # int32
    noise: np.ndarray  # int32

    def __len__(self) -> int:
        return self.stop - self.start


@dataclass
class World:
    """Users and items of a simulated marketplace (latent truth, prices, fields, popularity)
    and the plan of its clicks (how many per day). Per-user arrays have length n_users,
    per-item arrays n_items; latent matrices are (dim, n) float32."""

    epoch: int
    n_days: int
    n_clicks: int
    user_z: (
        np.ndarray
    )  # z[0] purchase propensity, z[1] refund-proneness, z[2] spending, z[3] loyalty
    item_w: np.ndarray
    item_cat: np.ndarray  # int32
    item_logprice_z: np.ndarray  # float32, standardised log price
    item_price: np.ndarray  # float64
    item_quality: np.ndarray  # float32 (high = fewer refunds)
    user_fields: dict[str, np.ndarray]
    item_fields: dict[str, np.ndarray]
    user_device: np.ndarray  # int32 main device
    users: PowerLaw
    items: PowerLaw
    day_counts: np.ndarray  # int64 clicks per day
    day_seeds: list[np.random.SeedSequence]
    vocab: dict[str, int]  # this world's vocabulary per field (identity fields scale with it)
    promo_rate: float = 0.15
    hourly: np.ndarray = field(default_factory=lambda: HOURLY_VOLUME)

    @property
    def n_users(self) -> int:
        """Number of users."""
        return self.user_z.shape[1]

    @property
    def n_items(self) -> int:
        """Number of items."""
        return self.item_w.shape[1]

    @property
    def n_categories(self) -> int:
        """Number of item categories (field i_0)."""
        return FIELDS_BY_NAME["i_0"].vocab

    def user_shares(self) -> np.ndarray:
        """Expected share of clicks of each user."""
        return self.users.shares()

    def item_shares(self) -> np.ndarray:
        """Expected share of clicks of each item."""
        return self.items.shares()

    def cell_shares(self) -> np.ndarray:
        """Expected share of clicks of each (day, category) cell, shape (n_days, n_categories)."""
        cat = np.bincount(self.item_cat, weights=self.item_shares(), minlength=self.n_categories)
        return np.outer(self.day_counts / max(self.n_clicks, 1), cat)

    def blocks(self) -> Iterator[ClickBlock]:
        """The clicks day by day (each day from its own seed, so blocks are reproducible)."""
        start = 0
        for day, (count, ss) in enumerate(zip(self.day_counts, self.day_seeds, strict=True)):
            rng = np.random.default_rng(ss)
            n = int(count)
            ts = sorted_times_in_day(rng, n, self.epoch + day * DAY, self.hourly)
            user = self.users.sample(rng, n)
            item = self.items.sample(rng, n)
            u = rng.random((6, n), dtype=np.float32)
            switch = u[4] > 0.85
            device = np.where(
                switch,
                ((u[4] - 0.85) * (4 / 0.15)).astype(np.int32),
                np.take(self.user_device, user),
            )
            yield ClickBlock(
                day=day,
                start=start,
                stop=start + n,
                rng=rng,
                ts=ts,
                user=user,
                item=item,
                category=np.take(self.item_cat, item),
                hour=((ts - self.epoch) // HOUR % 24).astype(np.int32),
                position=(100 * u[0] * u[0]).astype(np.int32),  # top positions get more clicks
                scene=(12 * u[1] ** 1.6).astype(np.int32),  # a few scenes dominate
                promo=u[3] < self.promo_rate,
                device=np.minimum(device, 3),
                network=(3 * u[2] ** 0.6).astype(np.int32),
                noise=(7 * u[5]).astype(np.int32),
            )
            start += n

    @cached_property
    def _shares(self) -> dict[str, np.ndarray]:
        return {"user": self.users.shares(), "item": self.items.shares()}

    def _side(self, name: str) -> tuple[str, np.ndarray]:
        if name in self.user_fields:
            return "user", self.user_fields[name]
        if name in self.item_fields:
            return "item", self.item_fields[name]
        raise ValueError(f"{name!r} is not a user or item field")

    def code_shares(self, name: str) -> np.ndarray:
        """Expected share of clicks of each code of a user or item field (length vocab)."""
        side, codes = self._side(name)
        return np.bincount(codes, weights=self._shares[side], minlength=self.vocab[name])

    def code_table(self, rng: np.random.Generator, name: str, effect: Effect) -> np.ndarray:
        """Per-code values of a main effect of field `name` (float32, length vocab)."""
        shares = self.code_shares(name)
        table = np.zeros(self.vocab[name], dtype=np.float32)
        if effect.slope:
            table += np.float32(effect.slope) * standardized(
                ordinal_scores(self.vocab[name]), shares
            )
        if effect.sd:
            noise = rng.standard_normal(self.vocab[name])
            table += np.float32(effect.sd) * standardized(noise, shares)
        return table

    def main_effects(
        self, rng: np.random.Generator, side: str, effects: dict[str, Effect]
    ) -> np.ndarray:
        """Sum over the `side` ("user" or "item") fields in `effects` of their per-code
        effects, per entity (float32, zero mean over the expected clicks)."""
        n = self.n_users if side == "user" else self.n_items
        out = np.zeros(n, dtype=np.float32)
        for name, effect in effects.items():
            field_side, codes = self._side(name)
            if field_side != side:
                raise ValueError(f"{name!r} is a {field_side} field, not a {side} field")
            out += np.take(self.code_table(rng, name, effect), codes)
        return out

    def pair_factors(self, rng: np.random.Generator, pairs: tuple[Pair, ...]) -> Factors:
        """Per-entity factors of the interactions `pairs` (one row per rank component)."""
        users, items, weights = [], [], []
        for pair in pairs:
            for name, rows in ((pair.user_field, users), (pair.item_field, items)):
                shares, vocab = self.code_shares(name), self.vocab[name]
                _, codes = self._side(name)
                for _ in range(pair.rank):
                    raw = ordinal_scores(vocab) if pair.ordinal else rng.standard_normal(vocab)
                    rows.append(np.take(standardized(raw, shares), codes))
            weights += [np.asarray(pair.weights) / np.sqrt(pair.rank)] * pair.rank
        return Factors(
            user=np.asarray(users, dtype=np.float32).reshape(len(users), self.n_users),
            item=np.asarray(items, dtype=np.float32).reshape(len(items), self.n_items),
            weights=np.asarray(weights, dtype=np.float32).reshape(len(weights), -1),
        )

    @staticmethod
    def pair_terms(factors: Factors, block: ClickBlock, out: list[np.ndarray]) -> None:
        """Add each logit's interaction terms of one block's clicks to ``out[j]`` (in place)."""
        for k in range(factors.weights.shape[0]):
            prod = np.take(factors.user[k], block.user)
            prod *= np.take(factors.item[k], block.item)
            for j, logit in enumerate(out):
                w = factors.weights[k, j]
                if w:
                    logit += w * prod

    def new_clicks_columns(self) -> dict[str, np.ndarray]:
        """Preallocated clicks-table columns (filled block by block by :meth:`fill_clicks`)."""
        n = self.n_clicks
        cols = {"click_id": np.arange(n, dtype=np.int64)}
        for name in ["ts", "user_id", "item_id", *FIELDS_BY_NAME]:
            cols[name] = np.empty(n, dtype=np.int64)
        return cols

    def fill_clicks(self, cols: dict[str, np.ndarray], b: ClickBlock) -> None:
        """Write one block's keys and 22 field codes into the preallocated columns."""
        sl = slice(b.start, b.stop)
        cols["ts"][sl] = b.ts
        cols["user_id"][sl] = b.user
        cols["item_id"][sl] = b.item
        for name, arr in self.user_fields.items():
            np.take(arr, b.user, out=cols[name][sl])
        for name, arr in self.item_fields.items():
            np.take(arr, b.item, out=cols[name][sl])
        cols["c_0"][sl] = b.hour
        cols["c_1"][sl] = b.position
        cols["c_2"][sl] = b.scene
        cols["c_3"][sl] = (b.day + weekday_of(self.epoch)) % 7
        cols["c_4"][sl] = b.network
        cols["c_5"][sl] = b.promo
        cols["c_6"][sl] = b.device
        cols["c_7"][sl] = b.noise

    @staticmethod
    def clicks_table(cols: dict[str, np.ndarray]) -> pa.Table:
        """The clicks table (zero-copy over the filled columns)."""
        return pa.table(cols)

    def feature_spec(self, meta: dict) -> FeatureSpec:
        """FeatureSpec of the 22 categorical fields, with `meta`."""
        return FeatureSpec(
            features=[
                Feature(
                    name=f.name, kind="categorical", vocab_size=self.vocab[f.name], group=f.group
                )
                for f in STANDARD_FIELDS
            ],
            meta=meta,
        )


def build_world(
    ss: np.random.SeedSequence,
    n_clicks: int,
    n_days: int,
    epoch: int = DEFAULT_EPOCH,
    clicks_per_user: float = 20.0,
    clicks_per_item: float = 50.0,
    dim: int = 4,
    promo_rate: float = 0.15,
    day_jitter: float = 0.04,
) -> World:
    """Draw users and items (latents, prices, fields, popularity) and the clicks per day."""
    if n_clicks < 1:
        raise ValueError(f"n_clicks must be positive, got {n_clicks}")
    if n_days < 1:
        raise ValueError(f"n_days must be positive, got {n_days}")
    if dim < 4:
        raise ValueError(f"dim must be >= 4 (propensity, refund, spending, loyalty), got {dim}")
    entity_ss, *day_seeds = ss.spawn(n_days + 1)
    rng = np.random.default_rng(entity_ss)
    n_users = max(200, int(n_clicks / clicks_per_user))
    n_items = max(100, int(n_clicks / clicks_per_item))
    n_cat = FIELDS_BY_NAME["i_0"].vocab
    vocab = {f.name: f.vocab for f in STANDARD_FIELDS}

    user_z = latent_factors(rng, n_users, dim)
    cat_centroid = rng.standard_normal((dim, n_cat), dtype=np.float32)
    item_cat = PowerLaw.draw(rng, n_cat, 1.0, 4.0).sample(rng, n_items)
    item_w = (0.6 * cat_centroid[:, item_cat] + 0.8 * latent_factors(rng, n_items, dim)).astype(
        np.float32
    )
    cat_price = rng.normal(0.0, 0.4, n_cat).astype(np.float32)
    logprice = (
        4.0
        + cat_price[item_cat]
        + 0.25 * item_w[2]
        + 0.55 * rng.standard_normal(n_items, dtype=np.float32)
    )
    item_price = np.round(np.exp(logprice.astype(np.float64)), 2)
    item_logprice_z = ((logprice - logprice.mean()) / (logprice.std() + 1e-6)).astype(np.float32)
    item_quality = (0.5 * item_w[1] + 0.85 * rng.standard_normal(n_items, dtype=np.float32)).astype(
        np.float32
    )
    users = PowerLaw.draw(rng, n_users, 1.0, n_users / 50)
    items = PowerLaw.draw(rng, n_items, 1.0, n_items / 200)

    vocab |= {name: id_buckets(n_users if side == "user" else n_items, vocab[name])
              for name, side in ID_FIELDS.items()}  # fmt: skip
    user_fields = {
        "u_0": derived_codes(rng, user_z, (0.0, 0.3, 0.2, 0.5), vocab["u_0"], noise=1.0),
        "u_1": np.arange(n_users, dtype=np.int64) % vocab["u_1"],
        "u_2": derived_codes(rng, user_z, (0.6, 0.2, 0.4, 0.3), vocab["u_2"], noise=0.4),
        "u_3": derived_codes(rng, user_z, (0.1, 0.9, 0.0, 0.0), vocab["u_3"], noise=0.6),
        "u_4": derived_codes(rng, user_z, (0.2, -0.3, 0.4, 0.3), vocab["u_4"], noise=0.9),
        "u_5": derived_codes(rng, user_z, (0.0, 0.0, 1.0, 0.0), vocab["u_5"], noise=0.5),
        "u_6": derived_codes(rng, user_z, (0.9, 0.0, 0.2, 0.3), vocab["u_6"], noise=0.7),
        "u_7": quantile_codes(
            np.log(users.shares()) + 0.5 * rng.standard_normal(n_users), vocab["u_7"]
        ),
    }
    shop = ndtr(item_quality + 0.6 * rng.standard_normal(n_items)) * vocab["i_3"]
    item_fields = {
        "i_0": item_cat.astype(np.int64),
        "i_1": item_cat.astype(np.int64) * 64 + rng.integers(0, 64, n_items),
        "i_2": np.arange(n_items, dtype=np.int64) % vocab["i_2"],
        "i_3": np.minimum(shop.astype(np.int64), vocab["i_3"] - 1),
        "i_4": quantile_codes(logprice, vocab["i_4"]),
        "i_5": quantile_codes(item_quality + 0.4 * rng.standard_normal(n_items), vocab["i_5"]),
    }
    user_device = derived_codes(rng, user_z, (0.0, 0.0, 0.8, 0.2), vocab["c_6"], noise=0.8)

    weekday = (np.arange(n_days) + weekday_of(epoch)) % 7
    daily = WEEKDAY_VOLUME[weekday] * np.exp(rng.normal(0.0, day_jitter, n_days))
    day_counts = rng.multinomial(n_clicks, daily / daily.sum()).astype(np.int64)
    return World(
        epoch=epoch,
        n_days=n_days,
        n_clicks=n_clicks,
        user_z=user_z,
        item_w=item_w,
        item_cat=item_cat,
        item_logprice_z=item_logprice_z,
        item_price=item_price,
        item_quality=item_quality,
        user_fields=user_fields,
        item_fields=item_fields,
        user_device=user_device.astype(np.int32),
        users=users,
        items=items,
        day_counts=day_counts,
        day_seeds=day_seeds,
        vocab=vocab,
        promo_rate=promo_rate,
    )


def events_table(
    click_id: np.ndarray,
    kind_code: np.ndarray,
    kinds: tuple[str, ...],
    ts: np.ndarray,
    amount: np.ndarray,
) -> pa.Table:
    """An events table (schema EVENTS_SCHEMA) sorted by (ts, click_id), kinds given as codes."""
    order = np.lexsort((click_id, ts))
    kind = pa.array(list(kinds), pa.string()).take(pa.array(kind_code[order].astype(np.int32)))
    return pa.table(
        {
            "click_id": pa.array(click_id[order].astype(np.int64)),
            "kind": kind,
            "ts": pa.array(ts[order].astype(np.int64)),
            "amount": pa.array(amount[order].astype(np.float64)),
        }
    )


def lognormal_noise(rng: np.random.Generator, n: int, sigma: float) -> np.ndarray:
    """Mean-one log-normal multipliers exp(sigma N - sigma^2 / 2), float64."""
    return np.exp(sigma * rng.standard_normal(n) - 0.5 * sigma * sigma)


def check_args(n_clicks: int, seed: int) -> None:
    """Raise a clear ValueError for a non-positive click count or a negative/non-int seed."""
    if isinstance(n_clicks, bool) or not isinstance(n_clicks, int | np.integer) or n_clicks < 1:
        raise ValueError(f"n_clicks must be a positive integer, got {n_clicks!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
