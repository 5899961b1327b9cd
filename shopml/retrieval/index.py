"""Nearest-neighbour search over L2-normalised vectors: exact, or HNSW above a size limit.

Small corpora are searched exactly (one matrix product per block of queries, ``argpartition``
for the top k). Above ``exact_limit`` vectors the index is a faiss HNSW graph with inner
product (Yu. A. Malkov and D. A. Yashunin, "Efficient and Robust Approximate Nearest Neighbor
Search Using Hierarchical Navigable Small World Graphs", IEEE TPAMI 42(4), 2020,
arXiv:1603.09320; ``M`` links per node, ``efConstruction`` and ``efSearch`` candidate-list
sizes as in the paper's Algorithms 1-5). Vectors are L2-normalised on the way in, so scores
are cosine similarities; an all-zero vector stays zero and scores 0 against everything.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["VectorIndex", "VectorIndexError", "l2_normalise"]

#: HNSW defaults: links per node, build and search candidate-list sizes.
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 128
_QUERY_BLOCK = 1024
_FORMAT = 1


class VectorIndexError(ValueError):
    """Bad vectors, ids or index files (the message names what is wrong)."""


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (float32); zero rows stay zero."""
    v = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return np.divide(v, norms, out=np.zeros_like(v), where=norms > 0)


def _check_matrix(vectors: Any, what: str, dim: int | None = None) -> np.ndarray:
    v = np.asarray(vectors)
    if v.ndim == 1 and dim is not None:
        v = v[None, :]
    if v.ndim != 2:
        raise VectorIndexError(f"{what} must be a 2-d array (n, dim), got shape {v.shape}")
    if not np.issubdtype(v.dtype, np.number):
        raise VectorIndexError(f"{what} must be numeric, got dtype {v.dtype}")
    if dim is not None and v.shape[1] != dim:
        raise VectorIndexError(f"{what} have dimension {v.shape[1]}, the index has {dim}")
    finite = np.isfinite(v).all(axis=1)
    if not finite.all():
        raise VectorIndexError(
            f"{what} row {int(np.flatnonzero(~finite)[0])} has NaN or infinite values "
            f"({int((~finite).sum())} such row(s))"
        )
    return l2_normalise(v)


