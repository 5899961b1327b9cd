"""CVR PCOC of DDFM, ES-DFM and Oracle by day of the quick stream (300k clicks, 4 days).

Checks where DDFM's over-prediction comes from. Prints one line per method and seed:

    python benchmarks/netcvr_pcoc_by_day.py
    python benchmarks/netcvr_pcoc_by_day.py --gap-duplicates
    python benchmarks/netcvr_pcoc_by_day.py --gap-duplicates --stream-lr 3e-4 --seeds 1

``--gap-duplicates`` (a diagnostic, not a protocol option): the stream normally delivers
samples of the *streaming* clicks only, so during its first 3 days (the attribution window)
no real-negative duplicate exists yet while delayed-positive duplicates already arrive, and
ES-DFM's delayed positives are short of their steady-state number. With the flag, the clicks
of the leakage gap deliver too (only what falls inside the stream is kept, as always: their
delayed positives at pay time and real negatives at click + 3 d), so the duplicate stream is
in steady state from its first slice. ``--stream-lr`` overrides the online learning rate, to
see whether a drift of PCOC over the days is the model moving towards its loss's fixed point
(faster with a larger step).
"""

import argparse

import numpy as np

from shopml.conversion import _delivery
from shopml.conversion.base import get_method
from shopml.conversion.bench import BenchSpec, load_log, run_config
from shopml.conversion.trainer import StreamData, run_stream


def _deliver_gap_clicks_too() -> None:
    """Make every delivery builder start from the gap's clicks instead of the stream's."""
    init = _delivery.DeliveryBuilder.__init__

    def widened(self, timeline, split, kinds, rows=None):
        if rows is None:
            click = timeline.click_ts
            rows = np.flatnonzero((click >= split.pretrain_end) & (click < split.stream_end))
        init(self, timeline, split, kinds, rows=rows)

    _delivery.DeliveryBuilder.__init__ = widened


def main() -> None:
    """Print CVR PCOC by stream day for DDFM, ES-DFM and Oracle."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2")
    parser.add_argument("--gap-duplicates", action="store_true")
    parser.add_argument("--stream-lr", type=float, default=None)
    args = parser.parse_args()
    if args.gap_duplicates:
        _deliver_gap_clicks_too()
    spec = BenchSpec(clicks=300_000, quick=True)
    for seed in (int(s) for s in args.seeds.split(",")):
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
                  f"| all days {pooled:.2f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
