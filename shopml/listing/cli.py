"""``shopml listing draft|attributes|train-attributes`` and ``shopml bench listing``."""

from __future__ import annotations

import json
import pathlib
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from shopml.cli_support import CardsDirOption, fail, photo_files
from shopml.console import make_console, print_written

listing_app = typer.Typer(
    no_args_is_help=True,
    help="The seller's listing assistant (IPL): photos -> attributes -> draft without hallucination.",
)
console = make_console()


_fail = fail


def _parse_overrides(values: list[str]) -> dict[str, str]:
    overrides = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise _fail(f"--set must look like ATTRIBUTE=VALUE (e.g. baseColour=Red), got {item!r}")
        overrides[name.strip()] = value
    return overrides


def backend_options(
    backend: str,
    base_url: str | None = None,
    model: str | None = None,
    model_path: Path | None = None,
    api_key: str | None = None,
    timeout_s: float | None = None,
) -> dict[str, Any]:
    """The options a backend takes from the command line (only those given)."""
    given: dict[str, Any] = {}
    if backend == "openai":
        given = {"base_url": base_url, "model": model, "api_key": api_key, "timeout_s": timeout_s}
    elif backend == "local":
        given = {"model_path": model_path, "timeout_s": timeout_s}
    elif any(v is not None for v in (base_url, model, model_path, api_key)):
        raise _fail(f"--base-url/--model/--model-path/--api-key do not apply to backend {backend}")
    return {k: v for k, v in given.items() if v is not None}


def print_draft(draft: Any, out: Console) -> None:
    """Attributes, references, the draft and the removed claims as rich tables."""
    if draft.attributes:
        table = Table(title="attributes read from the photos")
        for column in ("attribute", "label", "probability", "runner-up"):
            table.add_column(column)
        for name, p in draft.attributes.items():
            top = getattr(p, "top", []) or []
            second = f"{top[1][0]} ({top[1][1]:.2f})" if len(top) > 1 else ""
            table.add_row(name, escape(p.label), f"{p.probability:.2f}", escape(second))
        out.print(table)
    facts = Table(title="facts the listing may state")
    facts.add_column("fact")
    facts.add_column("value")
    for key, value in draft.facts.items():
        facts.add_row(key, escape(value))
    out.print(facts)
    if draft.references:
        refs = Table(title="style references (similar past listings)")
        for column in ("source", "title", "score"):
            refs.add_column(column)
        for r in draft.references:
            refs.add_row(escape(str(r.source)), escape(str(r.title)[:70]), f"{r.score:.3f}")
        out.print(refs)
    out.print(Panel(escape(draft.text), title=f"draft ({draft.backend}, {draft.latency_s:.2f} s)"))
    if draft.removed_claims:
        title = "removed claims (not supported by the facts)"
        removed = Table(title=title, min_width=len(title))  # the title on one line
        removed.add_column("kind")
        removed.add_column("claim")
        removed.add_column("times", justify="right")
        # a small model may repeat one claim dozens of times: one row each, with the count
        counts = Counter((claim.kind, claim.text) for claim in draft.removed_claims)
        for (kind, text), times in counts.items():
            removed.add_row(kind, escape(text), str(times))
        out.print(removed)
    elif draft.verified:
        out.print("verification: every checkable claim is supported by the facts")


