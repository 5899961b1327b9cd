"""The cascade preset: calibration to the published CASCADE statistics, the TESLA paper's
temporal and delay-signal effects, event-log invariants, truth consistency, determinism."""

import numpy as np
import pandas as pd
import pytest

from shopml.data.simulate import simulate
from shopml.data.simulate.cascade import TARGETS
from shopml.data.simulate.world import NETCVR_BIN_SIZES, ONLINEGMV_BIN_SIZES, STANDARD_FIELDS
from shopml.data.stats import data_stats

W = 3 * 86_400
H = 3_600


@pytest.fixture(scope="module")
def world():
    return simulate("cascade", 300_000, 7)


@pytest.fixture(scope="module")
def frame(world):
    """Per click: ts, hour, category, truth, pay/refund delays (NaN if none)."""
    log = world.log
    df = pd.DataFrame(
        {
            "ts": log.column("ts"),
            "hour": log.column("c_0"),
            "cat": log.column("i_0"),
            "pay_delay": log.conversion_delay(W),
            "refund_delay": log.refund_delay(W, W),
        }
    )
    for name in ("p_pay", "p_refund_given_pay", "p_net"):
        df[name] = world.truth.column(name).to_numpy()
    df["day"] = (df["ts"] - log.spec.meta["start_ts"]) // 86_400
    df["paid"] = df["pay_delay"].notna()
    df["refunded"] = df["refund_delay"].notna()
    return df


def test_calibrated_to_published_statistics(world):
    stats = data_stats(world.log)
    for key in ("cvr", "refund_share", "median_pay_delay_h", "median_refund_delay_h"):
        lo, hi = TARGETS[key][1]
        assert lo <= stats[key] <= hi, (key, stats[key])
    assert stats["duration_days"] == pytest.approx(25, abs=0.01)
    # heavy tails: most conversions after 15 min, a few after a day
    delay = world.log.conversion_delay(W)
    delay = delay[~np.isnan(delay)]
    assert (delay > 900).mean() > 0.8
    assert 0.03 < (delay > 86_400).mean() < 0.3
    refund_delay = world.log.refund_delay(W, W)
    assert (refund_delay[~np.isnan(refund_delay)] > 86_400).mean() > 0.05


def test_late_night_cvr_dip(frame):
    night = frame[frame["hour"].between(1, 5)]["paid"].mean()
    afternoon = frame[frame["hour"].between(13, 17)]["paid"].mean()
    assert night < afternoon - 0.01, (night, afternoon)
    # and click volume follows the diurnal cycle
    counts = frame["hour"].value_counts()
    assert counts.loc[21] > 4 * counts.loc[4]


def test_likely_clicks_convert_faster_and_risky_purchases_refund_faster(frame):
    paid = frame[frame["paid"]]
    assert paid["p_pay"].corr(paid["pay_delay"], method="spearman") < -0.1
    refunded = frame[frame["refunded"]]
    assert refunded["p_refund_given_pay"].corr(refunded["refund_delay"], method="spearman") < -0.05
    # refund risk is a different function of the features than conversion
    assert abs(frame["p_pay"].corr(frame["p_refund_given_pay"])) < 0.8


def test_segment_appeal_drifts_across_days(frame):
    top = frame["cat"].value_counts().index[0]
    seg = frame[frame["cat"] == top]
    logit = np.log(seg["p_pay"] / (1 - seg["p_pay"]))
    daily = logit.groupby(seg["day"]).mean()
    assert daily.std() > 0.1
    assert (daily.diff().abs() > 0.02).mean() > 0.5  # changes from day to day


def test_event_invariants(world):
    log = world.log
    click_ts = log.column("ts")
    assert np.all(np.diff(click_ts) >= 0)
    assert np.array_equal(log.column("click_id"), np.arange(log.n_clicks))
    pays, pay_ts, pay_amount = log.events_of("pay")
    refunds, ref_ts, ref_amount = log.events_of("refund")
    assert len(np.unique(pays)) == len(pays)  # one attributed pay per click
    assert len(np.unique(refunds)) == len(refunds)
    d = pay_ts - click_ts[pays]
    assert d.min() >= 1 and d.max() < W
    pay_of = dict(zip(pays.tolist(), pay_ts.tolist(), strict=True))
    amount_of = dict(zip(pays.tolist(), pay_amount.tolist(), strict=True))
    assert all(r in pay_of for r in refunds.tolist())  # refund only after a pay
    rd = ref_ts - np.array([pay_of[r] for r in refunds.tolist()])
    assert rd.min() >= 1 and rd.max() < W
    assert np.allclose(ref_amount, [amount_of[r] for r in refunds.tolist()])
    assert (pay_amount > 0).all()


