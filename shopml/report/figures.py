"""Figures of the docs drawn from result cards by ``shopml report`` (docs/figures/results/*.png).

Each figure reads the cards of one benchmark run (or a family of runs) and shows what its
docs section argues: the NetCVR leaderboard against the truth's AUC, the Oracle's gap to the
truth as the log grows, online learning against daily retraining as the drift grows, and the
uplift networks' PEHE paired against the S-learner's. A
figure whose cards are missing is not drawn; a figure is rewritten only when its bytes
change, so ``shopml report`` on unchanged cards leaves the tree unchanged.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib.style
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from shopml.report.pages import pinned
from shopml.report.paired import paired_differences

REFERENCE_METHODS = ("pretrained", "oracle", "bdl")
NETCVR_RUN = "netcvr-cascade-2000000"
UPLIFT_SIZES = (30_000, 100_000, 1_000_000)
UPLIFT_METHODS = ("efin", "ecup", "ecup_conversion_only")
GAP_TARGET = 0.01


@dataclass(frozen=True)
class CardFigure:
    """A figure of the docs: its file stem, the benchmark whose cards it reads, how to draw."""

    name: str
    benchmark: str
    draw: Callable[[list[dict]], Figure | None]


def _stem(card: dict) -> str:
    return Path(card["_path"]).stem


def _new_figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(figure)
    return figure


def _method_values(cards: list[dict], metric: str) -> dict[str, list[float]]:
    """Per method (in the cards' order), its ``metric`` on each card that reports it."""
    values: dict[str, list[float]] = {}
    for card in cards:
        for entry in card["results"]:
            value = entry["metrics"].get(metric)
            if value is not None:
                values.setdefault(entry["method"], []).append(float(value))
    return values


def _colour(method: str) -> str:
    if method in REFERENCE_METHODS:
        return "dimgrey"
    if method.startswith("tesla"):
        return "tab:orange"
    if method.startswith("ecad"):
        return "tab:green"
    return "tab:blue"


def netcvr_leaderboard(cards: list[dict]) -> Figure | None:
    """CVR and NetCVR AUC of every method of the 2M-click run, seeds as dots, mean ± std as a
    bar, and the truth's AUC (the Bayes limit) as a dashed line."""
    run = [c for c in cards if pinned(c, NETCVR_RUN)]
    if not run:
        return None
    netcvr = _method_values(run, "netcvr_auc")
    order = sorted(netcvr, key=lambda m: np.mean(netcvr[m]))
    figure = _new_figure(10, 0.32 * len(order) + 1.6)
    panels = figure.subplots(1, 2, sharey=True)
    for axes, metric, label in zip(
        panels, ("cvr_auc", "netcvr_auc"), ("CVR", "NetCVR"), strict=True
    ):
        values = _method_values(run, metric)
        for row, method in enumerate(order):
            points = np.asarray(values.get(method, []))
            if points.size == 0:
                continue
            axes.plot(
                points, np.full(points.size, row), "o", ms=3, color=_colour(method), alpha=0.5
            )
            spread = points.std(ddof=1) if points.size > 1 else 0.0
            axes.errorbar(
                points.mean(), row, xerr=spread, fmt="D", ms=5, capsize=3, color=_colour(method)
            )
        limits = [c.get("bayes_limit") or {} for c in run]  # None for a file's run (no truth)
        truth = [limit[metric] for limit in limits if limit.get(metric) is not None]
        if truth:
            axes.axvline(
                np.mean(truth),
                color="black",
                linestyle="--",
                linewidth=1,
                label=f"truth (Bayes limit) {np.mean(truth):.3f}",
            )
            axes.legend(loc="lower right", fontsize=8)
        axes.set_xlabel(f"{label} AUC (mean ± std over {len(run)} seeds; dots: seeds)")
        axes.grid(axis="x", alpha=0.3)
    panels[0].set_yticks(range(len(order)), order)
    figure.suptitle(
        "shopml bench netcvr --preset cascade (2M clicks): grey references, "
        "blue baselines, green ECAD, orange TESLA",
        fontsize=10,
    )
    figure.tight_layout()
    return figure


_ORACLE_GAP_SERIES = {  # a card name's part between "cascade-" and its size -> the series
    None: "the preset (with drift)",
    "fm": "the preset, DeepFM towers (--fm)",
    "blank_u_1-blank_i_2": "the preset, hashed ids hidden (--blank u_1,i_2)",
    "drift_sd0-global_drift_sd0-refund_drift_sd0": "no drift",
}
_ORACLE_GAP = re.compile(
    r"oracle_gap-cascade-(?:("
    + "|".join(re.escape(variant) for variant in _ORACLE_GAP_SERIES if variant)
    + r")-)?(\d+)-seed\d+"
)


def oracle_gap_by_size(cards: list[dict]) -> Figure | None:
    """The Oracle's NetCVR AUC below the truth's against the log's size (log scale), with
    drift and without, with DeepFM towers and with the hashed ids hidden, beside the
    acceptance target of 0.01."""
    series: dict[str, list[tuple[int, float]]] = {}
    for card in cards:
        match = _ORACLE_GAP.fullmatch(_stem(card))
        oracle = _method_values([card], "netcvr_auc").get("oracle")
        truth = (card.get("bayes_limit") or {}).get("netcvr_auc")
        if match and oracle and truth is not None:
            label = _ORACLE_GAP_SERIES[match.group(1)]
            series.setdefault(label, []).append((int(match.group(2)), truth - oracle[0]))
    if not series:
        return None
    figure = _new_figure(6.5, 4)
    axes = figure.add_subplot()
    order = list(_ORACLE_GAP_SERIES.values())
    labelled = []
    for label, points in sorted(series.items(), key=lambda item: order.index(item[0])):
        clicks, gaps = zip(*sorted(points), strict=True)
        (line,) = axes.plot(clicks, gaps, "o-" if len(points) > 1 else "s", label=label)
        labelled += [(x, y, line.get_color()) for x, y in zip(clicks, gaps, strict=True)]
    axes.axhline(
        GAP_TARGET,
        color="black",
        linestyle="--",
        linewidth=1,
        label=f"acceptance target {GAP_TARGET}",
    )
    axes.set_xscale("log")
    sizes = sorted({x for points in series.values() for x, _ in points})
    axes.set_xticks(sizes, [f"{x / 1e6:g}M" for x in sizes])
    axes.set_xlim(sizes[0] / 1.15, sizes[-1] * 1.4)  # room for the values right of the points
    axes.minorticks_off()
    axes.set_ylim(0, None)
    axes.set_xlabel("clicks in the simulated log (seed 1)")
    axes.set_ylabel("truth's NetCVR AUC − Oracle's")
    axes.set_title("The Oracle's gap to the Bayes limit (benchmarks/oracle_gap.py)", fontsize=10)
    axes.legend(fontsize=8)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    _annotate_apart(axes, labelled)
    return figure


def _annotate_apart(axes, points: list[tuple[float, float, str]], spacing: float = 9.0) -> None:
    """Write each point's value beside it in its colour, the labels of points at the same x
    pushed down so that they stay `spacing` typographic points apart."""
    to_points = 72.0 / axes.figure.dpi
    for x in sorted({x for x, _, _ in points}):
        column = sorted((p for p in points if p[0] == x), key=lambda p: -p[1])
        last = None
        for _, y, colour in column:
            at = axes.transData.transform((x, y))[1] * to_points
            wanted = at + 4 if last is None else min(at + 4, last - spacing)
            axes.annotate(
                f"{y:.4f}",
                (x, y),
                textcoords="offset points",
                xytext=(5, wanted - at),
                fontsize=8,
                color=colour,
                va="bottom",
                bbox={"boxstyle": "square,pad=0.05", "fc": "white", "ec": "none", "alpha": 0.8},
            )
            last = wanted


def uplift_pehe_against_s_learner(cards: list[dict]) -> Figure | None:
    """PEHE of each network minus the S-learner's on the same world and initialisation, on
    the preset at the models' own epochs, one panel per size."""
    panels = []
    for units in UPLIFT_SIZES:
        prefix = f"uplift-uplift-{units}-3arms-conversion"
        run = [c for c in cards if re.fullmatch(re.escape(prefix) + r"(-rs\d+)?-seed\d+", _stem(c))]
        found = {}
        for method in UPLIFT_METHODS:
            for paired in paired_differences(run, method, "s_learner", "pehe"):
                found[method] = paired
        if found:
            panels.append((units, found))
    if not panels:
        return None
    rows = [m for m in UPLIFT_METHODS if any(m in found for _, found in panels)]
    figure = _new_figure(4 * len(panels) + 1.5, 0.45 * len(rows) + 1.8)
    shown = figure.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    jitter = np.random.default_rng(0)
    for axes, (units, found) in zip(shown, panels, strict=True):
        for row, method in enumerate(rows):
            if method not in found:
                continue
            diff = found[method].differences
            colour = "tab:green" if diff.mean() < 0 else "tab:red"
            axes.plot(
                diff,
                row + jitter.uniform(-0.15, 0.15, diff.size),
                "o",
                ms=3,
                color=colour,
                alpha=0.45,
            )
            spread = diff.std(ddof=1) if diff.size > 1 else 0.0
            axes.errorbar(diff.mean(), row, xerr=spread, fmt="D", ms=5, capsize=3, color=colour)
            axes.annotate(
                f"lower on {found[method].lower}/{diff.size}",
                (diff.mean(), row),
                textcoords="offset points",
                xytext=(0, 7),
                ha="center",
                fontsize=7,
            )
        axes.axvline(0, color="black", linewidth=1)
        axes.set_title(f"{units:,} units", fontsize=10)
        axes.set_xlabel("PEHE − S-learner's PEHE")
        axes.xaxis.set_major_locator(MaxNLocator(5))
        axes.grid(axis="x", alpha=0.3)
    shown[0].set_yticks(range(len(rows)), rows)
    shown[0].set_ylim(len(rows) - 0.5, -0.5)
    figure.suptitle(
        "Uplift preset, conversion stage: left of 0 beats the S-learner "
        "(dots: world × initialisation; diamond: mean ± std)",
        fontsize=10,
    )
    figure.tight_layout()
    return figure


DRIFT_COLOURS = {
    "pretrained": "dimgrey",
    "oracle": "tab:purple",
    "fnw": "tab:blue",
    "esdfm": "tab:green",
    "tesla": "tab:orange",
}
_DRIFT_RUN = re.compile(r"netcvr_ablation_drift-cascade_drift_sd_([0-9.]+)_-\d+-quick-seed(\d+)")


def drift_against_bdl(cards: list[dict]) -> Figure | None:
    """NetCVR AUC of each method minus BDL's on the same world (paired per seed), against the
    strength of the day-to-day drift: where online learning starts to pay off."""
    by_method: dict[str, dict[float, list[float]]] = {}
    for card in cards:
        match = _DRIFT_RUN.fullmatch(_stem(card))
        values = {m: v[0] for m, v in _method_values([card], "netcvr_auc").items()}
        if not match or "bdl" not in values:
            continue
        drift = float(match.group(1))
        for method, value in values.items():
            if method != "bdl":
                by_method.setdefault(method, {}).setdefault(drift, []).append(value - values["bdl"])
    if not by_method:
        return None
    figure = _new_figure(7, 4.2)
    axes = figure.add_subplot()
    for method, points in by_method.items():
        drifts = sorted(points)
        means = [np.mean(points[d]) for d in drifts]
        spreads = [np.std(points[d], ddof=1) if len(points[d]) > 1 else 0.0 for d in drifts]
        style = "--" if method in REFERENCE_METHODS else "-"
        axes.errorbar(drifts, means, yerr=spreads, fmt="o" + style, capsize=3, label=method,
                      color=DRIFT_COLOURS.get(method))  # fmt: skip
    axes.axhline(0, color="black", linewidth=1, label="bdl (daily batch retraining)")
    axes.axvline(0.35, color="grey", linestyle=":", linewidth=1, label="calibrated drift (0.35)")
    axes.set_xlabel("drift_sd: strength of the day-to-day drift of category appeal")
    axes.set_ylabel("NetCVR AUC − BDL's (same world)")
    axes.set_title("Online learning against daily retraining as the world drifts\n"
                   "(300k clicks, quick protocol; mean ± std over seeds)", fontsize=9)  # fmt: skip
    axes.legend(fontsize=7, ncol=2)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    return figure


FIGURES = (
    CardFigure("netcvr_leaderboard", "netcvr", netcvr_leaderboard),
    CardFigure("oracle_gap", "oracle_gap", oracle_gap_by_size),
    CardFigure("netcvr_drift_against_bdl", "netcvr_ablation_drift", drift_against_bdl),
    CardFigure("uplift_pehe_vs_s_learner", "uplift", uplift_pehe_against_s_learner),
)


def png_bytes(figure: Figure) -> bytes:
    """The figure as PNG bytes without a timestamp or version stamp (same cards, same bytes)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def write_figures(by_benchmark: dict[str, list[dict]], out_dir: str | Path) -> list[Path]:
    """Draw every figure whose cards exist into ``out_dir``; return the files whose bytes
    changed (the others are left untouched)."""
    out = Path(out_dir)
    written = []
    for spec in FIGURES:
        # matplotlib's own defaults, not the caller's (a matplotlibrc, a style, a notebook's
        # rcParams): the same cards give the same bytes anywhere
        with matplotlib.style.context("default"):
            figure = spec.draw(by_benchmark.get(spec.benchmark, []))
            data = None if figure is None else png_bytes(figure)
        if data is None:
            continue
        path = out / f"{spec.name}.png"
        if path.exists() and path.read_bytes() == data:
            continue
        out.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(path)
    return written
