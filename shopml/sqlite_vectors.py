"""float32 vectors by string key in one SQLite table: the store behind the on-disk caches.

Used by the image-feature cache (:mod:`shopml.vision.cache`) and the text-embedding cache
(:mod:`shopml.retrieval.cache`). One connection shared by threads behind a lock; reads go in
chunks of 500 keys (SQLite's parameter limit); callers decide what a database error means.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

_CHUNK = 500


class SqliteVectors:
    """Vectors in table `table` (key TEXT PRIMARY KEY, vec BLOB) of the SQLite file `path`."""

    def __init__(self, path: str | Path, table: str) -> None:
        if not table.isidentifier():
            raise ValueError(f"table name {table!r} is not an identifier")
        self.path = Path(path)
        self.table = table
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), timeout=60, check_same_thread=False)
        with self._lock:
            self._db.execute(f"CREATE TABLE IF NOT EXISTS {table} (key TEXT PRIMARY KEY, vec BLOB)")
            self._db.commit()

    def fetch(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors among `keys` (read-only views of the blobs); raises sqlite3.Error."""
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), _CHUNK):
            chunk = unique[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            with self._lock:
                rows = self._db.execute(
                    f"SELECT key, vec FROM {self.table} WHERE key IN ({marks})", chunk
                ).fetchall()
            for key, blob in rows:
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def store(self, items: Iterable[tuple[str, np.ndarray]]) -> int:
        """Insert or replace `items` as float32; returns how many; raises sqlite3.Error."""
        rows = [(k, np.ascontiguousarray(v, dtype=np.float32).tobytes()) for k, v in items]
        with self._lock:
            self._db.executemany(
                f"INSERT OR REPLACE INTO {self.table} (key, vec) VALUES (?, ?)", rows
            )
            self._db.commit()
        return len(rows)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()