@listing_app.command("draft")
def listing_draft(
    photo: Annotated[
        list[Path],
        typer.Option(help="a photo of the item, or a directory of its photos (repeatable)"),
    ] = [],  # noqa: B006
    brand: Annotated[str | None, typer.Option(help="brand")] = None,
    condition: Annotated[
        str | None, typer.Option(help="new, new with tags, like new, good, fair, poor, ...")
    ] = None,
    price: Annotated[str | None, typer.Option(help="asking price, e.g. 25 or 19.99")] = None,
    currency: Annotated[str | None, typer.Option(help="currency code or symbol, e.g. USD")] = None,
    size: Annotated[str | None, typer.Option(help="size, e.g. M or 'L (12-14)'")] = None,
    material: Annotated[str | None, typer.Option(help="material, e.g. cotton")] = None,
    title: Annotated[str | None, typer.Option(help="your own title")] = None,
    notes: Annotated[str | None, typer.Option(help="anything else true about the item")] = None,
    set_attribute: Annotated[
        list[str],
        typer.Option("--set", help="correct a predicted attribute: NAME=VALUE (baseColour=Red)"),
    ] = [],  # noqa: B006
    backend: Annotated[str, typer.Option(help="template, local or openai")] = "template",
    base_url: Annotated[
        str | None, typer.Option(help="openai backend: server URL, e.g. http://127.0.0.1:8080/v1")
    ] = None,
    model: Annotated[str | None, typer.Option(help="openai backend: model name")] = None,
    model_path: Annotated[Path | None, typer.Option(help="local backend: a GGUF file")] = None,
    api_key: Annotated[str | None, typer.Option(help="openai backend: API key")] = None,
    timeout: Annotated[float | None, typer.Option(help="backend time limit, seconds")] = None,
    k: Annotated[int, typer.Option(min=1, help="style references to retrieve")] = 3,
    retrieve: Annotated[bool, typer.Option(help="retrieve style references")] = True,
    verify: Annotated[bool, typer.Option(help="remove claims the facts do not support")] = True,
    feedback_rounds: Annotated[
        int, typer.Option(min=0, help="regenerate with feedback this many times before cutting")
    ] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="print the draft as JSON")] = False,
) -> None:
    """Draft a listing from photos and the seller's form; print it and what was removed."""
    from shopml.listing.facts import FormError, SellerForm
    from shopml.listing.pipeline import draft_listing
    from shopml.llm.base import BackendError

    try:
        from shopml.vision.images import ImageError
    except ImportError:  # the vision package is not installed in this checkout

        class ImageError(ValueError):  # type: ignore[no-redef]
            """Placeholder so the except clause below stays valid."""

    photo = photo_files(photo)
    for p in photo:
        if not p.is_file():
            raise _fail(f"photo {p} does not exist")
    options = backend_options(backend, base_url, model, model_path, api_key, timeout)
    try:
        form = SellerForm.parse(
            brand=brand,
            condition=condition,
            price=price,
            currency=currency,
            size=size,
            material=material,
            title=title,
            notes=notes,
        )
        draft = draft_listing(
            list(photo),
            form,
            backend=backend,
            k=k,
            retrieve=retrieve,
            verify=verify,
            attribute_overrides=_parse_overrides(set_attribute),
            backend_options=options,
            feedback_rounds=feedback_rounds,
            progress=True,
        )
    except (FormError, ImageError) as exc:
        raise _fail(str(exc)) from exc
    except BackendError as exc:
        raise _fail(f"backend {backend}: {exc}") from exc
    except ValueError as exc:  # unknown backend name or bad backend option
        raise _fail(str(exc)) from exc
    if as_json:
        typer.echo(json.dumps(draft.to_json(), indent=2, ensure_ascii=False))
    else:
        print_draft(draft, console)


