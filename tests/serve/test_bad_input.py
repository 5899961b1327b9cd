"""Every bad input gets its HTTP status and a message naming what is wrong."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.serve.conftest import listing_fields, photo_files

ENDPOINTS = ["/api/attributes", "/api/drafts", "/api/listings"]


def post(client, url, files, **fields):
    """POST multipart `files` with valid fields for `url` (publish needs title etc.)."""
    data = listing_fields(**fields) if url == "/api/listings" else fields
    return client.post(url, files=files, data=data)


def assert_error(response, status: int, *words: str) -> None:
    """The response has `status` and a JSON detail containing every word."""
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    for word in words:
        assert word in detail, detail


# ------------------------------------------------------------------ uploads
@pytest.mark.parametrize("url", ENDPOINTS)
def test_non_image_upload_is_415(client, url):
    files = [("photos", ("notes.txt", b"just some text, not a photo", "text/plain"))]
    assert_error(post(client, url, files), 415, "'notes.txt'", "not an image")


@pytest.mark.parametrize("url", ENDPOINTS)
def test_corrupt_image_is_422(client, url, photo_bytes):
    truncated = photo_bytes[: len(photo_bytes) // 3]
    files = [("photos", ("broken.jpg", truncated, "image/jpeg"))]
    assert_error(post(client, url, files), 422, "'broken.jpg'", "corrupt or truncated")


def test_image_header_with_garbage_is_422(client):
    files = [("photos", ("fake.png", b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 20, "image/png"))]
    assert_error(client.post("/api/attributes", files=files), 422, "'fake.png'")


def test_empty_file_is_422(client):
    files = [("photos", ("empty.jpg", b"", "image/jpeg"))]
    assert_error(client.post("/api/attributes", files=files), 422, "'empty.jpg'", "empty")


@pytest.mark.parametrize("url", ENDPOINTS)
def test_image_over_size_limit_is_413(make_client, url, photo_bytes, png_bytes):
    client = make_client(max_photo_bytes=len(photo_bytes) - 1)
    files = [("photos", ("small.png", png_bytes, "image/png")), ("photos", ("big.jpg", photo_bytes, "image/jpeg"))]
    assert_error(post(client, url, files), 413, "'big.jpg'", "too large", f"{len(photo_bytes) - 1:,}")


def test_body_over_limit_is_413_before_parsing(make_client):
    client = make_client(max_files=1, max_photo_bytes=1000)  # body limit 1000 B + 64 KiB
    response = client.post("/api/attributes", files=photo_files(b"\xff\xd8\xff" + bytes(100_000)))
    assert_error(response, 413, "request body too large")


@pytest.mark.parametrize("url", ENDPOINTS)
def test_too_many_files_is_413(make_client, url, png_bytes):
    client = make_client(max_files=2)
    assert_error(post(client, url, photo_files(png_bytes, png_bytes, png_bytes)), 413,
                 "too many photos: 3 uploaded, at most 2")


@pytest.mark.parametrize("url", ENDPOINTS)
def test_no_photo_is_422(client, url):
    assert_error(post(client, url, None), 422, "no photo uploaded")


# ------------------------------------------------------------------ fields
@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"title": ""}, ["title is empty"]),
        ({"title": "   "}, ["title is empty"]),
        ({"description": ""}, ["description is empty"]),
        ({"title": "x" * 121}, ["title is too long (121 characters; at most 120)"]),
        ({"description": "y" * 5001}, ["description is too long (5001 characters; at most 5000)"]),
        ({"brand": "b" * 61}, ["brand is too long"]),
        ({"price": None}, ["price is required"]),
        ({"price": "-3"}, ["price", "-3"]),
        ({"price": "2000000"}, ["absurd"]),
        ({"price": "nan"}, ["price"]),
        ({"price": "cheap"}, ["price"]),
        ({"condition": "shiny"}, ["condition", "unknown condition 'shiny'"]),
        ({"currency": "dollars"}, ["currency"]),
        ({"attributes": "{not json"}, ["attributes must be a JSON object"]),
        ({"attributes": "[1, 2]"}, ["attributes must be a JSON object, got list"]),
        ({"attributes": '{"sparkle": "yes"}'}, ["unknown attribute 'sparkle'"]),
        ({"attributes": json.dumps({"baseColour": "c" * 61})}, ["attribute 'baseColour' is too long"]),
        ({"attributes": '{"baseColour": 3}'}, ["attribute 'baseColour' must be a string"]),
    ],
)
def test_bad_listing_fields_are_422(client, photo_bytes, fields, words, tmp_path):
    response = client.post("/api/listings", files=photo_files(photo_bytes), data=listing_fields(**fields))
    assert_error(response, 422, *words)
    assert client.get("/api/listings").json()["total"] == 0
    assert not [p for p in (tmp_path / "photos").rglob("*") if p.is_file()]


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"price": "-1"}, ["price"]),
        ({"price": "1e12"}, ["absurd"]),
        ({"notes": "n" * 501}, ["notes is too long"]),
        ({"condition": "sparkly"}, ["unknown condition"]),
        ({"backend": "gpt-17"}, ["unknown backend 'gpt-17'; this server offers: template"]),
    ],
)
def test_bad_draft_fields_are_422(client, photo_bytes, fields, words):
    response = client.post("/api/drafts", files=photo_files(photo_bytes), data=fields)
    assert_error(response, 422, *words)


# ------------------------------------------------------------------ backends
class SlowHandler(BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint that answers correctly, but only after `delay` seconds."""

    delay = 10.0
    answered = threading.Event()  # set once an answer is ready (after the delay)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        time.sleep(self.delay)
        SlowHandler.answered.set()
        body = json.dumps(
            {"choices": [{"message": {"role": "assistant", "content": "Late text."}, "index": 0}]}
        ).encode()
        try:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up (that is the point)
            pass

    do_GET = do_POST  # noqa: N815

    def log_message(self, *args):
        """Silent."""


