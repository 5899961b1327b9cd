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


def test_bench_on_a_file_reports_what_the_loader_dropped_and_reads_string_fields(tmp_path):
    out = tmp_path / "cascade"
    simulate = ["simulate", "--preset", "cascade", "--clicks", "20000", "--seed", "3"]
    assert runner.invoke(app, [*simulate, "--out", str(out), "--format", "cascade"]).exit_code == 0
    lines = (out / "processed_data_expand.txt").read_text().splitlines()
    for i in (0, 1):  # a pay ten seconds before its click: the pay is dropped, and said so
        cells = lines[i].split("\t")
        cells[1] = str(int(cells[0]) - 10)
        lines[i] = "\t".join(cells)
    cells = lines[2].split("\t")
    cells[4] = "abc"  # one field now holds text: coded through its vocabulary
    lines[2] = "\t".join(cells)
    edited = tmp_path / "edited.txt"
    edited.write_text("\n".join(lines) + "\n")
    result = runner.invoke(
        app,
        ["bench", "netcvr", "--data", str(edited), "--quick", "--methods", "oracle",
         "--cards", str(tmp_path / "cards")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "rejected 2 row(s): pay before its click (pay event dropped)" in result.output
    (card_path,) = (tmp_path / "cards").glob("*.json")
    report = json.loads(card_path.read_text())["dataset"]["load_report"]
    assert report["rows_read"] == 20000
    assert report["rejected"] == {"pay before its click (pay event dropped)": 2}


def test_bench_on_a_malformed_file_names_the_problem(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("1\t2\n")
    result = runner.invoke(
        app, ["bench", "netcvr", "--data", str(bad), "--quick", "--cards", str(tmp_path / "c")]
    )
    assert result.exit_code == 2
    assert "expected 25 tab-separated columns" in " ".join(result.output.split())
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("bench", ["netcvr", "gmv"])
def test_bench_refuses_a_log_directory_with_errors(bench, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    log = tmp_path / "log"
    preset = "cascade" if bench == "netcvr" else "trace"
    simulate = ["simulate", "--preset", preset, "--clicks", "3000", "--out", str(log)]
    assert runner.invoke(app, simulate).exit_code == 0
    events = pq.read_table(log / "events.parquet")
    ts = events.column("ts").to_numpy().copy()
    ts[:3] = 0  # 1970: before every click
    pq.write_table(events.set_column(events.column_names.index("ts"), "ts", pa.array(ts)),
                   log / "events.parquet")  # fmt: skip
    result = runner.invoke(
        app, ["bench", bench, "--data", str(log), "--quick", "--cards", str(tmp_path / "cards")]
    )
    assert result.exit_code == 2, result.output
    output = " ".join(result.output.split())
    assert "the event log has errors" in output and "event_before_click 3" in output
    assert not (tmp_path / "cards").exists()


def _cascade_lines(tmp_path, clicks=20000, seed=3):
    out = tmp_path / "cascade"
    simulate = ["simulate", "--preset", "cascade", "--clicks", str(clicks), "--seed", str(seed)]
    assert runner.invoke(app, [*simulate, "--out", str(out), "--format", "cascade"]).exit_code == 0
    return (out / "processed_data_expand.txt").read_text().splitlines()


def test_bench_names_files_apart_and_refuses_what_it_cannot_score(tmp_path):
    lines = _cascade_lines(tmp_path)
    cut = tmp_path / "cut.txt"
    cut.write_text("\n".join(lines)[:-7])  # an interrupted copy: the last line is cut short
    args = ["bench", "netcvr", "--quick", "--methods", "pretrained", "--cards", str(tmp_path / "c")]
    result = runner.invoke(app, [*args, "--data", str(cut)])
    assert result.exit_code == 2
    assert "the file looks cut short" in " ".join(result.output.split())
    nopay = tmp_path / "nopay.txt"
    nopay.write_text(
        "\n".join("\t".join([c[0], "-1", "-1", *c[3:]]) for c in (x.split("\t") for x in lines))
        + "\n"
    )
    result = runner.invoke(app, [*args, "--data", str(nopay)])
    assert result.exit_code == 2 and "no pay among the" in " ".join(result.output.split())
    assert not (tmp_path / "c").exists()
    result = runner.invoke(app, [*args, "--data", str(nopay), "--clicks", "5"])
    assert result.exit_code == 2 and "--clicks sizes a simulated world" in result.output
    result = runner.invoke(app, [*args, "--data", str(nopay), "--option", "tesla.structure=shared"])
    assert result.exit_code == 2
    assert "options given for ['tesla'], which this run does not run" in " ".join(
        result.output.split()
    )
    for name in ("a.txt", "b.txt"):  # two files, two cards: neither replaces the other
        (tmp_path / name).write_text("\n".join(lines) + "\n" * (name == "b.txt") + "\n")
        assert runner.invoke(app, [*args, "--data", str(tmp_path / name)]).exit_code == 0
    names = sorted(p.name for p in (tmp_path / "c").glob("*.json"))
    assert len(names) == 2 and names[0].startswith("netcvr-cascade_file-a-")


def test_bench_notes_what_the_protocol_does_not_take_from_a_log():
    import pyarrow.compute as pc

    from shopml.conversion.bench import (
        label_horizon_note,
        protocol_windows,
        unused_feature_notes,
        window_notes,
    )
    from shopml.conversion.timeline import Windows
    from shopml.data.eventlog import EventLog
    from shopml.data.simulate import simulate

    log = simulate("cascade", 3000, 1).log
    assert label_horizon_note(log, 6 * 86400) is None  # events run days past the last click
    last_click = int(log.column("ts").max())
    cut = EventLog(
        log.clicks, log.events.filter(pc.less_equal(log.events.column("ts"), last_click)),
        log.spec,
    )  # fmt: skip
    assert "labels cut off by it" in label_horizon_note(cut, 6 * 86400)
    assert window_notes(log.spec.meta, protocol_windows(Windows()), "TESLA's") == []
    notes = window_notes(
        {**log.spec.meta, "refund_window_s": 86400}, protocol_windows(Windows()), "TESLA's"
    )
    assert notes == [
        "the log declares refund_window_s = 86,400 s; the protocol's window is 259,200 s "
        "(TESLA's), and labels follow it"
    ]
    assert unused_feature_notes(log) == []


def test_a_file_larger_than_memory_can_be_read_as_a_sample_of_its_clicks(tmp_path, monkeypatch):
    """`--sample F` keeps a seeded share F of a CASCADE file's clicks while reading it in
    chunks; its cards are named and described apart from the whole file's."""
    import numpy as np

    from shopml.data import load
    from shopml.data.loaders import _common as common

    monkeypatch.setattr(common, "SAMPLE_CHUNK_ROWS", 3000)  # several chunks in a small file
    lines = _cascade_lines(tmp_path)
    path = tmp_path / "release.txt"
    path.write_text("\n".join(lines[:8000]) + "\n\n" + "\n".join(lines[8000:]) + "\n")
    whole = load("cascade", path)
    half = load("cascade", path, sample=0.5)
    assert load("cascade", path, sample=0.5).column("ts").tolist() == half.column("ts").tolist()
    assert 9000 < half.n_clicks < 11000
    kept = np.isin(half.column("ts"), whole.column("ts"))
    assert kept.all()  # a subset of the file's clicks
    report = half.spec.meta["load_report"]
    assert report["blank_rows_dropped"] == 1  # counted over the whole file
    assert f"kept a random 50 % of the file's rows (sample seed 0): {half.n_clicks:,} of 20,000" in (
        " ".join(report["notes"])
    )
    args = ["bench", "netcvr", "--quick", "--methods", "pretrained", "--cards", str(tmp_path / "c")]
    result = runner.invoke(app, [*args, "--data", str(path), "--sample", "0.5"])
    assert result.exit_code == 0, result.output
    (card_path,) = (tmp_path / "c").glob("*.json")
    dataset = json.loads(card_path.read_text())["dataset"]
    assert dataset["name"].endswith("-subsample0.5") and "-subsample0.5-file-quick" in card_path.name
    assert dataset["subsample"] == {"fraction": 0.5, "seed": 0, "clicks": half.n_clicks}
    for extra, said in (
        (["--sample", "0"], "--sample 0.0: the share of clicks to keep"),
        (["--sample", "1.5"], "less than or equal to 1"),
        (["--preset", "cascade", "--sample", "0.5"], "size a simulated world with --clicks"),
    ):
        data = [] if "--preset" in extra else ["--data", str(path)]
        result = runner.invoke(app, [*args, *data, *extra])
        assert result.exit_code == 2 and said in " ".join(result.output.split()), result.output


@pytest.mark.parametrize(("bench", "preset"), [("netcvr", "cascade"), ("gmv", "trace")])
def test_cards_of_an_event_log_directory_are_named_after_its_preset(bench, preset, tmp_path):
    from shopml.report.cards import event_log_kind

    log = tmp_path / "mylog"
    simulate = ["simulate", "--preset", preset, "--clicks", "6000", "--out", str(log)]
    assert runner.invoke(app, simulate).exit_code == 0
    method = "pretrained" if bench == "netcvr" else "pre_single"
    args = ["bench", bench, "--data", str(log), "--quick", "--methods", method,
            "--cards", str(tmp_path / "cards")]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    (card,) = (tmp_path / "cards").glob("*.json")
    assert card.name.startswith(f"{bench}-{preset}_log-mylog-"), card.name
    assert event_log_kind({"source": "my shop"}) == "my_shop_log"
    assert event_log_kind({}) == "event_log"
