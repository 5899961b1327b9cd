"""The style corpus: past listings from the real listing files as one catalog table.

Built from the marketplace listing files through the dataset loaders
(:mod:`shopml.data.loaders.catalogs`): Mercari US second-hand listings, the Myntra
catalogue, the Flipkart 2016 crawl and Daangn (Karrot) Korean second-hand listings. These
are the "similar past listings" that IPL (Xianyu, "Intelligent Product Listing") retrieves to
imitate the platform's style, and ModICT's in-context references (Z. Zhu et al., "A
Multimodal In-Context Tuning Approach for E-Commerce Product Description Generation",
LREC-COLING 2024, arXiv:2402.13587): a reference is only useful with a description, so rows
without a usable one are dropped, and every drop is counted (``corpus_report``).

Columns: ``item_id`` (``"<source>:<loader item_id>"``, unique across sources), ``source``,
``title``, ``description``, ``category``, ``brand``, ``colour``, ``price``, ``currency``,
``condition``, ``language``, ``image_path`` (null: these files carry photo URLs, not
photos). Text is whitespace-normalised; everything is vectorised pandas.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "CORPUS_COLUMNS",
    "MIN_DESCRIPTION_CHARS",
    "SOURCES",
    "CorpusError",
    "CorpusSource",
    "build_corpus",
    "corpus_report",
    "corpus_text",
]

log = logging.getLogger(__name__)

CORPUS_COLUMNS = [
    "item_id",
    "source",
    "title",
    "description",
    "category",
    "brand",
    "colour",
    "price",
    "currency",
    "condition",
    "language",
    "image_path",
]
#: A description shorter than this (after whitespace normalisation) is not a usable reference.
MIN_DESCRIPTION_CHARS = 20
#: Category levels kept (Flipkart's trees go on to the product name itself).
MAX_CATEGORY_LEVELS = 3
REPORT_ATTR = "corpus_report"


class CorpusError(ValueError):
    """A source name is unknown, or a listing file is missing or unreadable."""


@dataclass(frozen=True)
class CorpusSource:
    """One listing source: its loader, sample path and how its columns map to the corpus."""

    name: str
    loader: str
    relative_path: str
    currency: str
    language: str
    colour: Callable[[pd.DataFrame], pd.Series] | None = None


def _myntra_colour(df: pd.DataFrame) -> pd.Series:
    return df["primary_color"] if "primary_color" in df else _nulls(df)


def _flipkart_colour(df: pd.DataFrame) -> pd.Series:
    """The ``Color`` entry of Flipkart's specification map (null where absent)."""
    if "attributes" not in df:
        return _nulls(df)
    pairs = df["attributes"].explode().dropna()
    if pairs.empty:
        return _nulls(df)
    keys = pairs.str[0].astype("string").str.strip().str.lower()
    colour = pairs.str[1][keys.isin(["color", "colour"]).to_numpy()]
    colour = colour[~colour.index.duplicated(keep="first")]
    return colour.reindex(df.index).astype("string")


#: Registry of listing sources (name -> how to load and map it).
SOURCES: dict[str, CorpusSource] = {
    s.name: s
    for s in (
        CorpusSource(
            "mercari", "mercari_listings", "listings/mercari_us_2022_listings.csv", "USD", "en"
        ),
        CorpusSource(
            "myntra",
            "myntra_catalog",
            "listings/myntra_products_catalog.csv",
            "INR",
            "en",
            _myntra_colour,
        ),
        CorpusSource(
            "flipkart",
            "flipkart",
            "listings/flipkart_com-ecommerce_sample.csv",
            "INR",
            "en",
            _flipkart_colour,
        ),
        CorpusSource("daangn", "daangn_listings", "listings", "KRW", "ko"),
    )
}


def _nulls(df: pd.DataFrame) -> pd.Series:
    return pd.Series(pd.NA, index=df.index, dtype="string")


def _clean_text(values: pd.Series) -> pd.Series:
    """Whitespace runs -> one space, stripped; empty -> NA."""
    s = values.astype("string").str.replace(r"\s+", " ", regex=True).str.strip()
    return s.mask(s == "")


def _column(df: pd.DataFrame, name: str) -> pd.Series:
    return df[name].astype("string") if name in df else _nulls(df)


