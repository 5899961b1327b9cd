"""Published listings in a real database (SQLAlchemy 2.x) and their photos on disk.

SQLite file by default, PostgreSQL (or any SQLAlchemy URL) by ``db_url``. Photos are stored
content-addressed (``<photo_dir>/<sha256[:2]>/<sha256>.<ext>``) and the database keeps their
paths. A publish is all or nothing: new photo files are written first (each atomically, via a
temporary file and ``os.replace``), then the listing and its photo rows are inserted in one
transaction; if anything fails, the transaction rolls back and the files this publish created
are deleted again, so neither a half-written listing nor an orphan file remains.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    mapped_column,
    relationship,
    selectinload,
    sessionmaker,
)

TITLE_MAX = 120
"""Longest accepted listing title (characters)."""
DESCRIPTION_MAX = 5000
"""Longest accepted listing description (characters)."""
SHORT_FIELD_MAX = 60
"""Longest accepted brand / condition / size / material / attribute value (characters)."""

_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "BMP": "bmp"}


class Base(DeclarativeBase):
    """Declarative base of the serve tables."""


class ListingRow(Base):
    """One published listing."""

    __tablename__ = "listings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    price: Mapped[float] = mapped_column(Float, nullable=False)
    currency: Mapped[str | None] = mapped_column(String(8))
    brand: Mapped[str | None] = mapped_column(String(SHORT_FIELD_MAX))
    condition: Mapped[str | None] = mapped_column(String(SHORT_FIELD_MAX))
    size: Mapped[str | None] = mapped_column(String(SHORT_FIELD_MAX))
    material: Mapped[str | None] = mapped_column(String(SHORT_FIELD_MAX))
    attributes: Mapped[dict[str, str]] = mapped_column(JSON, nullable=False, default=dict)
    backend: Mapped[str | None] = mapped_column(String(SHORT_FIELD_MAX))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    photos: Mapped[list[PhotoRow]] = relationship(
        back_populates="listing", cascade="all, delete-orphan", order_by="PhotoRow.position"
    )


class PhotoRow(Base):
    """One photo of a listing: where its content-addressed file lies."""

    __tablename__ = "photos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    listing_id: Mapped[int] = mapped_column(
        ForeignKey("listings.id", ondelete="CASCADE"), nullable=False, index=True
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    path: Mapped[str] = mapped_column(String(255), nullable=False)
    size_bytes: Mapped[int] = mapped_column(Integer, nullable=False)
    listing: Mapped[ListingRow] = relationship(back_populates="photos")


@dataclass
class NewListing:
    """A validated listing ready to publish (the web layer validates before building this)."""

    title: str
    description: str
    price: float
    currency: str | None = None
    brand: str | None = None
    condition: str | None = None
    size: str | None = None
    material: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    backend: str | None = None


@dataclass
class StoredPhoto:
    """A photo of a published listing."""

    sha256: str
    path: str
    size_bytes: int

    @property
    def file_name(self) -> str:
        """The file's name inside the photo store (``<sha256>.<ext>``)."""
        return Path(self.path).name


@dataclass
class Listing:
    """A published listing as read back from the database."""

    id: int
    title: str
    description: str
    price: float
    currency: str | None
    brand: str | None
    condition: str | None
    size: str | None
    material: str | None
    attributes: dict[str, str]
    backend: str | None
    created_at: datetime
    photos: list[StoredPhoto]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (photo URLs relative to the app root)."""
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "price": self.price,
            "currency": self.currency,
            "brand": self.brand,
            "condition": self.condition,
            "size": self.size,
            "material": self.material,
            "attributes": dict(self.attributes),
            "backend": self.backend,
            "created_at": self.created_at.isoformat(),
            "photos": [f"/photos/{p.file_name}" for p in self.photos],
        }


class StorageError(RuntimeError):
    """Publishing failed; nothing was stored."""


def photo_extension(data: bytes) -> str:
    """File extension for encoded image bytes, from their format (``bin`` if unknown)."""
    from io import BytesIO

    from PIL import Image

    try:
        with Image.open(BytesIO(data)) as image:
            return _EXTENSIONS.get(image.format or "", "bin")
    except Exception:
        return "bin"


def _write_photo(directory: Path, data: bytes) -> tuple[Path, str, bool]:
    """Store `data` content-addressed under `directory`; (path, sha256, newly created)."""
    digest = hashlib.sha256(data).hexdigest()
    target = directory / digest[:2] / f"{digest}.{photo_extension(data)}"
    if target.exists():
        return target, digest, False
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return target, digest, True


def _sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    """Turn on foreign-key enforcement for each SQLite connection."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(db_url: str) -> Engine:
    """An engine for `db_url`; SQLite files get their folder created and foreign keys on."""
    if db_url.startswith("sqlite"):
        database = db_url.split("///", 1)[1] if "///" in db_url else ""
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(db_url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_foreign_keys)
        return engine
    return create_engine(db_url, pool_pre_ping=True)


