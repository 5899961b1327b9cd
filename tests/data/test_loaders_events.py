"""Loaders that return event logs / interaction tables, on the real samples in ../shared/data
and on corrupted or hand-built copies in tmp_path."""

from __future__ import annotations

import importlib
import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from shopml.data import DatasetError, EventLog, load, load_report
from shopml.data.loaders import loaders
from shopml.data.loaders._common import read_csv, report_of
from shopml.data.loaders.conversion import CASCADE_ORIGIN, cascade, criteo_conversion, trace
from shopml.data.loaders.sessions import ANONYMOUS_USER_OFFSET
from shopml.data.loaders.uplift import hillstrom_frame
from shopml.data.samples import SampleDataMissingError, sample_path
from shopml.data.schema import EVENTS_SCHEMA

DAY = 86_400
EVENT_LOADERS = [
    "hillstrom",
    "criteo_uplift",
    "diginetica",
    "taobao_userbehavior",
    "attribution_journeys",
]


def _sample(relative: str) -> Path:
    try:
        return sample_path(relative)
    except SampleDataMissingError as exc:
        pytest.skip(f"shared data sample missing: {exc}")


def _kind_counts(log: EventLog) -> dict[str, int]:
    kinds = log.events.column("kind").to_pylist()
    return {k: kinds.count(k) for k in set(kinds)}


# ----------------------------------------------------------------------- registry / errors
def test_all_loaders_registered_with_their_samples() -> None:
    info = loaders()
    for name in [*EVENT_LOADERS, "cascade", "trace", "criteo_conversion", "google_merch_sessions"]:
        assert name in info, name
    assert info["cascade"].sample is None and info["trace"].sample is None
    assert info["google_merch_sessions"].returns == "table"
    assert info["hillstrom"].returns == "eventlog"


@pytest.mark.parametrize(
    "name", [*EVENT_LOADERS, "cascade", "trace", "criteo_conversion", "google_merch_sessions"]
)
def test_missing_file_is_a_clear_dataset_error(name: str, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        load(name, tmp_path / "nope.csv")
    fn = loaders()[name].fn
    with pytest.raises(DatasetError, match="no such file"):
        fn(tmp_path / "nope.csv")


def test_sampleless_loader_without_path_says_so() -> None:
    with pytest.raises(DatasetError, match="no sample"):
        load("cascade")


@pytest.mark.parametrize("name", EVENT_LOADERS)
def test_logs_write_and_reopen(name: str, tmp_path: Path) -> None:
    _sample(loaders()[name].sample)
    log = load(name)
    json.dumps(log.spec.meta)  # the load report and meta are JSON
    back = EventLog.open(log.write(tmp_path / name))
    assert back.n_clicks == log.n_clicks
    assert back.events.num_rows == log.events.num_rows
    assert back.spec.meta["load_report"] == log.spec.meta["load_report"]


# -------------------------------------------------------------------------------- hillstrom
def test_hillstrom_sample() -> None:
    _sample("hillstrom/hillstrom.csv")
    log = load("hillstrom")
    assert log.n_clicks == 64_000
    assert log.spec.meta["treatment_arms"] == {
        "0": "No E-Mail",
        "1": "Mens E-Mail",
        "2": "Womens E-Mail",
    }
    treatment = log.column("treatment")
    assert np.bincount(treatment).tolist() == [21_306, 21_307, 21_387]
    assert (log.column("exposure") == 1).all()
    assert (log.column("click_id") == log.column("user_id")).all()
    assert (log.column("item_id") == 0).all()
    assert _kind_counts(log) == {"visit": 9_394, "conversion": 578, "pay": 578}
    start = log.spec.meta["campaign_start"]
    assert (log.column("ts") == start).all()
    # first data row: 10,2) $100 - $200,142.44,1,0,Surburban,0,Phone,Womens E-Mail,0,0,0
    first = log.clicks.slice(0, 1).to_pylist()[0]
    assert first["recency"] == 10 and first["history"] == pytest.approx(142.44)
    assert first["history_segment"] == "2) $100 - $200" and first["zip_code"] == "Surburban"
    assert first["channel"] == "Phone" and first["treatment"] == 2 and first["mens"] == 1
    pay = log.events.filter(pa.compute.equal(log.events.column("kind"), "pay"))
    assert pay.column("amount").to_numpy().sum() == pytest.approx(67_258.13, abs=0.01)
    assert (pay.column("ts").to_numpy() == start + 2).all()
    assert log.converted(10, kind="visit").sum() == 9_394
    report = log.spec.meta["load_report"]
    assert report["rows_read"] == 64_000 and report["rows_rejected"] == 0
    assert log.spec["history_segment"].cardinality == 7
    assert log.spec["mens"].vocab_size == 2


@pytest.mark.parametrize(
    ("name", "sample"),
    [
        ("hillstrom", "hillstrom/hillstrom.csv"),
        ("criteo_uplift", "criteo_uplift/criteo-uplift-v2.1-head1000.csv"),
    ],
)
def test_uplift_stats_do_not_report_nominal_times_or_items(name: str, sample: str) -> None:
    from shopml.data.stats import data_stats

    _sample(sample)
    stats = data_stats(load(name))
    assert stats["users"] == stats["clicks"] and stats["items"] is None
    for key in ("duration_days", "conversion_window_h", "median_pay_delay_h"):
        assert stats.get(key) is None, key  # the times are a nominal campaign start + 1 or 2 s
    assert stats["conversion_events"] == (578 if name == "hillstrom" else 2)


def test_hillstrom_frame_for_sklearn() -> None:
    _sample("hillstrom/hillstrom.csv")
    X, treatment, visit, conversion, spend = hillstrom_frame()
    assert X.shape[0] == 64_000 and len(treatment) == 64_000
    assert all(np.issubdtype(t, np.number) for t in X.dtypes)
    assert "zip_code_Rural" in X.columns and "channel_Web" in X.columns
    assert visit.sum() == 9_394 and conversion.sum() == 578
    assert spend.sum() == pytest.approx(67_258.13, abs=0.01)
    raw, *_ = hillstrom_frame(one_hot=False)
    assert raw["channel"].dtype.name == "category"


def _hillstrom_copy(tmp_path: Path, n: int = 50) -> tuple[Path, list[str]]:
    lines = _sample("hillstrom/hillstrom.csv").read_text().splitlines()[: n + 1]
    return tmp_path / "hillstrom.csv", lines


def test_hillstrom_bom_and_blank_rows_are_tolerated_and_counted(tmp_path: Path) -> None:
    path, lines = _hillstrom_copy(tmp_path)
    body = [lines[0], *lines[1:11], "", ",,,,,,,,,,,", *lines[11:], ""]
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(body).encode())
    log = load("hillstrom", path)
    assert log.n_clicks == 50
    report = log.spec.meta["load_report"]
    assert report["blank_rows_dropped"] == 2 and report["rows_read"] == 50
    assert "recency" in log.clicks.column_names


