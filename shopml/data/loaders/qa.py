"""Product question answering tables: Amazon QA (McAuley) and Amazon Science's contextual
product QA (semiPQA, hetPQA, ePQA).

``amazon_qa`` - Amazon question/answer data (M. Wan, J. McAuley, "Modeling ambiguity,
    subjectivity, and diverging viewpoints in opinion question answering systems", ICDM
    2016; J. McAuley, A. Yang, "Addressing complex and subjective product-related queries
    with customer reviews", WWW 2016). Research use only. One Python dict literal per
    line (single-quoted, so not JSON), parsed with ``ast.literal_eval`` (safe: literals
    only); ``.gz`` read transparently.
``semipqa``, ``hetpqa``, ``epqa`` - Amazon Science's contextual product QA datasets
    (github.com/amazon-science/contextual-product-qa), licence CDLA-Sharing-1.0 (see
    ``LICENSE-contextual-product-qa`` beside the sample). semiPQA: X. Shen, G. Barlacchi,
    M. Del Tredici, W. Cheng, A. de Gispert, "semiPQA: A Study on Product Question
    Answering over Semi-structured Data", ECNLP 2022 (data-to-text files: attribute ->
    written sentence). hetPQA: X. Shen et al., "Product Answer Generation from
    Heterogeneous Sources: A New Benchmark and Best Practices", ECNLP 2022 (answer
    generation files; called "USB" in early versions of the repository). ePQA: the
    repository's ``ePQA/`` folder (question-candidate relevance and answers; see the
    repository README for its paper). semiPQA and hetPQA files are tab-separated despite
    the ``.csv`` name; ePQA is comma-separated.

These loaders return ``pyarrow.Table``s whose schema metadata carries the load report
(``b"shopml_load_report"``; read it with :func:`shopml.data.loaders.catalogs.load_report`).
semiPQA / hetPQA / ePQA loaders take one file, or a directory plus ``split``; the released
repository's names (``train.csv``) and the sample's (``semiPQA_data-to-text_train.csv``)
are both found; ``split="all"`` concatenates every split, with a ``split`` column.
"""

from __future__ import annotations

import ast
import gzip
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from shopml.data.loaders import DatasetError, register_loader
from shopml.data.loaders._common import check_file, read_csv, report_of, require_columns
from shopml.data.loaders.catalogs import (
    WHERE,
    Report,
    finish_table,
    int_array,
    numeric_column,
    reject_rows,
    text_array,
)

__all__ = [
    "EPQA_SPLITS",
    "HETPQA_SPLITS",
    "SEMIPQA_SPLITS",
    "amazon_qa",
    "epqa",
    "hetpqa",
    "semipqa",
]

SEMIPQA_SPLITS = ("train", "dev", "test_seen", "test_unseen")
HETPQA_SPLITS = ("train", "dev", "test")
EPQA_SPLITS = ("train", "dev", "test")
_TSV = {"sep": "\t", "dtype": str, "keep_default_na": False, "na_values": [""]}
_CSV = {"dtype": str, "keep_default_na": False, "na_values": [""]}


# ====================================================================== amazon_qa
AMAZON_QA_KEYS = ["asin", "question", "answer"]


def _read_lines(path: Path) -> list[str]:
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        return raw.decode("utf-8-sig").split("\n")
    except (OSError, EOFError) as exc:
        raise DatasetError(f"{path}: cannot read: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise DatasetError(
            f"{path}: not UTF-8 text (byte offset {exc.start}): {exc.reason}"
        ) from exc


