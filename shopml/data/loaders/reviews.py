"""Review and fit-feedback tables: Amazon Fashion reviews, ModCloth and RentTheRunway.

``amazon_fashion`` - Amazon review data, 2018 release, "AMAZON_FASHION" 5-core (J. Ni,
    J. Li, J. McAuley, "Justifying recommendations using distantly-labeled reviews and
    fine-grained aspects", EMNLP 2019; nijianmo.github.io/amazon). Research use only. The
    official file is JSON lines; the sample copy is pretty-printed *concatenated* JSON
    objects. :func:`read_json_objects` reads both (and .gz).
``modcloth``, ``renttherunway`` - clothing fit feedback from ModCloth and RentTheRunway
    (R. Misra, M. Wan, J. McAuley, "Decomposing fit semantics for product size
    recommendation in metric spaces", RecSys 2018). Research use only; the samples are the
    first 100 rows of each (fixtures only). JSON lines.

Every loader returns a ``pyarrow.Table`` whose schema metadata carries the load report
(``b"shopml_load_report"``; read it with :func:`shopml.data.loaders.catalogs.load_report`).
A JSON object that does not parse raises :class:`DatasetError` naming the file, line,
column and byte offset. Rows missing a required value are rejected and counted; optional
values that do not parse become null and are counted (``values_nulled``).

Fit-data normalisation (both fit datasets):

* ``fit``: small / fit / large. Accepted spellings: "small", "too small", "runs small" ->
  small; "fit", "true to size", "just right", "perfect" -> fit; "large", "big", "too big",
  "too large", "runs large" -> large (case-insensitive); anything else -> null, counted.
* ``height_cm``: "5ft 6in", ``5' 6"``, "5'6", "5 ft", "66in", "168cm" -> centimetres
  (1 in = 2.54 cm).
* ``weight_kg``: "137lbs", "137 lb", "137" (unit-less values are pounds, as in the US
  sources), "62kg" -> kilograms (1 lb = 0.45359237 kg).
* Bust: RentTheRunway ``bust size`` "34d", "34ddd/e", "34d+" and ModCloth ``bra size`` +
  ``cup size`` -> ``bust_size`` (band + cup, lower case), ``bra_band`` int64 and
  ``cup_size`` text.
* ``size`` int64 (the datasets' own size scale); ModCloth ``bust``, ``waist``, ``hips``
  (inches) -> ``bust_in``, ``waist_in``, ``hips_in`` float64; ``shoe size`` -> float64.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from shopml.data.loaders import DatasetError, register_loader
from shopml.data.loaders._common import check_file
from shopml.data.loaders.catalogs import (
    WHERE,
    Report,
    finish_table,
    float_array,
    int_array,
    numeric_column,
    reject_rows,
    snake_case,
    text_array,
)
from shopml.data.schema import MAX_TS, MIN_TS

__all__ = [
    "FIT_LABELS",
    "amazon_fashion",
    "bust_parts",
    "height_cm",
    "modcloth",
    "normalise_fit",
    "read_json_objects",
    "renttherunway",
    "weight_kg",
]

_WS = re.compile(r"\s*")


# ====================================================================== JSON objects
def _position(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    offset = len(text[:pos].encode("utf-8"))
    return f"line {line}, column {col} (byte offset {offset})"


def read_json_objects(
    path: str | Path, dataset: str = ""
) -> tuple[list[dict[str, Any]], list[int]]:
    """All JSON objects of a file: JSON lines, pretty-printed or concatenated objects, or a
    top-level array (.gz transparent); also the line each object starts on.

    DatasetError names the file, line, column and byte offset of a JSON error (e.g. a
    truncated last object) and of anything that is not an object.
    """
    p = check_file(path, dataset)
    try:
        raw = p.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        text = raw.decode("utf-8-sig")
    except (OSError, EOFError) as exc:
        raise DatasetError(f"{p}: cannot read: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{p}: not UTF-8 text (byte offset {exc.start}): {exc.reason}") from exc
    decoder = json.JSONDecoder()
    objects: list[dict[str, Any]] = []
    starts: list[int] = []
    pos = _WS.match(text, 0).end()
    if text[pos : pos + 1] == "[":  # a single JSON array of objects
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DatasetError(
                f"{p}: invalid JSON at {_position(text, exc.pos)}: {exc.msg}"
            ) from exc
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise DatasetError(f"{p}: top-level array must hold only JSON objects")
        return value, [1] * len(value)
    end = len(text)
    line = 1
    last = 0
    while pos < end:
        line += text.count("\n", last, pos)
        last = pos
        try:
            obj, nxt = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise DatasetError(
                f"{p}: object #{len(objects) + 1} starting at line {line} does not parse: "
                f"{exc.msg} at {_position(text, exc.pos)}"
            ) from exc
        if not isinstance(obj, dict):
            raise DatasetError(
                f"{p}: expected a JSON object at {_position(text, pos)}, got {type(obj).__name__}"
            )
        objects.append(obj)
        starts.append(line)
        pos = _WS.match(text, nxt).end()
    return objects, starts


def _frame(objects: list[dict[str, Any]], starts: list[int], path: Path) -> pd.DataFrame:
    df = pd.DataFrame.from_records(objects)
    df[WHERE] = [f"{path.name} object #{i + 1} (line {s})" for i, s in enumerate(starts)]
    return df


def _require_keys(df: pd.DataFrame, keys: list[str], path: Path) -> None:
    missing = [k for k in keys if k not in df.columns]
    if missing:
        found = [c for c in df.columns if c != WHERE]
        raise DatasetError(f"{path}: no object has the required key(s) {missing}; found {found}")


def _reject_missing(df: pd.DataFrame, keys: list[str], report: Report) -> pd.DataFrame:
    for key in keys:
        s = df[key]
        missing = (
            s.isna().to_numpy() | s.astype("string").str.strip().eq("").fillna(True).to_numpy()
        )
        df = reject_rows(df, missing, f"missing {key}", report)
    return df


def _int_ids(df: pd.DataFrame, key: str, report: Report) -> tuple[pd.DataFrame, np.ndarray]:
    """Reject rows whose `key` is not an integer; the int64 ids of the rest."""
    num = pd.to_numeric(df[key].astype("string").str.strip(), errors="coerce").astype("Float64")
    values = num.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.isnan(values) | (np.nan_to_num(values) % 1 != 0)
    df = reject_rows(df, bad, f"{key} is not an integer", report)
    return df, values[~bad].astype(np.int64)


def _dates(df: pd.DataFrame, column: str, report: Report, name: str) -> pa.Array:
    raw = df[column].astype("string").str.strip()
    parsed = pd.to_datetime(raw, errors="coerce", utc=True, format="mixed")
    bad = parsed.isna().to_numpy() & raw.notna().to_numpy()
    report.null(name, int(bad.sum()))
    secs = parsed.to_numpy(dtype="datetime64[s]", na_value=np.datetime64("NaT")).astype(np.int64)
    return int_array(secs, parsed.isna().to_numpy())


# ====================================================================== amazon_fashion
AMAZON_REVIEW_KEYS = ["asin", "reviewerID", "overall"]


@register_loader(
    "amazon_fashion",
    returns="table",
    sample="amazon_fashion/AMAZON_FASHION_5.json",
    description="Amazon Fashion 5-core reviews (2018 release): ratings, text, size/colour",
)
def amazon_fashion(path: str | Path) -> pa.Table:
    """Amazon review file (JSON lines or concatenated pretty-printed objects) as a table.

    Mapping: ``asin``; ``reviewerID`` -> ``reviewer_id``; ``overall`` -> ``rating``
    float64; ``summary``; ``reviewText`` -> ``review_text``; ``unixReviewTime`` -> ``ts``
    int64 (``reviewTime`` "09 4, 2015" where it is missing); ``verified`` bool; ``vote``
    "1,234" -> int64 (null when absent); ``image`` -> ``image_urls`` list; ``style`` dict ->
    one column per key, named from the key ("Size:" -> ``size``, "Color:" -> ``color``,
    "Size Name:" -> ``size_name``; values stripped); ``size`` and ``color`` are always
    present. ``reviewerName`` is left out (personal data). Objects missing asin, reviewerID
    or overall are rejected and counted.
    """
    p = check_file(path, "amazon_fashion")
    objects, starts = read_json_objects(p, "amazon_fashion")
    report = Report(path=str(p), encoding="utf-8", rows_read=len(objects))
    df = _frame(objects, starts, p)
    _require_keys(df, AMAZON_REVIEW_KEYS, p)
    df = _reject_missing(df, AMAZON_REVIEW_KEYS, report)
    rating = pd.to_numeric(df["overall"], errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    df = reject_rows(df, np.isnan(rating), "unparsable overall", report)
    rating = rating[~np.isnan(rating)]
    df = reject_rows(df, (rating < 1) | (rating > 5), "overall outside 1..5 stars", report)

    columns: dict[str, Any] = {
        "asin": text_array(df["asin"]),
        "reviewer_id": text_array(df["reviewerID"]),
        "rating": numeric_column(df, "overall", report, name="rating"),
        "summary": text_array(df["summary"]) if "summary" in df else None,
        "review_text": text_array(df["reviewText"]) if "reviewText" in df else None,
    }
    ts = None
    if "unixReviewTime" in df:
        unix = pd.to_numeric(df["unixReviewTime"], errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
        ts = unix
    if "reviewTime" in df:
        parsed = pd.to_datetime(df["reviewTime"], errors="coerce", format="%m %d, %Y", utc=True)
        secs = parsed.to_numpy(dtype="datetime64[s]", na_value=np.datetime64("NaT"))
        fallback = np.where(parsed.isna().to_numpy(), np.nan, secs.astype(np.int64))
        ts = fallback if ts is None else np.where(np.isnan(ts), fallback, ts)
    if ts is not None:
        report.null("ts", int(np.isnan(ts).sum()))
        impossible = ~np.isnan(ts) & ((ts < MIN_TS) | (ts > MAX_TS))
        if impossible.any():  # e.g. milliseconds, or a year 3000: kept as the row, time nulled
            report.null("ts (outside 2000..2100: milliseconds?)", int(impossible.sum()))
            ts = np.where(impossible, np.nan, ts)
        columns["ts"] = int_array(np.nan_to_num(ts), np.isnan(ts))
    if "verified" in df:
        flag = df["verified"].map({True: True, False: False, "true": True, "false": False})
        columns["verified"] = pa.array(flag.to_numpy(dtype=object, na_value=None), type=pa.bool_())
    if "vote" in df:
        columns["vote"] = numeric_column(df, "vote", report, integer=True)
    else:
        columns["vote"] = pa.nulls(len(df), pa.int64())
    if "image" in df:
        images = [v if isinstance(v, list) else None for v in df["image"].to_numpy(dtype=object)]
        columns["image_urls"] = pa.array(images, type=pa.list_(pa.string()))
    styles = df["style"] if "style" in df else pd.Series([None] * len(df), index=df.index)
    bad_style = int(sum(1 for v in styles if v is not None and not isinstance(v, (dict, float))))
    report.null("style", bad_style)
    style = pd.DataFrame.from_records(
        [v if isinstance(v, dict) else {} for v in styles.to_numpy(dtype=object)]
    )
    style.columns = [snake_case(str(c).rstrip(":")) for c in style.columns]
    style = style.T.groupby(level=0).first().T if style.columns.duplicated().any() else style
    for name in ("size", "color"):
        if name not in style.columns:
            style[name] = None
    for name in style.columns:
        if name not in columns:
            columns[name] = text_array(style[name].reindex(range(len(df))).to_numpy(dtype=object))
    columns = {k: v for k, v in columns.items() if v is not None}
    return finish_table(columns, report, "amazon_fashion", p, catalog=False)


# ====================================================================== fit normalisation
FIT_LABELS = {
    "small": "small",
    "too small": "small",
    "runs small": "small",
    "fit": "fit",
    "true to size": "fit",
    "just right": "fit",
    "perfect": "fit",
    "large": "large",
    "big": "large",
    "too big": "large",
    "too large": "large",
    "runs large": "large",
}
_FT_IN = re.compile(
    r"^\s*(?P<ft>\d+(?:\.\d+)?)\s*(?:ft|feet|foot|')\s*"
    r"(?:(?P<inch>\d+(?:\.\d+)?)\s*(?:in|inch|inches|\"|'')?)?\s*$",
    re.IGNORECASE,
)
_INCHES = re.compile(r"^\s*(?P<inch>\d+(?:\.\d+)?)\s*(?:in|inch|inches|\")\s*$", re.IGNORECASE)
_CM = re.compile(r"^\s*(?P<cm>\d+(?:\.\d+)?)\s*cm\s*$", re.IGNORECASE)
_WEIGHT = re.compile(
    r"^\s*(?P<w>\d+(?:\.\d+)?)\s*(?P<unit>lbs?|pounds?|kgs?|kilograms?)?\.?\s*$", re.IGNORECASE
)
_BUST = re.compile(
    r"^\s*(?P<band>\d{2})\s*(?P<cup>[a-z]{1,4}(?:/[a-z]{1,2})?\+?)?\s*$", re.IGNORECASE
)
LB_KG = 0.45359237
IN_CM = 2.54


def _strings(values: pd.Series) -> pd.Series:
    return pd.Series(values, copy=False).astype("string").str.strip().replace("", pd.NA)


def normalise_fit(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Fit labels -> "small" / "fit" / "large" (see FIT_LABELS) and a mask of unknown labels."""
    s = _strings(values).str.lower().str.replace(r"\s+", " ", regex=True)
    out = s.map(FIT_LABELS).astype("string")
    return out, (out.isna() & s.notna()).to_numpy(dtype=bool)


