"""`shopml bench gmv` and the GMV section of `shopml demo` (post-click GMV, READER)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from shopml.cli_support import (
    CardsDirOption,
    CheckpointDirOption,
    SampleOption,
    check_sample,
    fail,
    parse_method_options,
    parse_methods,
    parse_seeds,
)
from shopml.console import make_console, print_written

console = make_console()
DEMO_METHODS = ["pre_single", "online_single", "online_dual", "reader"]
DEMO_CLICKS = 200_000


_fail = fail


_parse_options = parse_method_options


def bench_gmv(
    preset: Annotated[str | None, typer.Option(help="simulate this preset (default trace)")] = None,
    data: Annotated[
        Path | None, typer.Option(help="a TRACE-format file (trace.txt) or an event-log directory")
    ] = None,
    clicks: Annotated[
        int | None,
        typer.Option(min=1, help="clicks to simulate (default 3,000,000; quick 400,000)"),
    ] = None,
    methods: Annotated[
        str | None, typer.Option(help="comma-separated methods or READER variants (default: the 9 of Table 4)")
    ] = None,
    seeds: Annotated[str, typer.Option(help="seeds, e.g. 1,2,3 or 1..3")] = "1",
    quick: Annotated[
        bool, typer.Option(help="a small world, 20 pre-training days and an 8-day stream")
    ] = False,
    option: Annotated[
        list[str], typer.Option(help="METHOD.NAME=VALUE, e.g. reader.calibration=false")
    ] = [],  # noqa: B006
    threads: Annotated[
        int | None, typer.Option(help="torch threads (default: SHOPML_THREADS if set, else 1)")
    ] = None,
    cards: CardsDirOption = None,
    checkpoint_dir: CheckpointDirOption = None,
    bayes_card: Annotated[
        bool,
        typer.Option(help="write the Bayes limit into the cards (--no-bayes-card for extra "
                     "methods on worlds whose main card already has it)"),
    ] = True,
    sample: SampleOption = None,
) -> None:
    """READER's Table 4: post-click GMV under delayed feedback, every method, per seed."""
    from shopml.value.bench import (
        FULL_CLICKS,
        PRESETS,
        QUICK_CLICKS,
        BenchSpec,
        check_options,
        known_methods,
        run_bench,
    )

    if data is not None and preset is not None:
        raise _fail("give --data or --preset, not both")
    if preset is not None and preset not in PRESETS:
        raise _fail(f"--preset {preset!r}: bench gmv scores the truth of {', '.join(PRESETS)}")
    if data is not None and not data.exists():
        raise _fail(f"{data} does not exist")
    seed_list = parse_seeds(seeds)
    if threads is not None and threads < 1:
        raise _fail(f"--threads must be >= 1, got {threads}")
    if data is not None and clicks is not None:
        raise _fail("--clicks sizes a simulated world; a --data file has its own clicks")
    check_sample(sample, data)
    if threads is None:
        import os

        from shopml.conversion.trainer import default_threads

        threads = default_threads() if os.environ.get("SHOPML_THREADS") else 1
    known = known_methods()
    chosen = parse_methods(methods, known)
    options = _parse_options(option, known)
    spec = BenchSpec(
        preset=None if data is not None else (preset or "trace"),
        data=data,
        clicks=clicks or (QUICK_CLICKS if quick else FULL_CLICKS),
        seeds=seed_list,
        methods=chosen,
        quick=quick,
        card_dir=cards,
        checkpoint_dir=checkpoint_dir,
        options=options,
        threads=threads,
        bayes_on_card=bayes_card,
        sample=sample,
    )
    try:
        check_options(spec)
    except ValueError as exc:
        raise _fail(f"--option: {exc}") from exc
    try:
        paths = run_bench(spec, console)
    except (ValueError, FileNotFoundError) as exc:
        raise _fail(str(exc)) from exc
    print_written(console, paths)


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add `shopml bench gmv`."""
    bench_app.command("gmv")(bench_gmv)


def demo_section(workdir: Path, seed: int, console: Console) -> None:
    """A quick GMV leaderboard on a small simulated TRACE-like world (well under a minute)."""
    from shopml.value.bench import BenchSpec, run_bench

    console.rule("Post-click GMV under delayed feedback (quick: READER's Table 4 in miniature)")
    spec = BenchSpec(
        clicks=DEMO_CLICKS,
        seeds=[seed],
        methods=DEMO_METHODS,
        quick=True,
        card_dir=Path(workdir) / "cards",
    )
    run_bench(spec, console, progress=False)
