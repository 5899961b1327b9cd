"""The one ``shopml`` command: simulate, data validate/stats, demo, report."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from shopml.cli_support import (
    CardsDirOption,
    CheckpointDirOption,
    SampleOption,
    check_sample,
    console,
    directory_option,
    fail,
    parse_method_options,
    parse_methods,
    parse_seeds,
)
from shopml.console import print_written

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="shopml: published e-commerce and marketplace ML on one event-log data model.",
)
data_app = typer.Typer(no_args_is_help=True, help="Inspect, validate and repair event logs.")
app.add_typer(data_app, name="data")
bench_app = typer.Typer(
    no_args_is_help=True,
    help="Benchmarks that reproduce published tables; each writes result cards.",
)
app.add_typer(bench_app, name="bench")

# Method families that add their own commands: each module defines
# ``register(app, bench_app)`` and may define ``demo_section(workdir, seed, console)``.
# Modules import their heavy dependencies inside the commands, so `shopml --help` stays fast.
FAMILY_CLI_MODULES = [
    "shopml.value.cli",
    "shopml.listing.cli",
    "shopml.serve.cli",
    "shopml.uplift.cli",
    "shopml.attribution.cli",
    "shopml.report.cli",
]


def _family_modules() -> list:
    """The family CLI modules that exist in this checkout, imported."""
    import importlib
    import importlib.util

    found = []
    for name in FAMILY_CLI_MODULES:
        try:
            spec = importlib.util.find_spec(name)
        except ModuleNotFoundError:  # the family package itself does not exist yet
            spec = None
        if spec is not None:
            found.append(importlib.import_module(name))
    return found


# Published CASCADE statistics (TESLA, arXiv 2601.19965, Table 1 / Appendix): the cascade preset's targets.
CASCADE_TARGETS = {
    "cvr": (0.091, "0.081–0.101"),
    "refund_share": (0.54, "0.49–0.59"),
    "median_pay_delay_h": (3.9, "3.12–4.68"),
    "median_refund_delay_h": (0.1, "0.05–0.2"),
}


_fail = fail


def _format_value(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def stats_table(
    stats: dict, title: str, targets: dict | None = None, caption: str | None = None
) -> Table:
    """A rich table of data statistics, with target values beside them where given."""
    table = Table(title=title, caption=caption)
    table.add_column("statistic")
    table.add_column("value", justify="right")
    if targets:
        table.add_column("target (CASCADE)", justify="right")
    for key, value in stats.items():
        row = [key, _format_value(value)]
        if targets:
            target = targets.get(key)
            row.append(f"{target[0]} ({target[1]})" if target else "")
        table.add_row(*row)
    return table


@app.command()
def simulate(
    preset: Annotated[str, typer.Option(help="cascade, trace, c2c, uplift or journeys")],
    out: Annotated[Path, typer.Option(help="output directory", callback=directory_option)],
    clicks: Annotated[
        int, typer.Option(help="number of clicks (units/users for some presets)")
    ] = 100_000,
    seed: Annotated[int, typer.Option(min=0, help="random seed; the output is deterministic for it")] = 0,
    fmt: Annotated[
        str,
        typer.Option(
            "--format", help="shopml (event log) or an official layout: cascade, trace, criteo"
        ),
    ] = "shopml",
) -> None:
    """Simulate a marketplace world and write its event log and truth table."""
    from shopml.data import simulate as sim

    if preset not in sim.presets():
        raise _fail(f"unknown preset {preset!r}; choose one of {', '.join(sim.presets())}")
    if fmt not in sim.format_names():
        raise _fail(f"unknown format {fmt!r}; choose one of {', '.join(sim.format_names())}")
    if clicks <= 0:
        raise _fail(f"--clicks must be positive, got {clicks}")
    from shopml.data.simulate.formats import STANDARD_FIELD_PRESETS

    if fmt != "shopml" and preset not in STANDARD_FIELD_PRESETS:  # say so before simulating
        raise _fail(
            f"--format {fmt} needs the 22 standard fields (u_0..c_7) of a "
            f"{' or '.join(STANDARD_FIELD_PRESETS)} world; write the {preset} world with "
            "--format shopml"
        )
    with console.status(f"simulating {clicks:,} {preset} clicks (seed {seed})"):
        result = sim.simulate(preset, clicks, seed)
    with console.status(f"writing {fmt} layout to {escape(str(out))}"):
        try:
            paths = sim.write(result, out, fmt)
        except ValueError as exc:
            raise _fail(str(exc)) from exc
        except OSError as exc:  # no permission, disk full, a file where a directory goes
            raise _fail(f"cannot write the {fmt} layout to {out}: {exc}") from exc
    print_written(console, paths)
    next_step = _SIMULATE_NEXT_STEP.get(fmt)
    if next_step is not None:
        console.print(escape(next_step(out, paths)), highlight=False, soft_wrap=True)


#: What to run on what `shopml simulate --format F` wrote, per format.
_SIMULATE_NEXT_STEP = {
    "shopml": lambda out, paths: f"next: shopml data stats {out}",
    "cascade": lambda out, paths: (
        f"next: shopml bench netcvr --data {paths[0]} (one layout at a time: {paths[-1].name} "
        "holds the same clicks in the raw release layout)"
    ),
    "trace": lambda out, paths: f"next: shopml bench gmv --data {paths[0]}",
    "criteo": lambda out, paths: (
        f"next: shopml data stats --dataset criteo_conversion {paths[0]} (load('criteo_"
        "conversion', path) in Python; the layout has no refunds, so bench netcvr does not read it)"
    ),
}


@data_app.command("validate")
def data_validate(
    path: Annotated[Path, typer.Argument(help="event-log directory")],
    repair: Annotated[
        Path | None,
        typer.Option(
            help="write a clean log plus rejects.parquet to this directory",
            callback=directory_option,
        ),
    ] = None,
    max_rows: Annotated[int, typer.Option(min=0, help="problems shown per check")] = 20,
) -> None:
    """Check an event log; exit non-zero if it has errors. --repair writes a clean copy."""
    from shopml.data.validate import RepairError, validate
    from shopml.data.validate import repair as repair_log

    if not path.exists():
        raise _fail(f"{path} does not exist")
    report = validate(path)
    console.print(report.render(max_rows=max_rows))
    if repair is not None:
        try:
            result = repair_log(path, repair)
        except RepairError as exc:
            raise _fail(f"cannot repair {path}: {exc}") from exc
        console.print(result.render())
    if not report.ok:
        raise typer.Exit(1)


#: loaders that can read a file as a random share of its clicks (``sample=``)
SAMPLED_LOADERS = ("cascade", "trace")


def _sample_of(dataset: str | None) -> Path:
    """The shared-data sample `data stats --dataset NAME` reads when no PATH is given."""
    from shopml.data.loaders import DatasetError, sample_of
    from shopml.data.samples import SampleDataMissingError

    if dataset is None:
        raise _fail("give an event-log directory, or --dataset NAME (with its file, or its sample)")
    try:
        return sample_of(dataset)
    except (DatasetError, SampleDataMissingError) as exc:
        raise _fail(str(exc)) from exc


@data_app.command("stats")
def data_stats_command(
    path: Annotated[
        Path | None,
        typer.Argument(
            help="event-log directory, or a dataset file with --dataset (default: its sample)"
        ),
    ] = None,
    dataset: Annotated[
        str | None, typer.Option(help="read PATH with this loader (e.g. cascade, trace, hillstrom)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
    sample: SampleOption = None,
) -> None:
    """A statistics table like CASCADE's: users, items, clicks, CVR, refunds, median delays."""
    from shopml.data import EventLog, EventLogError, load
    from shopml.data.loaders import DatasetError
    from shopml.data.loaders._common import print_load_report
    from shopml.data.stats import data_stats

    path = path if path is not None else _sample_of(dataset)
    if sample is not None:
        check_sample(sample, path)
        if dataset not in SAMPLED_LOADERS:
            loaders = " or ".join(SAMPLED_LOADERS)
            raise _fail(f"--sample reads a release file with --dataset {loaders}")
    if dataset and not as_json:  # a release file can take minutes to read
        console.print(f"reading {escape(str(path))} with the {dataset} loader ...", soft_wrap=True)
    try:
        extra = {"sample": sample} if sample is not None else {}
        log = load(dataset, path, **extra) if dataset else EventLog.open(path)
    except (EventLogError, DatasetError, FileNotFoundError) as exc:
        raise _fail(str(exc)) from exc
    if not isinstance(log, EventLog):
        raise _fail(
            f"the {dataset} loader returns a table ({log.num_rows:,} rows), not an event log: "
            "data stats reads event logs; load the table in Python with shopml.data.load"
        )
    if dataset and not as_json:
        print_load_report(log.spec.meta.get("load_report"), path.name, console)
    try:
        stats = data_stats(log)
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise _fail(
            f"{path}: cannot compute statistics ({type(exc).__name__}: {exc}); "
            f"`shopml data validate {path}` checks the log's tables and types"
        ) from exc
    if as_json:
        sys.stdout.write(json.dumps(stats, indent=2, default=str) + "\n")
        return
    preset = log.spec.meta.get("preset")
    targets = CASCADE_TARGETS if preset == "cascade" else None
    no_ids = stats.get("users") is None or stats.get("items") is None
    captions = [f"users / items —: {log.spec.meta.get('ids')}"] if no_ids else []
    if not log.spec.meta.get("times_known", True):
        captions.append(f"times —: {log.spec.meta.get('ts_note', 'the data set has no dates')}")
    caption = escape("\n".join(captions)) if captions else None
    console.print(stats_table(stats, escape(str(path)), targets, caption), soft_wrap=True)


