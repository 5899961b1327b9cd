"""Figures drawn from result cards by `shopml report`, and the docs kept in step with the cards."""

import filecmp
import shutil
from pathlib import Path

import pytest

from shopml.report.cards import read_cards, write_card
from shopml.report.figures import FIGURES, oracle_gap_by_size, uplift_pehe_against_s_learner
from shopml.report.pages import write_pages
from shopml.report.paired import paired_differences

REPO = Path(__file__).resolve().parents[1]


def _netcvr_card(out, seed, oracle_auc):
    results = [
        {"method": m, "metrics": {"cvr_auc": auc - 0.03, "netcvr_auc": auc}}
        for m, auc in (("pretrained", 0.70), ("oracle", oracle_auc), ("tesla", 0.74))
    ]
    dataset = {"name": "cascade", "preset": "cascade", "clicks": 2_000_000}
    limit = {"cvr_auc": 0.77, "netcvr_auc": 0.80}
    name = f"netcvr-cascade-2000000-seed{seed}"
    return write_card("netcvr", dataset, seed, {}, results, limit, out_dir=out, name=name)


def _uplift_card(out, seed, efin_pehe, state=0):
    results = [
        {"method": "s_learner", "metrics": {"pehe": 0.0130}},
        {"method": "efin", "metrics": {"pehe": efin_pehe}},
    ]
    dataset = {"name": "uplift", "preset": "uplift", "clicks": 30_000}
    variant = "3arms-conversion" + (f"-rs{state}" if state else "")
    config = {"variant": variant, "random_state": state}
    name = f"uplift-uplift-30000-{variant}-seed{seed}"
    return write_card("uplift", dataset, seed, config, results, out_dir=out, name=name)


def _gap_card(out, clicks, oracle_auc, no_drift=False, fm=False, blank=False):
    stem = "cascade-drift_sd0-global_drift_sd0-refund_drift_sd0" if no_drift else "cascade"
    stem += "-fm" if fm else ""
    stem += "-blank_u_1-blank_i_2" if blank else ""
    return write_card(
        "oracle_gap",
        {"name": stem, "preset": "cascade", "clicks": clicks},
        1,
        {},
        [{"method": "oracle", "metrics": {"netcvr_auc": oracle_auc}}],
        {"netcvr_auc": 0.80},
        out_dir=out,
        name=f"oracle_gap-{stem}-{clicks}-seed1",
    )


def test_report_draws_each_figure_once_and_again_only_when_its_cards_change(tmp_path):
    cards, out = tmp_path / "cards", tmp_path / "docs" / "results"
    for seed in (1, 2):
        _netcvr_card(cards, seed, 0.77)
    _uplift_card(cards, 1, 0.0120)
    _gap_card(cards, 2_000_000, 0.77)
    figures = tmp_path / "docs" / "figures" / "results"
    written = write_pages(cards, out)
    drawn = sorted(p.name for p in written if p.suffix == ".png")
    assert drawn == ["netcvr_leaderboard.png", "oracle_gap.png", "uplift_pehe_vs_s_learner.png"]
    # no drift-ablation cards here: that figure is not drawn
    assert all((figures / name).read_bytes().startswith(b"\x89PNG") for name in drawn)
    before = {name: (figures / name).read_bytes() for name in drawn}
    assert not [p for p in write_pages(cards, out) if p.suffix == ".png"]  # same cards, same bytes
    _netcvr_card(cards, 2, 0.79)
    again = [p.name for p in write_pages(cards, out) if p.suffix == ".png"]
    assert again == ["netcvr_leaderboard.png"]
    assert (figures / "netcvr_leaderboard.png").read_bytes() != before["netcvr_leaderboard.png"]


def test_no_figure_without_its_cards(tmp_path):
    _gap_card(tmp_path / "cards", 2_000_000, 0.77)
    written = write_pages(tmp_path / "cards", tmp_path / "docs" / "results")
    assert [p.name for p in written if p.suffix == ".png"] == ["oracle_gap.png"]


def test_oracle_gap_figure_plots_truth_minus_oracle_per_size(tmp_path):
    _gap_card(tmp_path, 2_000_000, 0.77)
    _gap_card(tmp_path, 4_000_000, 0.78)
    _gap_card(tmp_path, 2_000_000, 0.775, no_drift=True)
    _gap_card(tmp_path, 4_000_000, 0.79, fm=True)
    _gap_card(tmp_path, 2_000_000, 0.78, fm=True)
    _gap_card(tmp_path, 2_000_000, 0.785, blank=True)
    axes = oracle_gap_by_size(read_cards(directory=tmp_path)).axes[0]
    by_label = {line.get_label(): line for line in axes.get_lines()}
    preset = by_label["the preset (with drift)"]
    assert list(preset.get_xdata()) == [2_000_000, 4_000_000]
    assert list(preset.get_ydata()) == pytest.approx([0.03, 0.02])
    assert list(by_label["no drift"].get_ydata()) == pytest.approx([0.025])
    deep_fm = by_label["the preset, DeepFM towers (--fm)"]
    assert list(deep_fm.get_xdata()) == [2_000_000, 4_000_000]
    assert list(deep_fm.get_ydata()) == pytest.approx([0.02, 0.01])
    hidden = by_label["the preset, hashed ids hidden (--blank u_1,i_2)"]
    assert list(hidden.get_ydata()) == pytest.approx([0.015])


