"""Exact delivered samples of every baseline policy on a hand-built timeline."""

from __future__ import annotations

import time

import numpy as np
import pytest

from shopml.conversion.base import get_method
from shopml.conversion.stream import MASKED, StreamSplit
from shopml.conversion.timeline import Timeline, Windows
from shopml.data.eventlog import NO_EVENT

M = MASKED
N = NO_EVENT

# attribution 100 s (conversion and refund), observation 10 s: leakage gap = 200 s
WINDOWS = Windows(
    conversion_attribution_s=100,
    refund_attribution_s=100,
    conversion_observation_s=10,
    refund_observation_s=10,
)
# pre-training [0, 100), gap [100, 300), stream [300, 600), 50-s slices
SPLIT = StreamSplit(start_ts=0, pretrain_end=100, stream_start=300, stream_end=600, slice_s=50)

# row: (click, pay, refund)
TIMELINE = Timeline(
    click_ts=np.array([50, 100, 310, 320, 330, 340, 350, 360, 500, 595], dtype=np.int64),
    pay_ts=np.array([60, 170, 315, 360, N, 342, 355, N, 560, N], dtype=np.int64),
    refund_ts=np.array([N, N, N, N, N, 345, 420, N, 620, N], dtype=np.int64),
)
# 0 pre-training click (paid)
# 1 gap click at pretrain_end (paid)
# 2 immediate conversion (pay within W_obs), no refund
# 3 delayed conversion (pay after W_obs)
# 4 no conversion
# 5 immediate conversion refunded inside the observation window (345 <= 340 + 10)
# 6 immediate conversion refunded after every window (420)
# 7 paid after the attribution window: not a conversion (pay_ts = NO_EVENT in the timeline)
# 8 delayed conversion whose refund (620) falls after the stream end
# 9 click whose observation window ends after the stream end (605)


def records(name: str, **options) -> list[tuple]:
    return get_method(name, **options).deliver(TIMELINE, WINDOWS, SPLIT).records()


def test_pretrained_delivers_nothing():
    method = get_method("pretrained")
    assert method.online is False
    assert method.deliver(TIMELINE, WINDOWS, SPLIT).records() == []


def test_oracle():
    assert records("oracle") == [
        (2, 310, 1.0, 0.0, "complete"),
        (3, 320, 1.0, 0.0, "complete"),
        (4, 330, 0.0, M, "complete"),
        (5, 340, 1.0, 1.0, "complete"),
        (6, 350, 1.0, 1.0, "complete"),
        (7, 360, 0.0, M, "complete"),
        (8, 500, 1.0, 1.0, "complete"),  # complete label: the refund (620) is known to the oracle
        (9, 595, 0.0, M, "complete"),
    ]


def test_bdl_daily_boundaries():
    # boundaries every 50 s from stream_start: 300, 350, ..., 550 (600 = stream_end excluded);
    # a click is delivered at the first boundary D with click + 200 <= D
    assert records("bdl", period_s=50) == [
        (1, 300, 1.0, 0.0, "complete"),  # gap click at pretrain_end: 100 + 200 <= 300
        (2, 550, 1.0, 0.0, "complete"),  # 510 -> 550
        (3, 550, 1.0, 0.0, "complete"),  # 520 -> 550
        (4, 550, 0.0, M, "complete"),  # 530 -> 550
        (5, 550, 1.0, 1.0, "complete"),  # 540 -> 550
        (6, 550, 1.0, 1.0, "complete"),  # 550 -> 550 (complete exactly at the boundary)
        # 7: 560 -> 600, not before stream_end; 0 is a pre-training click
    ]


def test_bdl_default_period_is_a_day():
    # with 1-day periods only the boundary at stream_start falls inside this 300-s stream
    assert records("bdl") == [(1, 300, 1.0, 0.0, "complete")]


