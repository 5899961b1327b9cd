"""Reading a timestamp column whose format the file does not state.

Two ways a guessed format silently goes wrong, both refused or resolved here:

- **Numbers.** ``pd.to_datetime`` reads integers as nanoseconds, so Unix seconds land on
  1970-01-01. A numeric column is read as a Unix epoch in the one unit (s, ms, us, ns)
  that puts every value between 1990 and 2100; no such unit is an error.
- **Day or month first.** ``08/07/2018`` is 8 July or 7 August. pandas guesses from the
  first value (month first) and a per-row "mixed" retry would read the other rows each
  its own way. Here both readings are tried on the whole column: the one that fits
  every row is used; when both fit, the dates are ambiguous and refused.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format

from shopml.data.loaders import DatasetError

EPOCH_UNITS = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
_YEAR_DAY_MONTH = ("%Y-%d-%m", "%Y/%d/%m", "%Y.%d.%m", "%Y%d%m")
EPOCH_RANGE_S = (631_152_000, 4_102_444_800)  # 1990-01-01 .. 2100-01-01, UTC


def epoch_unit(values: np.ndarray) -> tuple[str, np.ndarray]:
    """The unit (s, ms, us, ns) that puts the median value within 1990..2100, and the mask of
    values outside that range in that unit (every value outside when no unit fits)."""
    median = float(np.median(values))
    for unit, scale in EPOCH_UNITS.items():
        if EPOCH_RANGE_S[0] <= median / scale < EPOCH_RANGE_S[1]:
            secs = values / scale
            return unit, ~((secs >= EPOCH_RANGE_S[0]) & (secs < EPOCH_RANGE_S[1]))
    return "s", np.ones(len(values), dtype=bool)


# Tried when pandas cannot guess a format from the first value (it guesses no 2-digit year).
SHORT_YEAR_FORMATS = [
    f"{date} {clock}".strip()
    for date in ("%m/%d/%y", "%d/%m/%y", "%m-%d-%y", "%d-%m-%y", "%d.%m.%y")
    for clock in ("", "%H:%M", "%H:%M:%S")
]


def _candidate_formats(first: str) -> list[str]:
    """Formats the first value can be read in: month first and day first, when they differ."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        guesses = [guess_datetime_format(first), guess_datetime_format(first, dayfirst=True)]
        if not any(guesses):
            guesses = [
                fmt
                for fmt in SHORT_YEAR_FORMATS
                if pd.notna(pd.to_datetime(pd.Series([first]), format=fmt, errors="coerce")[0])
            ]
    # Year first is always year-month-day: a year-day-month guess is no reading of its own.
    readings = [g for g in guesses if g is not None and not g.startswith(_YEAR_DAY_MONTH)]
    return list(dict.fromkeys(readings))


def _parse(raw: pd.Series, fmt: str) -> pd.Series:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pd.to_datetime(raw, errors="coerce", format=fmt, utc=True)


def infer_datetimes(raw: pd.Series, where: str) -> tuple[pd.Series, str | None, str | None]:
    """Datetimes (UTC) of a text column in the one format that fits every value; a note when
    the first value alone could be read two ways; and, when no format fits every value, the
    first value's format (the values that do not fit are NaT, for the caller to name).
    DatasetError naming ``where`` when two readings fit every row."""
    text = raw.astype("string").str.strip()
    present = raw.notna().to_numpy()
    if not present.any():
        return pd.to_datetime(raw, errors="coerce", utc=True), None, None
    first = str(text[present].iloc[0])
    candidates = _candidate_formats(first)
    readings = {fmt: _parse(text, fmt) for fmt in candidates}  # each format parsed once
    fitting = [fmt for fmt, parsed in readings.items() if parsed[present].notna().all()]
    if len(fitting) > 1:
        raise DatasetError(
            f"{where}: dates such as {first!r} read as month first ({fitting[0]}) and as day "
            f"first ({fitting[1]}) both fit every row; write them as ISO 8601 "
            "(YYYY-MM-DD HH:MM:SS) so the day and month cannot be swapped"
        )
    if fitting:
        note = None
        if len(candidates) > 1:
            note = f"dates such as {first!r} read as {fitting[0]}, the one reading that fits every row"
        return readings[fitting[0]], note, None
    iso = _parse(text, "ISO8601")
    if iso[present].notna().all():
        return iso, None, None
    if not candidates:
        raise DatasetError(
            f"{where}: cannot tell the date format of its first value {first!r}; write the dates "
            "as ISO 8601 (YYYY-MM-DD HH:MM:SS)"
        )
    best = min(candidates, key=lambda fmt: int(readings[fmt][present].isna().sum()))
    return readings[best], None, best
