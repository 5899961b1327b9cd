"""Uplift (treatment-effect) datasets: Hillstrom's e-mail campaign and Criteo uplift v2.1.

``hillstrom`` - Kevin Hillstrom's MineThatData E-Mail Analytics challenge (2008): 64,000
    customers randomly sent a men's e-mail, a women's e-mail or none, with visit, conversion
    and spend recorded over the two following weeks. Released publicly by its author for
    analysis; the CSV has 12 columns (recency, history_segment, history, mens, womens,
    zip_code, newbie, channel, segment, visit, conversion, spend). Mapping: one clicks row per
    customer (``click_id`` = ``user_id`` = data row number, ``item_id`` = 0, ``ts`` = a
    nominal campaign start - the file has no dates), ``treatment`` 0 = "No E-Mail", 1 =
    "Mens E-Mail", 2 = "Womens E-Mail" (``spec.meta["treatment_arms"]``), ``exposure`` = 1;
    events ``visit`` at start + 1 s, ``conversion`` at start + 2 s and ``pay`` (amount =
    spend) at start + 2 s for converters. Features: recency, history numeric;
    history_segment, zip_code, channel categorical strings (a blank value becomes the category
    ``"<missing>"``, counted per column in the load report's notes); mens, womens, newbie
    categorical 0/1. ``spend > 0`` without a conversion is kept without a pay event and
    noted (count, first row, the spend left out), not counted as a rejection.
    :func:`hillstrom_frame` gives the sklearn-style view (X, treatment, visit, conversion,
    spend); its one-hot columns are the documented categories (``HILLSTROM_CATEGORIES``),
    whichever of them a file holds, so every Hillstrom file gives the same columns (a blank
    value: all zeros in that feature's columns; a value outside the list: an error).

``criteo_uplift`` - Criteo Uplift Modeling dataset v2.1 (Diemert et al., "A Large Scale
    Benchmark for Uplift Modeling", AdKDD 2018; CC BY-NC-SA 4.0, non-commercial): 13.9 M rows
    of f0..f11 (dense floats), treatment, conversion, visit, exposure. Read with
    ``pyarrow.csv`` (multi-threaded, ``.gz`` accepted) so the full file loads in seconds.
    Mapping as for hillstrom: one clicks row per row (``ts`` = a nominal start), treatment
    0 = control / 1 = treated, exposure as given, f0..f11 numeric features, events ``visit``
    (start + 1 s) and ``conversion`` (start + 2 s); no amounts in this dataset, so no pay
    events. Malformed lines (wrong field count) are skipped and counted (a last line cut
    short is refused: the file was cut); blank lines dropped
    and counted; rows missing a label column rejected and counted; blank feature values kept
    as missing (NaN) and counted per column in the load report's notes.
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
    categorical_feature,
    check_file,
    clicks_table,
    concat_events,
    events_table,
    finish_log,
    read_csv,
    read_csv_arrow,
    report_of,
    row_label,
    to_float64,
    to_int64,
)
from shopml.data.schema import Feature, FeatureSpec

#: Nominal campaign start for Hillstrom (the file carries no dates): 2008-03-01 00:00 UTC.
HILLSTROM_START = 1_204_329_600
#: Nominal start for Criteo uplift v2.1 (no dates published): 2018-01-01 00:00 UTC.
CRITEO_UPLIFT_START = 1_514_764_800
HILLSTROM_ARMS = {"No E-Mail": 0, "Mens E-Mail": 1, "Womens E-Mail": 2}
HILLSTROM_COLUMNS = [
    "recency",
    "history_segment",
    "history",
    "mens",
    "womens",
    "zip_code",
    "newbie",
    "channel",
    "segment",
    "visit",
    "conversion",
    "spend",
]
HILLSTROM_STRING_FEATURES = ["history_segment", "zip_code", "channel"]
#: the documented categories of Hillstrom's string features (the data set's own spelling,
#: "Surburban" included), in the sorted order their one-hot columns take
HILLSTROM_CATEGORIES = {
    "history_segment": [
        "1) $0 - $100", "2) $100 - $200", "3) $200 - $350", "4) $350 - $500",
        "5) $500 - $750", "6) $750 - $1,000", "7) $1,000 +",
    ],
    "zip_code": ["Rural", "Surburban", "Urban"],
    "channel": ["Multichannel", "Phone", "Web"],
}  # fmt: skip
#: the category a blank value of a string feature becomes (Hillstrom, uplift features)
MISSING_CATEGORY = "<missing>"
HILLSTROM_FLAG_FEATURES = ["mens", "womens", "newbie"]
HILLSTROM_NUMERIC_FEATURES = ["recency", "history"]
CRITEO_UPLIFT_FEATURES = [f"f{i}" for i in range(12)]
CRITEO_UPLIFT_LABELS = ["treatment", "conversion", "visit", "exposure"]


def _customer_rows_meta() -> dict:
    """Meta of both data sets (a fresh dict per log): one row per customer, no products, no
    dates, so data_stats reports no items, durations or delays."""
    return {
        "ids": "one row per customer, no products: user_id = row number, item_id = 0",
        "ids_known": {"user": True, "item": False},
        "times_known": False,
    }


def _binary(df: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    values = to_int64(df, column, path)
    bad = (values != 0) & (values != 1)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise DatasetError(
            f"{path}: {row_label(df, pos)}, column {column!r}: expected 0 or 1, got "
            f"{df[column].iloc[pos]!r} ({int(bad.sum())} such row(s))"
        )
    return values


def _read_hillstrom(path: str | Path) -> tuple[pd.DataFrame, Path]:
    file = check_file(path, "hillstrom")
    df = read_csv(file, required=HILLSTROM_COLUMNS, dataset="hillstrom")
    return df, file


def _hillstrom_treatment(df: pd.DataFrame, file: Path) -> np.ndarray:
    segment = df["segment"].astype("string").str.strip()
    arm = segment.map(HILLSTROM_ARMS)
    bad = arm.isna().to_numpy()
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise DatasetError(
            f"{file}: {row_label(df, pos)}, column 'segment': {df['segment'].iloc[pos]!r} is "
            f"not one of {list(HILLSTROM_ARMS)} ({int(bad.sum())} such row(s))"
        )
    return arm.to_numpy(dtype=np.int64)


@register_loader(
    "hillstrom",
    returns="eventlog",
    sample="hillstrom/hillstrom.csv",
    description="Hillstrom MineThatData e-mail campaign: 3 arms, visit/conversion/spend",
    columns=HILLSTROM_COLUMNS,
)
def hillstrom(path: str | Path, *, start: int = HILLSTROM_START) -> EventLog:
    """Load Hillstrom's e-mail campaign as one click per customer with visit/conversion/pay events."""
    df, file = _read_hillstrom(path)
    report = report_of(df, file)
    treatment = _hillstrom_treatment(df, file)
    visit = _binary(df, "visit", file)
    conversion = _binary(df, "conversion", file)
    spend = to_float64(df, "spend", file, allow_missing=False)
    if (spend < 0).any():
        pos = int(np.flatnonzero(spend < 0)[0])
        raise DatasetError(f"{file}: {row_label(df, pos)}, column 'spend': negative spend")
    unconverted = (spend > 0) & (conversion == 0)
    if unconverted.any():  # the row is kept (rows in = rows out): a note, not a rejection
        report.note(
            f"{int(unconverted.sum())} row(s) with spend > 0 but no conversion (e.g. "
            f"{row_label(df, int(np.flatnonzero(unconverted)[0]))}): kept without a pay event, "
            f"so their spend ({spend[unconverted].sum():.2f} in all) is not in the log's events"
        )
    unvisited = int(((conversion == 1) & (visit == 0)).sum())
    if unvisited:
        report.note(f"{unvisited} conversion(s) without a visit (kept as given)")

    arrays: dict[str, pa.Array | np.ndarray] = {}
    features: list[Feature] = []
    for name in HILLSTROM_NUMERIC_FEATURES:
        arrays[name] = to_float64(df, name, file, allow_missing=False)
        features.append(Feature(name=name, kind="numeric", group="user"))
    for name in HILLSTROM_STRING_FEATURES:
        values = df[name].astype("string").str.strip()
        blank = (values.isna() | (values == "")).to_numpy()
        if blank.any():
            report.note(f"{name}: {int(blank.sum())} blank value(s), category {MISSING_CATEGORY!r}")
            values = values.mask(blank, MISSING_CATEGORY)
        arrays[name], feature = categorical_feature(
            values, name, report, group="user", as_strings=True
        )
        features.append(feature)
    for name in HILLSTROM_FLAG_FEATURES:
        arrays[name] = _binary(df, name, file)
        features.append(Feature(name=name, kind="categorical", vocab_size=2, group="user"))

    n = len(df)
    ids = np.arange(n, dtype=np.int64)
    spec = FeatureSpec(
        features=features,
        meta={
            "source": "hillstrom",
            "paper": "Hillstrom, MineThatData E-Mail Analytics and Data Mining Challenge (2008)",
            "licence": "released publicly by K. Hillstrom for analysis",
            "treatment_arms": {str(v): k for k, v in HILLSTROM_ARMS.items()},
            "campaign_start": int(start),
            "ts_note": "nominal: the file has no dates; outcomes cover the 2 weeks after the e-mail",
            **_customer_rows_meta(),
            "amounts_known": True,
        },
    )
    clicks = clicks_table(
        ids, np.full(n, start), ids, 0, arrays, spec, treatment=treatment,
        exposure=np.ones(n, dtype=np.int8),
    )  # fmt: skip
    converted = conversion == 1
    events = concat_events(
        [
            events_table(ids[visit == 1], "visit", np.full(int((visit == 1).sum()), start + 1)),
            events_table(ids[converted], "conversion", np.full(int(converted.sum()), start + 2)),
            events_table(
                ids[converted], "pay", np.full(int(converted.sum()), start + 2), spend[converted]
            ),
        ]
    )
    return finish_log(clicks, events, spec, report)


