"""StyleRetriever: hand-checked rankings with a keyword embedder, the photo fusion rule,
exclusions, the on-disk cache, and the real model on a tiny corpus."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shopml.listing.retrieval import Reference, RetrievalError, StyleRetriever, embed_cached

VOCAB = ["dress", "shoe", "bag", "red", "blue"]


class KeywordEmbedder:
    """Counts of VOCAB words, L2-normalised: rankings can be computed by hand."""

    dim = len(VOCAB)

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, texts, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        self.calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = str(text).lower().replace(",", " ").replace(".", " ").split()
            out[row] = [words.count(w) for w in VOCAB]
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)


class TableImageEncoder:
    """Image 'embeddings' looked up from a table by path."""

    def __init__(self, table: dict[str, list[float]]) -> None:
        self.table = table

    def embed(self, images, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        v = np.array([self.table[str(i)] for i in images], dtype=np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


CORPUS = pd.DataFrame(
    {
        "item_id": ["mercari:1", "mercari:2", "myntra:3", "myntra:4"],
        "source": ["mercari", "mercari", "myntra", "myntra"],
        "title": ["Red dress", "Blue dress", "Red shoe", "Blue bag"],
        "description": [
            "A red dress for summer",
            "A blue dress, barely worn",
            "Red running shoe with laces",
            "Blue canvas bag, roomy",
        ],
        "category": ["Women > Dresses", "Women > Dresses", None, None],
        "brand": ["Zara", None, "Puma", "Wildcraft"],
        "price": [15.0, 20.0, 2999.0, np.nan],
        "currency": ["USD", "USD", "INR", "INR"],
        "condition": ["Like new", "Good", None, None],
    }
)
PHOTOS = pd.DataFrame(
    {
        "item_id": ["p1", "p2", "p3"],
        "title": ["blue bag", "blue dress", "red shoe"],
        "image_path": ["a.jpg", "b.jpg", "c.jpg"],
    }
)
IMAGE_TABLE = {"a.jpg": [1.0, 0.0, 0.0], "b.jpg": [0.8, 0.6, 0.0], "c.jpg": [0.0, 0.0, 1.0]}


@pytest.fixture
def retriever() -> StyleRetriever:
    built = StyleRetriever.build(
        CORPUS,
        photos=PHOTOS,
        embedder=KeywordEmbedder(),
        image_encoder=TableImageEncoder(IMAGE_TABLE),
    )
    built.visual_neighbours = 2
    return built


def test_text_query_ranks_by_cosine(retriever: StyleRetriever) -> None:
    refs = retriever.retrieve("red dress", k=3)
    # cos("red dress", row) = 1, 1/2, 1/2 (tie kept in corpus order), 0
    assert [r.item_id for r in refs] == ["mercari:1", "mercari:2", "myntra:3"]
    np.testing.assert_allclose([r.score for r in refs], [1.0, 0.5, 0.5], atol=1e-6)
    assert refs[0] == Reference(
        item_id="mercari:1",
        source="mercari",
        title="Red dress",
        description="A red dress for summer",
        score=refs[0].score,
        category="Women > Dresses",
        brand="Zara",
        price=15.0,
        currency="USD",
        condition="Like new",
    )
    assert refs[2].price == 2999.0 and refs[2].condition is None


def test_exclude_ids_and_k(retriever: StyleRetriever) -> None:
    refs = retriever.retrieve("red dress", k=2, exclude_ids=["mercari:1", "unknown"])
    assert [r.item_id for r in refs] == ["mercari:2", "myntra:3"]
    assert len(retriever.retrieve("red dress", k=10)) == 4
    assert retriever.retrieve("red dress", k=0) == []


def test_photo_only_query_follows_the_fusion_rule(retriever: StyleRetriever) -> None:
    # image [1,0,0]: photo neighbours p1 (cos 1) and p2 (cos 0.8) -> q_v = normalise(
    # 1 * e("blue bag") + 0.8 * e("blue dress")) = normalise([0.8, 0, 1, 0, 1.8] / sqrt 2)
    q_v, neighbours = retriever.visual_query(np.array([1.0, 0.0, 0.0]))
    assert neighbours["item_id"].tolist() == ["p1", "p2"]
    np.testing.assert_allclose(neighbours["image_score"], [1.0, 0.8], atol=1e-6)
    np.testing.assert_allclose(q_v, np.array([0.8, 0, 1, 0, 1.8]) / np.sqrt(4.88), atol=1e-6)
    refs = retriever.retrieve("", image_embedding=np.array([1.0, 0.0, 0.0]), k=4)
    assert [r.item_id for r in refs] == ["myntra:4", "mercari:2", "mercari:1", "myntra:3"]
    denominator = np.sqrt(2) * np.sqrt(4.88)
    np.testing.assert_allclose(
        [r.score for r in refs], np.array([2.8, 2.6, 0.8, 0.0]) / denominator, atol=1e-6
    )


def test_text_and_photo_scores_fuse_linearly(retriever: StyleRetriever) -> None:
    image = np.array([1.0, 0.0, 0.0])
    refs = retriever.retrieve("red dress", image_embedding=image, k=4)
    e = KeywordEmbedder().embed((CORPUS["title"] + ". " + CORPUS["description"]).tolist())
    q_t = KeywordEmbedder().embed(["red dress"])[0]
    q_v, _ = retriever.visual_query(image)
    alpha = retriever.text_weight
    assert alpha == 0.25
    fused = alpha * (e @ q_t) + (1 - alpha) * (e @ q_v)
    expected = fused / np.linalg.norm(alpha * q_t + (1 - alpha) * q_v)
    order = np.argsort(-expected, kind="stable")
    assert [r.item_id for r in refs] == CORPUS["item_id"].iloc[order].tolist()
    np.testing.assert_allclose([r.score for r in refs], expected[order], atol=1e-6)
    assert refs[0].item_id == "mercari:2"  # the blue dress: a dress, and blue like the photo


def test_without_photo_bank_an_image_is_ignored() -> None:
    built = StyleRetriever.build(CORPUS, embedder=KeywordEmbedder())
    assert not built.has_photos
    with_image = built.retrieve("red dress", image_embedding=np.ones(3), k=2)
    assert [r.item_id for r in with_image] == ["mercari:1", "mercari:2"]
    with pytest.raises(RetrievalError, match="no photo bank"):
        built.visual_query(np.ones(3))


def test_bad_queries_and_corpora(retriever: StyleRetriever) -> None:
    with pytest.raises(RetrievalError, match="empty query"):
        retriever.retrieve("   ")
    with pytest.raises(RetrievalError, match="dimension 4, the photo bank has 3"):
        retriever.retrieve("dress", image_embedding=np.ones(4))
    with pytest.raises(RetrievalError, match=r"not unique.*'mercari:1'"):
        StyleRetriever.build(pd.concat([CORPUS, CORPUS.iloc[:1]]), embedder=KeywordEmbedder())
    with pytest.raises(RetrievalError, match=r"lacks column\(s\) \['description'\]"):
        StyleRetriever.build(CORPUS.drop(columns=["description"]), embedder=KeywordEmbedder())
    blank = CORPUS.assign(description=[None, "x", "y", "z"])
    with pytest.raises(RetrievalError, match=r"row 0 \(mercari:1\) has no description"):
        StyleRetriever.build(blank, embedder=KeywordEmbedder())


def test_cache_round_trip_skips_embedding(tmp_path: Path) -> None:
    embedder = KeywordEmbedder()
    encoder = TableImageEncoder(IMAGE_TABLE)
    first = StyleRetriever.build(
        CORPUS, tmp_path / "r", photos=PHOTOS, embedder=embedder, image_encoder=encoder
    )
    assert embedder.calls == 2  # corpus texts, photo titles
    again = StyleRetriever.build(
        CORPUS, tmp_path / "r", photos=PHOTOS, embedder=embedder, image_encoder=encoder
    )
    assert embedder.calls == 2 and again.has_photos
    image = np.array([0.8, 0.6, 0.0])
    assert again.retrieve("red dress", image, k=4) == first.retrieve("red dress", image, k=4)
    calls = embedder.calls
    changed = CORPUS.assign(description=CORPUS["description"] + " now")
    StyleRetriever.build(changed, tmp_path / "r", embedder=embedder)
    assert embedder.calls == calls + 1  # different content: rebuilt
    (tmp_path / "r" / "corpus.parquet").unlink()
    with pytest.raises(RetrievalError, match="cannot read the retrieval cache"):
        StyleRetriever.load(tmp_path / "r")


def test_real_model_on_a_tiny_corpus() -> None:
    corpus = pd.DataFrame(
        {
            "item_id": ["a", "b", "c", "d"],
            "source": ["mercari"] * 4,
            "title": [
                "Coach leather handbag",
                "Nike Air Max 90",
                "Instant Pot 6 quart",
                "Levi's 501 jeans",
            ],
            "description": [
                "Brown leather shoulder bag with a zip top, lightly used",
                "Men's running sneakers, white, size 10, worn twice",
                "Pressure cooker, works perfectly, all parts included",
                "Straight leg denim jeans, waist 32, dark wash",
            ],
        }
    )
    built = StyleRetriever.build(corpus)
    assert built.retrieve("women's tan purse", k=1)[0].item_id == "a"
    assert built.retrieve("white trainers for jogging", k=1)[0].item_id == "b"
    assert built.retrieve("kitchen appliance", k=1)[0].item_id == "c"


def test_default_builds_once_then_loads_from_cache(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SHOPML_CACHE", str(tmp_path))
    monkeypatch.setattr(StyleRetriever, "_defaults", {})
    monkeypatch.setenv("SHOPML_RETRIEVAL_ROWS", "3")
    monkeypatch.setenv("SHOPML_RETRIEVAL_PHOTOS", "2")
    small = {"max_rows_per_source": 3, "max_photos": 2}
    first = StyleRetriever.default()
    assert StyleRetriever.default(**small) is first
    assert len(first.corpus) == 12 and first.corpus["source"].value_counts().eq(3).all()
    cached = [p for p in (tmp_path / "retrieval").iterdir() if p.is_dir()]
    assert len(cached) == 1 and (cached[0] / "meta.json").is_file()
    monkeypatch.setattr(StyleRetriever, "_defaults", {})  # as in a new process
    second = StyleRetriever.default(**small)
    assert second is not first and second.info["default_key"] == first.info["default_key"]
    pd.testing.assert_frame_equal(second.corpus, first.corpus)
    query = first.corpus["title"].iloc[0]
    assert second.retrieve(query, k=3) == first.retrieve(query, k=3)
    if first.has_photos:
        assert len(second.photos) == 2
        photo = second.photos["image_path"].iloc[0]
        from shopml.vision.encoder import ImageEncoder

        embedding = ImageEncoder.shared().embed([photo])[0]
        _, neighbours = second.visual_query(embedding)
        assert neighbours["item_id"].iloc[0] == second.photos["item_id"].iloc[0]
        assert len(second.retrieve(query, image_embedding=embedding, k=3)) == 3


def test_default_says_when_it_builds_the_index(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("SHOPML_CACHE", str(tmp_path))
    monkeypatch.setattr(StyleRetriever, "_defaults", {})
    small = {"max_rows_per_source": 2, "max_photos": 0}
    StyleRetriever.default(progress=True, **small)
    notice = capsys.readouterr().err
    assert "building the style index over 8 listings and 0 photos" in notice
    assert str(tmp_path / "retrieval") in notice
    monkeypatch.setattr(StyleRetriever, "_defaults", {})  # a new process: loads the cache
    StyleRetriever.default(progress=True, **small)
    assert "building" not in capsys.readouterr().err


def test_default_rejects_a_bad_cap_in_the_environment(monkeypatch) -> None:
    monkeypatch.setattr(StyleRetriever, "_defaults", {})
    monkeypatch.setenv("SHOPML_RETRIEVAL_ROWS", "lots")
    with pytest.raises(RetrievalError, match=r"\$SHOPML_RETRIEVAL_ROWS='lots' is not an integer"):
        StyleRetriever.default()


class CountingEmbedder(KeywordEmbedder):
    """A KeywordEmbedder that says which model it is and counts the texts it embeds."""

    cache_key = "keyword-test"

    def __init__(self) -> None:
        super().__init__()
        self.texts = 0

    def embed(self, texts, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        self.texts += len(texts)
        return super().embed(texts, batch_size, progress)


def test_text_vectors_are_reused_across_corpora(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SHOPML_CACHE", str(tmp_path))
    embedder = CountingEmbedder()
    first = embed_cached(embedder, ["red dress", "blue bag", "red dress"])
    assert embedder.texts == 3
    again = embed_cached(embedder, ["blue bag", "red shoe", "red dress"])
    assert embedder.texts == 4  # only "red shoe" was new
    np.testing.assert_array_equal(again[[0, 2]], first[[1, 0]])
    np.testing.assert_array_equal(again[1], KeywordEmbedder().embed(["red shoe"])[0])
    assert (tmp_path / "retrieval" / "text_vectors.sqlite").is_file()
