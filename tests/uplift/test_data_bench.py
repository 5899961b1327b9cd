"""Uplift data bundles (real Hillstrom sample, Criteo fixture, simulator truth), plots, the
benchmark's cards and the CLI."""

from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from shopml.cli import app
from shopml.data import load
from shopml.data.loaders import DatasetError
from shopml.data.loaders.uplift import hillstrom_frame
from shopml.data.samples import sample_path
from shopml.uplift.base import UpliftInputError
from shopml.uplift.bench import UpliftBenchSpec, run_bench
from shopml.uplift.data import criteo_data, from_eventlog, hillstrom_data, simulated_data
from shopml.uplift.plots import save_uplift_plots


def test_hillstrom_matches_the_csv():
    raw = pd.read_csv(sample_path("hillstrom/hillstrom.csv"))
    womens = hillstrom_data(arms="womens")
    keep = raw["segment"].isin(["No E-Mail", "Womens E-Mail"])
    assert len(womens.treatment) == int(keep.sum()) == 42_693
    assert womens.arms == [1]
    assert womens.arm_names == {0: "No E-Mail", 1: "Womens E-Mail"}
    assert womens.treatment.sum() == int((raw["segment"] == "Womens E-Mail").sum())
    assert womens.labels["visit"].sum() == int(raw.loc[keep, "visit"].sum())
    assert womens.labels["conversion"].sum() == int(raw.loc[keep, "conversion"].sum())
    every = hillstrom_data(arms="all")
    assert every.arms == [1, 2] and len(every.treatment) == 64_000
    assert every.chain().shape == (64_000, 2)
    # one-hot channel / zip / history segment + numeric recency, history + 3 flags
    assert every.X.shape[1] == 21 and not every.X.isna().any().any()


def test_criteo_fixture_and_simulator_truth():
    criteo = criteo_data(sample_path("criteo_uplift/criteo-uplift-v2.1-head1000.csv"))
    assert criteo.X.shape == (1000, 12) and criteo.labels["conversion"].sum() == 2
    sim = simulated_data(2000, seed=3)
    assert sim.stages == ("impression", "click", "conversion")
    assert sim.arms == [1, 2, 3]
    assert sim.truth["conversion"].shape == (2000, 3)
    # the chain is nested: conversion implies click implies impression
    assert (sim.labels["conversion"] <= sim.labels["click"]).all()
    assert (sim.labels["click"] <= sim.labels["impression"]).all()
    coupon = sim.select_arm(1)
    assert set(np.unique(coupon.treatment)) == {0, 1}
    np.testing.assert_array_equal(
        coupon.truth["conversion"][:, 0],
        sim.truth["conversion"][(sim.treatment == 0) | (sim.treatment == 1), 0],
    )


