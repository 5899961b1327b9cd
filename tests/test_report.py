"""Result cards and the pages generated from them."""

import json

import pytest

from shopml.report.cards import read_cards, write_card
from shopml.report.pages import dataset_key, write_pages


def _card(tmp_path, seed, auc):
    return write_card(
        "toy",
        {"name": "toyset", "preset": "cascade", "clicks": 1000, "sha256": "abc"},
        seed,
        {"lr": 0.1},
        [{"method": "a", "metrics": {"netcvr_auc": auc}, "wall_s": 1.0}],
        bayes_limit={"netcvr_auc": 0.9},
        out_dir=tmp_path / "cards",
    )


def test_card_fields(tmp_path):
    card = json.loads(_card(tmp_path, 1, 0.7).read_text())
    for key in (
        "benchmark",
        "dataset",
        "seed",
        "config",
        "env",
        "results",
        "bayes_limit",
        "created",
    ):
        assert key in card
    assert card["env"]["packages"]["numpy"]


def test_metric_names_must_be_snake_case(tmp_path):
    with pytest.raises(ValueError, match="snake_case"):
        write_card(
            "toy",
            {"name": "x"},
            1,
            {},
            [{"method": "a", "metrics": {"NetCVR-AUC": 1.0}}],
            out_dir=tmp_path,
        )


def test_page_mean_and_std_over_seeds(tmp_path):
    _card(tmp_path, 1, 0.70)
    _card(tmp_path, 2, 0.80)
    assert len(read_cards("toy", tmp_path / "cards")) == 2
    doc = tmp_path / "out" / "../notes.md"
    (tmp_path / "out").mkdir()
    doc.write_text("before\n<!-- results:toy:begin -->\nold\n<!-- results:toy:end -->\nafter\n")
    paths = write_pages(tmp_path / "cards", tmp_path / "out")
    page = (tmp_path / "out" / "toy.md").read_text()
    assert "0.7500 ± 0.0707" in page  # mean and sample std of 0.70, 0.80
    assert "bayes limit" in page
    assert doc.resolve() in [p.resolve() for p in paths]
    text = doc.read_text()
    assert "old" not in text and "netcvr_auc" in text and text.endswith("after\n")


def test_marked_section_with_a_metric_subset(tmp_path):
    _card(tmp_path, 1, 0.70)
    (tmp_path / "out").mkdir()
    doc = tmp_path / "doc.md"
    doc.write_text("<!-- results:toy:netcvr_auc:begin -->\n<!-- results:toy:netcvr_auc:end -->\n")
    write_pages(tmp_path / "cards", tmp_path / "out")
    text = doc.read_text()
    assert "| method | netcvr_auc | wall s | seeds |" in text and "0.7000" in text


def test_merge_rerun_replaces_only_the_named_methods(tmp_path):
    import json

    from shopml.report.cards import merge_rerun, write_card

    ds = {"name": "d", "sha256": "abc"}
    old = write_card(
        "b", ds, 1, {}, [{"method": "a", "metrics": {"m": 0.5}}, {"method": "x", "metrics": {"m": 0.1}}],
        out_dir=tmp_path, name="old",
    )  # fmt: skip
    new = write_card(
        "b", ds, 1, {"v": 2}, [{"method": "a", "metrics": {"m": 0.52}}, {"method": "x", "metrics": {"m": 0.3}}],
        out_dir=tmp_path / "r", name="new",
    )  # fmt: skip
    card = merge_rerun(old, new, ["x"], "x changed")
    assert [(r["method"], r["metrics"]["m"]) for r in card["results"]] == [("a", 0.5), ("x", 0.3)]
    (rerun,) = card["reruns"]
    assert rerun["methods"] == ["x"] and rerun["reason"] == "x changed"
    assert abs(rerun["unchanged_methods_delta"]["a"]["m"] - 0.02) < 1e-12
    assert json.loads(old.read_text())["results"][1]["metrics"]["m"] == 0.3
    other = write_card("b", {"name": "d", "sha256": "zzz"}, 1, {}, [], out_dir=tmp_path, name="o")
    with pytest.raises(ValueError, match="another dataset"):
        merge_rerun(old, other, ["x"], "r")
    kept = write_card("b", ds, 1, {"split": 0.3, "methods": ["a", "x"]}, [], out_dir=tmp_path, name="k")
    same = write_card("b", ds, 1, {"split": 0.3, "methods": ["x"], "new_key": 1},
                      [{"method": "x", "metrics": {"m": 0.3}}], out_dir=tmp_path, name="s")  # fmt: skip
    assert [r["method"] for r in merge_rerun(kept, same, ["x"], "r")["results"]] == ["x"]
    split = write_card("b", ds, 1, {"split": 0.2}, [{"method": "x", "metrics": {"m": 0.3}}],
                       out_dir=tmp_path, name="p")  # fmt: skip
    with pytest.raises(ValueError, match=r"another config .*\['split'\]"):
        merge_rerun(kept, split, ["x"], "r")


