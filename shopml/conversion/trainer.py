"""The stream trainer: pre-train, then train on slice n and evaluate on slice n+1.

Implements the protocol of TESLA (arXiv 2601.19965, App. D.1): the model is
pre-trained on the pre-training part (complete labels), then, for each
streaming slice n, trained once on the samples its method delivered during
slice n and evaluated on the clicks of slice n+1 against their complete
labels. Metrics (AUC, PR-AUC, NLL, PCOC for CVR and NetCVR) are averaged over
the evaluated slices, as in the paper; pooled metrics over all evaluated
clicks are reported beside them.

A run checkpoints every ``checkpoint_every`` slices (model, optimiser, RNG
states, the predictions so far and the wall time spent); a run killed at any point
resumes from its last checkpoint and ends with the same metrics as an uninterrupted
run, its ``wall_s`` the sum over its parts and ``resumed_from_slices`` naming where
each resume started.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from tqdm.auto import tqdm

from shopml.conversion.base import Batch, ModelConfig, StreamMethod
from shopml.conversion.stream import MASKED, Delivery, StreamConfig, StreamSplit
from shopml.conversion.timeline import Timeline, Windows
from shopml.data.eventlog import EventLog
from shopml.metrics import auc, nll, pcoc, pr_auc
from shopml.progress import progress_bar


class RunConfig(BaseModel):
    """Everything that defines one stream run (saved with its result card)."""

    model_config = ConfigDict(extra="forbid")
    windows: Windows = Field(default_factory=Windows)
    stream: StreamConfig = Field(default_factory=StreamConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    seed: int = 0
    checkpoint_every: int = Field(default=100, gt=0)

    def digest(self, method: str, options: dict) -> str:
        """Stable hash of this config + method (checkpoints only resume a matching run)."""
        blob = json.dumps([self.model_dump(), method, options], sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass
class StreamData:
    """Pre-built tensors of one log: features, timeline, split."""

    features: np.ndarray  # [n, F] int64 codes
    cardinalities: list[int]
    timeline: Timeline
    split: StreamSplit
    windows: Windows
    x: torch.Tensor = field(init=False)

    def __post_init__(self) -> None:
        self.x = torch.from_numpy(np.ascontiguousarray(self.features, dtype=np.int64))

    def fingerprint(self) -> str:
        """sha256 (16 hex) of the features, cardinalities, timeline arrays and split, so that a
        checkpoint resumes only a run on the same data."""
        digest = hashlib.sha256(np.ascontiguousarray(self.features).data)  # no copy
        digest.update(json.dumps([self.cardinalities, self.split.n_slices]).encode())
        for name, value in sorted(vars(self.timeline).items()):
            if isinstance(value, np.ndarray):
                digest.update(name.encode())
                digest.update(np.ascontiguousarray(value).data)
        return digest.hexdigest()[:16]

    def hide_fields(self, names: Sequence[str], hidden: Sequence[str]) -> None:
        """Give every click code 0 in the fields `hidden` (in place; `names` are the feature
        columns' field names in order, as :meth:`from_log` stacks them), for ablations."""
        for name in hidden:
            if name not in names:
                raise ValueError(f"{name!r} is not a categorical field ({list(names)})")
            self.features[:, list(names).index(name)] = 0
        self.__post_init__()

    @classmethod
    def from_log(
        cls, log: EventLog, windows: Windows, stream: StreamConfig, check: bool = True
    ) -> StreamData:
        """Stack the log's categorical features and derive its timeline and split.

        With ``check`` the log is first checked as ``shopml data validate`` checks it, and one
        with errors (a pay before its click, timestamps that are not int64 unix seconds,
        duplicate click ids, ...) raises EventLogError, as the benchmark refuses it; pass
        False only for a log already checked or simulated.
        """
        if check:
            from shopml.data.validate import require_valid

            require_valid(log, log.path)
        features, cards = log.categorical_codes("the stream methods")
        timeline = Timeline.from_log(log, windows)
        split = StreamSplit.make(timeline.click_ts, windows, stream)
        return cls(features, cards, timeline, split, windows)

    def slice_click_rows(self) -> list[np.ndarray]:
        """Click rows of each streaming slice (the evaluation sets)."""
        rows = self.split.stream_rows(self.timeline.click_ts)
        idx = self.split.slice_index(self.timeline.click_ts[rows])
        order = np.argsort(idx, kind="stable")
        rows, idx = rows[order], idx[order]
        bounds = np.searchsorted(idx, np.arange(self.split.n_slices + 1))
        return [rows[bounds[n] : bounds[n + 1]] for n in range(self.split.n_slices)]


@dataclass
class StreamResult:
    """Predictions on every evaluated click and the metrics computed from them."""

    method: str
    rows: np.ndarray
    slice_id: np.ndarray
    p_cvr: np.ndarray
    p_net: np.ndarray
    metrics: dict[str, float]
    wall_s: float
    train_samples: int
    train_s: float
    #: the slice each resume started from (empty for a run that was never resumed)
    resumed_from_slices: list[int] = field(default_factory=list)
    #: True when a checkpoint did not keep the time spent before it (written by an older
    #: shopml): ``wall_s`` then misses the parts before that resume
    wall_s_partial: bool = False
    #: samples left untrained: a slice that delivered a single one (BatchNorm needs two)
    skipped_samples: int = 0
    #: the network as it ended the stream, the method that trained it and the feature
    #: cardinalities it was built for (:func:`shopml.conversion.scoring.score_clicks`)
    model: torch.nn.Module | None = field(default=None, repr=False)
    stream_method: StreamMethod | None = field(default=None, repr=False)
    cardinalities: list[int] | None = None

    def card_entry(self, name: str) -> dict:
        """This run's entry in a result card under the method name ``name``."""
        entry = {
            "method": name,
            "metrics": self.metrics,
            "wall_s": round(self.wall_s, 2),
            "train_samples": self.train_samples,
            "train_samples_per_s": round(self.train_samples / self.train_s, 1)
            if self.train_s
            else None,
        }
        if self.resumed_from_slices:
            entry["resumed_from_slices"] = list(self.resumed_from_slices)
        if self.wall_s_partial:
            entry["wall_s_partial"] = True
        if self.skipped_samples:
            entry["skipped_samples"] = self.skipped_samples
        return entry


def _observed_delay(event_ts: np.ndarray, start_ts: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Delay from start to event where the event happened by `at`, else NaN."""
    from shopml.data.eventlog import NO_EVENT

    seen = (event_ts != NO_EVENT) & (event_ts <= at)
    out = np.full(len(at), np.nan, dtype=np.float32)
    out[seen] = (event_ts[seen] - start_ts[seen]).astype(np.float32)
    return out


class StreamTrainer:
    """Runs one method through the stream protocol on pre-built StreamData."""

    def __init__(self, method: StreamMethod, data: StreamData, config: RunConfig) -> None:
        self.method = method
        self.data = data
        self.config = config
        self.cfg = config.model
        self.aux: dict[str, np.ndarray] = {}
        self.train_samples = 0
        self.train_s = 0.0
        self.skipped_samples = 0  # deliveries of a single sample, which BatchNorm cannot train on

    # ----------------------------------------------------------- batches
    def make_batch(
        self,
        rows: np.ndarray,
        ts: np.ndarray,
        y_cvr: np.ndarray,
        y_rfr: np.ndarray,
        kind: np.ndarray,
        generator: torch.Generator,
    ) -> Batch:
        """A Batch of delivered samples (labels as delivered, delays as observed at `ts`)."""
        tl = self.data.timeline
        click = tl.click_ts[rows]
        pay = tl.pay_ts[rows]
        return Batch(
            x=self.data.x[torch.from_numpy(rows)],
            y_cvr=torch.from_numpy(np.asarray(y_cvr, dtype=np.float32)),
            y_rfr=torch.from_numpy(np.asarray(y_rfr, dtype=np.float32)),
            kind=torch.from_numpy(np.asarray(kind, dtype=np.int64)),
            elapsed=torch.from_numpy((ts - click).astype(np.float32)),
            pay_delay=torch.from_numpy(_observed_delay(pay, click, ts)),
            refund_delay=torch.from_numpy(_observed_delay(tl.refund_ts[rows], pay, ts)),
            aux={
                k: torch.from_numpy(np.asarray(v[rows], dtype=np.float32))
                for k, v in self.aux.items()
            },
            generator=generator,
        )

    def _step(
        self, model: torch.nn.Module, opt: torch.optim.Optimizer, batch: Batch, pretrain: bool
    ) -> None:
        out = model(batch.x)
        fn = self.method.pretrain_loss if pretrain else self.method.loss
        loss = fn(model, out, batch) / len(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()

    def _train_samples(
        self,
        model: torch.nn.Module,
        opt: torch.optim.Optimizer,
        d: Delivery,
        generator: torch.Generator,
        pretrain: bool = False,
        bar: Any = None,
    ) -> None:
        n = len(d)
        if n < 2:
            self.skipped_samples += n  # BatchNorm cannot train on a single sample
            return
        start = time.perf_counter()
        model.train()
        perm = torch.randperm(n, generator=generator).numpy()
        bs = self.cfg.batch_size
        bounds = list(range(0, n, bs))
        if len(bounds) > 1 and n - bounds[-1] < 2:
            bounds.pop()  # merge a 1-sample tail into the previous batch
        for i, lo in enumerate(bounds):
            hi = bounds[i + 1] if i + 1 < len(bounds) else n
            idx = perm[lo:hi]
            ts = d.ts[idx]
            batch = self.make_batch(
                d.row[idx], ts, d.y_cvr[idx], d.y_rfr[idx], d.kind[idx], generator
            )
            self._step(model, opt, batch, pretrain)
            if bar is not None:
                bar.update(1)
        self.train_samples += n
        self.train_s += time.perf_counter() - start

    @torch.no_grad()
    def predict(
        self, model: torch.nn.Module, rows: np.ndarray, batch_size: int = 65536
    ) -> tuple[np.ndarray, np.ndarray]:
        """(p_cvr, p_net) for click rows."""
        return predict_clicks(model, self.method, self.data.x, rows, batch_size)

    # ---------------------------------------------------------- pretrain
    def pretrain_delivery(self) -> Delivery:
        """The pre-training part as one delivery with complete labels (delivered at pretrain end)."""
        tl = self.data.timeline
        rows = self.data.split.pretrain_rows(tl.click_ts)
        paid = tl.paid[rows]
        y_rfr = np.where(paid, tl.refunded[rows].astype(np.float32), MASKED)
        ts = np.full(len(rows), self.data.split.stream_start, dtype=np.int64)
        return Delivery(
            rows, ts, paid.astype(np.float32), y_rfr, np.zeros(len(rows), np.int8), ("complete",)
        )

    def pretrain(
        self, model: torch.nn.Module, generator: torch.Generator, progress: bool = False
    ) -> None:
        """Train on the pre-training part with complete labels (with ``progress``, a bar over
        its batches: tqdm on a terminal, a line every 30 s in a log, none for a short one)."""
        d = self.pretrain_delivery()
        if len(d) < 2 and self.cfg.pretrain_epochs > 0:
            raise ValueError(
                f"the pre-training part holds {len(d)} click(s) (the first "
                f"{self.config.stream.pretrain_days:g} day(s) of the log): too few to pre-train "
                "on; use a longer log or more pre-training days"
            )
        opt = torch.optim.Adam(
            model.parameters(), lr=self.cfg.lr, weight_decay=self.cfg.weight_decay
        )
        epochs = self.cfg.pretrain_epochs
        bar = progress_bar(
            total=epochs * -(-len(d) // self.cfg.batch_size),  # ceil: batches per epoch
            desc=f"{self.method.name} pre-training ({epochs} epoch(s))",
            unit="batches",
            leave=False,
            silent_if_short=True,
            disable=not progress,
        )
        with bar:
            for _ in range(epochs):
                self._train_samples(model, opt, d, generator, pretrain=True, bar=bar)


@torch.no_grad()
def predict_clicks(
    model: torch.nn.Module,
    method: StreamMethod,
    x: torch.Tensor,
    rows: np.ndarray,
    batch_size: int = 65536,
) -> tuple[np.ndarray, np.ndarray]:
    """(p_cvr, p_net) of the clicks ``rows`` of the feature codes ``x``: the method's own
    prediction from ``model``'s outputs, in batches."""
    model.eval()
    cvr, net = [], []
    for s in range(0, len(rows), batch_size):
        p_cvr, p_net = method.predict(model(x[torch.from_numpy(rows[s : s + batch_size])]))
        cvr.append(p_cvr.numpy())
        net.append(p_net.numpy())
    if not cvr:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(cvr).astype(np.float64), np.concatenate(net).astype(np.float64)


def build_model(method: StreamMethod, data: StreamData, seed: int) -> torch.nn.Module:
    """The method's network, initialised from `seed`."""
    torch.manual_seed(seed)
    return method.build_model(data.cardinalities)


def pretrain_key(method: StreamMethod, model: torch.nn.Module) -> tuple:
    """Methods with equal keys (network structure and shapes + pre-training loss) share a
    pre-trained state; the structure tells apart modules without weights (an FM term)."""
    shapes = tuple((k, tuple(v.shape)) for k, v in model.state_dict().items())
    options = json.dumps(method.options, sort_keys=True, default=str)
    return (repr(model), shapes, type(method).pretrain_loss.__qualname__, options)


def _atomic_save(obj: dict, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def default_threads() -> int:
    """Torch threads for a run: ``SHOPML_THREADS`` if set, else min(2, CPUs).

    On a machine shared with other jobs, 1 is often much faster than 2: torch's worker
    threads spin-wait for each other when they cannot each get a core.
    """
    raw = os.environ.get("SHOPML_THREADS")
    if raw:
        if not raw.isdigit() or int(raw) < 1:
            raise ValueError(f"SHOPML_THREADS must be a positive integer, got {raw!r}")
        return int(raw)
    return max(1, min(2, os.cpu_count() or 1))


def run_stream(
    method: StreamMethod,
    data: StreamData,
    config: RunConfig,
    checkpoint: str | Path | None = None,
    progress: bool = True,
    stop_after: int | None = None,
    pretrained_cache: dict | None = None,
    metrics_fn: Callable[..., dict[str, float]] | None = None,
    threads: int | None = None,
    data_id: str = "",
) -> StreamResult | None:
    """Run `method` through the stream protocol; returns None if stopped early by `stop_after` slices.

    Methods whose network and pre-training loss coincide share one pre-trained state through
    `pretrained_cache` (as in TESLA App. D.5: all start from the same pre-trained checkpoint).
    `metrics_fn(timeline, rows, slice_id, p_cvr, p_net)` replaces :func:`stream_metrics` (other
    tasks reusing the protocol, e.g. GMV); `threads` sets torch's thread count (default 1-2).
    A checkpoint is named by the config, the method and the data (`data.fingerprint()` and
    `data_id`, e.g. the data file's sha256, for labels the fingerprint does not see), so a
    run on other data never resumes it. It keeps the wall time spent up to it, so a resumed
    run's `wall_s` covers every part (not the work an interrupted part did after its last
    checkpoint, which the resume repeats); `resumed_from_slices` says where resumes started.
    """
    wall = time.perf_counter()
    wall_before = 0.0  # seconds spent by the parts before a resume
    resumed_from: list[int] = []
    wall_partial = False
    _check_architecture(method, config)
    if metrics_fn is None:  # CVR / NetCVR metrics: refuse undefined ones before any training
        check_labels(data)
    torch.set_num_threads(threads or default_threads())
    trainer = StreamTrainer(method, data, config)
    split, tl = data.split, data.timeline
    generator = torch.Generator().manual_seed(config.seed)
    model = build_model(method, data, config.seed)
    eval_rows = data.slice_click_rows()
    n_slices = split.n_slices
    preds_cvr: list[np.ndarray] = []
    preds_net: list[np.ndarray] = []
    start_slice = 0
    ckpt_path = None
    if checkpoint:
        run_key = config.digest(method.name, {**method.options, "data": [data_id, data.fingerprint()]})
        ckpt_path = Path(checkpoint) / f"{method.name}-{run_key}.pt"
    opt = torch.optim.Adam(
        model.parameters(), lr=config.model.stream_lr, weight_decay=config.model.weight_decay
    )
    trainer.aux = method.prepare(data.features, tl, data.windows, split)
    delivery = method.deliver(tl, data.windows, split) if method.online else None
    if ckpt_path is not None and ckpt_path.exists():
        state = torch.load(ckpt_path, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        preds_cvr, preds_net = state["preds_cvr"], state["preds_net"]
        trainer.train_samples, trainer.train_s = state["train_samples"], state["train_s"]
        trainer.skipped_samples = state.get("skipped_samples", 0)
        start_slice = state["next_slice"]
        wall_partial = state.get("wall_s") is None or state.get("wall_s_partial", False)
        wall_before = float(state.get("wall_s") or 0.0)
        resumed_from = [*state.get("resumed_from_slices", []), start_slice]
        if progress:
            tqdm.write(f"{method.name}: resumed from {ckpt_path} at slice {start_slice}")
    else:
        key = pretrain_key(method, model)
        if pretrained_cache is not None and key in pretrained_cache:
            model.load_state_dict(pretrained_cache[key])
        else:
            trainer.pretrain(model, generator, progress=progress)
            if pretrained_cache is not None:
                pretrained_cache[key] = copy.deepcopy(model.state_dict())
        generator.manual_seed(config.seed + 1)  # streaming randomness independent of caching
        # a fresh optimiser, so every method starts streaming from the same state
        opt = torch.optim.Adam(
            model.parameters(), lr=config.model.stream_lr, weight_decay=config.model.weight_decay
        )
    bar = progress_bar(
        range(start_slice, n_slices - 1),
        desc=method.name,
        unit="slices",
        disable=not progress,
        leave=False,
        initial=start_slice,
        total=n_slices - 1,
    )
    for n in bar:
        if delivery is not None:
            lo, hi = split.slice_bounds(n)
            trainer._train_samples(model, opt, delivery.between(lo, hi), generator)
        p_cvr, p_net = trainer.predict(model, eval_rows[n + 1])
        preds_cvr.append(p_cvr)
        preds_net.append(p_net)
        done = n + 1
        if ckpt_path is not None and (done % config.checkpoint_every == 0):
            ckpt_path.parent.mkdir(parents=True, exist_ok=True)
            _atomic_save(
                {
                    "model": model.state_dict(),
                    "opt": opt.state_dict(),
                    "generator": generator.get_state(),
                    "torch_rng": torch.get_rng_state(),
                    "preds_cvr": preds_cvr,
                    "preds_net": preds_net,
                    "train_samples": trainer.train_samples,
                    "train_s": trainer.train_s,
                    "skipped_samples": trainer.skipped_samples,
                    "next_slice": done,
                    "wall_s": wall_before + time.perf_counter() - wall,
                    "resumed_from_slices": resumed_from,
                    "wall_s_partial": wall_partial,
                },
                ckpt_path,
            )
        if stop_after is not None and done >= stop_after:
            return None
    rows = np.concatenate(eval_rows[1:]) if n_slices > 1 else np.zeros(0, np.int64)
    slice_id = (
        np.concatenate([np.full(len(r), i + 1) for i, r in enumerate(eval_rows[1:])])
        if n_slices > 1
        else np.zeros(0, np.int64)
    )
    p_cvr = np.concatenate(preds_cvr) if preds_cvr else np.zeros(0)
    p_net = np.concatenate(preds_net) if preds_net else np.zeros(0)
    metrics = (metrics_fn or stream_metrics)(tl, rows, slice_id, p_cvr, p_net)
    if ckpt_path is not None and ckpt_path.exists():
        ckpt_path.unlink()
    return StreamResult(
        method.name,
        rows,
        slice_id,
        p_cvr,
        p_net,
        metrics,
        wall_before + time.perf_counter() - wall,
        trainer.train_samples,
        trainer.train_s,
        resumed_from,
        wall_partial,
        trainer.skipped_samples,
        model,
        method,
        list(data.cardinalities),
    )


def check_labels(data: StreamData) -> None:
    """ValueError before any training when the evaluated clicks lack a label class (AUC and
    PCOC of CVR or NetCVR would be undefined)."""
    rows = np.concatenate(data.slice_click_rows()[1:])
    tl = data.timeline
    for label, values in (("pay", tl.paid[rows]), ("net conversion (pay not refunded)", tl.net[rows])):
        if not values.any():
            raise ValueError(
                f"no {label} among the {len(rows):,} evaluated stream clicks: the metrics are "
                "undefined (does the log hold its pay events, of kind 'pay', within the "
                f"{data.windows.conversion_attribution_s / 86_400:g}-day conversion window?)"
            )
        if values.all():
            raise ValueError(f"every evaluated stream click has a {label}: AUC is undefined")


def _check_architecture(method: StreamMethod, config: RunConfig) -> None:
    """Refuse a method whose network sizes differ from the run's: the method builds the network
    from its own ModelConfig, the run trains it with ``config.model``, so a mismatch would
    silently ignore the run's ``embed_dim`` / ``hidden``."""
    own = getattr(method, "config", None)
    if not isinstance(own, ModelConfig):
        return
    for name in ("embed_dim", "hidden"):
        if getattr(own, name) != getattr(config.model, name):
            raise ValueError(
                f"method {method.name!r} was built with {name}={getattr(own, name)} but the run's "
                f"config.model has {name}={getattr(config.model, name)}; build it with "
                f"get_method({method.name!r}, config.model)"
            )


def _slice_mean(fn, y: np.ndarray, p: np.ndarray, slice_id: np.ndarray, need_both: bool) -> float:
    """Mean of a metric over slices (slices lacking a class are skipped where the metric needs both)."""
    order = np.argsort(slice_id, kind="stable")
    y, p, s = y[order], p[order], slice_id[order]
    cuts = np.flatnonzero(np.diff(s)) + 1
    values = []
    for ys, ps in zip(np.split(y, cuts), np.split(p, cuts), strict=True):
        if len(ys) == 0 or (need_both and (ys.min() == ys.max())):
            continue
        values.append(fn(ys, ps))
    return float(np.mean(values)) if values else float("nan")


def stream_metrics(
    tl: Timeline, rows: np.ndarray, slice_id: np.ndarray, p_cvr: np.ndarray, p_net: np.ndarray
) -> dict[str, float]:
    """CVR and NetCVR metrics of predictions on evaluated clicks: slice-averaged and pooled."""
    out: dict[str, float] = {}
    if len(rows) == 0:
        return out
    for target, y, p in (("cvr", tl.paid[rows], p_cvr), ("netcvr", tl.net[rows], p_net)):
        y = y.astype(np.float64)
        p = np.clip(p, 1e-7, 1 - 1e-7)
        out[f"{target}_auc"] = _slice_mean(auc, y, p, slice_id, True)
        out[f"{target}_prauc"] = _slice_mean(pr_auc, y, p, slice_id, True)
        out[f"{target}_nll"] = _slice_mean(nll, y, p, slice_id, False)
        out[f"{target}_pcoc"] = pcoc(y, p)
        out[f"{target}_auc_pooled"] = auc(y, p)
        out[f"{target}_prauc_pooled"] = pr_auc(y, p)
        out[f"{target}_nll_pooled"] = nll(y, p)
    return out


def add_relative_improvement(
    results: Sequence[dict], pretrained: str = "pretrained", oracle: str = "oracle"
) -> None:
    """Add RI-AUC and RI-PRAUC (percent, TESLA App. D.3) to each result's metrics, in place."""
    by = {r["method"]: r["metrics"] for r in results}
    if pretrained not in by or oracle not in by:
        return
    for r in results:
        m = r["metrics"]
        for target in ("cvr", "netcvr"):
            for name in ("auc", "prauc"):
                lo, hi = by[pretrained][f"{target}_{name}"], by[oracle][f"{target}_{name}"]
                m[f"{target}_ri_{name}"] = (
                    100.0 * (m[f"{target}_{name}"] - lo) / (hi - lo) if hi != lo else float("nan")
                )
