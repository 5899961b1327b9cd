"""The journey view of an event log: touchpoints cut into journeys that end in a conversion.

A user's touchpoints (``touchpoints`` table: user_id, ts, channel, campaign) are split at
each of the user's conversions (``conversions`` table: user_id, ts, amount): the touches at
or before the first conversion form journey 0 (converted), the touches after it up to the
second conversion journey 1, ...; the touches after the user's last conversion form a
non-converted journey. Conversions with no touch before them cannot be attributed; they are
counted (``Journeys.unattributed_conversions``), never silently dropped. An optional
``lookback_s`` drops touches older than that before their journey's end (a conversion
window, as in ad platforms).

Everything is vectorised (NumPy sorts, cumulative sums and ``reduceat``); there is no loop
over journeys or users.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from shopml.data.eventlog import EventLog


class JourneyError(ValueError):
    """The touchpoints / conversions given cannot be turned into journeys."""


@dataclass
class Journeys:
    """Touches grouped into journeys.

    ``touches`` (one row per touch, sorted by journey then time): ``journey`` (0..n-1),
    ``user_id``, ``ts``, ``channel`` (code into ``channels``), ``position`` (0-based within
    the journey), ``length`` (touches in the journey), ``to_end_s`` (seconds from the touch
    to the journey's end: its conversion, or its last touch if it did not convert),
    ``to_last_s`` (seconds to the journey's last touch; label-free, for prediction).
    ``table`` (one row per journey): ``journey``, ``user_id``, ``start_ts``, ``last_ts``,
    ``end_ts``, ``n_touches``, ``converted`` (0/1), ``value`` (conversion amount, 0 if none).
    ``context``: per journey, the user's categorical context codes (or None).
    """

    touches: pd.DataFrame
    table: pd.DataFrame
    channels: list[str]
    context: pd.DataFrame | None = None
    unattributed_conversions: int = 0
    meta: dict = field(default_factory=dict)

    @property
    def n_journeys(self) -> int:
        """Number of journeys."""
        return len(self.table)

    @property
    def converted(self) -> np.ndarray:
        """0/1 per journey."""
        return self.table["converted"].to_numpy()

    @property
    def n_conversions(self) -> int:
        """Number of converted journeys (the conversions that can be attributed)."""
        return int(self.converted.sum())

    def starts(self) -> np.ndarray:
        """Index into ``touches`` of each journey's first touch."""
        return np.r_[0, np.cumsum(self.table["n_touches"].to_numpy())[:-1]].astype(np.int64)

    def channel_masks(self) -> np.ndarray:
        """Per journey, the bitmask of the channels it touched (bit c = channel code c)."""
        bits = np.left_shift(1, self.touches["channel"].to_numpy().astype(np.int64))
        return np.bitwise_or.reduceat(bits, self.starts())

    def paths(self) -> pd.Series:
        """Per journey, its channel path as text ``a > b > c`` (for reports and cross-checks)."""
        names = np.asarray(self.channels, dtype=object)[self.touches["channel"].to_numpy()]
        return pd.Series(names).groupby(self.touches["journey"].to_numpy()).agg(" > ".join)


def _first_bad(table: str, column: str, values: pd.Series, bad: np.ndarray, need: str) -> None:
    """A JourneyError naming the first row of ``bad`` (if any), its value and what is needed."""
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        value = values.iloc[row]
        value = value.item() if isinstance(value, np.generic) else value
        raise JourneyError(
            f"{table} row {row}, column {column!r}: {value!r}; {need} "
            f"({int(bad.sum())} such row(s))"
        )


def _user_ids(frame: pd.DataFrame, table: str) -> np.ndarray:
    """The ``user_id`` column as int64 (integer ids; a clear error for blanks or fractions)."""
    values = frame["user_id"]
    numeric = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(numeric) | (numeric != np.round(numeric))
    _first_bad(table, "user_id", values, bad, "user ids must be integers or text, not blank")
    return (
        values.to_numpy(dtype=np.int64) if values.dtype.kind in "iu" else numeric.astype(np.int64)
    )


def _holds_text(values: pd.Series) -> bool:
    """Whether a user_id column holds text ids (a value that is not a number)."""
    if values.dtype.kind in "iufb":
        return False
    return bool((values.notna() & pd.to_numeric(values, errors="coerce").isna()).any())


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, (bool, np.bool_))


def _text_ids(frame: pd.DataFrame, table: str) -> np.ndarray:
    """The ``user_id`` column as stripped text (numbers written as integers); blanks refused."""
    values = frame["user_id"]
    if values.dtype.kind in "iuf":  # numbers (a nullable integer column may hold <NA>)
        ids = _user_ids(frame, table)  # a blank or a fraction is named
        return ids.astype(str).astype(object)
    text = values.astype("string").str.strip()
    _first_bad(table, "user_id", values, (text.isna() | (text == "")).to_numpy(dtype=bool),
               "user ids must not be blank")  # fmt: skip
    out = text.to_numpy(dtype=object)
    # numbers held among text (an object column): 2.0 is the user 2, 2.5 no id
    number = np.fromiter(map(_is_number, values), dtype=bool, count=len(values))
    if number.any():
        numeric = np.full(len(values), np.nan)
        numeric[number] = pd.to_numeric(values[number]).to_numpy(dtype=np.float64)
        _first_bad(table, "user_id", values, number & (numeric != np.round(numeric)),
                   "user ids must be whole numbers or text")  # fmt: skip
        out[number] = [str(int(v)) for v in values[number]]
    return out


def _user_codes(
    touchpoints: pd.DataFrame, conversions: pd.DataFrame | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Both tables' user ids as int64 codes, and the text id of each code when either table
    holds text ids (codes in sorted text order; None for integer ids, which are their codes)."""
    has_conversions = conversions is not None and len(conversions) > 0
    frames = [touchpoints] + ([conversions] if has_conversions else [])
    if not any(_holds_text(frame["user_id"]) for frame in frames):
        codes = [_user_ids(frame, name) for frame, name in zip(frames, TABLES, strict=False)]
        return codes[0], (codes[1] if has_conversions else np.zeros(0, np.int64)), None
    ids = [_text_ids(frame, name) for frame, name in zip(frames, TABLES, strict=False)]
    codes, labels = pd.factorize(np.concatenate(ids), sort=True)
    touch_codes = codes[: len(ids[0])].astype(np.int64)
    return touch_codes, codes[len(ids[0]) :].astype(np.int64), np.asarray(labels, dtype=object)


def _epoch_seconds(frame: pd.DataFrame, table: str) -> np.ndarray:
    """The ``ts`` column as int64 Unix seconds: numbers are taken as seconds, datetimes (naive =
    UTC, or zone-aware) converted; a blank or a value that is neither is a clear error."""
    values = frame["ts"]
    if isinstance(values.dtype, pd.DatetimeTZDtype) or values.dtype.kind == "M":
        moments = pd.to_datetime(values, utc=True)
        _first_bad(table, "ts", values, moments.isna().to_numpy(), "ts must not be blank")
        return ((moments - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).to_numpy(np.int64)
    numeric = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    _first_bad(table, "ts", values, ~np.isfinite(numeric),
               "ts must be Unix seconds or datetimes, not blank")  # fmt: skip
    return (
        values.to_numpy(dtype=np.int64) if values.dtype.kind in "iu" else numeric.astype(np.int64)
    )


TABLES = ("touchpoints", "conversions")

#: column names that hold a conversion's value in other tools' tables
VALUE_COLUMN_NAMES = ("value", "conversion_value", "revenue", "conv_value", "total_conv_value")


def _amounts(conversions: pd.DataFrame) -> np.ndarray:
    """Conversion values from ``amount`` (1 each without the column); blank or negative refused."""
    if "amount" not in conversions.columns:
        named = [c for c in VALUE_COLUMN_NAMES if c in conversions.columns]
        if named:  # a value column under another name would be dropped for 1 per conversion
            raise JourneyError(
                f"conversions have no 'amount' column but have {named[0]!r}: rename it to "
                "'amount' (the conversion's value), or drop it to count every conversion as 1"
            )
        return np.ones(len(conversions))
    values = conversions["amount"]
    amount = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    _first_bad("conversions", "amount", values, ~np.isfinite(amount) | (amount < 0),
               "a conversion's amount must be a number, 0 or more")  # fmt: skip
    return amount


def _codes(values: pd.Series, channels: list[str] | None) -> tuple[np.ndarray, list[str]]:
    _first_bad("touchpoints", "channel", values, values.isna().to_numpy(),
               "every touch needs a channel")  # fmt: skip
    names = values.astype("string").to_numpy(dtype=object)
    if channels is None:
        channels = sorted(set(names.tolist()))
    repeated = sorted({c for c in channels if list(channels).count(c) > 1})
    if repeated:
        raise JourneyError(f"channels lists {repeated} more than once; name each channel once")
    index = {c: i for i, c in enumerate(channels)}
    codes = pd.Series(names).map(index)
    missing = codes.isna().to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise JourneyError(
            f"touchpoints row {row}, column 'channel': {names[row]!r} is not one of {channels}"
        )
    return codes.to_numpy(dtype=np.int64), list(channels)


def build_journeys(
    touchpoints: pd.DataFrame,
    conversions: pd.DataFrame | None = None,
    channels: list[str] | None = None,
    context: pd.DataFrame | None = None,
    lookback_s: float | None = None,
) -> Journeys:
    """Cut touchpoints (user_id, ts, channel) at conversions (user_id, ts[, amount]) into journeys.

    ``user_id``: integer ids, or text ids (when either table holds one, every id is read as
    text, integers written as such, and the output tables keep the ids as given; ``context``
    is then indexed by the text ids). ``ts``: Unix seconds, or datetimes (naive = UTC).
    ``amount``: the conversion's value, a number >= 0 (1 per conversion without the column).
    A blank id, time, channel or amount, a fractional id or a negative amount is a
    :class:`JourneyError` naming the table, column and row. ``context`` (optional) is indexed by
    user_id and holds categorical codes; it is aligned to the journeys. ``channels`` fixes the
    channel order (default: sorted names), each channel once.
    """
    for col in ("user_id", "ts", "channel"):
        if col not in touchpoints.columns:
            raise JourneyError(f"touchpoints table lacks column {col!r}")
    if lookback_s is not None and not lookback_s > 0:
        raise JourneyError(f"the lookback window must be positive, got {lookback_s} s")
    if len(touchpoints) == 0:
        raise JourneyError("touchpoints table is empty: nothing to attribute")
    if conversions is not None and len(conversions) and "user_id" not in conversions.columns:
        raise JourneyError("conversions table lacks column 'user_id'")
    t_user, c_user, labels = _user_codes(touchpoints, conversions)
    t_ts = _epoch_seconds(touchpoints, "touchpoints")
    t_ch, channels = _codes(touchpoints["channel"], channels)
    if len(channels) > 62:
        raise JourneyError(f"{len(channels)} channels; at most 62 are supported")
    if conversions is None or len(conversions) == 0:
        c_ts = np.zeros(0, np.int64)
        c_val = np.zeros(0, np.float64)
    else:
        if "ts" not in conversions.columns:
            raise JourneyError("conversions table lacks column 'ts'")
        c_ts = _epoch_seconds(conversions, "conversions")
        c_val = _amounts(conversions)
    order = np.lexsort((t_ts, t_user))
    t_user, t_ts, t_ch = t_user[order], t_ts[order], t_ch[order]
    c_order = np.lexsort((c_ts, c_user))
    c_user, c_ts, c_val = c_user[c_order], c_ts[c_order], c_val[c_order]

    # k = number of the user's conversions strictly before the touch (ties: touch first)
    all_user = np.r_[t_user, c_user]
    all_ts = np.r_[t_ts, c_ts]
    is_conv = np.r_[np.zeros(len(t_user), np.int64), np.ones(len(c_user), np.int64)]
    merged = np.lexsort((is_conv, all_ts, all_user))
    conv_before = np.cumsum(is_conv[merged]) - is_conv[merged]
    before_all = np.empty(len(merged), np.int64)
    before_all[merged] = conv_before
    earlier_users = np.searchsorted(c_user, t_user, side="left")
    k = before_all[: len(t_user)] - earlier_users

    # journey key (user, k); converted if the user has a conversion number k
    n_conv_user_lo = np.searchsorted(c_user, t_user, side="left")
    n_conv_user_hi = np.searchsorted(c_user, t_user, side="right")
    has_conv = k < (n_conv_user_hi - n_conv_user_lo)
    conv_index = np.where(has_conv, n_conv_user_lo + k, -1)
    new_journey = np.r_[True, (t_user[1:] != t_user[:-1]) | (k[1:] != k[:-1])]
    journey = np.cumsum(new_journey) - 1
    safe_index = np.maximum(conv_index, 0) if len(c_ts) else np.zeros(len(conv_index), np.int64)
    end_ts = np.where(has_conv, np.r_[c_ts, 0][safe_index], 0)

    if lookback_s is not None:
        seg = np.flatnonzero(new_journey)
        last_ts = np.maximum.reduceat(t_ts, seg)[journey]
        ref = np.where(has_conv, end_ts, last_ts)
        keep = (ref - t_ts) <= lookback_s
        t_user, t_ts, t_ch, k = t_user[keep], t_ts[keep], t_ch[keep], k[keep]
        has_conv, conv_index, end_ts = has_conv[keep], conv_index[keep], end_ts[keep]
        new_journey = np.r_[True, (t_user[1:] != t_user[:-1]) | (k[1:] != k[:-1])]
        journey = np.cumsum(new_journey) - 1

    seg = np.flatnonzero(new_journey)
    n_touch = np.diff(np.r_[seg, len(t_user)])
    j_converted = has_conv[seg]
    j_conv_index = conv_index[seg]
    j_start = t_ts[seg]
    j_last = np.maximum.reduceat(t_ts, seg)
    j_end = np.where(j_converted, end_ts[seg], j_last)
    j_value = np.where(j_converted, np.r_[c_val, 0.0][np.maximum(j_conv_index, 0)], 0.0)
    attributed = int(j_converted.sum())
    unattributed = len(c_user) - attributed

    position = np.arange(len(t_user)) - seg[journey]
    touches = pd.DataFrame(
        {
            "journey": journey.astype(np.int64),
            "user_id": t_user,
            "ts": t_ts,
            "channel": t_ch,
            "position": position.astype(np.int64),
            "length": n_touch[journey].astype(np.int64),
            "to_end_s": (j_end[journey] - t_ts).astype(np.float64),
            "to_last_s": (j_last[journey] - t_ts).astype(np.float64),
        }
    )
    table = pd.DataFrame(
        {
            "journey": np.arange(len(seg), dtype=np.int64),
            "user_id": t_user[seg],
            "start_ts": j_start,
            "last_ts": j_last,
            "end_ts": j_end,
            "n_touches": n_touch.astype(np.int64),
            "converted": j_converted.astype(np.int8),
            "value": j_value,
        }
    )
    if labels is not None:  # the users' own text ids in the output tables
        touches["user_id"] = labels[t_user]
        table["user_id"] = labels[t_user[seg]]
    ctx = None
    if context is not None and len(context.columns):
        ctx = context.reindex(table["user_id"].to_numpy())
        missing = ctx.isna().any(axis=1).to_numpy()
        if missing.any():
            user = table["user_id"].iloc[int(np.flatnonzero(missing)[0])]
            user = user.item() if isinstance(user, np.generic) else user
            raise JourneyError(
                f"context has no row for user_id {user!r} ({int(missing.sum())} journeys)"
            )
        ctx = ctx.astype(np.int64).reset_index(drop=True)
    return Journeys(
        touches=touches,
        table=table,
        channels=channels,
        context=ctx,
        unattributed_conversions=unattributed,
    )


def journeys_from_log(log: EventLog, lookback_s: float | None = None) -> Journeys:
    """The journeys of an event log with touchpoints (and conversions); user context from
    the clicks table's declared categorical user features, where there are any."""
    if not isinstance(log, EventLog):
        raise JourneyError(
            f"journeys_from_log takes an EventLog with touchpoints, got {type(log).__name__} "
            "(a loader that returns a table, e.g. google_merch_sessions, has no journeys)"
        )
    if log.touchpoints is None or log.touchpoints.num_rows == 0:
        where = f" {log.path}" if log.path is not None else ""
        raise JourneyError(
            f"the event log{where} has no touchpoints table: nothing to attribute (a log of the "
            "simulator's journeys preset, or attribution_data.csv, has one)"
        )
    touch = log.touchpoints.select(["user_id", "ts", "channel"]).to_pandas()
    conv = log.conversions.to_pandas() if log.conversions is not None else None
    channels = log.spec.meta.get("channels")
    names = [f.name for f in log.spec.features if f.kind == "categorical"]
    context = None
    if names:
        clicks = log.clicks.select(["user_id", *names]).to_pandas()
        context = clicks.drop_duplicates("user_id").set_index("user_id")
    result = build_journeys(touch, conv, channels=channels, context=context, lookback_s=lookback_s)
    if context is not None:
        result.meta["context_vocab"] = {
            f.name: f.cardinality for f in log.spec.features if f.name in names
        }
    return result


def journeys_from_paths(
    paths: list[list[str]],
    converted: list[int],
    channels: list[str] | None = None,
    gap_s: int = 86_400,
) -> Journeys:
    """Hand-built journeys (tests, examples): one path of channel names per journey, touches
    ``gap_s`` apart, a converted journey converting ``gap_s`` after its last touch."""
    if len(paths) != len(converted):
        raise JourneyError(f"{len(paths)} paths but {len(converted)} conversion flags")
    if any(len(p) == 0 for p in paths):
        raise JourneyError("every path needs at least one touch")
    lengths = np.array([len(p) for p in paths])
    user = np.repeat(np.arange(len(paths)), lengths)
    pos = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    touch = pd.DataFrame(
        {"user_id": user, "ts": pos * gap_s, "channel": [c for p in paths for c in p]}
    )
    conv_users = np.flatnonzero(np.asarray(converted) == 1)
    conv = pd.DataFrame({"user_id": conv_users, "ts": lengths[conv_users] * gap_s})
    return build_journeys(touch, conv, channels=channels)
