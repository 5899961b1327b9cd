"""`shopml bench gmv`: READER's Table 4 on a simulated TRACE-like log or a TRACE file.

For each seed: build the log (simulate the ``trace`` preset with that seed, or read a
TRACE-format file / an event-log directory), keep its converting clicks, pre-build the
stream tensors once, run every GMV method through the stream protocol reused from
:mod:`shopml.conversion` (pre-trained states shared between methods with the same network),
compute AUC / ACC / ALPR / RMSE over the evaluated converting clicks (slice-averaged as
the paper; pooled beside), print a leaderboard, write a result card, and on simulated data
add the Bayes limit: the same metrics for the simulator's expected final GMV given
conversion, E[y* | x, converted] = expected_gmv / p_convert, on the same clicks.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from shopml.console import make_console, print_notes
from shopml.conversion.stream import StreamConfig
from shopml.data.eventlog import EventLog
from shopml.data.loaders._common import load_file_once, load_report_entry
from shopml.metrics import auc
from shopml.value.base import GmvMethod, get_gmv_method, gmv_methods
from shopml.value.protocol import GmvData, GmvRunConfig, build_gmv_data, gmv_metrics

# Table 4 order of the READER paper.
METHOD_ORDER = [
    "pre_single",
    "offline_single",
    "online_single",
    "oracle_single",
    "pre_dual",
    "offline_dual",
    "online_dual",
    "oracle_dual",
    "reader",
]
#: Ablation variants of READER (config switches), runnable by name; not in the default list.
VARIANTS: dict[str, tuple[str, dict]] = {
    "reader_no_calibration": ("reader", {"calibration": False}),
    "reader_hard_routing": ("reader", {"routing": "hard"}),
    "reader_no_aux_loss": ("reader", {"boost_weight": 0.0}),
    "oracle_dual_router_routing": ("oracle_dual", {"test_routing": "router"}),
}
#: the simulator presets whose truth holds the expected GMV the bench scores
PRESETS = ("trace",)
FULL_CLICKS = 3_000_000
QUICK_CLICKS = 400_000
METRICS = ("auc", "acc", "alpr", "rmse")


@dataclass
class BenchSpec:
    """What one `shopml bench gmv` invocation runs."""

    preset: str | None = "trace"
    data: Path | None = None
    clicks: int = FULL_CLICKS
    seeds: list[int] = field(default_factory=lambda: [1])
    methods: list[str] | None = None
    quick: bool = False
    card_dir: Path | None = None
    checkpoint_dir: Path | None = None
    options: dict[str, dict] = field(default_factory=dict)
    threads: int = 1
    #: False for extra-method runs on worlds whose main card already holds the Bayes limit
    bayes_on_card: bool = True
    #: a --data TRACE file read as this random share of its clicks (sample seed 0)
    sample: float | None = None


def default_methods() -> list[str]:
    """Registered GMV methods in Table 4 order."""
    registry = gmv_methods()
    ordered = [m for m in METHOD_ORDER if m in registry]
    return ordered + sorted(set(registry) - set(ordered))


def known_methods() -> list[str]:
    """Every runnable name: the registered methods and the READER ablation variants."""
    return default_methods() + list(VARIANTS)


def resolve(name: str, options: dict[str, dict]) -> tuple[str, dict]:
    """(registered method, options) of a method or variant name; --option values win."""
    base, preset = VARIANTS.get(name, (name, {}))
    return base, {**preset, **options.get(name, {})}


def check_options(spec: BenchSpec) -> None:
    """Build every method that has options (no data needed) so that an unknown option or a bad
    value is a clear ValueError before any world is simulated."""
    from shopml.cli_support import refuse_unrun_options

    refuse_unrun_options(spec.options, list(spec.methods or default_methods()))
    model = run_config(spec, spec.seeds[0]).model
    for name in spec.methods or default_methods():
        if not spec.options.get(name):
            continue
        base, options = resolve(name, spec.options)
        try:
            get_gmv_method(base, model, **options)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{name}: options {options} rejected: {exc}") from exc


def run_config(spec: BenchSpec, seed: int) -> GmvRunConfig:
    """The run configuration of a seed (quick: 20 pre-training days and an 8-day stream)."""
    if spec.quick:
        return GmvRunConfig(
            seed=seed, stream=StreamConfig(pretrain_days=20, stream_days=8, slice_s=3 * 3600)
        )
    return GmvRunConfig(seed=seed)


def load_log(spec: BenchSpec, seed: int) -> tuple[EventLog, dict, dict[str, np.ndarray] | None]:
    """The benchmark's log, its card description and (simulated data) the truth per click:
    ``gmv`` = E[y* | x, converted] and ``p_repurchase`` = P(more than one purchase | x, converted)."""
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

            log = load("trace", path, sample=spec.sample)
        from shopml.data.validate import require_valid

        require_valid(log, path)  # a file's log too: e.g. a pay time in the year 3000
        kind = event_log_kind(log.spec.meta) if path.is_dir() else "trace_file"
        dataset = file_dataset(kind, path, sha256_file(path))
        dataset = subsampled(dataset, spec.sample, log.n_clicks)
        return log, {**dataset, **load_report_entry(log.spec.meta)}, None
    from shopml.data.simulate import simulate

    world = simulate(spec.preset or "trace", spec.clicks, seed)
    truth = world.truth
    if "expected_gmv" not in truth.column_names:
        raise ValueError(f"preset {spec.preset!r} has no expected_gmv truth; use the trace preset")
    tid = truth.column("click_id").to_numpy()
    ids = world.log.column("click_id")
    pos = np.searchsorted(tid, ids)
    if not (np.all(np.diff(tid) >= 0) and np.array_equal(tid[np.clip(pos, 0, len(tid) - 1)], ids)):
        raise ValueError("truth table does not align with the clicks")
    p_conv = truth.column("p_convert").to_numpy()[pos]
    expected = truth.column("expected_gmv").to_numpy()[pos]
    conditional = {
        "gmv": np.where(p_conv > 0, expected / np.maximum(p_conv, 1e-300), np.nan),
        "p_repurchase": truth.column("p_repurchase").to_numpy()[pos],
    }
    ds = {
        "name": spec.preset or "trace",
        "preset": spec.preset or "trace",
        "clicks": spec.clicks,
        "sha256": sha256_config(world.config or {"preset": spec.preset, "clicks": spec.clicks, "seed": seed}),
    }
    return world.log, ds, conditional


def _share_pretraining(
    method: GmvMethod, plain: GmvMethod, data: GmvData, config: GmvRunConfig, cache: dict
) -> None:
    """Let a method with options reuse the pre-trained state of the same method without them.

    No option changes pre-training (same network, loss, data and seed), so the state is the
    one the method would compute itself; the shared trainer keys states by options too.
    """
    from shopml.conversion.trainer import build_model, pretrain_key

    plain.bind(data.view, data.stream.split)
    with torch.random.fork_rng():
        ours = pretrain_key(method, build_model(method, data.stream, config.seed))
        theirs = pretrain_key(plain, build_model(plain, data.stream, config.seed))
    if ours not in cache and theirs in cache:
        cache[ours] = cache[theirs]
    method.shared_key = (ours, theirs)  # type: ignore[attr-defined]


def run_method(
    name: str, data: GmvData, config: GmvRunConfig, spec: BenchSpec, pretrained: dict, progress: bool
) -> dict:
    """Run one method through the stream protocol; its card entry."""
    from shopml.conversion.trainer import run_stream

    base, options = resolve(name, spec.options)
    method = get_gmv_method(base, config.model, **options)
    method.bind(data.view, data.stream.split)
    method.cache = pretrained
    if options:
        _share_pretraining(method, get_gmv_method(base, config.model), data, config, pretrained)
    final, repurchase = data.final_gmv, data.view.repurchase

    def metrics(tl, rows, slice_id, first, second):
        p_gmv, p_router = method.finalize(rows, first, second)
        out = gmv_metrics(final[rows], p_gmv, slice_id)
        if p_router is not None:
            out["router_auc"] = auc(repurchase[rows], p_router)
        return out

    res = run_stream(
        method,
        data.stream,
        config,
        checkpoint=spec.checkpoint_dir,
        progress=progress,
        pretrained_cache=pretrained,
        metrics_fn=metrics,
        threads=spec.threads,
        data_id=hashlib.sha256(np.ascontiguousarray(final).tobytes()).hexdigest(),  # the labels
    )
    ours, theirs = getattr(method, "shared_key", (None, None))
    if ours in pretrained and theirs is not None and theirs not in pretrained:
        pretrained[theirs] = pretrained[ours]
    return {**res.card_entry(name), "_rows": res.rows, "_slice_id": res.slice_id}


def run_seed(
    spec: BenchSpec, seed: int, console: Console, progress: bool = True, loaded: tuple | None = None
) -> dict:
    """Run every method on one seed; returns the card's fields (``loaded``: a user's file as
    ``load_log`` returned it, read once for every seed)."""
    torch.set_num_threads(spec.threads)
    config = run_config(spec, seed)
    t0 = time.perf_counter()
    log, dataset, conditional = loaded or load_log(spec, seed)
    # checked already: a file's log by load_log, a simulated world is valid by construction
    data = build_gmv_data(log, config, check=False)
    from shopml.conversion.bench import (
        label_horizon_note,
        run_notes,
        unused_feature_notes,
        window_notes,
    )

    window = int(config.windows.attribution_s)
    notes = window_notes(log.spec.meta, {"gmv_window_s": window}, "READER's")
    cut = label_horizon_note(log, window)
    print_notes(console, [*notes, *([cut] if cut else []), *unused_feature_notes(log)])
    split = data.stream.split
    console.print(
        f"seed {seed}: {log.n_clicks:,} clicks, {len(data.view):,} converting "
        f"({data.view.repurchase.mean():.1%} repurchase), {split.n_slices} slices of "
        f"{split.slice_s / 3600:g} h, built in {time.perf_counter() - t0:.1f} s"
    )
    pretrained: dict[tuple, dict] = {}
    results = []
    for name in spec.methods or default_methods():
        entry = run_method(name, data, config, spec, pretrained, progress)
        m = entry["metrics"]
        router = f"  router_auc {m['router_auc']:.4f}" if "router_auc" in m else ""
        console.print(
            f"  {name:<15} auc {m['auc']:.4f}  acc {m['acc']:.4f}  alpr {m['alpr']:.4f}  "
            f"rmse {m['rmse']:.2f}{router}  ({entry['wall_s']:.0f} s"
            f"{run_notes(entry)})"
        )
        results.append(entry)
    bayes = None
    if conditional is not None and results:
        rows, slice_id = results[-1]["_rows"], results[-1]["_slice_id"]
        source = data.source_rows[rows]
        bayes = gmv_metrics(data.final_gmv[rows], conditional["gmv"][source], slice_id)
        bayes["router_auc"] = auc(data.view.repurchase[rows], conditional["p_repurchase"][source])
    for r in results:
        r.pop("_rows")
        r.pop("_slice_id")
    dataset = {**dataset, "converting_clicks": len(data.view)}
    return {"dataset": dataset, "config": config.model_dump(), "results": results, "bayes_limit": bayes}


def leaderboard(results: list[dict], bayes: dict | None, title: str) -> Table:
    """A Table-4-shaped leaderboard: AUC, ACC, ALPR (and RMSE) per method."""
    table = Table(title=title)
    table.add_column("method")
    for head in ("AUC ↑", "ACC ↑", "ALPR ↓", "RMSE ↓", "router AUC"):
        table.add_column(head, justify="right")
    rows = [(r["method"], r["metrics"]) for r in results]
    if bayes:
        rows.append(("bayes limit", bayes))
    for name, m in rows:
        cells = [f"{m[k]:.4f}" if k != "rmse" else f"{m[k]:.2f}" for k in METRICS]
        cells.append(f"{m['router_auc']:.4f}" if "router_auc" in m else "")
        table.add_row(name, *cells)
    return table


def card_name(spec: BenchSpec, dataset: dict, seed: int) -> str:
    """File name of a seed's card."""
    size = spec.clicks if spec.data is None else "file"
    chosen = "" if spec.methods in (None, default_methods()) else "-" + "+".join(spec.methods)
    return f"gmv-{dataset['name']}-{size}{'-quick' if spec.quick else ''}{chosen}-seed{seed}"