class VectorIndex:
    """Top-k cosine search over vectors with string ids (exact or faiss HNSW)."""

    def __init__(
        self,
        vectors: np.ndarray,
        ids: np.ndarray,
        kind: str,
        hnsw: Any = None,
        ef_search: int = HNSW_EF_SEARCH,
    ) -> None:
        self.vectors = vectors
        self.ids = ids
        self.kind = kind
        self._hnsw = hnsw
        self.ef_search = int(ef_search)

    @property
    def dim(self) -> int:
        """Vector dimension."""
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        ids: Sequence[str],
        exact_limit: int = 50_000,
        *,
        m: int = HNSW_M,
        ef_construction: int = HNSW_EF_CONSTRUCTION,
        ef_search: int = HNSW_EF_SEARCH,
    ) -> VectorIndex:
        """Index `vectors` (n, dim) under `ids`; exact if n <= exact_limit, else HNSW."""
        v = _check_matrix(vectors, "vectors")
        id_array = np.asarray([str(i) for i in ids], dtype=str)
        if len(id_array) != len(v):
            raise VectorIndexError(f"{len(v)} vectors but {len(id_array)} ids")
        if len(v) == 0:
            raise VectorIndexError("cannot build an index of zero vectors")
        unique, counts = np.unique(id_array, return_counts=True)
        if (counts > 1).any():
            dup = unique[counts > 1]
            raise VectorIndexError(f"{len(dup)} duplicate id(s), e.g. {dup[0]!r}")
        if len(v) <= exact_limit:
            return cls(v, id_array, "exact")
        return cls(v, id_array, "hnsw", _build_hnsw(v, m, ef_construction), ef_search)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Ids (nq, k') str and cosine scores (nq, k') float32, best first; k' = min(k, n)."""
        if k < 1:
            raise VectorIndexError(f"k must be >= 1, got {k}")
        q = _check_matrix(queries, "queries", self.dim)
        k = min(int(k), len(self))
        if self.kind == "hnsw":
            rows, scores = self._search_hnsw(q, k)
        else:
            rows, scores = self._search_exact(q, k)
        return self.ids[rows], scores

    def _search_exact(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        rows = np.empty((len(q), k), dtype=np.int64)
        scores = np.empty((len(q), k), dtype=np.float32)
        for start in range(0, len(q), _QUERY_BLOCK):
            sim = q[start : start + _QUERY_BLOCK] @ self.vectors.T
            if k < sim.shape[1]:
                top = np.argpartition(-sim, k - 1, axis=1)[:, :k]
            else:
                top = np.broadcast_to(np.arange(sim.shape[1]), sim.shape).copy()
            top_scores = np.take_along_axis(sim, top, axis=1)
            # best first; ties broken by row number so results are deterministic
            order = np.lexsort((top, -top_scores), axis=1)
            rows[start : start + len(sim)] = np.take_along_axis(top, order, axis=1)
            scores[start : start + len(sim)] = np.take_along_axis(top_scores, order, axis=1)
        return rows, scores

    def _search_hnsw(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        self._hnsw.hnsw.efSearch = max(self.ef_search, k)
        scores, rows = self._hnsw.search(np.ascontiguousarray(q, dtype=np.float32), k)
        missing = rows < 0
        if missing.any():  # the graph returned fewer than k: fill from exact search
            exact_rows, exact_scores = self._search_exact(q[missing.any(axis=1)], k)
            rows[missing.any(axis=1)] = exact_rows
            scores[missing.any(axis=1)] = exact_scores
        return rows.astype(np.int64), scores.astype(np.float32)

    def save(self, directory: str | Path) -> Path:
        """Write the index to `directory` (vectors.npy, ids.npy, meta.json[, hnsw.faiss])."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        np.save(out / "vectors.npy", self.vectors, allow_pickle=False)
        np.save(out / "ids.npy", self.ids, allow_pickle=False)
        if self.kind == "hnsw":
            import faiss

            faiss.write_index(self._hnsw, str(out / "hnsw.faiss"))
        meta = {
            "format": _FORMAT,
            "kind": self.kind,
            "n": len(self),
            "dim": self.dim,
            "ef_search": self.ef_search,
        }
        (out / "meta.json").write_text(json.dumps(meta, indent=1))
        return out

    @classmethod
    def load(cls, directory: str | Path) -> VectorIndex:
        """Read an index written by :meth:`save`; clear error if files are missing or stale."""
        src = Path(directory)
        meta_path = src / "meta.json"
        if not meta_path.is_file():
            raise VectorIndexError(f"{src}: not a saved VectorIndex (no meta.json)")
        try:
            meta = json.loads(meta_path.read_text())
            vectors = np.load(src / "vectors.npy", allow_pickle=False)
            ids = np.load(src / "ids.npy", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise VectorIndexError(f"{src}: cannot read the index: {exc}") from exc
        if meta.get("format") != _FORMAT:
            raise VectorIndexError(f"{src}: index format {meta.get('format')}, expected {_FORMAT}")
        if vectors.shape != (meta["n"], meta["dim"]) or ids.shape != (meta["n"],):
            raise VectorIndexError(f"{src}: vectors/ids do not match meta.json")
        hnsw = None
        if meta["kind"] == "hnsw":
            import faiss

            try:
                hnsw = faiss.read_index(str(src / "hnsw.faiss"))
            except RuntimeError as exc:
                raise VectorIndexError(f"{src}: cannot read hnsw.faiss: {exc}") from exc
            if hnsw.ntotal != meta["n"]:
                raise VectorIndexError(
                    f"{src}: hnsw.faiss has {hnsw.ntotal} vectors, not {meta['n']}"
                )
        return cls(
            vectors.astype(np.float32),
            ids,
            meta["kind"],
            hnsw,
            meta.get("ef_search", HNSW_EF_SEARCH),
        )

    def __repr__(self) -> str:
        return f"VectorIndex(kind={self.kind}, n={len(self)}, dim={self.dim})"


def _build_hnsw(vectors: np.ndarray, m: int, ef_construction: int) -> Any:
    """A faiss HNSW-flat inner-product index over `vectors` (already normalised)."""
    try:
        import faiss
    except ImportError as exc:
        raise VectorIndexError(
            f"{len(vectors)} vectors need the approximate index, which needs faiss-cpu "
            "(pip install faiss-cpu; part of shopml's 'listing' extra), or raise exact_limit"
        ) from exc
    index = faiss.IndexHNSWFlat(vectors.shape[1], int(m), faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = int(ef_construction)
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index
