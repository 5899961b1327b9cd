"""TextEmbedder: matches the reference implementation's vectors; similarity behaves."""

from __future__ import annotations

import numpy as np
import pytest

from shopml.retrieval.text import MAX_TOKENS, TextEmbedder, TextEmbedderError

# all-MiniLM-L6-v2 as run by the reference implementation (sentence-transformers 6.2.0,
# SentenceTransformer(<the wheel's model dir>).encode(..., normalize_embeddings=True)) on the
# same model files, rounded to 6 decimals: dims 0-5 and 100-102, and the pairwise cosines.
SENTENCES = [
    "A man is eating food.",
    "Vintage Levi's 501 jeans, size 32, great condition",
    "차오차이 마라샹궈 소스 5개",
]
REFERENCE_HEAD = [
    [0.033242, 0.004406, -0.006277, 0.048379, -0.138702, -0.033617],
    [-0.02586, 0.100421, 0.017632, -0.000693, -0.024184, -0.015752],
    [-0.023937, 0.065537, 0.077517, -0.001194, 0.050785, -0.033069],
]
REFERENCE_MID = [
    [-0.006087, -0.060053, -0.076056],
    [0.009954, 0.004181, 0.095746],
    [0.005745, 0.074379, 0.023846],
]
REFERENCE_COSINES = [
    [1.0, -0.02168, 0.045349],
    [-0.02168, 1.0, 0.038337],
    [0.045349, 0.038337, 1.0],
]


@pytest.fixture(scope="module")
def embedder() -> TextEmbedder:
    return TextEmbedder.shared()


def test_matches_the_reference_implementation(embedder: TextEmbedder) -> None:
    vectors = embedder.embed(SENTENCES)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(vectors[:, :6], REFERENCE_HEAD, atol=2e-6)
    np.testing.assert_allclose(vectors[:, 100:103], REFERENCE_MID, atol=2e-6)
    np.testing.assert_allclose(vectors @ vectors.T, REFERENCE_COSINES, atol=2e-6)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)


def test_paraphrase_is_closer_than_an_unrelated_sentence(embedder: TextEmbedder) -> None:
    v = embedder.embed(
        [
            "A man is eating food.",
            "A man is eating a piece of bread.",
            "A man is riding a horse.",
            "Red leather handbag with gold chain strap",
            "Women's red leather shoulder bag, chain strap",
        ]
    )
    sim = v @ v.T
    assert sim[0, 1] > sim[0, 2] > sim[0, 3]
    assert sim[3, 4] > 0.7 > sim[3, 0]


def test_batching_and_order_do_not_change_vectors(embedder: TextEmbedder) -> None:
    texts = ["short", "a somewhat longer text about blue denim jackets", "", "mid length text"]
    one_by_one = np.vstack([embedder.embed([t]) for t in texts])
    batched = embedder.embed(texts, batch_size=3)
    np.testing.assert_allclose(one_by_one, batched, atol=1e-5)


def test_long_text_is_truncated_to_max_tokens(embedder: TextEmbedder) -> None:
    long = "word " * 1000
    assert len(embedder.tokenize([long])[0]) == MAX_TOKENS
    a, b = embedder.embed([long, long + " and then something completely different"])
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_empty_input_and_bad_arguments(embedder: TextEmbedder) -> None:
    assert embedder.embed([]).shape == (0, 384)
    with pytest.raises(TypeError, match="not one string"):
        embedder.embed("one string")
    with pytest.raises(ValueError, match="batch_size"):
        embedder.embed(["x"], batch_size=0)


def test_missing_model_files_are_named(tmp_path) -> None:
    with pytest.raises(TextEmbedderError, match=r"missing model file config\.json"):
        TextEmbedder(tmp_path)