def test_hillstrom_cp1252_file_loads(tmp_path: Path) -> None:
    path, lines = _hillstrom_copy(tmp_path)
    lines[1] = lines[1].replace("Surburban", "Surbürban")
    path.write_bytes("\n".join(lines).encode("cp1252"))
    log = load("hillstrom", path)
    assert log.spec.meta["load_report"]["encoding"] == "cp1252"
    assert "Surbürban" in log.spec["zip_code"].vocab


def test_hillstrom_missing_column_names_file_and_column(tmp_path: Path) -> None:
    path, lines = _hillstrom_copy(tmp_path)
    df = pd.read_csv(pd.io.common.StringIO("\n".join(lines))).drop(columns=["segment"])
    df.to_csv(path, index=False)
    with pytest.raises(DatasetError, match=r"hillstrom\.csv.*missing required column.*'segment'"):
        load("hillstrom", path)


def test_hillstrom_bad_values_name_the_row(tmp_path: Path) -> None:
    path, lines = _hillstrom_copy(tmp_path)
    lines[3] = lines[3].replace("E-Mail", "Letter", 1)
    path.write_text("\n".join(lines))
    with pytest.raises(DatasetError, match=r"data row 3 \(line 4\), column 'segment'"):
        load("hillstrom", path)
    path, lines = _hillstrom_copy(tmp_path)
    cells = lines[5].split(",")
    cells[-3] = "2"
    lines[5] = ",".join(cells)
    path.write_text("\n".join(lines))
    with pytest.raises(DatasetError, match=r"line 6\), column 'visit': expected 0 or 1"):
        load("hillstrom", path)


def test_hillstrom_spend_without_conversion_is_a_note_not_a_rejection(tmp_path: Path) -> None:
    path, lines = _hillstrom_copy(tmp_path)
    cells = lines[4].split(",")
    assert cells[-2:] == ["0", "0"]
    lines[4] = ",".join([*cells[:-1], "12.5"])  # data row 4: spend without conversion
    path.write_text("\n".join(lines) + "\n")
    log = load("hillstrom", path)
    report = log.spec.meta["load_report"]
    assert log.n_clicks == report["rows_read"] == 50  # rows in = rows out
    assert report["rows_rejected"] == 0 and report["rejected"] == {}
    assert (
        "1 row(s) with spend > 0 but no conversion (e.g. data row 4 (line 5)): kept without a "
        "pay event, so their spend (12.50 in all) is not in the log's events" in report["notes"]
    )
    pays = log.events.filter(pa.compute.equal(log.events.column("kind"), "pay"))
    assert 3 not in pays.column("click_id").to_pylist()  # data row 4 is click 3


# ---------------------------------------------------------------------------- criteo uplift
def test_criteo_uplift_sample() -> None:
    _sample("criteo_uplift/criteo-uplift-v2.1-head1000.csv")
    log = load("criteo_uplift")
    assert log.n_clicks == 1_000
    assert _kind_counts(log) == {"visit": 35, "conversion": 2}
    assert log.spec.names == [f"f{i}" for i in range(12)]
    first = log.clicks.slice(0, 2).to_pylist()
    assert first[0]["f0"] == pytest.approx(18.952454548893208)
    assert first[0]["treatment"] == 0 and first[1]["treatment"] == 1
    assert first[0]["exposure"] == 0
    assert log.clicks.schema.field("exposure").type == pa.int8()
    assert log.spec.meta["treatment_arms"] == {"0": "control", "1": "treated"}


def test_criteo_uplift_quirks_are_counted(tmp_path: Path) -> None:
    lines = _sample("criteo_uplift/criteo-uplift-v2.1-head1000.csv").read_text().splitlines()
    body = [lines[0], *lines[1:21], "", "1.0,2.0", *lines[21:41]]
    path = tmp_path / "criteo.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(body).encode() + b"\n")
    log = load("criteo_uplift", path)
    report = log.spec.meta["load_report"]
    assert log.n_clicks == 40
    assert report["blank_rows_dropped"] == 1
    assert report["rejected"] == {"malformed line (wrong number of fields)": 1}


