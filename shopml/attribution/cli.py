"""CLI of the attribution family: `shopml bench attribution`, `shopml attribution credit`,
and the attribution section of `shopml demo`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from shopml.cli_support import fail, parse_method_options, parse_methods, parse_seeds

console = Console()
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
    users: Annotated[int, typer.Option(help="users (journeys) to simulate per seed")] = 100_000,
    seeds: Annotated[str, typer.Option(help="seeds, e.g. 1,2,3 or 1..3")] = "1,2,3,4,5",
    methods: Annotated[
        str | None, typer.Option(help="comma-separated methods (default all)")
    ] = None,
    lookback_days: Annotated[
        float | None, typer.Option(help="drop touches older than this before the journey's end")
    ] = None,
    option: Annotated[list[str], typer.Option(help="METHOD.NAME=VALUE, e.g. dnamta.epochs=2")] = [],  # noqa: B006
    cards: Annotated[
        Path | None, typer.Option(help="write cards here instead of docs/results/cards")
    ] = None,
    figure: Annotated[Path | None, typer.Option(help="credit bar chart PNG path")] = None,
) -> None:
    """Channel credit of every attribution method; on the journeys preset, error vs the truth."""
    from shopml.attribution.bench import AttributionBenchSpec, run_bench

    if data is not None and preset is not None:
        raise _fail("give --data or --preset, not both")
    if data is not None and not data.exists():
        raise _fail(f"{data} does not exist")
    if preset is not None and preset != "journeys":
        raise _fail(f"preset {preset!r} has no touchpoints with known credit; use journeys")
    if users <= 0:
        raise _fail(f"--users must be positive, got {users}")
    _check_lookback(lookback_days)
    seed_list = parse_seeds(seeds)
    spec = AttributionBenchSpec(
        preset=None if data is not None else "journeys",
        data=data,
        users=users,
        seeds=seed_list,
        methods=_method_list(methods),
        lookback_days=lookback_days,
        card_dir=cards,
        figure=figure,
        options=_checked_options(option),
    )
    try:
        paths = run_bench(spec, console)
    except (ValueError, KeyError, FileNotFoundError) as exc:
        raise _fail(str(exc)) from exc
    for path in paths:
        console.print(f"wrote {path}")


@attribution_app.command("credit")
def credit(
    data: Annotated[
        Path,
        typer.Argument(help="an event-log directory with touchpoints, or attribution_data.csv"),
    ],
    out: Annotated[Path, typer.Option(help="directory for the credit tables (CSV)")],
    methods: Annotated[
        str | None, typer.Option(help="comma-separated methods (default all)")
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="seed (DNAMTA split and initialisation)")] = 0,
    lookback_days: Annotated[float | None, typer.Option(help="conversion lookback window")] = None,
) -> None:
    """Credit tables of your own journeys: channels.csv (method × channel) and, per method,
    journeys_<method>.csv (credit per converted journey)."""
    import pandas as pd

    from shopml.attribution import attribute, journeys_from_log
    from shopml.attribution.base import methods as known_methods
    from shopml.data import EventLog, EventLogError, load
    from shopml.data.loaders import DatasetError

    if not data.exists():
        raise _fail(f"{data} does not exist")
    _check_lookback(lookback_days)
    try:
        log = EventLog.open(data) if data.is_dir() else load("attribution_journeys", data)
        journeys = journeys_from_log(
            log, lookback_s=lookback_days * 86_400 if lookback_days is not None else None
        )
    except (EventLogError, DatasetError, ValueError) as exc:
        raise _fail(str(exc)) from exc
    out.mkdir(parents=True, exist_ok=True)
    tables = []
    for name in _method_list(methods) or known_methods():
        result = attribute(journeys, name, seed=seed)
        tables.append(result.channel_table().reset_index().assign(method=name))
        path = out / f"journeys_{name}.csv"
        table = result.journey_table()
        info = journeys.table.iloc[result.journey_ids]
        table.insert(0, "user_id", info["user_id"].to_numpy())
        table.insert(1, "conversion_ts", info["end_ts"].to_numpy())
        table.to_csv(path)
        console.print(f"{name}: wrote {path}")
    channels = pd.concat(tables)[["method", "channel", "conversions", "share", "value"]]
    channels.to_csv(out / "channels.csv", index=False)
    console.print(channels.pivot(index="method", columns="channel", values="share").round(3))
    console.print(f"wrote {out / 'channels.csv'}")


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
        table.add_column(c, justify="right")
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
