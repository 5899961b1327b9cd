"""`shopml bench netcvr`: TESLA's Table 2 on a simulated or real CASCADE log.

For each seed: build the log (simulate the ``cascade`` preset with that seed,
or read a CASCADE-format file / an event-log directory), pre-build the
stream tensors once, run every method through the stream protocol, add RI-AUC
and RI-PRAUC (relative to Pretrained and Oracle), print a leaderboard, write a
result card, and on simulated data add the Bayes limit: the same metrics for
the simulator's true probabilities on the same evaluation clicks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from shopml.console import make_console, print_notes
from shopml.conversion.base import ModelConfig, get_method, methods
from shopml.conversion.stream import StreamConfig
from shopml.conversion.timeline import Windows
from shopml.conversion.trainer import (
    RunConfig,
    StreamData,
    add_relative_improvement,
    check_labels,
    run_stream,
    stream_metrics,
)
from shopml.data.eventlog import EventLog
from shopml.data.loaders._common import load_file_once, load_report_entry

# Table 2 order of the TESLA paper; methods not registered are skipped.
METHOD_ORDER = [
    "pretrained",
    "oracle",
    "bdl",
    "fnc",
    "fnw",
    "defer",
    "defuse",
    "esdfm",
    "ddfm",
    "ecad",
    "ecad_stream",
    "tesla_separate",
    "tesla_shared",
    "tesla_hybrid",
    "tesla",
]
#: the simulator presets whose truth holds the pay and refund probabilities the bench scores
PRESETS = ("cascade",)
FULL_CLICKS = 2_000_000
QUICK_CLICKS = 300_000


@dataclass
class BenchSpec:
    """What one `shopml bench netcvr` invocation runs."""

    preset: str | None = "cascade"
    data: Path | None = None
    clicks: int = FULL_CLICKS
    seeds: list[int] = field(default_factory=lambda: [1])
    methods: list[str] | None = None
    quick: bool = False
    card_dir: Path | None = None
    checkpoint_dir: Path | None = None
    options: dict[str, dict] = field(default_factory=dict)
    #: overrides of the preset's constants (sensitivity studies, e.g. {"drift_sd": 0.7})
    preset_params: dict = field(default_factory=dict)
    #: extra named runs: label -> (registered method, its options), e.g. ablations
    variants: dict[str, tuple[str, dict]] = field(default_factory=dict)
    benchmark: str = "netcvr"
    #: a --data CASCADE file read as this random share of its clicks (sample seed 0)
    sample: float | None = None

    def entries(self) -> list[tuple[str, str, dict]]:
        """(label, method, options) of every run: the chosen methods, then the variants."""
        names = self.methods if self.methods is not None else default_methods()
        runs = [(name, name, self.options.get(name, {})) for name in names]
        return runs + [(label, m, dict(opts)) for label, (m, opts) in self.variants.items()]


def default_methods() -> list[str]:
    """Registered methods in Table 2 order."""
    registry = methods()
    ordered = [m for m in METHOD_ORDER if m in registry]
    return ordered + sorted(set(registry) - set(ordered))


def check_options(spec: BenchSpec) -> None:
    """Build every run's method with its options (no data needed) so that an unknown option or
    a bad value is a clear ValueError before any world is simulated."""
    from shopml.cli_support import refuse_unrun_options

    refuse_unrun_options(spec.options, [label for label, _, _ in spec.entries()])
    model = run_config(spec, spec.seeds[0]).model
    for label, method_name, options in spec.entries():
        if not options:
            continue
        try:
            get_method(method_name, model, **options)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{label}: options {options} rejected: {exc}") from exc


def run_config(spec: BenchSpec, seed: int) -> RunConfig:
    """The run configuration of a benchmark seed (quick mode uses a shorter stream)."""
    if spec.quick:
        return RunConfig(
            seed=seed,
            stream=StreamConfig(pretrain_days=8, stream_days=4),
            model=ModelConfig(),
        )
    return RunConfig(seed=seed, stream=StreamConfig(pretrain_days=8))


def load_log(spec: BenchSpec, seed: int) -> tuple[EventLog, dict, np.ndarray | None]:
    """The benchmark's log, its card description and (simulated data) the truth arrays."""
    from shopml.report.cards import (
        event_log_kind,
        file_dataset,
        sha256_config,
        sha256_file,
        subsampled,
    )

    if spec.data is not None:
        path = Path(spec.data)
        if path.is_dir() and (path / "clicks.parquet").exists():
            log = EventLog.open(path)
        else:
            from shopml.data import load

            log = load("cascade", path, sample=spec.sample)
        from shopml.data.validate import require_valid

        require_valid(log, path)  # a file's log too: e.g. a pay time in the year 3000
        kind = event_log_kind(log.spec.meta) if path.is_dir() else "cascade_file"
        dataset = file_dataset(kind, path, sha256_file(path))
        dataset = subsampled(dataset, spec.sample, log.n_clicks)
        return log, {**dataset, **load_report_entry(log.spec.meta)}, None
    from shopml.data.simulate import simulate

    world = simulate(spec.preset or "cascade", spec.clicks, seed, spec.preset_params or None)
    truth = world.truth
    order_ids = world.log.column("click_id")
    tid = truth.column("click_id").to_numpy()
    pos = np.searchsorted(tid, order_ids) if np.all(np.diff(tid) >= 0) else None
    if pos is None or not np.array_equal(tid[pos], order_ids):
        raise ValueError("truth table does not align with the clicks")
    true_probs = np.stack(
        [truth.column("p_pay").to_numpy()[pos], truth.column("p_net").to_numpy()[pos]], axis=1
    )
    name = spec.preset or "cascade"
    if spec.preset_params:
        name += "[" + ",".join(f"{k}={v}" for k, v in sorted(spec.preset_params.items())) + "]"
    ds = {
        "name": name,
        "preset": spec.preset or "cascade",
        "clicks": spec.clicks,
        "params": spec.preset_params or None,
        "sha256": sha256_config(
            world.config or {"preset": spec.preset, "clicks": spec.clicks, "seed": seed}
        ),
    }
    return world.log, ds, true_probs


