"""CLI of the uplift family: ``shopml bench uplift`` and the uplift part of ``shopml demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from shopml.cli_support import CardsDirOption, directory_option, fail
from shopml.console import make_console

console = make_console()
#: where a kept run draws the docs' Qini / uplift / decile figures
DEFAULT_PLOTS = Path("docs/figures/uplift")

#: the data sets ``--data`` names (the file, when not the sample, follows as PATH)
UPLIFT_DATA = ("hillstrom", "criteo_uplift")


def _unknown_data_message(data: str) -> str:
    """Why --data DATA is refused; for a file path, the data set its columns are and how to
    give it (``--data NAME PATH``)."""
    message = f"--data must be hillstrom or criteo_uplift, got {data!r}"
    if not Path(data).is_file():
        return message
    from shopml.data.loaders import DatasetError, loaders_for_columns
    from shopml.data.loaders._common import header_names

    try:
        fits = [n for n in loaders_for_columns(header_names(data)) if n in UPLIFT_DATA]
    except DatasetError:
        fits = []
    if fits:
        return f"{message}: name the data set, then the file: --data {fits[0]} {data}"
    return f"{message}, a file with neither's columns (see docs/marketing.md, 'Data')"


def bench_uplift(
    data: Annotated[
        str | None, typer.Option(help="hillstrom | criteo_uplift (real data; file in PATH)")
    ] = None,
    path: Annotated[
        Path | None,
        typer.Argument(help="local data file (hillstrom: default the ../shared/data sample)"),
    ] = None,
    preset: Annotated[str | None, typer.Option(help="simulate this preset instead (uplift)")] = None,
    arms: Annotated[
        str | None, typer.Option(help="hillstrom arms: womens (vs No E-Mail, the default) | all")
    ] = None,
    outcome: Annotated[
        str | None, typer.Option(help="stage to score (default visit; conversion on the preset)")
    ] = None,
    seeds: Annotated[str, typer.Option(help="seeds of the random splits, e.g. 1..5")] = "1..5",
    methods: Annotated[
        str | None,
        typer.Option(
            help="comma-separated methods. Default on --data: shopml's six (s_learner, "
            "t_learner, x_learner, tarnet, efin, ecup) and the causalml / scikit-uplift peers "
            "whose library can be imported; on --preset: s_learner, t_learner, tarnet, efin, "
            "ecup, ecup_conversion_only. --list-methods lists every known method"
        ),
    ] = None,
    list_methods: Annotated[
        bool, typer.Option("--list-methods", help="list every known method and exit")
    ] = False,
    units: Annotated[
        int | None, typer.Option(min=1, help="simulated units per seed (--preset only; 30000)")
    ] = None,
    epochs: Annotated[
        int | None, typer.Option(min=1, help="max epochs of the neural models")
    ] = None,
    random_state: Annotated[
        int,
        typer.Option(
            min=0, help="initialisation of every model (weights, batch order, early-stopping rows)"
        ),
    ] = 0,
    cards: CardsDirOption = None,
    plots: Annotated[
        Path | None,
        typer.Option(
            help="PNG directory (Qini, uplift, deciles of EFIN/ECUP; default "
            f"{DEFAULT_PLOTS} when the cards go to the kept card directory, else none)",
            callback=directory_option,
        ),
    ] = None,
    no_cards: Annotated[bool, typer.Option("--no-cards", help="do not write result cards")] = False,
) -> None:
    """Uplift benchmark: Qini / AUUC (and PEHE on the preset) of every method over seeds."""
    from shopml.cli_support import parse_methods, parse_seeds
    from shopml.uplift.bench import PRESET_UNITS, UpliftBenchSpec, known_methods, run_bench

    if list_methods:
        console.print("\n".join(known_methods()))
        return
    if (data is None) == (preset is None):
        raise typer.BadParameter("give exactly one of --data hillstrom|criteo_uplift or --preset uplift")
    if preset is not None and preset != "uplift":
        raise typer.BadParameter(f"--preset must be 'uplift', got {preset!r}")
    if data is not None and data not in UPLIFT_DATA:
        raise typer.BadParameter(_unknown_data_message(data))
    if arms is not None and data != "hillstrom":
        raise typer.BadParameter("--arms chooses Hillstrom's arms; it applies to --data hillstrom")
    if arms not in (None, "womens", "all"):
        raise typer.BadParameter(f"--arms must be womens or all, got {arms!r}")
    if units is not None and data is not None:
        raise typer.BadParameter(
            "--units sets the simulated preset's size; it does not apply to --data (the file's "
            "rows are used)"
        )
    spec = UpliftBenchSpec(
        data="preset" if preset else str(data),
        path=path,
        arms=arms or "womens",
        outcome=outcome,
        units=units if units is not None else PRESET_UNITS,
        seeds=parse_seeds(seeds),
        methods=parse_methods(methods),  # known names depend on the data: checked by the bench
        card_dir=cards,
        # the docs' figures follow the kept cards: a scratch or card-less run draws none unasked
        plots_dir=plots if plots is not None else (
            DEFAULT_PLOTS if cards is None and not no_cards else None
        ),
        write_cards=not no_cards,
        epochs=epochs,
        random_state=random_state,
    )
    try:
        run_bench(spec, console)
    except (ValueError, FileNotFoundError) as exc:
        raise fail(str(exc), to=console) from exc


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add `shopml bench uplift`."""
    bench_app.command("uplift")(bench_uplift)


def demo_section(workdir: Path, seed: int, console: Console) -> None:
    """A small uplift summary: S-learner, EFIN and ECUP on a 10,000-unit simulated test."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        _demo_table(seed, console)


def _demo_table(seed: int, console: Console) -> None:
    import numpy as np

    from shopml.uplift.bench import (
        UpliftBenchSpec,
        bayes_limit,
        method_factories,
        run_method,
        split,
    )
    from shopml.uplift.data import simulated_data

    console.rule("Uplift: a simulated 4-arm marketing test (10,000 units, conversion stage)")
    spec = UpliftBenchSpec(data="preset", units=10_000, seeds=[seed], epochs=3)
    data = simulated_data(spec.units, seed)
    train, test = split(data, "conversion", 0.3, seed)
    factories = method_factories(spec, data)
    title = f"uplift on {len(test):,} held-out units (arms: coupon, creative, push)"
    table = Table(title=title, min_width=len(title))  # the title on one line
    for column in ("method", "qini", "auuc", "pehe", "wall s"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for name in ("s_learner", "efin", "ecup"):
        metrics, _, wall, _ = run_method(factories[name], data, "conversion", train, test)
        table.add_row(
            name, *(f"{metrics[m]:.4f}" for m in ("qini", "auuc", "pehe")), f"{wall:.1f}"
        )
    truth = data.truth["conversion"][test]
    limit = bayes_limit(data, "conversion", test) or {}
    table.add_row(
        "(true effects)", f"{limit.get('qini', 0):.4f}", f"{limit.get('auuc', 0):.4f}", "0", ""
    )
    console.print(table)
    console.print(
        f"mean true conversion uplift per arm: {np.round(truth.mean(axis=0), 4).tolist()}; "
        "full benchmark: shopml bench uplift --preset uplift"
    )
