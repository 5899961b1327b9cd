"""The journey view: touches cut at conversions, unattributable conversions counted, lookback."""

import numpy as np
import pandas as pd
import pytest

from shopml.attribution.journeys import (
    JourneyError,
    build_journeys,
    journeys_from_log,
    journeys_from_paths,
)
from shopml.data import load
from shopml.data.samples import sample_path


def test_touches_are_cut_at_each_conversion():
    # user 1: a@10 b@20 | conv@25 | c@30 | conv@40 | a@50 (no conversion after)
    # user 2: conv@5 with no touch before it (unattributable) | b@7
    touch = pd.DataFrame(
        {"user_id": [1, 1, 1, 1, 2], "ts": [20, 10, 30, 50, 7], "channel": [*list("baca"), "b"]}
    )
    conv = pd.DataFrame({"user_id": [1, 1, 2], "ts": [40, 25, 5], "amount": [2.0, 1.0, 9.0]})
    j = build_journeys(touch, conv)
    assert j.channels == ["a", "b", "c"]
    assert j.paths().tolist() == ["a > b", "c", "a", "b"]
    assert j.table["converted"].tolist() == [1, 1, 0, 0]
    assert j.table["value"].tolist() == [1.0, 2.0, 0.0, 0.0]
    assert j.table["end_ts"].tolist() == [25, 40, 50, 7]
    assert j.unattributed_conversions == 1
    assert j.touches["to_end_s"].tolist() == [15.0, 5.0, 10.0, 0.0, 0.0]
    assert j.touches["to_last_s"].tolist() == [10.0, 0.0, 0.0, 0.0, 0.0]
    assert j.channel_masks().tolist() == [0b011, 0b100, 0b001, 0b010]


def test_lookback_drops_old_touches():
    touch = pd.DataFrame({"user_id": [1, 1], "ts": [10, 20], "channel": ["a", "b"]})
    conv = pd.DataFrame({"user_id": [1], "ts": [25]})
    j = build_journeys(touch, conv, lookback_s=12)  # a is 15 s before the conversion
    assert j.paths().tolist() == ["b"]
    assert j.n_conversions == 1


def test_bad_input_is_named():
    with pytest.raises(JourneyError, match="column 'channel'"):
        build_journeys(pd.DataFrame({"user_id": [1], "ts": [1], "channel": ["x"]}), channels=["a"])
    with pytest.raises(JourneyError, match="lacks column 'ts'"):
        build_journeys(pd.DataFrame({"user_id": [1], "channel": ["a"]}))
    with pytest.raises(JourneyError, match="at least one touch"):
        journeys_from_paths([[]], [1])
    touch = pd.DataFrame({"user_id": [1, 1], "ts": [10, 20], "channel": ["a", "b"]})
    for lookback in (0, -12):
        with pytest.raises(
            JourneyError, match=f"lookback window must be positive, got {lookback} s"
        ):
            build_journeys(touch, lookback_s=lookback)


def test_a_value_column_under_another_name_is_not_dropped_silently():
    touch = pd.DataFrame({"user_id": [1, 2], "ts": [10, 20], "channel": ["a", "b"]})
    conv = pd.DataFrame({"user_id": [1, 2], "ts": [15, 25], "conversion_value": [30.0, 5.0]})
    with pytest.raises(JourneyError, match="no 'amount' column but have 'conversion_value'"):
        build_journeys(touch, conv)
    j = build_journeys(touch, conv.rename(columns={"conversion_value": "amount"}))
    assert j.table["value"].tolist() == [30.0, 5.0]
    assert build_journeys(touch, conv[["user_id", "ts"]]).table["value"].tolist() == [1.0, 1.0]


def test_attribute_names_an_option_the_method_does_not_take():
    from shopml.attribution import attribute

    touch = pd.DataFrame({"user_id": [1, 2], "ts": [10, 20], "channel": ["a", "b"]})
    j = build_journeys(touch, pd.DataFrame({"user_id": [1], "ts": [15]}))
    with pytest.raises(ValueError, match="half_lif"):
        attribute(j, "time_decay", half_lif=3600)


