"""Delayed-feedback conversion logs: CASCADE, TRACE and the Criteo conversion logs.

``cascade`` - CASCADE, the Taobao net-conversion benchmark released with TESLA
    (Luo et al., "Modeling Cascaded Delay Feedback for Online Net Conversion Rate
    Prediction", arXiv 2601.19965, WWW 2026; data: huggingface.co/datasets/alimamaTech/CASCADE,
    Apache-2.0 per its card; code: github.com/alimama-tech/NetCVR). Layout, as read by the
    official ``data/CASCADE/process_CASCADE*.py``: tab-separated text, no header, 25 columns:
    click time, pay time(s), refund time(s), then 22 categorical fields. Two forms exist and
    both load here:

    * the *release* form: unix-second times; pay/refund cells are lists such as
      ``[1746100000]`` (empty / ``[]`` when none; the official code keeps the first element,
      and so do we - rows listing several are counted in the report); feature cells are raw
      values or one-element lists;
    * the *processed* form written by the official script: times in seconds since the
      dataset start (2025-05-01 00:00 in the processing machine's local clock), ``-1`` when
      absent, features hashed to ints below the official ``cate_bin_size``.

    Relative times are shifted by ``origin`` (default 2025-05-01 00:00 UTC - the official
    script used its machine's local clock, most likely UTC+8, so real wall-clock times may be
    8 h earlier; durations and windows are unaffected). A directory loads all its ``*.txt``
    files in name order (the release is split into several files).

    Mapping: one clicks row per line (``click_id`` = line order, ``user_id``/``item_id`` = 0
    unless ``user_field``/``item_field`` name one of the 22 fields, since CASCADE publishes
    no separate ids); a ``pay`` event at the pay time and a ``refund`` event at the refund
    time, amount 0.0 (CASCADE has no amounts: ``spec.meta["amounts_known"] = False``); the
    22 fields are categorical features ``feature_0`` .. ``feature_21`` (integer codes with
    ``vocab_size = max code + 1``, or strings with a vocab when not integers).

``trace`` - TRACE, the Taobao post-click GMV benchmark released with READER (Li et al.,
    "Delayed Feedback Modeling for Post-Click Gross Merchandise Volume Prediction", arXiv
    2601.20307, WWW 2026; data: huggingface.co/datasets/alimamaTech/TRACE, Apache-2.0 per its
    card; code: github.com/alimama-tech/OnlineGMV). Layout, as read by the official
    ``src/data.py``: tab-separated text with a header; ``click_time``, ``pay_time`` (list of
    purchase times), ``dirpay_amt`` (list of amounts, same length), ``multi_tag``, ``count``,
    ``total_counts``, ``prev_dirpay_amt``, ``prev_pay_time``; every other column (22 of them,
    ``feature_0`` .. ``feature_21``) is a feature. Times are seconds since the dataset start
    (shifted by ``origin``) or unix seconds. Mapping: one clicks row per line, one ``pay``
    event per listed purchase with its amount (repurchases = several pay events per click).
    The label-like columns are never features; ``total_counts`` is only checked against the
    list lengths (mismatches reported).

``criteo_conversion`` - the Criteo conversion logs of Chapelle, "Modeling Delayed Feedback in
    Display Advertising", KDD 2014 (``data.txt``; Criteo's research-only terms, download after
    accepting them). Layout, as read by the ES-DFM / DEFER reference code: tab-separated, no
    header: click time, conversion time (empty when none), 8 integer features, 9 hashed
    categorical features. Times are seconds from the start of the 60-day log (shifted by
    ``origin``; the true dates are not published). Mapping: one clicks row per line, a ``pay``
    event (amount 0.0, unknown) at the conversion time; ``int_1`` .. ``int_8`` numeric
    (float64, NaN where missing - the reference code fills -1 and min-max scales, we leave
    that to the model), ``cat_1`` .. ``cat_9`` categorical strings with a vocab (missing = "").

Rows without a click time are rejected and counted; events before their click (or a refund
before its pay, or without a pay) are dropped and counted; all counts are in
``log.spec.meta["load_report"]``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from shopml.data.eventlog import EventLog
from shopml.data.loaders import DatasetError, register_loader
from shopml.data.loaders._common import (
    LoadReport,
    categorical_feature,
    check_file,
    clicks_table,
    concat_events,
    events_table,
    finish_log,
    list_elements,
    read_csv,
    report_of,
    require_columns,
    row_label,
    to_float64,
)
from shopml.data.schema import MAX_TS, MIN_TS, Feature, FeatureSpec

DAY = 86_400
#: 2025-05-01 00:00:00 UTC, added to CASCADE's relative times (see module docstring).
CASCADE_ORIGIN = 1_746_057_600
#: Origin added to TRACE's relative times (the release does not state its start date).
TRACE_ORIGIN = 1_746_057_600
#: Origin added to the Criteo conversion log's relative times (true dates unpublished).
CRITEO_CONVERSION_ORIGIN = 1_388_534_400  # 2014-01-01 00:00:00 UTC
CASCADE_N_FIELDS = 22
CASCADE_COLUMNS = ["click_time", "pay_time", "refund_time"] + [
    f"feature_{i}" for i in range(CASCADE_N_FIELDS)
]
TRACE_LABEL_COLUMNS = (
    "click_time",
    "pay_time",
    "dirpay_amt",
    "multi_tag",
    "count",
    "total_counts",
    "prev_dirpay_amt",
    "prev_pay_time",
)
CRITEO_COLUMNS = (
    ["click_time", "conversion_time"]
    + [f"int_{i}" for i in range(1, 9)]
    + [f"cat_{i}" for i in range(1, 10)]
)
#: what a file of the other layout is, and what reads it (the loaders' column-count errors)
CRITEO_LAYOUT_HINT = (
    f"{len(CRITEO_COLUMNS)} columns are the Criteo conversion layout (click and conversion "
    "times, no refunds), which load('criteo_conversion', path) and `shopml data stats "
    "--dataset criteo_conversion` read"
)
CASCADE_LAYOUT_HINT = (
    f"{len(CASCADE_COLUMNS)} columns are the CASCADE layout, which `shopml bench netcvr --data` "
    "and load('cascade', path) read"
)


def headerless_layout_hint(n_fields: int) -> str | None:
    """What a header-less tab-separated file of `n_fields` fields is, and what reads it."""
    return {len(CASCADE_COLUMNS): CASCADE_LAYOUT_HINT, len(CRITEO_COLUMNS): CRITEO_LAYOUT_HINT}.get(
        n_fields
    )


_LIST_CHARS = r"[\[\]\s'\"]"
#: What to do about click times that mix relative and unix seconds, per loader.
CASCADE_MIX_HINT = (
    "A directory holding both the processed and the raw layout (as `shopml simulate --format "
    "cascade` writes them) must be loaded one file at a time; within one file, fix or drop the "
    "stray rows."
)
TRACE_MIX_HINT = (
    "A TRACE file holds one kind (seconds since the dataset start, or unix seconds): fix or "
    "drop the stray rows."
)
CRITEO_MIX_HINT = (
    "Chapelle's data.txt holds seconds since the log's start (or, converted, unix seconds "
    "throughout): fix or drop the stray rows."
)


# ------------------------------------------------------------------------------- helpers
def _input_files(path: str | Path, dataset: str, pattern: str = "*.txt") -> list[Path]:
    """The file itself, or a directory's matching files in name order."""
    p = Path(path)
    if p.is_dir():
        files = sorted(
            f for f in [*p.glob(pattern), *p.glob(f"{pattern}.gz")] if f.is_file()
        )
        twins = [f for f in files if f.suffix == ".gz" and f.with_suffix("") in files]
        if twins:
            raise DatasetError(
                f"{dataset}: {p} holds {twins[0].with_suffix('').name} and {twins[0].name}: the "
                "same part twice (packed and unpacked?); keep one of them"
            )
        if not files:
            raise DatasetError(f"{dataset}: {p} is a directory without {pattern}(.gz) files")
        return files
    return [check_file(p, dataset)]


