"""``shopml serve``: options, clear errors, and a real start on a free port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from typer.testing import CliRunner

from shopml.cli import app

runner = CliRunner()


def test_serve_help_lists_the_options():
    result = runner.invoke(app, ["serve", "--help"], terminal_width=200)
    assert result.exit_code == 0
    for option in ("--host", "--port", "--db", "--backend", "--openai-url", "--timeout"):
        assert option in result.output


def test_serve_rejects_bad_options(tmp_path):
    result = runner.invoke(app, ["serve", "--backend", "gpt-17", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "unknown backend(s) gpt-17" in result.output
    result = runner.invoke(app, ["serve", "--backend", "openai", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "needs --openai-url" in result.output
    result = runner.invoke(app, ["serve", "--db", "nosuchdialect://x", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "cannot open the listing store 'nosuchdialect://x'" in result.output


def test_serve_refuses_a_busy_port_or_a_foreign_host_before_warming_up(tmp_path, monkeypatch):
    from shopml.serve.app import ListingServices

    def warm_up_is_not_reached(self):
        raise AssertionError("warmed up before checking the address")

    monkeypatch.setattr(ListingServices, "warm_up", warm_up_is_not_reached)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        args = ["serve", "--port", str(port), "--data-dir", str(tmp_path), "--no-retrieval"]
        result = runner.invoke(app, args, terminal_width=300)
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
    assert "another program listens there: choose another --port" in result.output
    args = ["serve", "--host", "no-such-host.invalid", "--data-dir", str(tmp_path), "--no-retrieval"]
    result = runner.invoke(app, args, terminal_width=300)
    assert result.exit_code == 2
    assert "--host must be a name or address of this machine" in result.output


def test_serve_starts_and_answers(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [
        sys.executable, "-c", "from shopml.cli import main; main()",
        "serve", "--port", str(port), "--data-dir", str(tmp_path), "--no-warm-up", "--no-retrieval",
    ]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/listings", timeout=2) as r:
                    body = json.load(r)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"server did not start: {process.stdout.read()}") from None
                time.sleep(0.2)
        assert body == {"total": 0, "listings": []}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            assert "Published listings" in r.read().decode()
        assert (tmp_path / "listings.db").is_file()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_serve_warm_up_says_when_it_builds_the_style_index(tmp_path, monkeypatch):
    import uvicorn

    from shopml.listing.retrieval import StyleRetriever

    monkeypatch.setenv("SHOPML_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SHOPML_RETRIEVAL_ROWS", "2")
    monkeypatch.setenv("SHOPML_RETRIEVAL_PHOTOS", "0")
    monkeypatch.setattr(StyleRetriever, "_defaults", {})
    started = []
    monkeypatch.setattr(uvicorn, "run", lambda web_app, **kw: started.append(web_app))
    result = runner.invoke(app, ["serve", "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 0, result.output
    assert "building the style index over 8 listings and 0 photos" in result.output
    assert len(started) == 1
    assert started[0].state.services.retriever() is StyleRetriever.default()  # warmed, reused
