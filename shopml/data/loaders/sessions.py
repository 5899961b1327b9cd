"""Browsing-session logs: Diginetica (CIKM Cup 2016) and Taobao UserBehavior.

``diginetica`` - CIKM Cup 2016 personalised e-commerce search challenge, track 2
    (DIGINETICA), ``train-item-views.csv``: ``;``-separated with a header: session_id,
    user_id (``NA`` for anonymous sessions), item_id, timeframe, eventdate. Used by the
    session-based recommendation literature (e.g. SR-GNN, Wu et al. AAAI 2019). No licence is
    stated by the organisers: research use only. Mapping: every view is a clicks row in file
    order (``click_id`` = data row order). ``ts`` = ``eventdate`` (00:00 UTC) + ``timeframe``
    // 1000 - ``timeframe`` is the milliseconds since the session's first query, so ``ts`` is
    the session's day plus that offset, not a true wall-clock time. ``user_id`` is the
    registered user where given. A view without one (``NA``) in a session whose other views
    name exactly one registered user gets that user (the user logged in during the session;
    the real file has such sessions); otherwise - an anonymous session, or one naming several
    registered users (the real file has a few; their views keep their own ids) - it gets
    ``ANONYMOUS_USER_OFFSET + session_id``, which can never collide with a registered id. The
    counts are in the load report's notes. A negative session_id, user_id, item_id or
    timeframe is an error naming the first row (``-1`` is not read as "missing"). Features:
    ``session_id`` (categorical) and ``session_position`` (0-based rank of the view within
    its session by timeframe, numeric). The events table is empty (views only).

``taobao_userbehavior`` - Taobao UserBehavior (Zhu et al., "Learning Tree-based Deep Model
    for Recommender Systems", KDD 2018; Alibaba Tianchi dataset 649, Tianchi terms: research
    use). No header: user_id, item_id, category_id, behavior_type (pv / cart / fav / buy),
    unix timestamp. Mapping: ``pv`` rows are clicks (``click_id`` = pv order in the file);
    ``cart``, ``fav`` and ``buy`` become events ``cart``, ``fav`` and ``pay`` (amount 0.0 -
    the dataset has no prices) attached to the same user's most recent ``pv`` of the same
    item at or before that time (a pv in the same second counts as earlier). Behaviours
    with no such pv are counted per kind (``spec.meta["unattached"]`` and the load report),
    never silently lost. Rows with implausible timestamps (before 2000 or after 2100, which
    the real file has a few of) are rejected and counted; ``period=(start, end)`` restricts
    to a window (the official one is 2017-11-25 .. 2017-12-03, China time), also counted.
    Feature: ``category_id`` (categorical, vocab_size = max id + 1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from shopml.data.eventlog import EventLog
from shopml.data.loaders import DatasetError, register_loader
from shopml.data.loaders._common import (
    DATA_ROW,
    LoadReport,
    check_file,
    clicks_table,
    concat_events,
    events_table,
    finish_log,
    parse_timestamps,
    read_csv,
    read_csv_arrow,
    report_of,
    row_label,
    to_int64,
)
from shopml.data.schema import EVENTS_SCHEMA, MAX_TS, MIN_TS, Feature, FeatureSpec

DIGINETICA_COLUMNS = ["session_id", "user_id", "item_id", "timeframe", "eventdate"]
#: Anonymous Diginetica sessions get user_id = ANONYMOUS_USER_OFFSET + session_id.
ANONYMOUS_USER_OFFSET = 10**12
TAOBAO_COLUMNS = ["user_id", "item_id", "category_id", "behavior_type", "ts"]
#: Taobao behaviour -> event kind (pv rows are the clicks).
TAOBAO_EVENT_KINDS = {"cart": "cart", "fav": "fav", "buy": "pay"}
#: The official UserBehavior window, 2017-11-25 00:00 .. 2017-12-04 00:00 China time (UTC+8).
TAOBAO_OFFICIAL_PERIOD = (1_511_539_200, 1_512_316_800)


@register_loader(
    "diginetica",
    returns="eventlog",
    sample="diginetica/train-item-views-sample.csv",
    description="CIKM Cup 2016 (Diginetica) item views as clicks, session features",
    columns=DIGINETICA_COLUMNS,
)
def diginetica(path: str | Path) -> EventLog:
    """Load Diginetica item views (';'-separated) as a clicks-only event log."""
    file = check_file(path, "diginetica")
    df = read_csv(file, sep=";", required=DIGINETICA_COLUMNS, dataset="diginetica")
    report = report_of(df, file)
    session = _non_negative(df, "session_id", to_int64(df, "session_id", file), file)
    item = _non_negative(df, "item_id", to_int64(df, "item_id", file), file)
    missing = df["user_id"].isna().to_numpy()
    user = to_int64(df, "user_id", file, allow_missing=True)
    user = _non_negative(df, "user_id", np.where(missing, 0, user), file)
    timeframe = _non_negative(df, "timeframe", to_int64(df, "timeframe", file), file)
    day = parse_timestamps(df, "eventdate", file, fmt="%Y-%m-%d")
    ts = day + timeframe // 1000
    user = _session_users(session, user, missing, report)

    n = len(df)
    order = np.lexsort((np.arange(n), timeframe, session))
    first = np.ones(n, dtype=bool)
    first[1:] = session[order][1:] != session[order][:-1]
    start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    position = np.empty(n, dtype=np.float64)
    position[order] = np.arange(n) - start

    spec = FeatureSpec(
        features=[
            Feature(
                name="session_id", kind="categorical",
                vocab_size=int(session.max()) + 1 if n else 1, group="context",
            ),
            Feature(name="session_position", kind="numeric", group="context"),
        ],
        meta={
            "source": "diginetica",
            "paper": "CIKM Cup 2016 track 2 (DIGINETICA); see SR-GNN (Wu et al., AAAI 2019)",
            "licence": "no licence stated by the organisers; research use",
            "ts_note": "eventdate (UTC midnight) + timeframe ms // 1000: offset since the "
            "session's first query, not wall-clock time",
            "anonymous_user_id": f"user_id = {ANONYMOUS_USER_OFFSET} + session_id",
            "session_user": "a view without user_id in a session whose views name exactly one "
            "registered user gets that user; otherwise it is anonymous",
        },
    )  # fmt: skip
    clicks = clicks_table(
        np.arange(n, dtype=np.int64), ts, user, item,
        {"session_id": session, "session_position": position}, spec,
    )  # fmt: skip
    return finish_log(clicks, EVENTS_SCHEMA.empty_table(), spec, report)


def _non_negative(df: pd.DataFrame, column: str, values: np.ndarray, file: Path) -> np.ndarray:
    """`values` unchanged; DatasetError naming the first row and the count if any is negative."""
    negative = values < 0
    if negative.any():
        pos = int(np.flatnonzero(negative)[0])
        what = "millisecond offset" if column == "timeframe" else "id"
        raise DatasetError(
            f"{file}: {row_label(df, pos)}, column {column!r}: negative {what} "
            f"{int(values[pos])} ({int(negative.sum())} such row(s))"
            + ("; an anonymous session's user_id is NA" if column == "user_id" else "")
        )
    return values


def _session_users(
    session: np.ndarray, user: np.ndarray, missing: np.ndarray, report: LoadReport
) -> np.ndarray:
    """user_id per view: the registered user where given; for a view without one, the
    session's registered user when the session has exactly one, else the anonymous id
    ``ANONYMOUS_USER_OFFSET + session``. Counts go to the report's notes."""
    registered = pd.DataFrame({"session": session[~missing], "user": user[~missing]})
    registered = registered.drop_duplicates()
    n_users = registered.groupby("session")["user"].size()
    single = registered[registered["session"].map(n_users).to_numpy() == 1]
    owner = pd.Series(single["user"].to_numpy(), index=single["session"].to_numpy(), dtype="Int64")
    found = pd.Series(session[missing]).map(owner).to_numpy(dtype=np.int64, na_value=-1)
    filled = found >= 0  # registered ids are non-negative (checked)
    out = user.copy()
    out[missing] = np.where(filled, found, ANONYMOUS_USER_OFFSET + session[missing])
    anonymous = int((~filled).sum())
    report.note(f"{anonymous} views in anonymous sessions (user_id = offset + session)")
    if filled.any():
        sessions = np.unique(session[missing][filled])
        report.note(
            f"{int(filled.sum())} view(s) without user_id in {len(sessions)} session(s) of one "
            f"registered user were given that user (e.g. session(s) {sessions[:3].tolist()})"
        )
    several = n_users[n_users > 1]
    if len(several):
        first = int(several.index[0])
        users = sorted(registered.loc[registered["session"] == first, "user"].tolist())
        left = int(np.isin(session[missing], several.index.to_numpy()).sum())
        report.note(
            f"{len(several)} session(s) hold views of several registered users (e.g. session "
            f"{first}: users {users}): each view keeps its own user_id"
            + (f"; their {left} view(s) without one stay anonymous" if left else "")
        )
    return out