@data_app.command("loaders")
def data_loaders() -> None:
    """List the dataset loaders and their samples."""
    from shopml.data import loaders

    table = Table(title="shopml.data.load(name, path)")
    for col in ("name", "returns", "sample in ../shared/data", "description"):
        table.add_column(col)
    for name, info in sorted(loaders().items()):
        first_line = (info.description.strip().splitlines() or [""])[0]
        table.add_row(name, info.returns, info.sample or "(local path only)", first_line)
    console.print(table)


DEMO_NETCVR_METHODS = ["pretrained", "oracle", "bdl", "fnw", "esdfm", "tesla"]


@app.command()
def demo(
    out: Annotated[
        Path | None,
        typer.Option(help="keep the simulated world here", callback=directory_option),
    ] = None,
    clicks: Annotated[int, typer.Option(min=1, help="clicks in the demo world")] = 200_000,
    seed: Annotated[int, typer.Option(min=0, help="random seed")] = 1,
    netcvr: Annotated[bool, typer.Option(help="also run a quick NetCVR leaderboard on it")] = True,
    families: Annotated[
        str,
        typer.Option(help="other families' demos: all, none, or e.g. value,listing,uplift"),
    ] = "all",
) -> None:
    """A tour: a small CASCADE-like world, a quick NetCVR leaderboard, the other families' demos.

    The world's statistics are printed beside the published ones, then a quick NetCVR
    leaderboard runs on it, then the other families' demos (--families: value, listing,
    uplift, attribution).
    """
    from shopml.data import EventLog
    from shopml.data import simulate as sim
    from shopml.data.stats import data_stats

    known = [name.split(".")[1] for name in FAMILY_CLI_MODULES]
    chosen = known if families == "all" else [f for f in families.split(",") if f and f != "none"]
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise _fail(f"unknown families {unknown}; choose from {', '.join(known)}")
    workdir = Path(out) if out else Path(tempfile.mkdtemp(prefix="shopml-demo-"))
    with console.status(f"simulating a {clicks:,}-click cascade world"):
        sim.write(sim.simulate("cascade", clicks, seed), workdir)
    stats = data_stats(EventLog.open(workdir))
    title = f"cascade world ({clicks:,} clicks, seed {seed})"
    console.print(stats_table(stats, title, CASCADE_TARGETS))
    console.print(f"event log written to {escape(str(workdir))}")
    if netcvr:
        from shopml.conversion.bench import BenchSpec, run_bench

        console.rule("NetCVR under cascaded delayed feedback (quick: a 4-day stream)")
        spec = BenchSpec(
            clicks=clicks,
            seeds=[seed],
            methods=DEMO_NETCVR_METHODS,
            quick=True,
            card_dir=workdir / "cards",
        )
        run_bench(spec, console, progress=True)
    for module in _family_modules():
        section = getattr(module, "demo_section", None)
        if section is not None and module.__name__.split(".")[1] in chosen:
            section(workdir, seed, console)


