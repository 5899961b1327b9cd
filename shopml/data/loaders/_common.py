"""Shared helpers for dataset loaders: tolerant CSV reading and clear errors.

Every loader in this package reads real files with real quirks. These helpers
make the quirks harmless and the real problems loud:

* :func:`read_csv` tries encodings in turn (``utf-8-sig`` strips a UTF-8 BOM,
  then ``cp1252``, then ``latin-1``), strips stray BOMs and spaces from header
  names, drops fully blank rows and *counts* them in a :class:`LoadReport`
  (attached as ``df.attrs["load_report"]``), and turns pandas' parser errors
  into :class:`DatasetError` naming the file. A file cut short (no line end after a last
  line with missing fields) is refused (:mod:`._lines`), here and in :func:`read_csv_arrow`.
* Row labels of the returned frame are the 0-based data-row positions in the
  file (blank rows are dropped without renumbering), so later checks can name
  the offending row: data row ``i`` is file line ``i + 1 + header_lines``.
* :func:`require_columns`, :func:`parse_timestamps`, :func:`to_int64` and
  :func:`to_float64` raise :class:`DatasetError` naming file, row and column.
* :func:`encode_categories` turns strings into dense int64 codes + a vocab.
* :func:`read_csv_arrow` reads very large files with ``pyarrow.csv`` (same report).
* :func:`categorical_feature`, :func:`clicks_table`, :func:`events_table`,
  :func:`concat_events` and :func:`finish_log` assemble an :class:`EventLog`.

The API is shared with the catalog/text loaders; keep it stable.
"""

from __future__ import annotations

import csv
import gzip
import json
import warnings
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from rich.markup import escape

from shopml.data.eventlog import EventLog
from shopml.data.loaders import DatasetError
from shopml.data.loaders._dates import EPOCH_UNITS, epoch_unit, infer_datetimes
from shopml.data.loaders._lines import require_complete_last_line
from shopml.data.schema import EVENTS_SCHEMA, Feature, FeatureSpec

__all__ = [
    "DATA_ROW",
    "DEFAULT_ENCODINGS",
    "DatasetError",
    "LoadReport",
    "categorical_feature",
    "check_file",
    "clicks_table",
    "concat_events",
    "encode_categories",
    "events_table",
    "finish_log",
    "header_names",
    "list_elements",
    "parse_timestamps",
    "read_csv",
    "read_csv_arrow",
    "report_of",
    "require_columns",
    "require_names",
    "row_label",
    "to_float64",
    "to_int64",
]

DEFAULT_ENCODINGS: tuple[str, ...] = ("utf-8-sig", "cp1252", "latin-1")
# A UTF-8 BOM as it appears when a file is decoded as UTF-8 without -sig, or as cp1252/latin-1.
_BOM_FORMS = ("\ufeff", "ï»¿")


