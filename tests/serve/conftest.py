"""Fixtures for the web app: a fresh SQLite store per test, hand-built models, real photos."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient

from shopml.data.samples import sample_path
from shopml.listing.attributes import AttributePrediction
from shopml.serve.app import ServeSettings, create_app

SHIRT_PHOTO = "fashion_images/images/15970.jpg"  # Turtle Check Men Navy Blue Shirt
TSHIRT_PHOTO = "fashion_images/images/10866.jpg"  # Wrangler Men Motor Rider Red T-Shirts


class FixedPredictor:
    """Predicts the same hand-chosen attributes for every photo (tests need no trained model)."""

    def __init__(self) -> None:
        self.calls = 0

    def predict(self, images: list) -> list[dict[str, AttributePrediction]]:
        """One dict of fixed predictions per image."""
        self.calls += 1
        fixed = {
            "masterCategory": AttributePrediction("Apparel", 0.99, [("Apparel", 0.99)]),
            "articleType": AttributePrediction(
                "Shirts", 0.75, [("Shirts", 0.75), ("Tshirts", 0.2), ("Tops", 0.05)]
            ),
            "baseColour": AttributePrediction(
                "Navy Blue", 0.6, [("Navy Blue", 0.6), ("Blue", 0.3), ("Black", 0.1)]
            ),
            "gender": AttributePrediction("Men", 0.9, [("Men", 0.9), ("Women", 0.1)]),
        }
        return [dict(fixed) for _ in images]


@dataclass
class FakeReference:
    """A style reference as the retriever returns it."""

    item_id: str
    source: str
    title: str
    description: str
    score: float


class FixedRetriever:
    """Returns the same two references for every query."""

    def retrieve(self, query_text, image_embedding=None, k=3, exclude_ids=()):
        """Two hand-written references (at most k)."""
        refs = [
            FakeReference("m1", "mercari", "Navy shirt", "Navy check shirt, worn twice.", 0.82),
            FakeReference("m2", "myntra", "Casual shirt", "Regular fit casual shirt.", 0.71),
        ]
        return refs[:k]


@pytest.fixture
def photo_bytes() -> bytes:
    """A real Fashion Product Images photo (JPEG)."""
    return sample_path(SHIRT_PHOTO).read_bytes()


@pytest.fixture
def second_photo_bytes() -> bytes:
    """Another real photo (JPEG)."""
    return sample_path(TSHIRT_PHOTO).read_bytes()


@pytest.fixture
def png_bytes() -> bytes:
    """A small valid PNG made here."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (16, 12), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def make_settings(tmp_path: Path, **overrides) -> ServeSettings:
    """Settings with a SQLite file and photo folder in `tmp_path`."""
    values = {
        "db_url": f"sqlite:///{tmp_path / 'listings.db'}",
        "photo_dir": tmp_path / "photos",
        "retrieve": False,  # retrieval runs the image encoder; tests that need it ask for it
    }
    values.update(overrides)
    return ServeSettings(**values)


@pytest.fixture
def make_client(tmp_path):
    """Factory: a TestClient over an app with the fixed models and the given settings."""
    clients = []

    def build(**overrides) -> TestClient:
        backend_factory = overrides.pop("backend_factory", None)
        app = create_app(
            make_settings(tmp_path, **overrides),
            predictor=FixedPredictor(),
            retriever=FixedRetriever(),
            backend_factory=backend_factory,
        )
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client) -> TestClient:
    """A TestClient over an app with default limits and the template backend."""
    return make_client()


def photo_files(*photos: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg"):
    """Multipart `files` for httpx: each photo under the 'photos' field."""
    return [("photos", (f"{i}-{name}", data, content_type)) for i, data in enumerate(photos)]


def listing_fields(**overrides) -> dict[str, str]:
    """Valid publish form fields, with overrides."""
    fields = {
        "title": "Turtle navy check shirt",
        "description": "Navy blue check shirt for men, worn a few times.",
        "price": "18.50",
        "brand": "Turtle",
        "condition": "like new",
        "attributes": '{"articleType": "Shirts", "baseColour": "Navy Blue"}',
        "backend": "template",
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}
