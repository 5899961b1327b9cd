"""A delimited file cut short (an interrupted copy: the last line without a line end and with
fields missing) is refused by every loader reading delimited text, not read with a cut value
or missing fields; complete files, quoted records spanning lines and compressed files keep
loading as before."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import pytest

from shopml.data import DatasetError, load, load_report
from shopml.data.loaders._lines import require_complete_last_line
from shopml.data.samples import SampleDataMissingError, sample_path

CUT = r"the last line has \d+ of \d+ .*-separated fields and no line end .*looks cut short"

# loader, sample, separator, header line, file name the loader accepts
SAMPLED = [
    ("mercari_listings", "listings/mercari_us_2022_listings.csv", ",", True, "m.csv"),
    ("myntra_catalog", "listings/myntra_products_catalog.csv", ",", True, "m.csv"),
    ("flipkart", "listings/flipkart_com-ecommerce_sample.csv", ",", True, "f.csv"),
    ("daangn_listings", "listings/daangn_kr_2026-02-12-16-40-05.csv", ",", True, "daangn.csv"),
    ("google_merch_sessions", "journeys/google_merch_store_all_sessions.csv", ",", True, "g.csv"),
    ("attribution_journeys", "journeys/attribution_data_subset62k.csv", ",", True, "j.csv"),
    ("hillstrom", "hillstrom/hillstrom.csv", ",", True, "h.csv"),
    ("criteo_uplift", "criteo_uplift/criteo-uplift-v2.1-head1000.csv", ",", True, "c.csv"),
    ("diginetica", "diginetica/train-item-views-sample.csv", ";", True, "d.csv"),
    ("taobao_userbehavior", "taobao/UserBehavior-head.csv", ",", False, "t.csv"),
    ("epqa", "product_qa/ePQA_dev.csv", ",", True, "e.csv"),
    ("hetpqa", "product_qa/hetPQA_answer_generation_dev.csv", "\t", True, "h_dev.csv"),
    ("semipqa", "product_qa/semiPQA_data-to-text_dev.csv", "\t", True, "s_dev.csv"),
]


def _records(path: Path, sep: str, n: int) -> list[list[str]]:
    """The first `n` records of a sample (quoted fields, line ends inside quotes kept)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter=sep)
        return [row for _, row in zip(range(n), reader, strict=False)]


def _write(path: Path, rows: list[list[str]], sep: str, cut: list[str] | None = None) -> Path:
    """`rows` as complete lines, then optionally `cut` (the fields of a line cut short, the
    last one itself cut) with no line end."""
    out = io.StringIO()
    csv.writer(out, delimiter=sep, lineterminator="\n").writerows(rows)
    if cut is not None:
        csv.writer(out, delimiter=sep, lineterminator="").writerow(cut)
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def _cut_copy(records: list[list[str]], header: bool, tmp_path: Path, sep: str, name: str):
    """(complete file, cut file): the cut one ends in the next record's first half of fields,
    its last field itself cut in two."""
    body = records[:-1]
    last = records[-1]
    keep = max(1, len(last) // 2)
    cut = [*last[: keep - 1], last[keep - 1][: max(1, len(last[keep - 1]) // 2)]]
    whole = _write(tmp_path / f"whole_{name}", body, sep)
    broken = _write(tmp_path / name, body, sep, cut)
    assert len(cut) < len(records[0] if header else last)
    return whole, broken


def _sample(relative: str) -> Path:
    try:
        return sample_path(relative)
    except SampleDataMissingError as exc:
        pytest.skip(f"shared data sample missing: {exc}")


@pytest.mark.parametrize(("name", "sample", "sep", "header", "file"), SAMPLED)
def test_a_cut_last_line_is_refused(
    name: str, sample: str, sep: str, header: bool, file: str, tmp_path: Path
) -> None:
    records = _records(_sample(sample), sep, 41)
    whole, broken = _cut_copy(records, header, tmp_path, sep, file)
    load(name, whole)  # the complete lines load
    with pytest.raises(DatasetError, match=CUT):
        load(name, broken)


def test_fashion_styles_cut_short_is_refused_but_gzip_is_left_to_the_decompressor(
    tmp_path: Path,
) -> None:
    records = _records(_sample("fashion_images/styles.csv.gz"), ",", 41)
    whole, broken = _cut_copy(records, True, tmp_path, ",", "styles.csv")
    assert load("fashion_images", whole).num_rows == 39
    with pytest.raises(DatasetError, match=CUT):
        load("fashion_images", broken)
    # a whole gzip stream of the cut text is not checked (a cut stream fails to decompress):
    # the styles reader rejects the short row and counts it, as before
    packed = tmp_path / "packed"
    packed.mkdir()
    (packed / "styles.csv.gz").write_bytes(gzip.compress(broken.read_bytes()))
    report = load_report(load("fashion_images", packed))
    assert report["rows"] == 39 and report["rejected"] == {"too few fields (expected 10)": 1}


def _criteo_line(click: str, conv: str) -> list[str]:
    return [click, conv, "1", "", "3", "4", "5", "6", "7", "8", *[f"c{i}" for i in range(9)]]


@pytest.mark.parametrize("name", ["criteo_conversion", "cascade", "trace"])
def test_tab_separated_conversion_logs_cut_short_are_refused(name: str, tmp_path: Path) -> None:
    if name == "criteo_conversion":
        rows = [_criteo_line(str(100 * i), "") for i in range(1, 6)]
    elif name == "cascade":
        rows = [[str(100 * i), "-1", "-1", *["0"] * 22] for i in range(1, 6)]
    else:
        header = [f"feature_{i}" for i in range(22)] + ["click_time", "pay_time", "dirpay_amt"]
        rows = [header] + [[*["0"] * 22, str(100 * i), "[]", "[]"] for i in range(1, 6)]
    whole, broken = _cut_copy(rows, name == "trace", tmp_path, "\t", "data.txt")
    load(name, whole)
    with pytest.raises(DatasetError, match=CUT):
        load(name, broken)


def test_quoted_last_records_are_counted_as_the_reader_reads_them(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    # the last record spans two lines and holds the separator inside quotes: complete
    path.write_text('a,b,c\n1,2,3\n4,"x\ny, z",6')
    require_complete_last_line(path, ",", 3)
    # its last physical line alone has 2 fields; the record has 2 of 3: cut short
    path.write_text('a,b,c\n1,2,3\n4,"x\ny, z"')
    with pytest.raises(DatasetError, match=r"2 of 3"):
        require_complete_last_line(path, ",", 3)
    # a quote is plain text for a reader that does not quote (quoting=3)
    path.write_text('a\tb\tc\n1\t2\t3\n4\t"x')
    with pytest.raises(DatasetError, match=r"2 of 3"):
        require_complete_last_line(path, "\t", 3, quoted=False)


def test_mercari_last_record_spanning_lines_without_line_end_loads(tmp_path: Path) -> None:
    records = _records(_sample("listings/mercari_us_2022_listings.csv"), ",", 6)
    description = records[0].index("description")
    records[-1][description] = "line one\nline two, with a comma"
    path = _write(tmp_path / "m.csv", records, ",")
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    table = load("mercari_listings", path)
    assert table.num_rows == 5
    assert table.column("description").to_pylist()[-1] == "line one\nline two, with a comma"
