"""VectorCache: round trip, repeated keys, wrong dimension, text keys."""

from __future__ import annotations

import numpy as np

from shopml.retrieval.cache import VectorCache, text_keys


def test_round_trip_and_missing_keys(tmp_path) -> None:
    cache = VectorCache(tmp_path / "v.sqlite")
    cache.put_many(["a", "b"], np.array([[1.0, 2.0], [3.0, 4.0]]))
    vectors, found = cache.get_many(["b", "x", "a", "b"], dim=2)
    assert found.tolist() == [True, False, True, True]
    assert vectors.tolist() == [[3.0, 4.0], [0.0, 0.0], [1.0, 2.0], [3.0, 4.0]]
    _, found = cache.get_many(["a"], dim=3)  # stored with another dimension: a miss
    assert found.tolist() == [False]
    cache.close()
    reopened = VectorCache(tmp_path / "v.sqlite")
    assert reopened.get_many(["a"], dim=2)[1].tolist() == [True]
    reopened.close()


def test_text_keys_depend_on_model_and_text() -> None:
    a, b, c = text_keys("m1", ["hat", "cap", "hat"])
    assert a == c != b and a.startswith("m1:") and len(a) == 3 + 64
    assert text_keys("m2", ["hat"])[0] != a