def window_notes(meta: dict, used: dict[str, int], whose: str) -> list[str]:
    """A remark for each window the log declares (meta key -> seconds) that differs from the
    one the protocol uses (``whose`` protocol: "TESLA's", "READER's")."""
    return [
        f"the log declares {key} = {int(meta[key]):,} s; the protocol's window is {value:,} s "
        f"({whose}), and labels follow it"
        for key, value in used.items()
        if key in meta and int(meta[key]) != int(value)
    ]


def protocol_windows(windows: Windows) -> dict[str, int]:
    """The NetCVR protocol's attribution windows under the log meta keys that declare them."""
    return {
        "conversion_window_s": windows.conversion_attribution_s,
        "refund_window_s": windows.refund_attribution_s,
    }


def label_horizon_note(log: EventLog, horizon_s: int) -> str | None:
    """A warning when the log seems to end at its last click (its last event within a day of
    it), so that the last clicks' labels, complete only ``horizon_s`` after the click, may
    be cut off by the export."""
    if log.events.num_rows == 0 or log.n_clicks == 0:
        return None
    last_click = int(log.column("ts").max())
    after = int(log.events.column("ts").to_numpy().max()) - last_click
    if after >= 86_400:
        return None
    return (
        f"the log's last event is {max(after, 0) / 3600:.1f} h after its last click, but a click's "
        f"labels take up to {horizon_s / 86_400:g} days to complete: if the export ends there, "
        "the last days' clicks are scored against labels cut off by it"
    )


def unused_feature_notes(log: EventLog) -> list[str]:
    """A remark naming the log's features the stream networks do not read (they embed the
    categorical fields only)."""
    unused = [f.name for f in log.spec.features if f.kind != "categorical"]
    if not unused:
        return []
    shown = ", ".join(unused[:8]) + (" ..." if len(unused) > 8 else "")
    return [f"{len(unused)} non-categorical feature(s) not used by the stream methods: {shown}"]


