"""`shopml cards merge` / `shopml cards relabel`: batch updates are all-or-nothing."""

import json

from typer.testing import CliRunner

from shopml.cli import app
from shopml.report.cards import write_card

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
