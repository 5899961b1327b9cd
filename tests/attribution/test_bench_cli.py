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
    rows = (out / "journeys_markov.csv").read_text().splitlines()
    assert rows[0].startswith("journey,customer_id,user_id,conversion_time,conversion_ts,")
    assert rows[1].startswith("4,A000104,4,2018-07-06T19:15:57Z,1530904557,")
    text = " ".join(result.output.split())
    assert "1,838 conversion(s) (value 11,423.50) in the data; 1,560 credited" in text
    assert "278 without a touch before them get no credit (value 1,692.00)" in text


def _journeys_file(tmp_path, edit=None, rows=400):
    import pandas as pd

    frame = pd.read_csv(sample_path("journeys/attribution_data_subset62k.csv")).head(rows)
    frame = edit(frame) if edit is not None else frame
    path = tmp_path / "journeys.csv"
    frame.to_csv(path, index=False)
    return path


def test_credit_refuses_before_writing(tmp_path):
    many = _journeys_file(tmp_path, lambda f: f.assign(
        channel=[f"ch{i % 12}" if k == "impression" else c
                 for i, (k, c) in enumerate(zip(f.interaction, f.channel, strict=True))]))  # fmt: skip
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["attribution", "credit", str(many), "--out", str(out), "--methods", "linear,shapley"]
    )
    assert result.exit_code == 2, result.output
    assert "shapley: 12 channels; exact shapley is limited to 10" in " ".join(result.output.split())
    assert not out.exists()
    result = runner.invoke(app, ["attribution", "credit", str(many), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "skipped shapley" in result.output
    assert not (out / "journeys_shapley.csv").exists() and (out / "journeys_markov.csv").exists()
    none = _journeys_file(tmp_path, lambda f: f[f.interaction == "impression"])
    result = runner.invoke(app, ["attribution", "credit", str(none), "--out", str(tmp_path / "n")])
    assert result.exit_code == 2, result.output
    assert "the data hold no conversions" in result.output
    (tmp_path / "afile").write_text("x")
    result = runner.invoke(
        app, ["attribution", "credit", str(none), "--out", str(tmp_path / "afile")]
    )
    assert result.exit_code == 2 and "is a file" in result.output


def test_credit_prints_what_the_loader_did_and_takes_options(tmp_path):
    def edit(frame):
        frame = frame.copy()
        first = frame.index[frame.interaction == "conversion"][0]
        frame.loc[first, "conversion_value"] = None
        return frame

    path = _journeys_file(tmp_path, edit)
    result = runner.invoke(
        app,
        ["attribution", "credit", str(path), "--out", str(tmp_path / "out"), "--methods",
         "time_decay", "--option", "time_decay.half_life_days=0.0001"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "1 conversion(s) without a conversion_value, kept with value 0" in text


def test_bench_keeps_channels_whose_names_collide_apart(tmp_path):
    names = {"Facebook": "微信", "Instagram": "微博", "Online Video": "Paid-Search"}
    path = _journeys_file(tmp_path, lambda f: f.replace({"channel": names}))
    cards = tmp_path / "cards"
    result = runner.invoke(
        app, ["bench", "attribution", "--data", str(path), "--seeds", "1", "--methods",
              "last_touch", "--cards", str(cards)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (card_path,) = cards.glob("*.json")
    card = json.loads(card_path.read_text())
    assert card["dataset"]["name"].startswith("attribution_journeys-journeys-")
    keys = card["share_metrics"]
    assert len(set(keys.values())) == 5
    shares = card["results"][0]["metrics"]
    assert sum(shares[k] for k in keys.values()) == pytest.approx(1.0)
    assert keys["Paid Search"] == "share_paid_search_2"
    assert keys["Paid-Search"] == "share_paid_search_3"


def test_bench_refuses_users_with_data(tmp_path):
    path = _journeys_file(tmp_path)
    result = runner.invoke(
        app, ["bench", "attribution", "--data", str(path), "--users", "10", "--cards", str(tmp_path)]
    )
    assert result.exit_code == 2 and "--users sizes a simulated world" in result.output


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
    reason = "conversion with a negative conversion_value"
    assert f"rejected 1 row(s): {reason}" in " ".join(result.output.split())
    (card_path,) = cards.glob("*.json")
    assert json.loads(card_path.read_text())["dataset"]["load_report"]["rejected"] == {reason: 1}


@pytest.mark.parametrize(
    "channels",
    [["channel", "channel_1"], ["A", "a", "a_2"], ["Paid Search", "paid-search", "paid_search_2"],
     ["微信", "channel_1"], ["Facebook", "Paid Search"]],
)  # fmt: skip
def test_share_keys_are_unique_whatever_the_names(channels):
    from shopml.attribution.bench import share_keys

    keys = share_keys(channels)
    assert len(set(keys.values())) == len(channels)
    if channels == ["Facebook", "Paid Search"]:
        assert keys == {"Facebook": "share_facebook", "Paid Search": "share_paid_search"}


def test_credit_keeps_a_channel_named_like_an_id_column_and_refuses_idle_options(tmp_path):
    path = _journeys_file(tmp_path, lambda f: f.replace({"channel": {"Facebook": "user_id"}}))
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["attribution", "credit", str(path), "--out", str(out), "--methods", "linear"]
    )
    assert result.exit_code == 0, result.output
    header = (out / "journeys_linear.csv").read_text().splitlines()[0]
    assert "customer_id,user_id,conversion_time,conversion_ts,channel:Instagram" in header
    assert "channel:user_id" in header
    result = runner.invoke(
        app, ["attribution", "credit", str(path), "--out", str(out), "--methods", "linear",
              "--option", "time_decay.half_life_days=3"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "options given for ['time_decay'], which this run does not run" in " ".join(
        result.output.split()
    )
    result = runner.invoke(
        app, ["attribution", "credit", str(path), "--out", str(out), "--methods", "linear",
              "--lookback-days", "0.00001"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "no conversion has a touch within 1e-05 day(s) before it" in result.output


def test_credit_and_bench_check_a_files_log_as_validate_does(tmp_path):
    path = _journeys_file(tmp_path, lambda f: f.assign(
        time=f["time"].where(f.index != 2, "3000-07-22T20:40:41Z")))  # fmt: skip
    for args in (["attribution", "credit", str(path), "--out", str(tmp_path / "o")],
                 ["bench", "attribution", "--data", str(path), "--cards", str(tmp_path / "c")]):  # fmt: skip
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        text = " ".join(result.output.split())
        assert "the event log has errors (ts_out_of_range 1)" in text
        assert "the file's rows behind them need mending" in text


def test_bench_reproduces_the_registered_sample_after_its_bytes_changed(tmp_path, monkeypatch):
    import pandas as pd

    frame = pd.read_csv(sample_path("journeys/attribution_data_subset62k.csv")).head(3000)
    monkeypatch.setenv("SHOPML_DATA_DIR", str(tmp_path / "shared"))
    data = tmp_path / "shared" / "journeys" / "attribution_data_subset62k.csv"
    data.parent.mkdir(parents=True)
    frame.to_csv(data, index=False)
    cards = tmp_path / "cards"
    args = ["bench", "attribution", "--data", str(data), "--seeds", "1", "--methods", "linear"]
    assert runner.invoke(app, [*args, "--cards", str(cards)]).exit_code == 0
    (card_path,) = cards.glob("*.json")
    assert card_path.name == "attribution-attribution_journeys-file-seed1.json"
    old = json.loads(card_path.read_text())["dataset"]["sha256"]
    frame.head(2900).to_csv(data, index=False)  # the sample updated and fetched again
    result = runner.invoke(app, [*args, "--cards", str(cards)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "the registered sample journeys/attribution_data_subset62k.csv has changed" in text
    assert old[:12] in text
    card = json.loads(card_path.read_text())
    assert card["dataset"]["sample"] == "journeys/attribution_data_subset62k.csv"
    assert card["sample_changes"][0]["old_sha256"] == old
    assert card["sample_changes"][0]["new_sha256"] == card["dataset"]["sha256"] != old


def test_channel_names_in_brackets_are_printed_as_they_are(tmp_path):
    # rich would read "[b]" / "[red]" as style tags and drop them from the table headers
    names = {"Facebook": "social[b]", "Instagram": "[red]insta"}
    path = _journeys_file(tmp_path, lambda f: f.replace({"channel": names}))
    result = runner.invoke(
        app, ["attribution", "credit", str(path), "--out", str(tmp_path / "out"), "--methods",
              "linear"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "social[b]" in result.output and "[red]insta" in result.output
    result = runner.invoke(
        app, ["bench", "attribution", "--data", str(path), "--seeds", "1", "--methods",
              "last_touch", "--cards", str(tmp_path / "cards")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "social[b]" in result.output and "[red]insta" in result.output
