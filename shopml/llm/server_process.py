"""The child process behind ``start_local_server``: one llama.cpp HTTP server, and its watcher.

Run as ``python -m shopml.llm.server_process '<json options>'``. It starts the server
(``start_llama_server``), writes one JSON line to stdout - ``{"address": "http://..."}`` or
``{"error": "..."}`` - and then waits to be ended by a signal: ``LocalServer.stop`` sends
SIGTERM, whose action here is the default one (the process ends in the kernel; the handlers
llama.cpp installs are put back by ``start_llama_server``), and the operating system closes the
port.

Once xllamacpp's server runs, this process's Python cannot be relied on: one of xllamacpp's
threads has been seen to keep the GIL while it waits, so the main thread never runs again
(that is also why stopping the server in-process could hang its caller). So the process forks,
*before* the model is loaded, a watcher without llama.cpp: it reads stdin, which reaches end of
file when the parent closes it or dies, and then sends SIGTERM to the server process. A server
whose parent is gone is thus ended without any of its own Python running.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

from shopml.llm.base import BackendUnavailableError
from shopml.llm.llamacpp import start_llama_server


def watch_stdin(server_pid: int) -> None:
    """(In the watcher.) Block until stdin reaches end of file, then SIGTERM `server_pid`."""
    while os.read(0, 65536):
        pass
    if os.getppid() == server_pid:  # the server is still there (not reparented away)
        os.kill(server_pid, signal.SIGTERM)


def serve(options: dict) -> int:
    """Fork the stdin watcher, start the server from `options`, report, wait for a signal."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # even if the parent ignored it
    server_pid = os.getpid()
    if os.fork() == 0:  # the watcher: no threads, no model
        try:
            quiet = os.open(os.devnull, os.O_WRONLY)
            os.dup2(quiet, 1)  # the parent's end of stdout must see end of file when the
            os.dup2(quiet, 2)  # server dies, whatever the watcher does
            os.close(quiet)
            watch_stdin(server_pid)
        finally:
            os._exit(0)
    nothing = os.open(os.devnull, os.O_RDONLY)
    os.dup2(nothing, 0)  # stdin is the watcher's alone
    os.close(nothing)
    try:
        server = start_llama_server(
            Path(options["model_path"]),
            n_ctx=int(options["n_ctx"]),
            n_threads=options.get("n_threads"),
            port=int(options["port"]),
        )
    except (BackendUnavailableError, ValueError) as error:
        _report({"error": str(error)})
        return 1
    _report({"address": server.listening_address})
    while True:
        signal.pause()  # SIGTERM (default action) ends the process


def _report(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    code = serve(json.loads(sys.argv[1]))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
