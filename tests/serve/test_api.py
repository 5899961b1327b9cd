"""The JSON API and pages on the happy path: attributes, draft, publish, list, get, OpenAPI."""

from __future__ import annotations

import hashlib

from tests.serve.conftest import listing_fields, photo_files


def test_openapi_schema_lists_the_api(client):
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    assert set(paths) >= {"/api/attributes", "/api/drafts", "/api/listings", "/api/listings/{listing_id}"}
    assert set(paths["/api/listings"]) == {"get", "post"}
    assert "post" in paths["/api/attributes"] and "post" in paths["/api/drafts"]
    assert "415" in paths["/api/drafts"]["post"]["responses"]
    assert "504" in paths["/api/drafts"]["post"]["responses"]


def test_attributes_merge_photos(client, photo_bytes, second_photo_bytes):
    response = client.post("/api/attributes", files=photo_files(photo_bytes, second_photo_bytes))
    assert response.status_code == 200, response.text
    body = response.json()
    assert [p["name"] for p in body["photos"]] == ["0-photo.jpg", "1-photo.jpg"]
    assert body["merged"]["articleType"]["label"] == "Shirts"
    # both photos predict the same: the merged probability is the mean, 0.75
    assert body["merged"]["articleType"]["probability"] == 0.75
    assert body["merged"]["baseColour"]["top"][1] == ["Blue", 0.3]


def test_draft_with_template_backend(make_client, photo_bytes):
    client = make_client(retrieve=True)
    response = client.post(
        "/api/drafts",
        files=photo_files(photo_bytes),
        data={
            "brand": "Turtle",
            "condition": "Like New",
            "price": "18.5",
            "attributes": '{"baseColour": "Blue"}',
            "backend": "template",
        },
    )
    assert response.status_code == 200, response.text
    draft = response.json()
    assert draft["backend"] == "template"
    assert draft["facts"]["colour"] == "Blue"  # the seller's override wins
    assert draft["facts"]["brand"] == "Turtle"
    assert draft["facts"]["condition"] == "like new"
    assert [r["item_id"] for r in draft["references"]] == ["m1", "m2"]
    assert "Turtle" in draft["text"]
    assert draft["suggested_title"] == "Turtle Blue Shirts"
    assert isinstance(draft["removed_claims"], list)


def test_publish_list_get_and_pages(client, photo_bytes, tmp_path):
    response = client.post(
        "/api/listings", files=photo_files(photo_bytes), data=listing_fields()
    )
    assert response.status_code == 201, response.text
    listing = response.json()
    assert listing["title"] == "Turtle navy check shirt"
    assert listing["price"] == 18.5
    assert listing["condition"] == "like new"
    assert listing["attributes"] == {"articleType": "Shirts", "baseColour": "Navy Blue"}
    digest = hashlib.sha256(photo_bytes).hexdigest()
    assert listing["photos"] == [f"/photos/{digest}.jpg"]
    assert (tmp_path / "photos" / digest[:2] / f"{digest}.jpg").read_bytes() == photo_bytes
    assert client.get(listing["photos"][0]).content == photo_bytes

    page = client.get("/api/listings").json()
    assert page["total"] == 1
    assert [item["id"] for item in page["listings"]] == [listing["id"]]
    assert client.get(f"/api/listings/{listing['id']}").json() == listing

    html = client.get("/").text
    assert "Turtle navy check shirt" in html and "18.50" in html
    detail = client.get(f"/listings/{listing['id']}")
    assert detail.status_code == 200 and "worn a few times" in detail.text


def test_listings_newest_first_and_paged(client, photo_bytes, png_bytes):
    for title in ("first", "second", "third"):
        data = listing_fields(title=title)
        assert client.post("/api/listings", files=photo_files(png_bytes), data=data).status_code == 201
    page = client.get("/api/listings", params={"limit": 2, "offset": 1}).json()
    assert page["total"] == 3
    assert [item["title"] for item in page["listings"]] == ["second", "first"]


def test_missing_listing_is_404(client):
    response = client.get("/api/listings/99")
    assert response.status_code == 404
    assert response.json()["detail"] == "no listing with id 99"
    assert client.get("/listings/99").status_code == 404
    assert client.get("/photos/../../etc/passwd").status_code == 404
    assert client.get("/photos/" + "a" * 64 + ".jpg").status_code == 404
