"""On-disk cache of text embeddings keyed by model and the text's sha256 (one SQLite file).

So that corpora that share listings (the default retriever, the listing benchmark's corpus, a
user's own subset) embed each text once per machine. Values are float32 vectors; a cache that
cannot be opened or written is skipped, never an error.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["VectorCache", "text_keys"]


def text_keys(model_key: str, texts: Sequence[str]) -> list[str]:
    """``"<model_key>:<sha256 of the text>"`` per text."""
    return [f"{model_key}:{hashlib.sha256(t.encode('utf-8')).hexdigest()}" for t in texts]


class VectorCache:
    """float32 vectors by string key in one SQLite file (thread-safe, best effort)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), timeout=60, check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB)")
        self._db.commit()

    def get_many(self, keys: Sequence[str], dim: int) -> tuple[np.ndarray, np.ndarray]:
        """(vectors (n, dim), found mask (n,)) for `keys`; missing rows are zero."""
        out = np.zeros((len(keys), dim), dtype=np.float32)
        found = np.zeros(len(keys), dtype=bool)
        position = {k: i for i, k in enumerate(keys)}
        unique = list(position)
        with self._lock:
            try:
                for start in range(0, len(unique), 500):
                    chunk = unique[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    rows = self._db.execute(
                        f"SELECT key, vec FROM vectors WHERE key IN ({marks})", chunk
                    ).fetchall()
                    for key, blob in rows:
                        vec = np.frombuffer(blob, dtype=np.float32)
                        if vec.shape == (dim,):
                            out[position[key]] = vec
                            found[position[key]] = True
            except sqlite3.Error:
                return out, np.zeros(len(keys), dtype=bool)
        # repeated keys: copy from the first occurrence
        firsts = np.array([position[k] for k in keys])
        return out[firsts], found[firsts]

    def put_many(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        """Store `vectors` under `keys` (errors such as a full disk are ignored)."""
        rows = [
            (k, np.ascontiguousarray(v, dtype=np.float32).tobytes())
            for k, v in zip(keys, vectors, strict=True)
        ]
        with self._lock:
            try:
                self._db.executemany(
                    "INSERT OR REPLACE INTO vectors (key, vec) VALUES (?, ?)", rows
                )
                self._db.commit()
            except sqlite3.Error as error:  # a full disk or a locked file must not fail a query
                warnings.warn(f"could not cache {len(rows)} vectors: {error}", RuntimeWarning, stacklevel=2)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
