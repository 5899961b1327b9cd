"""``shopml bench listing``: listing drafts on held-out real catalog items, carded.

Protocol (IPL, Xianyu "Intelligent Product Listing"; metrics as in ModICT, "A Multimodal
In-Context Tuning Approach for E-Commerce Product Description Generation", LREC-COLING 2024,
arXiv 2402.13587):

- **Items**: a seeded sample of real listings that have a written description — half from
  the Myntra catalogue, half from Mercari US second-hand listings (D1's corpus table). Each
  item's facts come from its *structured* fields only (title, brand, colour, gender, price,
  condition, size, category, who pays shipping), never from the description, which is the
  reference text. Each item is excluded from the retrieval corpus while it is drafted
  (``exclude_ids``), so a draft can never retrieve its own reference.
- **Methods**, per backend: ``<backend>_raw`` (facts only), ``<backend>_rag`` (facts + k
  retrieved style references), ``<backend>_rag_verified`` (the rag draft after the claim
  checker; with ``feedback_rounds`` > 0 it is regenerated with feedback first). ``reference``
  is the human description itself, scored by the same checker: how much human listings say
  beyond the structured fields.
- **Metrics**: ``rouge_l`` (ROUGE-L F1 against the reference, Lin 2004, implemented here,
  tokens as in Google's rouge-score: lowercase alphanumeric runs, no stemming),
  ``distinct_1`` / ``distinct_2`` (unique n-grams / all n-grams over all of a method's
  drafts, Li et al. 2016, as ModICT's D-n), ``attribute_coverage`` (share of the item's key
  facts — brand, colour, category, size, condition, material, price — that the draft
  mentions), ``hallucination_rate`` (unsupported claims per listing, by
  :mod:`shopml.listing.claims`), ``hallucinated_share`` (share of listings with at least one)
  and ``latency_s`` (seconds per listing, the whole pipeline).
- **Second dataset**: semiPQA data-to-text pairs (Amazon, CDLA-Sharing-1.0: attribute JSON ->
  one human sentence), test_seen split; ``template_raw``, ``<llm>_raw``, ``<llm>_rag`` (the
  most similar train pairs as in-context examples, ModICT-style, by TF-IDF over the
  attribute text) and ``<llm>_rag_verified``.

The hallucination metrics use the same checker that verification uses, so a verified draft
scores near zero by construction on the claim kinds the checker knows; docs/listing.md says
so beside the numbers.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.markup import escape

from shopml.listing.claims import check_claims, extract_claims
from shopml.listing.facts import KEY_FACTS, FormError, SellerForm, normalise_condition
from shopml.listing.prompt import build_prompt
from shopml.listing.template import compose_listing
from shopml.listing.verify import verify_draft

BENCHMARK = "listing"
_TOKEN = re.compile(r"[a-z0-9]+")


# ------------------------------------------------------------------ metrics
def tokens(text: str) -> list[str]:
    """Lowercase alphanumeric tokens (rouge-score's default tokenizer, without stemming)."""
    return _TOKEN.findall(text.lower())


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token lists (row-vectorised DP)."""
    if not a or not b:
        return 0
    vocab = {t: i for i, t in enumerate(set(a) | set(b))}
    a_ids = np.array([vocab[t] for t in a])
    b_ids = np.array([vocab[t] for t in b])
    prev = np.zeros(len(b_ids) + 1, dtype=np.int64)
    for token in a_ids:
        match = b_ids == token
        # cur[j] = prev[j-1] + 1 on a match, else max(prev[j], cur[j-1])
        diag = np.where(match, prev[:-1] + 1, 0)
        cur = np.maximum(prev[1:], diag)
        prev = np.concatenate(([0], np.maximum.accumulate(cur)))
    return int(prev[-1])


def rouge_l(candidate: str, reference: str) -> float:
    """ROUGE-L F1 (beta = 1): 2PR / (P + R) with P = LCS/|cand|, R = LCS/|ref|."""
    cand, ref = tokens(candidate), tokens(reference)
    lcs = lcs_length(cand, ref)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(cand), lcs / len(ref)
    return 2 * precision * recall / (precision + recall)


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Unique n-grams / all n-grams over all texts (0 when there are none)."""
    grams: Counter = Counter()
    for text in texts:
        toks = tokens(text)
        grams.update(zip(*(toks[i:] for i in range(n)), strict=False))
    total = sum(grams.values())
    return len(grams) / total if total else 0.0


def fact_mentioned(key: str, value: str, text: str) -> bool:
    """Whether `text` mentions the fact (all its words; a price as a number)."""
    words = set(tokens(text))
    if key == "price":
        amounts = {float(x.replace(",", "")) for x in re.findall(r"\d[\d,]*(?:\.\d+)?", text)}
        return float(value) in amounts
    need = set(tokens(value))
    return bool(need) and need <= words


def attribute_coverage(
    text: str, facts: Mapping[str, str], keys: Sequence[str] | None = KEY_FACTS
) -> float | None:
    """Share of the facts among `keys` (None: every fact) that `text` mentions (None if none)."""
    present = [k for k in (facts if keys is None else keys) if facts.get(k)]
    if not present:
        return None
    return sum(fact_mentioned(k, facts[k], text) for k in present) / len(present)


def unsupported_count(text: str, facts: Mapping[str, str]) -> int:
    """Number of claims in `text` that the facts do not support."""
    return len(check_claims(extract_claims(text), facts)[1])


def score_method(
    texts: Sequence[str],
    references: Sequence[str],
    facts: Sequence[Mapping[str, str]],
    latencies: Sequence[float] | None,
    with_rouge: bool = True,
    coverage_keys: Sequence[str] | None = KEY_FACTS,
) -> dict[str, float]:
    """Every metric of one method over its drafts."""
    bad = np.array([unsupported_count(t, f) for t, f in zip(texts, facts, strict=True)])
    coverage = [
        attribute_coverage(t, f, coverage_keys) for t, f in zip(texts, facts, strict=True)
    ]
    coverage = [c for c in coverage if c is not None]
    metrics: dict[str, float] = {}
    if with_rouge:
        metrics["rouge_l"] = float(
            np.mean([rouge_l(t, r) for t, r in zip(texts, references, strict=True)])
        )
    metrics["distinct_1"] = distinct_n(texts, 1)
    metrics["distinct_2"] = distinct_n(texts, 2)
    if coverage:
        metrics["attribute_coverage"] = float(np.mean(coverage))
    metrics["hallucination_rate"] = float(bad.mean())
    metrics["hallucinated_share"] = float((bad > 0).mean())
    if latencies is not None:
        metrics["latency_s"] = float(np.mean(latencies))
    return metrics


# ------------------------------------------------------------------ items
@dataclass
class BenchItem:
    """A held-out item: its id, the seller form and attributes built from its fields, reference."""

    item_id: str
    source: str
    form: SellerForm
    attributes: dict[str, str]
    reference: str


def _clip(text: Any, limit: int) -> str | None:
    if text is None or (isinstance(text, float) and np.isnan(text)) or pd.isna(text):
        return None
    text = " ".join(str(text).split())
    if not text or not re.search(r"\w", text):
        return None
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0]


