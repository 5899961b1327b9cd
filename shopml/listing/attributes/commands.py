"""CLI commands for photo attributes: ``shopml listing train-attributes`` and ``shopml listing attributes``.

``add_commands(listing_app)`` adds both to the ``listing`` Typer app (wired by
:mod:`shopml.listing.cli`). Heavy imports (torch, the encoder) happen inside the commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from shopml.cli_support import directory_option, fail, photo_files
from shopml.console import make_console

console = make_console()
err_console = make_console(stderr=True)


def _fail(message: str, code: int = 2) -> typer.Exit:
    return fail(message, code, to=err_console)


def train_attributes_command(
    data: Annotated[
        Path | None,
        typer.Option(
            help="fashion_images directory (styles.csv(.gz) + images/); default: the sample"
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="artifact to write (default: the one shipped in the package)"),
    ] = None,
    seed: Annotated[
        int, typer.Option(help="seed of the split, the weights and the batch order")
    ] = 0,
    limit: Annotated[int | None, typer.Option(help="train on a seeded subset of N photos")] = None,
    card_dir: Annotated[
        Path | None,
        typer.Option(
            help="where to write the result card (default docs/results/cards)",
            callback=directory_option,
        ),
    ] = None,
    no_card: Annotated[bool, typer.Option("--no-card", help="do not write a result card")] = False,
    threads: Annotated[int, typer.Option(help="torch CPU threads")] = 1,
) -> None:
    """Train the photo -> attribute heads; report held-out top-1/top-3 per attribute."""
    import torch

    from shopml.data.loaders import DatasetError
    from shopml.listing.attributes.predictor import ATTRIBUTES, DEFAULT_ARTIFACT
    from shopml.listing.attributes.train import metric_prefix, train_attributes
    from shopml.vision.images import ImageError

    if limit is not None and limit < 20:
        raise _fail(f"--limit must be at least 20 photos, got {limit}")
    if threads < 1:
        raise _fail(f"--threads must be positive, got {threads}")
    torch.set_num_threads(threads)
    target = out or DEFAULT_ARTIFACT
    if not no_card:
        try:
            check_attribute_card(data, seed, limit, card_dir)
        except (ValueError, FileNotFoundError) as exc:  # FileNotFoundError: no sample here
            raise _fail(str(exc)) from exc
    try:
        result = train_attributes(data, target, seed=seed, limit=limit, progress=True)
    except (DatasetError, ImageError, FileNotFoundError) as exc:
        raise _fail(str(exc)) from exc
    metrics = result["metrics"]
    table = Table(
        title=f"attribute heads, held-out test ({result['config']['split']['test']} photos, seed {seed})"
    )
    for column in ("attribute", "classes", "top-1", "top-3", "'other' share"):
        table.add_column(column, justify="left" if column == "attribute" else "right")
    for attribute in ATTRIBUTES:
        p = metric_prefix(attribute)
        table.add_row(
            attribute,
            f"{metrics[f'{p}_classes']:.0f}",
            f"{metrics[f'{p}_top1']:.3f}",
            f"{metrics[f'{p}_top3']:.3f}",
            f"{metrics[f'{p}_other_share']:.3f}",
        )
    console.print(table)
    if result["pixel_colour"] is not None:
        console.print(
            f"pixel colour check: agrees with baseColour on {metrics['pixel_colour_agreement']:.3f} "
            f"of {result['pixel_colour']['n']} held-out photos (heads: {metrics['basecolour_top1']:.3f})"
        )
    size = Path(result["artifact"]).stat().st_size
    console.print(f"artifact: {escape(str(result['artifact']))} ({size / 1e6:.2f} MB)")
    if not no_card:
        path = write_attribute_card(result, data, seed, limit, card_dir)
        console.print(f"card: {escape(str(path))}")


def _card_target(data: Path | None, seed: int, limit: int | None) -> tuple[dict, str] | None:
    """The `attributes` card's dataset entry (name, path, sha256) and file stem for a
    fashion_images directory; None when it has no styles file (training refuses it)."""
    from shopml.data.samples import sample_path
    from shopml.report.cards import file_dataset, sha256_file

    directory = Path(data) if data is not None else sample_path("fashion_images")
    styles = next(
        (directory / n for n in ("styles.csv.gz", "styles.csv") if (directory / n).is_file()),
        None,
    )
    if styles is None:
        return None
    sample = "fashion_images/styles.csv.gz"
    dataset = file_dataset("fashion_images", directory, sha256_file(styles), sample)
    limited = f"-limit{limit}" if limit else ""
    return dataset, f"attributes-{dataset['name']}{limited}-seed{seed}"


def check_attribute_card(
    data: Path | None, seed: int, limit: int | None, card_dir: Path | None
) -> None:
    """Before training: ValueError when the card this run would write holds another data
    file's card (as :func:`write_attribute_card` would refuse after training); a note when it
    replaces the sample's card written before the sample's bytes changed."""
    from shopml.report.cards import check_card_paths

    target = _card_target(data, seed, limit)
    if target is not None:
        check_card_paths(target[0], [target[1]], card_dir, console)


def write_attribute_card(
    result: dict, data: Path | None, seed: int, limit: int | None, card_dir: Path | None
) -> Path:
    """Write the `attributes` result card (and regenerate the results pages for the default dir)."""
    from shopml.report.cards import write_card
    from shopml.report.pages import write_pages

    target = _card_target(data, seed, limit)
    if target is None:
        raise ValueError(f"{data}: no styles.csv or styles.csv.gz to name the card's data by")
    base, name = target
    metrics = result["metrics"]
    head_metrics = {k: float(v) for k, v in metrics.items() if k.endswith(("_top1", "_top3"))}
    results = [{"method": "efficientnet_lite0_heads", "metrics": head_metrics}]
    if "pixel_colour_agreement" in metrics:
        results.append(
            {
                "method": "pixel_colour",
                "metrics": {"basecolour_top1": float(metrics["pixel_colour_agreement"])},
            }
        )
    dataset = {**base, "photos": result["config"]["items"], "split": result["config"]["split"]}
    config = {k: v for k, v in result["config"].items() if k != "split"}
    config["class_counts"] = {a: len(v) for a, v in result["vocab"].items()}
    extra = {"pixel_colour_check": result["pixel_colour"]} if result["pixel_colour"] else None
    path = write_card(
        "attributes", dataset, seed, config, results, out_dir=card_dir, name=name, extra=extra
    )
    if card_dir is None:
        write_pages(Path("docs/results/cards"), Path("docs/results"))
    return path


def attributes_command(
    photos: Annotated[
        list[Path],
        typer.Argument(help="photo files (JPEG, PNG, ...) or directories of them"),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="one JSON object per photo, one per line")
    ] = False,
    model: Annotated[
        Path | None, typer.Option(help="attribute-heads artifact (default: the shipped one)")
    ] = None,
    top: Annotated[int, typer.Option(min=1, help="alternatives shown per attribute")] = 3,
) -> None:
    """Predict attributes (category, type, colour, gender, usage, season) for many photos."""
    from shopml.listing.attributes.predictor import ArtifactError, AttributePredictor
    from shopml.vision.images import ImageError

    photos = photo_files(photos)
    try:
        predictor = AttributePredictor.load(model)
    except ArtifactError as exc:
        raise _fail(str(exc)) from exc
    failed = 0
    predictions: list[tuple[Path, dict | None, str | None]] = []
    try:
        batch = predictor.predict([str(p) for p in photos])
        predictions = [(p, r, None) for p, r in zip(photos, batch, strict=True)]
    except ImageError:
        for photo in photos:  # find which photo(s) failed; predict the rest one by one
            try:
                predictions.append((photo, predictor.predict([str(photo)])[0], None))
            except ImageError as exc:
                predictions.append((photo, None, str(exc)))
    for photo, result, error in predictions:
        if error is not None:
            failed += 1
            if as_json:
                typer.echo(json.dumps({"path": str(photo), "error": error}))
            else:
                err_console.print(f"[bold red]error:[/] {escape(str(error))}", soft_wrap=True)
            continue
        if as_json:
            record = {"path": str(photo)}
            for attribute, pred in result.items():
                record[attribute] = {
                    "label": pred.label,
                    "probability": round(pred.probability, 6),
                    "top": [[n, round(p, 6)] for n, p in pred.top[:top]],
                }
            typer.echo(json.dumps(record))
        else:
            table = Table(title=str(photo))
            table.add_column("attribute")
            table.add_column("label")
            table.add_column("probability", justify="right")
            table.add_column("alternatives")
            for attribute, pred in result.items():
                alternatives = ", ".join(f"{n} {p:.2f}" for n, p in pred.top[1:top])
                table.add_row(attribute, pred.label, f"{pred.probability:.3f}", alternatives)
            console.print(table)
    if failed:
        raise typer.Exit(1)


def add_commands(listing_app: typer.Typer) -> None:
    """Add ``train-attributes`` and ``attributes`` to the ``shopml listing`` app."""
    listing_app.command("train-attributes")(train_attributes_command)
    listing_app.command("attributes")(attributes_command)