@pytest.fixture
def slow_server():
    """A local HTTP server that sleeps 10 s before every answer; yields its /v1 base URL."""
    SlowHandler.answered.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def closed_port_url() -> str:
    """A /v1 URL on a loopback port where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def test_backend_down_is_503(make_client, photo_bytes):
    pytest.importorskip("shopml.llm.openai_compat")
    url = closed_port_url()
    client = make_client(
        backends=("template", "openai"),
        backend_options={"openai": {"base_url": url, "timeout_s": 2.0}},
    )
    response = client.post("/api/drafts", files=photo_files(photo_bytes), data={"backend": "openai"})
    assert_error(response, 503, url.split("/v1")[0])


def test_backend_timeout_is_504(make_client, photo_bytes, slow_server):
    pytest.importorskip("shopml.llm.openai_compat")
    client = make_client(
        backends=("openai",),
        backend_options={"openai": {"base_url": slow_server, "timeout_s": 0.5}},
    )
    response = client.post("/api/drafts", files=photo_files(photo_bytes))
    assert_error(response, 504, slow_server.split("/v1")[0])
    assert not SlowHandler.answered.is_set()  # gave up at the timeout, before the answer existed


class FailingBackend:
    """A backend that raises the given error."""

    name = "failing"

    def __init__(self, error: Exception) -> None:
        self.error = error

    def generate(self, request):
        """Raise."""
        raise self.error


def test_backend_errors_map_to_statuses(make_client, photo_bytes):
    from shopml.llm.base import BackendError, BackendTimeoutError, BackendUnavailableError

    for error, status in [
        (BackendUnavailableError("model server at http://x:1 is down"), 503),
        (BackendTimeoutError("no answer from http://x:1 within 1 s"), 504),
        (BackendError("malformed answer from http://x:1"), 502),
    ]:
        backend = FailingBackend(error)
        client = make_client(backend_factory=lambda name, backend=backend, **options: backend)
        response = client.post("/api/drafts", files=photo_files(photo_bytes))
        assert_error(response, status, str(error))


# ------------------------------------------------------------------ escaping
SCRIPT = '<script>alert("x")</script>'


def test_user_text_is_escaped_in_pages(client, photo_bytes):
    fields = listing_fields(title=f"Shirt {SCRIPT}", description=f"Nice {SCRIPT} <b>bold</b>",
                            brand="<img src=x onerror=alert(1)>")
    created = client.post("/api/listings", files=photo_files(photo_bytes), data=fields)
    assert created.status_code == 201, created.text
    for url in ("/", f"/listings/{created.json()['id']}"):
        html = client.get(url).text
        assert "<script>alert" not in html and "<b>bold" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_generated_text_is_escaped_in_pages(make_client, photo_bytes):
    class Injecting:
        name = "injecting"

        def generate(self, request):
            # mid-text: a model draft's unfinished last sentence is dropped by the pipeline
            return f"A shirt. {SCRIPT} Blue cotton."

    client = make_client(backend_factory=lambda name, **options: Injecting(), verify=False)
    draft = client.post("/api/drafts", files=photo_files(photo_bytes)).json()
    assert SCRIPT in draft["text"]  # JSON carries the text as it is; pages must escape it
    created = client.post(
        "/api/listings", files=photo_files(photo_bytes), data=listing_fields(description=draft["text"])
    )
    html = client.get(f"/listings/{created.json()['id']}").text
    assert "<script>alert" not in html and "&lt;script&gt;" in html


def test_missing_attribute_model_is_503(tmp_path, photo_bytes):
    from fastapi.testclient import TestClient

    from shopml.listing.attributes import ArtifactError
    from shopml.serve.app import create_app
    from tests.serve.conftest import make_settings

    class MissingModel:
        def predict(self, images):
            raise ArtifactError("attribute artifact /nowhere/attributes.pt does not exist")

    with TestClient(create_app(make_settings(tmp_path), predictor=MissingModel())) as client:
        response = client.post("/api/attributes", files=photo_files(photo_bytes))
    assert_error(response, 503, "/nowhere/attributes.pt does not exist")
