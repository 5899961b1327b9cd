"""The listing store: round trip, content-addressed photos, all-or-nothing publish."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("sqlalchemy")

from sqlalchemy import func, select

from shopml.serve import storage
from shopml.serve.storage import ListingRow, ListingStore, NewListing, PhotoRow

PHOTO_A = b"\x89PNG\r\n\x1a\n" + b"A" * 50  # bytes only; the store does not decode photos
PHOTO_B = b"\xff\xd8\xff" + b"B" * 70


def listing(title: str = "Red wool scarf") -> NewListing:
    """A small valid listing."""
    return NewListing(
        title=title,
        description="Hand-knitted red scarf, 180 cm.",
        price=12.0,
        currency="EUR",
        brand=None,
        condition="like new",
        attributes={"articleType": "Scarves", "baseColour": "Red"},
        backend="template",
    )


def files_under(directory: Path) -> list[Path]:
    """Every file below `directory` (temporary files included)."""
    return sorted(p for p in directory.rglob("*") if p.is_file())


def row_counts(store: ListingStore) -> tuple[int, int]:
    """(listings, photos) rows in the database."""
    with store._sessions() as session:
        listings = session.scalar(select(func.count()).select_from(ListingRow))
        photos = session.scalar(select(func.count()).select_from(PhotoRow))
    return listings, photos


@pytest.fixture
def store(tmp_path):
    """A store on a SQLite file in tmp_path."""
    opened = ListingStore(f"sqlite:///{tmp_path / 'db' / 'listings.db'}", tmp_path / "photos")
    yield opened
    opened.close()


def test_round_trip_and_content_addressing(store, tmp_path):
    first = store.publish(listing(), [PHOTO_A, PHOTO_B])
    digest_a = hashlib.sha256(PHOTO_A).hexdigest()
    digest_b = hashlib.sha256(PHOTO_B).hexdigest()
    assert [p.sha256 for p in first.photos] == [digest_a, digest_b]
    assert [p.path for p in first.photos] == [
        f"{digest_a[:2]}/{digest_a}.bin",  # not decodable as an image: stored as .bin
        f"{digest_b[:2]}/{digest_b}.bin",
    ]
    assert (tmp_path / "photos" / first.photos[0].path).read_bytes() == PHOTO_A
    again = store.get(first.id)
    assert again == first
    assert again.currency == "EUR" and again.attributes["baseColour"] == "Red"
    assert again.created_at.tzinfo is not None

    second = store.publish(listing("Second scarf"), [PHOTO_A])  # same photo: one file on disk
    assert len(files_under(tmp_path / "photos")) == 2
    assert [item.id for item in store.list()] == [second.id, first.id]
    assert store.count() == 2
    assert store.photo_file(f"{digest_a}.bin") == tmp_path / "photos" / first.photos[0].path
    assert store.photo_file("../listings.db") is None


def test_failure_while_writing_photos_leaves_nothing(store, tmp_path, monkeypatch):
    real_write = storage._write_photo
    calls = []

    def write_then_fail(directory, data):
        calls.append(data)
        if len(calls) == 2:
            raise OSError("disk full (simulated)")
        return real_write(directory, data)

    monkeypatch.setattr(storage, "_write_photo", write_then_fail)
    with pytest.raises(OSError, match="disk full"):
        store.publish(listing(), [PHOTO_A, PHOTO_B])
    assert row_counts(store) == (0, 0)
    assert files_under(tmp_path / "photos") == []


def test_failure_inside_the_transaction_leaves_nothing(store, tmp_path, monkeypatch):
    real_row = ListingStore._photo_row

    def row_then_fail(self, position, path, digest, size):
        if position == 1:  # the listing row and the first photo row are already in the session
            raise RuntimeError("database went away (simulated)")
        return real_row(self, position, path, digest, size)

    monkeypatch.setattr(ListingStore, "_photo_row", row_then_fail)
    with pytest.raises(RuntimeError, match="went away"):
        store.publish(listing(), [PHOTO_A, PHOTO_B])
    assert row_counts(store) == (0, 0)
    assert files_under(tmp_path / "photos") == []


def test_failed_publish_keeps_photos_of_earlier_listings(store, tmp_path, monkeypatch):
    kept = store.publish(listing(), [PHOTO_A])
    monkeypatch.setattr(
        ListingStore, "_photo_row", lambda *args: (_ for _ in ()).throw(RuntimeError("boom"))
    )
    with pytest.raises(RuntimeError):
        store.publish(listing("Another"), [PHOTO_A, PHOTO_B])
    assert row_counts(store) == (1, 1)
    assert files_under(tmp_path / "photos") == [tmp_path / "photos" / kept.photos[0].path]


def test_constraint_violation_rolls_back(store, tmp_path):
    bad = listing()
    bad.title = None  # NOT NULL: the INSERT fails inside the transaction
    with pytest.raises(Exception, match="NOT NULL"):
        store.publish(bad, [PHOTO_A])
    assert row_counts(store) == (0, 0)
    assert files_under(tmp_path / "photos") == []


def test_concurrent_publishes_share_one_photo_file(store, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda i: store.publish(listing(f"scarf {i}"), [PHOTO_A]), range(8)))
    assert sorted(r.id for r in results) == list(range(1, 9))
    assert row_counts(store) == (8, 8)
    assert len(files_under(tmp_path / "photos")) == 1


# ------------------------------------------------------------------ PostgreSQL (optional)
def _postgres_binaries() -> Path | None:
    """Folder of initdb/pg_ctl (Debian puts them under /usr/lib/postgresql/<v>/bin)."""
    if shutil.which("initdb") and shutil.which("pg_ctl"):
        return Path(shutil.which("initdb")).parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return candidates[-1].parent if candidates else None


def _run(command: list, **kwargs) -> None:
    """Run a server command; on failure, fail with its output."""
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {result.stdout}{result.stderr}")


@pytest.fixture
def postgres_url():
    """A throwaway PostgreSQL server (skipped when no server binary exists on this machine)."""
    binaries = _postgres_binaries()
    if binaries is None:
        pytest.skip("no PostgreSQL server binary (initdb/pg_ctl) on this machine")
    pytest.importorskip("psycopg")
    import os
    import pwd
    import socket
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="shopml-pg-"))  # outside pytest's root-only tmp tree
    run_as: dict = {}
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: use the unprivileged account
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root)
            pytest.skip("running as root and no 'postgres' account to run the server")
        shutil.chown(root, user.pw_uid, user.pw_gid)
        run_as = {"user": user.pw_uid, "group": user.pw_gid}
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    data = root / "data"
    try:
        _run([binaries / "initdb", "-D", data, "-U", "shopml", "--auth=trust", "-E", "UTF8"],
             **run_as)
        _run([binaries / "pg_ctl", "-D", data, "-w", "-l", root / "server.log", "-o",
              f"-p {port} -k {root} -c listen_addresses=127.0.0.1", "start"], **run_as)
        yield f"postgresql+psycopg://shopml@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, **run_as)
        shutil.rmtree(root, ignore_errors=True)


def test_postgresql_round_trip_and_rollback(postgres_url, tmp_path, monkeypatch):
    store = ListingStore(postgres_url, tmp_path / "pg-photos")
    try:
        first = store.publish(listing(), [PHOTO_A])
        assert store.get(first.id).attributes == {"articleType": "Scarves", "baseColour": "Red"}
        monkeypatch.setattr(
            ListingStore, "_photo_row", lambda *args: (_ for _ in ()).throw(RuntimeError("boom"))
        )
        with pytest.raises(RuntimeError):
            store.publish(listing("Half"), [PHOTO_B])
        assert row_counts(store) == (1, 1)
        assert len(files_under(tmp_path / "pg-photos")) == 1
    finally:
        store.close()