def run_seed(
    spec: BenchSpec, seed: int, console: Console, progress: bool = True, loaded: tuple | None = None
) -> dict:
    """Run every method on one seed; returns the card's fields (``loaded``: a user's file as
    ``load_log`` returned it, read once for every seed)."""
    config = run_config(spec, seed)
    t0 = time.perf_counter()
    log, dataset, true_probs = loaded or load_log(spec, seed)
    # checked already: a file's log by load_log, a simulated world is valid by construction
    data = StreamData.from_log(log, config.windows, config.stream, check=False)
    build_s = time.perf_counter() - t0
    check_labels(data)
    notes = window_notes(log.spec.meta, protocol_windows(config.windows), "TESLA's")
    notes += [n for n in [label_horizon_note(log, config.windows.leakage_gap_s)] if n]
    notes += unused_feature_notes(log)
    print_notes(console, notes)
    console.print(
        f"seed {seed}: {log.n_clicks:,} clicks, {data.split.n_slices} slices of {data.split.slice_s} s, "
        f"built in {build_s:.1f} s"
    )
    pretrained: dict[tuple, dict] = {}
    results = []
    tl = data.timeline
    for name, method_name, options in spec.entries():
        method = get_method(method_name, config.model, **options)
        res = run_stream(
            method,
            data,
            config,
            checkpoint=spec.checkpoint_dir,
            progress=progress,
            pretrained_cache=pretrained,
            data_id=dataset.get("sha256", ""),
        )
        results.append(res.card_entry(name))
        console.print(
            f"  {name:<15} netcvr_auc {res.metrics['netcvr_auc']:.4f}  cvr_auc {res.metrics['cvr_auc']:.4f}  ({res.wall_s:.0f} s{run_notes(results[-1])})"
        )
        rows, slice_id = res.rows, res.slice_id
    add_relative_improvement(results)
    bayes = None
    if true_probs is not None:
        bayes = stream_metrics(tl, rows, slice_id, true_probs[rows, 0], true_probs[rows, 1])
    return {
        "dataset": dataset,
        "config": config.model_dump(),
        "results": results,
        "bayes_limit": bayes,
    }


def run_notes(entry: dict) -> str:
    """What a result line adds about how a method's run went, from its card entry: where it
    was resumed, and how many single-sample slices went untrained ("" when neither)."""
    notes = ""
    if entry.get("resumed_from_slices"):
        notes += f", resumed at slice {', '.join(map(str, entry['resumed_from_slices']))}"
    if entry.get("skipped_samples"):
        notes += f", {entry['skipped_samples']} single-sample slice(s) not trained on"
    return notes


LEADERBOARD_COLUMNS = [
    ("AUC", "auc"),
    ("NLL", "nll"),
    ("PRAUC", "prauc"),
    ("RI-AUC %", "ri_auc"),
    ("RI-PRAUC %", "ri_prauc"),
    ("PCOC", "pcoc"),
]


def leaderboard(results: list[dict], bayes: dict | None, title: str) -> Table:
    """A Table-2-shaped leaderboard: each cell is CVR / NetCVR."""
    table = Table(title=title)
    table.add_column("method")
    for head, _ in LEADERBOARD_COLUMNS:
        table.add_column(f"{head} (CVR / NetCVR)", justify="right")
    rows = [(r["method"], r["metrics"]) for r in results]
    if bayes:
        rows.append(("bayes limit", bayes))
    for name, m in rows:
        cells = []
        for _, key in LEADERBOARD_COLUMNS:
            a, b = m.get(f"cvr_{key}"), m.get(f"netcvr_{key}")
            cells.append(
                ""
                if a is None
                else f"{a:.4f} / {b:.4f}"
                if "ri" not in key
                else f"{a:.1f} / {b:.1f}"
            )
        table.add_row(name, *cells)
    return table


def card_name(spec: BenchSpec, dataset: dict, seed: int) -> str:
    """File name of a seed's card."""
    size = spec.clicks if spec.data is None else "file"
    return f"{spec.benchmark}-{dataset['name']}-{size}{'-quick' if spec.quick else ''}-seed{seed}"


def run_bench(spec: BenchSpec, console: Console | None = None, progress: bool = True) -> list[Path]:
    """Run the benchmark for every seed, print leaderboards, write cards and the results page
    (a file's cards are checked before any training: none may hold another file's card)."""
    from shopml.report.cards import write_card
    from shopml.report.pages import write_pages

    console = console or make_console()
    paths = []
    loaded = load_file_once(spec, load_log, console, card_name)  # cards checked before training
    for seed in spec.seeds:
        card = run_seed(spec, seed, console, progress, loaded)
        console.print(
            leaderboard(
                card["results"], card["bayes_limit"], f"NetCVR stream benchmark, seed {seed}"
            )
        )
        name = card_name(spec, card["dataset"], seed)
        config = {
            **card["config"],
            "variant": "quick" if spec.quick else "full",
            "methods": spec.methods or default_methods(),
            "options": spec.options,
            "variants": {label: [m, o] for label, (m, o) in spec.variants.items()},
        }
        paths.append(
            write_card(
                spec.benchmark,
                card["dataset"],
                seed,
                config,
                card["results"],
                card["bayes_limit"],
                out_dir=spec.card_dir,
                name=name,
            )
        )
    if spec.card_dir is None:
        write_pages(Path("docs/results/cards"), Path("docs/results"))
    return paths