def test_truth_matches_realised_rates(world, frame):
    n = len(frame)
    cvr, p_pay = frame["paid"].mean(), frame["p_pay"].mean()
    assert abs(cvr - p_pay) < 4 * np.sqrt(p_pay * (1 - p_pay) / n)
    net = (frame["paid"] & ~frame["refunded"]).mean()
    p_net = frame["p_net"].mean()
    assert abs(net - p_net) < 4 * np.sqrt(p_net * (1 - p_net) / n)
    truth = world.truth
    assert np.allclose(
        truth["p_net"].to_numpy(),
        truth["p_pay"].to_numpy() * (1 - truth["p_refund_given_pay"].to_numpy()),
    )


def test_spec_fields_and_meta(world):
    spec, clicks = world.log.spec, world.log.clicks
    assert spec.names == [f.name for f in STANDARD_FIELDS]
    groups = [f.group for f in spec.features]
    assert groups.count("user") == 8 and groups.count("item") == 6 and groups.count("context") == 8
    for k, feature in enumerate(spec.features):
        codes = clicks.column(feature.name).to_numpy()
        assert clicks.schema.field(feature.name).type == "int64"
        assert codes.min() >= 0 and codes.max() < feature.vocab_size
        assert feature.vocab_size <= min(NETCVR_BIN_SIZES[k], ONLINEGMV_BIN_SIZES[k])
    meta = spec.meta
    assert meta["conversion_window_s"] == W and meta["refund_window_s"] == W
    assert meta["preset"] == "cascade" and meta["end_ts"] - meta["start_ts"] == 25 * 86_400
    assert clicks.column("ts").to_numpy().min() >= meta["start_ts"]


def test_deterministic_for_a_seed():
    a, b, c = (
        simulate("cascade", 20_000, 3),
        simulate("cascade", 20_000, 3),
        simulate("cascade", 20_000, 4),
    )
    assert a.log.clicks.equals(b.log.clicks) and a.log.events.equals(b.log.events)
    assert a.truth.equals(b.truth)
    assert not a.log.clicks.equals(c.log.clicks)


def test_bad_arguments():
    with pytest.raises(ValueError, match="positive"):
        simulate("cascade", 0, 1)
    with pytest.raises(ValueError, match="seed"):
        simulate("cascade", 100, -1)


def test_roundtrip_through_parquet(tmp_path):
    from shopml.data import EventLog

    result = simulate("cascade", 5_000, 1)
    result.write(tmp_path)
    log = EventLog.open(tmp_path)
    assert log.clicks.equals(result.log.clicks)
    assert EventLog.read_truth(tmp_path).num_rows == 5_000


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"nosuch": 1}, r"unknown cascade parameters \['nosuch'\]"),
        ({"drift_sd": "x"}, "drift_sd: expected a number, got 'x'"),
        ({"drift_sd": True}, "drift_sd: expected a number, got True"),
        ({"drift_sd": float("nan")}, "drift_sd: expected a finite number"),
        ({"drift_sd": -0.1}, "drift_sd: a spread cannot be negative"),
        ({"drift_phi": 1.0}, r"drift_phi: must be in \[0, 1\)"),
        ({"cancel_share": 1.5}, r"cancel_share: must be in \[0, 1\]"),
        ({"pay_delay_shape": 0}, "pay_delay_shape: must be positive"),
        ({"n_days": 10.5}, "n_days: expected a whole number"),
        ({"conversion_window_s": -5}, "conversion_window_s: must be positive"),
    ],
)
def test_bad_preset_parameters_are_named(params, message):
    with pytest.raises(ValueError, match=message):
        simulate("cascade", 300, seed=0, params=params)


def test_parameters_read_as_floats_keep_their_kind():
    world = simulate("cascade", 300, seed=0, params={"n_days": 10.0, "drift_sd": np.int64(0)})
    days = (world.log.column("ts").max() - world.log.column("ts").min()) / 86_400
    assert days < 10


def test_clicks_and_params_of_the_wrong_type_are_named():
    with pytest.raises(TypeError, match="clicks must be an integer, got str '100'"):
        simulate("cascade", "100")
    with pytest.raises(TypeError, match="params must be a dict"):
        simulate("cascade", 100, params=[("drift_sd", 0.1)])
    assert simulate("cascade", np.int64(200), seed=0).log.n_clicks == 200
