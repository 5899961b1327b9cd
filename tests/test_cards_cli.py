"""`shopml cards merge` / `shopml cards relabel`: batch updates are all-or-nothing."""

import json

import pytest
from typer.testing import CliRunner

from shopml.cli import app
from shopml.report.cards import merged_card, relabelled_card, write_card

RUNNER = CliRunner()
DATA = {"name": "d", "sha256": "abc"}


def _card(directory, name, metrics, dataset=DATA):
    results = [{"method": m, "metrics": {"pehe": v}} for m, v in metrics.items()]
    return write_card("uplift", dataset, 1, {}, results, out_dir=directory, name=name)


def _methods(path):
    return {r["method"]: r["metrics"]["pehe"] for r in json.loads(path.read_text())["results"]}


def test_merge_takes_the_named_methods_from_same_named_cards(tmp_path):
    kept = _card(tmp_path / "kept", "c1", {"s": 0.5, "e": 0.9})
    _card(tmp_path / "rerun", "c1", {"s": 0.5, "e": 0.7, "z": 0.1})
    result = RUNNER.invoke(app, ["cards", "merge", str(tmp_path / "rerun"), "--methods", "e",
                                 "--reason", "new default", "--cards", str(tmp_path / "kept")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert _methods(kept) == {"s": 0.5, "e": 0.7}
    assert json.loads(kept.read_text())["reruns"][0]["reason"] == "new default"
    assert "s unchanged" in result.output


def test_merge_writes_nothing_when_one_card_does_not_match(tmp_path):
    kept = _card(tmp_path / "kept", "c1", {"s": 0.5, "e": 0.9})
    _card(tmp_path / "kept", "c2", {"s": 0.5, "e": 0.9})
    _card(tmp_path / "rerun", "c1", {"e": 0.7})
    _card(tmp_path / "rerun", "c2", {"e": 0.7}, dataset={"name": "d", "sha256": "other"})
    result = RUNNER.invoke(app, ["cards", "merge", str(tmp_path / "rerun"), "--methods", "e",
                                 "--reason", "r", "--cards", str(tmp_path / "kept")])  # fmt: skip
    assert result.exit_code == 2 and "another dataset" in result.output
    assert _methods(kept) == {"s": 0.5, "e": 0.9}
    (tmp_path / "rerun" / "c2.json").unlink()
    _card(tmp_path / "rerun", "c3", {"e": 0.7})
    result = RUNNER.invoke(app, ["cards", "merge", str(tmp_path / "rerun"), "--methods", "e",
                                 "--reason", "r", "--cards", str(tmp_path / "kept")])  # fmt: skip
    assert result.exit_code == 2 and "c3.json has no card" in result.output
    assert _methods(kept) == {"s": 0.5, "e": 0.9}


def test_relabel_renames_in_matching_cards_only(tmp_path):
    first = _card(tmp_path, "uplift-a", {"s": 0.5, "e": 0.9})
    other = _card(tmp_path, "other-a", {"e": 0.9})
    result = RUNNER.invoke(app, ["cards", "relabel", "--rename", "e=e_old", "--reason", "default",
                                 "--match", "uplift-*", "--cards", str(tmp_path)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert _methods(first) == {"s": 0.5, "e_old": 0.9} and _methods(other) == {"e": 0.9}
    result = RUNNER.invoke(app, ["cards", "relabel", "--rename", "e", "--reason", "r",
                                 "--cards", str(tmp_path)])  # fmt: skip
    assert result.exit_code == 2 and "OLD=NEW" in result.output
    result = RUNNER.invoke(app, ["cards", "relabel", "--rename", "q=r", "--reason", "r",
                                 "--cards", str(tmp_path)])  # fmt: skip
    assert result.exit_code == 2 and "holds" in result.output


def _entries(path):
    return [r["method"] for r in json.loads(path.read_text())["results"]]


def test_merge_refuses_a_method_named_twice(tmp_path):
    kept = _card(tmp_path / "kept", "c1", {"s": 0.5, "t": 0.9})
    _card(tmp_path / "rerun", "c1", {"s": 0.5, "x": 0.7})
    before = kept.read_text()
    result = RUNNER.invoke(app, ["cards", "merge", str(tmp_path / "rerun"), "--methods", "x,x",
                                 "--reason", "r", "--cards", str(tmp_path / "kept")])  # fmt: skip
    assert result.exit_code == 2
    assert "--methods names x more than once; nothing written" in " ".join(result.output.split())
    assert kept.read_text() == before


def test_relabel_refuses_two_names_renamed_to_one(tmp_path):
    card = _card(tmp_path, "uplift-a", {"s": 0.5, "t": 0.9})
    other = _card(tmp_path, "uplift-b", {"s": 0.4})
    before = card.read_text(), other.read_text()
    for rename, said in [
        ("s=foo,t=foo", "--rename maps s, t all to foo"),
        ("s=foo,s=bar", "--rename renames s more than once"),
    ]:
        result = RUNNER.invoke(app, ["cards", "relabel", "--rename", rename, "--reason", "x",
                                     "--cards", str(tmp_path)])  # fmt: skip
        assert result.exit_code == 2, result.output
        text = " ".join(result.output.split())
        assert said in text and "nothing written" in text
        assert (card.read_text(), other.read_text()) == before
    assert _entries(card) == ["s", "t"]


def test_card_functions_refuse_duplicate_entries(tmp_path):
    kept = _card(tmp_path / "kept", "c1", {"s": 0.5})
    rerun = _card(tmp_path / "rerun", "c1", {"x": 0.7})
    with pytest.raises(ValueError, match="more than once"):
        merged_card(kept, rerun, ["x", "x"], "r")
    with pytest.raises(ValueError, match=r"renamed to \['foo'\]"):
        relabelled_card(_card(tmp_path, "c2", {"s": 1.0, "t": 2.0}), {"s": "foo", "t": "foo"}, "r")


def test_merge_and_relabel_name_a_file_that_is_not_a_card_and_write_nothing(tmp_path):
    kept = _card(tmp_path / "kept", "c1", {"s": 0.5, "e": 0.9})
    _card(tmp_path / "rerun", "c1", {"e": 0.7})
    (tmp_path / "kept" / "c2.json").write_text('{"benchmark":')  # cut short
    (tmp_path / "rerun" / "c2.json").write_text(json.dumps({"notes": "not a card"}))
    result = RUNNER.invoke(app, ["cards", "merge", str(tmp_path / "rerun"), "--methods", "e",
                                 "--reason", "r", "--cards", str(tmp_path / "kept")])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "c2.json: not a readable result card" in " ".join(result.output.split())
    result = RUNNER.invoke(app, ["cards", "relabel", "--rename", "e=e2", "--reason", "r",
                                 "--cards", str(tmp_path / "kept")])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "c2.json: not a readable result card" in " ".join(result.output.split())
    assert _methods(kept) == {"s": 0.5, "e": 0.9}
