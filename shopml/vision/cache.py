"""On-disk cache of per-image feature vectors, keyed by the image's sha256 and a version.

One SQLite file under ``$SHOPML_CACHE`` (default ``~/.cache/shopml``). Keys are
``"<version>:<sha256 of the encoded image bytes>"``, so a changed photo or a changed encoder
never returns stale features; values are float32 vectors. Written batch by batch, so an
interrupted extraction keeps what it finished.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from shopml.sqlite_vectors import SqliteVectors


def cache_dir() -> Path:
    """The shopml cache directory (``$SHOPML_CACHE`` or ``~/.cache/shopml``), created."""
    env = os.environ.get("SHOPML_CACHE")
    path = Path(env) if env else Path.home() / ".cache" / "shopml"
    path.mkdir(parents=True, exist_ok=True)
    return path


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of some bytes."""
    return hashlib.sha256(data).hexdigest()


class FeatureCache:
    """Float32 vectors stored by string key in one SQLite file."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else cache_dir() / "image_features.sqlite"
        # shared across a web server's worker threads: one connection guarded by a lock
        self._store = SqliteVectors(self.path, "features")

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors among `keys` (missing keys are absent from the result)."""
        return {key: vec.copy() for key, vec in self._store.fetch(keys).items()}

    def put_many(self, items: Iterable[tuple[str, np.ndarray]]) -> None:
        """Store vectors (float32) under their keys, replacing old values."""
        items = list(items)
        try:
            self._store.store(items)
        except sqlite3.Error as error:  # a full disk or a locked file must not fail a prediction
            warnings.warn(f"could not cache {len(items)} features: {error}", RuntimeWarning, stacklevel=2)

    def close(self) -> None:
        """Close the database."""
        self._store.close()