def _first_listed(values: pd.Series) -> tuple[pd.Series, int]:
    """First element of list-like cells ("[t1, t2]" -> "t1"; "" / "[]" -> NA) and the number
    of cells that listed more than one element."""
    text = pa.array(values.to_numpy(dtype=object), pa.string(), from_pandas=True)
    listed = pc.any(pc.match_substring_regex(text, r"[\[,]")).as_py()
    if not listed:  # the processed layout: plain numbers, nothing to split
        return values, 0
    cleaned = values.astype("string").str.replace(_LIST_CHARS, "", regex=True)
    several = int(cleaned.str.contains(",", regex=False).fillna(False).sum())
    first = cleaned.str.split(",", n=1).str[0]
    return first.mask(first == ""), several


def _first_feature_value(values: pd.Series) -> pd.Series:
    """Features given as one-element lists ("['x']") become their first element."""
    s = values.astype("string")
    is_list = s.str.startswith("[").fillna(False)
    if not is_list.any():
        return s
    inner = s[is_list].str.strip("[] ").str.split(",", n=1).str[0].str.strip(" '\"")
    out = s.copy()
    out[is_list] = inner
    return out


def _seconds(values: pd.Series, column: str, path: Path, frame: pd.DataFrame) -> np.ndarray:
    """Float seconds (NaN where missing); DatasetError naming the first non-numeric cell."""
    probe = pd.DataFrame({column: values}, index=frame.index)
    probe.attrs.update(frame.attrs)
    return to_float64(probe, column, path)


