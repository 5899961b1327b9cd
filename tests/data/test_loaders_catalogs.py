"""Catalog, review, fit and product-QA loaders on the real samples in ../shared/data and on
corrupted or hand-built copies in tmp_path."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from shopml.data import DatasetError, load
from shopml.data.loaders import loaders
from shopml.data.loaders.catalogs import (
    check_image,
    daangn_listings,
    fashion_images,
    flipkart,
    load_report,
    mercari_listings,
    myntra_catalog,
    parse_flipkart_specs,
    parse_money,
    snake_case,
    stable_ids,
)
from shopml.data.loaders.qa import amazon_qa, epqa, hetpqa, semipqa
from shopml.data.loaders.reviews import (
    amazon_fashion,
    bust_parts,
    height_cm,
    modcloth,
    normalise_fit,
    read_json_objects,
    renttherunway,
    weight_kg,
)
from shopml.data.samples import SampleDataMissingError, sample_path

CATALOGS = ["fashion_images", "myntra_catalog", "mercari_listings", "flipkart", "daangn_listings"]
TABLES = ["amazon_fashion", "modcloth", "renttherunway", "amazon_qa", "semipqa", "hetpqa", "epqa"]


def _sample(relative: str) -> Path:
    try:
        return sample_path(relative)
    except SampleDataMissingError as exc:
        pytest.skip(f"shared data sample missing: {exc}")


def _row(table: pa.Table, column: str, value: object) -> dict:
    rows = table.filter(pc.equal(table[column], value)).to_pylist()
    assert len(rows) == 1, (column, value, len(rows))
    return rows[0]


# ------------------------------------------------------------------- registry and samples
def test_registered_with_samples() -> None:
    info = loaders()
    for name in CATALOGS:
        assert info[name].returns == "catalog", name
    for name in TABLES:
        assert info[name].returns == "table", name
    for name in CATALOGS + TABLES:
        assert info[name].sample, name
        _sample(info[name].sample)


@pytest.mark.parametrize(
    ("name", "kwargs", "rows"),
    [
        ("fashion_images", {}, 44_446),
        ("fashion_images", {"with_images_only": True}, 8_653),
        ("myntra_catalog", {}, 11_320),
        ("mercari_listings", {}, 293),
        ("flipkart", {}, 999),
        ("daangn_listings", {}, 278),
        ("amazon_fashion", {}, 3_176),
        ("modcloth", {}, 100),
        ("renttherunway", {}, 100),
        ("amazon_qa", {}, 9_011),
        ("semipqa", {}, 2_352),
        ("semipqa", {"split": "dev"}, 246),
        ("semipqa", {"split": "test_seen"}, 199),
        ("semipqa", {"split": "all"}, 2_352 + 246 + 199),
        ("hetpqa", {}, 3_693),
        ("hetpqa", {"split": "dev"}, 398),
        ("hetpqa", {"split": "test"}, 2_289),
        ("epqa", {}, 9_770),
    ],
)
def test_sample_row_counts_and_report(name: str, kwargs: dict, rows: int) -> None:
    _sample(loaders()[name].sample)
    table = load(name, **kwargs)
    assert isinstance(table, pa.Table)
    assert table.num_rows == rows
    report = load_report(table)
    assert report["dataset"] == name and report["rows"] == rows
    assert report["rows_read"] == rows + report["rows_rejected"] + sum(
        report["rows_filtered"].values()
    )
    if loaders()[name].returns == "catalog":
        ids = table["item_id"]
        assert ids.type == pa.int64() and ids.null_count == 0
        assert pc.count_distinct(ids).as_py() == rows


def test_fashion_images_sample() -> None:
    _sample("fashion_images/styles.csv.gz")
    t = load("fashion_images")
    assert {"title", "category", "image_path", "article_type", "base_colour", "year"} <= set(
        t.column_names
    )
    assert t["image_path"].null_count == 44_446 - 8_653
    row = _row(t, "item_id", 15970)
    assert row["title"] == "Turtle Check Men Navy Blue Shirt"
    assert row["category"] == "Apparel > Topwear > Shirts"
    assert row["year"] == 2011
    assert Path(row["image_path"]).is_absolute() and Path(row["image_path"]).is_file()
    quoted = _row(t, "item_id", 7491)  # a quoted title with an escaped double quote
    assert quoted["title"] == "Nike Women's EM Tempo 3.5\" Pink Short"
    assert check_image(row["image_path"]) == (224, 224)


def test_catalog_samples_known_values() -> None:
    _sample("listings/myntra_products_catalog.csv")
    myntra = load("myntra_catalog")
    row = _row(myntra, "item_id", 10017413)
    assert (row["brand"], row["price"], row["primary_color"]) == ("DKNY", 11745.0, "Black")
    assert "Unnamed" not in " ".join(myntra.column_names)

    mercari = load("mercari_listings")
    row = _row(mercari, "item_id", 22320342524)
    assert row["source_id"] == "m22320342524"
    assert (row["price"], row["original_price"]) == (18.0, 25.0)  # API cents -> dollars
    assert row["condition"] == "Good" and row["category"] == "Women > Tops & blouses > Tank Tops"
    assert load_report(mercari)["rejected"] == {"duplicate item_id (identical row)": 7}

    fk = load("flipkart")
    report = load_report(fk)
    assert report["blank_rows_dropped"] == 3_995
    row = _row(fk, "source_id", "c2d766ca982eca8304150849735ffef9")
    attrs = dict(row["attributes"])
    assert attrs["Fabric"] == "Cotton Lycra" and attrs["Pattern"] == "Solid"
    assert (row["price"], row["retail_price"]) == (379.0, 999.0)
    assert row["category"].startswith("Clothing > Women's Clothing > ")
    assert row["product_rating"] is None and row["crawl_ts"] == 1458946763
    assert fk["attributes"].null_count <= 1

    kr = load("daangn_listings")
    row = _row(kr, "source_id", "rcc3c4mbpq8a")
    assert row["price"] == 5000.0 and not row["is_free"] and row["bumped"]
    assert row["posted_ts"] == row["crawl_ts"] - 9 * 60
    assert row["manner_temperature"] == 69.8
    free = kr.filter(kr["is_free"])
    assert free.num_rows == 2 and set(free["price"].to_pylist()) == {0.0}
    assert load_report(kr)["rejected"] == {"listing in several crawls (kept the newest)": 64}
    # the 64 listings seen twice come from the newer crawl, which has the category column
    assert kr["category"].null_count == 278 - 64


def test_review_and_fit_samples_known_values() -> None:
    _sample("amazon_fashion/AMAZON_FASHION_5.json")
    af = load("amazon_fashion")
    first = af.slice(0, 1).to_pylist()[0]
    assert first["asin"] == "B000K2PJ4K" and first["rating"] == 5.0
    assert (first["size"], first["color"]) == ("Big Boys", "Blue/Orange")
    assert first["ts"] == 1441324800 and first["verified"] is True
    assert af["vote"].null_count == 3_176 - 297
    assert "reviewer_name" not in af.column_names

    mc = load("modcloth")
    first = mc.slice(0, 1).to_pylist()[0]
    assert (first["item_id"], first["user_id"], first["fit"]) == (123373, 991571, "small")
    assert first["height_cm"] == pytest.approx(167.64)
    assert (first["bust_size"], first["bra_band"], first["cup_size"]) == ("34d", 34, "d")
    assert set(mc["fit"].to_pylist()) == {"small", "fit", "large"}

    rtr = load("renttherunway")
    first = rtr.slice(0, 1).to_pylist()[0]
    assert first["weight_kg"] == pytest.approx(137 * 0.45359237, abs=0.01)
    assert first["height_cm"] == pytest.approx(172.72)
    assert first["rented_for"] == "vacation" and first["ts"] == 1461110400


def test_qa_samples_known_values() -> None:
    _sample("product_qa/qa_Appliances.json.gz")
    qa = load("amazon_qa")
    first = qa.slice(0, 1).to_pylist()[0]
    assert (first["asin"], first["question_type"], first["ts"]) == (
        "B00004U9JP",
        "yes/no",
        1403852400,
    )
    # unixTime is missing where answerTime is relative ("21 days ago"): ts null, counted
    assert qa["ts"].null_count == load_report(qa)["values_nulled"]["ts"] == 421

    semi = load("semipqa")
    assert semi.slice(0, 1).to_pylist()[0] == {
        "attribute": "brand",
        "data": 'brand: { value:"CHANEL" }',
        "text": "The brand is Chanel.",
        "split": "train",
    }
    het = load("hetpqa", split="dev")
    assert set(het["source"].to_pylist()) == {"CQA", "Desc", "bullet", "review", "OSP", "attribute"}
    ep = load("epqa")
    assert set(ep["label"].to_pylist()) == {0, 1, 2}
    assert ep["answer"].null_count == 6_415


# ------------------------------------------------------------------- missing files
@pytest.mark.parametrize("name", CATALOGS + TABLES)
def test_missing_file_is_a_dataset_error(name: str, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        load(name, tmp_path / "nope.csv")
    with pytest.raises(DatasetError, match="nope"):
        loaders()[name].fn(tmp_path / "nope.csv")


# ------------------------------------------------------------------- fashion_images
STYLES_HEADER = (
    "id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage,"
    "productDisplayName\n"
)


def _jpeg(path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (8, 8), (200, 10, 10)).save(path, "JPEG")


def test_fashion_images_repairs_extra_commas_and_counts(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    _jpeg(tmp_path / "images" / "1.jpg")
    _jpeg(tmp_path / "images" / "99.jpg")  # no styles row: noted
    text = STYLES_HEADER + (
        "1,Men,Apparel,Topwear,Shirts,Blue,Fall,2011,Casual,Basics Men Blue, Grey Shirt\n"
        "2,Women,Apparel,Topwear,Tops,Red,Summer,2012,Casual,Plain top\n"
        ",,,,,,,,,\n"
        "\n"
        "3,Women,Apparel\n"
        "x4,Men,Footwear,Shoes,Casual Shoes,Black,Fall,2011,Casual,Bad id\n"
        "2,Women,Apparel,Topwear,Tops,Red,Summer,2012,Casual,Plain top\n"
        '5,Men,Footwear,Shoes,Flats,Black,Fall,20xx,Casual,"Quoted, ""title"""\n'
        '6,Men,Footwear,Shoes,Flats,Black,Fall,2011,Casual,"Open quote, no end\n'
    )
    (tmp_path / "styles.csv").write_text("\ufeff" + text, encoding="utf-8")
    t = fashion_images(tmp_path)
    assert t["item_id"].to_pylist() == [1, 2, 5, 6]
    assert t["title"].to_pylist() == [
        "Basics Men Blue, Grey Shirt",
        "Plain top",
        'Quoted, "title"',
        '"Open quote, no end',
    ]
    assert t["image_path"].to_pylist()[0] == str((tmp_path / "images" / "1.jpg").resolve())
    assert t["image_path"].to_pylist()[1:] == [None, None, None]
    assert t["year"].to_pylist() == [2011, 2012, None, 2011]
    r = load_report(t)
    assert r["blank_rows_dropped"] == 2
    assert r["rows_repaired"] == {
        "stray quote (split on commas)": 1,
        "extra commas kept in productDisplayName": 2,
    }
    assert r["rejected"] == {
        "too few fields (expected 10)": 1,
        "unparsable id": 1,
        "duplicate item_id (identical row)": 1,
    }
    assert r["values_nulled"] == {"year": 1}
    assert any("line 6" in n for n in r["notes"])  # the short row is named by its line
    assert any("no styles row" in n for n in r["notes"])
    only = fashion_images(tmp_path / "styles.csv", with_images_only=True)
    assert only["item_id"].to_pylist() == [1]
    assert load_report(only)["rows_filtered"] == {"no photo (with_images_only)": 3}


