"""Event-log validation and repair on a small hand-built log and one corruption per check.

Each corruption asserts the exact set of (table, row, column, check) reported -- nothing
spurious -- and that repair keeps kept + rejected == input rows for every table and writes
a log that validates clean (warnings, which never drop rows, may remain).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shopml.data import EventLog, Feature, FeatureSpec
from shopml.data.schema import EVENTS_SCHEMA, MAX_TS
from shopml.data.validate import CHECKS, RepairError, repair, validate

T0 = 1_735_689_600  # 2025-01-01
N_CLICKS = 50
DEVICES = ["ios", "android", "web"]
Tables = dict[str, pa.Table]
Key = tuple[str, int | None, str | None, str]


def spec() -> FeatureSpec:
    """A categorical code feature, a string-vocab feature, a code sequence and a number."""
    return FeatureSpec(
        features=[
            Feature(name="cat", kind="categorical", vocab_size=5, group="item"),
            Feature(name="device", kind="categorical", vocab=DEVICES, group="context"),
            Feature(name="hist_items", kind="sequence", vocab_size=20, max_len=5, group="user"),
            Feature(name="price_z", kind="numeric", group="item"),
        ],
        meta={"source": "test_validate"},
    )


def click_id(i: int) -> int:
    return 1000 + i


def click_ts(i: int) -> int:
    return T0 + 3600 * i


def base_tables() -> Tables:
    """50 clicks; pays on even clicks, refunds on multiples of 4, carts and visits elsewhere."""
    idx = range(N_CLICKS)
    clicks = pa.table(
        {
            "click_id": [click_id(i) for i in idx],
            "ts": [click_ts(i) for i in idx],
            "user_id": [i % 7 for i in idx],
            "item_id": [i % 11 for i in idx],
            "cat": [i % 5 for i in idx],
            "device": [DEVICES[i % 3] for i in idx],
            "hist_items": [[(i + k) % 20 for k in range(i % 4)] for i in idx],
            "price_z": [(i - 25) / 10 for i in idx],
        },
        schema=spec().clicks_schema(),
    )
    rows = []
    for i in idx:
        if i % 2 == 0:
            rows.append((click_id(i), "pay", click_ts(i) + 600, 10.0 + i))
        if i % 4 == 0:
            rows.append((click_id(i), "refund", click_ts(i) + 1200, 10.0 + i))
        if i % 3 == 0:
            rows.append((click_id(i), "cart", click_ts(i) + 60, None))
        if i % 5 == 0:
            rows.append((click_id(i), "visit", click_ts(i) + 30, None))
    rows.sort(key=lambda r: r[2])
    events = pa.table(
        {name: [r[k] for r in rows] for k, name in enumerate(EVENTS_SCHEMA.names)},
        schema=EVENTS_SCHEMA,
    )
    touchpoints = pa.table(
        {
            "user_id": pa.array([k % 7 for k in range(10)], pa.int64()),
            "ts": pa.array([T0 + 100 * k for k in range(10)], pa.int64()),
            "channel": ["search"] * 5 + ["email"] * 5,
            "campaign": ["c1"] * 10,
        }
    )
    conversions = pa.table(
        {
            "user_id": pa.array([0, 1, 2], pa.int64()),
            "ts": pa.array([T0 + 5000, T0 + 6000, T0 + 7000], pa.int64()),
            "amount": pa.array([3.0, 4.0, 5.0]),
        }
    )
    catalog = pa.table({"item_id": pa.array(range(11), pa.int64()), "title": ["t"] * 11})
    truth = pa.table({"click_id": clicks.column("click_id"), "p_pay": [0.5] * N_CLICKS})
    return {
        "clicks": clicks,
        "events": events,
        "touchpoints": touchpoints,
        "conversions": conversions,
        "catalog": catalog,
        "truth": truth,
    }


def write(tables: Tables, root: Path, feature_spec: FeatureSpec | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        pq.write_table(table, root / f"{name}.parquet")
    (feature_spec or spec()).save(root / "spec.json")
    return root


# --------------------------------------------------------------------------- helpers
def set_value(table: pa.Table, column: str, row: int, value, typ: pa.DataType | None = None):
    """A copy of `table` with one cell changed (and the column's type changed if `typ`)."""
    values = table.column(column).to_pylist()
    values[row] = value
    new = pa.array(values, typ or table.schema.field(column).type)
    return table.set_column(table.column_names.index(column), column, new)


def append_event(tables: Tables, cid: int, kind: str, ts: int, amount: float | None) -> int:
    """Append an event row; returns its row number."""
    events = tables["events"]
    extra = pa.table(
        {"click_id": [cid], "kind": [kind], "ts": [ts], "amount": [amount]}, schema=events.schema
    )
    tables["events"] = pa.concat_tables([events, extra])
    return events.num_rows


def event_rows(tables: Tables, i: int, kind: str | None = None) -> list[int]:
    """Rows of click i's events (of one kind)."""
    ev = tables["events"]
    ids = np.asarray(ev.column("click_id").to_pylist(), dtype=object)
    kinds = np.asarray(ev.column("kind").to_pylist(), dtype=object)
    hit = ids == click_id(i)
    if kind is not None:
        hit &= kinds == kind
    return np.flatnonzero(hit).tolist()


def keys(report) -> set[Key]:
    return {(p.table, p.row, p.column, p.check) for p in report.problems}


def check_repair(src: Path, out: Path, report) -> pa.Table:
    """Repair; assert the row invariant, that error rows are rejected and the output is clean."""
    result = repair(src, out)
    rejects = pq.read_table(out / "rejects.parquet")
    by_table = rejects.group_by("table").aggregate([("row", "count")]).to_pydict()
    n_rejects = dict(zip(by_table["table"], by_table["row_count"], strict=True))
    for name in ("clicks", "events", "touchpoints", "conversions"):
        n_in = pq.read_table(src / f"{name}.parquet").num_rows
        n_out = pq.read_table(out / f"{name}.parquet").num_rows
        assert result.input_rows[name] == n_in
        assert result.kept[name] + result.rejected[name] == n_in, name
        assert result.kept[name] == n_out
        assert result.rejected[name] == n_rejects.get(name, 0)
    # every row-level error of the validation is among the rejects, with its check code
    rejected = {
        (t, r): set(reasons)
        for t, r, reasons in zip(
            rejects.column("table").to_pylist(),
            rejects.column("row").to_pylist(),
            rejects.column("reasons").to_pylist(),
            strict=True,
        )
    }
    for p in report.problems:
        if p.row is not None and p.severity == "error":
            assert p.check in rejected[(p.table, p.row)]
        if p.severity == "warning" and p.row is not None:
            assert (p.table, p.row) not in rejected or p.check not in rejected[(p.table, p.row)]
    # nothing lost: each reject's content is its original row
    for t, r, content in zip(
        rejects.column("table").to_pylist(),
        rejects.column("row").to_pylist(),
        rejects.column("content").to_pylist(),
        strict=True,
    ):
        original = pq.read_table(src / f"{t}.parquet").slice(r, 1).to_pylist()[0]
        assert set(json.loads(content)) == set(original)
    for name in ("catalog", "truth"):
        assert pq.read_table(out / f"{name}.parquet").equals(pq.read_table(src / f"{name}.parquet"))
    assert FeatureSpec.load(out / "spec.json") == FeatureSpec.load(src / "spec.json")
    again = validate(out)
    assert again.ok, again.problems
    warnings = {p.check for p in report.problems if p.severity == "warning"}
    warnings -= {"castable_type"}  # repair casts the column
    assert {p.check for p in again.problems} <= warnings
    EventLog.open(out).refunded(7 * 86_400, 7 * 86_400)  # the repaired log is usable
    return rejects


def reasons_of(rejects: pa.Table, table: str, row: int) -> set[str]:
    for t, r, reasons in zip(
        rejects.column("table").to_pylist(),
        rejects.column("row").to_pylist(),
        rejects.column("reasons").to_pylist(),
        strict=True,
    ):
        if (t, r) == (table, row):
            return set(reasons)
    raise AssertionError(f"{table} row {row} not rejected")


# ------------------------------------------------------------------ clean baseline
def test_clean_log_validates(tmp_path):
    src = write(base_tables(), tmp_path / "log")
    report = validate(src)
    assert report.ok and report.problems == [] and report.counts_by_check() == {}
    assert report.row_counts["clicks"] == N_CLICKS
    rejects = check_repair(src, tmp_path / "out", report)
    assert rejects.num_rows == 0
    assert validate(EventLog.open(src)).problems == []  # an in-memory log works too


# --------------------------------------------------------- one corruption per check
# Each case mutates the tables and returns the exact set of problems expected. Cases use
# disjoint clicks so that they can all be applied at once (test_all_corruptions_at_once).
Case = Callable[[Tables], set[Key]]


def duplicate_click_id(t: Tables) -> set[Key]:
    # click 11 (no events) takes the id of click 3; events of click 3 stay with row 3
    t["clicks"] = set_value(t["clicks"], "click_id", 11, click_id(3))
    return {("clicks", 11, "click_id", "duplicate_click_id")}


def null_click_key(t: Tables) -> set[Key]:
    t["clicks"] = set_value(t["clicks"], "user_id", 13, None)
    return {("clicks", 13, "user_id", "null_value")}


def unknown_click(t: Tables) -> set[Key]:
    row = event_rows(t, 21, "cart")[0]
    t["events"] = set_value(t["events"], "click_id", row, 999_999)
    return {("events", row, "click_id", "unknown_click")}


def event_before_click(t: Tables) -> set[Key]:
    row = event_rows(t, 27, "cart")[0]
    t["events"] = set_value(t["events"], "ts", row, click_ts(27) - 1)
    return {("events", row, "ts", "event_before_click")}


def refund_before_pay(t: Tables) -> set[Key]:
    row = event_rows(t, 16, "refund")[0]
    t["events"] = set_value(t["events"], "ts", row, click_ts(16) + 599)  # pay is at +600
    return {("events", row, "kind", "refund_without_pay")}


def refund_with_no_pay(t: Tables) -> set[Key]:
    row = append_event(t, click_id(17), "refund", click_ts(17) + 500, 3.0)
    return {("events", row, "kind", "refund_without_pay")}


def bad_amounts(t: Tables) -> set[Key]:
    neg = event_rows(t, 22, "pay")[0]
    nan = event_rows(t, 26, "pay")[0]
    null = event_rows(t, 28, "refund")[0]
    ev = set_value(t["events"], "amount", neg, -5.0)
    ev = set_value(ev, "amount", nan, float("nan"))
    ev = set_value(ev, "amount", null, None)
    ev = set_value(ev, "amount", event_rows(t, 33, "cart")[0], float("nan"))  # not money: fine
    t["events"] = ev
    return {
        ("events", neg, "amount", "negative_amount"),
        ("events", nan, "amount", "non_finite_amount"),
        ("events", null, "amount", "missing_amount"),
    }


def timestamps_out_of_range(t: Tables) -> set[Key]:
    row = event_rows(t, 39, "cart")[0]
    t["events"] = set_value(t["events"], "ts", row, MAX_TS + 1)
    t["clicks"] = set_value(t["clicks"], "ts", 19, 100)  # click 19 has no events
    t["touchpoints"] = set_value(t["touchpoints"], "ts", 2, -1)
    t["conversions"] = set_value(t["conversions"], "ts", 1, None)
    return {
        ("events", row, "ts", "ts_out_of_range"),
        ("clicks", 19, "ts", "ts_out_of_range"),
        ("touchpoints", 2, "ts", "ts_out_of_range"),
        ("conversions", 1, "ts", "null_timestamp"),
    }


def null_event_ts(t: Tables) -> set[Key]:
    row = event_rows(t, 35, "visit")[0]
    t["events"] = set_value(t["events"], "ts", row, None)
    return {("events", row, "ts", "null_timestamp")}


def out_of_vocab(t: Tables) -> set[Key]:
    c = set_value(t["clicks"], "cat", 23, 5)  # vocab_size 5
    c = set_value(c, "cat", 25, -1)
    c = set_value(c, "device", 29, "tablet")
    c = set_value(c, "hist_items", 31, [1, 20, 3])
    c = set_value(c, "hist_items", 37, [None])
    c = set_value(c, "device", 41, None)
    t["clicks"] = c
    return {
        ("clicks", 23, "cat", "out_of_vocab"),
        ("clicks", 25, "cat", "out_of_vocab"),
        ("clicks", 29, "device", "out_of_vocab"),
        ("clicks", 31, "hist_items", "out_of_vocab"),
        ("clicks", 37, "hist_items", "out_of_vocab"),
        ("clicks", 41, "device", "null_value"),
    }


def feature_warnings(t: Tables) -> set[Key]:
    c = set_value(t["clicks"], "price_z", 43, float("inf"))
    c = set_value(c, "price_z", 45, None)
    c = set_value(c, "hist_items", 47, [1, 2, 3, 4, 5, 6])  # max_len 5
    t["clicks"] = c
    return {
        ("clicks", 43, "price_z", "non_finite_feature"),
        ("clicks", 45, "price_z", "non_finite_feature"),
        ("clicks", 47, "hist_items", "sequence_too_long"),
    }


def event_warnings(t: Tables) -> set[Key]:
    odd = append_event(t, click_id(49), "wishlist", click_ts(49) + 5, None)
    first = event_rows(t, 48, "pay")[0]
    row = t["events"].slice(first, 1).to_pylist()[0]
    dup = append_event(t, row["click_id"], row["kind"], row["ts"], row["amount"])
    return {("events", odd, "kind", "unknown_kind"), ("events", dup, None, "duplicate_event")}


def touchpoint_without_context(t: Tables) -> set[Key]:
    # the spec declares categorical features: attribution needs the user's clicks row
    t["touchpoints"] = set_value(t["touchpoints"], "user_id", 4, 99)
    return {("touchpoints", 4, "user_id", "user_without_context")}


def conversion_of_unknown_user(t: Tables) -> set[Key]:
    t["conversions"] = set_value(t["conversions"], "user_id", 2, 98)
    return {("conversions", 2, "user_id", "unknown_user")}


ERROR_CASES: list[Case] = [
    duplicate_click_id,
    null_click_key,
    unknown_click,
    event_before_click,
    refund_before_pay,
    refund_with_no_pay,
    bad_amounts,
    timestamps_out_of_range,
    null_event_ts,
    out_of_vocab,
    touchpoint_without_context,
]
WARNING_CASES: list[Case] = [feature_warnings, event_warnings, conversion_of_unknown_user]


@pytest.mark.parametrize("case", ERROR_CASES, ids=lambda c: c.__name__)
def test_error_is_reported_exactly_and_repaired(case, tmp_path):
    tables = base_tables()
    expected = case(tables)
    src = write(tables, tmp_path / "log")
    report = validate(src)
    assert not report.ok
    assert keys(report) == expected
    assert all(p.severity == "error" and p.message for p in report.problems)
    check_repair(src, tmp_path / "out", report)


@pytest.mark.parametrize("case", WARNING_CASES, ids=lambda c: c.__name__)
def test_warning_is_reported_and_keeps_rows(case, tmp_path):
    tables = base_tables()
    expected = case(tables)
    src = write(tables, tmp_path / "log")
    report = validate(src)
    assert report.ok
    assert keys(report) == expected
    assert all(p.severity == "warning" for p in report.problems)
    rejects = check_repair(src, tmp_path / "out", report)
    assert rejects.num_rows == 0


def test_all_corruptions_at_once(tmp_path):
    tables = base_tables()
    expected: set[Key] = set()
    for case in ERROR_CASES + WARNING_CASES:
        expected |= case(tables)
    src = write(tables, tmp_path / "log")
    report = validate(src)
    assert not report.ok
    assert keys(report) == expected
    counts = report.counts_by_check()
    assert sum(counts.values()) == len(expected)
    assert set(counts) == {check for *_, check in expected}
    check_repair(src, tmp_path / "out", report)
    rendered = report.render(max_rows=1)  # first problem per check plus totals
    assert rendered.row_count == len(counts) + sum(1 for n in counts.values() if n > 1)


# ------------------------------------------------------------------------ cascades
def test_rejected_click_takes_its_events(tmp_path):
    tables = base_tables()
    tables["clicks"] = set_value(tables["clicks"], "cat", 8, 7)  # click 8 has a pay and a refund
    src = write(tables, tmp_path / "log")
    report = validate(src)
    assert keys(report) == {("clicks", 8, "cat", "out_of_vocab")}
    rejects = check_repair(src, tmp_path / "out", report)
    for row in event_rows(tables, 8):
        assert "click_rejected" in reasons_of(rejects, "events", row)
    assert rejects.num_rows == 1 + len(event_rows(tables, 8))


def test_rejected_pay_orphans_its_refund(tmp_path):
    tables = base_tables()
    pay, refund = event_rows(tables, 12, "pay")[0], event_rows(tables, 12, "refund")[0]
    tables["events"] = set_value(tables["events"], "amount", pay, -1.0)
    src = write(tables, tmp_path / "log")
    report = validate(src)
    assert keys(report) == {("events", pay, "amount", "negative_amount")}
    rejects = check_repair(src, tmp_path / "out", report)
    assert reasons_of(rejects, "events", pay) == {"negative_amount"}
    assert reasons_of(rejects, "events", refund) == {"refund_without_pay"}
    assert rejects.num_rows == 2


def test_duplicate_click_keeps_first_and_its_events(tmp_path):
    tables = base_tables()
    duplicate_click_id(tables)
    src = write(tables, tmp_path / "log")
    check_repair(src, tmp_path / "out", validate(src))
    clicks = pq.read_table(tmp_path / "out" / "clicks.parquet")
    events = pq.read_table(tmp_path / "out" / "events.parquet")
    assert clicks.column("click_id").to_pylist().count(click_id(3)) == 1
    assert events.column("click_id").to_pylist().count(click_id(3)) == len(event_rows(tables, 3))


def test_duplicate_whose_first_occurrence_is_rejected_drops_the_id(tmp_path):
    tables = base_tables()
    duplicate_click_id(tables)  # row 11 duplicates click 3 ...
    tables["clicks"] = set_value(tables["clicks"], "cat", 3, 99)  # ... and row 3 is bad
    src = write(tables, tmp_path / "log")
    report = validate(src)
    assert keys(report) == {
        ("clicks", 11, "click_id", "duplicate_click_id"),
        ("clicks", 3, "cat", "out_of_vocab"),
    }
    rejects = check_repair(src, tmp_path / "out", report)
    for row in event_rows(tables, 3):
        assert reasons_of(rejects, "events", row) == {"click_rejected"}


def test_repair_of_an_in_memory_log(tmp_path):
    tables = base_tables()
    unknown_click(tables)
    log = EventLog.open(write(tables, tmp_path / "log"))
    result = repair(log, tmp_path / "out")
    assert result.rejected["events"] == 1 and result.rejected["clicks"] == 0
    for name, n in result.input_rows.items():
        assert result.kept[name] + result.rejected[name] == n
    assert validate(tmp_path / "out").problems == []
    assert (tmp_path / "out" / "catalog.parquet").exists()


# -------------------------------------------------------------------------- types
def test_float_timestamps_with_nan_are_cast_and_the_nan_row_rejected(tmp_path):
    tables = base_tables()
    ts = tables["clicks"].column("ts").to_numpy().astype(np.float64)
    ts[6] = np.nan  # click 6: pay, cart
    tables["clicks"] = tables["clicks"].set_column(1, "ts", pa.array(ts, from_pandas=False))
    src = write(tables, tmp_path / "log")
    report = validate(src)
    assert keys(report) == {
        ("clicks", None, "ts", "wrong_type"),
        ("clicks", 6, "ts", "null_timestamp"),
    }
    assert "repair casts" in report.select(check="wrong_type")[0].message
    rejects = check_repair(src, tmp_path / "out", report)
    assert pq.read_schema(tmp_path / "out" / "clicks.parquet").field("ts").type == pa.int64()
    assert rejects.num_rows == 1 + len(event_rows(tables, 6))
    assert json.loads(rejects.column("content")[0].as_py())["ts"] is None or np.isnan(
        json.loads(rejects.column("content")[0].as_py())["ts"]
    )


def test_string_timestamps_cast_and_unparsable_rejected(tmp_path):
    tables = base_tables()
    row = event_rows(tables, 15, "cart")[0]
    ts = [str(v) for v in tables["events"].column("ts").to_pylist()]
    ts[row] = "yesterday"
    tables["events"] = tables["events"].set_column(2, "ts", pa.array(ts, pa.string()))
    src = write(tables, tmp_path / "log")
    report = validate(src)
    assert keys(report) == {
        ("events", None, "ts", "wrong_type"),
        ("events", row, "ts", "uncastable_value"),
    }
    rejects = check_repair(src, tmp_path / "out", report)
    assert json.loads(rejects.column("content")[0].as_py())["ts"] == "yesterday"


def test_float_code_with_fraction_is_uncastable(tmp_path):
    tables = base_tables()
    cat = tables["clicks"].column("cat").to_numpy().astype(np.float64)
    cat[9] = 1.5
    tables["clicks"] = tables["clicks"].set_column(4, "cat", pa.array(cat))
    src = write(tables, tmp_path / "log")
    report = validate(src)
    assert keys(report) == {
        ("clicks", None, "cat", "wrong_type"),
        ("clicks", 9, "cat", "uncastable_value"),
    }
    check_repair(src, tmp_path / "out", report)


def test_narrow_ints_are_a_castable_warning(tmp_path):
    tables = base_tables()
    clicks = tables["clicks"]
    tables["clicks"] = clicks.set_column(2, "user_id", clicks.column("user_id").cast(pa.int32()))
    src = write(tables, tmp_path / "log")
    report = validate(src)
    assert report.ok
    assert keys(report) == {("clicks", None, "user_id", "castable_type")}
    check_repair(src, tmp_path / "out", report)
    assert pq.read_schema(tmp_path / "out" / "clicks.parquet").field("user_id").type == pa.int64()


# ------------------------------------------------------------ fatal (table-level)
@pytest.mark.parametrize(
    ("table", "column"),
    [("clicks", "item_id"), ("clicks", "device"), ("events", "amount"), ("touchpoints", "ts")],
)
def test_missing_column_is_fatal(table, column, tmp_path):
    tables = base_tables()
    tables[table] = tables[table].drop_columns([column])
    src = write(tables, tmp_path / "log")
    report = validate(src)
    assert not report.ok
    assert keys(report) == {(table, None, column, "missing_column")}
    with pytest.raises(RepairError, match=column):
        repair(src, tmp_path / "out")


def test_incompatible_type_is_fatal(tmp_path):
    tables = base_tables()
    tables["events"] = tables["events"].set_column(
        3, "amount", pa.array([[1.0]] * tables["events"].num_rows)
    )
    src = write(tables, tmp_path / "log")
    report = validate(src)
    assert keys(report) == {("events", None, "amount", "wrong_type")}
    assert report.fatal
    with pytest.raises(RepairError):
        repair(src, tmp_path / "out")


def test_unreadable_and_missing_files_are_problems_not_tracebacks(tmp_path):
    src = write(base_tables(), tmp_path / "log")
    (src / "events.parquet").write_bytes(b"not a parquet file")
    report = validate(src)
    assert keys(report) == {("events", None, None, "unreadable_file")}
    assert not report.ok
    with pytest.raises(RepairError):
        repair(src, tmp_path / "out")
    (src / "events.parquet").unlink()
    assert keys(validate(src)) == {("events", None, None, "missing_file")}
    assert keys(validate(tmp_path / "nowhere")) == {("log", None, None, "missing_file")}


def test_bad_and_missing_spec(tmp_path):
    src = write(base_tables(), tmp_path / "log")
    (src / "spec.json").write_text('{"features": [{"name": "converted", "kind": "numeric"}]}')
    report = validate(src)
    assert keys(report) == {("spec", None, None, "bad_spec")}
    (src / "spec.json").unlink()
    report = validate(src)
    assert report.ok and keys(report) == {("spec", None, None, "missing_spec")}


# --------------------------------------------------------------- report and CLI
def test_render_shows_first_rows_per_check_and_totals(tmp_path):
    tables = base_tables()
    c = tables["clicks"]
    for i in range(0, 40, 2):
        c = set_value(c, "cat", i, 9)
    tables["clicks"] = c
    src = write(tables, tmp_path / "log")
    report = validate(src)
    assert report.counts_by_check() == {"out_of_vocab": 20}
    table = report.render(max_rows=3)
    assert table.row_count == 4  # three problems and a "… and 17 more" line
    assert "out_of_vocab 20" in str(table.caption)
    assert set(CHECKS) >= set(report.counts_by_check())


def test_cli_validate_names_the_row(tmp_path):
    typer_testing = pytest.importorskip("typer.testing")
    from shopml import cli

    if "validate" not in {c.name for c in cli.data_app.registered_commands}:
        pytest.skip("shopml/cli.py has no `data validate` command yet")
    tables = base_tables()
    duplicate_click_id(tables)
    src = write(tables, tmp_path / "log")
    out = tmp_path / "out"
    runner = typer_testing.CliRunner()
    result = runner.invoke(
        cli.app, ["data", "validate", str(src), "--repair", str(out)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 1, result.output
    assert "duplicate_click_id" in result.output
    assert any(" 11 " in line and "clicks" in line for line in result.output.splitlines())
    assert (out / "rejects.parquet").exists()
    ok = runner.invoke(cli.app, ["data", "validate", str(out)], env={"COLUMNS": "200"})
    assert ok.exit_code == 0, ok.output


def test_require_valid_passes_a_clean_log_and_names_the_errors_of_a_bad_one(tmp_path):
    from shopml.data import EventLogError
    from shopml.data.validate import require_valid

    require_valid(EventLog.open(write(base_tables(), tmp_path / "clean")), "clean")
    tables = base_tables()
    row = append_event(tables, click_id(1), "pay", click_ts(1) - 60, 3.0)
    bad = write(tables, tmp_path / "bad")
    with pytest.raises(EventLogError) as caught:
        require_valid(EventLog.open(bad), bad)
    message = str(caught.value)
    assert "the event log has errors (event_before_click 1)" in message
    assert f"e.g. events row {row}: event at ts" in message
    assert f"`shopml data validate {bad}`" in message


def test_touchpoint_logs_get_channel_and_amount_checks_and_repair_drops_those_rows(tmp_path):
    from shopml.data.simulate import simulate

    log = simulate("journeys", 2000, 1).log
    assert not [g for g in validate(log).groups if len(g)]
    conversions = log.conversions
    amount = conversions.column("amount").to_numpy().copy()
    amount[0], amount[1] = -5.0, np.nan
    conversions = conversions.set_column(
        conversions.column_names.index("amount"), "amount", pa.array(amount)
    )
    touch = log.touchpoints
    channel = touch.column("channel").to_pylist()
    channel[0] = None
    touch = touch.set_column(
        touch.column_names.index("channel"), "channel", pa.array(channel, pa.string())
    )
    bad = EventLog(log.clicks, log.events, log.spec, touchpoints=touch, conversions=conversions)
    found = {(g.check, g.table, len(g)) for g in validate(bad).groups if len(g)}
    assert found == {("null_value", "touchpoints", 1), ("non_finite_amount", "conversions", 1),
                     ("negative_amount", "conversions", 1)}  # fmt: skip
    bad.write(tmp_path / "bad")
    repair(tmp_path / "bad", tmp_path / "clean")
    clean = EventLog.open(tmp_path / "clean")
    assert clean.conversions.num_rows == log.conversions.num_rows - 2
    assert clean.touchpoints.num_rows == log.touchpoints.num_rows - 1


def _without_context(tables: Tables) -> tuple[Tables, FeatureSpec]:
    """The tables with only the numeric feature declared (no user context for attribution)."""
    numeric = FeatureSpec(features=[Feature(name="price_z", kind="numeric", group="item")])
    keep = ["click_id", "ts", "user_id", "item_id", "price_z"]
    return {**tables, "clicks": tables["clicks"].select(keep)}, numeric


def test_touchpoints_of_users_without_clicks_are_a_warning_when_no_context_is_declared(tmp_path):
    tables, numeric = _without_context(base_tables())
    tables["touchpoints"] = set_value(tables["touchpoints"], "user_id", 4, 99)
    src = write(tables, tmp_path / "log", numeric)
    report = validate(src)
    assert report.ok
    assert keys(report) == {("touchpoints", 4, "user_id", "unknown_user")}
    assert report.problems[0].message == "user_id 99 has no clicks row"
    assert check_repair(src, tmp_path / "out", report).num_rows == 0  # warnings keep rows
    # a log of touchpoints alone (no clicks rows): nothing to match users against
    empty, _ = _without_context(base_tables())
    empty["clicks"] = empty["clicks"].slice(0, 0)
    empty["events"] = empty["events"].slice(0, 0)
    assert validate(write(empty, tmp_path / "touch_only", numeric)).problems == []


def test_repair_drops_touchpoints_whose_user_loses_every_click(tmp_path):
    tables = base_tables()
    user5 = [i for i in range(N_CLICKS) if i % 7 == 5]
    for i in user5:
        tables["clicks"] = set_value(tables["clicks"], "ts", i, 100)  # rejected clicks
    src = write(tables, tmp_path / "log")
    report = validate(src)
    assert {p.check for p in report.problems if p.table == "touchpoints"} == set()
    rejects = check_repair(src, tmp_path / "out", report)
    assert reasons_of(rejects, "touchpoints", 5) == {"user_without_context"}  # user 5's touch
    assert pq.read_table(tmp_path / "out" / "touchpoints.parquet").num_rows == 9


def test_the_rendered_report_prints_values_that_look_like_markup_as_they_are(tmp_path):
    from rich.console import Console

    tables = base_tables()
    tables["events"] = set_value(tables["events"], "kind", 0, "[bold]promo")
    source = write(tables, tmp_path / "log[red]")
    report = validate(source)
    console = Console(width=300)
    with console.capture() as captured:
        console.print(report.render())
    assert "unknown event kind '[bold]promo'" in captured.get()
    assert f"{source}: " in captured.get()
