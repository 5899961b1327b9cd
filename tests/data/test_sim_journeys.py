"""The journeys simulator preset: ordered touchpoints, conversions, known channel credit."""

import numpy as np
import pandas as pd
import pytest

from shopml.data import EventLog
from shopml.data.schema import CONVERSIONS_SCHEMA, EVENTS_SCHEMA, TOUCHPOINTS_SCHEMA
from shopml.data.simulate import presets, simulate
from shopml.data.simulate.journeys import CHANNELS, simulate_journeys

N = 50_000


@pytest.fixture(scope="module")
def sim():
    return simulate("journeys", N, seed=5)


@pytest.fixture(scope="module")
def frames(sim):
    tp = sim.log.touchpoints.to_pandas()
    conv = sim.log.conversions.to_pandas()
    return tp, conv


def test_layout(sim):
    assert "journeys" in presets()
    log = sim.log
    assert log.n_clicks == N and sim.truth.num_rows == N
    assert (log.column("click_id") == log.column("user_id")).all()
    assert log.events.num_rows == 0 and log.events.schema.equals(EVENTS_SCHEMA)
    assert log.touchpoints.schema.equals(TOUCHPOINTS_SCHEMA)
    assert log.conversions.schema.equals(CONVERSIONS_SCHEMA)
    assert set(log.touchpoints.column("channel").unique().to_pylist()) == set(CHANNELS)
    assert 0.03 < log.spec.meta["conversion_rate"] < 0.25


def test_touchpoints_sorted_and_conversions_follow_them(sim, frames):
    tp, conv = frames
    user, ts = tp["user_id"].to_numpy(), tp["ts"].to_numpy()
    assert (np.diff(user) >= 0).all()
    same = np.diff(user) == 0
    assert (np.diff(ts)[same] >= 0).all()
    assert set(tp["user_id"]) == set(range(1, N + 1))  # every journey has a touchpoint
    assert conv["user_id"].is_unique and (conv["amount"] > 0).all()
    per_user = tp.groupby("user_id")["ts"].agg(["min", "max"])
    c = conv.set_index("user_id")
    assert (c["ts"] > per_user.loc[c.index, "min"]).all()  # after at least one touchpoint
    assert (c["ts"] > per_user.loc[c.index, "max"]).all()  # the journey ends at conversion
    first = sim.log.column("ts")
    np.testing.assert_array_equal(first, per_user["min"].to_numpy())


def test_credit_and_shares(sim, frames):
    _, conv = frames
    meta = sim.log.spec.meta
    truth = sim.truth.to_pandas().set_index("user_id")
    credit = truth[[f"credit_{c}" for c in CHANNELS]]
    converted = truth.index.isin(conv["user_id"])
    np.testing.assert_allclose(credit[converted].sum(axis=1), 1.0, atol=1e-9)
    assert (credit[~converted].to_numpy() == 0).all()
    for key in (
        "true_channel_share",
        "true_removal_share",
        "true_shapley_share",
        "last_touch_share",
    ):
        shares = meta[key]
        assert set(shares) == set(CHANNELS)
        assert abs(sum(shares.values()) - 1) < 1e-9, key
    true = pd.Series(meta["true_channel_share"])
    np.testing.assert_allclose(true, credit.sum().to_numpy() / converted.sum(), atol=1e-9)
    # the three notions of true credit agree closely in this additive world
    for key in ("true_removal_share", "true_shapley_share"):
        assert (true - pd.Series(meta[key])).abs().max() < 0.03, key
    # removing a channel never raises the conversion probability
    for c in CHANNELS:
        assert (truth[f"p_convert_without_{c}"] <= truth["p_convert"] + 1e-12).all()


def test_truth_probability_is_calibrated(sim, frames):
    _, conv = frames
    p = sim.truth.column("p_convert").to_numpy()
    y = np.isin(sim.truth.column("user_id").to_numpy(), conv["user_id"].to_numpy())
    se = np.sqrt((p * (1 - p)).sum()) / len(p)
    assert abs(y.mean() - p.mean()) < 4 * se


def test_last_touch_is_measurably_wrong(sim, frames):
    """Acceptance: last-touch shares differ clearly from the true shares."""
    tp, conv = frames
    last = tp[tp["user_id"].isin(conv["user_id"])].groupby("user_id")["channel"].last()
    last_share = last.value_counts(normalize=True).reindex(list(CHANNELS), fill_value=0.0)
    np.testing.assert_allclose(
        last_share, pd.Series(sim.log.spec.meta["last_touch_share"])[list(CHANNELS)], atol=1e-9
    )
    true = pd.Series(sim.log.spec.meta["true_channel_share"])[list(CHANNELS)]
    assert 0.5 * (last_share - true).abs().sum() > 0.2  # total-variation distance
    assert last_share["direct"] > 3 * true["direct"]
    assert last_share["search"] > true["search"] + 0.05
    assert true["display"] > last_share["display"] + 0.1


def test_deterministic_and_round_trip(sim, tmp_path):
    a, b = simulate_journeys(3_000, 9), simulate_journeys(3_000, 9)
    for name in ("clicks", "touchpoints", "conversions"):
        assert getattr(a.log, name).equals(getattr(b.log, name))
    assert a.truth.equals(b.truth)
    assert not simulate_journeys(3_000, 10).log.touchpoints.equals(a.log.touchpoints)
    a.write(tmp_path / "j")
    log = EventLog.open(tmp_path / "j")
    for name in ("clicks", "events", "touchpoints", "conversions"):
        assert getattr(log, name).equals(getattr(a.log, name)), name
    assert log.spec.meta["true_channel_share"] == a.log.spec.meta["true_channel_share"]
    assert EventLog.read_truth(tmp_path / "j").equals(a.truth)


def test_bad_arguments():
    with pytest.raises(ValueError, match="journeys"):
        simulate_journeys(-1, 0)
    with pytest.raises(ValueError, match="seed"):
        simulate_journeys(10, None)
