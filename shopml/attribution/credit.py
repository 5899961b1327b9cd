"""`shopml attribution credit`: credit tables of a user's own journeys.

Everything is computed before anything is written, so a method that cannot run (exact
Shapley over more than ``MAX_CHANNELS`` channels, Markov without a converted journey) stops
the command before ``--out`` is touched. What the loader dropped and how many conversions
have no touch before them (and so get no credit) is said, not left to the tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from shopml.attribution.base import Attribution, attribute
from shopml.attribution.journeys import Journeys
from shopml.attribution.shapley import MAX_CHANNELS
from shopml.data.eventlog import EventLog

EXACT_LIMITED = {"shapley": MAX_CHANNELS}


@dataclass
class CreditPlan:
    """The methods to run and the ones left out of a default run (with why)."""

    methods: list[str]
    skipped: dict[str, str]


def plan_methods(journeys: Journeys, named: list[str] | None, default: list[str]) -> CreditPlan:
    """The methods to run; ValueError when a named method cannot run on these journeys, and a
    default one that cannot is skipped with its reason."""
    n = len(journeys.channels)
    blocked = {
        m: f"{n} channels; exact {m} is limited to {limit} (group rare channels together)"
        for m, limit in EXACT_LIMITED.items()
        if n > limit
    }
    if named is not None:
        for m in named:
            if m in blocked:
                raise ValueError(f"{m}: {blocked[m]}, or leave it out of --methods")
        return CreditPlan(list(named), {})
    return CreditPlan([m for m in default if m not in blocked], blocked)


def conversion_summary(log: EventLog, journeys: Journeys, lookback_days: float | None = None) -> str:
    """How many conversions (and how much value) the data holds and how many get credit."""
    conversions = log.conversions
    total = 0 if conversions is None else conversions.num_rows
    value = 0.0
    if conversions is not None and "amount" in conversions.column_names:
        value = float(np.nansum(conversions.column("amount").to_numpy(zero_copy_only=False)))
    credited_value = float(journeys.table["value"].to_numpy()[journeys.converted == 1].sum())
    left = journeys.unattributed_conversions
    before = "before them" if lookback_days is None else f"within {lookback_days:g} day(s) before them"
    return (
        f"{total:,} conversion(s) (value {value:,.2f}) in the data; {journeys.n_conversions:,} "
        f"credited (value {credited_value:,.2f}); {left:,} without a touch {before} get no "
        f"credit (value {value - credited_value:,.2f})"
    )


RESERVED_COLUMNS = ("journey", "customer_id", "user_id", "conversion_time", "conversion_ts")


def run_methods(
    journeys: Journeys, methods: list[str], seed: int, options: dict[str, dict]
) -> list[Attribution]:
    """Every method's attribution (ValueError naming the method that cannot run)."""
    results = []
    for name in methods:
        try:
            results.append(attribute(journeys, name, seed=seed, **options.get(name, {})))
        except ValueError as exc:
            message = str(exc)
            raise ValueError(message if message.startswith(name) else f"{name}: {message}") from exc
    return results


def journey_rows(log: EventLog, journeys: Journeys, result: Attribution) -> pd.DataFrame:
    """One method's credit per converted journey, with the customer's own id and the time of
    the conversion (UTC, ISO 8601)."""
    table = result.journey_table()
    if any(c in RESERVED_COLUMNS for c in result.channels):  # keep the id columns apart
        table.columns = [f"channel:{c}" for c in result.channels]
    info = journeys.table.iloc[result.journey_ids]
    users = info["user_id"].to_numpy()
    customer_ids = log.spec.meta.get("customer_ids")
    if customer_ids is not None:
        table.insert(0, "customer_id", np.asarray(customer_ids, dtype=object)[users])
    table.insert(len(table.columns) - len(result.channels), "user_id", users)
    end = info["end_ts"].to_numpy()
    table.insert(
        len(table.columns) - len(result.channels),
        "conversion_time",
        pd.to_datetime(end, unit="s", utc=True).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    table.insert(len(table.columns) - len(result.channels), "conversion_ts", end)
    return table


def write_tables(
    out: Path, log: EventLog, journeys: Journeys, results: list[Attribution]
) -> list[Path]:
    """channels.csv (method × channel) and journeys_<method>.csv per method, in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for result in results:
        path = out / f"journeys_{result.method}.csv"
        journey_rows(log, journeys, result).to_csv(path)
        paths.append(path)
    channels = pd.concat(
        [r.channel_table().reset_index().assign(method=r.method) for r in results]
    )[["method", "channel", "conversions", "share", "value"]]
    channels.to_csv(out / "channels.csv", index=False)
    return [*paths, out / "channels.csv"]


def stale_tables(out: Path, methods: list[str]) -> list[Path]:
    """journeys_<method>.csv files in ``out`` from methods this run does not write."""
    if not out.is_dir():
        return []
    mine = {f"journeys_{m}.csv" for m in methods}
    return sorted(p for p in out.glob("journeys_*.csv") if p.name not in mine)