FNC_RECORDS = [
    (2, 310, 0.0, M, "click_neg"),
    (2, 315, 1.0, 0.0, "pos"),
    (3, 320, 0.0, M, "click_neg"),
    (4, 330, 0.0, M, "click_neg"),
    (5, 340, 0.0, M, "click_neg"),
    (5, 342, 1.0, 0.0, "pos"),  # refund (345) not yet happened at pay time
    (5, 345, M, 1.0, "refund"),
    (6, 350, 0.0, M, "click_neg"),
    (6, 355, 1.0, 0.0, "pos"),
    (3, 360, 1.0, 0.0, "pos"),  # ties at 360 ordered by row
    (7, 360, 0.0, M, "click_neg"),
    (6, 420, M, 1.0, "refund"),
    (8, 500, 0.0, M, "click_neg"),
    (8, 560, 1.0, 0.0, "pos"),  # its refund (620) is after stream_end: not delivered
    (9, 595, 0.0, M, "click_neg"),
]


@pytest.mark.parametrize("name", ["fnc", "fnw"])
def test_fake_negative_stream(name):
    assert records(name) == FNC_RECORDS


ESDFM_RECORDS = [
    (2, 320, 1.0, 0.0, "ip"),
    (3, 330, 0.0, M, "obs_neg"),  # fake negative: pays at 360
    (4, 340, 0.0, M, "obs_neg"),
    (5, 350, 1.0, 1.0, "ip"),  # refund (345) already happened at 350: no refund duplicate
    (3, 360, 1.0, 0.0, "dp"),
    (6, 360, 1.0, 0.0, "ip"),
    (7, 370, 0.0, M, "obs_neg"),
    (6, 420, M, 1.0, "refund"),
    (8, 510, 0.0, M, "obs_neg"),
    (8, 560, 1.0, 0.0, "dp"),
    # 9: window ends at 605 >= stream_end
]


@pytest.mark.parametrize("name", ["esdfm", "defuse"])
def test_window_stream(name):
    assert records(name) == ESDFM_RECORDS


def test_defer_duplicates_every_click():
    assert records("defer") == [
        (2, 315, 1.0, 0.0, "ip_dup"),
        (2, 320, 1.0, 0.0, "ip"),
        (3, 330, 0.0, M, "obs_neg"),
        (4, 340, 0.0, M, "obs_neg"),
        (5, 342, 1.0, 0.0, "ip_dup"),
        (5, 350, 1.0, 1.0, "ip"),  # the last positive copy carries the refund: no duplicate
        (6, 355, 1.0, 0.0, "ip_dup"),
        (3, 360, 1.0, 0.0, "dp"),
        (6, 360, 1.0, 0.0, "ip"),
        (7, 370, 0.0, M, "obs_neg"),
        (6, 420, M, 1.0, "refund"),
        (4, 430, 0.0, M, "rn"),  # real negative at click + W_v_attr
        (7, 460, 0.0, M, "rn"),
        (8, 510, 0.0, M, "obs_neg"),
        (8, 560, 1.0, 0.0, "dp"),
        # 9: window (605) and real-negative copy (695) after stream_end
    ]


def test_ddfm():
    assert records("ddfm") == [
        (2, 320, 1.0, 0.0, "ip"),
        (3, 330, 0.0, M, "obs_neg"),
        (4, 340, 0.0, M, "obs_neg"),
        (5, 350, 1.0, 1.0, "ip"),
        (3, 360, 1.0, 0.0, "dp"),
        (6, 360, 1.0, 0.0, "ip"),
        (7, 370, 0.0, M, "obs_neg"),
        (6, 420, M, 1.0, "refund"),
        (4, 430, 0.0, M, "rn"),
        (7, 460, 0.0, M, "rn"),
        (8, 510, 0.0, M, "obs_neg"),
        (8, 560, 1.0, 0.0, "dp"),
    ]