@dataclass
class LoadReport:
    """What a loader read, what it dropped or rejected and why (never silent)."""

    path: str
    encoding: str | None = None
    rows_read: int = 0
    blank_rows_dropped: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def reject(self, reason: str, count: int) -> None:
        """Add `count` rows rejected for `reason` (no-op for 0)."""
        if count:
            self.rejected[reason] = self.rejected.get(reason, 0) + int(count)

    def note(self, text: str) -> None:
        """Record a remark about how the file was interpreted."""
        self.notes.append(text)

    @property
    def rows_rejected(self) -> int:
        """Total rows rejected for any reason (blank rows not included)."""
        return int(sum(self.rejected.values()))

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form, for ``spec.meta["load_report"]``."""
        return {
            "path": self.path,
            "encoding": self.encoding,
            "rows_read": int(self.rows_read),
            "blank_rows_dropped": int(self.blank_rows_dropped),
            "rows_rejected": self.rows_rejected,
            "rejected": {k: int(v) for k, v in self.rejected.items()},
            "notes": list(self.notes),
        }


def check_file(path: str | Path, dataset: str = "") -> Path:
    """The path as a Path; DatasetError if it does not exist or is not a file."""
    p = Path(path)
    prefix = f"{dataset}: " if dataset else ""
    if not p.exists():
        raise DatasetError(f"{prefix}{p}: no such file")
    if not p.is_file():
        raise DatasetError(f"{prefix}{p}: is a directory, expected a file")
    return p


def _clean_header(name: Any) -> Any:
    if not isinstance(name, str):
        return name
    for bom in _BOM_FORMS:
        if name.startswith(bom):
            name = name[len(bom) :]
    return name.strip()


#: rows per chunk when a file is read as a sample
SAMPLE_CHUNK_ROWS = 1_000_000


def _read_sampled(
    path: Path, sep: str, encoding: str, kw: dict, fraction: float, seed: int | Sequence[int]
) -> tuple[pd.DataFrame, int]:
    """Read ``path`` in chunks keeping blank rows and a seeded ``fraction`` of the others (the
    caller drops and counts the blank ones); return the rows and how many the file held."""
    rng = np.random.default_rng(seed)
    kept, total = [], 0
    reader = pd.read_csv(
        path, sep=sep, encoding=encoding, chunksize=SAMPLE_CHUNK_ROWS, **{"index_col": False, **kw}
    )
    with reader:
        for chunk in reader:
            total += len(chunk)
            blank = chunk.isna().all(axis=1).to_numpy()
            keep = blank | (rng.random(len(chunk)) < fraction)
            kept.append(chunk.loc[keep])
    return pd.concat(kept) if kept else pd.DataFrame(), total


def read_csv(
    path: str | Path,
    *,
    sep: str = ",",
    required: Sequence[str] | None = None,
    encoding_candidates: Sequence[str] = DEFAULT_ENCODINGS,
    dataset: str = "",
    sample: float | None = None,
    sample_seed: int | Sequence[int] = 0,
    **kw: Any,
) -> pd.DataFrame:
    """Read a CSV tolerantly (encodings, BOM, blank rows); the LoadReport is in ``df.attrs``.

    Extra keyword arguments go to :func:`pandas.read_csv` (``header``, ``names``,
    ``dtype``, ``usecols``, ...). ``skip_blank_lines`` is forced off so that row
    labels stay file positions; fully blank rows are dropped afterwards and
    counted in ``report.blank_rows_dropped``. A file whose last line has no line end and
    fewer fields than the header (or the first line) is refused as cut short. With
    ``sample`` (0 < f <= 1) the file is read in chunks and each non-blank row is kept with
    probability f (seeded by ``sample_seed``), so memory follows the sample, not the file;
    the kept rows keep their file positions as labels, and the report notes the sample.
    """
    if sample is not None and not 0 < sample <= 1:
        raise DatasetError(f"sample={sample!r}: the share of rows to keep, above 0 and at most 1")
    p = check_file(path, dataset)
    kw.pop("encoding", None)
    kw["skip_blank_lines"] = False
    header_lines = 0 if kw.get("header", "infer") is None else 1
    if kw.get("header", "infer") == "infer" and kw.get("names") is not None:
        header_lines = 0
    last_error: Exception | None = None
    df: pd.DataFrame | None = None
    used = None
    overlong = False
    sampled_from = 0
    for encoding in encoding_candidates:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", pd.errors.ParserWarning)
                # index_col=False: a row with an extra field must not turn the first column
                # into the index (which shifts every column of every row)
                if sample is None:
                    df = pd.read_csv(p, sep=sep, encoding=encoding, **{"index_col": False, **kw})
                else:
                    df, sampled_from = _read_sampled(p, sep, encoding, kw, sample, sample_seed)
            overlong = any("loss of data" in str(w.message) for w in caught)
            used = encoding
            break
        except UnicodeDecodeError as exc:
            last_error = exc
            continue
        except pd.errors.EmptyDataError as exc:
            raise DatasetError(f"{p}: file is empty") from exc
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:  # a compressed file cut short
            raise DatasetError(
                f"{p}: cannot decompress ({exc}): the file looks cut short; fetch it again"
            ) from exc
        except pd.errors.ParserError as exc:
            raise DatasetError(f"{p}: cannot parse as {sep!r}-separated text: {exc}") from exc
        except ValueError as exc:  # e.g. usecols / dtype mismatches
            raise DatasetError(f"{p}: {exc}") from exc
    if df is None:
        raise DatasetError(
            f"{p}: cannot decode with any of {list(encoding_candidates)}: {last_error}"
        )
    if len(sep) == 1:
        quoted = kw.get("quoting", csv.QUOTE_MINIMAL) != csv.QUOTE_NONE
        require_complete_last_line(p, sep, len(df.columns), quoted=quoted)
    if overlong:
        raise DatasetError(
            f"{p}: some data rows have more {sep!r}-separated fields than the header's "
            f"{len(df.columns)} (a field holding {sep!r} unquoted?); the extra fields would be lost"
        )
    df.columns = [_clean_header(c) for c in df.columns]
    report = LoadReport(path=str(p), encoding=used)
    blank = df.isna().all(axis=1).to_numpy() if len(df.columns) else np.zeros(len(df), bool)
    if blank.any():
        df = df.loc[~blank]
    report.rows_read = len(df)
    report.blank_rows_dropped = int(blank.sum())
    if sample is not None:
        report.note(
            f"kept a random {sample * 100:g} % of the file's rows (sample seed {sample_seed}): "
            f"{len(df):,} of {sampled_from - int(blank.sum()):,}"
        )
    df.attrs["load_report"] = report
    df.attrs["header_lines"] = header_lines
    if required:
        require_columns(df, required, p)
    return df


def report_of(df: pd.DataFrame, path: str | Path | None = None) -> LoadReport:
    """The LoadReport attached by :func:`read_csv` (a fresh one if absent)."""
    report = df.attrs.get("load_report")
    if isinstance(report, LoadReport):
        return report
    return LoadReport(path=str(path) if path is not None else "", rows_read=len(df))


def require_columns(df: pd.DataFrame, cols: Iterable[str], path: str | Path) -> None:
    """DatasetError naming the file and every missing column (and the columns found)."""
    require_names([str(c) for c in df.columns], cols, path)


def row_label(df: pd.DataFrame, position: int) -> str:
    """Human label of the row at `position`: its data row and file line numbers (1-based)."""
    index = df.index[position]
    header = int(df.attrs.get("header_lines", 1))
    try:
        i = int(index)
    except (TypeError, ValueError):
        return f"row {index!r}"
    return f"data row {i + 1} (line {i + 1 + header})"


def _fail_at(
    df: pd.DataFrame, bad: np.ndarray, column: str, path: str | Path, what: str, values: pd.Series
) -> None:
    first = int(np.flatnonzero(bad)[0])
    value = values.iloc[first]
    shown = "empty" if pd.isna(value) else repr(value.item() if hasattr(value, "item") else value)
    raise DatasetError(
        f"{path}: {row_label(df, first)}, column {column!r}: {what} {shown} "
        f"({int(bad.sum())} such row(s))"
    )


def to_int64(
    df: pd.DataFrame, column: str, path: str | Path, *, allow_missing: bool = False
) -> np.ndarray:
    """Column as int64 (floats like 1.0 or 1e5 are accepted when integral); DatasetError otherwise.

    With `allow_missing`, missing values are returned as -1 (callers decide what that means).
    """
    raw = df[column]
    num = pd.to_numeric(raw, errors="coerce")
    missing = raw.isna().to_numpy()
    bad = num.isna().to_numpy() & ~missing
    if not allow_missing:
        bad |= missing
    values = num.to_numpy(dtype=np.float64, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        frac = np.isfinite(values) & (values != np.round(values))
    bad |= frac
    if bad.any():
        _fail_at(df, bad, column, path, "not an integer:", raw)
    if num.dtype.kind in "iu":
        return num.to_numpy(dtype=np.int64)
    out = np.where(np.isnan(values), -1, values)
    return out.astype(np.int64)


def to_float64(
    df: pd.DataFrame, column: str, path: str | Path, *, allow_missing: bool = True
) -> np.ndarray:
    """Column as float64 (NaN for missing when allowed); DatasetError naming the first bad row."""
    raw = df[column]
    num = pd.to_numeric(raw, errors="coerce")
    missing = raw.isna().to_numpy()
    bad = num.isna().to_numpy() & ~missing
    if not allow_missing:
        bad |= missing
    if bad.any():
        _fail_at(df, bad, column, path, "not a number:", raw)
    return num.to_numpy(dtype=np.float64, na_value=np.nan)


_NOT_EPOCH = "a number that is no Unix epoch (s, ms, us or ns within 1990..2100):"
_UNIT_WORDS = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}


def parse_timestamps(
    df: pd.DataFrame,
    column: str,
    path: str | Path,
    *,
    unit: str | None = None,
    fmt: str | None = None,
    allow_missing: bool = False,
    report: LoadReport | None = None,
) -> np.ndarray:
    """Column as int64 unix seconds; DatasetError naming the first unparsable row.

    `unit` ("s", "ms") reads numeric epochs; otherwise strings are parsed as
    dates (`fmt` optional; timezone-aware values are converted to UTC, naive
    values are taken as UTC). Missing values give -1 when `allow_missing`.
    """
    raw = df[column]
    missing = raw.isna().to_numpy()
    if unit is not None:
        num = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.isnan(num) & ~missing
        if not allow_missing:
            bad |= missing
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            what = "no timestamp:" if missing[first] else "unparsable timestamp"
            _fail_at(df, bad, column, path, what, raw)
        scale = EPOCH_UNITS[unit]
        secs = np.floor_divide(np.where(np.isnan(num), -scale, num), scale)
        return secs.astype(np.int64)
    if fmt is None and raw.dtype.kind in "iuf" and (~missing).any():
        # Numbers are Unix epochs (pandas alone would read them as nanoseconds since 1970).
        numbers = pd.to_numeric(raw).to_numpy(dtype=np.float64, na_value=np.nan)
        present = numbers[~missing]
        if ((present >= 19_000_101) & (present <= 21_001_231) & (present % 1 == 0)).all():
            # 20180708 is a date written as a number (as an epoch it would be 1970-08-22)
            if report is not None:
                report.note(f"column {column!r} read as dates written YYYYMMDD")
            text = pd.Series(np.where(missing, "", np.nan_to_num(numbers).astype(np.int64).astype(str)))
            frame = pd.DataFrame({column: text.mask(missing).to_numpy()}, index=df.index)
            frame.attrs.update(df.attrs)
            return parse_timestamps(frame, column, path, fmt="%Y%m%d", allow_missing=allow_missing)
        found, outside = epoch_unit(present)
        bad = np.zeros(len(raw), dtype=bool)
        bad[~missing] = outside
        if bad.any():
            _fail_at(df, bad, column, path, _NOT_EPOCH, raw)
        if report is not None:
            report.note(f"column {column!r} read as Unix epoch {_UNIT_WORDS[found]}")
        return parse_timestamps(df, column, path, unit=found, allow_missing=allow_missing)
    if fmt is not None and raw.dtype.kind in "iuf":
        raw = raw.astype("string")  # e.g. 20160913 with fmt "%Y%m%d" is a date, not an epoch
    if fmt is None:
        parsed, note, first_format = infer_datetimes(raw, f"{path}: column {column!r}")
    else:
        parsed = pd.to_datetime(raw, errors="coerce", format=fmt, utc=True)
        note = first_format = None
    bad = parsed.isna().to_numpy() & ~missing
    if first_format is not None and bad.any():
        first = raw[bad].iloc[:1].astype("string")
        readable = pd.to_datetime(first, errors="coerce", format="mixed", utc=True).notna().all()
        if readable:  # a date, but written another way than the rest of the column
            what = f"not in the format {first_format} of its first value:"
            _fail_at(df, bad, column, path, what, raw)
    if report is not None and note is not None:
        report.note(f"column {column!r}: {note}")
    if not allow_missing:
        bad |= missing
    if bad.any():
        _fail_at(df, bad, column, path, "unparsable timestamp", raw)
    secs = parsed.to_numpy(dtype="datetime64[s]", na_value=np.datetime64("NaT"))
    out = secs.astype(np.int64)
    out[parsed.isna().to_numpy()] = -1
    return out


def encode_categories(
    values: pd.Series | np.ndarray, *, missing: str = ""
) -> tuple[np.ndarray, list[str]]:
    """Dense int64 codes (sorted vocab order) and the vocab; missing values become `missing`."""
    s = pd.Series(values, copy=False)
    s = s.astype("string").fillna(missing).astype(object)
    codes, uniques = pd.factorize(s, sort=True)
    return codes.astype(np.int64), [str(u) for u in uniques]


def require_names(found: Sequence[str], cols: Iterable[str], path: str | Path) -> None:
    """Like :func:`require_columns` for a list of column names (e.g. an Arrow schema)."""
    missing = [c for c in cols if c not in found]
    if missing:
        shown = [str(c) for c in found][:30]
        raise DatasetError(
            f"{path}: missing required column(s) {missing}; found {shown}"
            f"{' ...' if len(found) > 30 else ''}{_wrong_file_hint(found)}"
        )


def _wrong_file_hint(found: Sequence[str]) -> str:
    """What the header `found` suggests instead: another separator, no header at all (the
    CASCADE layout has none) or another loader's file."""
    from shopml.data.loaders import loaders_for_columns
    from shopml.data.loaders.conversion import headerless_layout_hint

    names, sep = [str(c) for c in found], None
    if len(names) == 1:  # a header read with the wrong separator: try the usual ones
        sep = next((s for s in (";", "\t", "|") if s in names[0]), None)
        names = names[0].split(sep) if sep else names
    names = [c.strip() for c in names]
    if pd.to_numeric(pd.Series(names[:1], dtype=str), errors="coerce").notna().all():
        hint = " (its first line is data: the file has no header line"
        layout = headerless_layout_hint(len(names)) if sep in (None, "\t") else None
        return hint + (f"; tab-separated, {layout}" if layout else "") + ")"
    hint = f" (the header holds {sep!r}: is the file {sep!r}-separated?)" if sep else ""
    matches = loaders_for_columns(names)
    if matches:
        named = " or ".join(f"{m} (shopml.data.load({m!r}, path))" for m in matches)
        hint += f"; it has the columns of the data set {named}"
    return hint


