"""CVR PCOC of DDFM, ES-DFM and Oracle by day of the quick stream (300k clicks, 4 days).

Checks where DDFM's over-prediction comes from. Prints one line per method and seed:

    python benchmarks/netcvr_pcoc_by_day.py
    python benchmarks/netcvr_pcoc_by_day.py --gap-duplicates
    python benchmarks/netcvr_pcoc_by_day.py --gap-duplicates --stream-lr 3e-4 --seeds 1
    python benchmarks/netcvr_pcoc_by_day.py --gap-duplicates --lag-delayed-positives

``--gap-duplicates`` (a diagnostic, not a protocol option): the stream normally delivers
samples of the *streaming* clicks only, so during its first 3 days (the attribution window)
no real-negative duplicate exists yet while delayed-positive duplicates already arrive, and
ES-DFM's delayed positives are short of their steady-state number. With the flag, the clicks
of the leakage gap deliver too (only what falls inside the stream is kept, as always: their
delayed positives at pay time and real negatives at click + 3 d), so the duplicate stream is
in steady state from its first slice. ``--stream-lr`` overrides the online learning rate, to
see whether a drift of PCOC over the days is the model moving towards its loss's fixed point
(faster with a larger step). ``--lag-delayed-positives`` (also a diagnostic) delivers the
delayed-positive duplicates at click + attribution window instead of at pay time, the lag
of DDFM's real-negative duplicates, so both sides of the duplicated estimator reach the
online learner equally late. Each line also gives the pooled CVR AUC over the stream.
"""

import argparse

import numpy as np

from shopml.conversion import _delivery
from shopml.conversion.base import get_method
from shopml.conversion.bench import BenchSpec, load_log, run_config
from shopml.conversion.trainer import StreamData, run_stream
from shopml.metrics.classification import auc


def _deliver_gap_clicks_too() -> None:
    """Make every delivery builder start from the gap's clicks instead of the stream's."""
    init = _delivery.DeliveryBuilder.__init__

    def widened(self, timeline, split, kinds, rows=None):
        if rows is None:
            click = timeline.click_ts
            rows = np.flatnonzero((click >= split.pretrain_end) & (click < split.stream_end))
        init(self, timeline, split, kinds, rows=rows)

    _delivery.DeliveryBuilder.__init__ = widened


def _lag_delayed_positives(lag_s: int) -> None:
    """Make every builder deliver pay duplicates at click + `lag_s` instead of at pay time."""
    pay_duplicates = _delivery.DeliveryBuilder.pay_duplicates

    def lagged(self, kind, after_window_s=None):
        pay_duplicates(self, kind, after_window_s, at_click_plus_s=lag_s)

    _delivery.DeliveryBuilder.pay_duplicates = lagged


def main() -> None:
    """Print CVR PCOC by stream day for DDFM, ES-DFM and Oracle."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2")
    parser.add_argument("--gap-duplicates", action="store_true")
    parser.add_argument("--stream-lr", type=float, default=None)
    parser.add_argument("--lag-delayed-positives", action="store_true")
    args = parser.parse_args()
    spec = BenchSpec(clicks=300_000, quick=True)
    if args.gap_duplicates:
        _deliver_gap_clicks_too()
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.lag_delayed_positives:  # the attribution window is the same for every seed
        _lag_delayed_positives(run_config(spec, seeds[0]).windows.conversion_attribution_s)
    for seed in seeds:
        config = run_config(spec, seed)
        if args.stream_lr is not None:
            config.model.stream_lr = args.stream_lr
        log, _, _ = load_log(spec, seed)
        data = StreamData.from_log(log, config.windows, config.stream)
        cache = {}
        for name in ("ddfm", "esdfm", "oracle"):
            method = get_method(name, config.model)
            res = run_stream(method, data, config, progress=False, pretrained_cache=cache)
            window = config.windows.conversion_attribution_s
            y = data.timeline.paid[res.rows] & (data.timeline.pay_delay[res.rows] <= window)
            day = res.slice_id // 96
            out = [
                f"d{d}: {res.p_cvr[day == d].mean() / max(y[day == d].mean(), 1e-9):.2f}"
                for d in np.unique(day)
            ]
            pooled = res.p_cvr.mean() / y.mean()
            print(f"seed {seed} {name:<7} CVR PCOC by stream day:", "  ".join(out),
                  f"| all days {pooled:.2f} | CVR AUC {auc(y, res.p_cvr):.4f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
