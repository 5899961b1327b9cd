"""VectorIndex: exact neighbours by hand, HNSW recall against exact, save/load, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from shopml.retrieval.index import VectorIndex, VectorIndexError, l2_normalise


def _unit(deg: float) -> list[float]:
    rad = np.deg2rad(deg)
    return [float(np.cos(rad)), float(np.sin(rad))]


def test_exact_search_returns_hand_checked_neighbours() -> None:
    # points on the unit circle at 0, 10, 45, 90, 180 degrees; query at 4 degrees
    vectors = np.array([_unit(0), _unit(10), _unit(45), _unit(90), _unit(180)])
    index = VectorIndex.build(vectors * [[1], [2], [3], [4], [5]], ["a", "b", "c", "d", "e"])
    assert index.kind == "exact"
    ids, scores = index.search(np.array([_unit(4)]), k=3)
    assert ids.tolist() == [["a", "b", "c"]]
    expected = np.cos(np.deg2rad([4, 6, 41]))
    np.testing.assert_allclose(scores[0], expected, atol=1e-6)
    # query exactly opposite to "a": "e" is best with cosine 1, "a" is last with -1
    ids, scores = index.search(np.array([[-3.0, 0.0]]), k=5)
    assert ids[0, 0] == "e" and ids[0, -1] == "a"
    np.testing.assert_allclose(scores[0, [0, -1]], [1.0, -1.0], atol=1e-6)


def test_ties_are_broken_by_insertion_order_and_k_is_capped() -> None:
    index = VectorIndex.build(np.array([[1.0, 0], [1.0, 0], [0, 1.0]]), ["x", "y", "z"])
    ids, scores = index.search(np.array([[1.0, 0.0], [0.0, 2.0]]), k=10)
    assert ids.shape == (2, 3)
    assert ids.tolist() == [["x", "y", "z"], ["z", "x", "y"]]
    np.testing.assert_allclose(scores, [[1, 1, 0], [1, 0, 0]], atol=1e-7)


def test_zero_vectors_score_zero() -> None:
    assert l2_normalise(np.zeros((1, 3))).tolist() == [[0.0, 0.0, 0.0]]
    index = VectorIndex.build(np.array([[0.0, 0.0], [0.0, 1.0]]), ["zero", "up"])
    ids, scores = index.search(np.array([[0.0, 1.0]]), k=2)
    assert ids.tolist() == [["up", "zero"]] and scores.tolist() == [[1.0, 0.0]]


def test_hnsw_recall_at_10_against_exact_on_random_vectors() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((4000, 32)).astype(np.float32)
    queries = rng.standard_normal((200, 32)).astype(np.float32)
    ids = [f"v{i}" for i in range(len(vectors))]
    ann = VectorIndex.build(vectors, ids, exact_limit=1000)
    exact = VectorIndex.build(vectors, ids, exact_limit=10_000)
    assert (ann.kind, exact.kind) == ("hnsw", "exact")
    got, got_scores = ann.search(queries, k=10)
    truth, _ = exact.search(queries, k=10)
    recall = np.mean([len(set(g) & set(t)) / 10 for g, t in zip(got, truth, strict=True)])
    assert recall >= 0.95, recall
    # HNSW scores are true cosines of the returned ids
    rows = np.array([[int(i[1:]) for i in row] for row in got])
    cosines = np.einsum("qd,qkd->qk", l2_normalise(queries), l2_normalise(vectors)[rows])
    np.testing.assert_allclose(got_scores, cosines, atol=1e-5)


@pytest.mark.parametrize("exact_limit", [10_000, 100])
def test_save_load_round_trip(tmp_path, exact_limit: int) -> None:
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((300, 8))
    index = VectorIndex.build(vectors, [f"id{i}" for i in range(300)], exact_limit=exact_limit)
    queries = rng.standard_normal((5, 8))
    before = index.search(queries, k=7)
    index.save(tmp_path / "idx")
    loaded = VectorIndex.load(tmp_path / "idx")
    assert (loaded.kind, len(loaded), loaded.dim) == (index.kind, 300, 8)
    after = loaded.search(queries, k=7)
    assert before[0].tolist() == after[0].tolist()
    np.testing.assert_array_equal(before[1], after[1])


def test_bad_input_is_named() -> None:
    with pytest.raises(VectorIndexError, match="3 vectors but 2 ids"):
        VectorIndex.build(np.eye(3), ["a", "b"])
    with pytest.raises(VectorIndexError, match=r"duplicate id.*'a'"):
        VectorIndex.build(np.eye(3), ["a", "b", "a"])
    with pytest.raises(VectorIndexError, match="row 1 has NaN"):
        VectorIndex.build(np.array([[1.0, 0], [np.nan, 1]]), ["a", "b"])
    with pytest.raises(VectorIndexError, match="zero vectors"):
        VectorIndex.build(np.zeros((0, 4)), [])
    index = VectorIndex.build(np.eye(3), ["a", "b", "c"])
    with pytest.raises(VectorIndexError, match="dimension 2, the index has 3"):
        index.search(np.ones((1, 2)), k=1)
    with pytest.raises(VectorIndexError, match="k must be >= 1"):
        index.search(np.ones((1, 3)), k=0)


def test_load_refuses_a_directory_that_is_not_an_index(tmp_path) -> None:
    with pytest.raises(VectorIndexError, match=r"no meta\.json"):
        VectorIndex.load(tmp_path)