#: Relative times at or beyond this (about 3.2 years) are no release's seconds since its start
#: (CASCADE spans 25 days, TRACE 82, Criteo's log 60); as milliseconds they are 1.2 days.
RELATIVE_MAX_S = 100_000_000
_MS_HINT = "the times look like milliseconds; the format wants seconds (divide them by 1000)"


class _Rows:
    """Names a row of the (concatenated, filtered) click arrays by its file and data row."""

    def __init__(self) -> None:
        self._files: list[tuple[Path, int]] = []
        self._file_no: list[np.ndarray] = []
        self._index: list[np.ndarray] = []

    def add(self, file: Path, df: pd.DataFrame) -> None:
        """Append the rows of `df`, read from `file` (its index = 0-based data rows)."""
        self._file_no.append(np.full(len(df), len(self._files), dtype=np.int32))
        self._index.append(df.index.to_numpy(dtype=np.int64))
        self._files.append((file, int(df.attrs.get("header_lines", 0))))

    def keep(self, mask: np.ndarray) -> None:
        """Keep only the rows where `mask` is true (in the order added)."""
        file_no, index = np.concatenate(self._file_no), np.concatenate(self._index)
        self._file_no, self._index = [file_no[mask]], [index[mask]]

    def __call__(self, position: int) -> str:
        """'FILE: data row N (line M)' of the row at `position`."""
        file_no = int(np.concatenate(self._file_no)[position])
        row = int(np.concatenate(self._index)[position]) + 1
        file, header = self._files[file_no]
        return f"{file}: data row {row} (line {row + header})"

    def files_split_by(self, mask: np.ndarray) -> tuple[list[Path], list[Path]] | None:
        """(files whose rows are all in `mask`, files with none in it) when every file is one
        or the other and both lists are non-empty; None otherwise."""
        file_no = np.concatenate(self._file_no)
        inside = np.bincount(file_no[mask], minlength=len(self._files))
        total = np.bincount(file_no, minlength=len(self._files))
        present = total > 0
        if not np.all((inside[present] == 0) | (inside[present] == total[present])):
            return None
        files = [file for file, _ in self._files]
        all_in = [f for f, keep in zip(files, present & (inside == total), strict=True) if keep]
        none_in = [f for f, keep in zip(files, present & (inside == 0), strict=True) if keep]
        return (all_in, none_in) if all_in and none_in else None


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _make_absolute(
    times: dict[str, np.ndarray],
    origin: int,
    report: LoadReport,
    dataset: str,
    where: _Rows,
    hint: str,
) -> bool:
    """Shift relative times (all clicks before 2000) by `origin` in place; True if shifted.
    DatasetError when the click times mix relative and unix seconds (naming the first row of
    the fewer kind; `hint` says what to do for this loader) or look like milliseconds."""
    clicks = times["click"]
    if len(clicks) == 0:
        return False
    relative = clicks < MIN_TS
    if relative.all():
        far = clicks >= RELATIVE_MAX_S
        if far.any():
            pos = _first(far)
            raise DatasetError(
                f"{dataset}: relative click times reach {clicks.max():.0f} s, "
                f"{clicks.max() / (365.25 * DAY):.1f} years after the start "
                f"({int(far.sum())} row(s) from {RELATIVE_MAX_S:,} s, first {where(pos)}: "
                f"{clicks[pos]:.0f}); no release spans that long: if the times are "
                "milliseconds, the format wants seconds (divide them by 1000); otherwise that row "
                "holds a stray value"
            )
        for t in times.values():
            present = ~np.isnan(t)
            t[present] += origin
        report.note(f"times are relative seconds; shifted by origin {origin} (unix s)")
        return True
    if relative.any():
        n_rel, n_abs = int(relative.sum()), int((~relative).sum())
        below, above = clicks[relative].max(), clicks[~relative].min()
        if above - below < RELATIVE_MAX_S:  # one run of values across 2000-01-01
            raise DatasetError(
                f"{dataset}: click times run from {clicks.min():.0f} to {clicks.max():.0f} "
                f"without a break across {MIN_TS} (2000-01-01 as unix seconds: {n_rel} row(s) "
                f"below, {n_abs} above); as milliseconds since the start they span "
                f"{(clicks.max() - clicks.min()) / 1000 / DAY:.1f} days: {_MS_HINT}"
            )
        by_file = where.files_split_by(relative)
        if by_file is not None:
            rel_files, abs_files = (", ".join(str(f) for f in fs) for fs in by_file)
            raise DatasetError(
                f"{dataset}: the files read hold click times of two kinds: relative seconds "
                f"({n_rel} row(s) < {MIN_TS}) in {rel_files}, unix timestamps ({n_abs} row(s)) "
                f"in {abs_files}, so they are not parts of one release. {hint}"
            )
        stray = relative if n_rel <= n_abs else ~relative
        pos = _first(stray)
        kind = "relative seconds" if n_rel <= n_abs else "unix timestamps"
        fewer = "the fewer" if n_rel != n_abs else "as many as the others"
        raise DatasetError(
            f"{dataset}: click times mix relative seconds ({n_rel} row(s) < {MIN_TS}) and unix "
            f"timestamps ({n_abs} row(s)), so the time origin is unknown; the {kind} "
            f"({fewer}) start at {where(pos)}: {clicks[pos]:.0f}. {hint}"
        )
    return False