# --------------------------------------------------------------- event-log building blocks
def categorical_feature(
    values: pd.Series,
    name: str,
    report: LoadReport,
    group: str = "other",
    *,
    as_strings: bool = False,
    max_code: int = 2**24,
) -> tuple[pa.Array, Feature]:
    """Encode one categorical column: non-negative integer codes below `max_code` stay codes
    (vocab_size = max + 1, missing -> 0, counted); anything else (or `as_strings`) is kept as
    strings with a sorted vocab (missing -> "")."""
    s = pd.Series(values, copy=False)
    if as_strings:
        return _string_feature(s, name, group)
    missing = s.isna().to_numpy().copy()
    fast = _arrow_int_codes(s) if s.dtype.kind not in "iuf" else None
    if fast is not None:  # plain integer text: parsed in C++ by Arrow
        codes, missing = fast
        if len(codes) and codes.min() >= 0 and codes.max() < max_code:
            if missing.any():
                report.note(f"{name}: {int(missing.sum())} missing value(s) coded 0")
            feature = Feature(
                name=name, kind="categorical", vocab_size=int(codes.max()) + 1, group=group
            )
            return pa.array(codes, pa.int64()), feature
        return _string_feature(s, name, group)
    if s.dtype == object or str(s.dtype) in ("string", "str"):
        stripped = s.astype("string").str.strip()
        missing |= (stripped == "").fillna(True).to_numpy()
        num = pd.to_numeric(stripped.mask(missing), errors="coerce")
    else:
        num = pd.to_numeric(s, errors="coerce")
    numf = num.to_numpy(dtype=np.float64, na_value=np.nan)
    present = ~missing
    integral = bool(
        present.any()
        and not np.isnan(numf[present]).any()
        and (numf[present] >= 0).all()
        and (numf[present] == np.round(numf[present])).all()
        and numf[present].max() < max_code
    )
    if integral:
        codes = np.where(missing, 0, np.nan_to_num(numf, nan=0.0)).astype(np.int64)
        if missing.any():
            report.note(f"{name}: {int(missing.sum())} missing value(s) coded 0")
        feature = Feature(
            name=name, kind="categorical", vocab_size=int(codes.max()) + 1, group=group
        )
        return pa.array(codes, pa.int64()), feature
    return _string_feature(s, name, group)