def test_oracle_gap_values_at_one_size_are_written_apart(tmp_path):
    import itertools

    _gap_card(tmp_path, 2_000_000, 0.7800)
    _gap_card(tmp_path, 2_000_000, 0.7801, fm=True)
    _gap_card(tmp_path, 2_000_000, 0.7802, blank=True)
    figure = oracle_gap_by_size(read_cards(directory=tmp_path))
    axes = figure.axes[0]
    texts = {t.get_text(): t for t in axes.texts}
    assert set(texts) == {"0.0200", "0.0199", "0.0198"}
    heights = sorted(t.get_window_extent(figure.canvas.get_renderer()).y0 for t in texts.values())
    gaps_in_points = [(b - a) * 72 / figure.dpi for a, b in itertools.pairwise(heights)]
    assert min(gaps_in_points) >= 8.9


def test_uplift_figure_pools_initialisations_as_the_paired_comparison_does(tmp_path):
    _uplift_card(tmp_path, 1, 0.0120)
    _uplift_card(tmp_path, 1, 0.0150, state=1)
    loaded = read_cards(directory=tmp_path)
    (paired,) = paired_differences(loaded, "efin", "s_learner", "pehe")
    figure = uplift_pehe_against_s_learner(loaded)
    dots = figure.axes[0].get_lines()[0]
    assert sorted(dots.get_xdata()) == pytest.approx(sorted(paired.differences))
    assert sorted(paired.differences) == pytest.approx([-0.0010, 0.0020])


def test_docs_results_and_figures_match_the_kept_cards(tmp_path):
    """`shopml report` on the kept cards changes nothing: the results pages, the generated
    sections of docs/*.md and the figures are what the committed cards give."""
    docs = tmp_path / "docs"
    shutil.copytree(REPO / "docs", docs)
    write_pages(docs / "results" / "cards", docs / "results")
    kept = [p.relative_to(REPO / "docs") for p in (REPO / "docs").glob("*.md")]
    kept += [p.relative_to(REPO / "docs") for p in (REPO / "docs" / "results").glob("*.md")]
    kept += [Path("figures/results") / f"{spec.name}.png" for spec in FIGURES]
    stale = [str(p) for p in kept if not filecmp.cmp(REPO / "docs" / p, docs / p, shallow=False)]
    assert not stale, f"run `shopml report` and commit: {stale} differ from the cards"


def test_figures_do_not_depend_on_the_callers_matplotlib_settings(tmp_path):
    """A matplotlibrc, a style in use or rcParams set by the caller (a notebook) leave the
    figures' bytes as they are: `shopml report` on the same cards rewrites nothing."""
    import matplotlib

    cards, out = tmp_path / "cards", tmp_path / "docs" / "results"
    _netcvr_card(cards, 1, 0.77)
    _uplift_card(cards, 1, 0.0120)
    _gap_card(cards, 2_000_000, 0.77)
    assert len([p for p in write_pages(cards, out) if p.suffix == ".png"]) == 3
    settings = {"font.size": 15, "lines.linewidth": 4, "savefig.dpi": 50, "axes.grid": True}
    with matplotlib.rc_context(settings):
        assert not [p for p in write_pages(cards, out) if p.suffix == ".png"]


def test_the_leaderboard_of_a_file_without_truth_has_no_bayes_line(tmp_path):
    import json

    from shopml.report.figures import netcvr_leaderboard

    path = _netcvr_card(tmp_path, 1, 0.77)
    card = dict(json.loads(path.read_text()), _path=str(path), bayes_limit=None)
    axes = netcvr_leaderboard([card]).axes[1]
    assert not [line for line in axes.get_lines() if line.get_linestyle() == "--"]


def test_the_drift_figure_pairs_each_method_with_bdl_on_its_world(tmp_path):
    for drift, seed, bdl, tesla in (
        (0.35, 1, 0.70, 0.71),
        (0.35, 2, 0.72, 0.75),
        (0.7, 1, 0.70, 0.74),
    ):
        results = [
            {"method": m, "metrics": {"netcvr_auc": v}} for m, v in (("bdl", bdl), ("tesla", tesla))
        ]
        name = f"netcvr_ablation_drift-cascade_drift_sd_{drift}_-300000-quick-seed{seed}"
        write_card("netcvr_ablation_drift", {"name": "c"}, seed, {}, results,
                   out_dir=tmp_path, name=name)  # fmt: skip
    cards = read_cards(directory=tmp_path)
    from shopml.report.figures import drift_against_bdl

    axes = drift_against_bdl(cards).axes[0]
    (tesla,) = [bars.lines[0] for bars in axes.containers if bars.get_label() == "tesla"]
    assert list(tesla.get_xdata()) == [0.35, 0.7]
    assert list(tesla.get_ydata()) == pytest.approx([0.02, 0.04])  # mean of 0.01 and 0.03; 0.04
