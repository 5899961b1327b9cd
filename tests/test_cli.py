"""The `shopml` command end to end: simulate, data stats, validate, demo, report."""

import json

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from shopml.cli import app

runner = CliRunner()


def test_simulate_then_stats(tmp_path):
    out = tmp_path / "world"
    result = runner.invoke(
        app,
        ["simulate", "--preset", "cascade", "--clicks", "50000", "--seed", "3", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert (out / "clicks.parquet").exists() and (out / "truth.parquet").exists()
    result = runner.invoke(app, ["data", "stats", str(out), "--json"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert stats["clicks"] == 50_000
    assert (
        0.07 < stats["cvr"] < 0.11
    )  # loose: 50k clicks; calibration windows are tested in test_sim_cascade
    assert stats["refunds"] <= stats["conversions"]


def test_simulate_official_format_and_stats_through_loader(tmp_path):
    out = tmp_path / "cascade"
    result = runner.invoke(
        app,
        [
            "simulate",
            "--preset",
            "cascade",
            "--clicks",
            "20000",
            "--seed",
            "1",
            "--out",
            str(out),
            "--format",
            "cascade",
        ],
    )
    assert result.exit_code == 0, result.output
    written = [p for p in out.iterdir() if p.name.startswith("processed")]
    assert written, list(out.iterdir())
    # the next step names one file: the directory holds both layouts, which load one at a time
    assert (
        f"next: shopml bench netcvr --data {out / 'processed_data_expand.txt'} (one layout at a "
        "time: cascade_raw.txt holds the same clicks in the raw release layout)" in result.output
    )
    result = runner.invoke(
        app, ["data", "stats", str(written[0]), "--dataset", "cascade", "--json"]
    )
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert stats["clicks"] == 20_000
    # CASCADE has no user / item ids (the loader sets them to 0): not "1 user, 1 item"
    assert stats["users"] is None and stats["items"] is None
    assert stats["gmv"] is None  # CASCADE has no amounts: not a GMV of 0
    table = runner.invoke(app, ["data", "stats", str(written[0]), "--dataset", "cascade"])
    assert "users / items —: CASCADE publishes no user/item ids" in table.output
    stats_of = ["data", "stats", str(written[0]), "--json"]
    sampled = runner.invoke(app, [*stats_of, "--dataset", "cascade", "--sample", "0.25"])
    assert sampled.exit_code == 0, sampled.output
    assert 4000 < json.loads(sampled.stdout)["clicks"] < 6000  # a random quarter of 20,000
    refused = runner.invoke(app, [*stats_of, "--sample", "0.25"])
    assert refused.exit_code == 2 and "--dataset cascade or trace" in refused.output


def test_bad_arguments_give_clear_errors(tmp_path):
    result = runner.invoke(app, ["simulate", "--preset", "nope", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "unknown preset" in result.output
    result = runner.invoke(
        app, ["simulate", "--preset", "cascade", "--format", "xml", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2 and "unknown format" in result.output
    result = runner.invoke(app, ["data", "stats", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "no such event-log directory" in result.output


def test_validate_exit_codes(tmp_path):
    out = tmp_path / "world"
    runner.invoke(app, ["simulate", "--preset", "cascade", "--clicks", "5000", "--out", str(out)])
    assert runner.invoke(app, ["data", "validate", str(out)]).exit_code == 0
    events = pq.read_table(out / "events.parquet")
    amounts = events.column("amount").to_pylist()
    amounts[0] = -5.0
    pq.write_table(events.set_column(3, "amount", [amounts]), out / "events.parquet")
    result = runner.invoke(app, ["data", "validate", str(out), "--repair", str(tmp_path / "clean")])
    assert result.exit_code == 1
    assert "amount" in result.output
    assert runner.invoke(app, ["data", "validate", str(tmp_path / "clean")]).exit_code == 0


def test_demo(tmp_path):
    result = runner.invoke(
        app,
        [
            "demo", "--clicks", "30000", "--no-netcvr", "--families", "none",
            "--out", str(tmp_path / "demo"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "cvr" in result.output and "refund_share" in result.output


def test_loaders_listing():
    result = runner.invoke(app, ["data", "loaders"])
    assert result.exit_code == 0
    assert "hillstrom" in result.output


def test_demo_rejects_unknown_families(tmp_path):
    result = runner.invoke(
        app, ["demo", "--clicks", "1000", "--families", "nope", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2 and "unknown families" in result.output


@pytest.mark.parametrize(
    "command",
    [
        ["bench", "netcvr", "--preset", "cascade"],
        ["bench", "gmv", "--preset", "trace"],
        ["bench", "uplift", "--preset", "uplift"],
        ["bench", "attribution", "--preset", "journeys"],
    ],
)
@pytest.mark.parametrize(
    ("seeds", "message"), [("1,x", "must look like"), ("3..1", "must look like"), (",", "is empty")]
)
def test_every_bench_reads_seeds_alike_and_rejects_bad_ones(command, seeds, message, tmp_path):
    result = CliRunner().invoke(app, [*command, "--seeds", seeds, "--cards", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert message in result.output


@pytest.mark.parametrize(
    "command",
    [
        ["bench", "netcvr", "--preset", "cascade"],
        ["bench", "gmv", "--preset", "trace"],
        ["bench", "uplift", "--preset", "uplift", "--units", "500"],
        ["bench", "attribution", "--preset", "journeys", "--users", "500"],
    ],
)
@pytest.mark.parametrize(
    ("methods", "message"), [(" , ", "names no method"), ("nope", "unknown")]
)
def test_every_bench_rejects_empty_and_unknown_methods(command, methods, message, tmp_path):
    result = CliRunner().invoke(
        app, [*command, "--seeds", "1", "--methods", methods, "--cards", str(tmp_path)]
    )
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not list(tmp_path.iterdir())  # nothing ran, no card written


@pytest.mark.parametrize(
    "command",
    [
        ["bench", "netcvr", "--quick", "--clicks", "0"],
        ["bench", "gmv", "--quick", "--clicks", "0"],
        ["bench", "uplift", "--preset", "uplift", "--units", "0"],
        ["bench", "uplift", "--preset", "uplift", "--epochs", "0"],
        ["demo", "--clicks", "0"],
    ],
)
def test_sizes_below_one_are_refused(command, tmp_path):
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 2, result.output
    assert "greater than or equal to 1" in result.output


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["bench", "netcvr", "--quick", "--option", "esdfm.weights_form=model"],
         "esdfm has no option ['weights_form']"),
        (["bench", "netcvr", "--quick", "--option", "tesla.nonexistent=1"], "nonexistent"),
        (["bench", "netcvr", "--quick", "--option", "nope.x=1"], "unknown methods ['nope']"),
        (["bench", "gmv", "--quick", "--option", "reader.nope=1"],
         "reader has no option ['nope']"),
        (["bench", "gmv", "--quick", "--option", "online_single.routing=hard"],
         "online_single has no option ['routing']"),
        (["bench", "netcvr", "--quick", "--option", "esdfm.weights_from=modle"],
         "esdfm option weights_from must be one of 'classifier', 'model', got 'modle'"),
        (["bench", "netcvr", "--quick", "--option", "fnw.refund_debias=yes"],
         "fnw option refund_debias must be true or false, got 'yes'"),
        (["bench", "netcvr", "--quick", "--option", "bdl.period_s=0"],
         "bdl option period_s must be a whole number >= 1, got 0"),
        (["bench", "gmv", "--quick", "--option", "reader.calib_epochs=0"],
         "reader option calib_epochs must be a whole number >= 1, got 0"),
        (["bench", "gmv", "--quick", "--option", "oracle_dual.test_routing=model"],
         "oracle_dual option test_routing must be one of 'truth', 'router'"),
    ],
)
def test_bench_options_are_checked_before_any_world_is_built(command, message, tmp_path):
    result = CliRunner().invoke(app, [*command, "--cards", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["bench", "netcvr", "--quick", "--seeds", "1,2,1"], "--seeds names 1 more than once"),
        (["bench", "gmv", "--quick", "--seeds", "3,3"], "--seeds names 3 more than once"),
        (["bench", "uplift", "--preset", "uplift", "--seeds", "1,1"], "--seeds names 1 more than once"),
        (["bench", "attribution", "--preset", "journeys", "--methods", "linear,linear"],
         "--methods names linear more than once"),
        (["bench", "netcvr", "--quick", "--methods", "oracle,fnc,oracle"],
         "--methods names oracle more than once"),
        (["bench", "netcvr", "--preset", "trace", "--quick"],
         "--preset 'trace': bench netcvr scores the truth of cascade"),
        (["bench", "gmv", "--preset", "cascade", "--quick"],
         "--preset 'cascade': bench gmv scores the truth of trace"),
        (["bench", "uplift", "--preset", "uplift", "--arms", "all"],
         "--arms chooses Hillstrom's arms; it applies to --data hillstrom"),
    ],
)  # fmt: skip
def test_bench_lists_and_presets_are_checked_before_any_run(command, message, tmp_path):
    result = CliRunner().invoke(app, [*command, "--cards", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.replace("│", " ").split())
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "command",
    [
        ["simulate", "--preset", "cascade", "--clicks", "100", "--seed", "-1", "--out", "OUT"],
        ["demo", "--seed", "-1"],
        ["attribution", "credit", "journeys.csv", "--seed", "-1"],
        ["bench", "listing", "--seed", "-1"],
    ],
)
def test_negative_seeds_are_refused(command, tmp_path):
    command = [str(tmp_path / "out") if part == "OUT" else part for part in command]
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 2, result.output
    assert "greater than or equal to 0" in result.output


@pytest.mark.parametrize(
    ("command", "bound"),
    [
        (["data", "validate", "LOG", "--max-rows", "-1"], "greater than or equal to 0"),
        (["listing", "attributes", "photo.jpg", "--top", "0"], "greater than or equal to 1"),
        (["bench", "listing", "--k", "0"], "greater than or equal to 1"),
        (["bench", "listing", "--items", "-1"], "greater than or equal to 0"),
        (["bench", "listing", "--feedback-rounds", "-1"], "greater than or equal to 0"),
        (["serve", "--port", "70000"], "less than or equal to 65535"),
    ],
)
def test_counts_out_of_range_are_refused(command, bound, tmp_path):
    command = [str(tmp_path) if part == "LOG" else part for part in command]
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 2, result.output
    assert bound in " ".join(result.output.replace("│", " ").split())


def test_data_stats_names_a_table_loader_and_prints_a_load_report(tmp_path):
    from shopml.data.samples import sample_path

    path = sample_path("amazon_fashion/AMAZON_FASHION_5.json")
    result = runner.invoke(app, ["data", "stats", "--dataset", "amazon_fashion", str(path)])
    assert result.exit_code == 2
    assert "returns a table (3,176 rows), not an event log" in " ".join(result.output.split())
    taobao = sample_path("taobao/UserBehavior-head.csv")
    result = runner.invoke(app, ["data", "stats", "--dataset", "taobao_userbehavior", str(taobao)])
    assert result.exit_code == 0, result.output
    assert "UserBehavior-head.csv: rejected" in result.output


def _stats_rows(output: str) -> dict[str, str]:
    return {
        cells[0]: cells[1]
        for line in output.splitlines()
        if len(cells := [c.strip() for c in line.strip("│").split("│")]) == 2
    }


def test_data_stats_says_why_uplift_times_and_items_are_missing():
    from shopml.data.samples import sample_path

    path = sample_path("hillstrom/hillstrom.csv")
    result = runner.invoke(app, ["data", "stats", "--dataset", "hillstrom", str(path)])
    assert result.exit_code == 0, result.output
    rows = _stats_rows(result.output)
    assert rows["items"] == rows["duration_days"] == rows["median_pay_delay_h"] == "—"
    assert rows["users"] == "64000"
    assert "users / items —: one row per customer, no products" in result.output
    assert "times —: nominal: the file has no dates" in result.output
    # without PATH --dataset reads its sample: the same table
    assert runner.invoke(app, ["data", "stats", "--dataset", "hillstrom"]).output == result.output


@pytest.mark.parametrize("preset", ["uplift", "journeys"])
def test_data_stats_of_simulated_worlds_without_products_shows_no_item_count(tmp_path, preset):
    out = tmp_path / preset
    assert runner.invoke(app, ["simulate", "--preset", preset, "--clicks", "500", "--out", str(out)]).exit_code == 0
    result = runner.invoke(app, ["data", "stats", str(out)], terminal_width=200)
    assert result.exit_code == 0, result.output
    rows = _stats_rows(result.output)
    assert rows["items"] == "—" and rows["users"] != "—"
    assert "no products: item_id = 0" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give an event-log directory, or --dataset NAME"),
        (["--dataset", "cascade"], "dataset 'cascade' has no sample here; give the path of its file"),
        (["--dataset", "nope"], "unknown dataset 'nope'; known: amazon_fashion"),
    ],
)
def test_data_stats_without_a_path_needs_a_dataset_with_a_sample(args, message):
    result = runner.invoke(app, ["data", "stats", *args], terminal_width=300)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())


def test_simulate_names_the_next_step_for_a_trace_file_and_an_event_log(tmp_path):
    common = ["simulate", "--preset", "trace", "--clicks", "2000", "--seed", "1", "--out"]
    result = runner.invoke(app, [*common, str(tmp_path / "t"), "--format", "trace"])
    assert result.exit_code == 0, result.output
    assert f"next: shopml bench gmv --data {tmp_path / 't' / 'trace.txt'}" in result.output
    result = runner.invoke(app, [*common, str(tmp_path / "log")])
    assert result.exit_code == 0, result.output
    assert f"next: shopml data stats {tmp_path / 'log'}" in result.output
    criteo = ["simulate", "--preset", "cascade", "--clicks", "2000", "--format", "criteo"]
    result = runner.invoke(app, [*criteo, "--out", str(tmp_path / "c")], terminal_width=300)
    assert result.exit_code == 0, result.output
    step = f"next: shopml data stats --dataset criteo_conversion {tmp_path / 'c' / 'data.txt'}"
    assert step in " ".join(result.output.split())


def test_paths_that_look_like_markup_are_printed_as_they_are(tmp_path):
    out = tmp_path / "world[bold]"  # rich would read "[bold]" as a style tag and drop it
    result = runner.invoke(
        app, ["simulate", "--preset", "trace", "--clicks", "2000", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert f"wrote {out}\n" in result.output
    assert f"next: shopml data stats {out}" in result.output
    missing = tmp_path / "log[red].csv"
    result = runner.invoke(app, ["bench", "uplift", "--data", "criteo_uplift", str(missing)])
    assert result.exit_code == 2
    assert f"error: criteo_uplift: {missing} does not exist" in result.output


def test_every_command_summary_is_one_line():
    """A command's first help paragraph is what `--help` lists; a line break in it shows."""
    import typer

    def leaves(command, path):
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                yield from leaves(sub, [*path, name])
        else:
            yield " ".join(path), (command.help or "").strip().split("\n\n")[0]

    broken = [path for path, summary in leaves(typer.main.get_command(app), []) if "\n" in summary]
    assert broken == []


def test_simulate_refuses_a_file_as_out_and_a_layout_the_preset_cannot_fill(tmp_path, monkeypatch):
    from shopml.data import simulate as sim

    taken = tmp_path / "taken"
    taken.write_text("")
    result = runner.invoke(app, ["simulate", "--preset", "cascade", "--clicks", "100",
                                 "--out", str(taken)])  # fmt: skip
    assert result.exit_code == 2 and _unboxed(f"{taken} is a file") in _unboxed(result.output)
    monkeypatch.setattr(sim, "simulate", lambda *a, **k: pytest.fail("simulated anyway"))
    result = runner.invoke(app, ["simulate", "--preset", "uplift", "--out", str(tmp_path / "u"),
                                 "--format", "cascade"])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "--format cascade needs the 22 standard fields" in result.output
    assert "write the uplift world with --format shopml" in result.output


def _unboxed(output: str) -> str:
    """Click's error box without borders or whitespace (it wraps long paths anywhere)."""
    return "".join(c for c in output if not c.isspace() and c not in "│╭╮╰╯─")


@pytest.mark.parametrize(
    "command",
    [
        ["simulate", "--preset", "cascade", "--out", "FILE"],
        ["data", "validate", "LOG", "--repair", "FILE"],
        ["demo", "--out", "FILE"],
        ["bench", "netcvr", "--quick", "--cards", "FILE"],
        ["bench", "netcvr", "--quick", "--checkpoint-dir", "FILE"],
        ["bench", "gmv", "--quick", "--cards", "FILE"],
        ["bench", "gmv", "--quick", "--checkpoint-dir", "FILE"],
        ["bench", "uplift", "--preset", "uplift", "--cards", "FILE"],
        ["bench", "uplift", "--preset", "uplift", "--plots", "FILE"],
        ["bench", "attribution", "--cards", "FILE"],
        ["bench", "listing", "--cards", "FILE"],
        ["listing", "train-attributes", "--card-dir", "FILE"],
        ["report", "--out", "FILE"],
        ["serve", "--data-dir", "FILE"],
        ["serve", "--photo-dir", "FILE"],
    ],
)
def test_a_file_where_an_output_directory_goes_is_refused_up_front(tmp_path, command):
    taken = tmp_path / "taken.txt"
    taken.write_text("")
    args = [str(taken) if a == "FILE" else str(tmp_path) if a == "LOG" else a for a in command]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert _unboxed(f"{taken} is a file; give a directory") in _unboxed(result.output)


def test_report_names_a_missing_or_empty_card_directory_and_a_file_that_is_no_card(tmp_path):
    cards, out = tmp_path / "cards", tmp_path / "pages"
    result = runner.invoke(app, ["report", "--cards", str(cards), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert _unboxed(f"no card directory {cards}") in _unboxed(result.output)
    cards.mkdir()
    result = runner.invoke(app, ["report", "--cards", str(cards), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert _unboxed(f"no result cards (*.json) in {cards}") in _unboxed(result.output)
    for text, message in [('{"a": 1}', "not a result card"), ('{"a":', "not a readable result")]:
        (cards / "notes.json").write_text(text)
        for args in (["report", "--out", str(out)], ["compare", "ecup", "s_learner"]):
            result = runner.invoke(app, [*args, "--cards", str(cards)])
            assert result.exit_code == 2, result.output
            assert _unboxed(f"{cards / 'notes.json'}: {message}") in _unboxed(result.output)
    assert not out.exists()


@pytest.mark.parametrize(("name", "message"), [("", "is a directory"), ("credit", "has no file type")])
def test_attribution_figure_must_be_a_file_with_a_type(tmp_path, name, message):
    figure = tmp_path / name if name else tmp_path
    args = ["bench", "attribution", "--users", "500", "--seeds", "1", "--methods", "last_touch",
            "--cards", str(tmp_path / "cards"), "--figure", str(figure)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert _unboxed(f"{figure} {message}") in _unboxed(result.output)
    assert not (tmp_path / "credit.png").exists() and not (tmp_path / "cards").exists()