def _condition(value: Any) -> str | None:
    text = _clip(value, 40)
    if text is None:
        return None
    try:
        return normalise_condition(text)
    except FormError:
        return None


def load_items(n: int, seed: int, min_description_chars: int = 40) -> list[BenchItem]:
    """A seeded sample of n listings with descriptions: half Myntra, half Mercari."""
    from shopml.data import load
    from shopml.data.samples import sample_path
    from shopml.listing.corpus import build_corpus

    corpus = build_corpus(sources=("myntra", "mercari"))
    corpus = corpus[corpus["description"].str.len() >= min_description_chars]
    mercari = load("mercari_listings", sample_path("listings/mercari_us_2022_listings.csv"))
    extra = mercari.to_pandas()[["item_id", "size", "shipping_payer"]]
    extra = extra.assign(item_id="mercari:" + extra["item_id"].astype(str))
    corpus = corpus.merge(extra, on="item_id", how="left")
    rng = np.random.default_rng(seed)
    n_mercari = min(n // 2, int((corpus["source"] == "mercari").sum()))
    picks = []
    for source, count in (("mercari", n_mercari), ("myntra", n - n_mercari)):
        pool = corpus[corpus["source"] == source]
        picks.append(pool.iloc[np.sort(rng.choice(len(pool), size=count, replace=False))])
    rows = pd.concat(picks)
    items = []
    for row in rows.itertuples(index=False):
        attributes: dict[str, str] = {}
        colour = _clip(row.colour, 40)
        if colour:
            attributes["baseColour"] = colour
        category = _clip(row.category, 200)
        if category:
            attributes["articleType"] = category.split(">")[-1].strip()
        notes = "Free shipping." if getattr(row, "shipping_payer", None) == "Seller" else None
        form = SellerForm(
            title=_clip(row.title, 120),
            brand=_clip(row.brand, 60),
            condition=_condition(row.condition),
            price=float(row.price) if pd.notna(row.price) else None,
            currency=_clip(row.currency, 8),
            size=_clip(getattr(row, "size", None), 30),
            notes=notes,
        )
        items.append(BenchItem(row.item_id, row.source, form, attributes, row.description))
    return items


# ------------------------------------------------------------------ semiPQA
_SEMI_KEY = re.compile(r"([A-Za-z_]\w*)\s*:\s*[\[{]")
_SEMI_TOKEN = re.compile(
    r"(?P<open>[\[{])|(?P<close>[\]}])"
    r"|\bunit\s*:\s*(?P<unit>\w+)"
    r"|\bvalue\s*:\s*(?:\"(?P<quoted>(?:[^\"\\]|\\.)*)\"|(?P<bare>[^,}\]\s][^,}\]]*))"
)


def _semi_value(text: str) -> str:
    text = text.strip()
    if re.fullmatch(r"-?\d+(?:\.\d*)?", text):
        return f"{float(text):g}"
    return text.replace("_", " ") if re.fullmatch(r"[a-z_]+", text) else text


def parse_semipqa(data: str) -> dict[str, str]:
    """semiPQA attribute text -> facts: ``top: { material:[ { value:"iron" } ] }`` ->
    ``{"top material": "iron"}``; a unit is appended (``260 degrees celsius``); the
    ``normalized_value`` duplicates are skipped; several values are joined with ', '."""
    facts: dict[str, list[str]] = {}
    keys: list[str] = []
    units: list[str | None] = []
    pos = 0
    top_key = ""
    for m in _SEMI_TOKEN.finditer(data):
        if m.group("open"):
            found = _SEMI_KEY.findall(data, pos, m.end())
            key = found[-1] if found else ("" if keys else top_key)  # "{...}; {...}" repeats
            if not keys:
                top_key = key
            keys.append(key)
            units.append(None)
        elif m.group("close"):
            if keys:
                keys.pop()
                units.pop()
        elif m.group("unit"):
            if units:
                units[-1] = m.group("unit").replace("_", " ")
        elif "normalized_value" not in keys:
            raw = m.group("quoted") if m.group("quoted") is not None else m.group("bare")
            value = _semi_value(raw)
            if units and units[-1]:
                value = f"{value} {units[-1]}"
            name = " ".join(k.replace("_", " ") for k in keys if k)
            if value:
                facts.setdefault(name or "value", []).append(value)
        pos = m.end()
    return {k: ", ".join(dict.fromkeys(v)) for k, v in facts.items()}


SENTENCE_RULES = (
    "Rules: write one short sentence about the product that states these attributes. "
    "Do not add anything else."
)


def load_semipqa(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(test rows sampled, train rows) of the semiPQA data-to-text pairs, with parsed facts."""
    from shopml.data.samples import sample_path

    def read(split: str) -> pd.DataFrame:
        path = sample_path(f"product_qa/semiPQA_data-to-text_{split}.csv")
        frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
        frame = frame.assign(facts=frame["data"].map(parse_semipqa))
        return frame[frame["facts"].map(bool) & (frame["text"].str.strip() != "")]

    test, train = read("test_seen"), read("train")
    rng = np.random.default_rng(seed)
    take = np.sort(rng.choice(len(test), size=min(n, len(test)), replace=False))
    return test.iloc[take].reset_index(drop=True), train.reset_index(drop=True)


def _facts_line(facts: Mapping[str, str]) -> str:
    return "; ".join(f"{k}: {v}" for k, v in facts.items())


def semipqa_examples(test: pd.DataFrame, train: pd.DataFrame, k: int) -> list[list[str]]:
    """ModICT-style in-context examples: the k most similar train pairs (TF-IDF of the facts)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    train_text = train["facts"].map(_facts_line)
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4)).fit(train_text)
    sims = vectorizer.transform(test["facts"].map(_facts_line)) @ vectorizer.transform(
        train_text
    ).T
    sims = sims.toarray()
    best = np.argsort(-sims, axis=1)[:, :k]
    return [
        [f"{train_text.iloc[j]} -> {train['text'].iloc[j]}" for j in row] for row in best
    ]


