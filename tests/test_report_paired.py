"""`shopml compare`: paired differences of two methods over the result cards."""

import numpy as np
import pytest
from typer.testing import CliRunner

from shopml.cli import app
from shopml.report.cards import write_card
from shopml.report.paired import compare_cards


def _card(directory, seed, values, variant="3arms", state=None, clicks=1000):
    config = {"variant": variant} | ({} if state is None else {"random_state": state})
    suffix = "" if state is None else f"-rs{state}"
    return write_card(
        "toy", {"name": "world", "preset": "toy", "clicks": clicks}, seed, config,
        [{"method": name, "metrics": {"pehe": value}} for name, value in values.items()],
        out_dir=directory, name=f"toy-{clicks}-{variant}{suffix}-seed{seed}",
    )  # fmt: skip


def test_pairs_by_seed_and_state_and_pools_initialisations(tmp_path):
    # seeds 1-2 at state 0, seed 1 again at state 1 (an -rs1 variant); a second size apart
    _card(tmp_path, 1, {"a": 0.10, "b": 0.13})
    _card(tmp_path, 2, {"a": 0.20, "b": 0.18})
    _card(tmp_path, 1, {"a": 0.11, "b": 0.15}, variant="3arms-rs1", state=1)
    _card(tmp_path, 1, {"a": 0.5, "b": 0.4}, clicks=9000)
    _card(tmp_path, 3, {"a": 0.5}, clicks=9000)  # no "b": not a pair
    found = {item.dataset: item for item in compare_cards(tmp_path, "toy", "a", "b", "pehe")}
    assert set(found) == {"world (preset toy, 1,000 clicks) [3arms]",
                          "world (preset toy, 9,000 clicks) [3arms]"}  # fmt: skip
    small = found["world (preset toy, 1,000 clicks) [3arms]"]
    assert small.pairs == [(1, 0), (1, 1), (2, 0)]
    np.testing.assert_allclose(small.differences, [-0.03, -0.04, 0.02])
    assert small.lower == 2
    summary = small.summary()
    assert summary["difference"] == pytest.approx(-0.05 / 3)
    assert summary["std"] == pytest.approx(np.std([-0.03, -0.04, 0.02], ddof=1))
    # the standard error counts seeds: seed 1's two initialisations are averaged first
    per_seed = [-0.035, 0.02]
    assert summary["standard_error"] == pytest.approx(np.std(per_seed, ddof=1) / np.sqrt(2))
    big = found["world (preset toy, 9,000 clicks) [3arms]"]
    assert big.pairs == [(1, 0)] and big.lower == 0
    assert np.isnan(big.summary()["standard_error"])


def test_two_cards_for_one_pair_are_an_error(tmp_path):
    _card(tmp_path, 1, {"a": 0.1, "b": 0.2})
    write_card(
        "toy", {"name": "world", "preset": "toy", "clicks": 1000}, 1, {"variant": "3arms"},
        [{"method": "a", "metrics": {"pehe": 0.3}}, {"method": "b", "metrics": {"pehe": 0.2}}],
        out_dir=tmp_path, name="toy-copy-seed1",
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"two cards of .* seed 1, random state 0"):
        compare_cards(tmp_path, "toy", "a", "b", "pehe")


def test_cli_prints_the_paired_table_and_each_pair(tmp_path):
    _card(tmp_path, 1, {"a": 0.10, "b": 0.13})
    _card(tmp_path, 2, {"a": 0.20, "b": 0.18})
    args = ["compare", "a", "b", "--benchmark", "toy", "--cards", str(tmp_path)]
    result = CliRunner().invoke(app, [*args, "--each"])
    assert result.exit_code == 0, result.output
    assert "-0.0050" in result.output and "1/2" in result.output  # mean difference, a lower
    assert "+0.0200" in result.output and "-0.0300" in result.output  # each pair
    result = CliRunner().invoke(app, ["compare", "a", "c", *args[3:]])
    assert result.exit_code == 2
    assert "no toy card has a method named 'c'; methods in them: a, b" in result.output
    result = CliRunner().invoke(app, [*args, "--metric", "qini"])
    assert result.exit_code == 2
    assert "no toy card reports 'qini' for a; its metrics: pehe" in result.output
    result = CliRunner().invoke(app, ["compare", "a", "b", "--benchmark", "nothing",
                                      "--cards", str(tmp_path)])  # fmt: skip
    assert result.exit_code == 2 and "no cards of benchmark 'nothing'" in result.output


def test_methods_never_on_one_card_together_are_named_as_such(tmp_path):
    _card(tmp_path, 1, {"a": 0.10})
    _card(tmp_path, 2, {"b": 0.13})
    with pytest.raises(ValueError, match="no toy card has 'pehe' for both a and b"):
        compare_cards(tmp_path, "toy", "a", "b", "pehe")


def test_a_dataset_filter_that_matches_no_card_says_so(tmp_path):
    _card(tmp_path, 1, {"a": 0.10, "b": 0.13})
    args = ["compare", "a", "b", "--benchmark", "toy", "--cards", str(tmp_path)]
    result = CliRunner().invoke(app, [*args, "--dataset", "hillstrom"])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "no card's dataset matches 'hillstrom'" in text and "for both" in text
    assert "world (preset toy, 1,000 clicks) [3arms]" in text
    result = CliRunner().invoke(app, [*args, "--dataset", "world"])
    assert result.exit_code == 0, result.output


def test_variants_that_look_like_markup_keep_their_data_sets_apart(tmp_path):
    # "[womens]" and "[all]" are valid rich tags: printed as markup, both rows read "world (...)"
    for variant in ("womens", "all"):
        _card(tmp_path, 1, {"a": 0.10, "b": 0.13}, variant=variant)
        _card(tmp_path, 2, {"a": 0.20, "b": 0.18}, variant=variant)
    args = ["compare", "a", "b", "--benchmark", "toy", "--cards", str(tmp_path), "--each"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    for variant in ("womens", "all"):
        assert result.output.count(f"world (preset toy, 1,000 clicks) [{variant}]") == 2
