"""End to end in a real browser: headless Chromium uploads a real photo on the seller page,
gets the predicted attributes and a draft, publishes, and sees the listing in the list.

The app runs under uvicorn on a free port in a background thread (SQLite in a temporary
folder, the template backend, the shipped attribute model, and style retrieval over the real
Mercari sample listings). Chromium is Debian's (``/usr/bin/chromium``, installed by .ci/run),
driven by Playwright with ``executable_path``; nothing is downloaded. Set
``SHOPML_E2E_SCREENSHOT=path.png`` to save a screenshot of the page in use (docs/figures).
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        "Debian's chromium is not installed (/usr/bin/chromium); .ci/run installs it "
        "with apt-get install -y chromium",
        allow_module_level=True,
    )
pytest.importorskip("playwright.sync_api")
uvicorn = pytest.importorskip("uvicorn")

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from shopml.data.samples import sample_path  # noqa: E402
from shopml.serve.app import ServeSettings, create_app  # noqa: E402

PHOTO = "fashion_images/images/15970.jpg"  # Turtle Check Men Navy Blue Shirt
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INJECTED = '<img src=x onerror="window.__injected=1">'


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    """The app under uvicorn in a background thread; yields its base URL."""
    from shopml.listing.attributes import AttributePredictor
    from shopml.listing.corpus import build_corpus
    from shopml.listing.retrieval import StyleRetriever

    folder = tmp_path_factory.mktemp("serve")
    settings = ServeSettings(
        db_url=f"sqlite:///{folder / 'listings.db'}",
        photo_dir=folder / "photos",
        backends=("template",),
    )
    retriever = StyleRetriever.build(build_corpus(sources=("mercari",)).head(120))
    app = create_app(settings, predictor=AttributePredictor.load(), retriever=retriever)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium through Playwright."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def test_upload_draft_publish_and_list(server_url, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(server_url + "/")
    expect(page.locator("#no-listings")).to_be_visible()

    page.set_input_files("#photos", str(sample_path(PHOTO)))
    form = page.locator("#seller-form")
    expect(form).to_have_attribute("data-attributes-ready", "true", timeout=120_000)
    article_type = page.locator('input[data-attribute="articleType"]')
    expect(article_type).not_to_have_value("")
    expect(page.locator('[data-confidence="articleType"]')).to_have_text(
        re.compile(r"\d+%")
    )

    page.fill('input[name="brand"]', "Turtle")
    page.fill('input[name="condition"]', "like new")
    page.fill('input[name="price"]', "18.50")
    page.fill('input[data-attribute="baseColour"]', "Navy Blue")  # the seller's corrections
    page.fill('input[data-attribute="articleType"]', "Shirts")
    page.click("#draft-button")
    expect(form).to_have_attribute("data-draft-ready", "true", timeout=120_000)
    description = page.locator("#description").input_value()
    assert "Turtle" in description and "Navy Blue".lower() in description.lower()
    assert page.locator("#references li").count() == 3  # k = 3 Mercari style references
    assert page.locator("#removed-claims li").count() >= 1  # a claim or "nothing removed"
    assert page.locator("#title").input_value() == "Turtle Navy Blue Shirts"

    page.fill("#description", description + " Smoke-free home.")
    page.click("#publish-button")
    expect(form).to_have_attribute("data-published", "1", timeout=60_000)
    expect(page.locator("#error")).to_be_hidden()
    first = page.locator("#listings li").first
    expect(first.locator(".listing-title")).to_have_text("Turtle Navy Blue Shirts")
    expect(first.locator(".listing-meta")).to_contain_text("18.50")
    expect(page.locator("#listing-count")).to_have_text("(1)")
    if os.environ.get("SHOPML_E2E_SCREENSHOT"):
        page.screenshot(path=os.environ["SHOPML_E2E_SCREENSHOT"], full_page=True)

    # a second listing whose title carries markup: shown as text, never run
    title = f"Turtle navy check shirt {INJECTED}"
    page.fill("#title", title)
    page.click("#publish-button")
    expect(form).to_have_attribute("data-published", "2", timeout=60_000)
    expect(first.locator(".listing-title")).to_have_text(title)
    assert page.evaluate("window.__injected") is None
    assert page.locator("#listings img[src='x']").count() == 0

    page.reload()  # the server-rendered list has it too, escaped
    expect(page.locator("#listings li").first.locator(".listing-title")).to_have_text(title)
    expect(page.locator("#listing-count")).to_have_text("(2)")
    page.locator("#listings li").first.locator(".listing-title").click()
    expect(page.locator("#listing-title")).to_have_text(title)
    expect(page.locator("#listing-description")).to_contain_text("Smoke-free home.")
    assert page.evaluate("window.__injected") is None
    page.close()


def test_bad_upload_shows_the_message(server_url, browser, tmp_path):
    page = browser.new_page()
    page.goto(server_url + "/")
    not_a_photo = tmp_path / "notes.txt"
    not_a_photo.write_text("this is not a photo")
    page.set_input_files("#photos", str(not_a_photo))
    error = page.locator("#error")
    expect(error).to_be_visible(timeout=30_000)
    expect(error).to_contain_text("415")
    expect(error).to_contain_text("'notes.txt' is not an image")
    expect(page.locator("#draft-button")).to_be_disabled()
    page.close()