def _check_range(
    ts: np.ndarray, dataset: str, what: str, where: Callable[[int], str], shifted_by: int | None
) -> None:
    bad = (ts < MIN_TS) | (ts > MAX_TS)
    if not bad.any():
        return
    pos = _first(bad)
    seconds = ts[bad] // 1000
    head = (
        f"{dataset}: {int(bad.sum())} {what} time(s) outside 2000..2100, first {where(pos)}: "
        f"{int(ts[pos])}"
    )
    if ((seconds >= MIN_TS) & (seconds <= MAX_TS)).all():
        raise DatasetError(f"{head}, which as unix milliseconds falls in 2000..2100: {_MS_HINT}")
    if shifted_by is not None:
        raise DatasetError(
            f"{head} after shifting relative times by {shifted_by}; pass the right origin"
        )
    raise DatasetError(head)


def _spec(features: list[Feature], meta: dict) -> FeatureSpec:
    try:
        return FeatureSpec(features=features, meta=meta)
    except ValueError as exc:
        raise DatasetError(f"cannot declare features: {exc}") from exc


def _encode_features(
    frame: pd.DataFrame, names: list[str], report: LoadReport, *, as_strings: bool = False
) -> tuple[dict[str, pa.Array], list[Feature]]:
    arrays: dict[str, pa.Array] = {}
    features: list[Feature] = []
    for name in names:
        try:
            array, feature = categorical_feature(frame[name], name, report, as_strings=as_strings)
        except ValueError as exc:
            raise DatasetError(f"{report.path}: column {name!r}: {exc}") from exc
        arrays[name] = array
        features.append(feature)
    return arrays, features


# ------------------------------------------------------------------------------- CASCADE
#: first cells that make a CASCADE file's first line a header (the release has none)
CASCADE_HEADER_CELLS = ("click_time", "click_ts")