def _normalise(source: CorpusSource, df: pd.DataFrame) -> pd.DataFrame:
    """A loader's catalog frame -> the corpus columns (no rows dropped here)."""
    category = _clean_text(_column(df, "category"))
    levels = category.str.split(" > ", regex=False).str[:MAX_CATEGORY_LEVELS]
    category = levels.str.join(" > ").astype("string")
    colour = source.colour(df) if source.colour is not None else _nulls(df)
    return pd.DataFrame(
        {
            "item_id": source.name + ":" + df["item_id"].astype("string"),
            "source": source.name,
            "title": _clean_text(_column(df, "title")),
            "description": _clean_text(_column(df, "description")),
            "category": category,
            "brand": _clean_text(_column(df, "brand")),
            "colour": _clean_text(colour.astype("string")),
            "price": pd.to_numeric(df["price"], errors="coerce").astype("float64")
            if "price" in df
            else np.nan,
            "currency": source.currency,
            "condition": _clean_text(_column(df, "condition")),
            "language": source.language,
            "image_path": _nulls(df),
        }
    ).reset_index(drop=True)


def _drop(
    frame: pd.DataFrame, bad: np.ndarray, reason: str, counts: dict[str, int]
) -> pd.DataFrame:
    n = int(np.asarray(bad, dtype=bool).sum())
    if n:
        counts[reason] = counts.get(reason, 0) + n
    return frame.loc[~np.asarray(bad, dtype=bool)]


def _usable(frame: pd.DataFrame, counts: dict[str, int]) -> pd.DataFrame:
    """Keep rows whose description can serve as a style reference; count the rest."""
    desc = frame["description"]
    frame = _drop(frame, desc.isna().to_numpy(), "no description", counts)
    short = frame["description"].str.len().to_numpy() < MIN_DESCRIPTION_CHARS
    frame = _drop(frame, short, f"description under {MIN_DESCRIPTION_CHARS} characters", counts)
    same = (frame["description"].str.lower() == frame["title"].str.lower()).to_numpy(
        dtype=bool, na_value=False
    )
    frame = _drop(frame, same, "description repeats the title", counts)
    repeated = frame.duplicated(subset=["description"], keep="first").to_numpy()
    return _drop(frame, repeated, "description repeats an earlier row's", counts)


def build_corpus(
    data_dir: Path | None = None,
    sources: Sequence[str] = ("mercari", "myntra", "flipkart", "daangn"),
) -> pd.DataFrame:
    """The listing corpus (one row per usable past listing); drop counts in ``corpus_report``."""
    from shopml.data import load, load_report
    from shopml.data.loaders import DatasetError
    from shopml.data.samples import shared_data_dir

    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise CorpusError(f"unknown corpus source(s) {unknown}; known: {sorted(SOURCES)}")
    if not sources:
        raise CorpusError("no corpus sources given")
    root = Path(data_dir) if data_dir is not None else shared_data_dir()
    frames: list[pd.DataFrame] = []
    report: dict[str, Any] = {"data_dir": str(root), "sources": {}}
    for name in dict.fromkeys(sources):
        source = SOURCES[name]
        path = root / source.relative_path
        if not path.exists():
            raise CorpusError(f"corpus source {name!r}: {path} does not exist")
        try:
            table = load(source.loader, path)
        except DatasetError as exc:
            raise CorpusError(f"corpus source {name!r}: {exc}") from exc
        loader_report = load_report(table)
        normalised = _normalise(source, table.to_pandas())
        dropped: dict[str, int] = {}
        kept = _usable(normalised, dropped)
        report["sources"][name] = {
            "path": str(path),
            "rows_in_file": int(loader_report.get("rows_read", len(normalised))),
            "rows_rejected_by_loader": int(loader_report.get("rows_rejected", 0))
            + int(loader_report.get("blank_rows_dropped", 0)),
            "rows_loaded": len(normalised),
            "rows_dropped": dropped,
            "rows_kept": len(kept),
        }
        log.info(
            "corpus %s: %d of %d rows kept, dropped %s", name, len(kept), len(normalised), dropped
        )
        frames.append(kept)
    corpus = pd.concat(frames, ignore_index=True)
    for column in CORPUS_COLUMNS:
        if column not in ("price",):
            corpus[column] = corpus[column].astype("string")
    corpus.attrs[REPORT_ATTR] = report
    return corpus[CORPUS_COLUMNS]


def corpus_report(corpus: pd.DataFrame) -> dict[str, Any]:
    """Per-source counts of rows read, rejected by the loader, dropped (by reason) and kept."""
    return dict(corpus.attrs.get(REPORT_ATTR, {}))


def corpus_text(corpus: pd.DataFrame) -> pd.Series:
    """The text embedded for each corpus row: ``title. description`` (vectorised)."""
    title = corpus["title"].astype("string").fillna("").str.strip()
    desc = corpus["description"].astype("string").fillna("").str.strip()
    ends = title.str.contains(r"[.!?]$", regex=True).to_numpy(dtype=bool, na_value=False)
    joined = title + pd.Series(np.where(ends, " ", ". "), index=title.index) + desc
    joined = joined.mask(title == "", desc).mask(desc == "", title)
    return joined.astype("string")