def test_criteo_uplift_errors(tmp_path: Path) -> None:
    lines = _sample("criteo_uplift/criteo-uplift-v2.1-head1000.csv").read_text().splitlines()
    path = tmp_path / "criteo.csv"
    path.write_text("\n".join([lines[0].replace("visit", "visits"), *lines[1:5]]))
    with pytest.raises(DatasetError, match=r"missing required column.*'visit'"):
        load("criteo_uplift", path)
    path.write_text("\n".join([lines[0], lines[1].replace("18.95", "abc", 1), *lines[2:5]]))
    with pytest.raises(DatasetError, match=r"criteo\.csv: data row 1, column 'f0': not a number"):
        load("criteo_uplift", path)


def _set_field(line: str, index: int, value: str) -> str:
    cells = line.split(",")
    cells[index] = value
    return ",".join(cells)


def test_criteo_uplift_errors_name_the_file_row_after_dropped_rows(tmp_path: Path) -> None:
    lines = _sample("criteo_uplift/criteo-uplift-v2.1-head1000.csv").read_text().splitlines()
    rows = lines[1:21]
    rows[1] = "1.0,2.0"  # data row 2: malformed, skipped
    rows[2] = ""  # data row 3: blank, dropped
    rows[3] = _set_field(rows[3], 15, "")  # data row 4: no exposure, rejected
    rows[9] = _set_field(rows[9], 12, "2")  # data row 10: treatment 2
    path = tmp_path / "criteo.csv"
    path.write_text("\n".join([lines[0], *rows]) + "\n")
    with pytest.raises(
        DatasetError,
        match=r"column 'treatment': expected 0 or 1, found 2 \(1 such row\(s\), "
        r"first at data row 10 \(line 11\)\)",
    ):
        load("criteo_uplift", path)
    rows[9] = lines[10]
    path.write_text("\n".join([lines[0], *rows]) + "\n")
    report = load("criteo_uplift", path).spec.meta["load_report"]
    assert report["rejected"] == {
        "malformed line (wrong number of fields)": 1,
        "missing treatment/conversion/visit/exposure": 1,
    }
    assert "malformed lines, e.g. line(s) [3]" in report["notes"]
    rows[11] = rows[11].replace(rows[11].split(",")[0], "abc", 1)  # data row 12
    path.write_text("\n".join([lines[0], *rows]) + "\n")
    with pytest.raises(DatasetError, match=r"data row 12, column 'f0': not a number: 'abc'"):
        load("criteo_uplift", path)


# ------------------------------------------------------------------------------ diginetica
def test_diginetica_sample() -> None:
    _sample("diginetica/train-item-views-sample.csv")
    log = load("diginetica")
    assert log.n_clicks == 12_391
    assert log.events.num_rows == 0 and log.events.schema.equals(EVENTS_SCHEMA)
    first = log.clicks.slice(0, 1).to_pylist()[0]
    # 1;NA;81766;526309;2016-05-09
    assert first["item_id"] == 81_766
    assert first["ts"] == int(pd.Timestamp("2016-05-09", tz="UTC").timestamp()) + 526
    assert first["user_id"] == ANONYMOUS_USER_OFFSET + 1
    assert first["session_id"] == 1
    position = log.column("session_position")
    session = log.column("session_id")
    raw = pd.read_csv(_sample("diginetica/train-item-views-sample.csv"), sep=";")
    expected = raw["timeframe"].groupby(raw["session_id"]).rank(method="first") - 1
    assert position.tolist() == expected.tolist()
    assert position.min() == 0 and (position >= 0).all()
    assert len(np.unique(session)) == 2_986
    registered = log.column("user_id") < ANONYMOUS_USER_OFFSET
    # 4,710 views name a user; 21 more, without one, are in 6 sessions of one registered user
    assert registered.sum() == 4_710 + 21
    notes = log.spec.meta["load_report"]["notes"]
    assert any(n.startswith("21 view(s) without user_id in 6 session(s)") for n in notes)
    assert any(n.startswith("2 session(s) hold views of several registered users") for n in notes)
    assert set(log.column("user_id")[session == 104].tolist()) == {4}


def test_diginetica_bad_date_names_the_row(tmp_path: Path) -> None:
    lines = _sample("diginetica/train-item-views-sample.csv").read_text().splitlines()[:30]
    lines[7] = lines[7].rsplit(";", 1)[0] + ";2016-13-45"
    path = tmp_path / "views.csv"
    path.write_text("\n".join(lines))
    with pytest.raises(DatasetError, match=r"data row 7 \(line 8\), column 'eventdate'"):
        load("diginetica", path)


DIGINETICA_HEADER = "session_id;user_id;item_id;timeframe;eventdate"


