"""NetCVR stream speed: stream building, delivery, training, and the trainer's overhead.

    .venv/bin/python benchmarks/netcvr_speed.py --clicks 1000000 --seed 1

Everything runs in one process on one simulated ``cascade`` log (``--clicks``, ``--seed``)
with the default :class:`~shopml.conversion.trainer.RunConfig` (12 pre-training days, a
6-day leakage gap, 15-min slices to the end of the 25-day log, or ``--stream-days``; batch
512, Adam). Torch runs with ``min(2, cpu_count)`` threads, as ``run_stream`` sets. Measured:

1. **Stream building** — one cold ``StreamData.from_log`` (categorical feature stack, the
   timeline's pay / refund look-ups incl. the log's click-id index, the time split):
   log clicks/s. The simulation itself is timed beside it, not included.
2. **Delivery** — ``get_method(name).deliver(timeline, windows, split)`` once for every
   registered method: log clicks/s, delivered samples, samples/s.
3. **Training** (``--train``, default ``tesla,esdfm``) — ``run_stream`` with progress off.
   Every run starts streaming from weights handed in through ``run_stream``'s
   ``pretrained_cache``: the freshly initialised network by default (the cost of a step does
   not depend on the weights), or with ``--pretrain`` the result of one untimed
   ``StreamTrainer.pretrain``; so ``train_s`` never includes pre-training. The measured time is the trainer's own
   counter ``StreamResult.train_s``: the sum over streaming slices of
   ``StreamTrainer._train_samples`` = the slice's ``randperm`` + per minibatch the NumPy
   index gathers, ``make_batch`` (feature gather, label / elapsed / observed-delay / aux
   tensors) and ``_step`` (forward, ``method.loss``, zero_grad, backward, Adam step).
   ``delivery.between``, ``method.prepare`` (delay-model fit), per-slice ``predict`` and the
   metrics are outside it; they are in ``run_wall_s``.
4. **Overhead ratio** — the first run is recorded (a ``StreamTrainer`` subclass keeps each
   streaming minibatch's ``Batch``: one list append per batch) and replayed by a bare
   PyTorch loop: the same network and start weights, a fresh Adam with the same settings,
   a generator seeded as ``run_stream`` seeds it for the stream, per slice the same
   ``randperm`` draw, and per minibatch the pre-gathered tensors in the same order and batch
   boundaries through ``model(x)``, ``method.loss(...) / B``, zero_grad, backward, step.
   The replay draws the same random numbers (DAR's negatives), so its final weights must
   equal the trainer's: ``max_abs_param_diff`` checks that both loops did the same work.
   Trainer and bare loop then alternate for ``--repeats`` runs each (repeats 2.. use the
   unpatched trainer); ``train_s`` / ``bare_s`` are the minima (the least disturbed run on
   a shared machine), ``overhead_ratio = train_s / bare_s`` (target ≤ 1.2), and
   ``overhead_ratio_median`` is the median of the per-repeat ratios.

``--profile`` prints a cProfile of one more (unrecorded) training run per method.
Prints a table and writes ``netcvr_speed-cascade-<clicks>-seed<seed>.json``
(``shopml.report.cards.write_card``); the 1-minute load average before and after is in the
card (``load_avg``): the timings are only comparable at a similar load.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import io
import os
import pstats
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

from shopml.conversion import trainer as trainer_module
from shopml.conversion.base import Batch, StreamMethod, get_method, methods
from shopml.conversion.stream import Delivery, StreamConfig
from shopml.conversion.trainer import (
    RunConfig,
    StreamData,
    StreamTrainer,
    build_model,
    pretrain_key,
    run_stream,
)

BENCHMARK = "netcvr_speed"
DEFAULT_CLICKS = 1_000_000
TRAIN_METHODS = ("tesla", "esdfm")


# --------------------------------------------------------------------------- recording
class _RecordingTrainer(StreamTrainer):
    """A StreamTrainer that keeps every streaming minibatch (grouped by slice) and the model."""

    last: _RecordingTrainer | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slices: list[list[Batch]] = []
        self.model: torch.nn.Module | None = None
        self._recording = False
        _RecordingTrainer.last = self

    def _train_samples(
        self,
        model: torch.nn.Module,
        opt: torch.optim.Optimizer,
        d: Delivery,
        generator: torch.Generator,
        pretrain: bool = False,
    ) -> None:
        """Record the streaming (not pre-training) slices that train (>= 2 samples)."""
        self._recording = not pretrain and len(d) >= 2
        if self._recording:
            self.model = model
            self.slices.append([])
        try:
            super()._train_samples(model, opt, d, generator, pretrain)
        finally:
            self._recording = False

    def make_batch(self, *args: Any, **kwargs: Any) -> Batch:
        """The trainer's Batch, kept for the replay."""
        batch = super().make_batch(*args, **kwargs)
        if self._recording:
            self.slices[-1].append(batch)
        return batch


