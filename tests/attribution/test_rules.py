"""Rule-based attribution on hand-built journeys; every expected value computed by hand."""

import numpy as np
import pytest

from shopml.attribution import attribute
from shopml.attribution.journeys import journeys_from_paths

# journeys (touches one day apart, conversion one day after the last touch):
#   J0 a > b > c   converted
#   J1 b           converted
#   J2 a > b       converted
#   J3 c           not converted (gets no credit under any rule)
#   J4 a > c > c > b  converted
PATHS = [["a", "b", "c"], ["b"], ["a", "b"], ["c"], ["a", "c", "c", "b"]]
CONVERTED = [1, 1, 1, 0, 1]


@pytest.fixture(scope="module")
def journeys():
    return journeys_from_paths(PATHS, CONVERTED)


def credit(journeys, method, **opts):
    result = attribute(journeys, method, **opts)
    assert np.allclose(result.journey_credit.sum(axis=1), 1.0)
    assert result.journey_ids.tolist() == [0, 1, 2, 4]
    return result.channel_conversions


def test_first_touch(journeys):
    # J0 a, J1 b, J2 a, J4 a
    assert credit(journeys, "first_touch").tolist() == [3.0, 1.0, 0.0]


def test_last_touch(journeys):
    # J0 c, J1 b, J2 b, J4 b
    assert credit(journeys, "last_touch").tolist() == [0.0, 3.0, 1.0]


def test_linear(journeys):
    # a: 1/3 (J0) + 1/2 (J2) + 1/4 (J4) = 13/12; b: 1/3 + 1 + 1/2 + 1/4 = 25/12; c: 1/3 + 2/4 = 10/12
    assert np.allclose(credit(journeys, "linear"), [13 / 12, 25 / 12, 10 / 12])


def test_time_decay(journeys):
    # half-life 1 day, weight 2^-days-to-conversion:
    # J0: a 3 d -> 1/8, b 2 d -> 1/4, c 1 d -> 1/2; normalised a 1/7, b 2/7, c 4/7
    # J1: b 1.  J2: a 1/4, b 1/2 -> a 1/3, b 2/3
    # J4: a 1/16, c 1/8 + 1/4, b 1/2 (sum 15/16) -> a 1/15, c 6/15, b 8/15
    expected = [1 / 7 + 1 / 3 + 1 / 15, 2 / 7 + 1 + 2 / 3 + 8 / 15, 4 / 7 + 6 / 15]
    assert np.allclose(credit(journeys, "time_decay", half_life_days=1.0), expected)


def test_position_based(journeys):
    # 40/20/40: J0 a .4 b .2 c .4; J1 b 1; J2 (two touches) a .5 b .5; J4 a .4, c .1 + .1, b .4
    assert np.allclose(credit(journeys, "position_based"), [1.3, 2.1, 0.6])


def test_value_is_credited_with_the_same_split():
    j = journeys_from_paths([["a", "b"]], [1])
    j.table.loc[0, "value"] = 10.0
    result = attribute(j, "linear")
    assert result.channel_value.tolist() == [5.0, 5.0]
    table = result.channel_table()
    assert table["share"].tolist() == [0.5, 0.5]


def test_bad_options_are_refused(journeys):
    with pytest.raises(ValueError, match="half_life_days"):
        attribute(journeys, "time_decay", half_life_days=0)
    with pytest.raises(ValueError, match="first \\+ last"):
        attribute(journeys, "position_based", first=0.7, last=0.7)
    with pytest.raises(KeyError, match="unknown attribution method"):
        attribute(journeys, "nope")


def test_rules_match_channelattribution_heuristics(journeys):
    ca = pytest.importorskip("ChannelAttribution")
    import pandas as pd

    frame = pd.DataFrame({"path": [" > ".join(p) for p in PATHS], "conv": CONVERTED})
    ref = ca.heuristic_models(frame, "path", "conv", flg_pro=False).set_index("channel_name")
    ref = ref.loc[["a", "b", "c"]]
    assert credit(journeys, "first_touch") == pytest.approx(ref["first_touch"].to_numpy())
    assert credit(journeys, "last_touch") == pytest.approx(ref["last_touch"].to_numpy())
    assert credit(journeys, "linear") == pytest.approx(ref["linear_touch"].to_numpy())


def test_time_decay_with_a_short_half_life_keeps_the_latest_touch(journeys):
    # gap 1 d, half-life 1e-4 d: every weight underflows to 0 unless measured from the latest
    # touch; the latest touch of each converted journey takes all its credit (J0 c, J1 b, J2 b,
    # J4 b), as last touch does.
    short = credit(journeys, "time_decay", half_life_days=1e-4)
    assert np.allclose(short, credit(journeys, "last_touch"))


def test_position_based_with_no_first_or_last_share_splits_two_touches_evenly(journeys):
    # first = last = 0: three touches give the middle everything; two touches split 50/50
    # J0 b 1; J1 b 1; J2 a .5 b .5; J4 c 1 (two middle touches of c)
    assert np.allclose(credit(journeys, "position_based", first=0.0, last=0.0), [0.5, 2.5, 1.0])


@pytest.mark.parametrize(
    ("method", "options", "named"),
    [
        ("time_decay", {"half_life_days": float("nan")}, "half_life_days must be a positive number, got nan"),
        ("time_decay", {"half_life_days": "7"}, "half_life_days must be a positive number, got '7'"),
        ("position_based", {"first": float("nan")}, "got nan, 0.4"),
        ("position_based", {"last": "0.4"}, "got 0.4, '0.4'"),
    ],
)
def test_nan_or_text_options_are_refused(journeys, method, options, named):
    """Before: NaN passed every comparison and gave NaN credit; text failed on '<='."""
    with pytest.raises(ValueError, match=named):
        attribute(journeys, method, **options)