def _diginetica_file(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "views.csv"
    path.write_text("\n".join([DIGINETICA_HEADER, *rows]) + "\n")
    return path


def test_diginetica_views_without_user_take_their_sessions_one_registered_user(
    tmp_path: Path,
) -> None:
    rows = [
        "1;NA;10;0;2016-05-09",  # session 1: one registered user (5) -> 5
        "1;5;11;1000;2016-05-09",
        "1;;12;2000;2016-05-09",
        "2;NA;10;0;2016-05-09",  # session 2: anonymous
        "3;7;10;0;2016-05-09",  # session 3: users 7 and 8 -> its NA view stays anonymous
        "3;8;11;1000;2016-05-09",
        "3;NA;12;2000;2016-05-09",
    ]
    log = load("diginetica", _diginetica_file(tmp_path, rows))
    offset = ANONYMOUS_USER_OFFSET
    assert log.column("user_id").tolist() == [5, 5, 5, offset + 2, 7, 8, offset + 3]
    notes = log.spec.meta["load_report"]["notes"]
    assert "2 views in anonymous sessions (user_id = offset + session)" in notes
    assert any(n.startswith("2 view(s) without user_id in 1 session(s) of one") for n in notes)
    assert (
        "1 session(s) hold views of several registered users (e.g. session 3: users [7, 8]): "
        "each view keeps its own user_id; their 1 view(s) without one stay anonymous" in notes
    )


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("2;-7;11;1000;2016-05-09", r"data row 2 \(line 3\), column 'user_id': negative id -7"),
        ("2;-1;11;1000;2016-05-09", r"column 'user_id': negative id -1 \(1 such row"),
        ("-2;4;11;1000;2016-05-09", r"data row 2 \(line 3\), column 'session_id': negative id"),
        ("2;4;-11;1000;2016-05-09", r"column 'item_id': negative id -11"),
        ("2;4;11;-1000;2016-05-09", r"data row 2 \(line 3\), column 'timeframe': negative "
         r"millisecond offset -1000 \(2 such row\(s\)\)"),
    ],
)  # fmt: skip
def test_diginetica_negative_values_are_errors_naming_the_row(
    row: str, message: str, tmp_path: Path
) -> None:
    rows = ["1;NA;10;0;2016-05-09", row, "3;NA;12;-5;2016-05-09"]
    if "-1000" not in row:
        rows[2] = "3;NA;12;5;2016-05-09"
    with pytest.raises(DatasetError, match=message):
        load("diginetica", _diginetica_file(tmp_path, rows))


# ------------------------------------------------------------------------------ taobao
def test_taobao_sample_attaches_behaviours_to_last_view() -> None:
    _sample("taobao/UserBehavior-head.csv")
    log = load("taobao_userbehavior")
    assert log.n_clicks == 3_926
    counts = _kind_counts(log)
    unattached = log.spec.meta["unattached"]
    assert counts["cart"] + unattached["cart"] == 190
    assert counts["fav"] + unattached["fav"] == 128
    assert counts["pay"] + unattached["pay"] == 77
    assert log.spec.meta["load_report"]["rows_rejected"] == sum(unattached.values())
    first = log.clicks.slice(0, 1).to_pylist()[0]
    assert (first["user_id"], first["item_id"], first["category_id"], first["ts"]) == (
        1, 2_268_318, 2_520_377, 1_511_544_070)  # fmt: skip
    clicks = log.clicks.to_pandas()
    ev = log.events.to_pandas().merge(clicks, on="click_id", suffixes=("", "_click"))
    assert (ev["ts"] >= ev["ts_click"]).all()


def test_taobao_attach_picks_latest_earlier_view(tmp_path: Path) -> None:
    rows = [
        "1,10,5,pv,1511600000",
        "1,10,5,pv,1511600100",
        "1,10,5,buy,1511600150",  # -> second pv (click 1)
        "1,10,5,pv,1511600200",
        "1,11,5,cart,1511600050",  # no pv of item 11 -> unattached
        "2,10,5,fav,1511600300",  # user 2 never viewed -> unattached
        "2,10,5,pv,1511600400",
        "2,10,5,cart,1511600400",  # same second -> attached to click 3
        "",
        "3,12,6,pv,123",  # implausible ts -> rejected
    ]
    path = tmp_path / "ub.csv"
    path.write_text("\n".join(rows) + "\n")
    log = load("taobao_userbehavior", path)
    assert log.n_clicks == 4
    events = log.events.to_pylist()
    assert {(e["kind"], e["click_id"]) for e in events} == {("pay", 1), ("cart", 3)}
    report = log.spec.meta["load_report"]
    assert report["blank_rows_dropped"] == 1
    assert report["rejected"]["timestamp before 2000 or after 2100"] == 1
    assert log.spec.meta["unattached"] == {"cart": 1, "fav": 1, "pay": 0}
    path.write_text("1,10,5,pv,1511600000\n1,10,5,click,1511600001\n")
    with pytest.raises(DatasetError, match=r"data row 2, column 'behavior_type'.*'click'"):
        load("taobao_userbehavior", path)


def test_taobao_bad_behaviour_names_the_file_row_after_dropped_rows(tmp_path: Path) -> None:
    lines = _sample("taobao/UserBehavior-head.csv").read_text().splitlines()[:12]
    lines[1] = ""  # data row 2: blank
    lines[2] = "1,2,3"  # data row 3: malformed
    lines[3] = _set_field(lines[3], 2, "")  # data row 4: an empty field
    lines[7] = _set_field(lines[7], 3, "PV")  # data row 8: unknown behaviour
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(
        DatasetError, match=r"data row 8, column 'behavior_type' \(4th field\): 'PV' is not one"
    ):
        load("taobao_userbehavior", path)


# ------------------------------------------------------------------------ attribution journeys
def test_attribution_journeys_sample() -> None:
    path = _sample("journeys/attribution_data_subset62k.csv")
    log = load("attribution_journeys")
    raw = pd.read_csv(path)
    assert log.n_clicks == raw["customer_id"].nunique() == 7_896
    assert log.events.num_rows == 0
    assert log.touchpoints.num_rows == 60_645
    assert log.conversions.num_rows == 1_838
    assert log.conversions.column("amount").to_numpy().sum() == pytest.approx(
        raw["conversion_value"].sum()
    )
    ids = log.spec.meta["customer_ids"]
    assert ids[0] == "A000100"
    first_touch = log.touchpoints.slice(0, 1).to_pylist()[0]
    assert first_touch["user_id"] == 0 and first_touch["campaign"] == ""
    # A000100's earliest row is 2018-07-08T21:53:37Z (Online Video)
    assert first_touch["ts"] == int(pd.Timestamp("2018-07-08T21:53:37Z").timestamp())
    assert first_touch["channel"] == "Online Video"
    assert log.clicks.column("ts")[0].as_py() == first_touch["ts"]
    assert set(log.spec.meta["channels"]) == {
        "Facebook", "Paid Search", "Online Video", "Instagram", "Online Display"}  # fmt: skip