def test_zero_observation_window_pay_at_click_is_immediate():
    windows = WINDOWS.model_copy(update={"conversion_observation_s": 0})
    tl = Timeline(
        click_ts=np.array([310, 320], dtype=np.int64),
        pay_ts=np.array([310, 330], dtype=np.int64),
        refund_ts=np.array([N, N], dtype=np.int64),
    )
    d = get_method("esdfm").deliver(tl, windows, SPLIT)
    assert d.records() == [
        (0, 310, 1.0, 0.0, "ip"),
        (1, 320, 0.0, M, "obs_neg"),
        (1, 330, 1.0, 0.0, "dp"),
    ]


ALL = ["oracle", "bdl", "fnc", "fnw", "esdfm", "defer", "defuse", "ddfm"]


def _random_timeline(n: int, seed: int = 0) -> tuple[Timeline, Windows, StreamSplit]:
    rng = np.random.default_rng(seed)
    windows = Windows(
        conversion_attribution_s=3000,
        refund_attribution_s=3000,
        conversion_observation_s=300,
        refund_observation_s=300,
    )
    click = np.sort(rng.integers(0, 40_000, n)).astype(np.int64)
    paid = rng.random(n) < 0.2
    pay = np.where(paid, click + rng.integers(0, 3000, n), N)
    refunded = paid & (rng.random(n) < 0.3)
    refund = np.where(refunded, pay + rng.integers(0, 3000, n), N)
    split = StreamSplit(0, 10_000, 16_000, 40_000, 900)
    return Timeline(click, pay, refund), windows, split


@pytest.mark.parametrize("name", ALL)
def test_invariants_on_random_log(name):
    tl, windows, split = _random_timeline(20_000)
    options = {"period_s": 3600} if name == "bdl" else {}
    d = get_method(name, **options).deliver(tl, windows, split)
    assert np.all(np.diff(d.ts) >= 0)
    assert d.ts.min() >= split.stream_start and d.ts.max() < split.stream_end
    assert np.all(d.ts >= tl.click_ts[d.row])  # nothing is delivered before its click
    if name != "bdl":
        assert np.all(tl.click_ts[d.row] >= split.stream_start)
    pos = d.y_cvr == 1
    # a positive is never delivered before its pay (the oracle leaks by design)
    if name != "oracle":
        assert np.all(tl.pay_ts[d.row[pos]] <= d.ts[pos])
    assert np.all(tl.paid[d.row[pos]])
    # refund labels only on positives and refund duplicates
    assert np.all((d.y_rfr == M) == (d.y_cvr == 0))
    # an observed refund label 1 never precedes the refund (except complete-label oracles)
    rf = d.y_rfr == 1
    if name not in ("oracle", "bdl"):
        assert np.all(tl.refund_ts[d.row[rf]] <= d.ts[rf])
    if name not in ("oracle", "bdl", "defer"):  # DEFER delivers immediate positives twice
        # every refunded click delivered as a positive shows its refund at most once
        refunded_rows = d.row[rf]
        assert len(np.unique(refunded_rows)) == len(refunded_rows)


def test_delivery_is_vectorised_fast():
    tl, windows, split = _random_timeline(1_000_000, seed=1)
    start = time.perf_counter()
    d = get_method("defer").deliver(tl, windows, split)
    assert len(d) > 1_000_000
    assert time.perf_counter() - start < 10.0


def test_pay_duplicates_at_a_fixed_lag_after_the_click():
    """The calibration diagnostic: DDFM's delayed positives at click + W_attr, not at pay time."""
    from shopml.conversion._delivery import DeliveryBuilder

    b = DeliveryBuilder(TIMELINE, SPLIT, ("dp",))
    b.pay_duplicates("dp", after_window_s=10, at_click_plus_s=100)
    # delayed conversions 3 (click 320) and 8 (click 500); 8's copy at 600 is past the stream
    assert b.build().records() == [(3, 420, 1.0, 0.0, "dp")]
