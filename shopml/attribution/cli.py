"""CLI of the attribution family: `shopml bench attribution`, `shopml attribution credit`,
and the attribution section of `shopml demo`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from shopml.cli_support import (
    CardsDirOption,
    fail,
    figure_file_option,
    parse_method_options,
    parse_methods,
    parse_seeds,
)
from shopml.console import make_console, print_written

console = make_console()
attribution_app = typer.Typer(no_args_is_help=True, help="Multi-touch attribution of conversions.")


_fail = fail


def _method_list(methods: str | None) -> list[str] | None:
    from shopml.attribution.base import methods as known_methods

    return parse_methods(methods, known_methods())


def _checked_options(values: list[str]) -> dict[str, dict]:
    """--option METHOD.NAME=VALUE parsed and checked against each method (exit 2 on a bad one)."""
    from shopml.attribution.base import check_options
    from shopml.attribution.base import methods as known_methods

    options = parse_method_options(values, known_methods())
    for method, given in options.items():
        try:
            check_options(method, given)
        except ValueError as exc:
            raise _fail(f"--option: {exc}") from exc
    return options


def _check_lookback(lookback_days: float | None) -> None:
    """--lookback-days, when given, must be a positive number of days (exit 2 otherwise)."""
    if lookback_days is not None and not lookback_days > 0:
        raise _fail(f"--lookback-days must be positive, got {lookback_days}")


def bench_attribution(
    preset: Annotated[
        str | None, typer.Option(help="simulate this preset (default journeys)")
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            help="an event-log directory with touchpoints, or an attribution_data.csv file"
        ),
    ] = None,
    users: Annotated[
        int | None, typer.Option(help="users (journeys) to simulate per seed [default: 100000]")
    ] = None,
    seeds: Annotated[str, typer.Option(help="seeds, e.g. 1,2,3 or 1..3")] = "1,2,3,4,5",
    methods: Annotated[
        str | None, typer.Option(help="comma-separated methods (default all)")
    ] = None,
    lookback_days: Annotated[
        float | None, typer.Option(help="drop touches older than this before the journey's end")
    ] = None,
    option: Annotated[list[str], typer.Option(help="METHOD.NAME=VALUE, e.g. dnamta.epochs=2")] = [],  # noqa: B006
    cards: CardsDirOption = None,
    figure: Annotated[
        Path | None,
        typer.Option(help="credit bar chart PNG path", callback=figure_file_option),
    ] = None,
) -> None:
    """Channel credit of every attribution method; on the journeys preset, error vs the truth."""
    from shopml.attribution.base import methods as known_methods
    from shopml.attribution.bench import DEFAULT_USERS, AttributionBenchSpec, run_bench
    from shopml.cli_support import refuse_unrun_options

    if data is not None and preset is not None:
        raise _fail("give --data or --preset, not both")
    if data is not None and not data.exists():
        raise _fail(f"{data} does not exist")
    if preset is not None and preset != "journeys":
        raise _fail(f"preset {preset!r} has no touchpoints with known credit; use journeys")
    if data is not None and users is not None:
        raise _fail("--users sizes a simulated world; a --data file has its own users")
    if users is not None and users <= 0:
        raise _fail(f"--users must be positive, got {users}")
    _check_lookback(lookback_days)
    seed_list = parse_seeds(seeds)
    checked = _checked_options(option)
    try:
        refuse_unrun_options(checked, _method_list(methods) or known_methods())
    except ValueError as exc:
        raise _fail(f"--option: {exc}") from exc
    spec = AttributionBenchSpec(
        preset=None if data is not None else "journeys",
        data=data,
        users=users if users is not None else DEFAULT_USERS,
        seeds=seed_list,
        methods=_method_list(methods),
        lookback_days=lookback_days,
        card_dir=cards,
        figure=figure,
        options=checked,
    )
    try:
        paths = run_bench(spec, console)
    except (ValueError, KeyError, FileNotFoundError) as exc:
        raise _fail(str(exc)) from exc
    print_written(console, paths)


@attribution_app.command("credit")
def credit(
    data: Annotated[
        Path,
        typer.Argument(help="an event-log directory with touchpoints, or attribution_data.csv"),
    ],
    out: Annotated[Path, typer.Option(help="directory for the credit tables (CSV)")],
    methods: Annotated[
        str | None,
        typer.Option(help="comma-separated methods (default all that fit the channel count)"),
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="seed (DNAMTA split and initialisation)")] = 0,
    lookback_days: Annotated[float | None, typer.Option(help="conversion lookback window")] = None,
    option: Annotated[
        list[str], typer.Option(help="METHOD.NAME=VALUE, e.g. time_decay.half_life_days=3")
    ] = [],  # noqa: B006
) -> None:
    """Credit tables of your own journeys, per channel and per converted journey.

    Writes channels.csv (method × channel) and, per method, journeys_<method>.csv (credit per
    converted journey, with the customer's id).
    """
    from shopml.attribution import journeys_from_log
    from shopml.attribution.base import methods as known_methods
    from shopml.attribution.credit import (
        RESERVED_COLUMNS,
        conversion_summary,
        plan_methods,
        run_methods,
        stale_tables,
        write_tables,
    )
    from shopml.cli_support import refuse_unrun_options
    from shopml.data import EventLog, EventLogError, load
    from shopml.data.loaders import DatasetError
    from shopml.data.loaders._common import print_load_report
    from shopml.data.validate import require_valid

    if not data.exists():
        raise _fail(f"{data} does not exist")
    if out.exists() and not out.is_dir():
        raise _fail(f"--out {out} is a file; give a directory")
    _check_lookback(lookback_days)
    named = _method_list(methods)
    options = _checked_options(option)
    try:
        log = EventLog.open(data) if data.is_dir() else load("attribution_journeys", data)
        require_valid(log, data)  # a file's log too: e.g. a touch dated 1970
        print_load_report(log.spec.meta.get("load_report"), data.name, console)
        journeys = journeys_from_log(
            log, lookback_s=lookback_days * 86_400 if lookback_days is not None else None
        )
        console.print(conversion_summary(log, journeys, lookback_days), soft_wrap=True)
        if journeys.n_conversions == 0:
            held = log.conversions is not None and log.conversions.num_rows > 0
            window = "" if lookback_days is None else f" within {lookback_days:g} day(s)"
            raise ValueError(
                f"no conversion has a touch{window} before it: there is nothing to credit"
                if held
                else "the data hold no conversions: there is nothing to credit"
            )
        plan = plan_methods(journeys, named, known_methods())
        refuse_unrun_options(options, plan.methods)
        if any(c in RESERVED_COLUMNS for c in journeys.channels):
            console.print(
                "note: a channel is named like an id column of journeys_<method>.csv; its "
                "channel columns are written as channel:<name>",
                soft_wrap=True,
            )
        for method, why in plan.skipped.items():
            console.print(f"[yellow]skipped {method}[/]: {escape(str(why))}", soft_wrap=True)
        results = run_methods(journeys, plan.methods, seed, options)
    except (EventLogError, DatasetError, ValueError) as exc:
        raise _fail(str(exc)) from exc
    print_written(console, write_tables(out, log, journeys, results))
    for path in stale_tables(out, plan.methods):
        console.print(f"[yellow]note[/]: {escape(str(path))} is from an earlier run (not rewritten)", soft_wrap=True)
    console.print(share_table(journeys.channels, results))


def share_table(channels: list[str], results: list) -> Table:
    """Each method's channel credit shares: methods as rows, or as columns past six channels."""
    table = Table(title="channel credit share per method")
    if len(channels) <= 6:
        table.add_column("method", no_wrap=True)
        for c in channels:
            table.add_column(escape(c), justify="right", overflow="fold")
        for r in results:
            table.add_row(r.method, *(f"{v:.3f}" for v in r.shares().to_numpy()))
        return table
    table.add_column("channel", overflow="fold")
    for r in results:
        table.add_column(r.method, justify="right", overflow="fold")
    shares = [r.shares().to_numpy() for r in results]
    for i, c in enumerate(channels):
        table.add_row(escape(c), *(f"{s[i]:.3f}" for s in shares))
    return table


def demo_section(workdir: Path, seed: int, console: Console) -> None:
    """A small attribution leaderboard on a simulated journeys world (well under a minute)."""
    from shopml.attribution import attribute, journeys_from_log
    from shopml.attribution.base import attribution_error, methods
    from shopml.data.simulate import simulate

    console.rule("Multi-touch attribution (journeys preset, 20,000 users)")
    with console.status("simulating journeys and attributing"):
        world = simulate("journeys", 20_000, seed)
        journeys = journeys_from_log(world.log)
        truth = world.log.spec.meta["true_channel_share"]
        true_share = [truth[c] for c in journeys.channels]
        results = [
            attribute(journeys, m, seed=seed, **({"epochs": 2} if m == "dnamta" else {}))
            for m in methods()
        ]
    table = Table(title=f"channel credit share vs the simulator's truth (seed {seed})")
    table.add_column("method")
    for c in journeys.channels:
        table.add_column(escape(c), justify="right")
    table.add_column("error", justify="right")
    for r in results:
        share = r.shares().to_numpy()
        table.add_row(
            r.method, *(f"{v:.3f}" for v in share), f"{attribution_error(share, true_share):.3f}"
        )
    table.add_row("[bold]truth[/]", *(f"{v:.3f}" for v in true_share), "0.000")
    console.print(table)
    dn = next((r for r in results if r.method == "dnamta"), None)
    if dn is not None and "auc" in dn.extras:
        console.print(
            f"DNAMTA held-out conversion AUC {dn.extras['auc']:.3f}, log loss {dn.extras['log_loss']:.3f}"
        )


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add `shopml bench attribution` and `shopml attribution credit`."""
    bench_app.command("attribution")(bench_attribution)
    app.add_typer(attribution_app, name="attribution")
