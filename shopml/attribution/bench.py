"""`shopml bench attribution`: every attribution method's channel credit, against the truth.

On the simulator's ``journeys`` preset (known per-conversion channel credit, see
``shopml/data/simulate/journeys.py``) each method's channel credit shares are compared
with ``spec.meta["true_channel_share"]`` (Σ true per-conversion credit per channel /
conversions): ``attribution_error`` = Σ_c |share_c − true_share_c| (0 = perfect, 2 = worst).
On a real journeys file (no truth) the benchmark reports the credit shares and DNAMTA's
held-out AUC / log loss. Every seed re-simulates the world (preset) and re-splits users for
DNAMTA; one result card per seed; the results page is regenerated from the cards.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from shopml.attribution.base import attribute, attribution_error, methods
from shopml.attribution.journeys import Journeys, journeys_from_log
from shopml.console import make_console
from shopml.data.loaders._common import load_file_once, load_report_entry

DEFAULT_USERS = 100_000
DEFAULT_FIGURE = Path("docs/figures/attribution_credit.png")
SAMPLE = "journeys/attribution_data_subset62k.csv"


@dataclass
class AttributionBenchSpec:
    """What one `shopml bench attribution` invocation runs."""

    preset: str | None = "journeys"
    data: Path | None = None
    users: int = DEFAULT_USERS
    seeds: list[int] = field(default_factory=lambda: [1, 2, 3, 4, 5])
    methods: list[str] | None = None
    lookback_days: float | None = None
    card_dir: Path | None = None
    figure: Path | None = None
    options: dict[str, dict] = field(default_factory=dict)


def slug(name: str) -> str:
    """A channel name as a snake_case metric suffix ("Paid Search" -> "paid_search")."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "channel"


def share_keys(channels: list[str]) -> dict[str, str]:
    """Each channel's metric name ``share_<slug>``, unique: a channel whose slug another channel
    shares (or that has no Latin letter or digit) gets its place in the channel list appended,
    then a further number until the name is free."""
    slugs = [slug(c) for c in channels]
    kept = {s for s in slugs if slugs.count(s) == 1 and s != "channel"}
    taken = {f"share_{s}" for s in kept}
    keys = {}
    for i, (channel, s) in enumerate(zip(channels, slugs, strict=True)):
        if s in kept:
            keys[channel] = f"share_{s}"
            continue
        key, extra = f"share_{s}_{i + 1}", 1
        while key in taken:
            extra += 1
            key = f"share_{s}_{i + 1}_{extra}"
        taken.add(key)
        keys[channel] = key
    return keys


def load_journeys(spec: AttributionBenchSpec, seed: int) -> tuple[Journeys, dict, dict | None]:
    """The benchmark's journeys, the card's dataset description, and the true shares (or None)."""
    from shopml.report.cards import file_dataset, sha256_config, sha256_file

    lookback = spec.lookback_days * 86_400 if spec.lookback_days is not None else None
    if spec.data is not None:
        from shopml.data import EventLog, load

        path = Path(spec.data)
        from shopml.data.validate import require_valid

        if path.is_dir():
            log = EventLog.open(path)
            kind = log.spec.meta.get("preset") or log.spec.meta.get("source") or "journeys_log"
        else:
            log = load("attribution_journeys", path)
            kind = "attribution_journeys"
        require_valid(log, path)  # a file's log too: e.g. a touch dated 1970
        truth = log.spec.meta.get("true_channel_share")
        sample = SAMPLE if kind == "attribution_journeys" else None
        dataset = {
            **file_dataset(str(kind), path, sha256_file(path), sample),
            **load_report_entry(log.spec.meta),
        }
        return journeys_from_log(log, lookback_s=lookback), dataset, truth
    from shopml.data.simulate import simulate

    world = simulate(spec.preset or "journeys", spec.users, seed)
    truth = world.log.spec.meta.get("true_channel_share")
    if truth is None:
        raise ValueError(f"preset {spec.preset!r} has no true channel shares (use journeys)")
    dataset = {
        "name": spec.preset or "journeys",
        "preset": spec.preset or "journeys",
        "clicks": spec.users,
        "sha256": sha256_config(world.config),
    }
    journeys = journeys_from_log(world.log, lookback_s=lookback)
    journeys.meta["truth_p_convert"] = world.truth.column("p_convert").to_numpy()
    return journeys, dataset, truth


