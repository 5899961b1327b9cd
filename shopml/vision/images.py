"""Loading user photos safely: one place that turns a path or upload bytes into an RGB image.

Every failure raises :class:`ImageError` naming the file (or ``<bytes>`` for uploads) and the
problem: missing file, zero bytes, not an image, corrupt or truncated data, too many bytes or
too many pixels (a decompression bomb). Nothing is half-loaded: the pixels are fully decoded
before the image is returned.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

from PIL import Image

MAX_IMAGE_BYTES = 20 * 1024 * 1024
"""Largest accepted encoded image (20 MiB)."""

MAX_IMAGE_PIXELS = 40_000_000
"""Largest accepted width x height (40 megapixels, e.g. 8000 x 5000)."""

ImageSource = str | Path | bytes


class ImageError(ValueError):
    """A photo that cannot be used: missing, empty, not an image, corrupt or too large."""


def _name(source: ImageSource) -> str:
    """How the source is named in error messages."""
    if isinstance(source, bytes | bytearray | memoryview):
        return "<bytes>"
    return str(source)


def _read_bytes(source: ImageSource, name: str) -> bytes:
    """The encoded bytes of a path or bytes source, checking size limits."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    elif isinstance(source, str | Path):
        path = Path(source)
        if not path.exists():
            raise ImageError(f"{name}: image file does not exist")
        if not path.is_file():
            raise ImageError(f"{name}: not a regular file")
        size = path.stat().st_size
        if size > MAX_IMAGE_BYTES:
            raise ImageError(
                f"{name}: image file is too large ({size:,} bytes; limit {MAX_IMAGE_BYTES:,})"
            )
        data = path.read_bytes()
    else:
        raise ImageError(f"unsupported image source of type {type(source).__name__}")
    if not data:
        raise ImageError(f"{name}: image is empty (0 bytes)")
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageError(
            f"{name}: image is too large ({len(data):,} bytes; limit {MAX_IMAGE_BYTES:,})"
        )
    return data


def read_image_bytes(source: ImageSource) -> bytes:
    """The encoded bytes of a path or bytes source; ImageError if missing, empty or too large."""
    return _read_bytes(source, _name(source))


def load_image(source: ImageSource) -> Image.Image:
    """Decode a path or encoded bytes into a fully loaded RGB image; ImageError if unusable."""
    name = _name(source)
    data = _read_bytes(source, name)
    image_format = "image"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                width, height = probe.size
                image_format = f"{probe.format} image" if probe.format else "image"
                if width * height > MAX_IMAGE_PIXELS:
                    raise ImageError(
                        f"{name}: image has too many pixels ({width}x{height} = "
                        f"{width * height:,}; limit {MAX_IMAGE_PIXELS:,})"
                    )
                if width <= 0 or height <= 0:
                    raise ImageError(f"{name}: image has no pixels ({width}x{height})")
                probe.load()
                image = probe.convert("RGB") if probe.mode != "RGB" else probe.copy()
    except ImageError:
        raise
    except Image.UnidentifiedImageError as exc:
        raise ImageError(f"{name}: not an image (unrecognised file format)") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"{name}: image has too many pixels: {exc}") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"{name}: corrupt or truncated {image_format}: {exc}") from exc
    return image


def to_rgb(image: ImageSource | Image.Image) -> Image.Image:
    """An RGB PIL image from a path, bytes or an existing PIL image."""
    if isinstance(image, Image.Image):
        if image.width * image.height > MAX_IMAGE_PIXELS:
            raise ImageError(f"<image>: image has too many pixels ({image.width}x{image.height})")
        return image if image.mode == "RGB" else image.convert("RGB")
    return load_image(image)
