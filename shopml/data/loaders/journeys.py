"""Customer journeys for attribution, and the Google Merchandise Store sessions file.

``attribution_journeys`` - the multi-touch attribution touchpoint file popular on Kaggle
    (``attribution_data.csv``: customer_id, time, interaction, conversion, conversion_value,
    channel; 5 channels, July 2018). Its origin is unverified and it may be simulated; no
    licence is stated. Mapping: ``customer_id`` strings -> int64 ``user_id`` by sorted order
    (``spec.meta["customer_ids"][user_id]`` gives the original id back); impressions ->
    ``touchpoints`` (user_id, ts, channel, campaign = ""); rows with ``conversion == 1`` ->
    ``conversions`` (user_id, ts, amount = conversion_value). The event-log layout needs a
    clicks table: one row per customer journey (``click_id`` = ``user_id``, ``ts`` = the
    journey's first timestamp, ``item_id`` = 0, no features) and an empty events table.

``google_merch_sessions`` - the Google Analytics 360 sample of the Google Merchandise Store
    (BigQuery public data ``google_analytics_sample``, Aug 2016 - Aug 2017), flattened to one
    row per hit (``all_sessions.csv``: fullVisitorId, channelGrouping, time, country, ...,
    date, visitId, type, product fields, revenue fields). Google sample data for
    demonstration. Returned as a ``pyarrow.Table`` with every column of the file plus:
    ``visitor_id_exact`` (False where ``fullVisitorId`` was mangled to scientific notation,
    e.g. ``2.81772E+18`` - only 6 significant digits survive, so such ids are *not* unique
    visitors; the column is kept as text exactly as in the file and never parsed as a
    number), ``ts`` = ``visitId`` (the session start, unix seconds) + ``time`` ms // 1000,
    and ``session_key`` = fullVisitorId text + "/" + visitId. Money columns (productPrice,
    productRevenue, totalTransactionRevenue, ...) are in micro-units (1e6 = 1 USD) as in
    GA360. The load report is in the table's schema metadata (read it with ``load_report(table)``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from shopml.data.eventlog import EventLog
from shopml.data.loaders import DatasetError, register_loader
from shopml.data.loaders._common import (
    attach_report,
    check_file,
    clicks_table,
    finish_log,
    parse_timestamps,
    read_csv,
    report_of,
    row_label,
    to_float64,
    to_int64,
)
from shopml.data.schema import (
    CONVERSIONS_SCHEMA,
    EVENTS_SCHEMA,
    TOUCHPOINTS_SCHEMA,
    FeatureSpec,
)

JOURNEY_COLUMNS = [
    "customer_id",
    "time",
    "interaction",
    "conversion",
    "conversion_value",
    "channel",
]
JOURNEY_INTERACTIONS = ("impression", "conversion")
MERCH_REQUIRED = ["fullVisitorId", "channelGrouping", "time", "date", "visitId"]


@register_loader(
    "attribution_journeys",
    returns="eventlog",
    sample="journeys/attribution_data_subset62k.csv",
    description="Multi-touch attribution journeys: impressions by channel, valued conversions",
    columns=JOURNEY_COLUMNS,
)
def attribution_journeys(path: str | Path) -> EventLog:
    """Load customer journeys as touchpoints + conversions (one clicks row per journey)."""
    file = check_file(path, "attribution_journeys")
    df = read_csv(file, required=JOURNEY_COLUMNS, dataset="attribution_journeys")
    report = report_of(df, file)
    if df.empty:
        raise DatasetError(f"{file}: no data rows (a header only)")
    repeated = int(df.duplicated().sum())
    if repeated:  # kept: with coarse times (a date only) two touches can be alike
        report.note(
            f"{repeated} row(s) repeat an earlier row exactly (kept; if the export doubled "
            "rows, drop them first)"
        )
    customer = df["customer_id"].astype("string").str.strip()
    no_id = (customer.isna() | (customer == "")).to_numpy()
    if no_id.any():
        pos = int(np.flatnonzero(no_id)[0])
        raise DatasetError(f"{file}: {row_label(df, pos)}, column 'customer_id': empty")
    ts = parse_timestamps(df, "time", file, report=report)
    interaction = df["interaction"].astype("string").str.strip().str.lower()
    unknown = ~interaction.isin(JOURNEY_INTERACTIONS).to_numpy()
    if unknown.any():
        pos = int(np.flatnonzero(unknown)[0])
        raise DatasetError(
            f"{file}: {row_label(df, pos)}, column 'interaction': {df['interaction'].iloc[pos]!r} "
            f"is not one of {list(JOURNEY_INTERACTIONS)} ({int(unknown.sum())} such row(s))"
        )
    converted = to_int64(df, "conversion", file)
    if not np.isin(converted, [0, 1]).all():
        pos = int(np.flatnonzero(~np.isin(converted, [0, 1]))[0])
        raise DatasetError(f"{file}: {row_label(df, pos)}, column 'conversion': expected 0 or 1")
    value = to_float64(df, "conversion_value", file)
    channel = df["channel"].astype("string").str.strip().fillna("")
    is_impression = (interaction == "impression").to_numpy()
    is_conversion = converted == 1
    disagree = is_conversion == is_impression
    if disagree.any():
        pos = int(np.flatnonzero(disagree)[0])
        raise DatasetError(
            f"{file}: {row_label(df, pos)}: interaction {df['interaction'].iloc[pos]!r} with "
            f"conversion {int(converted[pos])} ({int(disagree.sum())} such row(s)); a touch is a "
            "row with interaction 'impression' and conversion 0, a conversion a row of its own "
            "with interaction 'conversion' and conversion 1"
        )
    negative = is_conversion & (value < 0)
    report.reject("conversion with a negative conversion_value", int(negative.sum()))
    is_conversion &= ~negative
    no_value = is_conversion & ~np.isfinite(value)
    if no_value.any():
        report.note(
            f"{int(no_value.sum())} conversion(s) without a conversion_value, kept with value 0 "
            "(they count in conversion credit, not in value credit)"
        )
        value = np.where(no_value, 0.0, value)
    no_channel = is_impression & (channel == "").to_numpy()
    report.reject("impression without a channel", int(no_channel.sum()))
    is_impression &= ~no_channel

    codes, customers = pd.factorize(customer.to_numpy(dtype=object), sort=True)
    user = codes.astype(np.int64)
    n_users = len(customers)
    first_ts = np.full(n_users, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_ts, user, ts)

    touch = np.flatnonzero(is_impression)
    touch = touch[np.lexsort((ts[touch], user[touch]))]
    touchpoints = pa.Table.from_arrays(
        [
            pa.array(user[touch]),
            pa.array(ts[touch]),
            pa.array(channel.to_numpy(dtype=object)[touch], pa.string()),
            pa.array(np.full(len(touch), "", dtype=object), pa.string()),
        ],
        schema=TOUCHPOINTS_SCHEMA,
    )
    conv = np.flatnonzero(is_conversion)
    conv = conv[np.lexsort((ts[conv], user[conv]))]
    conversions = pa.Table.from_arrays(
        [pa.array(user[conv]), pa.array(ts[conv]), pa.array(value[conv])],
        schema=CONVERSIONS_SCHEMA,
    )
    spec = FeatureSpec(
        meta={
            "source": "attribution_journeys",
            "licence": "popular Kaggle file of unverified origin (may be simulated); no licence",
            "customer_ids": [str(c) for c in customers],
            "clicks": "one row per customer journey: click_id = user_id, ts = first timestamp",
            "channels": sorted(set(channel.to_numpy(dtype=object)[touch].tolist())),
        }
    )
    ids = np.arange(n_users, dtype=np.int64)
    clicks = clicks_table(ids, first_ts, ids, 0, {}, spec)
    return finish_log(
        clicks,
        EVENTS_SCHEMA.empty_table(),
        spec,
        report,
        touchpoints=touchpoints,
        conversions=conversions,
    )


@register_loader(
    "google_merch_sessions",
    returns="table",
    sample="journeys/google_merch_store_all_sessions.csv",
    description="Google Merchandise Store GA360 sample, one row per hit (all_sessions.csv)",
    columns=MERCH_REQUIRED,
)
def google_merch_sessions(path: str | Path) -> pa.Table:
    """Load the Google Merchandise Store sessions file as an Arrow table (visitor ids kept as text)."""
    file = check_file(path, "google_merch_sessions")
    df = read_csv(
        file,
        required=MERCH_REQUIRED,
        dtype={"fullVisitorId": str, "transactionId": str, "productSKU": str},
        dataset="google_merch_sessions",
        low_memory=False,
    )
    report = report_of(df, file)
    visitor = df["fullVisitorId"].astype("string").str.strip()
    missing = visitor.isna().to_numpy()
    if missing.any():
        pos = int(np.flatnonzero(missing)[0])
        raise DatasetError(f"{file}: {row_label(df, pos)}, column 'fullVisitorId': empty")
    exact = visitor.str.fullmatch(r"\d+").to_numpy(dtype=bool)
    if (~exact).any():
        report.note(
            f"{int((~exact).sum())} fullVisitorId value(s) in scientific notation (precision "
            "lost; kept as text, not unique visitors)"
        )
    visit_id = to_int64(df, "visitId", file)
    hit_ms = to_int64(df, "time", file)
    parse_timestamps(df, "date", file, fmt="%Y%m%d")  # validates the YYYYMMDD dates
    out = df.reset_index(drop=True)
    out.attrs = {}
    out["fullVisitorId"] = visitor.to_numpy(dtype=object)
    out["visitor_id_exact"] = exact
    out["ts"] = visit_id + hit_ms // 1000
    out["session_key"] = (visitor + "/" + df["visitId"].astype("string")).to_numpy(dtype=object)
    bad_ts = int(((out["ts"] < 946_684_800) | (out["ts"] > 4_102_444_800)).sum())
    if bad_ts:
        report.note(f"{bad_ts} row(s) whose visitId is not a plausible unix time")
    try:
        table = pa.Table.from_pandas(out, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise DatasetError(f"{file}: cannot convert to Arrow: {exc}") from exc
    table = attach_report(table, report, "google_merch_sessions")
    meta = dict(table.schema.metadata or {})
    meta.pop(b"pandas", None)
    meta[b"money_units"] = b"micro-units (1e6 = 1 USD)"
    return table.replace_schema_metadata(meta)
