"""Wall time of shopml.metrics on large synthetic data (default 10M rows); writes a result card.

    .venv/bin/python benchmarks/metrics_speed.py --rows 10_000_000 --seed 0

Times one call each (wall and process CPU seconds; NumPy runs single-threaded here) of
``auc``, ``pr_auc``, ``nll``, ``group_auc`` (rows / 10 groups), ``regression_auc`` (lognormal
GMV-like target) and ``qini`` (Qini coefficient), prints a table and writes
``docs/results/cards/metrics_speed-synthetic-seed<seed>.json`` (via ``write_card``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from shopml import metrics

BENCHMARK = "metrics_speed"


def make_data(rows: int, seed: int) -> dict[str, np.ndarray]:
    """Synthetic CVR / GMV / uplift columns with realistic ties and group sizes."""
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=rows)
    prob = 1 / (1 + np.exp(-(signal - 3.0)))  # about 7% positives
    label = (rng.random(rows) < prob).astype(np.int8)
    score = np.round(np.clip(prob * rng.lognormal(sigma=0.3, size=rows), 0, 1), 5)
    gmv = np.round(rng.lognormal(mean=4.0, sigma=1.0, size=rows), 2)
    treatment = rng.integers(0, 2, rows, dtype=np.int8)
    effect = 0.02 * (1 + np.tanh(signal))
    converted = (rng.random(rows) < 0.05 + treatment * effect).astype(np.int8)
    return {
        "label": label,
        "score": score,
        "group": rng.integers(0, max(rows // 10, 1), rows),
        "gmv": gmv,
        "gmv_pred": np.round(gmv * rng.lognormal(sigma=0.5, size=rows), 2),
        "treatment": treatment,
        "converted": converted,
        "uplift": np.round(effect + rng.normal(scale=0.02, size=rows), 4),
    }


def cases(data: dict[str, np.ndarray]) -> dict[str, Callable[[], float]]:
    """One zero-argument call per timed metric."""
    return {
        "auc": lambda: metrics.auc(data["label"], data["score"]),
        "pr_auc": lambda: metrics.pr_auc(data["label"], data["score"]),
        "nll": lambda: metrics.nll(data["label"], data["score"]),
        "group_auc": lambda: metrics.group_auc(data["label"], data["score"], data["group"]),
        "regression_auc": lambda: metrics.regression_auc(data["gmv"], data["gmv_pred"]),
        "qini": lambda: metrics.qini(data["converted"], data["uplift"], data["treatment"]),
    }


def _write_json_card(card: dict[str, Any], out_dir: Path) -> Path:
    """Fallback when shopml.report.cards is missing: plain JSON with the card's keys."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{BENCHMARK}.json"
    path.write_text(json.dumps(card, indent=2, default=float) + "\n")
    return path


def main(argv: list[str] | None = None) -> None:
    """Time every metric once on --rows rows and write the result card."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", type=Path, default=None, help="card directory")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    data = make_data(args.rows, args.seed)
    print(f"generated {args.rows:,} rows in {time.perf_counter() - started:.1f} s")

    results = []
    print(f"{'metric':<16}{'value':>12}{'wall_s':>10}{'cpu_s':>10}{'Mrows/s':>10}")
    for method, call in cases(data).items():
        tic, cpu_tic = time.perf_counter(), time.process_time()
        value = call()
        wall, cpu = time.perf_counter() - tic, time.process_time() - cpu_tic
        print(f"{method:<16}{value:>12.6f}{wall:>10.2f}{cpu:>10.2f}{args.rows / wall / 1e6:>10.2f}")
        results.append(
            {
                "method": method,
                "metrics": {"value": value, "cpu_s": cpu, "rows_per_s": args.rows / wall},
                "wall_s": wall,
            }
        )

    config = {"rows": args.rows, "groups": max(args.rows // 10, 1), "generator": "make_data v1"}
    config_sha = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode())
    dataset = {"name": "synthetic", "preset": BENCHMARK, "sha256": config_sha.hexdigest()}
    try:
        from shopml.report.cards import write_card
    except ImportError:  # the report package is optional for this script
        card = {
            "benchmark": BENCHMARK,
            "dataset": dataset,
            "seed": args.seed,
            "config": config,
            "env": {"python": platform.python_version(), "cpu_count": os.cpu_count()},
            "results": results,
        }
        path = _write_json_card(card, args.out_dir or Path("docs/results/cards"))
    else:
        path = write_card(BENCHMARK, dataset, args.seed, config, results, out_dir=args.out_dir)
    print(f"card: {path}")


if __name__ == "__main__":
    main()