def test_real_sample_journeys_account_for_every_conversion():
    log = load("attribution_journeys", sample_path("journeys/attribution_data_subset62k.csv"))
    j = journeys_from_log(log)
    assert len(j.touches) == log.touchpoints.num_rows  # no touch lost
    assert j.n_conversions + j.unattributed_conversions == log.conversions.num_rows
    assert j.channels == sorted(log.spec.meta["channels"])
    # journeys are time-ordered and every converted journey ends at or after its last touch
    assert (j.table["end_ts"] >= j.table["last_ts"]).all()
    assert np.all(np.diff(j.touches["journey"].to_numpy()) >= 0)


def test_touches_without_any_conversion_make_unconverted_journeys():
    touch = pd.DataFrame({"user_id": [1, 1, 2], "ts": [0, 1, 5], "channel": ["a", "b", "a"]})
    j = build_journeys(touch)
    assert j.table["converted"].tolist() == [0, 0]
    assert j.n_conversions == 0 and j.unattributed_conversions == 0


def test_journeys_from_log_names_a_table_that_is_not_an_event_log():
    table = load("google_merch_sessions")
    with pytest.raises(JourneyError, match="takes an EventLog with touchpoints, got Table"):
        journeys_from_log(table)


def test_datetime_times_are_read_as_seconds():
    """A pandas datetime column was taken as its raw int64 (µs or ns), so time decay saw
    journeys trillions of "seconds" long and credited the last touch alone."""
    days = pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-15"])
    touch = pd.DataFrame({"user_id": [1, 1, 1], "ts": days, "channel": ["a", "b", "c"]})
    conv = pd.DataFrame({"user_id": [1], "ts": pd.to_datetime(["2024-01-15"])})
    in_seconds = build_journeys(
        touch.assign(ts=[1_704_067_200, 1_704_672_000, 1_705_276_800]),
        conv.assign(ts=[1_705_276_800]),
    )
    for t, c in ((touch, conv), (touch.assign(ts=days.tz_localize("Europe/Paris")),
                                 conv.assign(ts=conv["ts"].dt.tz_localize("Europe/Paris")))):  # fmt: skip
        j = build_journeys(t, c)
        assert j.touches["to_end_s"].tolist() == [14 * 86_400.0, 7 * 86_400.0, 0.0]
        if t["ts"].dt.tz is None:
            pd.testing.assert_frame_equal(j.touches, in_seconds.touches)


@pytest.mark.parametrize(
    ("touch", "conv", "named"),
    [
        ({"ts": [1.0, np.nan]}, {}, r"touchpoints row 1, column 'ts': nan; ts must be Unix"),
        ({"ts": pd.to_datetime(["2024-01-01", None])}, {}, r"touchpoints row 1, column 'ts'"),
        (
            {"channel": ["a", None]},
            {},
            r"touchpoints row 1, column 'channel': (None|nan); every touch",
        ),
        (
            {"user_id": ["A1", " "]},
            {},
            r"touchpoints row 1, column 'user_id': ' '; user ids must not be blank",
        ),
        (
            {"user_id": [1.0, np.nan]},
            {"user_id": ["A1"]},
            r"touchpoints row 1, column 'user_id': nan",
        ),
        ({}, {"user_id": [1.5]}, r"conversions row 0, column 'user_id': 1.5"),
        ({}, {"amount": [np.nan]}, r"conversions row 0, column 'amount': nan"),
        (
            {},
            {"amount": [-5.0]},
            r"conversions row 0, column 'amount': -5.0; a conversion's amount",
        ),
    ],
)
def test_blank_or_unusable_values_are_named(touch, conv, named):
    """Before: a blank ts became -2**63, a blank channel the channel '', a blank or negative
    amount NaN or negative credit (text ids are read as such: test_text_user_ids_...)."""
    touches = pd.DataFrame({"user_id": [1, 1], "ts": [10.0, 20.0], "channel": ["a", "b"]})
    conversions = pd.DataFrame({"user_id": [1], "ts": [30], "amount": [2.0]})
    with pytest.raises(JourneyError, match=named):
        build_journeys(touches.assign(**touch), conversions.assign(**conv))


def test_a_channel_listed_twice_is_refused():
    touch = pd.DataFrame({"user_id": [1, 1], "ts": [10, 20], "channel": ["a", "b"]})
    with pytest.raises(JourneyError, match=r"channels lists \['a'\] more than once"):
        build_journeys(touch, channels=["a", "b", "a"])


