"""The GMV view on hand-built purchase sequences, and the GMV deliveries of the stream."""

import numpy as np
import pyarrow as pa
import pytest

from shopml.conversion.stream import StreamSplit
from shopml.data.eventlog import NO_EVENT, EventLog
from shopml.value.gmv import GmvView
from shopml.value.protocol import (
    KINDS,
    complete_samples,
    gmv_metrics,
    purchase_samples,
    window_end_samples,
)

W = 1000


@pytest.fixture
def log() -> EventLog:
    # click 0 buys at 50 (10.0) and 500 (5.0); its buy at 1200 is after the 1000-s window.
    # click 1 never buys; click 2 buys once at 250 (7.5). Events are listed out of order.
    clicks = pa.table({"click_id": [10, 11, 12], "ts": [0, 100, 200]})
    events = pa.table(
        {
            "click_id": [12, 10, 10, 10],
            "kind": ["pay", "pay", "pay", "pay"],
            "ts": [250, 1200, 500, 50],
            "amount": [7.5, 99.0, 5.0, 10.0],
        }
    )
    return EventLog(clicks=clicks, events=events)


def test_final_labels_repurchase_flag_and_sequences(log):
    view = GmvView.from_log(log, W)
    assert view.n_purchases.tolist() == [2, 0, 1]
    assert view.final_gmv.tolist() == [15.0, 0.0, 7.5]
    assert view.repurchase.tolist() == [True, False, False]
    assert view.converted.tolist() == [True, False, True]
    assert view.pay_ts.tolist() == [50, 500, 250]
    assert view.rank.tolist() == [1, 2, 1]
    assert view.cumulative_gmv.tolist() == [10.0, 15.0, 7.5]
    assert view.first_pay_ts.tolist() == [50, NO_EVENT, 250]
    assert view.last_pay_ts.tolist() == [500, NO_EVENT, 250]


def test_label_as_observed_at_a_time(log):
    view = GmvView.from_log(log, W)
    count, gmv = view.observed(100)
    assert count.tolist() == [1, 0, 0] and gmv.tolist() == [10.0, 0.0, 0.0]
    count, gmv = view.observed(np.array([499, 0, 250]))
    assert count.tolist() == [1, 0, 1] and gmv.tolist() == [10.0, 0.0, 7.5]
    count, gmv = view.observed(10_000)  # after the window: the final label, the late buy excluded
    assert count.tolist() == [2, 0, 1] and gmv.tolist() == [15.0, 0.0, 7.5]


def test_window_defaults_to_the_log_meta_and_take_reindexes(log):
    view = GmvView.from_log(log, 2000)  # now the 1200 purchase counts
    assert view.final_gmv.tolist() == [114.0, 0.0, 7.5]
    sub = GmvView.from_log(log, W).take(np.array([2, 0]))
    assert sub.final_gmv.tolist() == [7.5, 15.0]
    assert sub.cumulative_gmv.tolist() == [7.5, 10.0, 15.0]
    assert sub.click_ts.tolist() == [200, 0]


def test_deliveries_carry_observed_and_final_labels():
    view = GmvView.from_purchases(
        np.array([0, 100]), np.array([0, 0, 1]), np.array([50, 500, 300]), np.array([10.0, 5.0, 2.0]), W
    )
    split = StreamSplit(start_ts=0, pretrain_end=0, stream_start=0, stream_end=1050, slice_s=100)
    d = purchase_samples(view, split)
    assert d.records() == [
        (0, 50, 10.0, 1.0, "purchase"),
        (1, 300, 2.0, 1.0, "purchase"),
        (0, 500, 15.0, 2.0, "purchase"),
    ]
    # window end at click + 1000: click 1's (1100) falls after the stream end and is dropped
    assert window_end_samples(view, split).records() == [(0, 1000, 15.0, 2.0, "window_end")]
    oracle = complete_samples(view, split, "first_purchase").records()
    assert oracle == [(0, 50, 15.0, 2.0, "complete"), (1, 300, 2.0, 1.0, "complete")]
    assert d.kinds == KINDS
    with pytest.raises(ValueError, match="first_purchase"):
        complete_samples(view, split, "click")


def test_metrics_over_converting_clicks_slice_averaged():
    y = np.array([1.0, 2.0, 4.0, 1.0, 3.0])
    p = np.array([1.1, 1.0, 4.0, 2.0, 3.0])
    s = np.array([1, 1, 1, 2, 2])
    m = gmv_metrics(y, p, s)
    # slice 1: pairs (1,2) discordant, (1,4) and (2,4) concordant -> 2/3; slice 2: 1
    assert m["auc"] == pytest.approx((2 / 3 + 1.0) / 2)
    # relative errors 0.1, 0.5, 0 | 1.0, 0 -> ACC 2/3 and 1/2
    assert m["acc"] == pytest.approx((2 / 3 + 0.5) / 2)
    alpr1 = (abs(np.log2(1.1)) + 1.0 + 0.0) / 3
    assert m["alpr"] == pytest.approx((alpr1 + 0.5) / 2)
    assert m["rmse"] == pytest.approx((np.sqrt((0.01 + 1.0) / 3) + np.sqrt(0.5)) / 2)
    with pytest.raises(ValueError, match="converting clicks"):
        gmv_metrics(np.array([0.0, 1.0]), np.array([1.0, 1.0]), np.array([0, 0]))
