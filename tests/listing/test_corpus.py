"""build_corpus: column mapping, usable-description filter with counted drops, real files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
import pytest

from shopml.data.samples import sample_path
from shopml.listing.corpus import (
    CORPUS_COLUMNS,
    CorpusError,
    build_corpus,
    corpus_report,
    corpus_text,
)

MERCARI = textwrap.dedent(
    """\
    id,name,description,price,brandName,itemConditionName,itemCategoryNameLevel0,itemCategoryNameLevel1,itemCategoryNameLevel2
    m1,Red dress,"Red  summer dress,
    worn once, size M",1500,Zara,Like new,Women,Dresses,Midi
    m2,Blue jeans,,2000,Levi's,Good,Women,Jeans,Straight
    m3,Hat,Nice hat,500,,Good,Men,Hats,
    m4,Bag,Bag,900,,New,Women,Bags,Totes
    m5,Other dress,"Red summer dress, worn once, size M",1500,Zara,Like new,Women,Dresses,Midi
    m6,Grey coat,Warm grey wool coat for winter,4000,,Fair,Women,Coats,
    """
)
DAANGN = textwrap.dedent(
    """\
    title,price,url,description
    자전거,"15,000원",https://www.daangn.com/kr/buy-sell/bike-abc123/,상태 좋은 자전거 팝니다 직거래만 가능해요
    """
)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    listings = tmp_path / "listings"
    listings.mkdir()
    (listings / "mercari_us_2022_listings.csv").write_text(MERCARI, encoding="utf-8")
    (listings / "daangn_kr_2026-02-12-170004.csv").write_text(DAANGN, encoding="utf-8")
    return tmp_path


def test_hand_built_files_map_and_drops_are_counted(data_dir: Path) -> None:
    corpus = build_corpus(data_dir, sources=("mercari", "daangn"))
    assert list(corpus.columns) == CORPUS_COLUMNS
    assert corpus["item_id"].tolist() == ["mercari:1", "mercari:6", corpus["item_id"].iloc[2]]
    assert corpus["item_id"].iloc[2].startswith("daangn:")
    first = corpus.iloc[0]
    assert first["title"] == "Red dress"
    assert first["description"] == "Red summer dress, worn once, size M"  # whitespace normalised
    assert first["category"] == "Women > Dresses > Midi"
    assert (first["brand"], first["condition"], first["price"], first["currency"]) == (
        "Zara",
        "Like new",
        15.0,  # Mercari prices are integer cents
        "USD",
    )
    assert corpus.iloc[1]["category"] == "Women > Coats"
    daangn = corpus.iloc[2]
    assert (daangn["price"], daangn["currency"], daangn["language"]) == (15000.0, "KRW", "ko")
    assert corpus["image_path"].isna().all()

    report = corpus_report(corpus)["sources"]
    assert report["mercari"]["rows_loaded"] == 6
    assert report["mercari"]["rows_kept"] == 2
    assert report["mercari"]["rows_dropped"] == {
        "no description": 1,  # m2
        "description under 20 characters": 2,  # m3 "Nice hat", m4 "Bag"
        "description repeats an earlier row's": 1,  # m5 repeats m1
    }
    assert report["daangn"]["rows_kept"] == 1 and report["daangn"]["rows_dropped"] == {}
    loaded, kept = report["mercari"]["rows_loaded"], report["mercari"]["rows_kept"]
    assert loaded - kept == sum(report["mercari"]["rows_dropped"].values())  # nothing lost


def test_corpus_text_joins_title_and_description() -> None:
    frame = pd.DataFrame(
        {
            "title": ["Hat", None, "New!", "Cap"],
            "description": ["A warm hat.", "Only text", "Big.", None],
        }
    )
    assert corpus_text(frame).tolist() == ["Hat. A warm hat.", "Only text", "New! Big.", "Cap"]


def test_unknown_source_and_missing_file_are_named(data_dir: Path) -> None:
    with pytest.raises(CorpusError, match=r"unknown corpus source\(s\) \['ebay'\]"):
        build_corpus(data_dir, sources=("ebay",))
    with pytest.raises(CorpusError, match=r"'myntra'.*myntra_products_catalog\.csv does not exist"):
        build_corpus(data_dir, sources=("myntra",))


def test_real_listing_files() -> None:
    root = sample_path("listings").parent
    corpus = build_corpus(root)
    report = corpus_report(corpus)["sources"]
    assert set(corpus["source"].unique()) == {"mercari", "myntra", "flipkart", "daangn"}
    assert corpus["item_id"].is_unique
    assert corpus["description"].str.len().min() >= 20
    for name, counts in report.items():
        assert counts["rows_loaded"] - counts["rows_kept"] == sum(counts["rows_dropped"].values())
        assert (corpus["source"] == name).sum() == counts["rows_kept"]
    # the sample files as described in PROVENANCE.md: 300 Mercari rows (7 identical repeats),
    # 11,320 Myntra rows, 999 filled Flipkart rows, 278 + 64 Daangn rows (64 seen twice)
    assert report["mercari"]["rows_in_file"] == 300 and report["mercari"]["rows_loaded"] == 293
    assert report["myntra"]["rows_loaded"] == 11_320
    assert report["flipkart"]["rows_loaded"] == 999
    assert report["daangn"]["rows_in_file"] == 342 and report["daangn"]["rows_loaded"] == 278
    myntra = corpus[corpus["source"] == "myntra"]
    assert myntra["colour"].notna().mean() > 0.9 and myntra["brand"].notna().all()
    flipkart = corpus[corpus["source"] == "flipkart"]
    assert flipkart["category"].str.count(" > ").max() <= 2  # at most 3 levels kept
