"""`shopml listing attributes` and `train-attributes` through a local Typer app (CliRunner)."""

from __future__ import annotations

import json
import os

import pytest
import torch
import typer
from typer.testing import CliRunner

from shopml.data.samples import sample_path
from shopml.listing.attributes import ATTRIBUTES
from shopml.listing.attributes.commands import add_commands
from shopml.report.cards import read_cards


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models: thread hand-offs cost more than they save on a shared CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


runner = CliRunner()


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    listing = typer.Typer()
    add_commands(listing)
    return listing


def photo(item_id: int) -> str:
    return str(sample_path(f"fashion_images/images/{item_id}.jpg"))


def test_attributes_json_one_object_per_photo(app):
    result = runner.invoke(app, ["attributes", "--json", photo(10006), photo(10098)])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert [r["path"] for r in records] == [photo(10006), photo(10098)]
    for record in records:
        assert set(record) == {"path", *ATTRIBUTES}
        for attribute in ATTRIBUTES:
            value = record[attribute]
            assert isinstance(value["label"], str)
            assert 0.0 < value["probability"] <= 1.0
            assert value["top"][0] == [value["label"], value["probability"]]
    assert records[0]["masterCategory"]["label"] == "Apparel"  # a T-shirt
    assert records[1]["masterCategory"]["label"] == "Accessories"  # a watch


def test_attributes_bad_photo_is_named_and_others_still_predicted(app, tmp_path):
    bad = tmp_path / "upload.jpg"
    bad.write_bytes(b"")
    result = runner.invoke(app, ["attributes", "--json", str(bad), photo(10000)])
    assert result.exit_code == 1
    records = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert records[0] == {"path": str(bad), "error": f"{bad}: image is empty (0 bytes)"}
    assert records[1]["path"] == photo(10000) and "articleType" in records[1]


def test_attributes_takes_a_directory_of_photos(app, tmp_path):
    import shutil

    folder = tmp_path / "item"
    folder.mkdir()
    shutil.copy(photo(10098), folder / "b.JPG")
    shutil.copy(photo(10006), folder / "a.jpg")
    (folder / "notes.txt").write_text("bought in 2019")
    result = runner.invoke(app, ["attributes", "--json", str(folder)])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert [r["path"] for r in records] == [str(folder / "a.jpg"), str(folder / "b.JPG")]
    assert records[1]["masterCategory"]["label"] == "Accessories"  # the watch
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(app, ["attributes", str(empty)], terminal_width=300)
    assert result.exit_code == 2
    assert f"{empty} is a directory without photos" in " ".join(result.output.split())


def test_attributes_table_and_missing_model(app, tmp_path):
    result = runner.invoke(app, ["attributes", photo(10000)])
    assert result.exit_code == 0 and "articleType" in result.stdout
    result = runner.invoke(app, ["attributes", "--model", str(tmp_path / "x.pt"), photo(10000)])
    assert result.exit_code == 2
    assert "train-attributes" in result.output


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    """30 real photos and their styles rows, as a fashion_images directory."""
    root = tmp_path_factory.mktemp("fashion")
    (root / "images").mkdir()
    styles = sample_path("fashion_images/styles.csv.gz")
    import gzip

    lines = gzip.decompress(styles.read_bytes()).decode("utf-8").splitlines()
    images = sample_path("fashion_images/images")
    chosen = [lines[0]]
    for line in lines[1:]:
        item = line.split(",", 1)[0]
        if (images / f"{item}.jpg").is_file():
            chosen.append(line)
            os.symlink(images / f"{item}.jpg", root / "images" / f"{item}.jpg")
        if len(chosen) == 31:
            break
    (root / "styles.csv").write_text("\n".join(chosen) + "\n", encoding="utf-8")
    return root


def test_train_attributes_twice_gives_identical_weights(app, tiny_data, tmp_path):
    outs = []
    for run in ("a", "b"):
        out = tmp_path / f"heads-{run}.pt"
        args = ["train-attributes", "--data", str(tiny_data), "--out", str(out), "--seed", "5"]
        result = runner.invoke(app, [*args, "--card-dir", str(tmp_path / f"cards-{run}")])
        assert result.exit_code == 0, result.output
        assert "articleType" in result.stdout and "pixel colour check" in result.stdout
        outs.append(torch.load(out, weights_only=True))
    a, b = outs
    assert a["vocab"] == b["vocab"] and a["metrics"] == b["metrics"]
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])
    assert a["config"]["split"] == {"test": 6, "val": 3, "train": 21}
    (card,) = read_cards("attributes", tmp_path / "cards-a")
    methods = {r["method"]: r["metrics"] for r in card["results"]}
    assert set(methods) == {"efficientnet_lite0_heads", "pixel_colour"}
    assert {"articletype_top1", "articletype_top3", "basecolour_top1", "season_top3"} <= set(
        methods["efficientnet_lite0_heads"]
    )
    assert card["dataset"]["photos"] == 30 and card["seed"] == 5


def test_train_attributes_bad_data_dir(app, tmp_path):
    result = runner.invoke(app, ["train-attributes", "--data", str(tmp_path), "--no-card"])
    assert result.exit_code == 2
    assert "no styles.csv or styles.csv.gz" in result.output