# ------------------------------------------------------------------ the run
@dataclass
class ListingBenchSpec:
    """What ``shopml bench listing`` runs."""

    items: int = 60
    backends: list[str] = field(default_factory=lambda: ["template", "local"])
    seed: int = 0
    semipqa_items: int = 60
    k: int = 3
    feedback_rounds: int = 0
    backend_options: dict[str, dict] = field(default_factory=dict)
    card_dir: Path | None = None
    max_tokens: int = 120
    retriever: Any = None  # None: D1's StyleRetriever.default()


def _progress(console: Any) -> Any:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(), console=console, transient=False,
    )  # fmt: skip


def _retriever_or_none(console: Any) -> Any:
    """The default retriever's corpus, text only (bench items have no photos), cached on disk."""
    try:
        from shopml.data.samples import shared_data_dir
        from shopml.listing.corpus import SOURCES, build_corpus
        from shopml.listing.retrieval import (
            DEFAULT_MAX_ROWS_PER_SOURCE,
            DEFAULT_SEED,
            StyleRetriever,
            cache_root,
            sample_per_source,
        )
    except ImportError as exc:
        console.print(f"[yellow]retrieval unavailable ({escape(str(exc))}); *_rag methods skipped[/]")
        return None
    corpus = build_corpus(shared_data_dir(), list(SOURCES))
    corpus = sample_per_source(corpus, DEFAULT_MAX_ROWS_PER_SOURCE, DEFAULT_SEED)
    console.print(f"style corpus: {len(corpus):,} listings (text index, cached)")
    return StyleRetriever.build(corpus, cache_dir=cache_root() / "bench-text", progress=True)