def hillstrom_frame(
    path: str | Path | None = None, *, one_hot: bool = True
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hillstrom as (X, treatment, visit, conversion, spend) for sklearn-style uplift models."""
    if path is None:
        from shopml.data.samples import sample_path

        path = sample_path("hillstrom/hillstrom.csv")
    df, file = _read_hillstrom(path)
    treatment = _hillstrom_treatment(df, file)
    visit = _binary(df, "visit", file)
    conversion = _binary(df, "conversion", file)
    spend = to_float64(df, "spend", file, allow_missing=False)
    X = pd.DataFrame(index=pd.RangeIndex(len(df)))
    for name in HILLSTROM_NUMERIC_FEATURES:
        X[name] = to_float64(df, name, file, allow_missing=False)
    for name in HILLSTROM_FLAG_FEATURES:
        X[name] = _binary(df, name, file)
    for name in HILLSTROM_STRING_FEATURES:
        values = df[name].astype("string").str.strip()
        known = values.isna() | (values == "") | values.isin(HILLSTROM_CATEGORIES[name])
        if not known.all():
            pos = int(np.flatnonzero(~known.to_numpy())[0])
            raise DatasetError(
                f"{file}: {row_label(df, pos)}, column {name!r}: {df[name].iloc[pos]!r} is not "
                f"one of Hillstrom's categories {HILLSTROM_CATEGORIES[name]}"
            )
        X[name] = pd.Categorical(values.to_numpy(), categories=HILLSTROM_CATEGORIES[name])
    if one_hot:
        X = pd.get_dummies(X, columns=HILLSTROM_STRING_FEATURES, dtype=np.float64)
    return X, treatment, visit, conversion, spend


# ------------------------------------------------------------------------- Criteo uplift
@register_loader(
    "criteo_uplift",
    returns="eventlog",
    sample="criteo_uplift/criteo-uplift-v2.1-head1000.csv",
    description="Criteo uplift v2.1: f0..f11, treatment, exposure, visit/conversion",
    columns=CRITEO_UPLIFT_FEATURES + CRITEO_UPLIFT_LABELS,
)
def criteo_uplift(path: str | Path, *, start: int = CRITEO_UPLIFT_START) -> EventLog:
    """Load Criteo uplift v2.1 (CSV or CSV.gz) with pyarrow as clicks plus visit/conversion events."""
    types = {c: pa.float64() for c in CRITEO_UPLIFT_FEATURES}
    types.update({c: pa.int64() for c in CRITEO_UPLIFT_LABELS})
    table, report = read_csv_arrow(
        path,
        column_types=types,
        required=CRITEO_UPLIFT_FEATURES + CRITEO_UPLIFT_LABELS,
        include_columns=CRITEO_UPLIFT_FEATURES + CRITEO_UPLIFT_LABELS,
        dataset="criteo_uplift",
        row_numbers=True,
    )
    file = Path(report.path)
    incomplete = None
    for c in CRITEO_UPLIFT_LABELS:
        missing = pc.is_null(table.column(c))
        incomplete = missing if incomplete is None else pc.or_(incomplete, missing)
    n_incomplete = int(pc.sum(incomplete).as_py() or 0)
    if n_incomplete:
        report.reject("missing treatment/conversion/visit/exposure", n_incomplete)
        table = table.filter(pc.invert(incomplete))
    blank = {c: table.column(c).null_count for c in CRITEO_UPLIFT_FEATURES}
    for c, count in blank.items():
        if count:
            report.note(f"{c}: {count} blank value(s), kept as missing (NaN)")
    labels = {c: table.column(c).to_numpy() for c in CRITEO_UPLIFT_LABELS}
    for c, values in labels.items():
        bad = (values != 0) & (values != 1)
        if bad.any():
            row = int(table.column(DATA_ROW)[int(np.flatnonzero(bad)[0])].as_py())
            raise DatasetError(
                f"{file}: column {c!r}: expected 0 or 1, found {int(values[bad][0])} "
                f"({int(bad.sum())} such row(s), first at data row {row} (line {row + 1}))"
            )

    n = table.num_rows
    ids = np.arange(n, dtype=np.int64)
    features = [Feature(name=c, kind="numeric") for c in CRITEO_UPLIFT_FEATURES]
    spec = FeatureSpec(
        features=features,
        meta={
            "source": "criteo_uplift",
            "paper": "Diemert et al., A Large Scale Benchmark for Uplift Modeling, AdKDD 2018",
            "licence": "CC BY-NC-SA 4.0 (Criteo); non-commercial use only",
            "treatment_arms": {"0": "control", "1": "treated"},
            "campaign_start": int(start),
            "ts_note": "nominal: the dataset has no dates",
            **_customer_rows_meta(),
            "amounts_known": False,
        },
    )
    arrays = {c: table.column(c).combine_chunks() for c in CRITEO_UPLIFT_FEATURES}
    clicks = clicks_table(
        ids, np.full(n, start), ids, 0, arrays, spec,
        treatment=labels["treatment"], exposure=labels["exposure"].astype(np.int8),
    )  # fmt: skip
    visited = labels["visit"] == 1
    converted = labels["conversion"] == 1
    events = concat_events(
        [
            events_table(ids[visited], "visit", np.full(int(visited.sum()), start + 1)),
            events_table(ids[converted], "conversion", np.full(int(converted.sum()), start + 2)),
        ]
    )
    unvisited = int((converted & ~visited).sum())
    if unvisited:
        report.note(f"{unvisited} conversion(s) without a visit (kept as given)")
    return finish_log(clicks, events, spec, report)