def test_attribution_journeys_bad_timestamp_and_column(tmp_path: Path) -> None:
    lines = _sample("journeys/attribution_data_subset62k.csv").read_text().splitlines()[:40]
    bad = list(lines)
    bad[12] = bad[12].replace("2018-07", "2018-17", 1)
    path = tmp_path / "journeys.csv"
    path.write_text("\n".join(bad))
    with pytest.raises(DatasetError, match=r"line 13\), column 'time': unparsable timestamp"):
        load("attribution_journeys", path)
    path.write_text("\n".join([lines[0].replace("channel", "medium"), *lines[1:]]))
    with pytest.raises(DatasetError, match=r"missing required column.*'channel'"):
        load("attribution_journeys", path)


# ------------------------------------------------------------------------- google merch store
def test_google_merch_sessions_sample() -> None:
    _sample("journeys/google_merch_store_all_sessions.csv")
    table = load("google_merch_sessions")
    assert table.num_rows == 15_134
    first = table.slice(0, 1).to_pylist()[0]
    assert first["fullVisitorId"] == "2.81772E+18"
    assert first["visitor_id_exact"] is False
    assert first["ts"] == 1_473_757_371 + 122
    assert first["session_key"] == "2.81772E+18/1473757371"
    assert first["productPrice"] == 2_990_000
    report = load_report(table)
    assert report["rows_read"] == 15_134
    assert not any(table.column("visitor_id_exact").to_pylist())


# ----------------------------------------------------------------- hand-built official layouts
def _cascade_line(click: str, pay: str, refund: str, fields: list[str]) -> str:
    return "\t".join([click, pay, refund, *fields])


def test_cascade_release_layout(tmp_path: Path) -> None:
    t0 = 1_746_100_000
    fields = [str(i) for i in range(22)]
    lines = [
        _cascade_line(str(t0), f"[{t0 + 600}]", f"[{t0 + 900}]", fields),
        _cascade_line(str(t0 + 10), "[]", "[]", [str(i + 1) for i in range(22)]),
        _cascade_line(str(t0 + 20), f"[{t0 + 50}, {t0 + 80}]", "", ["['7']", *fields[1:]]),
        _cascade_line(str(t0 + 30), "", f"[{t0 + 99}]", fields),  # refund without pay
        _cascade_line("", "", "", fields),  # no click time
    ]
    path = tmp_path / "part-0.txt"
    path.write_text("\n".join(lines) + "\n\n")
    log = cascade(path)
    assert log.n_clicks == 4
    assert log.column("ts").tolist() == [t0, t0 + 10, t0 + 20, t0 + 30]
    assert log.converted(3 * DAY).tolist() == [1, 0, 1, 0]
    assert log.refunded(3 * DAY, 3 * DAY).tolist() == [1, 0, 0, 0]
    assert log.conversion_delay(3 * DAY)[2] == 30
    assert log.spec.names == [f"feature_{i}" for i in range(22)]
    assert log.column("feature_0").tolist() == [0, 1, 7, 0]
    assert log.spec["feature_0"].vocab_size == 8
    report = log.spec.meta["load_report"]
    assert report["rejected"] == {
        "click_time missing or negative": 1,
        "refund without a pay (refund event dropped)": 1,
    }
    assert report["blank_rows_dropped"] == 1
    assert any("several" in note for note in report["notes"])
    assert log.spec.meta["ts_relative"] is False


def test_cascade_processed_layout_and_directory(tmp_path: Path) -> None:
    fields = [str(i % 5) for i in range(22)]
    (tmp_path / "a.txt").write_text(
        _cascade_line("100", "700", "-1", fields) + "\n" + _cascade_line("200", "-1", "-1", fields)
    )
    (tmp_path / "b.txt").write_text(_cascade_line("300", "400", "1000", fields) + "\n")
    log = cascade(tmp_path)
    assert log.n_clicks == 3
    assert log.column("ts").tolist() == [
        CASCADE_ORIGIN + 100,
        CASCADE_ORIGIN + 200,
        CASCADE_ORIGIN + 300,
    ]
    assert log.converted(3 * DAY).tolist() == [1, 0, 1]
    assert log.refunded(3 * DAY, 3 * DAY).tolist() == [0, 0, 1]
    assert log.spec.meta["ts_relative"] is True
    assert log.spec.meta["ts_origin"] == CASCADE_ORIGIN
    assert log.spec.meta["amounts_known"] is False


