"""The openai backend against a REAL OpenAI-compatible server (llama.cpp via xllamacpp), and
its errors against a closed port and tiny hand-written HTTP servers."""

from __future__ import annotations

import contextlib
import http.server
import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator

import pytest

from shopml.llm import (
    BackendError,
    BackendTimeoutError,
    BackendUnavailableError,
    GenerationRequest,
    get_backend,
)
from shopml.llm.openai_compat import normalise_base_url

REQUEST = GenerationRequest(
    prompt="Describe a pair of black Nike running shoes in one sentence.",
    system="You write short second-hand product listings.",
    max_tokens=16,
)


def test_generates_through_the_real_server(local_server):
    backend = get_backend("openai", base_url=local_server.base_url, timeout_s=60)
    text = backend.generate(REQUEST)
    assert isinstance(text, str) and text.strip()
    # the model name was read from the server's /v1/models
    assert backend.model.endswith("SmolLM2-135M-Instruct.Q4_1.gguf")
    assert backend.last_usage["usage"]["completion_tokens"] <= 16
    assert backend.generate(REQUEST) == text  # temperature 0: same text


def test_real_server_speaks_openai_json(local_server):
    with urllib.request.urlopen(local_server.base_url + "/models", timeout=10) as response:
        listing = json.load(response)
    assert listing["data"][0]["id"].endswith(".gguf")
    assert local_server.address.startswith("http://127.0.0.1:")
    assert local_server.base_url == local_server.address + "/v1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_closed_port_is_unavailable_and_names_the_url():
    url = f"http://127.0.0.1:{_free_port()}/v1"
    backend = get_backend("openai", base_url=url, model="m", timeout_s=5)
    with pytest.raises(BackendUnavailableError, match=f"cannot reach {url}/chat/completions"):
        backend.generate(REQUEST)


class _Handler(http.server.BaseHTTPRequestHandler):
    """Answers every POST with the server's configured (delay, status, body)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        delay, status, body = self.server.reply  # type: ignore[attr-defined]
        time.sleep(delay)
        self.server.answered.set()  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the client may have given up (timeout test)
            self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def fake_server() -> Iterator[http.server.ThreadingHTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.answered = threading.Event()  # type: ignore[attr-defined]  # set once a reply is ready
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _backend_for(server, reply, timeout_s=5.0):
    server.reply = reply
    url = f"http://127.0.0.1:{server.server_address[1]}"
    return get_backend("openai", base_url=url, model="m", timeout_s=timeout_s), url + "/v1"


def test_slow_server_times_out(fake_server):
    backend, url = _backend_for(fake_server, (2.0, 200, b"{}"), timeout_s=0.3)
    with pytest.raises(
        BackendTimeoutError, match=f"{url}/chat/completions did not answer within 0.3 s"
    ):
        backend.generate(REQUEST)
    assert not fake_server.answered.is_set()  # gave up before the reply existed


def test_http_error_carries_status_and_body(fake_server):
    body = json.dumps({"error": {"message": "model 'm' not found"}}).encode()
    backend, url = _backend_for(fake_server, (0.0, 404, body))
    expected = rf"{url}/chat/completions answered HTTP 404 Not Found: .*model 'm' not found"
    with pytest.raises(BackendError, match=expected) as caught:
        backend.generate(REQUEST)
    assert type(caught.value) is BackendError


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>oops</html>", "returned malformed JSON: '<html>oops</html>'"),
        (b"[1, 2]", "JSON that is not an object"),
        (b'{"choices": []}', r"no choices\[0\]\.message\.content"),
        (b'{"choices": [{"message": {"content": null}}]}', "returned content None, not text"),
    ],
)
def test_malformed_replies_are_backend_errors(fake_server, body, message):
    backend, _ = _backend_for(fake_server, (0.0, 200, body))
    with pytest.raises(BackendError, match=message):
        backend.generate(REQUEST)


def test_reply_text_is_stripped(fake_server):
    body = json.dumps({"choices": [{"message": {"content": "  Black Nike shoes.\n"}}]}).encode()
    backend, _ = _backend_for(fake_server, (0.0, 200, body))
    assert backend.generate(REQUEST) == "Black Nike shoes."


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://localhost:11434", "http://localhost:11434/v1"),
        ("http://localhost:11434/v1/", "http://localhost:11434/v1"),
        ("https://api.example.com/openai", "https://api.example.com/openai/v1"),
    ],
)
def test_base_url_normalisation(given, expected):
    assert normalise_base_url(given) == expected


def test_bad_base_url():
    with pytest.raises(ValueError, match="base_url must be an http"):
        get_backend("openai", base_url="localhost:8000")


def test_stopped_server_closes_its_port():
    from shopml.llm.server import start_local_server

    with start_local_server(n_threads=1, n_ctx=256) as server:
        url = server.base_url
        process = server._process
        assert server.running
    assert not server.running
    assert process.returncode == -signal.SIGTERM  # ended by SIGTERM, it did not need SIGKILL
    server.stop()  # idempotent
    backend = get_backend("openai", base_url=url, model="m", timeout_s=5)
    with pytest.raises(BackendUnavailableError, match="Connection refused"):
        backend.generate(REQUEST)


def test_cut_off_response_is_a_backend_error():
    """A server that promises 100 bytes and closes after 10: http.client.IncompleteRead."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def answer_badly() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b'Content-Length: 100\r\n\r\n{"choices"'
            )

    thread = threading.Thread(target=answer_badly, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    backend = get_backend("openai", base_url=url, model="m", timeout_s=5)
    try:
        with pytest.raises(BackendError, match="broken HTTP response: IncompleteRead"):
            backend.generate(REQUEST)
    finally:
        thread.join(5)
        listener.close()


def test_server_that_cannot_load_its_model_says_so(tmp_path):
    from shopml.llm.server import start_local_server

    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 60)
    with pytest.raises(BackendUnavailableError, match=r"could not load the model .*broken\.gguf"):
        start_local_server(broken, n_threads=1, n_ctx=256, ready_timeout_s=30)


