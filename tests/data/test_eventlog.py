"""EventLog labels on hand-built logs, FeatureSpec leakage rules, and Parquet round trips."""

import numpy as np
import pyarrow as pa
import pytest

from shopml.data import EventLog, EventLogError, Feature, FeatureSpec
from shopml.data.schema import EVENTS_SCHEMA
from shopml.data.stats import data_stats

H = 3600
DAY = 86_400
T0 = 1_735_689_600  # 2025-01-01


def tiny_log() -> EventLog:
    """Five clicks with hand-placed pays and refunds.

    click 10: pay at +1h (amount 5), refund at +1.5h       -> converted, refunded
    click 11: pay at +2d, pay again at +4d (repurchase)    -> converted (3d), 2 purchases in 7d
    click 12: nothing                                      -> negative
    click 13: pay at +4d only                              -> not converted within 3d
    click 14: pay at +10min, refund at pay + 4d            -> converted, refund outside 3d window
    """
    spec = FeatureSpec(
        features=[Feature(name="u_0", kind="categorical", vocab_size=3, group="user")]
    )
    clicks = pa.table(
        {
            "click_id": pa.array([10, 11, 12, 13, 14], pa.int64()),
            "ts": pa.array([T0, T0 + 60, T0 + 120, T0 + 180, T0 + 240], pa.int64()),
            "user_id": pa.array([1, 2, 1, 3, 2], pa.int64()),
            "item_id": pa.array([7, 7, 8, 9, 9], pa.int64()),
            "u_0": pa.array([0, 1, 0, 2, 1], pa.int64()),
        }
    )
    rows = [
        (10, "pay", T0 + H, 5.0),
        (10, "refund", T0 + H + H // 2, 5.0),
        (11, "pay", T0 + 60 + 2 * DAY, 3.0),
        (11, "pay", T0 + 60 + 4 * DAY, 4.0),
        (13, "pay", T0 + 180 + 4 * DAY, 9.0),
        (14, "refund", T0 + 240 + 600 + 4 * DAY, 2.0),
        (14, "pay", T0 + 240 + 600, 2.0),
        (12, "cart", T0 + 200, None),
    ]
    events = pa.table(
        {
            "click_id": [r[0] for r in rows],
            "kind": [r[1] for r in rows],
            "ts": [r[2] for r in rows],
            "amount": [r[3] for r in rows],
        },
        schema=EVENTS_SCHEMA,
    )
    return EventLog(clicks=clicks, events=events, spec=spec)


def test_conversion_and_refund_labels():
    log = tiny_log()
    assert log.converted(3 * DAY).tolist() == [1, 1, 0, 0, 1]
    assert log.converted(7 * DAY).tolist() == [1, 1, 0, 1, 1]
    assert log.refunded(3 * DAY, 3 * DAY).tolist() == [1, 0, 0, 0, 0]
    assert log.refunded(3 * DAY, 5 * DAY).tolist() == [1, 0, 0, 0, 1]
    assert log.net_converted(3 * DAY, 3 * DAY).tolist() == [0, 1, 0, 0, 1]


def test_delays():
    log = tiny_log()
    delay = log.conversion_delay(3 * DAY)
    assert delay[0] == H and delay[1] == 2 * DAY and delay[4] == 600
    assert np.isnan(delay[2]) and np.isnan(delay[3])
    refund = log.refund_delay(3 * DAY, 3 * DAY)
    assert refund[0] == H // 2 and np.isnan(refund[4])


def test_gmv_and_purchase_counts():
    log = tiny_log()
    count, gmv = log.purchases(7 * DAY)
    assert count.tolist() == [1, 2, 0, 1, 1]
    assert gmv.tolist() == [5.0, 7.0, 0.0, 9.0, 2.0]
    # observed 3 days after each click: click 11 has only its first purchase yet
    observed = log.column("ts") + 3 * DAY
    assert log.gmv(7 * DAY, observed_at=observed).tolist() == [5.0, 3.0, 0.0, 0.0, 2.0]


def test_round_trip(tmp_path):
    log = tiny_log()
    log.write(tmp_path / "log")
    back = EventLog.open(tmp_path / "log")
    assert back.clicks.equals(log.clicks)
    assert back.events.equals(log.events)
    assert back.spec.names == ["u_0"]


def test_open_errors(tmp_path):
    with pytest.raises(EventLogError, match="no such event-log directory"):
        EventLog.open(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(EventLogError, match=r"missing clicks\.parquet"):
        EventLog.open(tmp_path / "empty")


def test_unknown_click_id_is_an_error():
    log = tiny_log()
    bad = pa.concat_tables(
        [
            log.events,
            pa.table(
                {"click_id": [99], "kind": ["pay"], "ts": [T0], "amount": [1.0]},
                schema=EVENTS_SCHEMA,
            ),
        ]
    )
    with pytest.raises(EventLogError, match="unknown click_id"):
        EventLog(clicks=log.clicks, events=bad).converted(DAY)


@pytest.mark.parametrize(
    "name",
    [
        "label",
        "converted",
        "pay_time",
        "refund_flag",
        "gmv_7d",
        "conversion_delay",
        "y",
        "true_p",
        "uplift",
    ],
)
def test_leaky_feature_names_are_rejected(name):
    with pytest.raises(ValueError, match="looks like a label"):
        Feature(name=name, kind="numeric")


@pytest.mark.parametrize(
    "name", ["u_0", "price_bucket", "hist_purchase_count", "payment_method", "category"]
)
def test_ordinary_feature_names_are_accepted(name):
    assert Feature(name=name, kind="numeric").name == name


def test_feature_spec_rules():
    with pytest.raises(ValueError, match="needs vocab_size or vocab"):
        Feature(name="c", kind="categorical")
    with pytest.raises(ValueError, match="reserved"):
        Feature(name="ts", kind="numeric")
    with pytest.raises(ValueError, match="declared twice"):
        FeatureSpec(features=[Feature(name="a", kind="numeric"), Feature(name="a", kind="numeric")])


def test_stats_on_tiny_log():
    stats = data_stats(tiny_log())
    assert stats["clicks"] == 5 and stats["users"] == 3 and stats["items"] == 3
    assert stats["conversions"] == 3  # clicks 10, 11, 14 within 3 days
    assert stats["refunds"] == 1
    assert stats["refund_share"] == pytest.approx(1 / 3)
    assert stats["median_pay_delay_h"] == pytest.approx(1.0)
    assert stats["cart_events"] == 1


def test_categorical_codes_stack_codes_and_code_string_vocabularies():
    log = tiny_log()
    log.spec = FeatureSpec(
        features=[
            Feature(name="u_0", kind="categorical", vocab_size=3, group="user"),
            Feature(name="colour", kind="categorical", vocab=["", "blue", "red"], group="item"),
        ]
    )
    log.clicks = log.clicks.append_column("colour", pa.array(["red", "", "blue", "red", "blue"]))
    codes, cards = log.categorical_codes()
    np.testing.assert_array_equal(codes, [[0, 2], [1, 0], [0, 1], [2, 2], [1, 1]])
    assert cards == [3, 3]


@pytest.mark.parametrize(
    ("feature", "values", "message"),
    [
        (Feature(name="c", kind="categorical", vocab=["a", "b"]), ["a", "b", "z", "a", "z"],
         r"feature 'c': 2 value\(s\) not in its vocabulary \(e.g. 'z'\)"),
        (Feature(name="c", kind="categorical", vocab_size=2), [0, 1, 2, 0, 1],
         r"feature 'c' has codes outside \[0, 2\)"),
        (Feature(name="c", kind="categorical", vocab_size=2), ["0", "1", "x", "0", "1"],
         "feature 'c' is declared with vocab_size but holds non-integer values"),
    ],
)  # fmt: skip
def test_categorical_codes_name_what_is_wrong(feature, values, message):
    log = tiny_log()
    log.spec = FeatureSpec(features=[feature])
    log.clicks = log.clicks.append_column("c", pa.array(values))
    with pytest.raises(EventLogError, match=message):
        log.categorical_codes()


def test_categorical_codes_need_categorical_features():
    log = tiny_log()
    log.spec = FeatureSpec(features=[])
    with pytest.raises(EventLogError, match="the stream methods need categorical features"):
        log.categorical_codes("the stream methods")