def test_cascade_wrong_layout_and_bad_time(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_text("1\t2\t3\n")
    with pytest.raises(DatasetError, match="expected 25 tab-separated columns"):
        cascade(path)
    path.write_text(_cascade_line("100", "soon", "-1", ["0"] * 22) + "\n")
    with pytest.raises(DatasetError, match=r"line 1\), column 'pay_time'"):
        cascade(path)


def test_trace_layout_with_repurchases(tmp_path: Path) -> None:
    header = [f"feature_{i}" for i in range(22)] + [
        "click_time", "pay_time", "dirpay_amt", "multi_tag", "count", "total_counts",
        "prev_dirpay_amt", "prev_pay_time",
    ]  # fmt: skip
    feats = [str(i) for i in range(22)]
    rows = [
        [*feats, "1000", "[1500, 90000]", "[12.5, 30.0]", "1", "[1, 2]", "2", "[]", "[]"],
        [*feats, "2000", "[2600]", "[99.0]", "0", "[1]", "1", "[]", "[]"],
        [*feats, "3000", "[]", "[]", "0", "[]", "0", "[]", "[]"],
    ]
    path = tmp_path / "trace.txt"
    path.write_text("\n".join("\t".join(r) for r in [header, *rows]) + "\n")
    log = trace(path)
    assert log.n_clicks == 3
    count, gmv = log.purchases(7 * DAY)
    assert count.tolist() == [2, 1, 0]
    assert gmv.tolist() == pytest.approx([42.5, 99.0, 0.0])
    assert log.spec.names == [f"feature_{i}" for i in range(22)]
    assert "click_time" not in log.spec.names and "total_counts" not in log.spec.names
    rows[1][23] = "[2600, 2700]"
    path.write_text("\n".join("\t".join(r) for r in [header, *rows]) + "\n")
    with pytest.raises(DatasetError, match=r"data row 2 \(line 3\).*2 purchase\(s\).*1"):
        trace(path)


def test_criteo_conversion_layout(tmp_path: Path) -> None:
    ints = ["1", "", "3", "4", "5", "6", "7", "8"]
    cats = ["a1b2", "", "c3", "d4", "e5", "f6", "07", "h8", "i9"]
    lines = [
        "\t".join(["100", "", *ints, *cats]),
        "\t".join(["200", "4000", *ints, *cats]),
        "\t".join(["300", "250", *ints, *cats]),  # conversion before click
    ]
    path = tmp_path / "data.txt"
    path.write_text("\n".join(lines) + "\n")
    log = criteo_conversion(path)
    assert log.n_clicks == 3
    assert log.converted(30 * DAY).tolist() == [0, 1, 0]
    assert log.conversion_delay(30 * DAY)[1] == 3800
    assert np.isnan(log.column("int_2")).all() and (log.column("int_1") == 1).all()
    assert log.column("cat_7").tolist() == ["07"] * 3  # hashed values stay strings
    assert log.spec["cat_2"].vocab == [""]
    report = log.spec.meta["load_report"]
    assert report["rejected"] == {"conversion before its click (dropped)": 1}
    path.write_text("\t".join(["x100", "", *ints, *cats]) + "\n")
    with pytest.raises(DatasetError, match=r"column 'click_time'"):
        criteo_conversion(path)


# -------------------------------------------------------------------- _common API for others
def test_common_read_csv_reports_blank_rows(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"\xef\xbb\xbf a ,b\n1,2\n,\n\n3,4\n")
    df = read_csv(path, required=["a", "b"])
    assert list(df.columns) == ["a", "b"] and len(df) == 2
    assert report_of(df).blank_rows_dropped == 2
    with pytest.raises(DatasetError, match=r"x\.csv: missing required column\(s\) \['c'\]"):
        read_csv(path, required=["c"])
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DatasetError, match="empty"):
        read_csv(empty)


def test_a_file_of_another_loader_is_named_in_the_missing_column_error() -> None:
    hillstrom = _sample("hillstrom/hillstrom.csv")
    with pytest.raises(DatasetError, match="missing required") as caught:
        load("attribution_journeys", hillstrom)
    assert "it has the columns of the data set hillstrom" in str(caught.value)
    assert "shopml.data.load('hillstrom', path)" in str(caught.value)
    diginetica = _sample("diginetica/train-item-views-sample.csv")  # ';'-separated
    with pytest.raises(DatasetError, match="the columns of the data set diginetica") as caught:
        load("criteo_uplift", diginetica)
    assert "(the header holds ';': is the file ';'-separated?)" in str(caught.value)


def test_a_cascade_file_given_to_a_loader_with_a_header_is_named(tmp_path: Path) -> None:
    from shopml.data.simulate import simulate, write

    for cascade_file in write(simulate("cascade", 300, seed=0), tmp_path / "c", "cascade"):
        with pytest.raises(DatasetError, match="missing required") as caught:
            load("attribution_journeys", cascade_file)
        message = str(caught.value)
        assert "its first line is data: the file has no header line; tab-separated, 25" in message
        assert "columns are the CASCADE layout, which `shopml bench netcvr --data`" in message
        assert "-separated?" not in message
    headerless = tmp_path / "h.csv"
    headerless.write_text("1,2268318,2520377,pv,1511544070\n")
    with pytest.raises(DatasetError, match="missing required") as caught:
        load("hillstrom", headerless)
    assert str(caught.value).endswith("(its first line is data: the file has no header line)")


