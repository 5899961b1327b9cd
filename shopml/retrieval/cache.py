"""On-disk cache of text embeddings keyed by model and the text's sha256 (one SQLite file).

So that corpora that share listings (the default retriever, the listing benchmark's corpus, a
user's own subset) embed each text once per machine. Values are float32 vectors; a cache that
cannot be opened or written is skipped, never an error.
"""

from __future__ import annotations

import hashlib
import sqlite3
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from shopml.sqlite_vectors import SqliteVectors

__all__ = ["VectorCache", "text_keys"]


def text_keys(model_key: str, texts: Sequence[str]) -> list[str]:
    """``"<model_key>:<sha256 of the text>"`` per text."""
    return [f"{model_key}:{hashlib.sha256(t.encode('utf-8')).hexdigest()}" for t in texts]


class VectorCache:
    """float32 vectors by string key in one SQLite file (thread-safe, best effort)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._store = SqliteVectors(self.path, "vectors")

    def get_many(self, keys: Sequence[str], dim: int) -> tuple[np.ndarray, np.ndarray]:
        """(vectors (n, dim), found mask (n,)) for `keys`; missing rows are zero."""
        out = np.zeros((len(keys), dim), dtype=np.float32)
        found = np.zeros(len(keys), dtype=bool)
        try:
            stored = self._store.fetch(keys)
        except sqlite3.Error:
            return out, found
        for i, key in enumerate(keys):
            vec = stored.get(key)
            if vec is not None and vec.shape == (dim,):
                out[i] = vec
                found[i] = True
        return out, found

    def put_many(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        """Store `vectors` under `keys` (errors such as a full disk are ignored)."""
        try:
            self._store.store(zip(keys, vectors, strict=True))
        except sqlite3.Error as error:  # a full disk or a locked file must not fail a query
            warnings.warn(f"could not cache {len(keys)} vectors: {error}", RuntimeWarning, stacklevel=2)

    def close(self) -> None:
        """Close the database."""
        self._store.close()