def _arrow_int_codes(s: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """(int64 codes with 0 for missing, missing mask) if every present cell is integer text."""
    try:
        text = pa.array(s.to_numpy(dtype=object), pa.string(), from_pandas=True)
        text = pc.utf8_trim_whitespace(text)
        text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
        ints = pc.cast(text, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    missing = ints.is_null().to_numpy(zero_copy_only=False)
    if missing.all():
        return None
    return ints.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64), missing


def _string_feature(s: pd.Series, name: str, group: str) -> tuple[pa.Array, Feature]:
    strings = s.astype("string").str.strip().fillna("")
    array = pa.array(strings.to_numpy(dtype=object), pa.string())
    vocab = sorted(str(v) for v in pc.unique(array).to_pylist())
    feature = Feature(name=name, kind="categorical", vocab=vocab, group=group)
    return array, feature


def list_elements(values: pd.Series) -> pd.Series:
    """Split list-like cells ("[1, 2]", "1,2", "5", "[]", "") into one row per element (strings).

    The result's index is the source row label; empty lists give no rows.
    """
    s = pd.Series(values, copy=False).astype("string")
    cleaned = s.str.replace(r"[\[\]\s'\"]", "", regex=True).fillna("")
    parts = cleaned.str.split(",").explode()
    return parts[parts.notna() & (parts != "")].astype(object)


def clicks_table(
    click_id: np.ndarray,
    ts: np.ndarray,
    user_id: np.ndarray,
    item_id: np.ndarray,
    features: dict[str, pa.Array | np.ndarray],
    spec: FeatureSpec,
    treatment: np.ndarray | None = None,
    exposure: np.ndarray | None = None,
) -> pa.Table:
    """A clicks table with the schema the spec declares (keys, features, optional arms)."""
    n = len(click_id)
    columns: dict[str, Any] = {
        "click_id": np.asarray(click_id, dtype=np.int64),
        "ts": np.asarray(ts, dtype=np.int64),
        "user_id": np.broadcast_to(np.asarray(user_id, dtype=np.int64), (n,)),
        "item_id": np.broadcast_to(np.asarray(item_id, dtype=np.int64), (n,)),
    }
    for feature in spec.features:
        columns[feature.name] = features[feature.name]
    if treatment is not None:
        columns["treatment"] = np.asarray(treatment, dtype=np.int64)
    if exposure is not None:
        columns["exposure"] = np.asarray(exposure, dtype=np.int8)
    schema = spec.clicks_schema(treatment=treatment is not None, exposure=exposure is not None)
    arrays = [pa.array(columns[f.name], f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def events_table(
    click_id: np.ndarray, kind: str | np.ndarray, ts: np.ndarray, amount: np.ndarray | None = None
) -> pa.Table:
    """An events table (EVENTS_SCHEMA); `kind` a single kind or one per row; amount null if None."""
    n = len(click_id)
    kinds = np.full(n, kind, dtype=object) if isinstance(kind, str) else np.asarray(kind, object)
    amounts = (
        pa.nulls(n, pa.float64()) if amount is None else pa.array(np.asarray(amount, np.float64))
    )
    return pa.Table.from_arrays(
        [
            pa.array(np.asarray(click_id, dtype=np.int64)),
            pa.array(kinds, pa.string()),
            pa.array(np.asarray(ts, dtype=np.int64)),
            amounts,
        ],
        schema=EVENTS_SCHEMA,
    )


def concat_events(tables: Sequence[pa.Table]) -> pa.Table:
    """Concatenate events tables and sort by (ts, click_id); an empty table if none."""
    if not tables:
        return EVENTS_SCHEMA.empty_table()
    table = pa.concat_tables([t.cast(EVENTS_SCHEMA) for t in tables])
    if table.num_rows == 0:
        return table
    return table.sort_by([("ts", "ascending"), ("click_id", "ascending")])


def finish_log(
    clicks: pa.Table,
    events: pa.Table,
    spec: FeatureSpec,
    report: LoadReport,
    **side_tables: pa.Table | None,
) -> EventLog:
    """An EventLog with the load report stored in ``spec.meta["load_report"]``; DatasetError
    when the loader rejected every row (a wrong separator or column count, say), rather than
    an empty log."""
    if clicks.num_rows == 0 and report.rows_rejected > 0:
        reasons = ", ".join(f"{reason} ({n:,})" for reason, n in report.rejected.items())
        raise DatasetError(f"{report.path}: every row was rejected: {reasons}")
    spec.meta["load_report"] = report.as_dict()
    return EventLog(clicks=clicks, events=events, spec=spec, **side_tables)


# ------------------------------------------------------------------ large files via Arrow
def header_names(path: str | Path, sep: str = ",") -> list[str]:
    """Column names from a file's first line (BOM, quotes and spaces stripped; .gz transparent)."""
    try:
        with pa.input_stream(str(path), compression="detect") as stream:
            head = stream.read(1 << 16)
    except (OSError, pa.ArrowInvalid) as exc:
        raise DatasetError(f"{path}: cannot read: {exc}") from exc
    text = head.decode("utf-8-sig", errors="replace")
    line = text.splitlines()[0] if text else ""
    return [_clean_header(c.strip().strip('"')) for c in line.split(sep)]


def read_csv_arrow(
    path: str | Path,
    *,
    sep: str = ",",
    column_names: Sequence[str] | None = None,
    column_types: dict[str, pa.DataType] | None = None,
    required: Sequence[str] = (),
    include_columns: Sequence[str] | None = None,
    dataset: str = "",
    row_numbers: bool = False,
) -> tuple[pa.Table, LoadReport]:
    """Read a large delimited file with pyarrow.csv (threads, .gz) and a LoadReport.

    `column_names` is for header-less files. Blank lines (all fields null) are dropped and
    counted; lines with the wrong number of fields are skipped and counted as rejected.
    Unparsable values raise DatasetError quoting Arrow's message (column and row); a file
    whose last line has no line end and too few fields is refused as cut short. With
    `row_numbers`, the table gets a :data:`DATA_ROW` column: each row's 1-based data row in
    the file (skipped and blank lines counted), so later filters keep messages true.
    """
    file = check_file(path, dataset)
    names = header_names(file, sep) if column_names is None else list(column_names)
    require_names(names, required, file)
    require_complete_last_line(file, sep, len(names))
    malformed: list[int | None] = []

    def skip_malformed(row: Any) -> str:
        malformed.append(row.number)
        return "skip"

    import pyarrow.csv as pacsv

    read_options = pacsv.ReadOptions(
        use_threads=True,
        block_size=1 << 24,
        column_names=list(column_names) if column_names is not None else None,
    )
    try:
        table = pacsv.read_csv(
            str(file),
            read_options=read_options,
            parse_options=pacsv.ParseOptions(
                delimiter=sep, ignore_empty_lines=False, invalid_row_handler=skip_malformed
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=column_types or {},
                include_columns=list(include_columns) if include_columns else None,
                strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError) as exc:
        names = list(column_names) if column_names is not None else header_names(file, sep)
        raise DatasetError(_locate_arrow_error(file, exc, names, sep, column_names)) from exc
    report = LoadReport(path=str(file), encoding="utf-8")
    blank = None
    for name in table.column_names:
        null = pc.is_null(table.column(name))
        if pa.types.is_string(table.column(name).type):
            null = pc.or_kleene(null, pc.equal(pc.utf8_trim_whitespace(table.column(name)), ""))
        blank = null if blank is None else pc.and_kleene(blank, null)
    lines = [m for m in malformed if m is not None]
    if row_numbers:
        if len(lines) < len(malformed):  # threaded reads do not number skipped lines
            lines = _malformed_lines(file, sep, column_names)
        header = 0 if column_names is not None else 1
        rows = _file_data_rows(table.num_rows, [m - header for m in lines])
        table = table.append_column(DATA_ROW, pa.array(rows))
    n_blank = int(pc.sum(blank).as_py() or 0) if blank is not None else 0
    if n_blank:
        table = table.filter(pc.invert(pc.fill_null(blank, False)))
    report.blank_rows_dropped = n_blank
    report.rows_read = table.num_rows
    if malformed:
        report.reject("malformed line (wrong number of fields)", len(malformed))
        if lines:
            report.note(f"malformed lines, e.g. line(s) {sorted(lines)[:5]}")
    return table, report


#: Column that ``read_csv_arrow(row_numbers=True)`` adds: the row's 1-based data row in the file.
DATA_ROW = "_data_row"


def _file_data_rows(n_rows: int, skipped: Sequence[int]) -> np.ndarray:
    """1-based data rows of the `n_rows` rows Arrow kept, given the data rows it skipped."""
    rows = np.arange(1, n_rows + len(skipped) + 1, dtype=np.int64)
    return rows[~np.isin(rows, np.asarray(skipped, dtype=np.int64))] if skipped else rows


def _malformed_lines(file: Path, sep: str, column_names: Sequence[str] | None) -> list[int]:
    """Line numbers (1-based, header included) of the lines with the wrong number of fields;
    read single-threaded, since a threaded read does not number them."""
    import pyarrow.csv as pacsv

    found: list[int] = []

    def note(row: Any) -> str:
        found.append(int(row.number))
        return "skip"

    pacsv.read_csv(
        str(file),
        read_options=pacsv.ReadOptions(
            use_threads=False,
            block_size=1 << 24,
            column_names=list(column_names) if column_names is not None else None,
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=sep, ignore_empty_lines=False, invalid_row_handler=note
        ),
        convert_options=pacsv.ConvertOptions(include_columns=[], strings_can_be_null=True),
    )
    return found


def _locate_arrow_error(
    file: Path,
    exc: Exception,
    names: list[str],
    sep: str,
    column_names: Sequence[str] | None,
) -> str:
    """Turn Arrow's "CSV column #k: invalid value" into a message naming column and data row."""
    import re

    import pyarrow.csv as pacsv

    match = re.search(r"column #(\d+)", str(exc))
    if not match or int(match.group(1)) >= len(names):
        return f"{file}: {exc}"
    column = names[int(match.group(1))]
    skipped: list[int] = []

    def skip(row: Any) -> str:
        skipped.append(int(row.number))
        return "skip"

    try:
        raw = pacsv.read_csv(
            str(file),
            read_options=pacsv.ReadOptions(
                use_threads=False,  # so that skipped lines are numbered
                column_names=list(column_names) if column_names is not None else None,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=sep, ignore_empty_lines=False, invalid_row_handler=skip
            ),
            convert_options=pacsv.ConvertOptions(
                include_columns=[column], column_types={column: pa.string()}
            ),
        ).column(column)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return f"{file}: column {column!r}: {exc}"
    values = pd.Series(raw.to_numpy(zero_copy_only=False), dtype=object)
    bad = (
        values.notna() & pd.to_numeric(values, errors="coerce").isna() & (values.str.strip() != "")
    )
    if not bad.any():
        return f"{file}: column {column!r}: {exc}"
    row = int(np.flatnonzero(bad.to_numpy())[0])
    header = 0 if column_names is not None else 1
    data_row = int(_file_data_rows(len(values), [m - header for m in skipped])[row])
    return (
        f"{file}: data row {data_row}, column {column!r}: not a number: {values.iloc[row]!r} "
        f"({int(bad.sum())} such row(s))"
    )


#: Schema-metadata key under which every table-returning loader stores its load report.
REPORT_KEY = b"shopml_load_report"


def attach_report(
    table: pa.Table, report: LoadReport | Mapping[str, Any], dataset: str
) -> pa.Table:
    """The table with `report` (plus dataset name and final row count) in its schema metadata."""
    body = dict(report.as_dict() if isinstance(report, LoadReport) else report)
    body = {"dataset": dataset, "rows": int(table.num_rows), **body}
    meta = dict(table.schema.metadata or {})
    meta[REPORT_KEY] = json.dumps(body, ensure_ascii=False).encode()
    return table.replace_schema_metadata(meta)


def load_report_lines(report: dict[str, Any]) -> list[str]:
    """A load report (``LoadReport.as_dict()``) as lines for a person: what was rejected, and
    how the file was read; nothing when the loader neither rejected nor remarked anything."""
    lines = [f"rejected {count:,} row(s): {reason}" for reason, count in report.get("rejected", {}).items()]
    return lines + [f"note: {note}" for note in report.get("notes", [])]


def load_report_entry(meta: dict[str, Any]) -> dict[str, Any]:
    """``{"load_report": ...}`` for a card's dataset entry when ``meta`` (a log's
    ``spec.meta``, or an uplift data set's ``meta``) holds a loader's report, else ``{}``."""
    report = meta.get("load_report")
    return {"load_report": report} if report else {}


def print_load_report(report: dict[str, Any] | None, source: object, console: Any) -> None:
    """Print how many rows the loader read from ``source`` (a benchmark's file), and what it
    rejected or remarked."""
    if report and report.get("rows_read") is not None:
        console.print(f"{escape(str(source))}: read {report['rows_read']:,} rows", soft_wrap=True)
    for line in load_report_lines(report or {}):
        console.print(f"{escape(str(source))}: {escape(str(line))}", soft_wrap=True)


def load_file_once(
    spec: Any,
    load: Callable[[Any, int], tuple],
    console: Any,
    card_name: Callable[[Any, dict, int], str] | None = None,
) -> tuple | None:
    """A benchmark's user file (``spec.data``), read once for all seeds by ``load(spec, seed)``
    (which returns ``(data, dataset card entry, truth)``), with what its loader rejected or
    remarked printed; None for simulated data, which each seed simulates anew. With
    ``card_name(spec, dataset, seed)`` the seeds' cards in ``spec.card_dir`` are checked before
    any work (:func:`shopml.report.cards.check_card_paths`: none may hold another file's card)."""
    if spec.data is None:
        return None
    console.print(f"reading {escape(str(spec.data))} ...", soft_wrap=True)
    loaded = load(spec, spec.seeds[0])
    print_load_report(loaded[1].get("load_report"), spec.data, console)
    if card_name is not None:
        from shopml.report.cards import check_card_paths

        stems = [card_name(spec, loaded[1], seed) for seed in spec.seeds]
        check_card_paths(loaded[1], stems, spec.card_dir, console)
    return loaded


def load_report(table: pa.Table) -> dict[str, Any]:
    """The load report a shopml loader attached to `table` ({} if there is none)."""
    meta = table.schema.metadata or {}
    for key in (REPORT_KEY,):
        if key in meta:
            return json.loads(meta[key])
    return {}