def run_catalog(spec: ListingBenchSpec, console: Any) -> tuple[list[dict], dict]:
    """Draft every held-out item with every method; return (card results, dataset info)."""
    import torch

    from shopml.listing.pipeline import draft_listing, get_cached_backend

    torch.set_num_threads(1)
    items = load_items(spec.items, spec.seed)
    references = [it.reference for it in items]
    retriever = spec.retriever if spec.retriever is not None else _retriever_or_none(console)
    outputs: dict[str, dict[str, list]] = {}
    for name in spec.backends:
        engine = get_cached_backend(name, spec.backend_options.get(name))
        runs = {f"{name}_raw": ([], [], [])}
        if retriever is not None:
            runs[f"{name}_rag"] = ([], [], [])
            runs[f"{name}_rag_verified"] = ([], [], [])
        with _progress(console) as progress:
            task = progress.add_task(f"listing drafts, {name}", total=len(items))
            for item in items:
                common = {
                    "form": item.form,
                    "backend": engine,
                    "attribute_overrides": item.attributes,
                    "max_tokens": spec.max_tokens,
                    "seed": spec.seed,
                }
                raw = draft_listing([], retrieve=False, verify=False, **common)
                _append(runs[f"{name}_raw"], raw.text, raw.facts, raw.latency_s)
                if retriever is not None:
                    rag = draft_listing(
                        [], retrieve=True, verify=False, k=spec.k, retriever=retriever,
                        exclude_ids={item.item_id}, **common,
                    )  # fmt: skip
                    _append(runs[f"{name}_rag"], rag.text, rag.facts, rag.latency_s)
                    started = time.perf_counter()
                    if spec.feedback_rounds > 0:
                        checked = draft_listing(
                            [], retrieve=True, verify=True, k=spec.k, retriever=retriever,
                            exclude_ids={item.item_id}, feedback_rounds=spec.feedback_rounds,
                            **common,
                        )  # fmt: skip
                        text, latency = checked.text, checked.latency_s
                    else:
                        fallback = compose_listing(rag.facts)
                        text = verify_draft(rag.text, rag.facts, fallback_text=fallback).text
                        latency = rag.latency_s + time.perf_counter() - started
                    _append(runs[f"{name}_rag_verified"], text, rag.facts, latency)
                progress.advance(task)
        outputs.update(runs)
    facts = next(iter(outputs.values()))[1]
    results = [
        {"method": method, "metrics": score_method(texts, references, facts, lats)}
        for method, (texts, _f, lats) in outputs.items()
    ]
    results.append(
        {"method": "reference", "metrics": score_method(references, references, facts, None, False)}
    )
    sources = Counter(it.source for it in items)
    return results, {"items": len(items), "sources": dict(sources)}


