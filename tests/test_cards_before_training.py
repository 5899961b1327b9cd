"""Every benchmark that writes cards of a user's file checks them before any work: a card of
another data file under a name the run would write stops it at once (exit 2), not after the
training."""

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from shopml.cli import app
from shopml.data.samples import sample_path
from shopml.report.cards import card_file, check_card_paths, file_dataset_name, sha256_file

runner = CliRunner()
REFUSAL = "holds the card of another data file"


def _plant(cards, stem: str, name: str):
    """A card of another data file under ``stem``, as another file with the same name left it."""
    path = card_file(stem, cards)
    path.parent.mkdir(parents=True, exist_ok=True)
    dataset = {"name": name, "path": "/elsewhere/other.csv", "sha256": "f" * 64}
    path.write_text(json.dumps({"benchmark": "x", "dataset": dataset, "results": []}))
    return path, path.read_text()


def _no_work(monkeypatch, module, function: str) -> None:
    def work(*args, **kwargs):
        raise AssertionError(f"{function} ran although a card of another file was in the way")

    monkeypatch.setattr(module, function, work)


def _refused(result, cards, planted) -> None:
    """Exit 2 with the write-time message, the planted card untouched, nothing else written."""
    assert result.exit_code == 2, result.output
    assert REFUSAL in " ".join(result.output.split())
    path, text = planted
    assert path.read_text() == text
    assert sorted(cards.iterdir()) == [path]


def _simulated_file(tmp_path, preset: str, clicks: int, fmt: str, name: str):
    out = tmp_path / preset
    args = ["simulate", "--preset", preset, "--clicks", str(clicks), "--seed", "1"]
    result = runner.invoke(app, [*args, "--out", str(out), "--format", fmt])
    assert result.exit_code == 0, result.output
    return next(out.glob(name))


def test_check_card_paths_refuses_what_write_card_would_refuse(tmp_path):
    ours = {"name": "same", "path": str(tmp_path / "a.csv"), "sha256": "a" * 64}
    assert check_card_paths(ours, ["bench-same-seed1"], tmp_path) is None  # nothing there
    _plant(tmp_path, "bench-same-seed2", "same")
    with pytest.raises(ValueError, match=REFUSAL):
        check_card_paths(ours, ["bench-same-seed1", "bench-same-seed2"], tmp_path)


def test_bench_netcvr_refuses_before_training(tmp_path, monkeypatch):
    import shopml.conversion.bench as bench

    data = _simulated_file(tmp_path, "cascade", 3000, "cascade", "processed*")
    name = file_dataset_name("cascade_file", data, sha256_file(data))
    cards = tmp_path / "cards"
    planted = _plant(cards, f"netcvr-{name}-file-quick-seed2", name)
    _no_work(monkeypatch, bench, "run_seed")
    args = ["bench", "netcvr", "--data", str(data), "--quick", "--methods", "pretrained"]
    checkpoints = tmp_path / "ckpt"
    result = runner.invoke(
        app, [*args, "--seeds", "1,2", "--cards", str(cards), "--checkpoint-dir", str(checkpoints)]
    )
    _refused(result, cards, planted)
    assert not checkpoints.exists()


def test_bench_gmv_refuses_before_training(tmp_path, monkeypatch):
    import shopml.value.bench as bench

    data = _simulated_file(tmp_path, "trace", 6000, "trace", "trace.txt")
    name = file_dataset_name("trace_file", data, sha256_file(data))
    cards = tmp_path / "cards"
    planted = _plant(cards, f"gmv-{name}-file-quick-pre_single-seed1", name)
    _no_work(monkeypatch, bench, "run_seed")
    args = ["bench", "gmv", "--data", str(data), "--quick", "--methods", "pre_single"]
    _refused(runner.invoke(app, [*args, "--cards", str(cards)]), cards, planted)


def test_bench_attribution_refuses_before_any_method_runs(tmp_path, monkeypatch):
    import shopml.attribution.bench as bench

    data = tmp_path / "journeys.csv"
    frame = pd.read_csv(sample_path("journeys/attribution_data_subset62k.csv")).head(3000)
    frame.to_csv(data, index=False)
    name = file_dataset_name("attribution_journeys", data, sha256_file(data))
    cards = tmp_path / "cards"
    planted = _plant(cards, f"attribution-{name}-file-seed1", name)
    _no_work(monkeypatch, bench, "run_seed")
    args = ["bench", "attribution", "--data", str(data), "--seeds", "1", "--methods", "linear"]
    _refused(runner.invoke(app, [*args, "--cards", str(cards)]), cards, planted)


def test_bench_uplift_refuses_before_anything_is_fitted(tmp_path, monkeypatch):
    import shopml.uplift.bench as bench

    data = tmp_path / "hillstrom.csv"
    frame = pd.read_csv(sample_path("hillstrom/hillstrom.csv")).head(2000)
    frame.to_csv(data, index=False)
    name = file_dataset_name("hillstrom", data, sha256_file(data), "hillstrom/hillstrom.csv")
    cards = tmp_path / "cards"
    planted = _plant(cards, f"uplift-{name}-womens-visit-seed2", name)
    _no_work(monkeypatch, bench, "run_method")
    args = ["bench", "uplift", "--data", "hillstrom", str(data), "--seeds", "1,2"]
    result = runner.invoke(app, [*args, "--methods", "s_learner", "--cards", str(cards)])
    _refused(result, cards, planted)


def test_train_attributes_refuses_before_training(tmp_path, monkeypatch):
    import typer

    import shopml.listing.attributes.train as train
    from shopml.listing.attributes.commands import add_commands

    data = tmp_path / "photos"
    data.mkdir()
    (data / "styles.csv").write_text("id,gender\n1,Men\n")
    name = file_dataset_name("fashion_images", data, sha256_file(data / "styles.csv"))
    cards = tmp_path / "cards"
    planted = _plant(cards, f"attributes-{name}-seed0", name)
    _no_work(monkeypatch, train, "train_attributes")
    listing = typer.Typer()
    add_commands(listing)
    out = tmp_path / "heads.pt"
    args = ["train-attributes", "--data", str(data), "--out", str(out), "--card-dir", str(cards)]
    _refused(runner.invoke(listing, args), cards, planted)
    assert not out.exists()
