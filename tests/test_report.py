"""Result cards and the pages generated from them."""

import json

import pytest

from shopml.report.cards import read_cards, write_card
from shopml.report.pages import write_pages


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
