"""What every `shopml` subcommand shares: the console, clear failures, METHOD.NAME=VALUE options."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from shopml.console import make_console

console = make_console()


def fail(message: str, code: int = 2, to: Console | None = None) -> typer.Exit:
    """Print `message` as an error (markup in it is shown literally) and return the Exit to raise."""
    (to or console).print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(code)


def directory_option(value: Path | None) -> Path | None:
    """Typer callback for an output-directory option: refuse an existing file (no traceback
    from a mkdir later, after the work is done)."""
    if value is not None and value.exists() and not value.is_dir():
        raise typer.BadParameter(f"{value} is a file; give a directory (created if missing)")
    return value


def figure_file_option(value: Path | None) -> Path | None:
    """Typer callback for a figure-file option: refuse a directory and a name without a file
    type (matplotlib would write NAME.png beside it while we reported NAME)."""
    if value is None:
        return value
    if value.is_dir():
        raise typer.BadParameter(f"{value} is a directory; give a file path such as {value}/x.png")
    if not value.suffix:
        raise typer.BadParameter(f"{value} has no file type; give e.g. {value}.png (or .svg, .pdf)")
    return value


#: file types a photo directory's images are taken by (``photo_files``)
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")


def photo_files(paths: list[Path]) -> list[Path]:
    """The photo paths with each directory replaced by the image files in it (by name; other
    paths kept as given); typer.Exit naming a directory without images."""
    files: list[Path] = []
    for path in paths:
        if not path.is_dir():
            files.append(path)
            continue
        found = sorted(p for p in path.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)
        if not found:
            kinds = ", ".join(PHOTO_SUFFIXES)
            raise fail(f"{path} is a directory without photos (files ending {kinds})")
        files.extend(found)
    return files


#: ``--cards DIR`` of a benchmark command (None: the kept cards, docs/results/cards).
CardsDirOption = Annotated[
    Path | None,
    typer.Option(
        help="write cards here instead of docs/results/cards", callback=directory_option
    ),
]
#: ``--checkpoint-dir DIR`` of a stream benchmark.
CheckpointDirOption = Annotated[
    Path | None,
    typer.Option(help="checkpoint runs here; a rerun resumes", callback=directory_option),
]


def parse_int_range(text: str) -> list[int]:
    """'1..5' → [1, 2, 3, 4, 5]; '1,2,3' → [1, 2, 3]; '' → []; ValueError for anything else."""
    if ".." in text:
        low, high = (int(v) for v in text.split("..", 1))
        if high < low:
            raise ValueError(f"{text!r}: the range ends before it starts")
        return list(range(low, high + 1))
    return [int(v) for v in text.split(",") if v.strip()]


def parse_seeds(text: str) -> list[int]:
    """--seeds '1,2,3' or '1..5' → the seeds; a clear error (exit 2) when malformed or empty."""
    try:
        seeds = parse_int_range(text)
    except ValueError as exc:
        raise fail(f"--seeds must look like 1,2,3 or 1..5, got {text!r} ({exc})") from exc
    if not seeds:
        raise fail("--seeds is empty")
    _refuse_repeats("--seeds", seeds)
    return seeds


def _refuse_repeats(option: str, values: list) -> None:
    """A clear error (exit 2) when a list option names a value twice (it would run twice and
    write the same card or result twice)."""
    repeated = sorted({v for v in values if values.count(v) > 1}, key=values.index)
    if repeated:
        raise fail(f"{option} names {', '.join(map(str, repeated))} more than once")


def parse_methods(text: str | None, known: list[str] | None = None) -> list[str] | None:
    """--methods 'a,b' → ['a', 'b'] (None when the option is not given: the defaults); a clear
    error (exit 2) when it names no method or, given ``known``, an unknown one."""
    if text is None:
        return None
    chosen = [name.strip() for name in text.split(",") if name.strip()]
    if not chosen:
        raise fail(f"--methods names no method, got {text!r}")
    unknown = sorted(set(chosen) - set(known or chosen))
    if unknown:
        raise fail(f"unknown methods {unknown}; choose from {', '.join(known or [])}")
    _refuse_repeats("--methods", chosen)
    return chosen


def parse_method_options(values: list[str], known: list[str] | None = None) -> dict[str, dict]:
    """--option tesla.structure=shared --option tesla.dar=false -> {"tesla": {...}}; a clear
    error (exit 2) when malformed or, given ``known``, naming an unknown method."""
    options: dict[str, dict] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        method, dot, name = key.partition(".")
        if not sep or not dot:
            raise fail(f"--option must look like METHOD.NAME=VALUE, got {item!r}")
        options.setdefault(method, {})[name] = parse_option_value(raw)
    unknown = sorted(set(options) - set(known or options))
    if unknown:
        raise fail(f"--option names unknown methods {unknown}; choose from {', '.join(known or [])}")
    return options


def parse_option_value(raw: str) -> object:
    """An option's value: true / false → bool, JSON numbers (and lists) as such, else the text."""
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def refuse_unrun_options(options: dict[str, dict], run: list[str]) -> None:
    """ValueError when ``--option`` names a method this run does not run (it would be recorded
    in the card as if applied)."""
    idle = [name for name in options if name not in run]
    if idle:
        raise ValueError(
            f"options given for {idle}, which this run does not run (it runs {run}); "
            "add them to --methods or drop their --option"
        )


#: `--sample F` of the stream benchmarks: a random share of a release file's clicks
SampleOption = Annotated[
    float | None,
    typer.Option(
        max=1.0,
        help="keep this random share of a CASCADE or TRACE release file's clicks while reading it "
        "(a release larger than memory), e.g. 0.1",
    ),
]


def check_sample(sample: float | None, data: Path | None) -> None:
    """A clear error (exit 2) for ``--sample`` without a release file, or not above 0."""
    if sample is None:
        return
    if not sample > 0:
        raise fail(f"--sample {sample}: the share of clicks to keep, above 0 and at most 1")
    if data is None:
        raise fail(
            "--sample keeps a share of a --data file's clicks; size a simulated world with --clicks"
        )
    if (data / "clicks.parquet").exists():
        raise fail("--sample reads release files; a shopml event-log directory is read whole")