@register_loader(
    "amazon_qa",
    returns="table",
    sample="product_qa/qa_Appliances.json.gz",
    description="Amazon product QA (McAuley), one category: questions, answers, yes/no types",
)
def amazon_qa(path: str | Path) -> pa.Table:
    """Amazon QA file (one Python dict literal per line, .gz or plain) as a table.

    Mapping: ``asin``; ``questionType`` -> ``question_type`` ("yes/no" / "open-ended");
    ``answerType`` -> ``answer_type`` ("Y", "N", "?"; null for open-ended questions);
    ``question``; ``answer``; ``unixTime`` -> ``ts`` int64 (from ``answerTime`` "Jun 27,
    2014" where unixTime is missing; counted in the notes); ``answerTime`` ->
    ``answer_time`` text. Blank lines are dropped and counted; a line that is not a dict
    literal raises DatasetError naming its line; the multi-answer release (``questions``
    lists) is refused with a clear message. Lines missing asin, question or answer are
    rejected and counted.
    """
    p = check_file(path, "amazon_qa")
    lines = _read_lines(p)
    if lines and lines[-1] == "":
        lines.pop()
    records: list[dict[str, Any]] = []
    where: list[str] = []
    blank = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            blank += 1
            continue
        try:
            value = ast.literal_eval(line.strip())
        except (ValueError, SyntaxError, MemoryError, RecursionError) as exc:
            raise DatasetError(
                f"{p}: line {number} is not a Python dict literal: {type(exc).__name__}: {exc}"
            ) from exc
        if not isinstance(value, dict):
            raise DatasetError(f"{p}: line {number} is a {type(value).__name__}, not a dict")
        if "questions" in value and "question" not in value:
            raise DatasetError(
                f"{p}: line {number} is in the multiple-answer format ('questions' lists), "
                "which amazon_qa does not read; use the single-answer qa_<Category> files"
            )
        records.append(value)
        where.append(f"{p.name} line {number}")
    report = Report(path=str(p), encoding="utf-8", rows_read=len(records))
    report.blank_rows_dropped = blank
    df = pd.DataFrame.from_records(records)
    df[WHERE] = where
    missing_keys = [k for k in AMAZON_QA_KEYS if k not in df.columns]
    if missing_keys:
        raise DatasetError(f"{p}: no line has the required key(s) {missing_keys}")
    for key in AMAZON_QA_KEYS:
        s = df[key].astype("string").str.strip()
        df = reject_rows(
            df, (s.isna() | (s == "")).to_numpy(dtype=bool, na_value=True), f"missing {key}", report
        )

    unix = (
        pd.to_numeric(df["unixTime"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        if "unixTime" in df
        else np.full(len(df), np.nan)
    )
    if "answerTime" in df:
        parsed = pd.to_datetime(df["answerTime"], errors="coerce", utc=True, format="mixed")
        secs = parsed.to_numpy(dtype="datetime64[s]", na_value=np.datetime64("NaT"))
        fallback = np.where(parsed.isna().to_numpy(), np.nan, secs.astype(np.int64))
        filled = int((np.isnan(unix) & ~np.isnan(fallback)).sum())
        if filled:
            report.note(f"ts: {filled} row(s) without unixTime dated from answerTime")
        unix = np.where(np.isnan(unix), fallback, unix)
    report.null("ts", int(np.isnan(unix).sum()))
    columns: dict[str, Any] = {
        "asin": text_array(df["asin"]),
        "question_type": text_array(df["questionType"]) if "questionType" in df else None,
        "answer_type": text_array(df["answerType"]) if "answerType" in df else None,
        "question": text_array(df["question"]),
        "answer": text_array(df["answer"]),
        "ts": int_array(np.nan_to_num(unix), np.isnan(unix)),
        "answer_time": text_array(df["answerTime"]) if "answerTime" in df else None,
    }
    columns = {k: v for k, v in columns.items() if v is not None}
    return finish_table(columns, report, "amazon_qa", p, catalog=False)


# ====================================================================== split files
def _split_files(
    path: Path, split: str | None, splits: tuple[str, ...], prefix: str, dataset: str, default: str
) -> list[tuple[str, Path]]:
    """(split, file) pairs for a file or a directory + split (see the module docstring)."""
    if not path.is_dir():
        p = check_file(path, dataset)
        found = next((s for s in sorted(splits, key=len, reverse=True) if p.stem.endswith(s)), None)
        if split is not None and split != "all" and found is not None and found != split:
            raise DatasetError(f"{dataset}: {p} looks like the {found!r} split, not {split!r}")
        return [(split if split not in (None, "all") else found or "", p)]
    wanted = list(splits) if split == "all" else [split or default]
    out = []
    for name in wanted:
        if name not in splits:
            raise DatasetError(f"{dataset}: unknown split {name!r}; known: {list(splits)}")
        names = dict.fromkeys([name, name.replace("_", "")])
        candidates = [path / f"{pre}{n}.csv" for n in names for pre in (prefix, "")]
        file = next((c for c in candidates if c.is_file()), None)
        if file is None:
            if split == "all":
                continue
            raise DatasetError(
                f"{dataset}: no file for split {name!r} in {path} "
                f"(looked for {[c.name for c in candidates]})"
            )
        out.append((name, file))
    if not out:
        raise DatasetError(f"{dataset}: no split files in {path}")
    return out


def _read_splits(
    files: list[tuple[str, Path]], required: list[str], dataset: str, **kw: Any
) -> tuple[pd.DataFrame, Report]:
    frames = []
    report = Report(path=", ".join(str(f) for _, f in files))
    for split, file in files:
        df = read_csv(file, dataset=dataset, **kw)
        require_columns(df, required, file)
        r = report_of(df, file)
        report.encoding = report.encoding or r.encoding
        report.rows_read += r.rows_read
        report.blank_rows_dropped += r.blank_rows_dropped
        rows = df.index.to_numpy() + 1
        frames.append(
            df.assign(split=split, **{WHERE: [f"{file.name} data row {i}" for i in rows]})
        )
    return pd.concat(frames, ignore_index=True), report


def _reject_blank(df: pd.DataFrame, keys: list[str], report: Report) -> pd.DataFrame:
    for key in keys:
        s = df[key].astype("string").str.strip()
        df = reject_rows(
            df, (s.isna() | (s == "")).to_numpy(dtype=bool, na_value=True), f"missing {key}", report
        )
    return df


# ====================================================================== semipqa
@register_loader(
    "semipqa",
    returns="table",
    sample="product_qa",
    description="semiPQA data-to-text: product attribute (semi-structured) -> sentence",
)
def semipqa(path: str | Path, split: str | None = None) -> pa.Table:
    """semiPQA data-to-text (tab-separated ``data`` and ``text``) as a table.

    `path` is one split file or a directory; `split` is train (default), dev, test_seen,
    test_unseen or "all". Mapping: ``data`` (the attribute in Amazon's semi-structured
    notation, e.g. ``item_shape: { value:"Circular" }``; not JSON, kept verbatim) ->
    ``data``; ``attribute`` = the name before the first colon; ``text`` (the written
    sentence) -> ``text``; ``split``. Rows with an empty data or text are rejected.
    """
    files = _split_files(
        Path(path), split, SEMIPQA_SPLITS, "semiPQA_data-to-text_", "semipqa", "train"
    )
    df, report = _read_splits(files, ["data", "text"], "semipqa", **_TSV)
    df = _reject_blank(df, ["data", "text"], report)
    attribute = df["data"].astype("string").str.extract(r"^\s*([^:{}\s]+)\s*:")[0]
    report.null("attribute", int(attribute.isna().sum()))
    columns = {
        "attribute": text_array(attribute),
        "data": text_array(df["data"]),
        "text": text_array(df["text"]),
        "split": text_array(df["split"]),
    }
    return finish_table(columns, report, "semipqa", path, catalog=False)


# ====================================================================== hetpqa
HETPQA_COLUMNS = ["ASIN", "question", "candidate", "answer", "source"]


@register_loader(
    "hetpqa",
    returns="table",
    sample="product_qa",
    description="hetPQA answer generation: question + evidence (6 source types) -> answer",
    columns=HETPQA_COLUMNS,
)
def hetpqa(path: str | Path, split: str | None = None) -> pa.Table:
    """hetPQA answer-generation files (tab-separated) as a table.

    `path` is one split file or a directory; `split` is train (default), dev, test or
    "all". Mapping: ``ASIN`` -> ``asin``; ``question``; ``candidate`` (the evidence text;
    attribute evidence is in Amazon's semi-structured notation); ``answer`` (written
    answer); ``source`` kept as given (CQA, Desc, OSP, attribute, bullet, review);
    ``split``. Rows with an empty question, candidate or answer are rejected.
    """
    files = _split_files(
        Path(path), split, HETPQA_SPLITS, "hetPQA_answer_generation_", "hetpqa", "train"
    )
    df, report = _read_splits(files, HETPQA_COLUMNS, "hetpqa", **_TSV)
    df = _reject_blank(df, ["question", "candidate", "answer"], report)
    columns = {
        "asin": text_array(df["ASIN"]),
        "question": text_array(df["question"]),
        "candidate": text_array(df["candidate"]),
        "answer": text_array(df["answer"]),
        "source": text_array(df["source"]),
        "split": text_array(df["split"]),
    }
    return finish_table(columns, report, "hetpqa", path, catalog=False)


# ====================================================================== epqa
EPQA_COLUMNS = ["qid", "question", "ASIN", "candidate", "source", "label"]


@register_loader(
    "epqa",
    returns="table",
    sample="product_qa/ePQA_dev.csv",
    description="ePQA: question-candidate pairs with relevance 0/1/2 and written answers",
    columns=EPQA_COLUMNS,
)
def epqa(path: str | Path, split: str | None = None) -> pa.Table:
    """ePQA (comma-separated) as a table.

    `path` is one file or a directory with `split` dev (default), train, test or "all".
    Mapping: ``qid`` -> int64; ``question``; ``ASIN`` -> ``asin``; ``candidate``;
    ``source`` (review, attribute, cqa, description, bullet); ``qa_pair_id`` -> int64;
    ``title``; ``label`` int64 relevance 0/1/2 (anything else -> row rejected);
    ``answer`` (written only for relevant pairs; null otherwise); ``split``. Rows with a
    non-integer qid are rejected.
    """
    files = _split_files(Path(path), split, EPQA_SPLITS, "ePQA_", "epqa", "dev")
    df, report = _read_splits(files, EPQA_COLUMNS, "epqa", **_CSV)
    df = _reject_blank(df, ["question"], report)
    qid = pd.to_numeric(df["qid"].astype("string").str.strip(), errors="coerce")
    qid_f = qid.astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
    df = reject_rows(
        df, np.isnan(qid_f) | (np.nan_to_num(qid_f) % 1 != 0), "qid is not an integer", report
    )
    label = pd.to_numeric(df["label"].astype("string").str.strip(), errors="coerce")
    label_f = label.astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
    df = reject_rows(df, ~np.isin(label_f, [0.0, 1.0, 2.0]), "label not in {0, 1, 2}", report)
    columns: dict[str, Any] = {
        "qid": pa.array(pd.to_numeric(df["qid"].str.strip()).to_numpy(dtype=np.int64)),
        "question": text_array(df["question"]),
        "asin": text_array(df["ASIN"]),
        "candidate": text_array(df["candidate"]),
        "source": text_array(df["source"]),
    }
    if "qa_pair_id" in df:
        columns["qa_pair_id"] = numeric_column(df, "qa_pair_id", report, integer=True)
    if "title" in df:
        columns["title"] = text_array(df["title"])
    columns["label"] = pa.array(pd.to_numeric(df["label"].str.strip()).to_numpy(dtype=np.int64))
    columns["answer"] = (
        text_array(df["answer"]) if "answer" in df else pa.nulls(len(df), pa.string())
    )
    columns["split"] = text_array(df["split"])
    return finish_table(columns, report, "epqa", path, catalog=False)
