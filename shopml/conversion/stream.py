"""The online stream protocol of TESLA (arXiv 2601.19965, Appendix D.1–D.2).

The log is split by time into a pre-training part, a leakage gap of
``W_v_attr + W_r_attr`` and a streaming part cut into slices (default 15
min). A method trains on the samples *delivered* during slice n and is
evaluated on the clicks of slice n+1 against their complete labels; metrics
are averaged over slices.

A :class:`Delivery` is what a sample-delivery policy produces: a time-ordered
stream of training samples, each pointing at a click row, with the labels as
observed at delivery time for the CVR tower and the refund (RFR) tower
(``-1`` = this sample carries no label for that tower).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shopml.conversion.timeline import DAY, Timeline, Windows

MASKED = -1.0


class StreamConfig(BaseModel):
    """Where the pre-training part ends and how the stream is sliced."""

    model_config = ConfigDict(extra="forbid")  # a misspelt setting is an error, not the default
    pretrain_days: float = Field(default=12.0, gt=0, allow_inf_nan=False)
    stream_days: float | None = Field(
        default=None, gt=0, allow_inf_nan=False, description="None = to the end of the log"
    )
    slice_s: int = Field(default=900, gt=0)


@dataclass(frozen=True)
class StreamSplit:
    """Time split of a log: pre-training clicks, the gap, and the streaming slices."""

    start_ts: int
    pretrain_end: int
    stream_start: int
    stream_end: int
    slice_s: int

    @classmethod
    def make(cls, click_ts: np.ndarray, windows: Windows, config: StreamConfig) -> StreamSplit:
        """Split clicks by time: pre-train part, leakage gap, streaming part."""
        if len(click_ts) == 0:
            raise ValueError("cannot split an empty log")
        start = int(click_ts.min())
        last = int(click_ts.max()) + 1
        pretrain_end = start + int(config.pretrain_days * DAY)
        stream_start = pretrain_end + windows.leakage_gap_s
        stream_end = (
            last if config.stream_days is None else stream_start + int(config.stream_days * DAY)
        )
        stream_end = min(stream_end, last)
        if stream_end - stream_start < 2 * config.slice_s:
            raise ValueError(
                f"the log spans {(last - start) / DAY:.1f} days: too short for {config.pretrain_days} "
                f"pre-training days + a {windows.leakage_gap_s / DAY:.1f}-day gap + at least two slices"
            )
        return cls(start, pretrain_end, stream_start, stream_end, config.slice_s)

    @property
    def n_slices(self) -> int:
        """Number of streaming slices."""
        return int(np.ceil((self.stream_end - self.stream_start) / self.slice_s))

    def slice_bounds(self, n: int) -> tuple[int, int]:
        """[start, end) of slice n."""
        lo = self.stream_start + n * self.slice_s
        return lo, min(lo + self.slice_s, self.stream_end)

    def slice_index(self, ts: np.ndarray) -> np.ndarray:
        """Slice index of each time (-1 before the stream, n_slices at or after its end)."""
        idx = np.floor_divide(np.asarray(ts, dtype=np.int64) - self.stream_start, self.slice_s)
        idx = np.where(np.asarray(ts) < self.stream_start, -1, idx)
        return np.where(np.asarray(ts) >= self.stream_end, self.n_slices, idx)

    def pretrain_rows(self, click_ts: np.ndarray) -> np.ndarray:
        """Rows of the pre-training clicks."""
        return np.flatnonzero(click_ts < self.pretrain_end)

    def stream_rows(self, click_ts: np.ndarray) -> np.ndarray:
        """Rows of the streaming clicks."""
        return np.flatnonzero((click_ts >= self.stream_start) & (click_ts < self.stream_end))


@dataclass
class Delivery:
    """A time-ordered stream of training samples produced by a delivery policy.

    Columns (equal length): ``row`` click row, ``ts`` delivery time, ``y_cvr``
    and ``y_rfr`` labels as observed at delivery (``MASKED`` = none for that
    tower), ``kind`` a policy-specific sample-type code whose names are in
    ``kinds``. ``elapsed`` (delivery time − click time) is derived.
    """

    row: np.ndarray
    ts: np.ndarray
    y_cvr: np.ndarray
    y_rfr: np.ndarray
    kind: np.ndarray
    kinds: tuple[str, ...]

    def __post_init__(self) -> None:
        n = len(self.row)
        for name in ("ts", "y_cvr", "y_rfr", "kind"):
            if len(getattr(self, name)) != n:
                raise ValueError(
                    f"Delivery column {name!r} has {len(getattr(self, name))} rows, expected {n}"
                )
        self.row = np.asarray(self.row, dtype=np.int64)
        self.ts = np.asarray(self.ts, dtype=np.int64)
        self.y_cvr = np.asarray(self.y_cvr, dtype=np.float32)
        self.y_rfr = np.asarray(self.y_rfr, dtype=np.float32)
        self.kind = np.asarray(self.kind, dtype=np.int8)
        order = np.lexsort((self.kind, self.row, self.ts))
        if not np.array_equal(order, np.arange(n)):
            for name in ("row", "ts", "y_cvr", "y_rfr", "kind"):
                setattr(self, name, getattr(self, name)[order])

    def __len__(self) -> int:
        return len(self.row)

    @classmethod
    def concat(cls, parts: list[Delivery]) -> Delivery:
        """Concatenate deliveries that share the same kind names; the result is time-ordered."""
        if not parts:
            raise ValueError("nothing to concatenate")
        kinds = parts[0].kinds
        if any(p.kinds != kinds for p in parts):
            raise ValueError("cannot concatenate deliveries with different kind names")
        return cls(
            row=np.concatenate([p.row for p in parts]),
            ts=np.concatenate([p.ts for p in parts]),
            y_cvr=np.concatenate([p.y_cvr for p in parts]),
            y_rfr=np.concatenate([p.y_rfr for p in parts]),
            kind=np.concatenate([p.kind for p in parts]),
            kinds=kinds,
        )

    def elapsed(self, timeline: Timeline) -> np.ndarray:
        """Seconds between each sample's click and its delivery."""
        return (self.ts - timeline.click_ts[self.row]).astype(np.float64)

    def between(self, lo: int, hi: int) -> Delivery:
        """The samples delivered in [lo, hi)."""
        a, b = np.searchsorted(self.ts, [lo, hi], side="left")
        return Delivery(
            self.row[a:b],
            self.ts[a:b],
            self.y_cvr[a:b],
            self.y_rfr[a:b],
            self.kind[a:b],
            self.kinds,
        )

    def records(self) -> list[tuple]:
        """(row, ts, y_cvr, y_rfr, kind name) per sample: for tests and debugging."""
        return [
            (int(r), int(t), float(c), float(f), self.kinds[k])
            for r, t, c, f, k in zip(
                self.row, self.ts, self.y_cvr, self.y_rfr, self.kind, strict=True
            )
        ]
