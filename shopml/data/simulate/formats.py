"""Writers of the official public file layouts, so official code and our loaders read the
same bytes (``shopml simulate --format cascade|trace|criteo``).

Every writer takes a :class:`SimResult` and an output directory and returns the written
paths. Timestamps in these files are *relative* seconds since the world's start
(``spec.meta["start_ts"]``), as in the official files; missing values are written as
shown. Field columns are the 22 fields of :data:`world.STANDARD_FIELDS` in order
(u_0..u_7, i_0..i_5, c_0..c_7), whose codes fit the official embedding-table sizes.

CASCADE (Luo et al., arXiv 2601.19965; official code github.com/alimama-tech/NetCVR)
------------------------------------------------------------------------------------
``processed_data_expand.txt`` - the *processed* layout the official training code reads
(``datasets/ali_odl_datasets.py::get_data_df``; default ``--data_path
./data/ali/processed_data_expand.txt``; produced from the raw release by
``data/CASCADE/process_CASCADE.py``):

* tab-separated, **no header**, one line per click, sorted by click time, 25 columns:
* col 0 ``click_ts``: int, seconds since the start (2025-05-01 00:00 in CASCADE);
* col 1 ``pay_ts``: int, seconds since the start of the first pay, ``-1`` if none;
* col 2 ``refund_ts``: int, seconds since the start of the first refund, ``-1`` if none;
* cols 3..24: the 22 categorical features as non-negative ints, column k < NetCVR
  ``cate_bin_size[k]`` = (8, 327680, 655360, 655360, 8192, 655360, 16, 32, 256, 81920,
  163840, 8, 512, 128, 256, 1024, 128, 16, 8, 8, 16, 16).

Only attributed events are present (pay within 3 d of the click, refund within 3 d of
the pay); the official code labels pay as ``pay_ts > 0 and pay_ts - click_ts <
pay_attr_window`` and refund as ``refund_ts > 0 and refund_ts - pay_ts <
refund_attr_window`` (3 days each by default), which our delays (<= W - 1 s) satisfy.

``cascade_raw.txt`` - the raw release layout as *inferred* from
``process_CASCADE.py`` (the HuggingFace files themselves were not inspectable here):
tab-separated, **no header**, 25 columns: col 0 click time as absolute unix seconds (int);
col 1 pay times and col 2 refund times as Python list literals of absolute unix seconds
(``[1746100000]``, ``[]`` when none; the script keeps the first element, ``-1`` for an
empty list); cols 3..24 the 22 raw feature values (here the same int codes; in the real
release raw strings that the script hashes with farmhash into ``cate_bin_size`` buckets).

TRACE (Li et al., arXiv 2601.20307; official code github.com/alimama-tech/OnlineGMV)
------------------------------------------------------------------------------------
``trace.txt`` - what the official code reads (``src/data.py``, ``method_src/data.py``:
``pd.read_csv(path, sep="\\t")``; default ``--dataset_name trace.txt``):

* tab-separated, **with a header line**, one line per *converting* click (the official
  code indexes ``pay_time[0]``, so every row has >= 1 purchase), sorted by click time;
* columns in this order: ``feature_0`` .. ``feature_21`` (ints, column k <
  OnlineGMV ``cate_bin_size[k]`` = (5, 3604778, 1951876, 432750, 14, 19, 2638598,
  1962400, 11123, 397159, 578622, 3, 622, 107, 8009, 30685, 104, 10, 3, 2, 9, 7)),
  ``click_time`` (int, seconds since the start; the code splits days as
  ``day * 86400``), ``pay_time`` (list literal of ints, each purchase's time in seconds
  since the start, ascending, e.g. ``[3600, 90000]``), ``dirpay_amt`` (list literal of
  floats, each purchase's amount, e.g. ``[12.5, 7.99]``), ``count`` (list literal
  ``[1, 2, ..., K]``), ``total_counts`` (int K), ``multi_tag`` (int, 1 if K > 1 else 0),
  ``prev_pay_time`` (list literal: for purchase j the time of purchase j-1, the click
  time for j = 1, i.e. ``[click_time, t1, ..., t_{K-1}]``), ``prev_dirpay_amt`` (list
  literal: ``[0.0, a1, ..., a_{K-1}]``; its cumulative sum is the GMV before purchase j).
* Only purchases within the 7-day attribution window are listed. The official code drops
  the 9 label columns and keeps the remaining 22 in file order as features; the README
  names them ``feature_0`` .. ``feature_21`` (their exact position relative to the label
  columns in the release is not documented; readers should select by name).

Criteo conversion logs (Chapelle, "Modeling delayed feedback in display advertising",
KDD 2014; layout as read by DEFER / ES-DFM code, e.g. github.com/ThyrixYang/es_dfm
``src/data.py::get_data_df``)
------------------------------------------------------------------------------------
``data.txt``:

* tab-separated, **no header**, one line per click, sorted by click time, 19 columns;
* col 0 click timestamp: int seconds since the start;
* col 1 conversion timestamp: int seconds since the start, **empty** if no conversion
  (the reference loader does ``fillna(-1)``);
* cols 2..9: 8 integer features (may be empty = missing; none are missing here):
  u_4 age bucket, u_5 purchasing power, u_6 membership, u_7 activity, i_4 price bucket,
  i_5 quality score, c_1 position, c_0 hour;
* cols 10..18: 9 categorical features as 8-digit upper-case hex strings (32-bit hashes
  of (column, value); empty = missing): item_id, i_0, i_1, i_2, i_3, u_1, u_2, c_2, c_6.

Deviation: the criteo file is written from a ``cascade`` world, so its conversion is the
first pay within CASCADE's 3-day window (Criteo's original window is 30 days) and there
are no missing values.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from shopml.data.eventlog import NO_EVENT, EventLog
from shopml.data.simulate import SimResult, register_format
from shopml.data.simulate.world import STANDARD_FIELDS

FIELD_NAMES = [f.name for f in STANDARD_FIELDS]
#: Column names we give the 25 headerless CASCADE columns (loaders may reuse them).
CASCADE_COLUMNS = ["click_ts", "pay_ts", "refund_ts", *FIELD_NAMES]
#: TRACE header, in file order.
TRACE_COLUMNS = [
    *[f"feature_{k}" for k in range(22)],
    "click_time",
    "pay_time",
    "dirpay_amt",
    "count",
    "total_counts",
    "multi_tag",
    "prev_pay_time",
    "prev_dirpay_amt",
]
#: Criteo data.txt: which of our columns feed the 8 integer and 9 categorical features.
CRITEO_INT_SOURCES = ["u_4", "u_5", "u_6", "u_7", "i_4", "i_5", "c_1", "c_0"]
CRITEO_CAT_SOURCES = ["item_id", "i_0", "i_1", "i_2", "i_3", "u_1", "u_2", "c_2", "c_6"]
CRITEO_COLUMNS = [
    "click_ts",
    "conversion_ts",
    *[f"int_{k}" for k in range(1, 9)],
    *[f"cat_{k}" for k in range(1, 10)],
]
DAY = 86_400
_WRITE = pacsv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none")


#: Presets whose worlds have the 22 standard fields every official layout needs.
STANDARD_FIELD_PRESETS = ("cascade", "trace")


class FormatError(ValueError):
    """A simulated world cannot be written in the requested official layout."""


def _require(result: SimResult, fmt: str, kinds: tuple[str, ...]) -> tuple[EventLog, int]:
    log = result.log
    missing = [name for name in FIELD_NAMES if name not in log.clicks.column_names]
    if missing:
        raise FormatError(
            f"{fmt} layout needs the 22 standard fields (u_0..c_7); this world lacks {missing[:5]}"
            f" - simulate it with the 'cascade' or 'trace' preset"
        )
    present = set(log.events.column("kind").unique().to_pylist())
    absent = [k for k in kinds if k not in present]
    if absent and log.events.num_rows:
        raise FormatError(f"{fmt} layout needs {absent} events; this world has {sorted(present)}")
    start = log.spec.meta.get("start_ts")
    if start is None:
        start = int(log.column("ts").min()) // DAY * DAY
    return log, int(start)


def _window(log: EventLog, key: str, default: int) -> int:
    return int(log.spec.meta.get(key, default))


def _write_table(table: pa.Table, path: Path, header: list[str] | None = None) -> Path:
    with open(path, "wb") as sink:
        if header is not None:
            sink.write(("\t".join(header) + "\n").encode())
        pacsv.write_csv(table, sink, _WRITE)
    return path


def _relative(ts: np.ndarray, start: int) -> np.ndarray:
    """Seconds since `start`, -1 where there is no event."""
    return np.where(ts == NO_EVENT, -1, ts - start)


def _list_literal(offsets: np.ndarray, values: pa.Array) -> pa.Array:
    """Python list literals ('[a, b]') of string `values` grouped by `offsets`."""
    lists = pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), values)
    return pc.binary_join_element_wise("[", pc.binary_join(lists, ", "), "]", "")


def _float_strings(values: np.ndarray) -> pa.Array:
    """Shortest round-trip strings of floats, always with a decimal point."""
    s = pa.array(values, pa.float64()).cast(pa.string())
    return pc.if_else(pc.match_substring(s, "."), s, pc.binary_join_element_wise(s, ".0", ""))


def _hex8(values: np.ndarray, column: int) -> pa.Array:
    """8-digit upper-case hex of a 32-bit hash of (column, value), vectorised."""
    x = values.astype(np.uint64) + np.uint64((column + 1) * 0x9E3779B97F4A7C15 % 2**64)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    h = (x & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    digits = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)
    shifts = np.arange(28, -1, -4, dtype=np.uint32)
    chars = digits[(h[:, None] >> shifts[None, :]) & np.uint32(0xF)]
    return pa.array(np.ascontiguousarray(chars).view("S8").ravel()).cast(pa.string())


@register_format("cascade")
def write_cascade(result: SimResult, out: Path) -> list[Path]:
    """CASCADE: processed_data_expand.txt (official training input) and cascade_raw.txt."""
    log, start = _require(result, "cascade", ("pay",))
    conv_w = _window(log, "conversion_window_s", 3 * DAY)
    ref_w = _window(log, "refund_window_s", 3 * DAY)
    click_ts = log.column("ts").astype(np.int64)
    pay = log.first_event_ts("pay", conv_w)
    has_refund = "refund" in set(log.events.column("kind").unique().to_pylist())
    refund = log.refund_ts(conv_w, ref_w) if has_refund else np.full_like(pay, NO_EVENT)
    fields = {name: log.clicks.column(name).cast(pa.int64()) for name in FIELD_NAMES}
    processed = pa.table(
        {
            "click_ts": click_ts - start,
            "pay_ts": _relative(pay, start),
            "refund_ts": _relative(refund, start),
            **fields,
        }
    )
    paths = [_write_table(processed, Path(out) / "processed_data_expand.txt")]

    def literal(ts: np.ndarray) -> pa.Array:
        s = pa.array(ts, pa.int64()).cast(pa.string())
        s = pc.binary_join_element_wise("[", s, "]", "")
        return pc.if_else(pa.array(ts == NO_EVENT), pa.scalar("[]"), s)

    raw = pa.table(
        {"click_time": click_ts, "pay_time": literal(pay), "refund_time": literal(refund), **fields}
    )
    paths.append(_write_table(raw, Path(out) / "cascade_raw.txt"))
    return paths


@register_format("trace")
def write_trace(result: SimResult, out: Path) -> list[Path]:
    """TRACE: trace.txt (header, one row per converting click, purchase lists)."""
    log, start = _require(result, "trace", ("pay",))
    window = _window(log, "gmv_window_s", _window(log, "conversion_window_s", 7 * DAY))
    rows, ts, amount = log.events_of("pay")  # sorted by (click row, ts)
    click_ts = log.column("ts").astype(np.int64)
    keep = ts - click_ts[rows] <= window
    rows, ts, amount = rows[keep], ts[keep] - start, amount[keep]
    counts = np.bincount(rows, minlength=log.n_clicks)
    buyers = np.flatnonzero(counts)  # click rows with >= 1 purchase, in click order
    k = counts[buyers]
    offsets = np.concatenate([[0], np.cumsum(k)])
    first = offsets[:-1]
    rank = np.arange(len(rows)) - np.repeat(first, k) + 1  # 1..K within each click
    prev_ts = np.empty_like(ts)
    prev_ts[1:] = ts[:-1]
    prev_ts[first] = click_ts[buyers] - start
    prev_amount = np.empty_like(amount)
    prev_amount[1:] = amount[:-1]
    prev_amount[first] = 0.0
    table = {
        f"feature_{j}": log.clicks.column(name).take(pa.array(buyers)).cast(pa.int64())
        for j, name in enumerate(FIELD_NAMES)
    }
    table.update(
        click_time=click_ts[buyers] - start,
        pay_time=_list_literal(offsets, pa.array(ts, pa.int64()).cast(pa.string())),
        dirpay_amt=_list_literal(offsets, _float_strings(amount)),
        count=_list_literal(offsets, pa.array(rank, pa.int64()).cast(pa.string())),
        total_counts=k.astype(np.int64),
        multi_tag=(k > 1).astype(np.int64),
        prev_pay_time=_list_literal(offsets, pa.array(prev_ts, pa.int64()).cast(pa.string())),
        prev_dirpay_amt=_list_literal(offsets, _float_strings(prev_amount)),
    )
    return [_write_table(pa.table(table), Path(out) / "trace.txt", header=TRACE_COLUMNS)]


@register_format("criteo")
def write_criteo(result: SimResult, out: Path) -> list[Path]:
    """Criteo conversion logs (Chapelle 2014): data.txt from a cascade world."""
    log, start = _require(result, "criteo", ("pay",))
    conv_w = _window(log, "conversion_window_s", 3 * DAY)
    pay = log.first_event_ts("pay", conv_w)
    conversion = pa.array(pay - start, pa.int64(), mask=pay == NO_EVENT)
    table: dict[str, pa.Array | np.ndarray] = {
        "click_ts": log.column("ts").astype(np.int64) - start,
        "conversion_ts": conversion,
    }
    for j, name in enumerate(CRITEO_INT_SOURCES, start=1):
        table[f"int_{j}"] = log.column(name).astype(np.int64)
    for j, name in enumerate(CRITEO_CAT_SOURCES, start=1):
        table[f"cat_{j}"] = _hex8(log.column(name), j)
    return [_write_table(pa.table(table), Path(out) / "data.txt")]
