"""A file cut short (an interrupted download or copy) ends in a partial line, which pandas
reads as a row with its last fields missing, Arrow skips as a malformed line, and a cut
number ("[118.93]" -> "[11") is read as a value. The last record of a file that does not end
in a newline is checked here for its field count: a cut that removes a separator is caught;
a cut inside the last field is not (it cannot be told from a shorter value).

Quoted CSV is handled as the readers handle it: when the file's last line holds a quote, the
last *record* (which may span lines, or hold the separator inside quotes) is found by parsing
the file with :mod:`csv`; a last line without a quote is a record of its own and is counted
as it stands. Compressed files are not checked: a cut compressed stream fails to decompress,
which the reader reports."""

from __future__ import annotations

import csv
from pathlib import Path

from shopml.data.loaders import DatasetError

TAIL_BYTES = 1 << 16
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz", ".zip", ".zst")


def _tail(path: Path) -> bytes:
    """The file's last bytes (nothing for a compressed file)."""
    if path.suffix in COMPRESSED_SUFFIXES:
        return b""
    with open(path, "rb") as handle:
        if handle.read(2) == b"\x1f\x8b":  # gzip data whatever the name
            return b""
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - TAIL_BYTES))
        return handle.read()


def _last_record_fields(path: Path, sep: str) -> int | None:
    """Field count of the file's last non-empty record, parsed as quoted CSV (None if the
    csv module cannot parse the file: the reader then decides)."""
    last: list[str] | None = None
    try:
        # latin-1 maps every byte to one character, so separators, quotes and line ends are
        # found exactly in UTF-8, cp1252 and cp949 text alike
        with open(path, encoding="latin-1", newline="") as handle:
            for row in csv.reader(handle, delimiter=sep):
                if row:
                    last = row
    except csv.Error:
        return None
    return None if last is None else len(last)


def require_complete_last_line(
    path: str | Path, sep: str, n_fields: int, *, quoted: bool = True
) -> None:
    """DatasetError when the file does not end in a newline and its last record has fewer
    than ``n_fields`` fields: the file was cut short. `quoted` says whether the reader treats
    ``"`` as a quote (False for files read with ``quoting=3``)."""
    p = Path(path)
    tail = _tail(p)
    if not tail or tail.endswith((b"\n", b"\r")):
        return
    last = tail.rsplit(b"\n", 1)[-1]
    if quoted and b'"' in last:
        found = _last_record_fields(p, sep)
        if found is None:
            return
    else:
        found = last.count(sep.encode()) + 1
    if found < n_fields:
        shown = last[-40:].decode("utf-8", errors="replace")
        raise DatasetError(
            f"{path}: the last line has {found} of {n_fields} {sep!r}-separated fields and no "
            f"line end (ends {shown!r}): the file looks cut short; fetch it again"
        )
