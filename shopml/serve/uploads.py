"""Checking uploaded photos before anything uses them.

Order of checks, each with its own status: how many files (413), each file's size (413, read
no further than the limit + 1 byte), whether the bytes start like an image at all (415), and
whether they decode fully (422 for corrupt or truncated data, 413 for too many pixels).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from shopml.serve.errors import ApiError

# Leading bytes of the formats the app accepts (JPEG, PNG, WebP, GIF, BMP).
_MAGIC: list[tuple[int, bytes, str]] = [
    (0, b"\xff\xd8\xff", "JPEG"),
    (0, b"\x89PNG\r\n\x1a\n", "PNG"),
    (8, b"WEBP", "WebP"),
    (0, b"GIF87a", "GIF"),
    (0, b"GIF89a", "GIF"),
    (0, b"BM", "BMP"),
]
ACCEPTED_FORMATS = "JPEG, PNG, WebP, GIF or BMP"


class UploadLike(Protocol):
    """What the app needs of an uploaded file (Starlette's UploadFile fits)."""

    filename: str | None
    file: BinaryIO


@dataclass
class Photo:
    """One checked upload: its name (for messages) and its bytes."""

    name: str
    data: bytes


def sniff_format(data: bytes) -> str | None:
    """The image format the bytes start with, or None if they start like no accepted image."""
    for offset, magic, name in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            if name == "WebP" and not data.startswith(b"RIFF"):
                continue
            return name
    return None


def check_photo(name: str, data: bytes, max_bytes: int) -> Photo:
    """Check one upload's bytes; ApiError with the file name and the problem if unusable."""
    from shopml.vision.images import ImageError, load_image

    if not data:
        raise ApiError(422, f"photo {name!r} is empty (0 bytes)")
    if len(data) > max_bytes:
        raise ApiError(
            413, f"photo {name!r} is too large (over the limit of {max_bytes:,} bytes per photo)"
        )
    if sniff_format(data) is None:
        raise ApiError(415, f"photo {name!r} is not an image; upload a {ACCEPTED_FORMATS} file")
    try:
        load_image(data)
    except ImageError as exc:
        detail = str(exc).removeprefix("<bytes>: ")
        status = 413 if "too many pixels" in detail or "too large" in detail else 422
        raise ApiError(status, f"photo {name!r}: {detail}") from exc
    return Photo(name, data)


def read_photos(
    files: Sequence[UploadLike] | None, max_files: int, max_bytes: int
) -> list[Photo]:
    """Read and check uploaded photos (at least one, at most `max_files`, each <= `max_bytes`)."""
    files = [f for f in files or [] if f.filename or _has_data(f)]
    if not files:
        raise ApiError(422, "no photo uploaded: send 1 or more photos in the 'photos' field")
    if len(files) > max_files:
        raise ApiError(413, f"too many photos: {len(files)} uploaded, at most {max_files} allowed")
    photos = []
    for index, upload in enumerate(files, start=1):
        name = upload.filename or f"photo {index}"
        data = upload.file.read(max_bytes + 1)
        photos.append(check_photo(name, data, max_bytes))
    return photos


def _has_data(upload: UploadLike) -> bool:
    """Whether a nameless upload carries any bytes (browsers send empty nameless parts)."""
    position = upload.file.tell()
    has = bool(upload.file.read(1))
    upload.file.seek(position)
    return has
