"""Starting llama.cpp's server engine in this process through xllamacpp.

``xllamacpp.Server`` loads a GGUF model, runs llama.cpp's C++ server loop on its own threads
and always listens for OpenAI-compatible HTTP requests (here on 127.0.0.1 and a free port).
The ``local`` backend calls it in-process (``handle_chat_completions``) and points the
unavoidable HTTP listener at a unix socket in a private temporary folder, so no TCP port is
opened; ``start_local_server`` listens on 127.0.0.1 and hands its URL to HTTP clients.

Two details of xllamacpp handled here: its init thread installs C-level SIGINT/SIGTERM
handlers that would stop the model loop on Ctrl+C instead of raising KeyboardInterrupt in
Python (and take over a web server's shutdown signals), so the previous handlers are restored
right after start; and its log goes to stderr, so it is silenced unless asked for.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from shopml.llm.base import BackendUnavailableError

_START_LOCK = threading.Lock()  # llama.cpp's init touches process-wide state (signals, backends)


def default_threads() -> int:
    """Threads for llama.cpp when not given: 2, but 1 on a machine with at most 2 CPUs.

    llama.cpp's threads wait for each other at every layer; when they do not each get a core
    (a 2-CPU machine also running anything else) generation collapses: measured on a shared
    2-CPU machine at load ~12, SmolLM2-135M generated 0.5-1.1 tokens/s with 2 threads and
    10-12 tokens/s with 1 (benchmarks/llm_speed.py).
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return 2 if cpus > 2 else 1


def import_xllamacpp() -> Any:
    """The xllamacpp module, or a clear error saying how to install it."""
    try:
        import xllamacpp
    except ImportError as error:
        raise BackendUnavailableError(
            "the local LLM backend needs the 'xllamacpp' package: "
            "pip install 'shopml[listing]' (or pip install -c constraints.txt xllamacpp)"
        ) from error
    return xllamacpp


@contextmanager
def _keep_signal_handlers(
    signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM),
) -> Iterator[None]:
    """Restore the process's C-level handlers for `signals` after the block (any thread)."""
    libc_name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(libc_name, use_errno=True) if libc_name else None
    saved: dict[int, ctypes.Array] = {}
    if libc is not None and hasattr(libc, "sigaction"):
        for signum in signals:
            # an opaque buffer larger than any platform's struct sigaction
            buffer = ctypes.create_string_buffer(512)
            if libc.sigaction(signum, None, buffer) == 0:
                saved[signum] = buffer
    try:
        yield
    finally:
        for signum, buffer in saved.items():
            libc.sigaction(signum, buffer, None)


def check_server_options(n_ctx: int, n_threads: int | None, port: int) -> None:
    """Raise ValueError naming the first impossible server option."""
    if n_ctx < 64:
        raise ValueError(f"n_ctx must be at least 64, got {n_ctx}")
    if n_threads is not None and n_threads < 1:
        raise ValueError(f"n_threads must be at least 1, got {n_threads}")
    if not 0 <= port <= 65535:
        raise ValueError(f"port must be in 0..65535, got {port}")


def start_llama_server(
    model_path: Path,
    n_ctx: int = 2048,
    n_threads: int | None = None,
    port: int = 0,
    host: str = "127.0.0.1",
    verbose: bool = False,
) -> Any:
    """Load `model_path` into an ``xllamacpp.Server``.

    Its HTTP API listens on `host`:`port` (port 0 = any free port), or on a unix socket when
    `host` is a path ending in ``.sock``.
    """
    n_threads = default_threads() if n_threads is None else n_threads
    check_server_options(n_ctx, n_threads, port)
    xlc = import_xllamacpp()
    params = xlc.CommonParams()
    params.model.path = str(model_path)
    params.n_ctx = n_ctx
    params.n_batch = min(512, n_ctx)
    params.n_parallel = 1  # one sequence at a time: deterministic, and small memory
    params.cpuparams.n_threads = n_threads
    params.cpuparams_batch.n_threads = n_threads
    params.hostnames = [host]  # an address, or a unix socket path ending in .sock
    params.port = port
    params.warmup = False
    params.ui = False  # no web chat page, only the API
    params.endpoint_slots = False  # no slot inspection / KV-cache save over HTTP
    params.cache_ram_mib = 256  # llama.cpp's default prompt cache may grow to 8 GiB
    params.verbosity = 3 if verbose else -1
    with _START_LOCK, _keep_signal_handlers():
        try:
            server = xlc.Server(params)
        except RuntimeError as error:
            raise BackendUnavailableError(
                f"llama.cpp could not load the model {model_path} "
                f"(or could not listen on {host}:{port}): {error}"
            ) from error
    return server