_parse_options = parse_method_options


@bench_app.command("netcvr")
def bench_netcvr(
    preset: Annotated[
        str | None, typer.Option(help="simulate this preset (default cascade)")
    ] = None,
    data: Annotated[
        Path | None, typer.Option(help="a CASCADE-format file or an event-log directory")
    ] = None,
    clicks: Annotated[
        int | None,
        typer.Option(min=1, help="clicks to simulate (default 2,000,000; quick 300,000)"),
    ] = None,
    methods: Annotated[
        str | None, typer.Option(help="comma-separated methods (default: all, Table 2 order)")
    ] = None,
    seeds: Annotated[str, typer.Option(help="seeds, e.g. 1,2,3 or 1..3")] = "1",
    quick: Annotated[bool, typer.Option(help="a small world and a 4-day stream (minutes)")] = False,
    option: Annotated[
        list[str], typer.Option(help="METHOD.NAME=VALUE, e.g. tesla.structure=shared")
    ] = [],  # noqa: B006
    cards: CardsDirOption = None,
    checkpoint_dir: CheckpointDirOption = None,
    preset_param: Annotated[
        list[str],
        typer.Option(help="NAME=VALUE overriding a preset constant, e.g. drift_sd=0.7"),
    ] = [],  # noqa: B006
    sample: SampleOption = None,
) -> None:
    """TESLA's Table 2: CVR and NetCVR under cascaded delayed feedback, every method, per seed."""
    from shopml.conversion.bench import (
        FULL_CLICKS,
        PRESETS,
        QUICK_CLICKS,
        BenchSpec,
        check_options,
        default_methods,
        run_bench,
    )

    if data is not None and preset is not None:
        raise _fail("give --data or --preset, not both")
    if preset is not None and preset not in PRESETS:
        raise _fail(f"--preset {preset!r}: bench netcvr scores the truth of {', '.join(PRESETS)}")
    if data is not None and not data.exists():
        raise _fail(f"{data} does not exist")
    seed_list = parse_seeds(seeds)
    chosen = parse_methods(methods, default_methods())
    if data is not None and clicks is not None:
        raise _fail("--clicks sizes a simulated world; a --data file has its own clicks")
    if preset_param and data is not None:
        raise _fail("--preset-param applies to simulated data, not to --data")
    check_sample(sample, data)
    from shopml.data.simulate import parse_preset_params

    try:
        params = parse_preset_params(preset_param)
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    spec = BenchSpec(
        preset_params=params,
        preset=None if data is not None else (preset or "cascade"),
        data=data,
        clicks=clicks or (QUICK_CLICKS if quick else FULL_CLICKS),
        seeds=seed_list,
        methods=chosen,
        quick=quick,
        card_dir=cards,
        checkpoint_dir=checkpoint_dir,
        options=_parse_options(option, default_methods()),
        sample=sample,
    )
    try:
        check_options(spec)
    except ValueError as exc:
        raise _fail(f"--option: {exc}") from exc
    from shopml.data.eventlog import EventLogError
    from shopml.data.loaders import DatasetError

    try:
        print_written(console, run_bench(spec, console))
    except (DatasetError, EventLogError, FileNotFoundError, ValueError) as exc:
        raise _fail(str(exc)) from exc