def _cascade_header_first(path: Path) -> bool:
    """Whether a CASCADE file's first line is a header, read from that line alone (a file
    that cannot be read so is left to the reader, which names the problem)."""
    try:
        first = pd.read_csv(
            path, sep="\t", header=None, dtype=str, quoting=3, nrows=1, usecols=[0],
            encoding="latin-1", skip_blank_lines=False,
        )  # fmt: skip
    except (OSError, EOFError, ValueError, pd.errors.EmptyDataError, pd.errors.ParserError):
        return False
    cell = str(first.iloc[0, 0]) if len(first) else ""
    for bom in ("\u00ef\u00bb\u00bf", "\ufeff"):  # a UTF-8 byte order mark read as latin-1
        cell = cell.removeprefix(bom)
    return cell.strip().lower() in CASCADE_HEADER_CELLS


def _read_cascade_file(
    path: Path, report: LoadReport, sample: float | None = None, sample_seed: int | list[int] = 0
) -> pd.DataFrame:
    # a sample skips a header line before the draw: the draw would otherwise drop it at
    # random, its rows' labels then one too high and the count of the file's rows one too many
    header = sample is not None and _cascade_header_first(path)
    df = read_csv(
        path, sep="\t", header=None, dtype=str, dataset="cascade", quoting=3,
        sample=sample, sample_seed=sample_seed, **({"skiprows": [0]} if header else {}),
    )  # fmt: skip
    sub = report_of(df, path)
    report.blank_rows_dropped += sub.blank_rows_dropped
    report.rows_read += sub.rows_read
    report.encoding = report.encoding or sub.encoding
    for note in sub.notes:  # e.g. the sample kept
        report.note(f"{path.name}: {note}")
    if header:
        df.attrs["header_lines"] = 1  # data rows count from the line after the header
        report.note(f"{path.name}: header line skipped (the release has none)")
    elif len(df) and str(df.iloc[0, 0]).strip().lower() in CASCADE_HEADER_CELLS:
        attrs = dict(df.attrs)
        df = df.iloc[1:]
        df.index = df.index - 1  # data rows count from the line after the header
        df.attrs.update({**attrs, "header_lines": 1})
        report.rows_read -= 1
        report.note(f"{path.name}: header line skipped (the release has none)")
    if df.shape[1] != len(CASCADE_COLUMNS):
        first = set(df.iloc[0].astype(str)) if len(df) else set()
        if {"click_time", "pay_time", "dirpay_amt"} <= first:
            hint = (
                ": its first line is TRACE's header (click_time, pay_time, dirpay_amt), so this "
                "is a TRACE file; `shopml bench gmv --data` and load('trace', path) read those"
            )
        else:
            layout = headerless_layout_hint(df.shape[1])
            hint = f": {layout}" if layout else ""
        raise DatasetError(
            f"{path}: expected {len(CASCADE_COLUMNS)} tab-separated columns (click time, pay "
            f"time, refund time, {CASCADE_N_FIELDS} fields), found {df.shape[1]}{hint}"
        )
    df.columns = CASCADE_COLUMNS
    return df