def bench_listing(
    items: Annotated[
        int, typer.Option(min=0, help="held-out catalog items, half Myntra, half Mercari (0 = skip)")
    ] = 60,
    backends: Annotated[str, typer.Option(help="comma-separated backends")] = "template,local",
    seed: Annotated[int, typer.Option(min=0, help="seed for the item sample")] = 0,
    semipqa_items: Annotated[
        int, typer.Option(min=0, help="semiPQA data-to-text pairs to score (0 = skip)")
    ] = 60,
    k: Annotated[int, typer.Option(min=1, help="style references per item")] = 3,
    feedback_rounds: Annotated[
        int, typer.Option(min=0, help="regeneration rounds with feedback in *_rag_verified")
    ] = 0,
    base_url: Annotated[str | None, typer.Option(help="openai backend: server URL")] = None,
    model_path: Annotated[Path | None, typer.Option(help="local backend: a GGUF file")] = None,
    timeout: Annotated[
        float | None, typer.Option(help="LLM backend time limit per draft, seconds")
    ] = None,
    cards: CardsDirOption = None,
) -> None:
    """Listing drafts on held-out catalog items: ROUGE-L, distinct-n, coverage, hallucination."""
    from shopml.listing.bench import ListingBenchSpec, run_listing_bench

    names = [b.strip() for b in backends.split(",") if b.strip()]
    from shopml.llm.registry import backend_names

    unknown = sorted(set(names) - set(backend_names()))
    if unknown:
        raise _fail(f"unknown backends {unknown}; choose from {', '.join(backend_names())}")
    if items < 0 or items == 1 or semipqa_items < 0:
        raise _fail("--items must be 0 (skip the catalog items) or at least 2; --semipqa-items >= 0")
    options = {
        name: backend_options(name, base_url, None, model_path, timeout_s=timeout) for name in names
    }
    spec = ListingBenchSpec(
        items=items,
        backends=names,
        seed=seed,
        semipqa_items=semipqa_items,
        k=k,
        feedback_rounds=feedback_rounds,
        backend_options=options,
        card_dir=cards,
    )
    try:
        paths = run_listing_bench(spec, console)
    except Exception as exc:
        from shopml.llm.base import BackendError

        if isinstance(exc, BackendError):
            raise _fail(f"backend: {exc}") from exc
        raise
    print_written(console, paths)


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add ``shopml listing ...`` and ``shopml bench listing``."""
    try:
        from shopml.listing.attributes.commands import add_commands
    except ImportError:  # B's attribute commands are not in this checkout yet
        add_commands = None
    if add_commands is not None:
        add_commands(listing_app)
    app.add_typer(listing_app, name="listing")
    bench_app.command("listing")(bench_listing)


def demo_section(workdir: pathlib.Path, seed: int, console: Console) -> None:
    """Draft a listing for a real photo from the fashion samples (template backend, < 1 min)."""
    import numpy as np

    from shopml.data.samples import sample_path
    from shopml.listing.facts import SellerForm
    from shopml.listing.pipeline import draft_listing

    try:
        photos = sorted(sample_path("fashion_images/images").glob("*.jpg"))
    except Exception as exc:  # no shared data beside the checkout
        console.print(f"listing demo skipped: {escape(str(exc))}")
        return
    if not photos:
        console.print("listing demo skipped: no photos in fashion_images/images")
        return
    photo = photos[int(np.random.default_rng(seed).integers(len(photos)))]
    form = SellerForm(condition="like new", price=20.0, currency="USD")
    retriever = _demo_retriever(workdir, seed) if _retrieval_available() else None
    draft = draft_listing(
        [photo], form, backend="template", retrieve=retriever is not None, retriever=retriever, k=2
    )
    console.print(f"[bold]listing draft[/] for {escape(str(photo))}")
    print_draft(draft, console)


DEMO_CORPUS_ROWS = 60  # per source: keeps the demo's text embedding within seconds


def _demo_retriever(workdir: pathlib.Path, seed: int) -> Any:
    """A small text-only style retriever over Mercari and Myntra listings, cached in workdir."""
    from shopml.listing.corpus import build_corpus
    from shopml.listing.retrieval import StyleRetriever, sample_per_source

    corpus = sample_per_source(build_corpus(sources=("mercari", "myntra")), DEMO_CORPUS_ROWS, seed)
    return StyleRetriever.build(corpus, cache_dir=workdir / "listing_retriever")


def _retrieval_available() -> bool:
    """True when the style retriever exists in this checkout."""
    import importlib.util

    return importlib.util.find_spec("shopml.listing.retrieval") is not None