def run_seed(
    spec: AttributionBenchSpec,
    seed: int,
    console: Console,
    progress: bool = True,
    loaded: tuple | None = None,
) -> dict:
    """Every method on one seed; returns the card's fields and the shares per method
    (``loaded``: a user's file as ``load_journeys`` returned it, read once for every seed)."""
    t0 = time.perf_counter()
    journeys, dataset, truth = loaded or load_journeys(spec, seed)
    console.print(
        f"seed {seed}: {journeys.n_journeys:,} journeys, {len(journeys.touches):,} touches, "
        f"{journeys.n_conversions:,} converted ({journeys.unattributed_conversions} conversions "
        f"without a touch), built in {time.perf_counter() - t0:.1f} s"
    )
    true_share = None if truth is None else np.array([truth[c] for c in journeys.channels])
    keys = share_keys(journeys.channels)
    results, shares = [], {}
    for name in spec.methods or methods():
        opts = dict(spec.options.get(name, {}))
        if name == "dnamta":
            opts["progress"] = progress
        start = time.perf_counter()
        result = attribute(journeys, name, seed=seed, **opts)
        wall = time.perf_counter() - start
        share = result.shares().to_numpy()
        shares[name] = share
        metrics: dict[str, float] = {}
        if true_share is not None:
            metrics["attribution_error"] = attribution_error(share, true_share)
        for channel, value in zip(journeys.channels, share, strict=True):
            metrics[keys[channel]] = float(value)
        for key in ("auc", "log_loss"):
            if key in result.extras:
                metrics[key] = float(result.extras[key])
        results.append({"method": name, "metrics": metrics, "wall_s": round(wall, 2)})
        err = f"error {metrics['attribution_error']:.4f}" if true_share is not None else ""
        auc = f" auc {metrics['auc']:.4f}" if "auc" in metrics else ""
        console.print(f"  {name:<15} {err}{auc} ({wall:.1f} s)")
    bayes = None
    extra = {
        "channels": journeys.channels,
        "share_metrics": keys,
        "n_journeys": journeys.n_journeys,
        "n_conversions": journeys.n_conversions,
        "unattributed_conversions": journeys.unattributed_conversions,
    }
    if true_share is not None:
        bayes = {"attribution_error": 0.0}
        bayes.update(
            {
                keys[c]: float(v) for c, v in zip(journeys.channels, true_share, strict=True)
            }
        )
    p_true = journeys.meta.get("truth_p_convert")
    if p_true is not None and "dnamta" in shares:
        from shopml.attribution.dnamta import DNAMTAConfig, user_split
        from shopml.metrics import auc as auc_fn
        from shopml.metrics import nll

        frac = float(
            spec.options.get("dnamta", {}).get("test_fraction", DNAMTAConfig.test_fraction)
        )
        _, test = user_split(journeys, frac, seed)
        users = journeys.table["user_id"].to_numpy()[test]
        p = p_true[users - 1]  # simulator user ids are 1..n
        y = journeys.converted[test]
        extra["truth_p_convert_test"] = {"auc": auc_fn(y, p), "log_loss": nll(y, p)}
    config = {
        "methods": spec.methods or methods(),
        "users": spec.users if spec.data is None else None,
        "lookback_days": spec.lookback_days,
        "options": spec.options,
        "truth": "spec.meta.true_channel_share" if true_share is not None else None,
    }
    return {
        "dataset": dataset,
        "config": config,
        "results": results,
        "bayes_limit": bayes,
        "extra": extra,
        "shares": shares,
        "truth": true_share,
        "channels": journeys.channels,
    }