@register_loader(
    "cascade",
    returns="eventlog",
    sample=None,
    description="CASCADE (TESLA, arXiv 2601.19965): clicks with pay and refund times, 22 fields",
)
def cascade(
    path: str | Path,
    *,
    origin: int = CASCADE_ORIGIN,
    user_field: str | None = None,
    item_field: str | None = None,
    sample: float | None = None,
    sample_seed: int = 0,
) -> EventLog:
    """Load the CASCADE release (file or directory of .txt) as an event log with pay/refund
    events; ``sample`` (0 < f <= 1) keeps a seeded random share of the clicks while reading,
    for a release larger than memory (each file's rows drawn apart, so memory follows f)."""
    files = _input_files(path, "cascade")
    report = LoadReport(path=str(path))
    parts = []
    rows = _Rows()
    for index, file in enumerate(files):
        seed = sample_seed if len(files) == 1 else [sample_seed, index]
        df = _read_cascade_file(file, report, sample, seed)
        rows.add(file, df)
        click = _seconds(df["click_time"], "click_time", file, df)
        pay_first, pay_many = _first_listed(df["pay_time"])
        refund_first, refund_many = _first_listed(df["refund_time"])
        pay = _seconds(pay_first, "pay_time", file, df)
        refund = _seconds(refund_first, "refund_time", file, df)
        if pay_many or refund_many:
            report.note(
                f"{file.name}: {pay_many} pay / {refund_many} refund cells list several times; "
                "the first is kept (as the official processing does)"
            )
        feats = pd.DataFrame(
            {f"feature_{i}": _first_feature_value(df[f"feature_{i}"]) for i in range(22)}
        )
        parts.append((click, pay, refund, feats))
    click = np.concatenate([p[0] for p in parts])
    pay = np.concatenate([p[1] for p in parts])
    refund = np.concatenate([p[2] for p in parts])
    feats = pd.concat([p[3] for p in parts], ignore_index=True)

    # Absent = missing or negative (the official files use -1); the official label is pay > 0.
    pay[pay < 0] = np.nan
    refund[refund < 0] = np.nan
    keep = ~np.isnan(click) & (click >= 0)
    report.reject("click_time missing or negative", int((~keep).sum()))
    click, pay, refund, feats = click[keep], pay[keep], refund[keep], feats.loc[keep]
    rows.keep(keep)
    times = {"click": click, "pay": pay, "refund": refund}
    relative = _make_absolute(times, origin, report, "cascade", rows, CASCADE_MIX_HINT)
    click_ts = np.floor(click).astype(np.int64)
    _check_range(click_ts, "cascade", "click", rows, origin if relative else None)

    has_pay = ~np.isnan(pay)
    pay_ts = np.floor(np.where(has_pay, pay, 0)).astype(np.int64)
    early = has_pay & (pay_ts < click_ts)
    report.reject("pay before its click (pay event dropped)", int(early.sum()))
    has_pay &= ~early
    has_refund = ~np.isnan(refund)
    refund_ts = np.floor(np.where(has_refund, refund, 0)).astype(np.int64)
    orphan = has_refund & ~has_pay
    report.reject("refund without a pay (refund event dropped)", int(orphan.sum()))
    before = has_refund & has_pay & (refund_ts < pay_ts)
    report.reject("refund before its pay (refund event dropped)", int(before.sum()))
    has_refund &= ~orphan & ~before

    arrays, features = _encode_features(feats, list(feats.columns), report)
    n = len(click_ts)
    click_id = np.arange(n, dtype=np.int64)
    user_id = _id_from_field(arrays, user_field, n, "user_field")
    item_id = _id_from_field(arrays, item_field, n, "item_field")
    spec = _spec(
        features,
        {
            "source": "cascade",
            "paper": "arXiv 2601.19965 (TESLA)",
            "licence": "Apache-2.0 per the Hugging Face card (alimamaTech/CASCADE)",
            "files": [str(f) for f in files],
            "ts_relative": relative,
            "ts_origin": int(origin) if relative else None,
            "conversion_window_s": 3 * DAY,
            "refund_window_s": 3 * DAY,
            "amounts_known": False,
            "ids": _cascade_ids_note(user_field, item_field),
            "ids_known": {"user": user_field is not None, "item": item_field is not None},
        },
    )
    clicks = clicks_table(click_id, click_ts, user_id, item_id, arrays, spec)
    events = concat_events(
        [
            events_table(click_id[has_pay], "pay", pay_ts[has_pay], np.zeros(int(has_pay.sum()))),
            events_table(
                click_id[has_refund],
                "refund",
                refund_ts[has_refund],
                np.zeros(int(has_refund.sum())),
            ),
        ]
    )
    return finish_log(clicks, events, spec, report)


def _cascade_ids_note(user_field: str | None, item_field: str | None) -> str:
    """How a CASCADE log's user / item ids were made (the release publishes none)."""
    if user_field is None and item_field is None:
        return "CASCADE publishes no user/item ids: user_id = item_id = 0"
    return "; ".join(
        f"{kind}_id from {field!r}" if field is not None else f"no {kind} ids: {kind}_id = 0"
        for kind, field in (("user", user_field), ("item", item_field))
    )


def _id_from_field(arrays: dict[str, pa.Array], field: str | None, n: int, arg: str) -> np.ndarray:
    if field is None:
        return np.zeros(n, dtype=np.int64)
    if field not in arrays:
        raise DatasetError(f"{arg}={field!r} is not one of the fields {sorted(arrays)}")
    column = arrays[field]
    if not pa.types.is_integer(column.type):
        raise DatasetError(f"{arg}={field!r} holds strings, not integer ids")
    return column.to_numpy(zero_copy_only=False).astype(np.int64)