def test_relabel_methods_records_the_renaming(tmp_path):
    from shopml.report.cards import relabel_methods, write_card

    path = write_card(
        "b", {"name": "d"}, 1, {}, [{"method": "a", "metrics": {"m": 1.0}},
                                     {"method": "b", "metrics": {"m": 2.0}}], out_dir=tmp_path,
    )  # fmt: skip
    card = relabel_methods(path, {"a": "a_old"}, "default changed")
    assert [r["method"] for r in card["results"]] == ["a_old", "b"]
    assert card["relabels"][0]["names"] == {"a": "a_old"}
    with pytest.raises(ValueError, match="already has"):
        relabel_methods(path, {"a_old": "b"}, "clash")
    with pytest.raises(ValueError, match="no results"):
        relabel_methods(path, {"zzz": "y"}, "missing")


def test_marked_section_with_all_datasets(tmp_path):
    from shopml.report.pages import fill_marked_sections

    cards = []
    for name in ("w1", "w2"):
        path = write_card(
            "b", {"name": name}, 1, {}, [{"method": "m", "metrics": {"x": 0.5}}], out_dir=tmp_path
        )
        cards.append({**json.loads(path.read_text()), "_path": str(path)})
    doc = tmp_path / "doc.md"
    doc.write_text("<!-- results:b@all:x:begin -->\n<!-- results:b@all:x:end -->\n")
    assert fill_marked_sections(doc, {"b": cards})
    text = doc.read_text()
    assert "**w1**" in text and "**w2**" in text and text.count("| m |") == 2


def test_marked_section_pinned_to_one_run(tmp_path):
    from shopml.report.pages import fill_marked_sections

    cards = []
    for stem, value in (("b-w-3arms-seed1", 0.1), ("b-w-3arms-seed2", 0.3), ("b-w-3arms-rs1-seed1", 0.9)):
        path = write_card(
            "b", {"name": "w"}, 1, {}, [{"method": "m", "metrics": {"x": value}}],
            out_dir=tmp_path, name=stem,
        )  # fmt: skip
        cards.append({**json.loads(path.read_text()), "_path": str(path)})
    doc = tmp_path / "doc.md"
    doc.write_text("<!-- results:b~b-w-3arms:x:begin -->\n<!-- results:b~b-w-3arms:x:end -->\n")
    assert fill_marked_sections(doc, {"b": cards})
    text = doc.read_text()
    # the latest card (-rs1) is not the pinned run: only seeds 1 and 2 of b-w-3arms count
    assert "b-w-3arms-seed1.json, b-w-3arms-seed2.json -->" in text and "rs1" not in text
    assert "0.2000 ± 0.1414" in text
    # a stem no card has leaves the block as it was
    doc.write_text("<!-- results:b~nothing:x:begin -->\nold\n<!-- results:b~nothing:x:end -->\n")
    assert not fill_marked_sections(doc, {"b": cards})


def test_a_card_of_one_file_never_replaces_the_card_of_another(tmp_path):
    from shopml.report.cards import file_dataset_name, sha256_file

    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text("x\n1\n")
    second.write_text("x\n2\n")
    results = [{"method": "m", "metrics": {"auc": 0.5}}]

    def card(path):
        sha = sha256_file(path)
        return {"name": "same", "path": str(path), "sha256": sha}

    out = tmp_path / "cards"
    write_card("bench", card(first), 1, {}, results, out_dir=out)
    write_card("bench", card(first), 1, {}, results, out_dir=out)  # a rerun replaces its own
    with pytest.raises(ValueError, match=r"holds the card of another data file .*a\.csv"):
        write_card("bench", card(second), 1, {}, results, out_dir=out)
    sha = sha256_file(second)
    assert file_dataset_name("kind", second, sha) == f"kind-b-{sha[:8]}"
    sample = "journeys/attribution_data_subset62k.csv"
    from shopml.data.samples import sample_path

    real = sample_path(sample)
    assert file_dataset_name("kind", real, sha256_file(real), sample) == "kind"
    assert file_dataset_name("kind", second, sha, sample) == f"kind-b-{sha[:8]}"