def _append(run: tuple[list, list, list], text: str, facts: dict, latency: float) -> None:
    run[0].append(text)
    run[1].append(facts)
    run[2].append(latency)


def run_semipqa(spec: ListingBenchSpec, console: Any) -> list[dict]:
    """semiPQA data-to-text: template and LLM backends, raw / in-context / verified."""
    from shopml.listing.pipeline import clean_generation, get_cached_backend
    from shopml.llm.base import GenerationRequest

    test, train = load_semipqa(spec.semipqa_items, spec.seed)
    examples = semipqa_examples(test, train, spec.k)
    refs = test["text"].tolist()
    facts = test["facts"].tolist()
    outputs: dict[str, tuple[list, list]] = {}
    for name in spec.backends:
        engine = get_cached_backend(name, spec.backend_options.get(name))
        modes: list[tuple[str, bool]] = [("raw", False)]
        if name != "template":
            modes.append(("rag", True))
        for mode, use_examples in modes:
            texts, lats = [], []
            with _progress(console) as progress:
                task = progress.add_task(f"semiPQA, {name}_{mode}", total=len(test))
                for i in range(len(test)):
                    started = time.perf_counter()
                    shots = examples[i] if use_examples else []
                    system, prompt = build_prompt(
                        facts[i], shots, max_reference_chars=200, rules=SENTENCE_RULES,
                        example_intro="Examples of attributes -> sentence for OTHER products:",
                    )  # fmt: skip
                    request = GenerationRequest(
                        prompt=prompt, system=system, facts=dict(facts[i]), references=shots,
                        max_tokens=48, temperature=0.0, seed=spec.seed,
                    )  # fmt: skip
                    text = clean_generation(engine.generate(request))
                    texts.append(text if name == "template" else _first_sentence(text))
                    lats.append(time.perf_counter() - started)
                    progress.advance(task)
            outputs[f"{name}_{mode}"] = (texts, lats)
            if mode == "rag" or name == "template":
                verified, vlats = [], []
                for i, text in enumerate(texts):
                    started = time.perf_counter()
                    fallback = compose_listing(facts[i])
                    verified.append(verify_draft(text, facts[i], fallback_text=fallback).text)
                    vlats.append(lats[i] + time.perf_counter() - started)
                if name != "template":
                    outputs[f"{name}_{mode}_verified"] = (verified, vlats)
    results = [
        {"method": method, "metrics": score_method(texts, refs, facts, lats, coverage_keys=None)}
        for method, (texts, lats) in outputs.items()
    ]
    results.append(
        {"method": "reference", "metrics": score_method(refs, refs, facts, None, False, None)}
    )
    return results


