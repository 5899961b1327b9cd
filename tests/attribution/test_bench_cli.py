"""`shopml bench attribution` and `shopml attribution credit` end to end (small)."""

import json

import pytest
from typer.testing import CliRunner

from shopml.cli import app
from shopml.data.samples import sample_path

runner = CliRunner()


def test_bench_on_the_preset_writes_cards_with_errors(tmp_path):
    cards = tmp_path / "cards"
    result = runner.invoke(
        app,
        [
            "bench",
            "attribution",
            "--users",
            "4000",
            "--seeds",
            "1",
            "--methods",
            "last_touch,markov,dnamta",
            "--option",
            "dnamta.epochs=1",
            "--cards",
            str(cards),
            "--figure",
            str(tmp_path / "credit.png"),
        ],
    )
    assert result.exit_code == 0, result.output
    card = json.loads((cards / "attribution-journeys-4000-seed1.json").read_text())
    assert [r["method"] for r in card["results"]] == ["last_touch", "markov", "dnamta"]
    for entry in card["results"]:
        m = entry["metrics"]
        shares = [v for k, v in m.items() if k.startswith("share_")]
        assert len(shares) == 6 and abs(sum(shares) - 1) < 1e-9
        assert 0 <= m["attribution_error"] <= 2
    assert 0.5 < card["results"][2]["metrics"]["auc"] <= 1
    assert card["bayes_limit"]["attribution_error"] == 0.0
    assert (tmp_path / "credit.png").stat().st_size > 1000


def test_bench_on_the_real_file(tmp_path):
    cards = tmp_path / "cards"
    data = sample_path("journeys/attribution_data_subset62k.csv")
    result = runner.invoke(
        app,
        [
            "bench",
            "attribution",
            "--data",
            str(data),
            "--seeds",
            "1",
            "--methods",
            "linear,shapley",
            "--cards",
            str(cards),
        ],
    )
    assert result.exit_code == 0, result.output
    card = json.loads((cards / "attribution-attribution_journeys-file-seed1.json").read_text())
    metrics = card["results"][0]["metrics"]
    assert "attribution_error" not in metrics  # no truth for a real file
    assert set(metrics) == {
        "share_facebook",
        "share_instagram",
        "share_online_display",
        "share_online_video",
        "share_paid_search",
    }


def test_bench_refuses_bad_arguments(tmp_path):
    result = runner.invoke(app, ["bench", "attribution", "--methods", "nope"])
    assert result.exit_code == 2 and "unknown methods" in result.output
    result = runner.invoke(app, ["bench", "attribution", "--preset", "cascade"])
    assert result.exit_code == 2 and "journeys" in result.output
    result = runner.invoke(app, ["bench", "attribution", "--data", str(tmp_path / "missing.csv")])
    assert result.exit_code == 2 and "does not exist" in result.output
    result = runner.invoke(app, ["bench", "attribution", "--lookback-days", "-3"])
    assert result.exit_code == 2 and "--lookback-days must be positive, got -3.0" in result.output
    journeys = str(sample_path("journeys/attribution_data_subset62k.csv"))
    result = runner.invoke(
        app,
        ["attribution", "credit", journeys, "--out", str(tmp_path / "out"), "--lookback-days", "0"],
    )
    assert result.exit_code == 2 and "--lookback-days must be positive, got 0.0" in result.output


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("dnamta.epochs=0", "bad epochs=0"),
        ("dnamta.nope=1", "dnamta has no option ['nope']"),
        ("linear.weight=2", "linear has no option ['weight']"),
        ("nope.epochs=2", "unknown methods ['nope']"),
    ],
)
def test_bench_refuses_bad_options_before_running(option, message, tmp_path):
    result = runner.invoke(
        app, ["bench", "attribution", "--users", "500", "--seeds", "1", "--option", option,
              "--cards", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert not list(tmp_path.iterdir())


def test_credit_command_writes_tables(tmp_path):
    data = sample_path("journeys/attribution_data_subset62k.csv")
    out = tmp_path / "credit"
    result = runner.invoke(
        app,
        ["attribution", "credit", str(data), "--out", str(out), "--methods", "first_touch,markov"],
    )
    assert result.exit_code == 0, result.output
    channels = (out / "channels.csv").read_text().splitlines()
    assert channels[0] == "method,channel,conversions,share,value"
    assert len(channels) == 1 + 2 * 5
    header = (out / "journeys_markov.csv").read_text().splitlines()[0]
    assert header.startswith("journey,user_id,conversion_ts,")


def test_demo_section_prints_every_method(tmp_path):
    from rich.console import Console

    from shopml.attribution.base import methods
    from shopml.attribution.cli import demo_section

    console = Console(record=True, width=160)
    demo_section(tmp_path, 1, console)
    text = console.export_text()
    for name in [*methods(), "truth", "held-out conversion AUC"]:
        assert name in text


def test_bench_on_a_file_reports_the_rows_the_loader_rejected(tmp_path):
    lines = sample_path("journeys/attribution_data_subset62k.csv").read_text().splitlines()
    converted = next(i for i, line in enumerate(lines) if line.split(",")[3] == "1")
    cells = lines[converted].split(",")
    cells[4] = "-5"  # a negative conversion value
    lines[converted] = ",".join(cells)
    edited = tmp_path / "journeys.csv"
    edited.write_text("\n".join(lines) + "\n")
    cards = tmp_path / "cards"
    result = runner.invoke(
        app,
        ["bench", "attribution", "--data", str(edited), "--seeds", "1", "--methods", "linear",
         "--cards", str(cards)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    reason = "conversion with a missing or negative conversion_value"
    assert f"rejected 1 row(s): {reason}" in " ".join(result.output.split())
    (card_path,) = cards.glob("*.json")
    assert json.loads(card_path.read_text())["dataset"]["load_report"]["rejected"] == {reason: 1}
