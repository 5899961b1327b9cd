"""`shopml bench netcvr` end to end on small worlds, in the shopml layout and the CASCADE file layout."""

import json

import pytest
from typer.testing import CliRunner

from shopml.cli import app

runner = CliRunner()
METHODS = "pretrained,oracle,esdfm,tesla"


def test_bench_on_a_cascade_format_file(tmp_path):
    out = tmp_path / "cascade"
    args = [
        "simulate",
        "--preset",
        "cascade",
        "--clicks",
        "40000",
        "--seed",
        "2",
        "--out",
        str(out),
        "--format",
        "cascade",
    ]
    assert runner.invoke(app, args).exit_code == 0
    files = sorted(out.glob("processed*"))
    assert files, list(out.iterdir())
    result = runner.invoke(
        app,
        [
            "bench",
            "netcvr",
            "--data",
            str(files[0]),
            "--quick",
            "--methods",
            METHODS,
            "--cards",
            str(tmp_path / "cards"),
        ],
    )
    assert result.exit_code == 0, result.output
    (card_path,) = (tmp_path / "cards").glob("*.json")
    card = json.loads(card_path.read_text())
    assert card["benchmark"] == "netcvr" and card["dataset"]["sha256"]
    assert [r["method"] for r in card["results"]] == METHODS.split(",")
    assert card["bayes_limit"] is None  # a file has no truth
    oracle = next(r for r in card["results"] if r["method"] == "oracle")["metrics"]
    assert oracle["netcvr_ri_auc"] == pytest.approx(100.0)
    assert 0.5 < oracle["netcvr_auc"] < 1.0


def test_bench_on_a_simulated_preset_reports_the_bayes_limit(tmp_path):
    result = runner.invoke(
        app,
        [
            "bench",
            "netcvr",
            "--preset",
            "cascade",
            "--clicks",
            "40000",
            "--quick",
            "--methods",
            "pretrained,oracle",
            "--cards",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    card = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert card["bayes_limit"]["netcvr_auc"] > 0.5
    assert "bayes" in result.output  # the leaderboard row (rich may wrap its label)


def test_bench_rejects_unknown_methods(tmp_path):
    result = runner.invoke(
        app, ["bench", "netcvr", "--quick", "--methods", "nope", "--cards", str(tmp_path)]
    )
    assert result.exit_code == 2 and "unknown methods" in result.output


def test_bench_variants_and_preset_params():
    from shopml.conversion.bench import BenchSpec, load_log

    spec = BenchSpec(
        clicks=5_000,
        methods=["pretrained", "oracle"],
        options={"oracle": {"x": 1}},
        preset_params={"drift_sd": 0.7},
        variants={"esdfm_model_weights": ("esdfm", {"weights_from": "model"})},
        benchmark="netcvr_ablation",
    )
    assert spec.entries() == [
        ("pretrained", "pretrained", {}),
        ("oracle", "oracle", {"x": 1}),
        ("esdfm_model_weights", "esdfm", {"weights_from": "model"}),
    ]
    log, dataset, truth = load_log(spec, seed=2)
    assert dataset["name"] == "cascade[drift_sd=0.7]"
    assert dataset["params"] == {"drift_sd": 0.7}
    assert truth.shape == (log.n_clicks, 2)


def test_bench_rejects_bad_preset_params(tmp_path):
    result = runner.invoke(
        app,
        ["bench", "netcvr", "--quick", "--preset-param", "drift_sd", "--cards", str(tmp_path)],
    )
    assert result.exit_code == 2 and "NAME=VALUE" in result.output