def leaderboard(card: dict, title: str) -> Table:
    """Method × channel share table (truth row where known) with the error and AUC."""
    table = Table(title=title)
    table.add_column("method")
    for c in card["channels"]:
        table.add_column(escape(c), justify="right")
    has_truth = card["truth"] is not None
    if has_truth:
        table.add_column("attribution_error", justify="right")
    table.add_column("AUC / log loss", justify="right")
    for entry in card["results"]:
        m = entry["metrics"]
        keys = card["extra"]["share_metrics"]
        row = [entry["method"], *(f"{m[keys[c]]:.3f}" for c in card["channels"])]
        if has_truth:
            row.append(f"{m['attribution_error']:.3f}")
        row.append(f"{m['auc']:.3f} / {m['log_loss']:.3f}" if "auc" in m else "")
        table.add_row(*row)
    if has_truth:
        table.add_row("[bold]truth[/]", *(f"{v:.3f}" for v in card["truth"]), "0.000", "")
    return table


def credit_figure(
    all_shares: list[dict], truth: list, channels: list[str], path: Path, title: str
) -> Path:
    """Grouped bar chart: each method's mean channel share (± std over seeds) beside the truth."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(all_shares[0])
    bars = {n: np.array([s[n] for s in all_shares]) for n in names}
    if truth and truth[0] is not None:
        bars = {"truth": np.array(truth), **bars}
    x = np.arange(len(channels))
    width = 0.85 / len(bars)
    fig, ax = plt.subplots(figsize=(11, 4.5))
    for i, (name, values) in enumerate(bars.items()):
        std = values.std(axis=0, ddof=1) if len(values) > 1 else None
        ax.bar(
            x + (i - (len(bars) - 1) / 2) * width,
            values.mean(axis=0),
            width,
            yerr=std,
            label=name,
            color="black" if name == "truth" else None,
            capsize=2,
        )
    ax.set_xticks(x, channels)
    ax.set_ylabel("share of credited conversions")
    ax.set_title(title)
    ax.legend(ncol=5, fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def card_name(spec: AttributionBenchSpec, dataset: dict, seed: int) -> str:
    """File name of a seed's card."""
    return f"attribution-{dataset['name']}-{spec.users if spec.data is None else 'file'}-seed{seed}"


def run_bench(
    spec: AttributionBenchSpec, console: Console | None = None, progress: bool = True
) -> list[Path]:
    """Run every seed, print leaderboards, write cards, the figure and the results page (a
    file's cards are checked before any method runs: none may hold another file's card)."""
    from shopml.report.cards import write_card
    from shopml.report.pages import write_pages

    console = console or make_console()
    paths, shares, truths, channels, title = [], [], [], [], ""
    loaded = load_file_once(spec, load_journeys, console, card_name)  # cards checked first
    for seed in spec.seeds:
        card = run_seed(spec, seed, console, progress, loaded)
        name = card["dataset"]["name"]
        title = f"attribution, {name}, seed {seed}"
        console.print(leaderboard(card, title))
        stem = card_name(spec, card["dataset"], seed)
        paths.append(
            write_card(
                "attribution",
                card["dataset"],
                seed,
                card["config"],
                card["results"],
                card["bayes_limit"],
                out_dir=spec.card_dir,
                name=stem,
                extra=card["extra"],
            )
        )
        shares.append(card["shares"])
        truths.append(card["truth"])
        channels = card["channels"]
    figure = spec.figure
    if figure is None and spec.card_dir is None:
        if spec.data is None:
            figure = DEFAULT_FIGURE
        elif name == "attribution_journeys":  # the registered sample file
            figure = DEFAULT_FIGURE.with_name("attribution_credit_file.png")
        else:
            figure = DEFAULT_FIGURE.with_name(f"attribution_credit_{name}.png")
    if figure is not None:
        truth = (
            np.mean([t for t in truths if t is not None], axis=0) if truths[0] is not None else None
        )
        label = "journeys preset" if spec.data is None else Path(spec.data).name
        paths.append(
            credit_figure(
                shares,
                [truth],
                channels,
                figure,
                f"channel credit share by method ({label}, {len(spec.seeds)} seed(s))",
            )
        )
    if spec.card_dir is None:
        write_pages(Path("docs/results/cards"), Path("docs/results"))
    return paths
