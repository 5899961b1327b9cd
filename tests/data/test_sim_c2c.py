"""The c2c simulator preset: limited stock, the stock race, histories, determinism, round trip."""

import numpy as np
import pyarrow.compute as pc
import pytest

from shopml.data import EventLog
from shopml.data.simulate import presets, simulate
from shopml.data.simulate.c2c import simulate_c2c

N = 30_000


@pytest.fixture(scope="module")
def sim():
    return simulate("c2c", N, seed=3)


def test_registered_and_sized(sim):
    assert "c2c" in presets()
    assert sim.log.n_clicks == N
    assert sim.truth.num_rows == N
    assert sim.log.spec.meta["preset"] == "c2c"
    ts = sim.log.column("ts")
    assert 25 <= (ts.max() - ts.min()) / 86_400 <= 34


def test_most_items_are_single_stock(sim):
    cat = sim.log.catalog.to_pandas()
    single = cat["stock"] == 1
    assert 0.75 <= single.mean() <= 0.85  # acceptance: a majority of stock-1 items
    assert (cat.loc[~single, "stock"] >= 10).all() and (cat["stock"] <= 1000).all()
    assert (cat["is_single_stock"] == single.astype(int)).all()
    clicks = sim.log.clicks.to_pandas()
    # histories mix both kinds: clicks go to both pools
    assert 0.3 < clicks["item_is_single_stock"].mean() < 0.85


def test_no_pay_or_click_after_a_single_stock_item_sold(sim):
    clicks = sim.log.clicks.to_pandas()[["click_id", "ts", "item_id"]]
    events = sim.log.events.to_pandas()
    assert set(events["kind"]) == {"pay"}
    pays = events.merge(clicks, on="click_id", suffixes=("", "_click"))
    assert (pays["ts"] > pays["ts_click"]).all()
    cat = sim.log.catalog.to_pandas().set_index("item_id")
    pays["stock"] = cat.loc[pays["item_id"], "stock"].to_numpy()
    pays["price"] = cat.loc[pays["item_id"], "price"].to_numpy()
    np.testing.assert_allclose(pays["amount"], pays["price"])
    single = pays[pays["stock"] == 1]
    assert len(single) > 100
    assert single["item_id"].is_unique  # a stock-1 item is bought at most once
    sold_at = single.set_index("item_id")["ts"]
    on_sold = clicks[clicks["item_id"].isin(sold_at.index)]
    assert (on_sold["ts"].to_numpy() < sold_at.loc[on_sold["item_id"]].to_numpy()).all()
    # no item sells more than its stock
    per_item = pays.groupby("item_id").size()
    assert (per_item <= cat.loc[per_item.index, "stock"]).all()


def test_truth_matches_outcomes(sim):
    truth = sim.truth.to_pandas()
    paid = sim.log.converted(window=sim.log.spec.meta["conversion_window_s"])
    # unavailable clicks never convert; available ones convert at the true rate
    assert paid[truth["available"] == 0].sum() == 0
    assert (truth["available"] == 0).sum() > 0
    avail = truth["available"].to_numpy() == 1
    p, y = truth["p_pay"].to_numpy()[avail], paid[avail]
    se = np.sqrt((p * (1 - p)).sum()) / avail.sum()
    assert abs(y.mean() - p.mean()) < 4 * se
    assert 0.02 < y.mean() < 0.2
    # sold_out_ts is set exactly for the unavailable clicks' items
    assert (truth.loc[~avail, "sold_out_ts"] > 0).all()


def test_history_is_strictly_earlier(sim):
    clicks = sim.log.clicks
    hist = clicks.column("hist_items").to_pylist()
    kinds = clicks.column("hist_stock_kind").to_pylist()
    df = clicks.select(["click_id", "ts", "user_id", "item_id", "item_is_single_stock"]).to_pandas()
    lengths = pc.list_value_length(clicks.column("hist_items")).to_numpy()
    assert lengths.max() == 20 and lengths.mean() > 5
    assert [len(k) for k in kinds] == lengths.tolist()
    df = df.sort_values(["user_id", "ts", "click_id"]).reset_index()
    checked = 0
    for _, g in df.groupby("user_id"):
        if len(g) < 3 or checked > 300:
            continue
        checked += 1
        for row in g.itertuples():
            expected = g[g["ts"] < row.ts].tail(20)
            assert hist[row.index] == expected["item_id"].tolist()
            assert (
                kinds[row.index] == np.where(expected["item_is_single_stock"] == 1, 1, 2).tolist()
            )
    assert checked > 100
    spec = sim.log.spec
    assert spec["hist_items"].kind == "sequence" and spec["hist_items"].max_len == 20
    for f in spec.features:
        if f.kind != "numeric":
            col = clicks.column(f.name)
            values = pc.list_flatten(col) if f.kind == "sequence" else col
            assert pc.min(values).as_py() >= 0 and pc.max(values).as_py() < f.cardinality


def test_deterministic_and_round_trip(sim, tmp_path):
    again = simulate_c2c(N, 3)
    assert again.log.clicks.equals(sim.log.clicks)
    assert again.log.events.equals(sim.log.events)
    assert again.truth.equals(sim.truth)
    other = simulate_c2c(N, 4)
    assert not other.log.clicks.equals(sim.log.clicks)
    sim.write(tmp_path / "c2c")
    log = EventLog.open(tmp_path / "c2c")
    assert log.clicks.equals(sim.log.clicks)
    assert log.events.equals(sim.log.events)
    assert log.catalog.equals(sim.log.catalog)
    assert log.spec.meta["preset"] == "c2c"
    assert EventLog.read_truth(tmp_path / "c2c").equals(sim.truth)


@pytest.mark.parametrize("n", [0, -5, 2.5, True])
def test_bad_arguments(n):
    with pytest.raises(ValueError, match="c2c"):
        simulate_c2c(n, 0)
    with pytest.raises(ValueError, match="seed"):
        simulate_c2c(10, "x")