def test_text_user_ids_give_the_journeys_of_their_codes_and_stay_in_the_tables():
    """Before: text ids were refused ("map other ids to codes first"), though the journeys
    file loader reads its text customer ids itself."""
    touch = pd.DataFrame(
        {"user_id": ["B7", "A1", "B7", "A1", " C2"], "ts": [20, 10, 30, 50, 7],
         "channel": list("bacab")}
    )  # fmt: skip
    conv = pd.DataFrame({"user_id": ["B7", "C2", "A1"], "ts": [40, 8, 60], "amount": [2.0, 1, 3]})
    as_text = build_journeys(touch, conv)
    codes = {"A1": 0, "B7": 1, "C2": 2}
    as_codes = build_journeys(
        touch.assign(user_id=touch["user_id"].str.strip().map(codes)),
        conv.assign(user_id=conv["user_id"].map(codes)),
    )
    assert as_text.paths().tolist() == as_codes.paths().tolist() == ["a > a", "b > c", "b"]
    assert as_text.table["user_id"].tolist() == ["A1", "B7", "C2"]
    assert as_text.touches["user_id"].tolist() == ["A1", "A1", "B7", "B7", "C2"]
    cols = ["converted", "value", "end_ts"]
    assert as_text.table[cols].equals(as_codes.table[cols])


def test_integer_ids_in_one_table_meet_text_ids_in_the_other():
    touch = pd.DataFrame({"user_id": [1, 2], "ts": [10, 20], "channel": ["a", "b"]})
    conv = pd.DataFrame({"user_id": ["2", "x9"], "ts": [25, 30]})
    j = build_journeys(touch, conv)
    assert j.table["user_id"].tolist() == ["1", "2"]
    assert j.table["converted"].tolist() == [0, 1]
    assert j.unattributed_conversions == 1  # x9 has no touch


def test_context_is_indexed_by_text_ids():
    touch = pd.DataFrame({"user_id": ["u1", "u2"], "ts": [10, 20], "channel": ["a", "b"]})
    context = pd.DataFrame({"region": [3, 5]}, index=["u2", "u1"])
    j = build_journeys(touch, context=context)
    assert j.context["region"].tolist() == [5, 3]
    with pytest.raises(JourneyError, match="context has no row for user_id 'u2'"):
        build_journeys(touch, context=context.loc[["u1"]])


def test_numbers_among_text_ids_are_checked_and_written_as_integers():
    """Before: in a table with text ids, a nullable integer column's missing id became the
    user '<NA>' (its conversion silently unattributed, its touches a journey of their own),
    and a number held in an object column was written as '2.0' (so it missed the user 2 of
    the other table) or kept as the text '2.5'."""
    touch = pd.DataFrame({"user_id": ["a", "2"], "ts": [10, 20], "channel": ["x", "y"]})
    nullable = pd.array([2, None], dtype="Int64")
    with pytest.raises(JourneyError, match=r"conversions row 1, column 'user_id': <NA>"):
        build_journeys(touch, pd.DataFrame({"user_id": nullable, "ts": [40, 50]}))
    with pytest.raises(JourneyError, match=r"touchpoints row 1, column 'user_id': <NA>"):
        build_journeys(
            pd.DataFrame({"user_id": nullable, "ts": [10, 20], "channel": ["x", "y"]}),
            pd.DataFrame({"user_id": ["a"], "ts": [40]}),
        )
    mixed = pd.DataFrame({"user_id": [2.0, "b"], "ts": [10, 20], "channel": ["x", "y"]})
    j = build_journeys(mixed, pd.DataFrame({"user_id": [2], "ts": [40]}))
    assert j.table["user_id"].tolist() == ["2", "b"] and j.table["converted"].tolist() == [1, 0]
    with pytest.raises(JourneyError, match=r"touchpoints row 0, column 'user_id': 2.5; user ids"):
        build_journeys(mixed.assign(user_id=[2.5, "b"]))
    with pytest.raises(JourneyError, match=r"touchpoints row 0, column 'user_id': nan; user ids"):
        build_journeys(mixed.assign(user_id=[np.nan, "b"]))


def test_journeys_from_log_names_a_log_without_touchpoints(tmp_path):
    from shopml.data import EventLog
    from shopml.data.simulate import simulate

    simulate("c2c", 300, seed=0).log.write(tmp_path / "c2c")
    log = EventLog.open(tmp_path / "c2c")
    with pytest.raises(JourneyError) as caught:
        journeys_from_log(log)
    assert f"the event log {tmp_path / 'c2c'} has no touchpoints table" in str(caught.value)
    assert "journeys preset" in str(caught.value)