def _attach_to_last_view(
    user: np.ndarray, item: np.ndarray, ts: np.ndarray, is_view: np.ndarray
) -> np.ndarray:
    """For each row, the row index of the same (user, item)'s latest view at or before its ts
    (views sort before behaviours in the same second); -1 where there is none."""
    n = len(user)
    order = np.lexsort((~is_view, ts, item, user))
    u, i = user[order], item[order]
    pos = np.arange(n)
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = (u[1:] != u[:-1]) | (i[1:] != i[:-1])
    group_start = np.maximum.accumulate(np.where(new_group, pos, 0))
    last_view = np.maximum.accumulate(np.where(is_view[order], pos, -1))
    found = last_view >= group_start
    out = np.full(n, -1, dtype=np.int64)
    out[order[found]] = order[last_view[found]]
    return out


def _taobao_table(path: str | Path, *, row_numbers: bool = False) -> tuple[pa.Table, LoadReport]:
    """The Taobao file as a table and its report, rows with an empty field rejected."""
    types = {
        "user_id": pa.int64(),
        "item_id": pa.int64(),
        "category_id": pa.int64(),
        "behavior_type": pa.string(),
        "ts": pa.int64(),
    }
    table, report = read_csv_arrow(
        path,
        column_names=TAOBAO_COLUMNS,
        column_types=types,
        dataset="taobao_userbehavior",
        row_numbers=row_numbers,
    )
    missing = None
    for name in TAOBAO_COLUMNS:
        null = pc.is_null(table.column(name))
        missing = null if missing is None else pc.or_(missing, null)
    n_missing = int(pc.sum(missing).as_py() or 0)
    if n_missing:
        report.reject("a field is empty", n_missing)
        table = table.filter(pc.invert(missing))
    return table, report


