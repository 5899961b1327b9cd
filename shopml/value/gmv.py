"""The GMV view of an event log: per click, its purchase sequence and GMV labels.

Li et al., "Delayed Feedback Modeling for Post-Click Gross Merchandise Volume Prediction:
Benchmark, Insights and Approaches", WWW 2026 (arXiv 2601.20307; code
github.com/alimama-tech/OnlineGMV), Sec. 2: a click at t_c is followed by purchases
(t_1, p_1), ..., (t_N, p_N) within the attribution window w_a (7 days on TRACE); the final
label is y* = sum_i p_i and at time t only y(t) = sum_{t_i <= t} p_i is observed. A click
is a *repurchase* click when N > 1 (TRACE's ``multi_tag``).

:class:`GmvView` holds the purchases of every click in CSR form (``offsets`` into
time-sorted ``pay_ts`` / ``amount``), so every label is a vectorised NumPy reduction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shopml.data.eventlog import NO_EVENT, EventLog

DAY = 86_400
DEFAULT_WINDOW_S = 7 * DAY


@dataclass(frozen=True)
class GmvView:
    """Per click: its purchases within the attribution window (CSR), and the GMV labels."""

    click_ts: np.ndarray  # [n] int64
    offsets: np.ndarray  # [n + 1] int64: purchases of click i are [offsets[i], offsets[i+1])
    pay_ts: np.ndarray  # [m] int64, ascending within each click
    amount: np.ndarray  # [m] float64
    window_s: int = DEFAULT_WINDOW_S

    def __post_init__(self) -> None:
        n = len(self.click_ts)
        if len(self.offsets) != n + 1 or self.offsets[0] != 0 or self.offsets[-1] != len(self.pay_ts):
            raise ValueError(f"offsets must have {n + 1} entries from 0 to {len(self.pay_ts)}")
        if len(self.amount) != len(self.pay_ts):
            raise ValueError("pay_ts and amount must have the same length")
        if np.any(np.diff(self.offsets) < 0):
            raise ValueError("offsets must be non-decreasing")

    # ---------------------------------------------------------------- building
    @classmethod
    def from_log(cls, log: EventLog, window_s: int | None = None) -> GmvView:
        """The view of a log's ``pay`` events within the GMV window (default: the log's
        ``gmv_window_s`` / ``conversion_window_s`` meta, else 7 days)."""
        if window_s is None:
            meta = log.spec.meta
            window_s = int(meta.get("gmv_window_s", meta.get("conversion_window_s", DEFAULT_WINDOW_S)))
        rows, ts, amount = log.events_of("pay")  # sorted by (click row, ts)
        click_ts = log.column("ts").astype(np.int64)
        delay = ts - click_ts[rows]
        keep = (delay >= 0) & (delay <= window_s)
        return cls.from_purchases(click_ts, rows[keep], ts[keep], amount[keep], window_s)

    @classmethod
    def from_purchases(
        cls,
        click_ts: np.ndarray,
        rows: np.ndarray,
        pay_ts: np.ndarray,
        amount: np.ndarray,
        window_s: int = DEFAULT_WINDOW_S,
    ) -> GmvView:
        """Build from per-purchase (click row, time, amount) arrays in any order."""
        click_ts = np.asarray(click_ts, dtype=np.int64)
        rows = np.asarray(rows, dtype=np.int64)
        pay_ts = np.asarray(pay_ts, dtype=np.int64)
        amount = np.asarray(amount, dtype=np.float64)
        if len(rows) and (rows.min() < 0 or rows.max() >= len(click_ts)):
            raise ValueError("purchase rows must index the clicks")
        order = np.lexsort((pay_ts, rows))
        counts = np.bincount(rows, minlength=len(click_ts))
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return cls(click_ts, offsets, pay_ts[order], amount[order], int(window_s))

    # ------------------------------------------------------------------ labels
    def __len__(self) -> int:
        return len(self.click_ts)

    @property
    def n_purchases(self) -> np.ndarray:
        """Number of purchases of each click within the window."""
        return np.diff(self.offsets)

    @property
    def owner(self) -> np.ndarray:
        """Click row of each purchase."""
        return np.repeat(np.arange(len(self), dtype=np.int64), self.n_purchases)

    @property
    def rank(self) -> np.ndarray:
        """1-based position of each purchase within its click (TRACE's ``count``)."""
        return np.arange(len(self.pay_ts), dtype=np.int64) - self.offsets[self.owner] + 1

    @property
    def cumulative_gmv(self) -> np.ndarray:
        """GMV observed right after each purchase (sum of the click's amounts so far)."""
        total = np.cumsum(self.amount)
        before = np.concatenate([[0.0], total])[self.offsets[:-1]]
        return total - np.repeat(before, self.n_purchases)

    @property
    def final_gmv(self) -> np.ndarray:
        """Final label y*: GMV at the end of the attribution window."""
        return np.bincount(self.owner, weights=self.amount, minlength=len(self))

    @property
    def converted(self) -> np.ndarray:
        """True where the click has at least one purchase."""
        return self.n_purchases > 0

    @property
    def repurchase(self) -> np.ndarray:
        """Repurchase flag (TRACE's ``multi_tag``): more than one purchase."""
        return self.n_purchases > 1

    @property
    def first_pay_ts(self) -> np.ndarray:
        """Time of each click's first purchase (NO_EVENT where none)."""
        out = np.full(len(self), NO_EVENT, dtype=np.int64)
        has = self.converted
        out[has] = self.pay_ts[self.offsets[:-1][has]]
        return out

    @property
    def last_pay_ts(self) -> np.ndarray:
        """Time of each click's last purchase within the window (NO_EVENT where none)."""
        out = np.full(len(self), NO_EVENT, dtype=np.int64)
        has = self.converted
        out[has] = self.pay_ts[self.offsets[1:][has] - 1]
        return out

    def observed(self, at: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
        """(purchases, GMV) of each click as observed at time `at` (scalar or per click)."""
        at = np.broadcast_to(np.asarray(at, dtype=np.int64), (len(self),))
        owner = self.owner
        seen = self.pay_ts <= at[owner]
        count = np.bincount(owner[seen], minlength=len(self)).astype(np.int64)
        gmv = np.bincount(owner[seen], weights=self.amount[seen], minlength=len(self))
        return count, gmv

    def take(self, rows: np.ndarray) -> GmvView:
        """The view of a subset of clicks (in the given order)."""
        rows = np.asarray(rows, dtype=np.int64)
        counts = self.n_purchases[rows]
        starts = self.offsets[:-1][rows]
        idx = np.repeat(starts - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
        idx = idx + np.arange(int(counts.sum()), dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return GmvView(self.click_ts[rows], offsets, self.pay_ts[idx], self.amount[idx], self.window_s)