def test_plots_are_written(tmp_path):
    rng = np.random.default_rng(0)
    y, t, u = rng.integers(0, 2, 400), np.arange(400) % 2, rng.normal(size=400)
    paths = save_uplift_plots(y, u, t, tmp_path, "demo", "random scores")
    assert [p.name for p in paths] == ["demo-qini.png", "demo-uplift.png", "demo-deciles.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in paths)


def test_bench_on_the_preset_writes_cards_with_pehe(tmp_path):
    spec = UpliftBenchSpec(
        data="preset", units=3000, seeds=[1, 2], epochs=1, card_dir=tmp_path,
        methods=["s_learner", "ecup", "ecup_conversion_only"], plots_dir=tmp_path / "png",
    )  # fmt: skip
    runs = run_bench(spec, Console(file=None, quiet=True), progress=False)
    assert len(runs) == 2
    card = json.loads(runs[0]["card"].read_text())
    assert card["benchmark"] == "uplift" and card["config"]["outcome"] == "conversion"
    assert [r["method"] for r in card["results"]] == ["s_learner", "ecup", "ecup_conversion_only"]
    for entry in card["results"]:
        assert {"qini", "auuc", "uplift_at_30", "pehe", "ate_error"} <= set(entry["metrics"])
    assert card["bayes_limit"]["pehe"] == 0.0
    assert card["config"]["train_rows"] + card["config"]["test_rows"] == 3000
    assert len(list((tmp_path / "png").glob("*.png"))) == 9  # ecup: 3 arms x 3 plots
    # capped epochs are part of the variant, so runs at other epochs never overwrite these
    assert card["config"]["variant"] == "3arms-conversion-epochs1"
    # networks record the epochs they ran and kept; the S-learner has none
    assert "training" not in card["results"][0]
    assert card["results"][1]["training"] == {"epochs_run": 1, "best_epoch": 1}
    assert runs[0]["card"].name == "uplift-uplift-3000-3arms-conversion-epochs1-seed1.json"


def test_bench_at_the_models_own_epochs_has_the_plain_variant(tmp_path):
    spec = UpliftBenchSpec(
        data="preset", units=2000, seeds=[1], card_dir=tmp_path, methods=["s_learner"],
    )  # fmt: skip
    runs = run_bench(spec, Console(file=None, quiet=True), progress=False)
    assert runs[0]["card"].name == "uplift-uplift-2000-3arms-conversion-seed1.json"


def test_another_random_state_initialises_every_model_and_names_its_cards(tmp_path):
    from shopml.uplift.bench import method_factories, models_chain, simulated_data

    spec = UpliftBenchSpec(data="preset", units=2000, epochs=2, random_state=3)
    factories = method_factories(spec, simulated_data(2000, 1))
    assert factories["s_learner"]().base_estimator.random_state == 3
    assert factories["causalml_s_learner"]().base_estimator.random_state == 3
    averaged = {"tarnet_weight_average", "efin_weight_average", "ecup", "ecup_conversion_only"}
    for name in ("tarnet", "tarnet_weight_average", "efin", "efin_weight_average", "ecup",
                 "ecup_conversion_only", "ecup_last_weights", "ecup_conversion_only_last_weights"):  # fmt: skip
        model = factories[name]()
        assert (model.random_state, model.epochs) == (3, 2), name
        assert model.weight_average == (name in averaged), name
    assert not factories["ecup_conversion_only_last_weights"]().chain
    assert factories["ecup_last_weights"]().chain
    chain_fitted = {n for n in factories if models_chain(factories[n]())}
    assert chain_fitted == {"ecup", "ecup_last_weights"}  # labels are read from the estimator
    spec.seeds, spec.card_dir, spec.methods = [1], tmp_path, ["s_learner", "ecup"]
    runs = run_bench(spec, Console(file=None, quiet=True), progress=False)
    card = json.loads(runs[0]["card"].read_text())
    assert card["config"]["random_state"] == 3
    assert runs[0]["card"].name == "uplift-uplift-2000-3arms-conversion-epochs2-rs3-seed1.json"
    # the same world and split from another initialisation gives other fits, not the same
    spec.random_state, spec.write_cards = 0, False
    again = run_bench(spec, Console(file=None, quiet=True), progress=False)
    assert runs[0]["config"]["train_rows"] == again[0]["config"]["train_rows"]
    assert runs[0]["results"][1]["metrics"]["pehe"] != again[0]["results"][1]["metrics"]["pehe"]


def test_cli_rejects_bad_arguments():
    runner = CliRunner()
    result = runner.invoke(app, ["bench", "uplift"])
    assert result.exit_code != 0 and "exactly one" in result.output
    result = runner.invoke(app, ["bench", "uplift", "--data", "hillstrom", "--arms", "mens"])
    assert result.exit_code != 0 and "womens or all" in result.output
    result = runner.invoke(app, ["bench", "uplift", "--data", "criteo_uplift", "--no-cards"])
    assert result.exit_code == 2 and "needs the local path" in result.output


def test_a_file_given_as_data_gets_the_command_that_names_its_data_set(tmp_path):
    runner = CliRunner()
    for name, sample in [("hillstrom", "hillstrom/hillstrom.csv"),
                         ("criteo_uplift", "criteo_uplift/criteo-uplift-v2.1-head1000.csv")]:  # fmt: skip
        file = str(sample_path(sample))
        result = runner.invoke(app, ["bench", "uplift", "--data", file], terminal_width=500)
        assert result.exit_code == 2, result.output
        unboxed = "".join(c for c in result.output if not c.isspace() and c not in "│╭╮╰╯─")
        assert f"namethedataset,thenthefile:--data{name}{file}" in unboxed
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    result = runner.invoke(app, ["bench", "uplift", "--data", str(other)], terminal_width=500)
    unboxed = "".join(c for c in result.output if not c.isspace() and c not in "│╭╮╰╯─")
    assert result.exit_code == 2 and "afilewithneither'scolumns" in unboxed


@pytest.mark.parametrize(("text", "seeds"), [("1..3", [1, 2, 3]), ("4,7", [4, 7])])
def test_seed_ranges(text, seeds):
    from shopml.cli_support import parse_seeds

    assert parse_seeds(text) == seeds


@pytest.mark.parametrize(
    ("extra", "drawn_in"),
    [
        (["--no-cards"], None),
        (["--cards", "scratch"], None),
        (["--no-cards", "--plots", "pngs"], "pngs"),
        ([], "docs/figures/uplift"),  # a kept run draws the docs' figures
    ],
)
def test_figures_follow_the_kept_cards(extra, drawn_in, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    command = ["bench", "uplift", "--preset", "uplift", "--units", "2000", "--seeds", "1",
               "--methods", "ecup", "--epochs", "1", *extra]  # fmt: skip
    monkeypatch.setenv("SHOPML_CARD_DIR", str(tmp_path / "kept"))  # the kept cards, out of the repo
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
    pngs = sorted(p.relative_to(tmp_path).parent.as_posix() for p in tmp_path.rglob("*.png"))
    assert set(pngs) == ({drawn_in} if drawn_in else set())
    # the run says where its card and figures went
    cards = list(tmp_path.rglob("*.json"))
    assert len(cards) == (0 if "--no-cards" in extra else 1)
    for card in cards:
        assert f"wrote {card.relative_to(tmp_path) if 'scratch' in extra else card}" in result.output
    written = f"wrote 9 figure(s) to {drawn_in}"  # 3 arms x 3 charts
    assert (written in result.output) == (drawn_in is not None), result.output


def test_simulated_data_carries_the_true_control_probabilities_in_row_order():
    from shopml.data.simulate import simulate

    data = simulated_data(2_000, 3)
    world = simulate("uplift", 2_000, 3)
    truth = world.truth.to_pandas().set_index("click_id").loc[world.log.column("click_id")]
    assert set(data.true_control) == set(data.stages)
    rows = np.array([5, 0, 17])
    np.testing.assert_array_equal(data.rows(rows).true_control["click"], data.true_control["click"][rows])
    assert hillstrom_data(arms="womens").true_control is None
    for stage in data.stages:
        control = data.true_control[stage]
        # control + the loader's arm-a effect is the arm's true probability, unit by unit
        for arm in (1, 2, 3):
            np.testing.assert_allclose(
                control + data.truth[stage][:, arm - 1],
                truth[f"p_{stage}_arm{arm}"].to_numpy(), atol=1e-12,
            )  # fmt: skip


def _criteo_with_a_blank(tmp_path, row: int, column: str):
    """The Criteo-uplift sample with one cell blanked (``row`` counts the header as 0)."""
    lines = sample_path("criteo_uplift/criteo-uplift-v2.1-head1000.csv").read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[row].split(",")
    cells[header.index(column)] = ""
    lines[row] = ",".join(cells)
    edited = tmp_path / "criteo.csv"
    edited.write_text("\n".join(lines) + "\n")
    return edited


def test_bench_on_a_file_reports_the_rows_the_loader_rejected(tmp_path):
    edited = _criteo_with_a_blank(tmp_path, 5, "treatment")
    cards = tmp_path / "cards"
    result = CliRunner().invoke(
        app,
        ["bench", "uplift", "--data", "criteo_uplift", str(edited), "--seeds", "1",
         "--methods", "s_learner", "--cards", str(cards)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "rejected 1 row(s): missing treatment/conversion/visit/exposure" in result.output
    (card_path,) = cards.glob("*.json")
    dataset = json.loads(card_path.read_text())["dataset"]
    assert dataset["rows"] == 999
    assert dataset["load_report"]["rejected"] == {"missing treatment/conversion/visit/exposure": 1}


def test_criteo_blank_features_are_kept_as_nan_and_noted(tmp_path):
    lines = sample_path("criteo_uplift/criteo-uplift-v2.1-head1000.csv").read_text().splitlines()
    header = lines[0].split(",")
    for row in (3, 8):
        cells = lines[row].split(",")
        cells[header.index("f3")] = ""
        lines[row] = ",".join(cells)
    edited = tmp_path / "criteo.csv"
    edited.write_text("\n".join(lines) + "\n")
    data = criteo_data(edited)
    assert int(data.X["f3"].isna().sum()) == 2
    assert "f3: 2 blank value(s), kept as missing (NaN)" in data.meta["load_report"]["notes"]


def _hillstrom_part(tmp_path, rows: int = 400, blank_zip_row: int | None = 3, edit=None):
    """The sample's first rows without the '7) $1,000 +' history segment (one zip code blank)."""
    lines = sample_path("hillstrom/hillstrom.csv").read_text().splitlines()
    header = lines[0].split(",")
    kept = [line for line in lines[1 : rows + 1] if "7) $1,000 +" not in line]
    cells = [next(csv.reader([line])) for line in kept]
    if blank_zip_row is not None:
        cells[blank_zip_row][header.index("zip_code")] = ""
    if edit is not None:
        edit(header, cells)
    path = tmp_path / "hillstrom-part.csv"
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows([header, *cells])
    return path


def test_every_hillstrom_file_gives_the_same_columns(tmp_path):
    full = hillstrom_data(arms="all")
    part = hillstrom_data(_hillstrom_part(tmp_path), arms="all")
    assert list(part.X.columns) == list(full.X.columns)
    assert part.X["history_segment_7) $1,000 +"].eq(0).all()  # absent category: zeros
    zip_columns = [c for c in part.X.columns if c.startswith("zip_code_")]
    assert part.X.loc[3, zip_columns].eq(0).all()  # blank: zeros in that feature's columns
    assert part.X[zip_columns].sum(axis=1).drop(index=3).eq(1).all()
    assert "zip_code: 1 blank value(s), category '<missing>'" in part.meta["load_report"]["notes"]
    frame, *_ = hillstrom_frame(_hillstrom_part(tmp_path))
    full_frame, *_ = hillstrom_frame()
    assert list(frame.columns) == list(full_frame.columns)


def test_a_blank_category_is_named_missing_outside_hillstrom(tmp_path):
    log = load("hillstrom", _hillstrom_part(tmp_path))
    data = from_eventlog(log, ("visit", "conversion"), "own file")  # no fixed categories
    assert "zip_code_<missing>" in data.X.columns and "zip_code_" not in data.X.columns
    assert data.X["zip_code_<missing>"].sum() == 1


def test_a_hillstrom_category_outside_the_documented_list_is_refused(tmp_path):
    def typo(header, cells):
        cells[5][header.index("channel")] = "Webb"

    path = _hillstrom_part(tmp_path, edit=typo)
    with pytest.raises(UpliftInputError, match=r"'channel', row 5: 'Webb' is not one of"):
        hillstrom_data(path, arms="all")
    with pytest.raises(DatasetError, match="'Webb' is not one of Hillstrom's categories"):
        hillstrom_frame(path)


def _without(monkeypatch, *modules):
    """Make the peer libraries' modules look uninstalled (whatever this machine has)."""
    import shopml.uplift.peers as peers

    monkeypatch.setattr(peers, "importable", lambda module: module not in modules)


def _no_fitting(monkeypatch):
    import shopml.uplift.bench as bench

    def fitted(*args, **kwargs):
        raise AssertionError("a method was fitted before the peers were checked")

    monkeypatch.setattr(bench, "run_method", fitted)


def test_named_peers_that_cannot_be_imported_are_refused_before_any_fit(tmp_path, monkeypatch):
    _without(monkeypatch, "causalml.inference.meta")
    _no_fitting(monkeypatch)
    cards = tmp_path / "cards"
    result = CliRunner().invoke(
        app,
        ["bench", "uplift", "--data", "hillstrom", str(_hillstrom_part(tmp_path)), "--seeds", "1",
         "--methods", "s_learner,sklift_s_learner,causalml_s_learner,causalml_x_learner",
         "--cards", str(cards)],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "cannot import causalml (for causalml_s_learner, causalml_x_learner)" in text
    assert "pip install causalml" in text and "Nothing was run" in text
    assert not cards.exists()


def test_default_peers_that_cannot_be_imported_are_skipped_with_a_warning(tmp_path, monkeypatch):
    import shopml.uplift.bench as bench

    _without(monkeypatch, "causalml.inference.meta", "sklift.models")
    monkeypatch.setattr(bench, "OURS", ["s_learner"])  # keep the run small
    console = Console(record=True, width=200)
    spec = UpliftBenchSpec(
        data="hillstrom", path=_hillstrom_part(tmp_path, rows=1500), seeds=[1],
        card_dir=tmp_path / "cards",
    )  # fmt: skip
    (run,) = run_bench(spec, console, progress=False)
    assert [r["method"] for r in run["results"]] == ["s_learner"]
    text = " ".join(console.export_text().split())
    assert "warning: cannot import causalml (for causalml_s_learner" in text
    assert "scikit-uplift (for sklift_s_learner, sklift_t_learner, sklift_class_transformation)" in text


def test_methods_that_cannot_take_missing_features_are_refused_before_any_fit(tmp_path):
    edited = _criteo_with_a_blank(tmp_path, 4, "f3")
    spec = UpliftBenchSpec(
        data="criteo_uplift", path=edited, seeds=[1], methods=["s_learner", "tarnet"],
        write_cards=False,
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"NaN\) in \['f3'\]; tarnet cannot take them.*\(s_learner\)"):
        run_bench(spec, Console(record=True), progress=False)
    spec.methods = ["s_learner"]
    (run,) = run_bench(spec, Console(record=True), progress=False)
    assert np.isfinite(run["results"][0]["metrics"]["qini"])


def test_methods_help_states_the_real_defaults_and_list_methods_lists_them(tmp_path):
    import typing

    from shopml.uplift.bench import (
        OURS,
        PEER_NAMES,
        PRESET_METHODS,
        known_methods,
        method_factories,
    )
    from shopml.uplift.cli import bench_uplift

    hints = typing.get_type_hints(bench_uplift, include_extras=True)
    text = hints["methods"].__metadata__[0].help
    assert "default all" not in text and "--list-methods" in text
    assert f"({', '.join(OURS)})" in text and f"--preset: {', '.join(PRESET_METHODS)}." in text
    data = simulated_data(500, seed=1)
    assert known_methods() == sorted(method_factories(UpliftBenchSpec(data="preset"), data))
    assert set(OURS + PEER_NAMES + PRESET_METHODS) <= set(known_methods())
    result = CliRunner().invoke(app, ["bench", "uplift", "--list-methods"])
    assert result.exit_code == 0 and result.output.split() == known_methods()


def test_units_apply_to_the_preset_only(tmp_path):
    result = CliRunner().invoke(
        app, ["bench", "uplift", "--data", "hillstrom", "--units", "5000", "--cards", str(tmp_path)]
    )
    assert result.exit_code == 2
    text = " ".join(result.output.replace("│", " ").split())
    assert "--units sets the simulated preset's size; it does not apply to --data" in text
    assert not list(tmp_path.iterdir())


def test_a_users_file_gets_cards_and_figures_of_its_own(tmp_path, monkeypatch):
    import shopml.uplift.bench as bench

    monkeypatch.setattr(bench, "OURS", ["s_learner"])
    part = _hillstrom_part(tmp_path, rows=1500)
    cards, plots = tmp_path / "cards", tmp_path / "plots"
    spec = UpliftBenchSpec(
        data="hillstrom", path=part, seeds=[1], methods=["s_learner"], card_dir=cards,
        plots_dir=plots,
    )  # fmt: skip
    (run,) = run_bench(spec, Console(record=True), progress=False)
    card = json.loads(run["card"].read_text())
    name = card["dataset"]["name"]
    assert name.startswith("hillstrom-hillstrom-part-") and len(name) == len("hillstrom-hillstrom-part-") + 8
    assert run["card"].name == f"uplift-{name}-womens-visit-seed1.json"
    sample = dict(spec.__dict__, path=None)
    (run,) = run_bench(UpliftBenchSpec(**sample), Console(record=True), progress=False)
    assert run["card"].name == "uplift-hillstrom-womens-visit-seed1.json"  # the sample's own


def _hillstrom_with_few_mens_visits(tmp_path, visits: int):
    """Womens and No E-Mail rows of the sample's first 3,000, with 40 Mens rows of which
    ``visits`` visited."""
    frame = pd.read_csv(sample_path("hillstrom/hillstrom.csv")).head(3000)
    mens = frame[frame["segment"] == "Mens E-Mail"]
    kept = [frame[frame["segment"] != "Mens E-Mail"], mens[mens["visit"] == 0].head(40 - visits)]
    path = tmp_path / f"hillstrom-{visits}.csv"
    pd.concat([*kept, mens[mens["visit"] == 1].head(visits)]).to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("visits", "exit_code", "said"),
    [
        (1, 2, "'Mens E-Mail' (treatment 1) has a single row with visit = 1: the split"),
        (6, 0, "'Mens E-Mail' (treatment 1) has 6 row(s) with visit = 1, about 2 in each test"),
        (0, 0, "'Mens E-Mail' (treatment 1) has no row with visit = 1: its uplift cannot be"),
    ],
)
def test_an_arm_with_few_outcomes_is_named(tmp_path, visits, exit_code, said):
    """Before: one visit in an arm stopped the run with scikit-learn's "The least populated
    classes in y have only 1 member ... [3]"; a handful passed without a word."""
    result = CliRunner().invoke(
        app,
        ["bench", "uplift", "--data", "hillstrom", str(_hillstrom_with_few_mens_visits(tmp_path, visits)),
         "--arms", "all", "--seeds", "1", "--methods", "s_learner", "--cards", str(tmp_path / "c")],
    )  # fmt: skip
    assert result.exit_code == exit_code, result.output
    assert said in " ".join(result.output.split())


def test_few_control_outcomes_are_told_as_the_arms_baseline_not_an_uplift_of_control():
    """Control has no uplift of its own: with no (or few) control outcomes the warning says
    that the arms' uplift is measured against them (before: 'control has no row with
    conversion = 1: its uplift cannot be measured', while the arms' Qini were computed)."""
    from shopml.uplift.bench import small_group_warnings
    from shopml.uplift.data import UpliftData

    treatment = np.repeat([0, 1], 500)
    visit = np.zeros(1000)
    visit[500:600] = 1  # 100 treated visits, none in control
    data = UpliftData("t", pd.DataFrame({"x": np.zeros(1000)}), treatment, {"visit": visit},
                      ("visit",), {0: "control", 1: "treated"})  # fmt: skip
    (note,) = small_group_warnings(data, "visit", 0.3)
    assert note.startswith("'control' (treatment 0) has no row with visit = 1")
    assert "its uplift" not in note and "the arms' uplift is measured against" in note
    visit[:3] = 1
    (note,) = small_group_warnings(data, "visit", 0.3)
    assert "its Qini" not in note and "the arms' Qini / AUUC rest on" in note