def _num(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def height_cm(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Heights ("5ft 6in", 5' 6", "66in", "168cm") -> cm (NaN if missing or bad) and a bad mask."""
    s = _strings(values)
    ft_in = s.str.extract(_FT_IN)
    inches = _num(ft_in["ft"]) * 12 + np.nan_to_num(_num(ft_in["inch"]), nan=0.0)
    inches = np.where(np.isnan(inches), _num(s.str.extract(_INCHES)["inch"]), inches)
    out = np.where(np.isnan(inches), _num(s.str.extract(_CM)["cm"]), np.round(inches * IN_CM, 2))
    return out, np.isnan(out) & s.notna().to_numpy(dtype=bool)


def weight_kg(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Weights ("137lbs", "62kg"; unit-less = pounds) -> kg (NaN if missing/bad) and a bad mask."""
    s = _strings(values)
    parts = s.str.extract(_WEIGHT)
    w = _num(parts["w"])
    is_kg = parts["unit"].str.lower().str.startswith("k").to_numpy(dtype=bool, na_value=False)
    out = np.where(is_kg, w, np.round(w * LB_KG, 2))
    return out, np.isnan(out) & s.notna().to_numpy(dtype=bool)


def bust_parts(values: pd.Series) -> tuple[pd.Series, pd.Series, np.ndarray]:
    """Bust sizes ("34d", "34ddd/e", "34d+") -> (band int64 Series, cup text, bad mask)."""
    s = _strings(values).str.lower()
    parts = s.str.extract(_BUST)
    band = pd.to_numeric(parts["band"], errors="coerce").astype("Int64")
    cup = parts["cup"].astype("string")
    return band, cup, (band.isna() & s.notna()).to_numpy(dtype=bool)


def _fit_columns(df: pd.DataFrame, report: Report) -> dict[str, Any]:
    """Columns shared by the two fit datasets: ids, fit, size, height, weight, bust."""
    cols: dict[str, Any] = {}
    fit, bad = normalise_fit(df["fit"])
    if bad.any():
        report.null("fit", int(bad.sum()))
        first = int(np.flatnonzero(bad)[0])
        report.note(f"fit: unknown label {df['fit'].iloc[first]!r} at {df[WHERE].iloc[first]}")
    cols["fit"] = text_array(fit)
    cols["size"] = (
        numeric_column(df, "size", report, integer=True)
        if "size" in df
        else pa.nulls(len(df), pa.int64())
    )
    if "height" in df:
        cm, bad = height_cm(df["height"])
        report.null("height_cm", int(bad.sum()))
        cols["height_cm"] = float_array(cm)
    if "weight" in df:
        kg, bad = weight_kg(df["weight"])
        report.null("weight_kg", int(bad.sum()))
        cols["weight_kg"] = float_array(kg)
    if "bust size" in df:
        band, cup, bad = bust_parts(df["bust size"])
    elif "bra size" in df:
        bra = pd.to_numeric(_strings(df["bra size"]), errors="coerce")
        bad = (bra.isna() | (bra % 1 != 0)).to_numpy() & _strings(df["bra size"]).notna().to_numpy()
        band = bra.where(~pd.Series(bad, index=bra.index)).astype("Int64")
        cup = (
            _strings(df["cup size"]).str.lower()
            if "cup size" in df
            else pd.Series(pd.NA, index=df.index, dtype="string")
        )
    else:
        band = cup = None
        bad = np.zeros(len(df), dtype=bool)
    if band is not None:
        report.null("bust_size", int(bad.sum()))
        bust = (band.astype("string") + cup.fillna("")).where(band.notna())
        cols["bust_size"] = text_array(bust)
        cols["bra_band"] = pa.array(band.to_numpy(dtype=object, na_value=None), type=pa.int64())
        cols["cup_size"] = text_array(cup)
    return cols


def _fit_table(path: str | Path, dataset: str, rename: dict[str, str]) -> pa.Table:
    p = check_file(path, dataset)
    objects, starts = read_json_objects(p, dataset)
    report = Report(path=str(p), encoding="utf-8", rows_read=len(objects))
    df = _frame(objects, starts, p)
    _require_keys(df, ["item_id", "user_id", "fit"], p)
    df, _ = _int_ids(df, "item_id", report)
    df, user_id = _int_ids(df, "user_id", report)
    item_id = pd.to_numeric(df["item_id"].astype("string").str.strip()).to_numpy(dtype=np.int64)
    columns: dict[str, Any] = {
        "item_id": pa.array(item_id, type=pa.int64()),
        "user_id": pa.array(user_id, type=pa.int64()),
    }
    columns.update(_fit_columns(df, report))
    done = {
        "item_id",
        "user_id",
        "fit",
        "size",
        "height",
        "weight",
        "bust size",
        "bra size",
        "cup size",
        "user_name",
        WHERE,
    }
    for source, (target, kind) in rename.items():
        if source not in df:
            continue
        done.add(source)
        if kind == "int":
            columns[target] = numeric_column(df, source, report, integer=True, name=target)
        elif kind == "float":
            columns[target] = numeric_column(df, source, report, name=target)
        elif kind == "date":
            columns[target] = _dates(df, source, report, target)
        else:
            columns[target] = text_array(df[source])
    for source in df.columns:
        if source not in done:
            columns.setdefault(snake_case(source), text_array(df[source].astype("string")))
    return finish_table(columns, report, dataset, p, catalog=False)


# ====================================================================== modcloth
_MODCLOTH = {
    "quality": ("quality", "float"),
    "length": ("length", "text"),
    "category": ("category", "text"),
    "bust": ("bust_in", "float"),
    "waist": ("waist_in", "float"),
    "hips": ("hips_in", "float"),
    "shoe size": ("shoe_size", "float"),
    "shoe width": ("shoe_width", "text"),
    "review_summary": ("review_summary", "text"),
    "review_text": ("review_text", "text"),
}


@register_loader(
    "modcloth",
    returns="table",
    sample="size_fit/modcloth_final_data_mini.json",
    description="ModCloth fit feedback (Misra et al. 2018): fit, size, body measurements",
)
def modcloth(path: str | Path) -> pa.Table:
    """ModCloth fit feedback (JSON lines) as a table.

    Mapping: ``item_id``, ``user_id`` int64 (non-integer -> row rejected); ``fit``
    small/fit/large; ``size`` int64; ``quality`` (1-5) float64; ``length``, ``category``,
    ``shoe_width`` text; ``height`` -> ``height_cm``; ``bra size`` + ``cup size`` ->
    ``bust_size``, ``bra_band``, ``cup_size``; ``bust``/``waist``/``hips`` (inches) ->
    ``bust_in``/``waist_in``/``hips_in``; ``shoe size`` -> ``shoe_size``;
    ``review_summary``/``review_text`` where present. ``user_name`` is left out (personal
    data). Other keys are kept as text, snake_cased. See the module docstring for the
    normalisation rules.
    """
    return _fit_table(path, "modcloth", _MODCLOTH)


# ====================================================================== renttherunway
_RTR = {
    "rating": ("rating", "float"),
    "rented for": ("rented_for", "text"),
    "body type": ("body_type", "text"),
    "category": ("category", "text"),
    "age": ("age", "int"),
    "review_summary": ("review_summary", "text"),
    "review_text": ("review_text", "text"),
    "review_date": ("ts", "date"),
}


@register_loader(
    "renttherunway",
    returns="table",
    sample="size_fit/renttherunway_final_data_mini.json",
    description="RentTheRunway fit feedback (Misra et al. 2018): fit, size, body, reviews",
)
def renttherunway(path: str | Path) -> pa.Table:
    """RentTheRunway fit feedback (JSON lines) as a table.

    Mapping: ``item_id``, ``user_id`` int64 (non-integer -> row rejected); ``fit``
    small/fit/large; ``size`` int64; ``rating`` (2-10) float64; ``rented for`` ->
    ``rented_for``; ``body type`` -> ``body_type``; ``category``; ``age`` int64;
    ``height`` -> ``height_cm``; ``weight`` -> ``weight_kg``; ``bust size`` ->
    ``bust_size``, ``bra_band``, ``cup_size``; ``review_summary``, ``review_text``;
    ``review_date`` "April 20, 2016" -> ``ts`` int64 (UTC midnight). See the module
    docstring for the normalisation rules.
    """
    return _fit_table(path, "renttherunway", _RTR)