def _process_gone(pid: int) -> bool:
    """Whether `pid` has exited (a zombie waiting for its reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def _port_refuses(url: str) -> bool:
    """Whether a TCP connection to the host:port of `url` is refused."""
    host, port = url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    return False


def test_server_process_ends_when_its_parent_is_killed():
    """A parent killed without stopping its server: the server's watcher ends it."""
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from shopml.llm.server import start_local_server\n"
            "server = start_local_server(n_threads=1, n_ctx=256)\n"
            "print(server._process.pid, server.base_url, flush=True)\n"
            "import time; time.sleep(600)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        pid, url = parent.stdout.readline().split()
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 30
    while not (_process_gone(int(pid)) and _port_refuses(url)) and time.monotonic() < deadline:
        time.sleep(0.1)  # the kernel closes a dead process's listening socket a moment later
    assert _process_gone(int(pid))
    backend = get_backend("openai", base_url=url, model="m", timeout_s=5)
    with pytest.raises(BackendUnavailableError, match="Connection refused"):
        backend.generate(REQUEST)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"n_ctx": 8}, "n_ctx must be at least 64"),
        ({"n_threads": 0}, "n_threads must be at least 1"),
        ({"port": 70000}, "port must be in 0..65535"),
    ],
)
def test_impossible_server_options_are_refused_before_starting(options, message):
    from shopml.llm.server import start_local_server

    with pytest.raises(ValueError, match=message):
        start_local_server(**options)


def _fake_child(code: str, deadline_s: float = 20.0) -> str:
    """Run `code` as the server child and read its report the way start_local_server does."""
    import tempfile

    from shopml.llm.server import _read_address, end_process

    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=stderr,
        )  # fmt: skip
        try:
            return _read_address(process, time.monotonic() + deadline_s, stderr)
        finally:
            end_process(process)


def test_server_report_skips_other_output_on_stdout():
    code = "print('a library talking'); print('[1, 2]'); print('{\"address\": \"http://h:1\"}')"
    assert _fake_child(code) == "http://h:1"


def test_server_that_exits_without_an_address_names_its_code_and_stderr():
    code = "import sys; print('loading'); sys.stderr.write('no memory'); sys.exit(3)"
    with pytest.raises(BackendUnavailableError, match=r"exit code 3\) .*: no memory"):
        _fake_child(code)


def test_server_that_never_reports_times_out():
    with pytest.raises(BackendTimeoutError, match="did not report its address in time"):
        _fake_child("import time; time.sleep(30)", deadline_s=1.0)
