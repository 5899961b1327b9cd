"""Product catalogs: fashion photos and metadata, marketplace listings (IN, US, KR).

A **catalog** is a ``pyarrow.Table`` with ``item_id`` int64 (unique) and, where the source
has them, ``title``, ``description``, ``image_path`` (absolute path or null), ``price``
float64, ``brand``, ``category`` (levels joined with ``" > "``), ``condition``, ``stock``,
plus attribute columns kept with their source names, snake_cased. Sources whose ids are
strings keep them in ``source_id`` and get ``item_id`` = a 63-bit hash of that string
(:func:`stable_ids`; deterministic across runs and machines).

Rows are never dropped silently. Blank rows, rows with an unparsable id or price and
duplicate ids are rejected and *counted*; values that cannot be parsed in optional columns
become null and are counted too. The counts are in the table's schema metadata
(``b"shopml_load_report"``, JSON); read them with :func:`load_report`. Structural problems
(missing file, missing column, undecodable text) raise :class:`DatasetError` naming the
file, and the row and column where there is one.

Datasets (samples in ``../shared/data``; see its PROVENANCE.md):

``fashion_images`` - Fashion Product Images (Myntra; P. Aggarwal's Kaggle dataset,
    "Fashion Product Images Dataset", 2019): ``styles.csv`` (id, gender, masterCategory,
    subCategory, articleType, baseColour, season, year, usage, productDisplayName) plus
    ``images/<id>.jpg``. Kaggle dataset, licence unverified; the photos are (c) Myntra,
    research use only. The sample has 44,446 styles and 8,653 photos.
``myntra_catalog`` - Myntra product catalogue scraped from myntra.com (public GitHub copy,
    no licence stated): Product_ID, Product_Name, Product_Brand, Gender, Price (INR),
    Num_Images, Description, Primary_Color.
``mercari_listings`` - Mercari US second-hand listings (2022 scrape of the Mercari web API,
    no licence): id, name, status, description, originalPrice, price, brandName,
    itemSizeName, itemConditionName, category levels, photo URLs.
``flipkart`` - Flipkart e-commerce sample (PromptCloud's 2016 crawl of flipkart.com as
    published on Kaggle/data.world, no licence stated): 15 columns incl. description and
    ``product_specifications`` (a Ruby-hash string, parsed by :func:`parse_flipkart_specs`).
``daangn_listings`` - Daangn (Karrot, daangn.com) Korean second-hand listings crawled in
    Feb 2026 (public GitHub crawler output, no licence; the seller nickname column was
    removed from the sample as personal data).

Each loader's docstring gives its column mapping.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from shopml.data.loaders import DatasetError, register_loader
from shopml.data.loaders._common import (
    REPORT_KEY,
    LoadReport,
    attach_report,
    check_file,
    load_report,
    read_csv,
    report_of,
    require_columns,
    row_label,
)
from shopml.data.loaders._lines import require_complete_last_line

__all__ = [
    "FASHION_STYLE_COLUMNS",
    "REPORT_KEY",
    "WHERE",
    "Report",
    "attach_report",
    "check_image",
    "daangn_listings",
    "dedupe_ids",
    "describe_row",
    "fashion_images",
    "finish_table",
    "flipkart",
    "float_array",
    "int_array",
    "load_report",
    "mercari_listings",
    "myntra_catalog",
    "numeric_column",
    "parse_flipkart_specs",
    "parse_money",
    "reject_rows",
    "snake_case",
    "stable_ids",
    "text_array",
]

CATEGORY_SEP = " > "
_CSV_TEXT = {"dtype": str, "keep_default_na": False, "na_values": [""]}
#: Optional frame column naming where each row came from (file and line), used in messages.
WHERE = "_where"


# ====================================================================== shared helpers
@dataclass
class Report(LoadReport):
    """A :class:`LoadReport` that also counts values set to null, repairs and filters."""

    nulled: dict[str, int] = field(default_factory=dict)
    repaired: dict[str, int] = field(default_factory=dict)
    filtered: dict[str, int] = field(default_factory=dict)

    @classmethod
    def extend(cls, base: LoadReport) -> Report:
        """A Report carrying over everything `base` recorded."""
        if isinstance(base, Report):
            return base
        return cls(**{f.name: getattr(base, f.name) for f in dataclasses.fields(LoadReport)})

    def null(self, column: str, count: int) -> None:
        """Count `count` unparsable values of `column` that were set to null."""
        if count:
            self.nulled[column] = self.nulled.get(column, 0) + int(count)

    def repair(self, what: str, count: int) -> None:
        """Count `count` rows repaired for `what`."""
        if count:
            self.repaired[what] = self.repaired.get(what, 0) + int(count)

    def filter(self, what: str, count: int) -> None:
        """Count `count` rows left out on request (an option, not a data problem)."""
        if count:
            self.filtered[what] = self.filtered.get(what, 0) + int(count)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (LoadReport's keys plus nulled, repaired, filtered)."""
        out = super().as_dict()
        out["values_nulled"] = {k: int(v) for k, v in self.nulled.items()}
        out["rows_repaired"] = {k: int(v) for k, v in self.repaired.items()}
        out["rows_filtered"] = {k: int(v) for k, v in self.filtered.items()}
        return out


def snake_case(name: str) -> str:
    """``productDisplayName`` -> ``product_display_name``; ``Price (INR)`` -> ``price_inr``."""
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(name).strip())
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    s = re.sub(r"[^0-9A-Za-z]+", "_", s).strip("_").lower()
    return s or "unnamed"


def stable_ids(values: pd.Series | np.ndarray | list[str]) -> np.ndarray:
    """63-bit non-negative int64 hashes of strings (pandas' fixed-key SipHash; stable)."""
    s = pd.Series(values, copy=False).astype(object)
    h = pd.util.hash_pandas_object(s, index=False).to_numpy(dtype=np.uint64)
    return (h & np.uint64(0x7FFF_FFFF_FFFF_FFFF)).astype(np.int64)


