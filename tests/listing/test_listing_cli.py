"""`shopml listing draft` and `shopml bench listing` through the real command."""

import json

import pytest
from typer.testing import CliRunner

from shopml.cli import app
from shopml.data.samples import sample_path

runner = CliRunner()
FORM = ["--brand", "Nike", "--condition", "good", "--price", "18", "--currency", "USD"]


def test_draft_json_from_the_form_only():
    result = runner.invoke(
        app, ["listing", "draft", *FORM, "--set", "articleType=Tshirts", "--no-retrieve", "--json"]
    )
    assert result.exit_code == 0, result.output
    draft = json.loads(result.stdout)
    assert draft["facts"] == {
        "category": "Tshirts",
        "brand": "Nike",
        "condition": "good",
        "currency": "USD",
        "price": "18",
    }
    assert draft["backend"] == "template" and draft["removed_claims"] == []
    assert draft["text"].startswith("Nike Tshirts\n")


def test_draft_from_a_real_photo_prints_tables():
    pytest.importorskip("shopml.listing.attributes")
    photo = sample_path("fashion_images/images/15970.jpg")
    result = runner.invoke(app, ["listing", "draft", "--photo", str(photo), *FORM, "--no-retrieve"])
    assert result.exit_code == 0, result.output
    assert "attributes read from the photos" in result.output
    assert "articleType" in result.output and "draft (template" in result.output


def test_draft_says_when_it_builds_the_style_index(tmp_path, monkeypatch):
    from shopml.listing import pipeline
    from shopml.listing.retrieval import StyleRetriever

    monkeypatch.setenv("SHOPML_CACHE", str(tmp_path))
    monkeypatch.setenv("SHOPML_RETRIEVAL_ROWS", "2")
    monkeypatch.setenv("SHOPML_RETRIEVAL_PHOTOS", "0")
    monkeypatch.setattr(StyleRetriever, "_defaults", {})
    monkeypatch.setattr(pipeline, "_DEFAULTS", {})
    result = runner.invoke(app, ["listing", "draft", *FORM, "--set", "articleType=Tshirts"])
    assert result.exit_code == 0, result.output
    assert "building the style index over 8 listings and 0 photos" in result.output
    assert "style references" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--condition", "smashed"], "unknown condition 'smashed'"),
        (["--price", "-5"], "price: -5 is negative"),
        (["--price", "cheap"], "is not a number"),
        (["--photo", "/nonexistent/a.jpg"], "does not exist"),
        (["--brand", "Nike", "--backend", "nonesuch"], "unknown backend"),
        (["--brand", "Nike", "--set", "baseColour"], "--set must look like"),
        (["--brand", "Nike", "--base-url", "http://x"], "do not apply to backend template"),
        ([], "nothing to describe"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(args, message):
    result = runner.invoke(app, ["listing", "draft", "--no-retrieve", *args])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())


def test_draft_takes_a_directory_of_the_items_photos(tmp_path):
    import shutil

    pytest.importorskip("shopml.listing.attributes")
    folder = tmp_path / "item"
    folder.mkdir()
    shutil.copy(sample_path("fashion_images/images/15970.jpg"), folder / "front.jpg")
    args = ["listing", "draft", "--photo", str(folder), *FORM, "--no-retrieve", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["facts"]["category"] == "Shirts"
    (folder / "front.jpg").unlink()
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert f"{folder} is a directory without photos" in " ".join(result.output.split())


def test_non_image_photo_exits_2(tmp_path):
    pytest.importorskip("shopml.vision.images")
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a photo")
    result = runner.invoke(app, ["listing", "draft", "--photo", str(bad), "--no-retrieve"])
    assert result.exit_code == 2, result.output
    assert "notes.jpg" in " ".join(result.output.split())


def test_openai_backend_down_exits_2():
    pytest.importorskip("shopml.llm.openai_compat")
    result = runner.invoke(
        app,
        ["listing", "draft", "--brand", "Nike", "--no-retrieve", "--backend", "openai",
         "--base-url", "http://127.0.0.1:9/v1", "--timeout", "5"],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "backend openai" in result.output and "127.0.0.1:9" in result.output


def test_bench_listing_rejects_unknown_backends():
    result = runner.invoke(app, ["bench", "listing", "--backends", "template,gpt9"])
    assert result.exit_code == 2 and "unknown backends ['gpt9']" in result.output


def test_a_claim_removed_many_times_is_one_row_with_its_count():
    from rich.console import Console

    from shopml.listing.claims import Claim
    from shopml.listing.cli import print_draft
    from shopml.listing.pipeline import Draft

    removed = [Claim("number", "100", "100")] * 28 + [Claim("material", "silk", "silk")]
    draft = Draft(attributes={}, facts={"brand": "Turtle"}, references=[], text="Turtle shirt",
                  removed_claims=removed, backend="local", latency_s=1.0)  # fmt: skip
    out = Console(record=True, width=120)
    print_draft(draft, out)
    text = out.export_text()
    assert "removed claims (not supported by the facts)" in text  # the title on one line
    rows = [line for line in text.splitlines() if "100" in line or "silk" in line]
    assert [" ".join(r.strip("│ ").split()) for r in rows] == ["number │ 100 │ 28", "material │ silk │ 1"]