# --------------------------------------------------------------------------------- TRACE
@register_loader(
    "trace",
    returns="eventlog",
    sample=None,
    description="TRACE (READER, arXiv 2601.20307): clicks with every purchase's time and amount",
    columns=TRACE_LABEL_COLUMNS,
)
def trace(
    path: str | Path, *, origin: int = TRACE_ORIGIN, sample: float | None = None,
    sample_seed: int = 0,
) -> EventLog:  # fmt: skip
    """Load the TRACE release (tab-separated with header) as clicks plus one pay event per
    purchase; ``sample`` (0 < f <= 1) keeps a seeded random share of the clicks while reading."""
    file = check_file(path, "trace")
    df = read_csv(
        file, sep="\t", dtype=str, dataset="trace", quoting=3, sample=sample,
        sample_seed=sample_seed,
    )  # fmt: skip
    first = pd.to_numeric(pd.Series(df.columns[:1], dtype=str), errors="coerce")
    if "click_time" not in df.columns and first.notna().all():  # the first line is data
        layout = headerless_layout_hint(len(df.columns))
        raise DatasetError(
            f"{file}: its first line is data, not TRACE's header (click_time, pay_time, "
            "dirpay_amt, ...)" + (f"; {layout}" if layout else "")
        )
    require_columns(df, ["click_time", "pay_time", "dirpay_amt"], file)
    report = report_of(df, file)
    feature_names = [c for c in df.columns if c not in TRACE_LABEL_COLUMNS]
    if len(feature_names) != CASCADE_N_FIELDS:
        report.note(f"{len(feature_names)} feature columns (the release has {CASCADE_N_FIELDS})")

    click = _seconds(df["click_time"], "click_time", file, df)
    keep = ~np.isnan(click) & (click >= 0)
    report.reject("click_time missing or negative", int((~keep).sum()))
    df = df.loc[keep]
    click = click[keep]

    pay_el = list_elements(df["pay_time"])
    amt_el = list_elements(df["dirpay_amt"])
    n_pay = pay_el.groupby(level=0).size().reindex(df.index, fill_value=0)
    n_amt = amt_el.groupby(level=0).size().reindex(df.index, fill_value=0)
    mismatch = (n_pay != n_amt).to_numpy()
    if mismatch.any():
        pos = int(np.flatnonzero(mismatch)[0])
        raise DatasetError(
            f"{file}: {row_label(df, pos)}: pay_time lists {int(n_pay.iloc[pos])} purchase(s) "
            f"but dirpay_amt lists {int(n_amt.iloc[pos])} ({int(mismatch.sum())} such row(s))"
        )
    if "total_counts" in df.columns:
        declared = pd.to_numeric(df["total_counts"], errors="coerce")
        differs = int((declared.notna() & (declared != n_pay)).sum())
        if differs:
            report.note(f"{differs} row(s) whose total_counts differs from len(pay_time)")

    pay_frame = pd.DataFrame({"t": pay_el.to_numpy(), "a": amt_el.to_numpy()}, index=pay_el.index)
    pay_frame.attrs.update(df.attrs)
    pay_frame.columns = ["pay_time", "dirpay_amt"]  # named as in the file, for its errors
    pay_t = to_float64(pay_frame, "pay_time", file)
    amount = to_float64(pay_frame, "dirpay_amt", file)
    row_pos = df.index.get_indexer(pay_el.index)

    valid = ~np.isnan(pay_t) & (pay_t >= 0)
    report.reject("purchase with a missing or negative pay time (dropped)", int((~valid).sum()))
    pay_t[~valid] = np.nan
    times = {"click": click, "pay": pay_t}
    rows = _Rows()
    rows.add(file, df)
    relative = _make_absolute(times, origin, report, "trace", rows, TRACE_MIX_HINT)
    click_ts = np.floor(click).astype(np.int64)
    _check_range(click_ts, "trace", "click", rows, origin if relative else None)
    pay_ts = np.floor(np.where(valid, pay_t, 0)).astype(np.int64)
    bad_amount = valid & ~(np.isfinite(amount) & (amount >= 0))
    report.reject("purchase with a missing or negative amount (dropped)", int(bad_amount.sum()))
    early = valid & (pay_ts < click_ts[row_pos])
    report.reject("purchase before its click (dropped)", int(early.sum()))
    ok = valid & ~bad_amount & ~early

    arrays, features = _encode_features(df, feature_names, report)
    n = len(click_ts)
    click_id = np.arange(n, dtype=np.int64)
    spec = _spec(
        features,
        {
            "source": "trace",
            "paper": "arXiv 2601.20307 (READER)",
            "licence": "Apache-2.0 per the Hugging Face card (alimamaTech/TRACE)",
            "ts_relative": relative,
            "ts_origin": int(origin) if relative else None,
            "amounts_known": True,
            "ids": "TRACE publishes no user/item ids: user_id = item_id = 0",
            "ids_known": {"user": False, "item": False},
        },
    )
    clicks = clicks_table(click_id, click_ts, 0, 0, arrays, spec)
    events = concat_events([events_table(click_id[row_pos[ok]], "pay", pay_ts[ok], amount[ok])])
    return finish_log(clicks, events, spec, report)