def test_a_file_no_loader_reads_gets_no_loader_named(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(DatasetError, match="missing required") as caught:
        load("hillstrom", path)
    assert "the columns of the data set" not in str(caught.value)


#: the file of a directory sample whose header a loader's declared columns must match
_DIRECTORY_SAMPLE_FILES = {"daangn_listings": "daangn*.csv", "hetpqa": "hetPQA_*_train.csv"}


def _header_of(name: str, sample: Path) -> list[str]:
    file = sample if sample.is_file() else sorted(sample.glob(_DIRECTORY_SAMPLE_FILES[name]))[0]
    first = pd.read_csv(file, nrows=0, sep=None, engine="python", encoding="utf-8-sig")
    return [str(c).strip() for c in first.columns]


@pytest.mark.parametrize(
    "name", [n for n, info in loaders().items() if info.columns and info.sample is not None]
)
def test_each_loaders_declared_columns_match_its_own_sample(name: str) -> None:
    from shopml.data.loaders import loaders_for_columns

    sample = _sample(loaders()[name].sample)
    assert name in loaders_for_columns(_header_of(name, sample))


# ---------------------------------------------------------------- simulator round trips
def _format_writer(fmt: str) -> None:
    """Skip unless the simulator's writer of this official layout exists."""
    if importlib.util.find_spec("shopml.data.simulate.formats") is None:
        pytest.skip("shopml/data/simulate/formats.py (the official-layout writers) does not exist")
    module = importlib.import_module("shopml.data.simulate.formats")
    if not hasattr(module, f"write_{fmt}"):
        pytest.skip(f"the simulator has no {fmt!r} format writer yet")


def _sorted_delays(values: np.ndarray) -> list[float]:
    return sorted(np.nan_to_num(values, nan=-1.0).tolist())


@pytest.mark.parametrize("layout", ["processed_data_expand.txt", "cascade_raw.txt"])
def test_cascade_round_trips_a_simulated_world(layout: str, tmp_path: Path) -> None:
    _format_writer("cascade")
    from shopml.data.simulate import simulate, write

    sim = simulate("cascade", 5_000, 1)
    paths = write(sim, tmp_path, "cascade")
    assert tmp_path / layout in paths
    log = load("cascade", tmp_path / layout)
    src = sim.log
    w = 3 * DAY
    assert log.n_clicks == src.n_clicks
    assert log.converted(w).sum() == src.converted(w).sum() > 0
    assert log.refunded(w, w).sum() == src.refunded(w, w).sum() > 0
    assert _sorted_delays(log.conversion_delay(w)) == _sorted_delays(src.conversion_delay(w))
    assert _sorted_delays(log.refund_delay(w, w)) == _sorted_delays(src.refund_delay(w, w))
    # the simulated world starts at CASCADE's 2025-05-01, our default origin: same clock
    assert sorted(log.column("ts").tolist()) == sorted(src.column("ts").tolist())
    order = np.argsort(src.column("ts"), kind="stable")
    for k, name in enumerate(["u_0", "u_1", "i_0", "c_7"]):
        column = {"u_0": 0, "u_1": 1, "i_0": 8, "c_7": 21}[name]
        assert log.column(f"feature_{column}").tolist() == src.column(name)[order].tolist(), k
    report = log.spec.meta["load_report"]
    assert report["rows_rejected"] == 0 and report["rows_read"] == src.n_clicks


def test_trace_round_trips_a_simulated_world(tmp_path: Path) -> None:
    _format_writer("trace")
    from shopml.data.simulate import simulate, write

    sim = simulate("trace", 5_000, 1)
    paths = write(sim, tmp_path, "trace")
    log = load("trace", paths[0])
    src = sim.log
    w = 7 * DAY
    n_src, gmv_src = src.purchases(w)
    n_log, gmv_log = log.purchases(w)
    assert log.n_clicks == int((n_src > 0).sum())  # TRACE lists converting clicks only
    assert n_log.sum() == n_src.sum() and (n_log > 1).sum() == (n_src > 1).sum() > 0
    assert gmv_log.sum() == pytest.approx(gmv_src.sum(), rel=1e-9)
    assert sorted(np.round(gmv_log, 6).tolist()) == sorted(np.round(gmv_src[n_src > 0], 6).tolist())
    assert log.spec.names == [f"feature_{i}" for i in range(22)]
    assert log.spec.meta["load_report"]["rows_rejected"] == 0


def test_criteo_conversion_round_trips_a_simulated_world(tmp_path: Path) -> None:
    _format_writer("criteo")
    from shopml.data.simulate import simulate, write

    sim = simulate("cascade", 5_000, 1)
    paths = write(sim, tmp_path, "criteo")
    log = load("criteo_conversion", paths[0])
    src = sim.log
    w = 3 * DAY
    assert log.n_clicks == src.n_clicks
    assert log.converted(w).sum() == src.converted(w).sum() > 0
    assert _sorted_delays(log.conversion_delay(w)) == _sorted_delays(src.conversion_delay(w))
    assert all(len(v) == 8 for v in log.spec["cat_1"].vocab)  # 8-digit hex hashes
    assert not np.isnan(log.column("int_1")).any()


def test_shared_copy_is_untouched(tmp_path: Path) -> None:
    """Loaders never write next to their input (they only read)."""
    src = _sample("taobao/UserBehavior-head.csv")
    copy = tmp_path / "ub.csv"
    shutil.copy(src, copy)
    load("taobao_userbehavior", copy)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ub.csv"]


def _journeys_frame(rows: int = 60) -> pd.DataFrame:
    return pd.read_csv(_sample("journeys/attribution_data_subset62k.csv")).head(rows)


def _touch_times(path: Path) -> np.ndarray:
    return load("attribution_journeys", path).touchpoints.column("ts").to_numpy()


def test_attribution_journeys_reads_epochs_and_either_day_order(tmp_path: Path) -> None:
    frame = _journeys_frame()
    iso = tmp_path / "iso.csv"
    frame.to_csv(iso, index=False)
    expected = _touch_times(iso)
    when = pd.to_datetime(frame["time"], utc=True)
    seconds = (when - pd.Timestamp("1970-01-01", tz="UTC")) // pd.Timedelta(seconds=1)
    cases = {
        "s": seconds, "ms": seconds * 1000,
        "dayfirst": when.dt.strftime("%d/%m/%Y %H:%M:%S"),
        "monthfirst": when.dt.strftime("%m/%d/%Y %H:%M:%S"),
    }  # fmt: skip
    for name, column in cases.items():
        path = tmp_path / f"{name}.csv"
        frame.assign(time=column).to_csv(path, index=False)
        assert np.array_equal(_touch_times(path), expected), name
    notes = load("attribution_journeys", tmp_path / "ms.csv").spec.meta["load_report"]["notes"]
    assert "column 'time' read as Unix epoch milliseconds" in notes
    bad = frame.assign(time=seconds.where(frame.index != 3, 5))
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DatasetError, match=r"data row 4 .*no Unix epoch.*: 5 \(1 such"):
        load("attribution_journeys", tmp_path / "bad.csv")