@contextmanager
def _recording_trainer() -> Iterator[type[_RecordingTrainer]]:
    """Make run_stream use the recording trainer for the duration of the block."""
    original = trainer_module.StreamTrainer
    trainer_module.StreamTrainer = _RecordingTrainer
    _RecordingTrainer.last = None
    try:
        yield _RecordingTrainer
    finally:
        trainer_module.StreamTrainer = original


# --------------------------------------------------------------------------- stages
def _load() -> float:
    """1-minute load average (NaN where unavailable)."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return float("nan")


def build_stream(clicks: int, seed: int, config: RunConfig) -> tuple[StreamData, dict, dict]:
    """Simulate the log and time StreamData.from_log; returns (data, dataset, metrics)."""
    from shopml.data.simulate import simulate
    from shopml.report.cards import sha256_config

    t0 = time.perf_counter()
    world = simulate("cascade", clicks, seed)
    sim_s = time.perf_counter() - t0
    log = world.log
    t0 = time.perf_counter()
    data = StreamData.from_log(log, config.windows, config.stream, check=False)  # as the bench
    build_s = time.perf_counter() - t0
    split, tl = data.split, data.timeline
    n = len(tl)
    metrics = {
        "clicks": n,
        "features": int(data.features.shape[1]),
        "simulate_s": sim_s,
        "stream_build_s": build_s,
        "stream_build_clicks_per_s": n / build_s,
        "pretrain_clicks": len(split.pretrain_rows(tl.click_ts)),
        "stream_clicks": len(split.stream_rows(tl.click_ts)),
        "n_slices": split.n_slices,
    }
    dataset = {
        "name": "cascade",
        "preset": "cascade",
        "clicks": clicks,
        "sha256": sha256_config(
            world.config or {"preset": "cascade", "clicks": clicks, "seed": seed}
        ),
    }
    return data, dataset, metrics


def delivery_speed(data: StreamData, config: RunConfig) -> list[dict]:
    """Time `deliver` once for every registered method."""
    out = []
    n = len(data.timeline)
    for name in sorted(methods()):
        method = get_method(name, config.model)
        t0 = time.perf_counter()
        d = method.deliver(data.timeline, data.windows, data.split)
        sec = time.perf_counter() - t0
        out.append(
            {
                "method": name,
                "deliver_s": sec,
                "deliver_clicks_per_s": n / sec,
                "delivered_samples": len(d),
                "deliver_samples_per_s": len(d) / sec,
            }
        )
    return out


def _start_cache(method: StreamMethod, data: StreamData, config: RunConfig, pretrain: bool) -> dict:
    """A pretrained_cache for run_stream holding the stream's start weights (so no run pre-trains).

    The initial weights, or with `pretrain` the weights after the trainer's own pre-training
    (as run_stream would pre-train: same seeds, the method's prepared aux arrays).
    """
    model = build_model(method, data, config.seed)
    if pretrain:
        trainer = StreamTrainer(method, data, config)
        trainer.aux = method.prepare(data.features, data.timeline, data.windows, data.split)
        trainer.pretrain(model, torch.Generator().manual_seed(config.seed))
    return {pretrain_key(method, model): {k: v.clone() for k, v in model.state_dict().items()}}


def bare_loop(
    method: StreamMethod,
    data: StreamData,
    config: RunConfig,
    start_state: dict[str, torch.Tensor],
    slices: list[list[Batch]],
) -> tuple[float, torch.nn.Module]:
    """Replay the recorded minibatches in a plain PyTorch loop; returns (seconds, model)."""
    model = method.build_model(data.cardinalities)
    model.load_state_dict(start_state)
    opt = torch.optim.Adam(
        model.parameters(), lr=config.model.stream_lr, weight_decay=config.model.weight_decay
    )
    generator = torch.Generator().manual_seed(config.seed + 1)  # as run_stream, for the stream
    batches = [[dataclasses.replace(b, generator=generator) for b in s] for s in slices]
    sizes = [sum(len(b) for b in s) for s in batches]
    model.train()
    t0 = time.perf_counter()
    for n, slice_batches in zip(sizes, batches, strict=True):
        torch.randperm(n, generator=generator)  # the slice's shuffle (order is pre-gathered)
        for batch in slice_batches:
            out = model(batch.x)
            loss = method.loss(model, out, batch) / len(batch)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return time.perf_counter() - t0, model


def _max_param_diff(a: torch.nn.Module, b: torch.nn.Module) -> float:
    """Largest absolute difference between two models' parameters and buffers."""
    sa, sb = a.state_dict(), b.state_dict()
    return max(
        (float((sa[k].double() - sb[k].double()).abs().max()) if sa[k].numel() else 0.0) for k in sa
    )


def train_speed(
    name: str, data: StreamData, config: RunConfig, pretrain: bool, repeats: int = 3
) -> dict:
    """Trainer throughput of one method and its ratio to the bare replay (alternating repeats)."""
    method = get_method(name, config.model)
    cache = _start_cache(method, data, config, pretrain)
    with _recording_trainer() as recorder:  # repeat 1: the trainer, recorded
        result = run_stream(method, data, config, progress=False, pretrained_cache=cache)
    rec = recorder.last
    if result is None or rec is None or rec.model is None:
        raise RuntimeError(f"{name}: the stream trained on no slice")
    (start_state,) = cache.values()  # the streaming phase's start weights
    slices, trained = rec.slices, rec.model
    del rec
    n_batches = sum(len(s) for s in slices)
    samples = result.train_samples
    train_s, bare_s, wall_s = [result.train_s], [], [result.wall_s]
    bare_s_1, bare_model = bare_loop(method, data, config, start_state, slices)
    bare_s.append(bare_s_1)
    diff = _max_param_diff(trained, bare_model)
    for _ in range(repeats - 1):  # repeats 2..: the unpatched trainer, then the bare loop again
        again = run_stream(method, data, config, progress=False, pretrained_cache=cache)
        if again is None or again.train_samples != samples:
            raise RuntimeError(f"{name}: a repeated run trained on different samples")
        train_s.append(again.train_s)
        wall_s.append(again.wall_s)
        bare_s.append(bare_loop(method, data, config, start_state, slices)[0])
    t, b = min(train_s), min(bare_s)
    metrics = {
        "train_samples": samples,
        "train_batches": n_batches,
        "train_slices": len(slices),
        "repeats": repeats,
        "train_s": t,
        "train_s_median": float(np.median(train_s)),
        "train_samples_per_s": samples / t,
        "bare_s": b,
        "bare_s_median": float(np.median(bare_s)),
        "bare_samples_per_s": samples / b,
        "overhead_ratio": t / b,
        "overhead_ratio_median": float(np.median(np.divide(train_s, bare_s))),
        "trainer_ms_per_batch": 1e3 * t / n_batches,
        "bare_ms_per_batch": 1e3 * b / n_batches,
        "max_abs_param_diff": diff,
        "run_wall_s": min(wall_s),
    }
    return {"method": name, "metrics": metrics, "wall_s": round(sum(wall_s) + sum(bare_s), 2)}


def profile_training(name: str, data: StreamData, config: RunConfig, top: int = 30) -> str:
    """cProfile of one run_stream (no recording) of `name`: the top functions by own time."""
    method = get_method(name, config.model)
    cache = _start_cache(method, data, config, pretrain=False)
    prof = cProfile.Profile()
    prof.enable()
    run_stream(method, data, config, progress=False, pretrained_cache=cache)
    prof.disable()
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return buf.getvalue()


# --------------------------------------------------------------------------- report
def _print_table(build: dict, deliveries: list[dict], training: list[dict]) -> None:
    """Human-readable summary of all measurements."""
    print(
        f"stream build: {build['clicks']:,} clicks in {build['stream_build_s']:.2f} s = "
        f"{build['stream_build_clicks_per_s']:,.0f} clicks/s (simulate {build['simulate_s']:.1f} s; "
        f"{build['stream_clicks']:,} streaming clicks in {build['n_slices']} slices)"
    )
    print(f"{'deliver':<16} {'s':>7} {'clicks/s':>12} {'samples':>10} {'samples/s':>12}")
    for d in deliveries:
        print(f"{d['method']:<16} {d['deliver_s']:>7.3f} {d['deliver_clicks_per_s']:>12,.0f} "
              f"{d['delivered_samples']:>10,} {d['deliver_samples_per_s']:>12,.0f}")  # fmt: skip
    if training:
        print(f"{'train':<8} {'samples':>9} {'batches':>8} {'trainer s':>10} {'samples/s':>10} "
              f"{'bare s':>8} {'samples/s':>10} {'ratio':>6} {'median':>6} {'param diff':>11}")  # fmt: skip
    for t in training:
        m = t["metrics"]
        print(f"{t['method']:<8} {m['train_samples']:>9,} {m['train_batches']:>8,} "
              f"{m['train_s']:>10.2f} {m['train_samples_per_s']:>10,.0f} {m['bare_s']:>8.2f} "
              f"{m['bare_samples_per_s']:>10,.0f} {m['overhead_ratio']:>6.3f} {m['overhead_ratio_median']:>6.3f} "
              f"{m['max_abs_param_diff']:>11.2e}")  # fmt: skip


def main(argv: list[str] | None = None) -> Path | None:
    """Run the benchmark; returns the card's path (None with --no-card)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=DEFAULT_CLICKS)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--train", default=",".join(TRAIN_METHODS),
                        help="comma-separated methods to train (empty: none)")  # fmt: skip
    parser.add_argument("--pretrain", action="store_true",
                        help="pre-train before streaming (default: stream from the initial weights)")  # fmt: skip
    parser.add_argument("--profile", action="store_true",
                        help="also print a cProfile of one training run per method")  # fmt: skip
    parser.add_argument(
        "--out-dir", default=None, help="card directory (default docs/results/cards)"
    )
    parser.add_argument("--stream-days", type=float, default=None,
                        help="stream length in days (default: to the end of the log)")  # fmt: skip
    parser.add_argument("--repeats", type=int, default=3,
                        help="alternating trainer / bare runs per method (min time is reported)")  # fmt: skip
    parser.add_argument("--no-card", action="store_true", help="print only, write no card")
    args = parser.parse_args(argv)
    if args.clicks < 1 or args.repeats < 1:
        parser.error("--clicks and --repeats must be positive")
    train = [m for m in args.train.split(",") if m.strip()]
    registry = methods()
    unknown = sorted(set(train) - set(registry))
    if unknown:
        parser.error(f"unknown methods {unknown}; choose from {sorted(registry)}")

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    config = RunConfig(seed=args.seed, stream=StreamConfig(stream_days=args.stream_days))
    load_before = _load()
    t_all = time.perf_counter()
    data, dataset, build = build_stream(args.clicks, args.seed, config)
    deliveries = delivery_speed(data, config)
    training = [train_speed(name, data, config, args.pretrain, args.repeats) for name in train]
    total_s = time.perf_counter() - t_all
    load_after = _load()
    _print_table(build, deliveries, training)
    print(f"load average (1 min): {load_before} before, {load_after} after; total {total_s:.0f} s")
    if args.profile:
        for name in train:
            print(f"--- cProfile: run_stream({name}) ---")
            print(profile_training(name, data, config))
    if args.no_card:
        return None

    from shopml.report.cards import write_card

    by_method: dict[str, dict] = {
        d["method"]: {"method": d["method"], "metrics": {k: v for k, v in d.items() if k != "method"},
                      "wall_s": round(d["deliver_s"], 3)}
        for d in deliveries
    }  # fmt: skip
    for t in training:
        entry = by_method.setdefault(t["method"], {"method": t["method"], "metrics": {}})
        entry["metrics"].update(t["metrics"])
        entry["wall_s"] = round(entry.get("wall_s", 0.0) + t["wall_s"], 2)
    results = [
        {"method": "stream_data", "metrics": build, "wall_s": round(build["stream_build_s"], 3)},
        *by_method.values(),
    ]
    run_config = {
        **config.model_dump(),
        "train_methods": train,
        "pretrain": args.pretrain,
        "repeats": args.repeats,
        "torch_threads": torch.get_num_threads(),
        "ratio_target": 1.2,
    }
    path = write_card(
        BENCHMARK,
        dataset,
        args.seed,
        run_config,
        results,
        out_dir=args.out_dir,
        name=f"{BENCHMARK}-cascade-{args.clicks}-seed{args.seed}",
        extra={"load_avg": {"before": load_before, "after": load_after}, "total_s": total_s},
    )
    print(f"card: {path}")
    return path


if __name__ == "__main__":
    main()
