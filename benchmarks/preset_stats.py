"""What each simulator preset produces, beside the targets it is calibrated to.

    python benchmarks/preset_stats.py [--clicks 1000000] [--seed 1]

Simulates every preset, measures its statistics from the event log itself (not from the
simulator's parameters), prints them beside the published targets and writes a result card
(benchmark "presets"); ``shopml report`` turns it into docs/results/presets.md, which
docs/data.md links to.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from rich.console import Console
from rich.table import Table

from shopml.data.simulate import simulate
from shopml.data.stats import data_stats
from shopml.report.cards import write_card

# (metric, target, acceptance window, source)
TARGETS: dict[str, list[tuple[str, float, str, str]]] = {
    "cascade": [
        ("cvr", 0.091, "[0.081, 0.101]", "CASCADE statistics (TESLA, arXiv 2601.19965, Table 6)"),
        ("refund_share", 0.54, "[0.49, 0.59]", "2.0M refunds of 3.7M conversions (Table 6)"),
        ("median_pay_delay_h", 3.9, "±20%", "CASCADE (issue #2)"),
        ("median_refund_delay_h", 0.1, "[0.05, 0.2]", "CASCADE (issue #2)"),
        ("duration_days", 25.0, "", "Table 6"),
    ],
    "trace": [
        ("repurchase_share", 0.535, "[0.48, 0.59]", "TRACE (READER, arXiv 2601.20307)"),
        ("duration_days", 82.0, "", "TRACE"),
    ],
    "c2c": [("single_stock_item_share", 0.5, "> 0.5", "issue #2: a majority of stock-1 items")],
    "uplift": [("max_effect_gap_se", 4.0, "< 4", "true effects average to realised arm differences")],
    "journeys": [("last_touch_tv_distance", 0.0, "> 0 (last touch is wrong)", "known channel credit")],
}


def cascade_or_trace_metrics(preset: str, n: int, seed: int) -> dict[str, float]:
    """Statistics of a cascade or trace world, measured from its event log."""
    stats = data_stats(simulate(preset, n, seed).log)
    keys = ["cvr", "refund_share", "median_pay_delay_h", "median_refund_delay_h", "repurchase_share", "duration_days"]
    return {k: float(stats[k]) for k in keys if stats.get(k) is not None}


def c2c_metrics(n: int, seed: int) -> dict[str, float]:
    """Share of catalog items with stock 1, and the pay rate."""
    world = simulate("c2c", n, seed)
    stock = world.log.catalog.column("stock").to_numpy()
    stats = data_stats(world.log)
    return {"single_stock_item_share": float((stock == 1).mean()), "cvr": float(stats["cvr"])}


def uplift_metrics(n: int, seed: int) -> dict[str, float]:
    """Largest gap (in standard errors) between mean true effect and realised arm difference."""
    world = simulate("uplift", n, seed)
    log, truth = world.log, world.truth
    arm = log.column("treatment")
    worst = 0.0
    stages = world.log.spec.meta["stage_event_kinds"]
    for stage, kind in stages.items():
        if kind not in ("click", "conversion", "pay", "visit"):  # impression: the exposure column
            outcome = log.column("exposure").astype(float)
        else:
            outcome = log.converted(10**9, kind=kind).astype(float)
        for a in sorted(set(arm.tolist()) - {0}):
            col = f"tau_{stage}_arm{a}"
            if col not in truth.column_names:
                continue
            tau = truth.column(col).to_numpy()
            y1, y0 = outcome[arm == a], outcome[arm == 0]
            se = np.sqrt(y1.var() / len(y1) + y0.var() / len(y0) + tau.var() / len(tau))
            worst = max(worst, abs(tau.mean() - (y1.mean() - y0.mean())) / se)
    return {"max_effect_gap_se": worst}


def journeys_metrics(n: int, seed: int) -> dict[str, float]:
    """Total-variation distance between last-touch and true channel shares."""
    meta = simulate("journeys", n, seed).log.spec.meta
    true, last = meta["true_channel_share"], meta["last_touch_share"]
    return {"last_touch_tv_distance": 0.5 * sum(abs(true[c] - last.get(c, 0.0)) for c in true)}


def main() -> None:
    """Measure every preset and write the card."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clicks", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    console = Console()
    results = []
    measure = {
        "cascade": lambda: cascade_or_trace_metrics("cascade", args.clicks, args.seed),
        "trace": lambda: cascade_or_trace_metrics("trace", args.clicks, args.seed),
        "c2c": lambda: c2c_metrics(args.clicks // 5, args.seed),
        "uplift": lambda: uplift_metrics(args.clicks // 5, args.seed),
        "journeys": lambda: journeys_metrics(args.clicks // 5, args.seed),
    }
    table = Table(title=f"simulator presets (seed {args.seed})")
    for col in ("preset", "statistic", "target", "window", "measured", "source"):
        table.add_column(col)
    for preset, fn in measure.items():
        t0 = time.perf_counter()
        measured = fn()
        wall = time.perf_counter() - t0
        targets = {m: t for m, t, _, _ in TARGETS[preset]}
        results.append({"method": f"{preset} target", "metrics": targets, "wall_s": None})
        results.append({"method": f"{preset} measured", "metrics": measured, "wall_s": round(wall, 2)})
        for metric, target, window, source in TARGETS[preset]:
            value = measured.get(metric)
            table.add_row(preset, metric, f"{target}", window, "" if value is None else f"{value:.4g}", source)
    console.print(table)
    path = write_card(
        "presets",
        {"name": "simulator", "clicks": args.clicks},
        args.seed,
        {"clicks": args.clicks, "note": "c2c, uplift, journeys use clicks // 5 rows"},
        results,
        name=f"presets-seed{args.seed}",
    )
    console.print(f"wrote {path}")


if __name__ == "__main__":
    main()
