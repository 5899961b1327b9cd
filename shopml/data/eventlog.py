"""EventLog: a marketplace's clicks and the outcome events that follow them.

Opens a directory of Parquet files (layout in :mod:`shopml.data.schema`),
exposes the tables as Arrow, and derives task labels with vectorised
NumPy code: converted within a window, refunded within a window after the
pay, GMV within a window, number of purchases, delays. Labels are computed
from events; they are never stored as features.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from shopml.data.schema import TABLE_FILES, FeatureSpec

NO_EVENT = np.iinfo(np.int64).max


class EventLogError(ValueError):
    """An event-log directory or table is missing or malformed."""


def not_a_log_message(root: Path) -> str:
    """Why `root` (not a directory) is no event log: missing, or a file and what reads one."""
    if not root.is_file():
        return f"{root}: no such event-log directory"
    return (
        f"{root}: a file, not an event-log directory (clicks.parquet, events.parquet, "
        "spec.json); read a data set's file with its loader: shopml.data.load(NAME, path), or "
        "--dataset NAME / --data on the command line"
    )


@dataclass
class EventLog:
    """The clicks and events of a marketplace, with optional side tables."""

    clicks: pa.Table
    events: pa.Table
    spec: FeatureSpec = field(default_factory=FeatureSpec)
    catalog: pa.Table | None = None
    touchpoints: pa.Table | None = None
    conversions: pa.Table | None = None
    path: Path | None = None
    _index_cache: dict = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ io
    @classmethod
    def open(cls, path: str | Path) -> EventLog:
        """Open an event-log directory (clicks.parquet, events.parquet, spec.json, ...)."""
        root = Path(path)
        if not root.is_dir():
            raise EventLogError(not_a_log_message(root))
        tables: dict[str, pa.Table | None] = {}
        for name in TABLE_FILES:
            if name == "truth":
                continue  # truth is never loaded with the log; see read_truth()
            file = root / f"{name}.parquet"
            tables[name] = pq.read_table(file) if file.exists() else None
        if tables["clicks"] is None:
            raise EventLogError(f"{root}: missing clicks.parquet")
        if tables["events"] is None:
            raise EventLogError(f"{root}: missing events.parquet")
        spec_file = root / "spec.json"
        spec = FeatureSpec.load(spec_file) if spec_file.exists() else FeatureSpec()
        return cls(
            clicks=tables["clicks"],
            events=tables["events"],
            spec=spec,
            catalog=tables["catalog"],
            touchpoints=tables["touchpoints"],
            conversions=tables["conversions"],
            path=root,
        )

    def write(self, path: str | Path, truth: pa.Table | None = None) -> Path:
        """Write the log (and optionally a truth table) as a directory of Parquet files."""
        root = Path(path)
        root.mkdir(parents=True, exist_ok=True)
        pq.write_table(self.clicks, root / "clicks.parquet")
        pq.write_table(self.events, root / "events.parquet")
        for name in ("catalog", "touchpoints", "conversions"):
            table = getattr(self, name)
            if table is not None:
                pq.write_table(table, root / f"{name}.parquet")
        if truth is not None:
            pq.write_table(truth, root / "truth.parquet")
        self.spec.save(root / "spec.json")
        return root

    @staticmethod
    def read_truth(path: str | Path) -> pa.Table:
        """Read the simulator's truth table (true probabilities); for evaluation only."""
        file = Path(path) / "truth.parquet"
        if not file.exists():
            raise EventLogError(f"{path}: no truth.parquet (only simulated logs have one)")
        return pq.read_table(file)

    # ------------------------------------------------------------ accessors
    @property
    def n_clicks(self) -> int:
        """Number of clicks."""
        return self.clicks.num_rows

    def column(self, name: str) -> np.ndarray:
        """A clicks column as a NumPy array."""
        if name not in self.clicks.column_names:
            raise EventLogError(f"clicks has no column {name!r}")
        return self.clicks.column(name).to_numpy(zero_copy_only=False)

    def categorical_codes(self, user: str = "the models") -> tuple[np.ndarray, list[int]]:
        """The declared categorical features as integer codes [n, F] and their cardinalities.

        A feature with a string vocabulary (a loader keeps non-integer values as strings) is
        coded by its position in the vocabulary. ``user`` names who needs the codes in errors.
        """
        features = self.spec.by_kind("categorical")
        if not features:
            where = ""
            if self.path is not None and not (Path(self.path) / "spec.json").exists():
                where = f"; {self.path} has no spec.json, which declares them"
            raise EventLogError(
                f"{user} need categorical features declared in the log's FeatureSpec{where}"
            )
        columns, cards = [], []
        for feature in features:
            values = self.column(feature.name)
            if feature.vocab is not None:
                codes = pd.Categorical(values, categories=feature.vocab).codes.astype(np.int64)
                unknown = codes < 0
                if unknown.any():
                    raise EventLogError(
                        f"feature {feature.name!r}: {int(unknown.sum())} value(s) not in its "
                        f"vocabulary (e.g. {values[unknown][0]!r}); run `shopml data validate`"
                    )
            else:
                try:
                    codes = values.astype(np.int64)
                except (TypeError, ValueError) as exc:
                    raise EventLogError(
                        f"feature {feature.name!r} is declared with vocab_size but holds "
                        f"non-integer values ({exc}); run `shopml data validate`"
                    ) from None
                if len(codes) and (codes.min() < 0 or codes.max() >= feature.cardinality):
                    raise EventLogError(
                        f"feature {feature.name!r} has codes outside [0, {feature.cardinality}); "
                        "run `shopml data validate`"
                    )
            columns.append(codes)
            cards.append(int(feature.cardinality))
        return np.stack(columns, axis=1), cards

    def _click_position(self, click_ids: np.ndarray) -> np.ndarray:
        """Row position in clicks of each click id (-1 where unknown)."""
        if "order" not in self._index_cache:
            ids = self.column("click_id")
            order = np.argsort(ids, kind="stable")
            self._index_cache["order"] = order
            self._index_cache["sorted_ids"] = ids[order]
        order = self._index_cache["order"]
        sorted_ids = self._index_cache["sorted_ids"]
        if len(sorted_ids) == 0:
            return np.full(len(click_ids), -1, dtype=np.int64)
        pos = np.searchsorted(sorted_ids, click_ids)
        pos = np.clip(pos, 0, len(sorted_ids) - 1)
        found = sorted_ids[pos] == click_ids
        return np.where(found, order[pos], -1)

    def events_of(self, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(click row, ts, amount) of every event of one kind, sorted by (click row, ts)."""
        mask = pc.equal(self.events.column("kind"), kind)
        sub = self.events.filter(mask)
        cids = sub.column("click_id").to_numpy(zero_copy_only=False)
        rows = self._click_position(cids)
        if (rows < 0).any():
            bad = cids[rows < 0][:5]
            raise EventLogError(
                f"events: {int((rows < 0).sum())} {kind!r} events have an unknown click_id "
                f"(e.g. {bad.tolist()}); run `shopml data validate`"
            )
        ts = sub.column("ts").to_numpy(zero_copy_only=False).astype(np.int64)
        amount = sub.column("amount").to_numpy(zero_copy_only=False).astype(np.float64)
        order = np.lexsort((ts, rows))
        return rows[order], ts[order], amount[order]

    # --------------------------------------------------------------- labels
    def first_event_ts(self, kind: str, window: float | None = None) -> np.ndarray:
        """Per click, time of the first `kind` event (within `window` s of the click), else NO_EVENT."""
        rows, ts, _ = self.events_of(kind)
        out = np.full(self.n_clicks, NO_EVENT, dtype=np.int64)
        if window is not None:
            click_ts = self.column("ts")
            keep = ts - click_ts[rows] <= window
            rows, ts = rows[keep], ts[keep]
        # rows sorted by (row, ts): the first occurrence of each row is its earliest event.
        first = np.ones(len(rows), dtype=bool)
        first[1:] = rows[1:] != rows[:-1]
        out[rows[first]] = ts[first]
        return out

    def converted(self, window: float, kind: str = "pay") -> np.ndarray:
        """1 where the click has a `kind` event within `window` seconds, else 0."""
        return (self.first_event_ts(kind, window) != NO_EVENT).astype(np.int8)

    def conversion_delay(self, window: float | None = None, kind: str = "pay") -> np.ndarray:
        """Seconds from click to first `kind` event (NaN where none within the window)."""
        first = self.first_event_ts(kind, window)
        delay = (first - self.column("ts")).astype(np.float64)
        delay[first == NO_EVENT] = np.nan
        return delay

    def refund_ts(self, conversion_window: float, refund_window: float) -> np.ndarray:
        """Per click, time of the first refund within `refund_window` s after its first pay, else NO_EVENT."""
        pay = self.first_event_ts("pay", conversion_window)
        rows, ts, _ = self.events_of("refund")
        pay_ts = pay[rows]
        keep = (pay_ts != NO_EVENT) & (ts >= pay_ts) & (ts - pay_ts <= refund_window)
        rows, ts = rows[keep], ts[keep]
        out = np.full(self.n_clicks, NO_EVENT, dtype=np.int64)
        first = np.ones(len(rows), dtype=bool)
        first[1:] = rows[1:] != rows[:-1]
        out[rows[first]] = ts[first]
        return out

    def refunded(self, conversion_window: float, refund_window: float) -> np.ndarray:
        """1 where the click converted and then refunded within the refund window."""
        return (self.refund_ts(conversion_window, refund_window) != NO_EVENT).astype(np.int8)

    def net_converted(self, conversion_window: float, refund_window: float) -> np.ndarray:
        """Net conversion label: paid within the window and not refunded within the refund window."""
        paid = self.converted(conversion_window)
        return (paid & (1 - self.refunded(conversion_window, refund_window))).astype(np.int8)

    def refund_delay(self, conversion_window: float, refund_window: float) -> np.ndarray:
        """Seconds from first pay to refund (NaN where no refund in the window)."""
        pay = self.first_event_ts("pay", conversion_window)
        ref = self.refund_ts(conversion_window, refund_window)
        delay = (ref - pay).astype(np.float64)
        delay[ref == NO_EVENT] = np.nan
        return delay

    def purchases(
        self, window: float, observed_at: np.ndarray | None = None, kind: str = "pay"
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per click, (number of purchases, GMV) within `window` s of the click, counting only
        purchases at or before `observed_at` (per-click absolute time) when given."""
        rows, ts, amount = self.events_of(kind)
        click_ts = self.column("ts")
        keep = ts - click_ts[rows] <= window
        if observed_at is not None:
            keep &= ts <= np.asarray(observed_at, dtype=np.int64)[rows]
        rows, amount = rows[keep], amount[keep]
        count = np.bincount(rows, minlength=self.n_clicks).astype(np.int64)
        gmv = np.bincount(rows, weights=amount, minlength=self.n_clicks)
        return count, gmv

    def gmv(self, window: float, observed_at: np.ndarray | None = None) -> np.ndarray:
        """Per click GMV (sum of pay amounts) within `window`, optionally as observed at a time."""
        return self.purchases(window, observed_at)[1]

    def n_purchases(self, window: float) -> np.ndarray:
        """Per click number of pay events within `window`."""
        return self.purchases(window)[0]