@register_loader(
    "taobao_userbehavior",
    returns="eventlog",
    sample="taobao/UserBehavior-head.csv",
    description="Taobao UserBehavior: pv as clicks; cart/fav/buy attached to the last pv",
)
def taobao_userbehavior(path: str | Path, *, period: tuple[int, int] | None = None) -> EventLog:
    """Load Taobao UserBehavior (no header) as pv clicks with cart/fav/pay events attached."""
    table, report = _taobao_table(path)
    file = Path(report.path)

    # Dictionary-encode the behaviour strings: 100 M rows stay small int codes, not objects.
    encoded = pc.dictionary_encode(
        pc.utf8_trim_whitespace(table.column("behavior_type"))
    ).combine_chunks()
    labels = np.array(encoded.dictionary.to_pylist(), dtype=object)
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    unknown_labels = [v for v in labels if v not in ("pv", *TAOBAO_EVENT_KINDS)]
    if unknown_labels:
        # read again with file row numbers (blank, malformed and incomplete lines were dropped)
        numbered, _ = _taobao_table(path, row_numbers=True)
        trimmed = pc.utf8_trim_whitespace(numbered.column("behavior_type"))
        bad = pc.is_in(trimmed, value_set=pa.array(unknown_labels, pa.string()))
        bad = bad.to_numpy(zero_copy_only=False)
        pos = int(np.flatnonzero(bad)[0])
        row = int(numbered.column(DATA_ROW)[pos].as_py())
        raise DatasetError(
            f"{file}: data row {row}, column 'behavior_type' (4th field): "
            f"{trimmed[pos].as_py()!r} is not one of pv/cart/fav/buy ({int(bad.sum())} such "
            "row(s))"
        )
    behavior_code = {str(v): i for i, v in enumerate(labels)}
    ts = table.column("ts").to_numpy()
    keep = (ts >= MIN_TS) & (ts <= MAX_TS)
    report.reject("timestamp before 2000 or after 2100", int((~keep).sum()))
    if period is not None:
        inside = (ts >= period[0]) & (ts < period[1])
        report.reject(f"outside period {list(period)}", int((keep & ~inside).sum()))
        keep &= inside
    user = table.column("user_id").to_numpy()[keep]
    item = table.column("item_id").to_numpy()[keep]
    category = table.column("category_id").to_numpy()[keep]
    ts, codes = ts[keep], codes[keep]
    if (category < 0).any():
        raise DatasetError(f"{file}: column 'category_id': negative ids")

    is_view = codes == behavior_code.get("pv", -1)
    view_rows = np.flatnonzero(is_view)
    click_id_of_row = np.full(len(ts), -1, dtype=np.int64)
    click_id_of_row[view_rows] = np.arange(len(view_rows))
    anchor = _attach_to_last_view(user, item, ts, is_view)
    parts = []
    unattached: dict[str, int] = {}
    for raw, kind in TAOBAO_EVENT_KINDS.items():
        rows = np.flatnonzero(codes == behavior_code.get(raw, -1))
        attached = anchor[rows] >= 0
        unattached[kind] = int((~attached).sum())
        report.reject(f"{raw} with no earlier pv of the item (unattached)", unattached[kind])
        rows = rows[attached]
        amount = np.zeros(len(rows)) if kind == "pay" else None
        parts.append(events_table(click_id_of_row[anchor[rows]], kind, ts[rows], amount))

    n = len(view_rows)
    spec = FeatureSpec(
        features=[
            Feature(
                name="category_id", kind="categorical", group="item",
                vocab_size=int(category.max()) + 1 if len(category) else 1,
            )
        ],
        meta={
            "source": "taobao_userbehavior",
            "paper": "Zhu et al., Learning Tree-based Deep Model for Recommender Systems, KDD 2018",
            "licence": "Alibaba Tianchi dataset terms (research use)",
            "behaviour_kinds": {"pv": "click", **TAOBAO_EVENT_KINDS},
            "amounts_known": False,
            "unattached": unattached,
            "attach_rule": "same user and item, latest pv at or before the behaviour's second",
        },
    )  # fmt: skip
    clicks = clicks_table(
        np.arange(n, dtype=np.int64), ts[view_rows], user[view_rows], item[view_rows],
        {"category_id": category[view_rows]}, spec,
    )  # fmt: skip
    return finish_log(clicks, concat_events(parts), spec, report)
