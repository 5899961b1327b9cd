"""Listing benchmark metrics against hand-computed values, semiPQA parsing, a tiny carded run."""

import io
import json

import pytest
from rich.console import Console

from shopml.listing.bench import (
    ListingBenchSpec,
    attribute_coverage,
    distinct_n,
    lcs_length,
    parse_semipqa,
    rouge_l,
    run_listing_bench,
    score_method,
)


def test_lcs_and_rouge_l_hand_computed():
    assert lcs_length(list("abcbdab"), list("bdcaba")) == 4  # CLRS example
    # cand 6 tokens, ref 6 tokens, LCS "the cat on the mat" = 5: P = R = 5/6
    assert rouge_l("the cat sat on the mat", "The cat is on the mat.") == pytest.approx(5 / 6)
    # cand 2, ref 4, LCS 2: P = 1, R = 1/2, F = 2/3
    assert rouge_l("red shirt", "a red cotton shirt") == pytest.approx(2 / 3)
    assert rouge_l("", "anything") == 0.0 and rouge_l("x", "y") == 0.0


def test_rouge_l_matches_google_rouge_score():
    rouge_score = pytest.importorskip("rouge_score.rouge_scorer")
    scorer = rouge_score.RougeScorer(["rougeL"], use_stemmer=False)
    pairs = [
        ("Nike black tee, size M. Good condition!", "Used Nike tee in good condition, size M"),
        ("Navy blue casual shirt for men by Parx.", "Blue checked casual shirt, has a collar"),
        ("a b a b a", "b a b b a a"),
    ]
    for candidate, reference in pairs:
        expected = scorer.score(reference, candidate)["rougeL"].fmeasure
        assert rouge_l(candidate, reference) == pytest.approx(expected)


def test_distinct_n_hand_computed():
    texts = ["a b a b", "a c"]
    # unigrams: a,b,a,b,a,c -> 3 unique / 6; bigrams: ab,ba,ab,ac -> 3 unique / 4
    assert distinct_n(texts, 1) == pytest.approx(3 / 6)
    assert distinct_n(texts, 2) == pytest.approx(3 / 4)
    assert distinct_n([""], 2) == 0.0


def test_attribute_coverage_and_scores():
    facts = {"brand": "Nike", "colour": "Navy Blue", "price": "18", "gender": "Men"}
    assert attribute_coverage("Nike navy tee, $18.00", facts) == pytest.approx(2 / 3)
    assert attribute_coverage("anything", {"gender": "Men"}) is None
    metrics = score_method(
        ["Nike navy blue tee, $18.", "Red Adidas tee. Free shipping."],
        ["Nike tee", "Nike tee"],
        [facts, facts],
        [1.0, 3.0],
    )
    assert metrics["hallucination_rate"] == pytest.approx(1.5)  # 0 and 3 unsupported claims
    assert metrics["hallucinated_share"] == pytest.approx(0.5)
    assert metrics["attribute_coverage"] == pytest.approx(0.5)
    assert metrics["latency_s"] == pytest.approx(2.0)


def test_parse_semipqa():
    assert parse_semipqa('top: { material:[ { value:"iron" } ] }') == {"top material": "iron"}
    assert parse_semipqa("fan_count: { value:6 }") == {"fan count": "6"}
    assert parse_semipqa("runtime: { unit:minutes, value:50. }") == {"runtime": "50 minutes"}
    assert parse_semipqa('room_type: { value:"Office" }; { value:"Bedroom" }') == {
        "room type": "Office, Bedroom"
    }
    assert parse_semipqa(
        "length:{ unit:centimeters, normalized_value:{ unit:inches, value:7.2 }, value:10.16 }"
    ) == {"length": "10.16 centimeters"}


class CorpusRetriever:
    """A lexical test double over fixed past listings (the real one is tested by D1)."""

    def retrieve(self, query_text, image_embedding=None, k=3, exclude_ids=()):
        from shopml.listing.retrieval import Reference

        refs = [
            Reference("mercari:1", "mercari", "Tee", "Used, good condition, ships fast.", 0.9),
            Reference("myntra:2", "myntra", "Shirt", "Blue solid shirt, has a collar.", 0.8),
        ]
        return [r for r in refs if r.item_id not in exclude_ids][:k]


def test_tiny_template_run_writes_cards(tmp_path):
    spec = ListingBenchSpec(
        items=4,
        backends=["template"],
        semipqa_items=5,
        k=2,
        card_dir=tmp_path,
        retriever=CorpusRetriever(),
    )
    screen = Console(file=io.StringIO(), width=200)
    paths = run_listing_bench(spec, screen)
    assert [p.name for p in paths] == [
        "listing-semipqa_data_to_text-seed0.json",
        "listing-myntra_mercari_heldout-seed0.json",
    ]
    card = json.loads(paths[1].read_text())
    methods = [r["method"] for r in card["results"]]
    assert methods == ["template_raw", "template_rag", "template_rag_verified", "reference"]
    printed = screen.file.getvalue()  # each dataset's results table, with the card's numbers
    assert "semiPQA data-to-text: 5 pairs, seed 0" in printed
    assert "held-out catalog items (Myntra + Mercari): 4 items, seed 0" in printed
    rag = card["results"][1]["metrics"]
    rows = [line.strip("│ ").split("│") for line in printed.splitlines() if "│" in line]
    cells = next([c.strip() for c in row] for row in rows if row[0].strip() == "template_rag")
    assert cells[1:3] == [f"{rag['rouge_l']:.4f}", f"{rag['distinct_1']:.4f}"]
    assert card["dataset"]["sources"] == {"mercari": 2, "myntra": 2}
    by = {r["method"]: r["metrics"] for r in card["results"]}
    assert by["template_raw"]["hallucination_rate"] == 0.0  # the template states only facts
    assert 0 < by["template_raw"]["rouge_l"] < 1
    semi = json.loads(paths[0].read_text())
    assert [r["method"] for r in semi["results"]] == ["template_raw", "reference"]


def test_items_zero_runs_only_semipqa(tmp_path):
    spec = ListingBenchSpec(items=0, backends=["template"], semipqa_items=3, card_dir=tmp_path)
    paths = run_listing_bench(spec, Console(quiet=True))
    assert [p.name for p in paths] == ["listing-semipqa_data_to_text-seed0.json"]
    card = json.loads(paths[0].read_text())
    by = {r["method"]: r["metrics"] for r in card["results"]}
    assert by["template_raw"]["hallucination_rate"] == 0.0
    assert by["template_raw"]["attribute_coverage"] == 1.0  # every fact stated
