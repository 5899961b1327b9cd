"""``shopml serve``: the seller's web page and JSON API (see :mod:`shopml.serve.app`)."""

from __future__ import annotations

import errno
import socket
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from shopml.cli_support import directory_option, fail
from shopml.console import make_console

console = make_console()


_fail = fail


def check_address(host: str, port: int) -> None:
    """Fail naming the address if a server could not listen on `host`:`port` (in use, unknown
    host), before minutes of warm-up rather than after."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
            probe.bind(address)
    except OSError as exc:
        if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
            hint = "--host must be a name or address of this machine"
        elif exc.errno == errno.EADDRINUSE:
            hint = "another program listens there: choose another --port"
        else:
            hint = "choose another --host or --port"
        raise _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc} ({hint})") from exc


def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port")] = 8000,
    db: Annotated[
        str,
        typer.Option(
            help="SQLAlchemy database URL: sqlite:///path/listings.db (default, under --data-dir) "
            "or postgresql+psycopg://user:pass@host/db"
        ),
    ] = "",
    data_dir: Annotated[
        Path,
        typer.Option(
            help="folder for the default SQLite file and the stored photos",
            callback=directory_option,
        ),
    ] = Path("shopml-serve"),
    photo_dir: Annotated[
        Path | None,
        typer.Option(
            help="folder for published photos (default DATA_DIR/photos)",
            callback=directory_option,
        ),
    ] = None,
    backend: Annotated[
        list[str] | None,
        typer.Option(
            help="generation backend(s) offered: template, local, openai; repeat the option "
            "to offer several (the first is the default)"
        ),
    ] = None,
    openai_url: Annotated[
        str | None, typer.Option(help="base URL of an OpenAI-compatible server (openai backend)")
    ] = None,
    openai_model: Annotated[str | None, typer.Option(help="model name for the openai backend")] = None,
    model_path: Annotated[
        Path | None, typer.Option(help="GGUF model file for the local backend (default: shipped)")
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="seconds a backend may take before the request fails (504)")
    ] = 60.0,
    retrieval: Annotated[
        bool, typer.Option(help="retrieve similar past listings as style references")
    ] = True,
    max_files: Annotated[int, typer.Option(min=1, help="most photos per request")] = 8,
    max_photo_mb: Annotated[float, typer.Option(help="largest photo in MiB")] = 10.0,
    warm_up: Annotated[
        bool, typer.Option(help="load the models before accepting requests")
    ] = True,
) -> None:
    """Start the seller's listing page and its JSON API (OpenAPI at /docs and /openapi.json)."""
    import uvicorn

    from shopml.llm import backend_names
    from shopml.serve.app import ServeSettings, create_app

    backends = tuple(dict.fromkeys(backend or ["template"]))
    unknown = [name for name in backends if name not in backend_names()]
    if unknown:
        raise _fail(f"unknown backend(s) {', '.join(unknown)}; choose from {backend_names()}")
    if "openai" in backends and not openai_url:
        raise _fail("the openai backend needs --openai-url (e.g. http://127.0.0.1:8080/v1)")
    if not 1 <= port <= 65535:
        raise _fail(f"--port must be 1-65535, got {port}")
    if max_files < 1 or max_photo_mb <= 0 or timeout <= 0:
        raise _fail("--max-files, --max-photo-mb and --timeout must be positive")
    options: dict[str, dict] = {"local": {"timeout_s": timeout}}
    if model_path is not None:
        options["local"]["model_path"] = model_path
    if openai_url:
        options["openai"] = {"base_url": openai_url, "timeout_s": timeout}
        if openai_model:
            options["openai"]["model"] = openai_model
    settings = ServeSettings(
        db_url=db or f"sqlite:///{(data_dir / 'listings.db').resolve()}",
        photo_dir=photo_dir or data_dir / "photos",
        backends=backends,
        backend_options={name: options[name] for name in backends if name in options},
        max_files=max_files,
        max_photo_bytes=int(max_photo_mb * 1024 * 1024),
        retrieve=retrieval,
    )
    check_address(host, port)
    try:
        web_app = create_app(settings)
    except Exception as exc:  # bad database URL, unreachable server, unwritable folder
        raise _fail(f"cannot open the listing store {settings.db_url!r}: {exc}") from exc
    if warm_up:
        try:
            if retrieval:  # outside the spinner: a first run builds the index, with progress
                from shopml.listing.retrieval import StyleRetriever

                StyleRetriever.default(progress=True)
            with console.status("loading the attribute model, style index and backend"):
                web_app.state.services.warm_up()
        except Exception as exc:
            raise _fail(f"cannot load the listing models: {exc}") from exc
    console.print(
        f"seller page on [bold]http://{host}:{port}/[/] · API docs /docs · "
        f"store {escape(str(settings.db_url))} · backends {', '.join(backends)}"
    )
    uvicorn.run(web_app, host=host, port=port, log_level="info")


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    """Add ``shopml serve`` to the CLI."""
    del bench_app
    app.command("serve")(serve)