@app.command()
def report(
    cards: Annotated[Path, typer.Option(help="directory of result cards")] = Path(
        "docs/results/cards"
    ),
    out: Annotated[
        Path,
        typer.Option(help="where the results pages go", callback=directory_option),
    ] = Path("docs/results"),
) -> None:
    """Regenerate the docs/results/*.md pages from the result cards."""
    from shopml.report.pages import write_pages

    if not cards.is_dir():
        raise _fail(
            f"no card directory {cards} (run shopml report in the shopml checkout, "
            "or give --cards DIR)"
        )
    if not any(cards.glob("*.json")):
        raise _fail(f"no result cards (*.json) in {cards}: nothing to report")
    try:
        print_written(console, write_pages(cards, out))
    except ValueError as exc:  # a file in the card directory that is not a card
        raise _fail(str(exc)) from exc


@app.command()
def compare(
    method: Annotated[str, typer.Argument(help="the method to judge, e.g. ecup")],
    reference: Annotated[str, typer.Argument(help="the method it is set against, e.g. s_learner")],
    benchmark: Annotated[str, typer.Option(help="whose cards: uplift, netcvr, gmv, ...")] = "uplift",
    metric: Annotated[str, typer.Option(help="the metric to compare, e.g. pehe, netcvr_auc")] = "pehe",
    dataset: Annotated[
        str | None, typer.Option(help="only data sets whose name contains this text")
    ] = None,
    cards: Annotated[Path, typer.Option(help="directory of result cards")] = Path(
        "docs/results/cards"
    ),
    each: Annotated[bool, typer.Option("--each", help="also list every pair's values")] = False,
) -> None:
    """Paired differences of two methods per data set, over the seeds both ran on."""
    from rich import box

    from shopml.report.paired import compare_cards

    try:
        found = compare_cards(cards, benchmark, method, reference, metric)
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    if dataset is not None:
        compared = sorted({f.dataset for f in found})
        found = [f for f in found if dataset in f.dataset]
        if compared and not found:
            raise _fail(
                f"no card's dataset matches {dataset!r}; the {benchmark} cards with {metric!r} "
                f"for both {method} and {reference} are of: {'; '.join(compared)}"
            )
    if not found:
        raise _fail(f"no {benchmark} card has {metric!r} for both {method} and {reference}")
    table = Table(
        title=escape(f"{metric}: {method} (A) minus {reference} (B), paired by seed and state"),
        box=box.SIMPLE_HEAD,
    )
    table.add_column("data set", min_width=30, ratio=1)
    for column in ("pairs", "A", "B", "A - B", "std", "s.e.", "A lower"):
        table.add_column(column, justify="right", no_wrap=True)
    for item in found:
        s = item.summary()
        table.add_row(
            escape(item.dataset), str(len(item.pairs)), f"{s['method']:.4f}", f"{s['reference']:.4f}",
            f"{s['difference']:+.4f}", f"{s['std']:.4f}", f"{s['standard_error']:.4f}",
            f"{item.lower}/{len(item.pairs)}",
        )  # fmt: skip
    console.print(table, width=max(console.width, 120), crop=False)  # every column, in a pipe too
    for item in found if each else []:
        pairs = Table(title=escape(item.dataset), box=box.SIMPLE_HEAD)
        for column in ("seed", "state", "A", "B", "A - B"):
            pairs.add_column(column, justify="right")
        values = zip(item.pairs, item.method_values, item.reference_values, strict=True)
        for (seed, state), a, b in values:
            pairs.add_row(str(seed), str(state), f"{a:.4f}", f"{b:.4f}", f"{a - b:+.4f}")
        console.print(pairs)


for _module in _family_modules():
    _module.register(app, bench_app)


def main() -> None:
    """Entry point of the ``shopml`` console command."""
    app()


if __name__ == "__main__":
    main()
