"""The trace preset: repurchase share, 7-day window, 82 days, and truth expectations that
match the realised purchases and GMV."""

import numpy as np
import pytest

from shopml.data.simulate import simulate
from shopml.data.simulate.trace import TARGETS
from shopml.data.stats import data_stats

W = 7 * 86_400


@pytest.fixture(scope="module")
def world():
    return simulate("trace", 200_000, 5)


def test_repurchase_share_and_span(world):
    stats = data_stats(world.log)
    lo, hi = TARGETS["repurchase_share"][1]
    assert lo <= stats["repurchase_share"] <= hi
    assert stats["duration_days"] == pytest.approx(82, abs=0.01)
    assert world.log.spec.meta["gmv_window_s"] == W
    assert set(world.log.events.column("kind").unique().to_pylist()) == {"pay"}


def test_purchases_inside_the_window_and_spread(world):
    log = world.log
    rows, ts, amount = log.events_of("pay")
    delay = ts - log.column("ts")[rows]
    assert delay.min() >= 1 and delay.max() < W
    assert (amount > 0).all()
    counts = np.bincount(rows, minlength=log.n_clicks)
    assert counts.max() >= 3
    # repurchases are spread over the window, not bunched at the first purchase
    later = np.ones(len(rows), dtype=bool)
    later[1:] = rows[1:] == rows[:-1]
    later[0] = False
    assert np.median(delay[later]) > 86_400


def test_truth_expectations_match_realised(world):
    log, truth = world.log, world.truth
    n = log.n_clicks
    count, gmv = log.purchases(W)
    exp_gmv = truth["expected_gmv"].to_numpy()
    assert abs(gmv.mean() - exp_gmv.mean()) < 4 * gmv.std() / np.sqrt(n)
    exp_k = truth["expected_purchases"].to_numpy()
    assert abs(count.mean() - exp_k.mean()) < 4 * count.std() / np.sqrt(n)
    p = truth["p_convert"].to_numpy()
    assert abs((count > 0).mean() - p.mean()) < 4 * np.sqrt(p.mean() / n)
    conv = count > 0
    q = truth["p_repurchase"].to_numpy()
    assert abs((count[conv] > 1).mean() - np.average(q, weights=p)) < 4 * np.sqrt(0.25 / conv.sum())
    # GMV tracks its expectation click by click, not only on average
    assert np.corrcoef(exp_gmv, gmv)[0, 1] > 0.1


def test_deterministic_and_bad_args():
    a, b = simulate("trace", 10_000, 2), simulate("trace", 10_000, 2)
    assert a.log.events.equals(b.log.events) and a.truth.equals(b.truth)
    with pytest.raises(ValueError, match="positive"):
        simulate("trace", -5, 2)