def _registered_sample(tmp_path, monkeypatch, text: str):
    """A shared data directory whose journeys sample holds ``text`` (as fetched at one time)."""
    monkeypatch.setenv("SHOPML_DATA_DIR", str(tmp_path / "shared"))
    path = tmp_path / "shared" / "journeys" / "attribution_data_subset62k.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_the_registered_sample_replaces_its_card_after_its_bytes_changed(tmp_path, monkeypatch):
    from rich.console import Console

    from shopml.report.cards import check_card_paths, file_dataset, sha256_file

    sample = "journeys/attribution_data_subset62k.csv"
    path = _registered_sample(tmp_path, monkeypatch, "x\n1\n")
    old = file_dataset("kind", path, sha256_file(path), sample)
    assert old["name"] == "kind" and old["sample"] == sample
    results = [{"method": "m", "metrics": {"auc": 0.5}}]
    out = tmp_path / "cards"
    kept = {k: v for k, v in old.items() if k != "sample"}  # as cards written before 'sample'
    write_card("bench", kept, 1, {}, results, out_dir=out, name="bench-kind-seed1")
    kept_copy = tmp_path / "old-copy.csv"
    kept_copy.write_text("x\n1\n")
    path.write_text("x\n1\n2\n")  # the sample updated and fetched again
    new = file_dataset("kind", path, sha256_file(path), sample)
    assert new["name"] == "kind" and new["sha256"] != old["sha256"]
    console = Console(record=True, width=400)
    check_card_paths(new, ["bench-kind-seed1", "bench-kind-seed2"], out, console)
    note = console.export_text()
    assert f"the registered sample {sample} has changed" in note
    assert old["sha256"][:12] in note and new["sha256"][:12] in note
    assert "bench-kind-seed1.json" in note and "seed2" not in note
    card_path = write_card("bench", new, 1, {}, results, out_dir=out, name="bench-kind-seed1")
    card = json.loads(card_path.read_text())
    assert card["dataset"]["sha256"] == new["sha256"]
    (change,) = card["sample_changes"]
    assert change["sample"] == sample
    assert (change["old_sha256"], change["new_sha256"]) == (old["sha256"], new["sha256"])
    assert change["old_path"] == str(path)
    # the sample's old bytes in a user's copy are a file of their own: another card name
    copy = file_dataset("kind", kept_copy, sha256_file(kept_copy), sample)
    assert copy["name"] != "kind" and "sample" not in copy
    # and a user's file never replaces the sample's card, whatever its name
    other = {"name": "kind", "path": str(kept_copy), "sha256": copy["sha256"]}
    with pytest.raises(ValueError, match="holds the card of another data file"):
        check_card_paths(other, ["bench-kind-seed1"], out)
    write_card("bench", new, 1, {}, results, out_dir=out, name="bench-kind-seed1")  # same bytes
    assert len(json.loads(card_path.read_text())["sample_changes"]) == 1  # history kept
    path.write_text("x\n3\n")  # changed once more: the card keeps the history
    newer = file_dataset("kind", path, sha256_file(path), sample)
    card_path = write_card("bench", newer, 1, {}, results, out_dir=out, name="bench-kind-seed1")
    changes = json.loads(card_path.read_text())["sample_changes"]
    assert [c["new_sha256"] for c in changes] == [new["sha256"], newer["sha256"]]


def test_tables_warn_when_a_files_cards_hold_two_versions_of_it(tmp_path):
    from shopml.report.pages import benchmark_page, fill_marked_sections

    cards = []
    for seed, sha in ((1, "a" * 64), (2, "a" * 64), (3, "b" * 64)):
        dataset = {"name": "hillstrom", "path": "/data/h.csv", "sha256": sha}
        path = write_card(
            "b", dataset, seed, {}, [{"method": "m", "metrics": {"x": 0.5}}], out_dir=tmp_path
        )
        cards.append({**json.loads(path.read_text()), "_path": str(path)})
    warning = "run on 2 versions of the data file** (sha256 aaaaaaaa (2 card(s)), bbbbbbbb (1 card(s)))"
    assert warning in benchmark_page("b", cards)
    doc = tmp_path / "doc.md"
    doc.write_text("<!-- results:b:x:begin -->\n<!-- results:b:x:end -->\n")
    assert fill_marked_sections(doc, {"b": cards})
    assert warning in doc.read_text()
    # one version, or simulated worlds (no path: each seed its own data), warn about nothing
    assert "Warning" not in benchmark_page("b", cards[:2])
    simulated = [{**c, "dataset": {"name": "w", "sha256": c["dataset"]["sha256"]}} for c in cards]
    assert "Warning" not in benchmark_page("b", simulated)


@pytest.mark.parametrize(
    ("preset", "noun"), [("cascade", "clicks"), ("uplift", "units"), ("journeys", "users")]
)
def test_a_preset_size_is_named_by_what_it_counts(preset, noun):
    card = {"dataset": {"name": preset, "preset": preset, "clicks": 30_000}, "config": {}}
    assert dataset_key(card) == f"{preset} (preset {preset}, 30,000 {noun})"