class ListingStore:
    """The repository of published listings: publish, list, get; photos kept on disk."""

    def __init__(self, db_url: str, photo_dir: Path) -> None:
        self.db_url = db_url
        self.photo_dir = Path(photo_dir)
        self.photo_dir.mkdir(parents=True, exist_ok=True)
        self.engine = make_engine(db_url)
        Base.metadata.create_all(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def _photo_row(self, position: int, path: Path, digest: str, size: int) -> PhotoRow:
        """The database row of one stored photo."""
        return PhotoRow(
            position=position,
            sha256=digest,
            path=str(path.relative_to(self.photo_dir)),
            size_bytes=size,
        )

    def publish(self, listing: NewListing, photos: Sequence[bytes]) -> Listing:
        """Store `listing` and its `photos` in one all-or-nothing step; the stored listing."""
        created: list[Path] = []
        try:
            stored = []
            for data in photos:
                path, digest, is_new = _write_photo(self.photo_dir, data)
                if is_new:
                    created.append(path)
                stored.append((path, digest, len(data)))
            with self._sessions.begin() as session:
                row = ListingRow(
                    title=listing.title,
                    description=listing.description,
                    price=listing.price,
                    currency=listing.currency,
                    brand=listing.brand,
                    condition=listing.condition,
                    size=listing.size,
                    material=listing.material,
                    attributes=dict(listing.attributes),
                    backend=listing.backend,
                    created_at=datetime.now(UTC),
                )
                session.add(row)
                for position, (path, digest, size) in enumerate(stored):
                    row.photos.append(self._photo_row(position, path, digest, size))
                session.flush()
                result = _to_listing(row)
        except BaseException:
            self._remove_unreferenced(created)
            raise
        return result

    def _remove_unreferenced(self, paths: Sequence[Path]) -> None:
        """Delete files this publish created unless another listing now references them."""
        for path in paths:
            relative = str(path.relative_to(self.photo_dir))
            try:
                with self._sessions() as session:
                    used = session.scalar(
                        select(func.count()).select_from(PhotoRow).where(PhotoRow.path == relative)
                    )
            except Exception:
                used = 0
            if not used:
                path.unlink(missing_ok=True)

    def list(self, limit: int = 50, offset: int = 0) -> list[Listing]:
        """Published listings, newest first."""
        with self._sessions() as session:
            rows = session.scalars(
                select(ListingRow)
                .options(selectinload(ListingRow.photos))
                .order_by(ListingRow.id.desc())
                .limit(limit)
                .offset(offset)
            ).all()
            return [_to_listing(row) for row in rows]

    def count(self) -> int:
        """Number of published listings."""
        with self._sessions() as session:
            return int(session.scalar(select(func.count()).select_from(ListingRow)) or 0)

    def get(self, listing_id: int) -> Listing | None:
        """One published listing, or None."""
        with self._sessions() as session:
            row = session.get(ListingRow, listing_id, options=[selectinload(ListingRow.photos)])
            return _to_listing(row) if row is not None else None

    def photo_file(self, file_name: str) -> Path | None:
        """The stored file for ``<sha256>.<ext>``, or None (names are checked, never joined raw)."""
        stem, _, extension = file_name.partition(".")
        if len(stem) != 64 or any(c not in "0123456789abcdef" for c in stem):
            return None
        if extension not in set(_EXTENSIONS.values()) | {"bin"}:
            return None
        path = self.photo_dir / stem[:2] / f"{stem}.{extension}"
        return path if path.is_file() else None


def _utc(moment: datetime) -> datetime:
    """A timezone-aware UTC time (SQLite returns naive datetimes)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _to_listing(row: ListingRow) -> Listing:
    """A detached :class:`Listing` from a database row."""
    return Listing(
        id=row.id,
        title=row.title,
        description=row.description,
        price=row.price,
        currency=row.currency,
        brand=row.brand,
        condition=row.condition,
        size=row.size,
        material=row.material,
        attributes=dict(row.attributes or {}),
        backend=row.backend,
        created_at=_utc(row.created_at),
        photos=[StoredPhoto(p.sha256, p.path, p.size_bytes) for p in row.photos],
    )
