"""A file cut short (an interrupted download or copy) ends in a partial line, which pandas
reads as a row with its last fields missing, and a cut number ("[118.93]" -> "[11") as a
value. The last line of a file that does not end in a newline is checked here for its field
count: a cut that removes a separator is caught; a cut inside the last field is not (it
cannot be told from a shorter value)."""

from __future__ import annotations

from pathlib import Path

from shopml.data.loaders import DatasetError

TAIL_BYTES = 1 << 16


def _tail(path: Path) -> bytes:
    """The file's last bytes (nothing for a compressed file: a cut gzip stream fails to
    decompress, which the reader reports)."""
    if path.suffix in (".gz", ".bz2", ".xz", ".zip", ".zst"):
        return b""
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - TAIL_BYTES))
        return handle.read()


def require_complete_last_line(path: str | Path, sep: str, n_fields: int) -> None:
    """DatasetError when the file does not end in a newline and its last line has fewer than
    ``n_fields`` fields: the file was cut short."""
    tail = _tail(Path(path))
    if not tail or tail.endswith((b"\n", b"\r")):
        return
    last = tail.rsplit(b"\n", 1)[-1]
    found = last.count(sep.encode()) + 1
    if found < n_fields:
        shown = last[-40:].decode("utf-8", errors="replace")
        raise DatasetError(
            f"{path}: the last line has {found} of {n_fields} {sep!r}-separated fields and no "
            f"line end (ends {shown!r}): the file looks cut short; fetch it again"
        )
