"""`shopml bench gmv` end to end on small worlds: a TRACE-format file and the trace preset."""

import json

from typer.testing import CliRunner

from shopml.cli import app

runner = CliRunner()
METHODS = "pre_single,online_single,oracle_dual,reader"


def test_bench_on_a_trace_format_file(tmp_path):
    out = tmp_path / "trace"
    args = ["simulate", "--preset", "trace", "--clicks", "60000", "--seed", "3", "--out", str(out)]
    assert runner.invoke(app, [*args, "--format", "trace"]).exit_code == 0
    trace_file = out / "trace.txt"
    assert trace_file.exists()
    result = runner.invoke(
        app,
        ["bench", "gmv", "--data", str(trace_file), "--quick", "--methods", METHODS,
         "--cards", str(tmp_path / "cards")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (card_path,) = (tmp_path / "cards").glob("*.json")
    card = json.loads(card_path.read_text())
    assert card["benchmark"] == "gmv" and card["dataset"]["sha256"]
    assert [r["method"] for r in card["results"]] == METHODS.split(",")
    assert card["bayes_limit"] is None  # a file has no truth
    for entry in card["results"]:
        m = entry["metrics"]
        assert 0.5 < m["auc"] < 1.0 and 0.0 <= m["acc"] <= 1.0 and m["alpr"] > 0 and m["rmse"] > 0
    reader = card["results"][-1]["metrics"]
    assert 0.0 < reader["router_auc"] < 1.0
    assert card["results"][0]["train_samples"] > 0  # pre-training only


def test_bench_on_the_trace_preset_reports_the_bayes_limit_and_variants(tmp_path):
    result = runner.invoke(
        app,
        ["bench", "gmv", "--preset", "trace", "--clicks", "60000", "--quick",
         "--methods", "pre_dual,reader_hard_routing", "--option", "reader_hard_routing.calib_epochs=1",
         "--cards", str(tmp_path / "cards")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (card_path,) = (tmp_path / "cards").glob("*.json")
    card = json.loads(card_path.read_text())
    bayes = card["bayes_limit"]
    assert set(bayes) >= {"auc", "acc", "alpr", "rmse", "router_auc"}
    assert 0.5 < bayes["auc"] < 1.0 and 0.5 < bayes["router_auc"] < 1.0
    assert [r["method"] for r in card["results"]] == ["pre_dual", "reader_hard_routing"]


def test_bench_rejects_bad_arguments(tmp_path):
    bad = runner.invoke(app, ["bench", "gmv", "--methods", "nope", "--quick"])
    assert bad.exit_code == 2 and "unknown methods" in bad.output
    both = runner.invoke(app, ["bench", "gmv", "--data", str(tmp_path), "--preset", "trace"])
    assert both.exit_code == 2 and "not both" in both.output
    opt = runner.invoke(app, ["bench", "gmv", "--option", "reader=1", "--quick"])
    assert opt.exit_code == 2 and "METHOD.NAME=VALUE" in opt.output


def test_bench_refuses_a_click_whose_purchases_are_free_before_training(tmp_path):
    out = tmp_path / "trace"
    args = ["simulate", "--preset", "trace", "--clicks", "60000", "--seed", "3", "--out", str(out)]
    assert runner.invoke(app, [*args, "--format", "trace"]).exit_code == 0
    lines = (out / "trace.txt").read_text().splitlines()
    header = lines[0].split("\t")
    amount, pay = header.index("dirpay_amt"), header.index("pay_time")
    row = next(i for i, line in enumerate(lines[1:], 1) if line.split("\t")[pay].count(",") == 0
               and line.split("\t")[pay] not in ("", "[]"))  # fmt: skip
    cells = lines[row].split("\t")
    cells[amount] = "[0.0]"
    lines[row] = "\t".join(cells)
    edited = tmp_path / "free.txt"
    edited.write_text("\n".join(lines) + "\n")
    result = runner.invoke(
        app, ["bench", "gmv", "--data", str(edited), "--quick", "--methods", "pre_single",
              "--cards", str(tmp_path / "cards")],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "1 converting click(s) whose purchases within the GMV window total 0" in " ".join(
        result.output.split()
    )
    clicks = runner.invoke(app, ["bench", "gmv", "--data", str(edited), "--clicks", "5"])
    assert clicks.exit_code == 2 and "--clicks sizes a simulated world" in clicks.output


def test_a_trace_file_can_be_read_as_a_sample_of_its_clicks(tmp_path):
    """`--sample F` on a TRACE file: a seeded share of its clicks, each with all its purchases,
    and a dataset entry named and described apart from the whole file's."""
    from collections import Counter

    import numpy as np

    from shopml.data import load
    from shopml.value.bench import BenchSpec, load_log

    out = tmp_path / "trace"
    args = ["simulate", "--preset", "trace", "--clicks", "20000", "--seed", "3", "--out", str(out)]
    assert runner.invoke(app, [*args, "--format", "trace"]).exit_code == 0
    path = out / "trace.txt"
    whole = load("trace", path)
    log, dataset, truth = load_log(BenchSpec(preset=None, data=path, sample=0.25), seed=1)
    assert truth is None and 0.15 < log.n_clicks / whole.n_clicks < 0.35
    assert np.isin(log.column("ts"), whole.column("ts")).all()

    def clicks_with_purchases(log):  # (click time, feature_0, purchases) of every click
        pays = np.bincount(log.events.column("click_id").to_numpy(), minlength=log.n_clicks)
        rows = zip(
            log.column("ts").tolist(), log.column("feature_0").tolist(), pays.tolist(), strict=True
        )
        return Counter(rows)

    sampled, full = clicks_with_purchases(log), clicks_with_purchases(whole)
    assert all(full[key] >= n for key, n in sampled.items())  # each click with all its purchases
    assert dataset["name"].endswith("-subsample0.25")
    assert dataset["subsample"] == {"fraction": 0.25, "seed": 0, "clicks": log.n_clicks}
    result = runner.invoke(app, ["bench", "gmv", "--preset", "trace", "--sample", "0.25"])
    assert result.exit_code == 2 and "size a simulated world with --clicks" in result.output