def _first_sentence(text: str) -> str:
    line = text.strip().split("\n", 1)[0]
    match = re.match(r".*?[.!?](?=\s|$)", line)
    return match.group(0) if match else line


#: The columns of the printed results table (the same as docs/listing.md's).
TABLE_METRICS = (
    "rouge_l", "distinct_1", "distinct_2", "attribute_coverage", "hallucination_rate",
    "hallucinated_share", "latency_s",
)  # fmt: skip


def results_table(results: list[dict], title: str) -> Any:
    """One dataset's methods × metrics, as ``shopml bench listing`` prints them ("—": n/a)."""
    from rich.table import Table

    table = Table(title=escape(title))
    table.add_column("method")
    for metric in TABLE_METRICS:
        table.add_column(metric, justify="right")
    for result in results:
        values = [result["metrics"].get(metric) for metric in TABLE_METRICS]
        cells = ["—" if v is None else f"{v:.4f}" for v in values]
        table.add_row(escape(result["method"]), *cells)
    return table


def run_listing_bench(
    spec: ListingBenchSpec, console: Any, write: Callable | None = None
) -> list[Path]:
    """Run semiPQA (if asked) then the catalog benchmark; write one card per dataset.

    The catalog card is written last so that it is the "latest dataset" that
    ``shopml report`` puts into docs/listing.md; both are on docs/results/listing.md."""
    from shopml.data.samples import sample_path
    from shopml.report.cards import sha256_file, write_card

    write = write or write_card
    config = {
        "items": spec.items, "backends": spec.backends, "k": spec.k,
        "feedback_rounds": spec.feedback_rounds, "max_tokens": spec.max_tokens,
        "backend_options": {k: {o: str(v) for o, v in opts.items()}
                            for k, opts in spec.backend_options.items()},
    }  # fmt: skip
    paths = []
    if spec.semipqa_items > 0:
        started = time.perf_counter()
        results = run_semipqa(spec, console)
        file = "product_qa/semiPQA_data-to-text_test_seen.csv"
        dataset = {
            "name": "semipqa_data_to_text",
            "files": [file],
            "sha256": {file: sha256_file(sample_path(file))},
            "items": min(spec.semipqa_items, 199),
        }
        title = f"semiPQA data-to-text: {dataset['items']} pairs, seed {spec.seed}"
        console.print(results_table(results, title))
        paths.append(
            write(BENCHMARK, dataset, spec.seed,
                  {**config, "items": spec.semipqa_items, "wall_s": time.perf_counter() - started},
                  results, out_dir=spec.card_dir)
        )  # fmt: skip
    if spec.items <= 0:
        return paths
    started = time.perf_counter()
    results, info = run_catalog(spec, console)
    files = ["listings/myntra_products_catalog.csv", "listings/mercari_us_2022_listings.csv"]
    dataset = {
        "name": "myntra_mercari_heldout",
        "files": files,
        "sha256": {f: sha256_file(sample_path(f)) for f in files},
        **info,
    }
    title = f"held-out catalog items (Myntra + Mercari): {spec.items} items, seed {spec.seed}"
    console.print(results_table(results, title))
    paths.append(
        write(BENCHMARK, dataset, spec.seed, {**config, "wall_s": time.perf_counter() - started},
              results, out_dir=spec.card_dir)
    )  # fmt: skip
    return paths