def test_fashion_images_gz_and_missing_column(tmp_path: Path) -> None:
    body = STYLES_HEADER + "1,Men,Apparel,Topwear,Shirts,Blue,Fall,2011,Casual,Shirt\n"
    (tmp_path / "styles.csv.gz").write_bytes(gzip.compress(body.encode()))
    assert fashion_images(tmp_path / "styles.csv.gz").num_rows == 1
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "styles.csv").write_text(body.replace("baseColour", "colour"))
    with pytest.raises(DatasetError, match="baseColour"):
        fashion_images(bad / "styles.csv")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match=r"no styles\.csv"):
        fashion_images(tmp_path / "empty")


def test_broken_image_is_named(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    good = tmp_path / "images" / "1.jpg"
    _jpeg(good)
    assert check_image(good) == (8, 8)
    broken = tmp_path / "images" / "2.jpg"
    broken.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with pytest.raises(DatasetError, match=r"2\.jpg"):
        check_image(broken)
    (tmp_path / "images" / "3.jpg").write_bytes(b"not an image at all")
    with pytest.raises(DatasetError, match=r"3\.jpg"):
        check_image(tmp_path / "images" / "3.jpg")
    with pytest.raises(DatasetError, match="does not exist"):
        check_image(tmp_path / "images" / "4.jpg")
    text = STYLES_HEADER + "".join(
        f"{i},Men,Apparel,Topwear,Shirts,Blue,Fall,2011,Casual,Shirt {i}\n" for i in (1, 2)
    )
    (tmp_path / "styles.csv").write_text(text)
    assert fashion_images(tmp_path / "styles.csv").num_rows == 2  # not decoded by default
    with pytest.raises(DatasetError, match=r"2\.jpg"):
        fashion_images(tmp_path / "styles.csv", check_images=True)


# ------------------------------------------------------------------- listings
def test_myntra_bom_header_and_bad_price(tmp_path: Path) -> None:
    src = _sample("listings/myntra_products_catalog.csv")
    lines = src.read_text(encoding="utf-8").splitlines(keepends=True)
    path = tmp_path / "myntra.csv"
    path.write_text("\ufeff" + "".join(lines[:50]), encoding="utf-8")
    t = myntra_catalog(path)
    assert t.num_rows == 49 and t["item_id"][0].as_py() == 10017413
    header = lines[0].replace("Price,", "Price (INR),")
    bad_row = "77,Thing,Brand,Men,abc,3,desc,Red,\n"
    path.write_text(header + "".join(lines[1:5]) + bad_row, encoding="utf-8")
    t = myntra_catalog(path)
    assert t.num_rows == 4
    r = load_report(t)
    assert r["rejected"] == {"unparsable Price": 1} and any("line 6" in n for n in r["notes"])
    path.write_text(lines[0].replace("Price,", "Cost,") + lines[1], encoding="utf-8")
    with pytest.raises(DatasetError, match="Price"):
        myntra_catalog(path)


def test_mercari_missing_column_and_dollar_prices(tmp_path: Path) -> None:
    src = _sample("listings/mercari_us_2022_listings.csv")
    df = pd.read_csv(src, dtype=str, keep_default_na=False).head(5)
    df.drop(columns=["price"]).to_csv(tmp_path / "noprice.csv", index=False)
    with pytest.raises(DatasetError, match=r"noprice\.csv.*'price'"):
        mercari_listings(tmp_path / "noprice.csv")
    df = df.assign(price=["$1,299.00", "$18", "12.5", "", "free?"])
    df.to_csv(tmp_path / "dollars.csv", index=False)
    t = mercari_listings(tmp_path / "dollars.csv")
    assert t["price"].to_pylist() == [1299.0, 18.0, 12.5, None]
    r = load_report(t)
    assert r["rejected"] == {"unparsable price": 1}
    assert any("dollars" in n for n in r["notes"])


def test_mercari_auto_price_unit_refuses_integer_dollars_it_cannot_tell_from_cents(
    tmp_path: Path,
) -> None:
    src = _sample("listings/mercari_us_2022_listings.csv")
    df = pd.read_csv(src, dtype=str, keep_default_na=False).head(4)
    dollars = df.assign(price=["25", "18", "7", "300"], originalPrice=["30", "", "9", "300"])
    dollars.to_csv(tmp_path / "int_dollars.csv", index=False)
    with pytest.raises(
        DatasetError,
        match=r"int_dollars\.csv: price_unit='auto' cannot tell cents from dollars: .*"
        r"\(e\.g\. '25' in 'price' at data row 1 \(line 2\)\).*price_unit='dollars'",
    ):
        mercari_listings(tmp_path / "int_dollars.csv")
    t = mercari_listings(tmp_path / "int_dollars.csv", price_unit="dollars")
    assert t["price"].to_pylist() == [25.0, 18.0, 7.0, 300.0]
    assert mercari_listings(tmp_path / "int_dollars.csv", price_unit="cents")[
        "price"
    ].to_pylist() == [0.25, 0.18, 0.07, 3.0]
    # the API's form: integer cents of whole-dollar prices, read as cents and said so
    cents = df.assign(price=["2500", "1800", "700", "30000"])
    cents.to_csv(tmp_path / "cents.csv", index=False)
    t = mercari_listings(tmp_path / "cents.csv")
    assert t["price"].to_pylist() == [25.0, 18.0, 7.0, 300.0]
    assert any(
        n.startswith("prices read as cents (price_unit='auto': every price is a whole number")
        and "price_unit='dollars'" in n
        for n in load_report(t)["notes"]
    )
    with pytest.raises(DatasetError, match=r"price_unit='euros': expected"):
        mercari_listings(tmp_path / "cents.csv", price_unit="euros")  # type: ignore[arg-type]


def test_flipkart_specs_parser() -> None:
    text = (
        '{"product_specification"=>[{"key"=>"Fabric", "value"=>"Cotton"}, '
        '{"value"=>"1 Dress"}, {"key"=>"Note", "value"=>"a => b, \\"quoted\\""}, '
        '{"key"=>"Fabric", "value"=>"Lycra"}, {"key"=>"Gone", "value"=>nil}]}'
    )
    assert parse_flipkart_specs(text) == {
        "Fabric": "Cotton; Lycra",
        "_unkeyed": "1 Dress",
        "Note": 'a => b, "quoted"',
    }
    single = '{"product_specification"=>{"key"=>"Type", "value"=>"Mug"}}'
    assert parse_flipkart_specs(single) == {"Type": "Mug"}
    assert parse_flipkart_specs(None) is None and parse_flipkart_specs("  ") is None
    with pytest.raises(ValueError):
        parse_flipkart_specs('{"product_specification"=>[{"key"=>"Type", "value"=>')
    with pytest.raises(ValueError):
        parse_flipkart_specs("__import__('os')")


def test_flipkart_bad_spec_is_nulled_and_counted(tmp_path: Path) -> None:
    src = _sample("listings/flipkart_com-ecommerce_sample.csv")
    df = pd.read_csv(src, dtype=str, keep_default_na=False, nrows=3)
    df.loc[1, "product_specifications"] = '{"product_specification"=>[{"key"=>'
    df.loc[2, "discounted_price"] = "n/a"
    df.to_csv(tmp_path / "fk.csv", index=False)
    with open(tmp_path / "fk.csv", "a") as fh:
        fh.write("," * 14 + "\n" + "," * 14 + "\n")
    t = flipkart(tmp_path / "fk.csv")
    r = load_report(t)
    assert t.num_rows == 2 and r["blank_rows_dropped"] == 2
    assert r["values_nulled"] == {"attributes": 1}
    assert r["rejected"] == {"unparsable discounted_price or retail_price": 1}
    assert t["attributes"].to_pylist()[1] is None


def test_daangn_single_file_prices(tmp_path: Path) -> None:
    header = "title,price,location,time,status,description,url\n"
    rows = (
        'a,"15,000원",대전,3시간 전,판매중,d,https://www.daangn.com/kr/buy-sell/a-aaa111/\n'
        "b,나눔,대전,끌올 2일 전,판매중,d,https://www.daangn.com/kr/buy-sell/b-bbb222/\n"
        "c,가격문의,대전,1분 전,판매중,d,https://www.daangn.com/kr/buy-sell/c-ccc333/\n"
    )
    path = tmp_path / "daangn_kr_2026-01-01-12-00-00.csv"
    path.write_text(header + rows, encoding="utf-8")
    t = daangn_listings(path)
    assert t["source_id"].to_pylist() == ["aaa111", "bbb222"]
    assert t["price"].to_pylist() == [15000.0, 0.0]
    assert t["is_free"].to_pylist() == [False, True]
    crawl = t["crawl_ts"][0].as_py()
    assert crawl == 1767236400  # 2026-01-01 12:00 KST
    assert t["posted_ts"].to_pylist() == [crawl - 3 * 3600, crawl - 2 * 86_400]
    r = load_report(t)
    assert r["rejected"] == {"unparsable price": 1}
    assert any("data row 3" in n for n in r["notes"])
    with pytest.raises(DatasetError, match="no file matching"):
        daangn_listings(tmp_path, pattern="nothing*.csv")


def test_helpers() -> None:
    values, bad = parse_money(pd.Series(["$1,299.50", "₹ 799", "15,000원", "", None, "-3", "x"]))
    assert values[:3].tolist() == [1299.5, 799.0, 15000.0]
    assert np.isnan(values[3:]).all()
    assert bad.tolist() == [False, False, False, False, False, True, True]
    assert snake_case("productDisplayName") == "product_display_name"
    assert snake_case("Price (INR)") == "price_inr" and snake_case("Size Name:") == "size_name"
    ids = stable_ids(["a", "b", "a"])
    assert ids.dtype == np.int64 and ids[0] == ids[2] != ids[1] and (ids >= 0).all()
    assert load_report(pa.table({"x": [1]})) == {}


# ------------------------------------------------------------------- JSON reviews / fit
def test_amazon_fashion_truncated_json_names_position(tmp_path: Path) -> None:
    src = _sample("amazon_fashion/AMAZON_FASHION_5.json")
    text = src.read_text(encoding="utf-8")
    cut = text.index("{", 2000) + 40  # inside an object after a few whole ones
    path = tmp_path / "truncated.json"
    path.write_text(text[:cut], encoding="utf-8")
    with pytest.raises(
        DatasetError, match=r"truncated\.json: object #\d+ starting at line \d+"
    ) as e:
        amazon_fashion(path)
    assert "byte offset" in str(e.value)


def test_amazon_fashion_json_lines_and_bad_rows(tmp_path: Path) -> None:
    src = _sample("amazon_fashion/AMAZON_FASHION_5.json")
    objects, starts = read_json_objects(src)
    assert len(objects) == 3_176 and starts[:2] == [1, 16]
    objects = objects[:4]
    del objects[1]["overall"]
    objects[2]["style"] = {"Size Name:": " XL", "Color:": " Red"}
    objects[3]["vote"] = "1,234"
    path = tmp_path / "reviews.json.gz"
    path.write_bytes(gzip.compress("\n".join(json.dumps(o) for o in objects).encode()))
    t = amazon_fashion(path)
    assert t.num_rows == 3
    assert t["vote"].to_pylist() == [None, None, 1234]
    assert t["size_name"].to_pylist() == [None, "XL", None]
    r = load_report(t)
    assert r["rejected"] == {"missing overall": 1}
    assert any("object #2 (line 2)" in n for n in r["notes"])
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(DatasetError, match="only JSON objects"):
        amazon_fashion(tmp_path / "list.json")
    (tmp_path / "nokeys.json").write_text('{"a": 1}\n{"a": 2}\n')
    with pytest.raises(DatasetError, match="asin"):
        amazon_fashion(tmp_path / "nokeys.json")


def test_fit_normalisation() -> None:
    cm, bad = height_cm(pd.Series(["5ft 6in", "5' 8\"", "5'6", "6 ft", "66in", "168cm", "x", None]))
    assert cm[:6].tolist() == pytest.approx([167.64, 172.72, 167.64, 182.88, 167.64, 168.0])
    assert bad.tolist() == [False] * 6 + [True, False]
    kg, bad = weight_kg(pd.Series(["137lbs", "137 lb", "137", "62kg", "heavy"]))
    assert kg[:4].tolist() == pytest.approx([62.14, 62.14, 62.14, 62.0])
    assert bad.tolist() == [False, False, False, False, True]
    band, cup, bad = bust_parts(pd.Series(["34d", "34ddd/e", "36", "d34"]))
    assert band.tolist()[:3] == [34, 34, 36] and cup.tolist()[:2] == ["d", "ddd/e"]
    assert bad.tolist() == [False, False, False, True]
    fit, bad = normalise_fit(pd.Series(["Small", "true to size", "Too Big", "meh"]))
    assert fit.tolist()[:3] == ["small", "fit", "large"] and bad.tolist()[3]


def test_fit_tables_count_unparsable_values(tmp_path: Path) -> None:
    rows = [
        {
            "item_id": "1",
            "user_id": "10",
            "fit": "fit",
            "size": 4,
            "height": "5ft 6in",
            "weight": "130lbs",
            "bust size": "34b",
            "rating": "10",
            "review_date": "May 1, 2016",
        },
        {
            "item_id": "2",
            "user_id": "11",
            "fit": "weird",
            "size": 8,
            "height": "tall",
            "weight": "?",
            "bust size": "big",
            "rating": "8",
            "review_date": "someday",
        },
        {"item_id": "abc", "user_id": "12", "fit": "small", "size": 8},
    ]
    path = tmp_path / "rtr.json"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    t = renttherunway(path)
    assert t["item_id"].to_pylist() == [1, 2]
    assert t["fit"].to_pylist() == ["fit", None]
    r = load_report(t)
    assert r["rejected"] == {"item_id is not an integer": 1}
    assert r["values_nulled"] == {
        "fit": 1,
        "height_cm": 1,
        "weight_kg": 1,
        "bust_size": 1,
        "ts": 1,
    }
    mc = tmp_path / "mc.json"
    mc.write_text(
        json.dumps(
            {
                "item_id": "5",
                "user_id": "6",
                "fit": "large",
                "size": 3,
                "bra size": "36",
                "cup size": "dd/e",
                "hips": "40.0",
            }
        )
        + "\n"
    )
    row = modcloth(mc).to_pylist()[0]
    assert (row["bust_size"], row["bra_band"], row["cup_size"]) == ("36dd/e", 36, "dd/e")
    assert row["hips_in"] == 40.0
    path.write_text('{"item_id": "1", "user_id": "2", "fit": "fit"}\n{"item_id": "3", "us')
    with pytest.raises(DatasetError, match=r"object #2 starting at line 2"):
        renttherunway(path)


# ------------------------------------------------------------------- QA
def test_amazon_qa_bad_line_and_blank_lines(tmp_path: Path) -> None:
    good = "{'asin': 'A1', 'questionType': 'yes/no', 'answerType': 'Y', 'question': 'q?', 'answer': 'yes', 'unixTime': 1400000000, 'answerTime': 'May 13, 2014'}"
    no_unix = "{'asin': 'A2', 'questionType': 'open-ended', 'question': 'q2?', 'answer': 'a', 'answerTime': 'Jun 27, 2014'}"
    path = tmp_path / "qa.json"
    path.write_text(f"{good}\n\n{no_unix}\n")
    t = amazon_qa(path)
    assert t["ts"].to_pylist() == [1400000000, 1403827200]
    assert load_report(t)["blank_rows_dropped"] == 1
    path.write_text(f"{good}\n{good[:-10]}\n")
    with pytest.raises(DatasetError, match="line 2"):
        amazon_qa(path)
    path.write_text(f"{good}\n__import__('os').system('true')\n")
    with pytest.raises(DatasetError, match="line 2 is not a Python dict literal"):
        amazon_qa(path)
    path.write_text("{'asin': 'A', 'questions': []}\n")
    with pytest.raises(DatasetError, match="multiple-answer"):
        amazon_qa(path)


def test_qa_split_selection(tmp_path: Path) -> None:
    folder = _sample("product_qa")
    train = folder / "semiPQA_data-to-text_train.csv"
    assert semipqa(train)["split"][0].as_py() == "train"
    with pytest.raises(DatasetError, match="'train' split, not 'dev'"):
        semipqa(train, split="dev")
    with pytest.raises(DatasetError, match="unknown split"):
        hetpqa(folder, split="validation")
    with pytest.raises(DatasetError, match="no file for split 'test_unseen'"):
        semipqa(folder, split="test_unseen")
    # the released repository's layout: <split>.csv / testseen.csv
    shutil.copy(folder / "semiPQA_data-to-text_test_seen.csv", tmp_path / "testseen.csv")
    assert semipqa(tmp_path, split="test_seen").num_rows == 199


def test_epqa_bad_label_and_missing_column(tmp_path: Path) -> None:
    src = _sample("product_qa/ePQA_dev.csv")
    df = pd.read_csv(src, dtype=str, keep_default_na=False).head(6)
    df.loc[2, "label"] = "3"
    df.loc[4, "qid"] = "x"
    df.to_csv(tmp_path / "dev.csv", index=False)
    t = epqa(tmp_path)
    assert t.num_rows == 4
    assert load_report(t)["rejected"] == {"qid is not an integer": 1, "label not in {0, 1, 2}": 1}
    df.drop(columns=["label"]).to_csv(tmp_path / "nolabel.csv", index=False)
    with pytest.raises(DatasetError, match="label"):
        epqa(tmp_path / "nolabel.csv")
    hdir = tmp_path / "het"
    hdir.mkdir()
    header = "ASIN\tquestion\tcandidate\tanswer\tsource\n"
    (hdir / "dev.csv").write_text(header + "B1\tq\tc\t\tCQA\nB2\tq2\tc2\ta2\treview\n")
    t = hetpqa(hdir, split="dev")
    assert t["asin"].to_pylist() == ["B2"]
    assert load_report(t)["rejected"] == {"missing answer": 1}
    (hdir / "dev.csv").write_text(header + "B1\tq\tc\t\tCQA\n")
    with pytest.raises(DatasetError, match="every row was rejected"):
        hetpqa(hdir, split="dev")


def test_a_korean_listing_file_in_cp949_is_decoded(tmp_path: Path) -> None:
    from shopml.data import load
    from shopml.data.samples import sample_path

    source = sorted(sample_path("listings").glob("daangn_kr_*.csv"))[0]
    path = tmp_path / "daangn.csv"
    path.write_bytes(source.read_text(encoding="utf-8-sig").encode("cp949", errors="replace"))
    decoded = load("daangn_listings", path).column("title").to_pylist()
    titles = load("daangn_listings", source).column("title").to_pylist()
    # characters cp949 lacks (emoji) were written as '?'
    assert decoded == [t.encode("cp949", errors="replace").decode("cp949") for t in titles]


def test_amazon_reviews_with_impossible_ratings_or_times_are_counted(tmp_path: Path) -> None:
    from shopml.data import load
    from shopml.data.loaders._common import load_report
    from shopml.data.samples import sample_path

    text = sample_path("amazon_fashion/AMAZON_FASHION_5.json").read_text()
    first = text.index('"overall"')
    edited = text[:first] + '"overall": 7.0, "was_overall"' + text[first + len('"overall"'):]
    stamp = edited.index('"unixReviewTime"', edited.index('"unixReviewTime"') + 1)  # 2nd review
    end = edited.index("\n", stamp)
    edited = edited[:stamp] + '"unixReviewTime": 1441324800000' + edited[end:]
    path = tmp_path / "reviews.json"
    path.write_text(edited)
    table = load("amazon_fashion", path)
    report = load_report(table)
    assert report["rejected"] == {"overall outside 1..5 stars": 1}
    assert report["values_nulled"] == {"ts (outside 2000..2100: milliseconds?)": 1}