_MONEY_JUNK = re.compile(r"(?i)(?:us\$|rs\.?|inr|usd|krw|[$₹₩€£¥원]|,|\s)")


def parse_money(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Prices like ``"$1,299.00"``, ``"₹ 799"``, ``"15,000원"`` -> float64 (NaN if missing) and
    a mask of unparsable or negative values (commas are thousands separators)."""
    s = pd.Series(values, copy=False).astype("string").str.strip()
    missing = (s.isna() | (s == "")).to_numpy(dtype=bool, na_value=True)
    cleaned = s.str.replace(_MONEY_JUNK, "", regex=True)
    num = pd.to_numeric(cleaned, errors="coerce").astype("Float64")
    out = num.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = (np.isnan(out) | ~np.isfinite(out) | (np.nan_to_num(out, nan=0.0) < 0)) & ~missing
    out = np.where(bad | missing, np.nan, out)
    return out, bad


def text_array(values: pd.Series | np.ndarray | list[Any]) -> pa.Array:
    """Strings stripped of surrounding space; empty or missing -> null."""
    s = pd.Series(values, copy=False).astype("string").str.strip()
    s = s.mask(s == "")
    return pa.array(s.to_numpy(dtype=object, na_value=None), type=pa.string())


def float_array(values: np.ndarray) -> pa.Array:
    """float64 with NaN -> null."""
    v = np.asarray(values, dtype=np.float64)
    return pa.array(v, type=pa.float64(), mask=np.isnan(v))


def int_array(values: np.ndarray, missing: np.ndarray) -> pa.Array:
    """int64 with `missing` -> null."""
    v = np.where(missing, 0, values).astype(np.int64)
    return pa.array(v, type=pa.int64(), mask=np.asarray(missing, dtype=bool))


def numeric_column(
    df: pd.DataFrame, column: str, report: Report, *, integer: bool = False, name: str | None = None
) -> pa.Array:
    """An optional numeric column: unparsable values -> null, counted under `name`."""
    raw = df[column].astype("string").str.strip().str.replace(",", "", regex=False)
    missing = (raw.isna() | (raw == "")).to_numpy(dtype=bool, na_value=True)
    num = pd.to_numeric(raw.mask(missing), errors="coerce").astype("Float64")
    values = num.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.isnan(values) & ~missing
    if integer:
        with np.errstate(invalid="ignore"):
            bad |= np.isfinite(values) & (values != np.round(values))
    if bad.any():
        report.null(name or column, int(bad.sum()))
        first = int(np.flatnonzero(bad)[0])
        report.note(
            f"{name or column}: {int(bad.sum())} unparsable value(s) set to null, e.g. "
            f"{describe_row(df, first)}: {df[column].iloc[first]!r}"
        )
    null = missing | bad
    if integer:
        return int_array(np.nan_to_num(values, nan=0.0), null)
    return float_array(np.where(null, np.nan, values))


def describe_row(df: pd.DataFrame, position: int) -> str:
    """Human label of the row at `position`: its ``_where`` text if the frame has one (file and
    line of JSON objects or concatenated files), else its data row and line."""
    if WHERE in df.columns:
        return str(df[WHERE].iloc[position])
    return row_label(df, position)


def reject_rows(df: pd.DataFrame, bad: np.ndarray, reason: str, report: LoadReport) -> pd.DataFrame:
    """Drop rows where `bad` is true, counting them under `reason` and naming a few."""
    bad = np.asarray(bad, dtype=bool)
    n = int(bad.sum())
    if not n:
        return df
    places = ", ".join(describe_row(df, int(p)) for p in np.flatnonzero(bad)[:3])
    report.reject(reason, n)
    report.note(f"{reason}: {n} row(s) rejected, e.g. {places}")
    return df.loc[~bad]


def dedupe_ids(df: pd.DataFrame, key: str, report: LoadReport, keep: str = "first") -> pd.DataFrame:
    """Reject repeated ids (keeping the `keep` one), counting identical and conflicting copies."""
    dup = df.duplicated(subset=[key], keep=keep).to_numpy()
    if not dup.any():
        return df
    content = df.drop(columns=[c for c in df.columns if str(c).startswith("_")])
    identical = content.duplicated(keep=keep).to_numpy() & dup
    df = reject_rows(df, identical, f"duplicate {key} (identical row)", report)
    dup = df.duplicated(subset=[key], keep=keep).to_numpy()
    return reject_rows(df, dup, f"duplicate {key} (conflicting row, kept the {keep})", report)


def finish_table(
    columns: Mapping[str, pa.Array | np.ndarray | list[Any]],
    report: LoadReport,
    dataset: str,
    path: str | Path,
    *,
    catalog: bool = True,
    rows_in: int | None = None,
) -> pa.Table:
    """Assemble the table, check ``item_id`` (catalogs), refuse an all-rejected result, attach
    the report."""
    table = pa.table(dict(columns))
    if catalog:
        ids = table.column("item_id")
        if ids.type != pa.int64() or ids.null_count:
            raise DatasetError(f"{path}: item_id must be non-null int64 (got {ids.type})")
        if pc.count_distinct(ids).as_py() != table.num_rows:
            raise DatasetError(f"{path}: item_id is not unique after de-duplication")
    n_in = report.rows_read if rows_in is None else rows_in
    if n_in and table.num_rows == 0 and report.rows_rejected:
        raise DatasetError(f"{path}: every row was rejected: {report.rejected}; {report.notes[:3]}")
    return attach_report(table, report, dataset)


def _read_text(path: Path) -> tuple[str, str]:
    """Whole file as text (.gz transparent; utf-8 with or without BOM, then cp1252)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read: {exc}") from exc
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DatasetError(f"{path}: corrupt gzip data: {exc}") from exc
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1"), "latin-1"


def _csv_files(path: Path, patterns: tuple[str, ...], dataset: str) -> list[Path]:
    """`path` itself, or the files in directory `path` matching any of `patterns` (sorted)."""
    if path.is_dir():
        files = sorted({f for pattern in patterns for f in path.glob(pattern) if f.is_file()})
        if not files:
            raise DatasetError(f"{dataset}: no file matching {list(patterns)} in directory {path}")
        return files
    return [check_file(path, dataset)]


def _join_levels(df: pd.DataFrame, columns: list[str]) -> pd.Series:
    """Category levels joined with " > " (missing levels skipped; all missing -> NA)."""
    parts = [df[c].astype("string").str.strip().fillna("") for c in columns]
    joined = parts[0]
    for part in parts[1:]:
        joined = joined + "\x00" + part
    joined = joined.str.replace(r"\x00{2,}", "\x00", regex=True).str.strip("\x00")
    return joined.str.replace("\x00", CATEGORY_SEP, regex=False).replace("", pd.NA)


# ====================================================================== fashion_images
FASHION_STYLE_COLUMNS = [
    "id",
    "gender",
    "masterCategory",
    "subCategory",
    "articleType",
    "baseColour",
    "season",
    "year",
    "usage",
    "productDisplayName",
]
_IMAGE_NAME = re.compile(r"^(\d+)\.(?:jpe?g|png)$", re.IGNORECASE)


def check_image(path: str | Path) -> tuple[int, int]:
    """Open and fully decode an image; its (width, height), or DatasetError naming the file."""
    from PIL import Image

    p = Path(path)
    if not p.is_file():
        raise DatasetError(f"{p}: image file does not exist")
    try:
        with Image.open(p) as im:
            im.verify()
        with Image.open(p) as im:
            im.load()
            return int(im.size[0]), int(im.size[1])
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise DatasetError(f"{p}: broken or truncated image: {exc}") from exc


def _split_styles(text: str, path: Path, report: Report) -> pd.DataFrame:
    """styles.csv lines -> frame; extra commas are kept in the last column (and counted)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise DatasetError(f"{path}: file is empty")
    header = [h.strip().strip('"').lstrip("\ufeff") for h in lines[0].rstrip("\r").split(",")]
    n = len(header)
    data = pd.Series(lines[1:], dtype=object).str.rstrip("\r")
    data.index = pd.RangeIndex(len(data))
    blank = data.str.fullmatch(r"[\s,]*").to_numpy(dtype=bool)
    report.blank_rows_dropped = int(blank.sum())
    data = data[~blank]
    quoted = data.str.contains('"', regex=False).to_numpy(dtype=bool)
    plain = data[~quoted]
    fields = plain.str.split(",", n=n - 1, expand=True)
    fields = fields.reindex(columns=range(n))
    extra = (plain.str.count(",") > n - 1).to_numpy(dtype=bool)
    if quoted.any():
        rows = {}
        n_extra = 0
        for i, line in data[quoted].items():
            try:
                parsed = next(csv.reader([line], strict=True))
            except csv.Error as exc:  # a stray quote: split on commas as for unquoted lines
                parsed = line.split(",")
                report.repair("stray quote (split on commas)", 1)
                report.note(f"line {int(i) + 2}: {exc}; split on commas, quotes kept as text")
            if len(parsed) > n:
                parsed = [*parsed[: n - 1], ",".join(parsed[n - 1 :])]
                n_extra += 1
            rows[i] = parsed + [None] * (n - len(parsed))
        quoted_fields = pd.DataFrame.from_dict(rows, orient="index", columns=range(n))
        fields = pd.concat([fields, quoted_fields]).sort_index()
    else:
        n_extra = 0
    fields.columns = header
    report.repair(f"extra commas kept in {header[-1]}", int(extra.sum()) + n_extra)
    if extra.any() or n_extra:
        first = plain.index[np.flatnonzero(extra)[0]] if extra.any() else None
        report.note(
            f"{int(extra.sum()) + n_extra} line(s) had more than {n} fields; the extra commas "
            f"were kept in {header[-1]!r}"
            + (f" (e.g. line {int(first) + 2})" if first is not None else "")
        )
    fields.attrs["header_lines"] = 1
    short = fields[header[-1]].isna().to_numpy()
    return reject_rows(fields, short, f"too few fields (expected {n})", report)


@register_loader(
    "fashion_images",
    returns="catalog",
    sample="fashion_images/styles.csv.gz",
    description="Fashion Product Images (Myntra): 44k styles, 8.6k photos in the sample",
    columns=FASHION_STYLE_COLUMNS,
)
def fashion_images(
    path: str | Path,
    *,
    images_dir: str | Path | None = None,
    with_images_only: bool = False,
    check_images: bool = False,
) -> pa.Table:
    """Fashion Product Images: styles.csv(.gz) plus ``images/<id>.jpg`` as a catalog.

    `path` is styles.csv, styles.csv.gz or the directory holding one of them; photos are
    looked up in `images_dir` (default: ``images/`` beside the styles file). Mapping:
    ``id`` -> ``item_id``; ``productDisplayName`` -> ``title``; ``category`` =
    masterCategory > subCategory > articleType; ``gender``, ``master_category``,
    ``sub_category``, ``article_type``, ``base_colour``, ``season``, ``usage`` as text;
    ``year`` int64 (unparsable -> null, counted); ``image_path`` = absolute path of
    ``<id>.jpg`` where the photo exists, else null. The original Kaggle styles.csv has lines
    with extra commas inside productDisplayName: only the first 9 commas split fields, the
    rest stay in the title (counted as repaired). `with_images_only` keeps only rows with a
    photo (the rest counted as filtered); `check_images` decodes every photo and raises
    DatasetError naming the first broken one.
    """
    p = Path(path)
    if p.is_dir():
        found = [p / n for n in ("styles.csv", "styles.csv.gz") if (p / n).is_file()]
        if not found:
            raise DatasetError(f"fashion_images: no styles.csv or styles.csv.gz in {p}")
        p = found[0]
    p = check_file(p, "fashion_images")
    report = Report(path=str(p))
    text, report.encoding = _read_text(p)
    df = _split_styles(text, p, report)
    require_columns(df, FASHION_STYLE_COLUMNS, p)
    require_complete_last_line(p, ",", len(df.columns))
    rows_in = len(df) + report.rows_rejected
    report.rows_read = rows_in

    ids = pd.to_numeric(df["id"].str.strip(), errors="coerce")
    bad = ids.isna().to_numpy() | (ids.to_numpy(dtype=np.float64, na_value=np.nan) % 1 != 0)
    df = reject_rows(df, bad, "unparsable id", report)
    df = df.assign(item_id=pd.to_numeric(df["id"].str.strip()).astype(np.int64))
    df = dedupe_ids(df.drop(columns=["id"]), "item_id", report)

    img_dir = Path(images_dir) if images_dir is not None else p.parent / "images"
    image_path = pd.Series(pd.NA, index=df.index, dtype="string")
    if img_dir.is_dir():
        names: dict[int, str] = {}
        with os.scandir(img_dir) as it:
            for entry in it:
                m = _IMAGE_NAME.match(entry.name)
                if m:
                    names.setdefault(int(m.group(1)), entry.name)
        root = str(img_dir.resolve())
        mapped = df["item_id"].map(names).astype("string")
        image_path = (root + os.sep + mapped).astype("string")
        orphans = len(set(names) - set(df["item_id"].tolist()))
        if orphans:
            report.note(f"{orphans} photo(s) in {img_dir} have no styles row")
    else:
        report.note(f"no images directory at {img_dir}: image_path is null for every row")
    has_image = image_path.notna().to_numpy(dtype=bool)
    if with_images_only:
        report.filter("no photo (with_images_only)", int((~has_image).sum()))
        df, image_path = df.loc[has_image], image_path[has_image]
    if check_images:
        for file in image_path.dropna():
            check_image(file)

    columns: dict[str, Any] = {
        "item_id": pa.array(df["item_id"].to_numpy(dtype=np.int64)),
        "title": text_array(df["productDisplayName"]),
        "category": text_array(_join_levels(df, ["masterCategory", "subCategory", "articleType"])),
        "image_path": text_array(image_path),
    }
    for source in (
        "gender",
        "masterCategory",
        "subCategory",
        "articleType",
        "baseColour",
        "season",
    ):
        columns[snake_case(source)] = text_array(df[source])
    columns["year"] = numeric_column(df, "year", report, integer=True)
    columns["usage"] = text_array(df["usage"])
    return finish_table(columns, report, "fashion_images", p, rows_in=rows_in)


# ====================================================================== myntra_catalog
_MYNTRA_ALIASES = {
    "Price (INR)": "Price",
    "NumImages": "Num_Images",
    "PrimaryColor": "Primary_Color",
}
MYNTRA_COLUMNS = ["Product_ID", "Product_Name", "Product_Brand", "Gender", "Price"]


def _drop_empty_unnamed(df: pd.DataFrame, report: LoadReport) -> pd.DataFrame:
    """Drop the all-empty ``Unnamed: N`` columns a trailing comma creates (noted)."""
    unnamed = [c for c in df.columns if str(c).startswith("Unnamed:")]
    empty = [c for c in unnamed if df[c].isna().all()]
    if empty:
        report.note(f"dropped {len(empty)} empty column(s) from trailing commas: {empty}")
    return df.drop(columns=empty)


@register_loader(
    "myntra_catalog",
    returns="catalog",
    sample="listings/myntra_products_catalog.csv",
    description="Myntra product catalogue (IN): titles, brands, INR prices, descriptions",
    columns=MYNTRA_COLUMNS,
)
def myntra_catalog(path: str | Path) -> pa.Table:
    """Myntra catalogue CSV as a catalog.

    Mapping: ``Product_ID`` -> ``item_id``; ``Product_Name`` -> ``title``;
    ``Product_Brand`` -> ``brand``; ``Price`` (INR; header ``Price (INR)`` also accepted) ->
    ``price`` float64 (unparsable -> row rejected); ``Description`` -> ``description``;
    ``Gender`` -> ``gender``; ``Num_Images`` -> ``num_images`` int64; ``Primary_Color`` ->
    ``primary_color`` (stripped; the file pads many values with a space). No image files
    or categories in this source. The empty column left by each line's trailing comma is
    dropped (noted).
    """
    df = read_csv(path, dataset="myntra_catalog", **_CSV_TEXT)
    df = df.rename(columns={k: v for k, v in _MYNTRA_ALIASES.items() if k in df.columns})
    require_columns(df, MYNTRA_COLUMNS, path)
    report = Report.extend(report_of(df, path))
    df = _drop_empty_unnamed(df, report)
    ids = pd.to_numeric(df["Product_ID"].str.strip(), errors="coerce")
    df = reject_rows(
        df, (ids.isna() | (ids % 1 != 0)).to_numpy(dtype=bool), "unparsable Product_ID", report
    )
    df = df.assign(item_id=pd.to_numeric(df["Product_ID"].str.strip()).astype(np.int64))
    price, bad = parse_money(df["Price"])
    df = reject_rows(df.assign(_price=price), bad, "unparsable Price", report)
    df = dedupe_ids(df, "item_id", report)
    columns: dict[str, Any] = {
        "item_id": pa.array(df["item_id"].to_numpy(dtype=np.int64)),
        "title": text_array(df["Product_Name"]),
        "description": text_array(df["Description"]) if "Description" in df else None,
        "price": float_array(df["_price"].to_numpy()),
        "brand": text_array(df["Product_Brand"]),
        "gender": text_array(df["Gender"]),
    }
    if "Num_Images" in df:
        columns["num_images"] = numeric_column(df, "Num_Images", report, integer=True)
    if "Primary_Color" in df:
        columns["primary_color"] = text_array(df["Primary_Color"])
    extra = [
        c
        for c in df.columns
        if c
        not in {*MYNTRA_COLUMNS, "Description", "Num_Images", "Primary_Color", "item_id", "_price"}
    ]
    for c in extra:
        columns[snake_case(c)] = text_array(df[c])
    columns = {k: v for k, v in columns.items() if v is not None}
    return finish_table(columns, report, "myntra_catalog", path)


# ====================================================================== mercari_listings
MERCARI_COLUMNS = ["id", "name", "price"]
_MERCARI_LEVELS = ["itemCategoryNameLevel0", "itemCategoryNameLevel1", "itemCategoryNameLevel2"]


def _mercari_price_unit(df: pd.DataFrame, path: str | Path, report: Report) -> str:
    """'cents' or 'dollars' for ``price_unit="auto"`` (noted); DatasetError when integer
    prices could be either."""
    columns = [c for c in ("price", "originalPrice") if c in df.columns]
    text = pd.concat([df[c] for c in columns]).astype("string")
    if bool(text.str.contains(r"[$.]", regex=True).fillna(False).any()):
        report.note("prices read as dollars (price_unit='auto': a price holds '$' or a '.')")
        return "dollars"
    values, _ = parse_money(text)
    odd = ~np.isnan(values) & (np.nan_to_num(values) % 100 != 0)
    if not odd.any():
        report.note(
            "prices read as cents (price_unit='auto': every price is a whole number of "
            "hundreds, as the Mercari API writes whole-dollar prices, 1800 = $18.00); pass "
            "price_unit='dollars' if they are dollars"
        )
        return "cents"
    first = int(np.flatnonzero(odd)[0])
    column = columns[first // len(df)]
    raise DatasetError(
        f"{path}: price_unit='auto' cannot tell cents from dollars: the prices are integers "
        f"but not all multiples of 100 (e.g. {text.iloc[first]!r} in {column!r} at "
        f"{describe_row(df, first % len(df))}), so they are not the Mercari API's whole-dollar "
        "cents, yet cents cannot be ruled out; pass price_unit='dollars' (25 = $25.00) or "
        "price_unit='cents' (25 = $0.25)"
    )


@register_loader(
    "mercari_listings",
    returns="catalog",
    sample="listings/mercari_us_2022_listings.csv",
    description="Mercari US second-hand listings (2022 scrape): titles, prices, condition",
    columns=MERCARI_COLUMNS,
)
def mercari_listings(
    path: str | Path, *, price_unit: Literal["auto", "cents", "dollars"] = "auto"
) -> pa.Table:
    """Mercari US listings CSV as a catalog.

    Mapping: ``id`` (``m<digits>``) -> ``source_id`` and ``item_id`` = the digits (a
    :func:`stable_ids` hash for every row if any id is not ``m<digits>``); ``name`` ->
    ``title``; ``description``; ``price`` / ``originalPrice`` -> ``price`` /
    ``original_price`` float64 USD; ``brandName`` -> ``brand``; ``itemSizeName`` -> ``size``;
    ``itemConditionName`` -> ``condition``; ``category`` = itemCategoryNameLevel0 > 1 > 2;
    ``categoryTitle`` -> ``category_title``; ``categoryId`` -> ``category_id`` int64;
    ``status``; ``shippingPayerName`` -> ``shipping_payer``; ``photoLarge1``/``2`` ->
    ``image_urls`` (list of URLs; no local photos, so no ``image_path``). The Mercari API
    gives prices as integer cents of whole-dollar prices (1800 = $18.00; every price of the
    sample is a multiple of 100). With `price_unit="auto"`, prices holding ``$`` or a
    decimal point are read as dollars; integer prices that are all multiples of 100 as
    cents; integer prices that are not (``25``: $25 or $0.25?) raise DatasetError asking
    for ``price_unit="dollars"`` or ``"cents"``. The choice is noted in the report. Rows
    with an unparsable price are rejected; identical repeated rows (7 in the sample) are
    rejected as duplicates.
    """
    df = read_csv(path, dataset="mercari_listings", **_CSV_TEXT)
    require_columns(df, MERCARI_COLUMNS, path)
    report = Report.extend(report_of(df, path))
    df = _drop_empty_unnamed(df, report)
    ids = df["id"].astype("string").str.strip()
    df = reject_rows(
        df, (ids.isna() | (ids == "")).to_numpy(dtype=bool, na_value=True), "missing id", report
    )
    ids = df["id"].astype("string").str.strip()
    numeric = ids.str.fullmatch(r"m\d{1,18}").to_numpy(dtype=bool, na_value=False)
    if numeric.all():
        item_id = pd.to_numeric(ids.str.slice(1)).to_numpy(dtype=np.int64)
    else:
        item_id = stable_ids(ids)
        report.note("ids are not all m<digits>: item_id is a hash of the id text")
    df = df.assign(item_id=item_id, source_id=ids)

    if price_unit == "auto":
        price_unit = _mercari_price_unit(df, path, report)
    elif price_unit not in ("cents", "dollars"):
        raise DatasetError(f"price_unit={price_unit!r}: expected 'auto', 'cents' or 'dollars'")
    scale = 100.0 if price_unit == "cents" else 1.0
    price, bad = parse_money(df["price"])
    df = reject_rows(df.assign(_price=price / scale), bad, "unparsable price", report)
    df = dedupe_ids(df, "item_id", report)

    columns: dict[str, Any] = {
        "item_id": pa.array(df["item_id"].to_numpy(dtype=np.int64)),
        "source_id": text_array(df["source_id"]),
        "title": text_array(df["name"]),
        "description": text_array(df["description"]) if "description" in df else None,
        "price": float_array(df["_price"].to_numpy()),
    }
    if "originalPrice" in df:
        orig, bad_orig = parse_money(df["originalPrice"])
        report.null("original_price", int(bad_orig.sum()))
        columns["original_price"] = float_array(orig / scale)
    renames = {
        "brandName": "brand",
        "itemSizeName": "size",
        "itemConditionName": "condition",
        "categoryTitle": "category_title",
        "status": "status",
        "shippingPayerName": "shipping_payer",
    }
    for source, target in renames.items():
        if source in df:
            columns[target] = text_array(df[source])
    levels = [c for c in _MERCARI_LEVELS if c in df]
    if levels:
        columns["category"] = text_array(_join_levels(df, levels))
    if "categoryId" in df:
        columns["category_id"] = numeric_column(
            df, "categoryId", report, integer=True, name="category_id"
        )
    photos = [c for c in df.columns if re.fullmatch(r"photoLarge\d+", str(c))]
    if photos:
        urls = (
            df[photos]
            .astype("string")
            .apply(lambda s: s.str.strip())
            .to_numpy(dtype=object, na_value=None)
        )
        columns["image_urls"] = pa.array(
            [[u for u in row if u] for row in urls], type=pa.list_(pa.string())
        )
    known = {
        *MERCARI_COLUMNS,
        "description",
        "originalPrice",
        *renames,
        *_MERCARI_LEVELS,
        "categoryId",
        "item_id",
        "source_id",
        "_price",
    }
    for c in df.columns:
        if c not in known and not re.fullmatch(r"photo(Large|Thumbnail)\d+", str(c)):
            columns.setdefault(snake_case(c), text_array(df[c]))
    columns = {k: v for k, v in columns.items() if v is not None}
    return finish_table(columns, report, "mercari_listings", path)


# ====================================================================== flipkart
FLIPKART_COLUMNS = ["uniq_id", "product_name", "retail_price", "discounted_price"]
_RUBY_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|=>|\bnil\b|[^"=n]+|.', re.DOTALL)
UNKEYED_SPEC = "_unkeyed"


def parse_flipkart_specs(text: str | None) -> dict[str, str] | None:
    """Flipkart ``product_specifications`` (a Ruby hash printed as text) -> {key: value}.

    ``{"product_specification"=>[{"key"=>"Fabric", "value"=>"Cotton"}, {"value"=>"1 Dress"}]}``
    gives ``{"Fabric": "Cotton", "_unkeyed": "1 Dress"}``: ``=>`` outside strings becomes
    ``:`` and ``nil`` ``null``, then JSON parsing (no eval). Entries without a key are
    joined under ``"_unkeyed"``, repeated keys joined with ``"; "``. None for missing text;
    ValueError if the text is not such a hash.
    """
    if text is None or (isinstance(text, float) and np.isnan(text)) or not str(text).strip():
        return None
    tokens = _RUBY_TOKEN.findall(str(text))
    converted = "".join(":" if t == "=>" else "null" if t == "nil" else t for t in tokens)
    try:
        obj = json.loads(converted)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not a Ruby-style hash: {exc.msg} at char {exc.pos}") from exc
    if not isinstance(obj, dict):
        raise ValueError("not a hash")
    entries = obj.get("product_specification", [])
    if isinstance(entries, dict):
        entries = [entries]
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise ValueError("product_specification is neither a list nor a hash")
    out: dict[str, str] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            raise ValueError(f"specification entry is not a hash: {entry!r}")
        value = entry.get("value")
        if value is None:
            continue
        key = str(entry.get("key") or UNKEYED_SPEC).strip()
        value = str(value).strip()
        out[key] = f"{out[key]}; {value}" if key in out else value
    return out


def _parse_category_tree(values: pd.Series) -> pd.Series:
    """'["A >> B >> C"]' -> 'A > B > C'."""
    s = values.astype("string").str.strip()
    s = s.str.replace(r'^\[\s*"?|"?\s*\]$', "", regex=True)
    return s.str.replace(r"\s*>>\s*", CATEGORY_SEP, regex=True).replace("", pd.NA)


def _url_lists(values: pd.Series) -> pa.Array:
    """'["http://a", "http://b"]' -> list<string> (null when missing)."""
    s = values.astype("string")
    found = s.str.findall(r'"((?:[^"\\]|\\.)+)"')
    out = [
        list(v) if isinstance(v, list) else None
        for v in found.to_numpy(dtype=object, na_value=None)
    ]
    return pa.array(out, type=pa.list_(pa.string()))


@register_loader(
    "flipkart",
    returns="catalog",
    sample="listings/flipkart_com-ecommerce_sample.csv",
    description="Flipkart 2016 crawl (IN): titles, category trees, prices, specifications",
    columns=FLIPKART_COLUMNS,
)
def flipkart(path: str | Path) -> pa.Table:
    """Flipkart e-commerce sample as a catalog.

    Mapping: ``uniq_id`` -> ``source_id`` and ``item_id`` (:func:`stable_ids` hash);
    ``pid``; ``product_name`` -> ``title``; ``description``; ``discounted_price`` ->
    ``price`` and ``retail_price`` -> ``retail_price`` (float64 INR; missing stays null,
    unparsable -> row rejected); ``brand``; ``product_category_tree`` -> ``category``
    (``>>`` levels joined with ``" > "``); ``product_specifications`` -> ``attributes``
    map<string, string> (:func:`parse_flipkart_specs`; unparsable -> null, counted);
    ``image`` -> ``image_urls`` list; ``product_url``; ``crawl_timestamp`` -> ``crawl_ts``
    int64 unix seconds; ``product_rating`` / ``overall_rating`` -> float64 ("No rating
    available" -> null); ``is_FK_Advantage_product`` -> ``is_fk_advantage_product`` bool.
    The file's ~4,000 blank rows (all commas) after the filled rows are dropped and counted.
    """
    df = read_csv(path, dataset="flipkart", **_CSV_TEXT)
    require_columns(df, FLIPKART_COLUMNS, path)
    report = Report.extend(report_of(df, path))
    ids = df["uniq_id"].astype("string").str.strip()
    df = reject_rows(
        df,
        (ids.isna() | (ids == "")).to_numpy(dtype=bool, na_value=True),
        "missing uniq_id",
        report,
    )
    df = df.assign(source_id=df["uniq_id"].astype("string").str.strip())
    df = df.assign(item_id=stable_ids(df["source_id"]))
    price, bad = parse_money(df["discounted_price"])
    retail, bad_retail = parse_money(df["retail_price"])
    df = df.assign(_price=price, _retail=retail)
    df = reject_rows(df, bad | bad_retail, "unparsable discounted_price or retail_price", report)
    df = dedupe_ids(df, "item_id", report)

    columns: dict[str, Any] = {
        "item_id": pa.array(df["item_id"].to_numpy(dtype=np.int64)),
        "source_id": text_array(df["source_id"]),
        "title": text_array(df["product_name"]),
        "description": text_array(df["description"]) if "description" in df else None,
        "price": float_array(df["_price"].to_numpy()),
        "retail_price": float_array(df["_retail"].to_numpy()),
        "brand": text_array(df["brand"]) if "brand" in df else None,
        "category": text_array(_parse_category_tree(df["product_category_tree"]))
        if "product_category_tree" in df
        else None,
    }
    if "product_specifications" in df:
        specs: list[list[tuple[str, str]] | None] = []
        failures: list[tuple[int, str]] = []
        for pos, text in enumerate(
            df["product_specifications"].to_numpy(dtype=object, na_value=None)
        ):
            try:
                parsed = parse_flipkart_specs(text)
            except ValueError as exc:
                failures.append((pos, str(exc)))
                parsed = None
            specs.append(None if parsed is None else list(parsed.items()))
        if failures:
            report.null("attributes", len(failures))
            pos, msg = failures[0]
            report.note(
                f"product_specifications: {len(failures)} unparsable value(s) set to null, "
                f"e.g. {describe_row(df, pos)}: {msg}"
            )
        columns["attributes"] = pa.array(specs, type=pa.map_(pa.string(), pa.string()))
    if "image" in df:
        columns["image_urls"] = _url_lists(df["image"])
    for source in ("pid", "product_url"):
        if source in df:
            columns[source] = text_array(df[source])
    if "crawl_timestamp" in df:
        ts = pd.to_datetime(df["crawl_timestamp"], errors="coerce", utc=True, format="mixed")
        bad_ts = ts.isna().to_numpy() & df["crawl_timestamp"].notna().to_numpy()
        report.null("crawl_ts", int(bad_ts.sum()))
        secs = ts.to_numpy(dtype="datetime64[s]", na_value=np.datetime64("NaT")).astype(np.int64)
        columns["crawl_ts"] = int_array(secs, ts.isna().to_numpy())
    for source in ("product_rating", "overall_rating"):
        if source in df:
            cleaned = df[source].astype("string").str.strip()
            no_rating = (
                cleaned.str.lower().eq("no rating available").fillna(False).to_numpy(dtype=bool)
            )
            columns[source] = numeric_column(
                df.assign(**{source: cleaned.mask(no_rating)}), source, report
            )
    if "is_FK_Advantage_product" in df:
        flag = df["is_FK_Advantage_product"].astype("string").str.strip().str.lower()
        mapped = flag.map({"true": True, "false": False})
        bad_flag = mapped.isna().to_numpy() & flag.notna().to_numpy()
        report.null("is_fk_advantage_product", int(bad_flag.sum()))
        columns["is_fk_advantage_product"] = pa.array(
            mapped.to_numpy(dtype=object, na_value=None), type=pa.bool_()
        )
    columns = {k: v for k, v in columns.items() if v is not None}
    return finish_table(columns, report, "flipkart", path)


# ====================================================================== daangn_listings
DAANGN_COLUMNS = ["title", "price", "url"]
#: Price texts meaning "given away for free" (나눔 = sharing).
DAANGN_FREE = ("나눔", "무료나눔", "무료")
_AGO_UNITS = {
    "초": 1,
    "분": 60,
    "시간": 3600,
    "일": 86_400,
    "주": 7 * 86_400,
    "달": 30 * 86_400,
    "개월": 30 * 86_400,
    "년": 365 * 86_400,
}
_AGO = re.compile(r"(\d+)\s*(초|분|시간|일|주|달|개월|년)\s*전")
_CRAWL_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})-(\d{2})-?(\d{2})-?(\d{2})")
KST = timezone(timedelta(hours=9))


def _crawl_ts(file: Path) -> int | None:
    """Crawl time from a file name like daangn_kr_2026-02-12-16-40-05.csv (KST) -> unix s."""
    m = _CRAWL_TIME.search(file.name)
    if not m:
        return None
    try:
        return int(datetime(*map(int, m.groups()), tzinfo=KST).timestamp())
    except ValueError:
        return None


# A Korean export is UTF-8 or CP949 (EUC-KR's superset); cp1252 would "decode" it into mojibake.
KOREAN_ENCODINGS = ("utf-8-sig", "cp949")


def _daangn_frame(file: Path) -> tuple[pd.DataFrame, LoadReport]:
    df = read_csv(file, dataset="daangn_listings", encoding_candidates=KOREAN_ENCODINGS, **_CSV_TEXT)
    require_columns(df, DAANGN_COLUMNS, file)
    report = report_of(df, file)
    rows = df.index.to_numpy() + 1
    df = df.assign(
        _file=file.name,
        _crawl_ts=_crawl_ts(file),
        _where=[f"{file.name} data row {i}" for i in rows],
    )
    return df, report


@register_loader(
    "daangn_listings",
    returns="catalog",
    sample="listings",
    description="Daangn (Karrot) Korean second-hand listings: titles, KRW prices, counts",
    columns=DAANGN_COLUMNS,
)
def daangn_listings(path: str | Path, *, pattern: str = "daangn*.csv") -> pa.Table:
    """Daangn listings (one CSV, or every `pattern` file of a directory, concatenated).

    Mapping: the listing token at the end of ``url`` -> ``source_id``, ``item_id`` its
    :func:`stable_ids` hash; ``title``; ``description``; ``price`` "15,000원" -> 15000.0 KRW
    and "나눔" (given away) -> 0.0 with ``is_free`` true (other texts -> row rejected);
    ``location``; ``status`` (판매중 on sale, 예약중 reserved, 거래완료 sold); ``category``
    (null where the file has no such column); ``image_count``, ``chat_count``,
    ``interest_count``, ``view_count`` int64; ``manner_temperature`` "36.9°C" -> float64
    (seller rating in °C); ``time`` -> ``posted_ago`` (text, e.g. "끌올 9분 전" = bumped 9
    minutes ago), ``bumped`` bool (끌올), ``crawl_ts`` (from the file name, KST) and
    ``posted_ts`` ≈ crawl_ts minus the age (int64 unix s, as precise as its unit; null if
    unknown); ``url``; ``source_file``. A listing seen in several files is kept once, from
    the newest crawl (the others counted as duplicates).
    """
    files = _csv_files(Path(path), (pattern,), "daangn_listings")
    frames, reports = zip(*(_daangn_frame(f) for f in files), strict=True)
    report = Report(path=str(path), encoding=reports[0].encoding)
    report.rows_read = sum(r.rows_read for r in reports)
    report.blank_rows_dropped = sum(r.blank_rows_dropped for r in reports)
    df = pd.concat(frames, ignore_index=True)
    df.attrs["header_lines"] = 1

    token = df["url"].astype("string").str.strip().str.extract(r"-([0-9A-Za-z]+)/?(?:\?.*)?$")[0]
    token = token.fillna(df["url"].astype("string").str.strip())
    df = df.assign(source_id=token)
    df = reject_rows(df, df["source_id"].isna().to_numpy(), "missing url", report)

    raw_price = df["price"].astype("string").str.strip()
    free = raw_price.isin(DAANGN_FREE).to_numpy(dtype=bool, na_value=False)
    price, bad = parse_money(raw_price.mask(free))
    price = np.where(free, 0.0, price)
    df = df.assign(_price=price, _free=free)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        report.note(f"unparsable price e.g. {raw_price.iloc[first]!r} at {describe_row(df, first)}")
    df = reject_rows(df, bad, "unparsable price", report)
    df = df.sort_values(["_crawl_ts", "_file"], kind="stable", na_position="first")
    again = df.duplicated(subset=["source_id"], keep="last").to_numpy()
    df = reject_rows(df, again, "listing in several crawls (kept the newest)", report).sort_index()
    df = df.assign(item_id=stable_ids(df["source_id"]))
    if df["item_id"].duplicated().any():
        raise DatasetError(f"{path}: two different Daangn listing tokens hash to the same item_id")

    columns: dict[str, Any] = {
        "item_id": pa.array(df["item_id"].to_numpy(dtype=np.int64)),
        "source_id": text_array(df["source_id"]),
        "title": text_array(df["title"]),
        "description": text_array(df["description"]) if "description" in df else None,
        "price": float_array(df["_price"].to_numpy()),
        "is_free": pa.array(df["_free"].to_numpy(dtype=bool)),
        "category": text_array(df["category"])
        if "category" in df
        else pa.nulls(len(df), pa.string()),
    }
    for source in ("location", "status"):
        if source in df:
            columns[source] = text_array(df[source])
    for source in ("image_count", "chat_count", "interest_count", "view_count"):
        if source in df:
            columns[source] = numeric_column(df, source, report, integer=True)
    if "manner_temperature" in df:
        temp = df["manner_temperature"].astype("string").str.replace(r"\s*°\s*C?$", "", regex=True)
        columns["manner_temperature"] = numeric_column(
            df.assign(manner_temperature=temp), "manner_temperature", report
        )
    crawl = df["_crawl_ts"].to_numpy(dtype=np.float64, na_value=np.nan)
    columns["crawl_ts"] = int_array(np.nan_to_num(crawl), np.isnan(crawl))
    if "time" in df:
        ago_text = df["time"].astype("string").str.strip()
        parts = ago_text.str.extract(_AGO)
        seconds = pd.to_numeric(parts[0], errors="coerce") * parts[1].map(_AGO_UNITS)
        secs = seconds.to_numpy(dtype=np.float64, na_value=np.nan)
        unknown = np.isnan(secs) & ago_text.notna().to_numpy()
        report.null("posted_ts", int(unknown.sum()))
        posted = crawl - secs
        columns["posted_ago"] = text_array(ago_text)
        columns["bumped"] = pa.array(
            ago_text.str.startswith("끌올").to_numpy(dtype=bool, na_value=False)
        )
        columns["posted_ts"] = int_array(np.nan_to_num(posted), np.isnan(posted))
    columns["url"] = text_array(df["url"])
    columns["source_file"] = text_array(df["_file"])
    columns = {k: v for k, v in columns.items() if v is not None}
    return finish_table(columns, report, "daangn_listings", path)