def run_bench(spec: BenchSpec, console: Console | None = None, progress: bool = True) -> list[Path]:
    """Run every seed, print leaderboards, write cards and (default card dir) the results page
    (a file's cards are checked before any training: none may hold another file's card)."""
    from shopml.report.cards import write_card
    from shopml.report.pages import write_pages

    console = console or make_console()
    paths = []
    loaded = load_file_once(spec, load_log, console, card_name)  # cards checked before training
    for seed in spec.seeds:
        card = run_seed(spec, seed, console, progress, loaded)
        console.print(leaderboard(card["results"], card["bayes_limit"], f"GMV stream benchmark, seed {seed}"))
        config = {
            **card["config"],
            "variant": "quick" if spec.quick else "full",
            "methods": spec.methods or default_methods(),
            "options": spec.options,
            "threads": spec.threads,
        }
        # a card of READER variants only leaves the Bayes limit to the seed's main card, so
        # the results page (which merges the cards of one world) counts it once per seed
        variants_only = all(r["method"] in VARIANTS for r in card["results"])
        paths.append(
            write_card(
                "gmv",
                card["dataset"],
                seed,
                config,
                card["results"],
                None if variants_only or not spec.bayes_on_card else card["bayes_limit"],
                out_dir=spec.card_dir,
                name=card_name(spec, card["dataset"], seed),
            )
        )
    if spec.card_dir is None:
        write_pages(Path("docs/results/cards"), Path("docs/results"))
    return paths
