"""Simulator throughput: clicks/s and peak memory of the ``cascade`` preset.

Each size runs in a fresh subprocess (so ``ru_maxrss`` is that run's peak resident memory;
tracemalloc is far too slow for NumPy-sized arrays). In the subprocess: import and a tiny
warm-up run (imports only), then a timed *cold* generation of the event log + truth in
memory, a timed Parquet write of the log directory (clicks, events, truth, spec), and,
after freeing the first world, a second *warm* generation (the allocator's pages are
reused; the gap to the cold number is first-touch page-fault cost on this machine).

    python benchmarks/simulate.py --sizes 1000000,10000000 --seed 1

Prints a table and writes a result card (``shopml.report.cards.write_card``).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # KiB on Linux


def _worker(n_clicks: int, seed: int, workdir: Path) -> dict:
    """Measure one size inside this (fresh) process."""
    from shopml.data.simulate import simulate

    simulate("cascade", 1_000, seed)  # imports and first-call overheads
    t0 = time.perf_counter()
    result = simulate("cascade", n_clicks, seed)
    gen_s = time.perf_counter() - t0
    rss_gen = _peak_rss_gb()
    t0 = time.perf_counter()
    out = result.write(workdir / "world")
    write_s = time.perf_counter() - t0
    rss_peak = _peak_rss_gb()
    parquet_mb = sum(p.stat().st_size for p in out.iterdir()) / 1024**2
    events = result.log.events.num_rows
    del result
    t0 = time.perf_counter()
    again = simulate("cascade", n_clicks, seed)
    warm_s = time.perf_counter() - t0
    del again
    return {
        "clicks": n_clicks,
        "events": events,
        "gen_s": gen_s,
        "gen_clicks_per_s": n_clicks / gen_s,
        "gen_warm_s": warm_s,
        "gen_warm_clicks_per_s": n_clicks / warm_s,
        "write_parquet_s": write_s,
        "write_clicks_per_s": n_clicks / write_s,
        "parquet_mb": parquet_mb,
        "peak_rss_gen_gb": rss_gen,
        "peak_rss_gb": rss_peak,
    }


def _run_size(n_clicks: int, seed: int) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="shopml-simbench-"))
    try:
        cmd = [sys.executable, __file__, "--worker", str(n_clicks), "--seed", str(seed),
               "--workdir", str(workdir)]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"worker for {n_clicks:,} clicks failed:\n{proc.stderr[-2000:]}")
        return json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark (or, with --worker, one measurement)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000", help="comma-separated click counts")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--out-dir", default=None, help="card directory (default docs/results/cards)"
    )
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker is not None:
        print(json.dumps(_worker(args.worker, args.seed, Path(args.workdir))))
        return
    try:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes must be comma-separated integers, got {args.sizes!r}")
    if not sizes or min(sizes) < 1:
        parser.error("--sizes needs positive click counts")

    rows = []
    for n in sizes:
        print(f"simulating {n:,} clicks ...", flush=True)
        rows.append(_run_size(n, args.seed))
    header = (f"{'clicks':>12} {'gen s':>7} {'clicks/s':>11} {'warm clicks/s':>14} "
              f"{'write s':>8} {'write clicks/s':>15} {'parquet MB':>11} {'peak RSS GB':>12}")  # fmt: skip
    print(header)
    for r in rows:
        print(f"{r['clicks']:>12,} {r['gen_s']:>7.2f} {r['gen_clicks_per_s']:>11,.0f} "
              f"{r['gen_warm_clicks_per_s']:>14,.0f} {r['write_parquet_s']:>8.2f} "
              f"{r['write_clicks_per_s']:>15,.0f} {r['parquet_mb']:>11.1f} "
              f"{r['peak_rss_gb']:>12.2f}")  # fmt: skip

    from shopml.report.cards import sha256_config, write_card

    config = {"preset": "cascade", "sizes": sizes, "measure": "fresh subprocess per size"}
    results = [
        {
            "method": f"cascade_{r['clicks']}",
            "metrics": {k: v for k, v in r.items() if k != "clicks"} | {"clicks": r["clicks"]},
            "wall_s": r["gen_s"] + r["write_parquet_s"],
        }
        for r in rows
    ]
    dataset = {"name": "cascade-sim", "preset": "cascade", "sha256": sha256_config(config)}
    path = write_card("simulate", dataset, args.seed, config, results, out_dir=args.out_dir)
    print(f"card: {path}")


if __name__ == "__main__":
    main()