def test_attribution_journeys_refuses_dates_that_read_both_ways(tmp_path: Path) -> None:
    frame = _journeys_frame()
    when = pd.to_datetime(frame["time"], utc=True)
    frame = frame[when.dt.day <= 12]
    frame.assign(time=when[frame.index].dt.strftime("%d/%m/%Y %H:%M")).to_csv(
        tmp_path / "j.csv", index=False
    )
    with pytest.raises(DatasetError, match=r"month first .* and as day first .* both fit every row"):
        load("attribution_journeys", tmp_path / "j.csv")


def test_attribution_journeys_row_policies(tmp_path: Path) -> None:
    frame = _journeys_frame()
    conv = frame.index[frame["interaction"] == "conversion"]
    path = tmp_path / "j.csv"
    pd.concat([frame, frame.iloc[[0]]]).assign(
        conversion_value=lambda f: f["conversion_value"].where(f.index != conv[0])
    ).to_csv(path, index=False)
    log = load("attribution_journeys", path)
    report = log.spec.meta["load_report"]
    assert report["rejected"] == {}
    assert report["notes"] == [
        "1 row(s) repeat an earlier row exactly (kept; if the export doubled rows, drop them "
        "first)",
        "1 conversion(s) without a conversion_value, kept with value 0 "
        "(they count in conversion credit, not in value credit)",
    ]
    assert log.conversions.num_rows == len(conv)
    frame.assign(conversion=1).to_csv(path, index=False)
    with pytest.raises(DatasetError, match=r"data row 1 .*interaction 'impression' with conversion 1"):
        load("attribution_journeys", path)
    frame.head(0).to_csv(path, index=False)
    with pytest.raises(DatasetError, match="no data rows"):
        load("attribution_journeys", path)
    frame.to_csv(path, index=False, sep=";")
    with pytest.raises(DatasetError, match="is the file ';'-separated"):
        load("attribution_journeys", path)


def test_attribution_journeys_reads_short_years_and_yyyymmdd_and_names_odd_rows(tmp_path: Path) -> None:
    frame = _journeys_frame()
    iso = tmp_path / "iso.csv"
    frame.to_csv(iso, index=False)
    when = pd.to_datetime(frame["time"], utc=True)
    days = when.dt.floor("D")
    frame.assign(time=when.dt.strftime("%m/%d/%y %H:%M:%S")).to_csv(tmp_path / "yy.csv", index=False)
    assert np.array_equal(_touch_times(tmp_path / "yy.csv"), _touch_times(iso))
    frame.assign(time=when.dt.strftime("%Y%m%d").astype(int)).to_csv(tmp_path / "n.csv", index=False)
    log = load("attribution_journeys", tmp_path / "n.csv")
    seconds = (days - pd.Timestamp("1970-01-01", tz="UTC")) // pd.Timedelta(seconds=1)
    expected = np.sort(seconds[frame["interaction"] == "impression"].to_numpy())
    assert np.array_equal(np.sort(log.touchpoints.column("ts").to_numpy()), expected)
    odd = frame.assign(time=frame["time"].where(frame.index != 5, "07/13/2018 11:00"))
    odd.to_csv(tmp_path / "odd.csv", index=False)
    with pytest.raises(DatasetError, match=r"data row 6 .*not in the format %Y-%m-%dT%H:%M:%S%z"):
        load("attribution_journeys", tmp_path / "odd.csv")


def test_a_compressed_file_cut_short_is_named(tmp_path: Path) -> None:
    import gzip

    packed = gzip.compress(_sample("journeys/attribution_data_subset62k.csv").read_bytes())
    path = tmp_path / "j.csv.gz"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(DatasetError, match=r"cannot decompress .*looks cut short"):
        load("attribution_journeys", path)


def test_a_file_whose_every_row_is_rejected_is_refused_not_read_as_empty(tmp_path: Path) -> None:
    lines = _sample("taobao/UserBehavior-head.csv").read_text().splitlines()
    path = tmp_path / "semi.csv"
    path.write_text("\n".join(line.replace(",", ";") for line in lines) + "\n")
    with pytest.raises(DatasetError, match=r"every row was rejected: malformed line"):
        load("taobao_userbehavior", path)


def test_a_row_with_an_extra_field_is_refused_not_shifted(tmp_path: Path) -> None:
    lines = _sample("hillstrom/hillstrom.csv").read_text().splitlines()[:50]
    lines[1] += ",9"  # on the first data row pandas took the first column for an index
    path = tmp_path / "h.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match=r"more ','-separated fields than the header's 12"):
        load("hillstrom", path)
    lines[1] = lines[1][:-1]  # a trailing empty field loses nothing: read as it stands
    path.write_text("\n".join(lines) + "\n")
    assert load("hillstrom", path).n_clicks == 49
