"""The marketplace event log's schema: table layouts and the FeatureSpec.

An event log is a directory of Parquet files:

``clicks.parquet``
    ``click_id`` int64 (unique), ``ts`` int64 unix seconds, ``user_id`` int64,
    ``item_id`` int64, the declared feature columns, optionally ``treatment``
    (int64 arm, 0 = control) and ``exposure`` (int8 0/1 impression flag).
``events.parquet``
    ``click_id`` int64, ``kind`` string (``cart``, ``pay``, ``refund``,
    ``visit``, ``click``, ``conversion``, ...), ``ts`` int64, ``amount`` float64
    (required, finite and >= 0 for ``pay``/``refund``; null otherwise).
``catalog.parquet`` (optional)
    ``item_id`` int64 plus any of ``title``, ``description``, ``image_path``,
    ``stock``, ``price`` and attribute columns.
``touchpoints.parquet`` (optional)
    ``user_id`` int64, ``ts`` int64, ``channel`` string, ``campaign`` string.
``conversions.parquet`` (optional, goes with touchpoints)
    ``user_id`` int64, ``ts`` int64, ``amount`` float64.
``truth.parquet`` (optional, simulator only)
    ``click_id`` (or ``user_id``) plus true probabilities / effects. Never
    joined into features by any loader.
``spec.json``
    The :class:`FeatureSpec` and metadata (source, preset, windows, seed).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
from pydantic import BaseModel, Field, field_validator, model_validator

CLICK_KEY_COLUMNS: dict[str, pa.DataType] = {
    "click_id": pa.int64(),
    "ts": pa.int64(),
    "user_id": pa.int64(),
    "item_id": pa.int64(),
}
CLICK_OPTIONAL_COLUMNS: dict[str, pa.DataType] = {"treatment": pa.int64(), "exposure": pa.int8()}
EVENT_COLUMNS: dict[str, pa.DataType] = {
    "click_id": pa.int64(),
    "kind": pa.string(),
    "ts": pa.int64(),
    "amount": pa.float64(),
}
TOUCHPOINT_COLUMNS: dict[str, pa.DataType] = {
    "user_id": pa.int64(),
    "ts": pa.int64(),
    "channel": pa.string(),
    "campaign": pa.string(),
}
CONVERSION_COLUMNS: dict[str, pa.DataType] = {
    "user_id": pa.int64(),
    "ts": pa.int64(),
    "amount": pa.float64(),
}
MONEY_EVENT_KINDS = ("pay", "refund")
KNOWN_EVENT_KINDS = ("cart", "pay", "refund", "visit", "click", "conversion", "fav", "impression")
TABLE_FILES = ("clicks", "events", "catalog", "touchpoints", "conversions", "truth")

# Earliest and latest plausible event time: 2000-01-01 .. 2100-01-01 UTC.
MIN_TS = 946_684_800
MAX_TS = 4_102_444_800

# Names that are labels, outcomes or derived from future events. A feature whose
# name matches any of these is rejected by FeatureSpec: label leakage is a
# schema error, not a modelling choice.
_LEAKY_PATTERNS = [
    r"^(label|labels|target|y|outcome)(_.*)?$",
    r".*(^|_)(conversion|converted|convert|cvr|netcvr|pay|paid|purchase|purchased|buy|bought)(_|$).*",
    r".*(^|_)(refund|refunded|return|returned|gmv|revenue|spend|sales)(_|$).*",
    r".*(^|_)(delay|elapsed|time_to|ttc)(_|$).*",
    r".*(^|_)(truth|true|effect|uplift|tau)(_|$).*",
    r"^(visit|visited|clicked|click_label)$",
    r"^(kind|amount)$",
]
# Aggregates over events strictly before the click are legitimate features; they
# must say so in their name (e.g. ``hist_purchase_count``, ``past_refund_rate``).
_HISTORY_PREFIXES = ("hist_", "past_", "prev_")
_RESERVED = set(CLICK_KEY_COLUMNS) | set(CLICK_OPTIONAL_COLUMNS)


class LeakyFeatureError(ValueError):
    """A declared feature is a label or derived from events after the click."""


class Feature(BaseModel):
    """One declared feature column of the clicks table."""

    name: str
    kind: Literal["categorical", "numeric", "sequence"]
    vocab_size: int | None = Field(default=None, ge=1)
    vocab: list[str] | None = None
    max_len: int | None = Field(default=None, ge=1)
    group: Literal["user", "item", "context", "other"] = "other"

    @field_validator("name")
    @classmethod
    def _name_is_not_leaky(cls, name: str) -> str:
        if name in _RESERVED:
            raise ValueError(f"feature name {name!r} is a reserved clicks column")
        low = name.lower()
        if low.startswith(_HISTORY_PREFIXES):
            return name
        for pattern in _LEAKY_PATTERNS:
            if re.fullmatch(pattern, low):
                raise LeakyFeatureError(
                    f"feature {name!r} looks like a label or a value derived from future events "
                    f"(matches {pattern!r}); labels are derived by EventLog, never declared as features"
                )
        return name

    @model_validator(mode="after")
    def _vocab_rules(self) -> Feature:
        if (
            self.kind in ("categorical", "sequence")
            and self.vocab_size is None
            and self.vocab is None
        ):
            raise ValueError(f"{self.kind} feature {self.name!r} needs vocab_size or vocab")
        if (
            self.vocab is not None
            and self.vocab_size is not None
            and len(self.vocab) != self.vocab_size
        ):
            raise ValueError(f"feature {self.name!r}: len(vocab) != vocab_size")
        if self.kind == "numeric" and (self.vocab or self.vocab_size):
            raise ValueError(f"numeric feature {self.name!r} cannot have a vocabulary")
        return self

    @property
    def cardinality(self) -> int:
        """Number of distinct codes (0 for numeric features)."""
        if self.vocab is not None:
            return len(self.vocab)
        return int(self.vocab_size or 0)

    def arrow_type(self) -> pa.DataType:
        """Arrow type this feature is stored as in clicks.parquet."""
        if self.kind == "numeric":
            return pa.float64()
        if self.kind == "sequence":
            return pa.list_(pa.string() if self.vocab is not None else pa.int64())
        return pa.string() if self.vocab is not None else pa.int64()


class FeatureSpec(BaseModel):
    """The declared feature columns of a clicks table, plus free-form metadata."""

    features: list[Feature] = Field(default_factory=list)
    meta: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _unique(self) -> FeatureSpec:
        names = [f.name for f in self.features]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"features declared twice: {sorted(dup)}")
        return self

    @property
    def names(self) -> list[str]:
        """Feature column names in declaration order."""
        return [f.name for f in self.features]

    def by_kind(self, kind: str) -> list[Feature]:
        """Features of one kind (categorical, numeric, sequence)."""
        return [f for f in self.features if f.kind == kind]

    def __getitem__(self, name: str) -> Feature:
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(f"no declared feature {name!r}")

    def clicks_schema(self, treatment: bool = False, exposure: bool = False) -> pa.Schema:
        """Arrow schema of a clicks table with these features."""
        fields = [pa.field(n, t) for n, t in CLICK_KEY_COLUMNS.items()]
        fields += [pa.field(f.name, f.arrow_type()) for f in self.features]
        if treatment:
            fields.append(pa.field("treatment", pa.int64()))
        if exposure:
            fields.append(pa.field("exposure", pa.int8()))
        return pa.schema(fields)

    def save(self, path: str | Path) -> None:
        """Write as JSON."""
        Path(path).write_text(json.dumps(self.model_dump(), indent=2, default=str))

    @classmethod
    def load(cls, path: str | Path) -> FeatureSpec:
        """Read from JSON written by :meth:`save`."""
        return cls.model_validate_json(Path(path).read_text())


EVENTS_SCHEMA = pa.schema([pa.field(n, t) for n, t in EVENT_COLUMNS.items()])
TOUCHPOINTS_SCHEMA = pa.schema([pa.field(n, t) for n, t in TOUCHPOINT_COLUMNS.items()])
CONVERSIONS_SCHEMA = pa.schema([pa.field(n, t) for n, t in CONVERSION_COLUMNS.items()])