# ----------------------------------------------------------------------- Criteo conversion
@register_loader(
    "criteo_conversion",
    returns="eventlog",
    sample=None,
    description="Criteo conversion logs (Chapelle KDD 2014): clicks, delayed conversions",
)
def criteo_conversion(path: str | Path, *, origin: int = CRITEO_CONVERSION_ORIGIN) -> EventLog:
    """Load Chapelle's Criteo conversion log (data.txt) as clicks plus delayed pay events."""
    file = check_file(path, "criteo_conversion")
    df = read_csv(
        file,
        sep="\t",
        header=None,
        dtype={k: str for k in range(10, 19)},
        dataset="criteo_conversion",
        quoting=3,
    )
    if df.shape[1] != len(CRITEO_COLUMNS):
        layout = headerless_layout_hint(df.shape[1])
        hint = f": {layout}" if layout else ""
        raise DatasetError(
            f"{file}: expected {len(CRITEO_COLUMNS)} tab-separated columns (click time, "
            f"conversion time, 8 integer and 9 categorical features), found {df.shape[1]}{hint}"
        )
    df.columns = CRITEO_COLUMNS
    report = report_of(df, file)
    click = to_float64(df, "click_time", file)
    conv = to_float64(df, "conversion_time", file)
    keep = ~np.isnan(click) & (click >= 0)
    report.reject("click_time missing or negative", int((~keep).sum()))
    df, click, conv = df.loc[keep], click[keep], conv[keep]
    conv[conv < 0] = np.nan
    times = {"click": click, "pay": conv}
    rows = _Rows()
    rows.add(file, df)
    relative = _make_absolute(times, origin, report, "criteo_conversion", rows, CRITEO_MIX_HINT)
    click_ts = np.floor(click).astype(np.int64)
    _check_range(click_ts, "criteo_conversion", "click", rows, origin if relative else None)
    has_pay = ~np.isnan(conv)
    pay_ts = np.floor(np.where(has_pay, conv, 0)).astype(np.int64)
    early = has_pay & (pay_ts < click_ts)
    report.reject("conversion before its click (dropped)", int(early.sum()))
    has_pay &= ~early

    arrays: dict[str, pa.Array | np.ndarray] = {}
    features: list[Feature] = []
    for i in range(1, 9):
        name = f"int_{i}"
        arrays[name] = to_float64(df, name, file)
        features.append(Feature(name=name, kind="numeric"))
    cat_arrays, cat_features = _encode_features(
        df, [f"cat_{i}" for i in range(1, 10)], report, as_strings=True
    )
    arrays.update(cat_arrays)
    features += cat_features
    n = len(click_ts)
    click_id = np.arange(n, dtype=np.int64)
    spec = _spec(
        features,
        {
            "source": "criteo_conversion",
            "paper": "Chapelle, Modeling Delayed Feedback in Display Advertising, KDD 2014",
            "licence": "Criteo research terms (accept them when downloading)",
            "ts_relative": relative,
            "ts_origin": int(origin) if relative else None,
            "amounts_known": False,
            "missing_values": "int_* NaN where empty; cat_* '' where empty",
            "ids": "the log publishes no user/item ids: user_id = item_id = 0",
            "ids_known": {"user": False, "item": False},
        },
    )
    clicks = clicks_table(click_id, click_ts, 0, 0, arrays, spec)
    events = concat_events(
        [events_table(click_id[has_pay], "pay", pay_ts[has_pay], np.zeros(int(has_pay.sum())))]
    )
    return finish_log(clicks, events, spec, report)
