"""CVR PCOC of DDFM, ES-DFM and Oracle by day of the quick stream (300k clicks, 4 days).

Checks where DDFM's over-prediction comes from. Prints one line per method and seed:

    python benchmarks/netcvr_pcoc_by_day.py
    python benchmarks/netcvr_pcoc_by_day.py --gap-duplicates
    python benchmarks/netcvr_pcoc_by_day.py --gap-duplicates --stream-lr 3e-4 --seeds 1
    python benchmarks/netcvr_pcoc_by_day.py --gap-duplicates --lag-delayed-positives
    python benchmarks/netcvr_pcoc_by_day.py --gap-duplicates --methods esdfm,oracle --seeds 1 \
        --preset-param drift_sd=0 --preset-param global_drift_sd=0 --preset-param refund_drift_sd=0
    python benchmarks/netcvr_pcoc_by_day.py --gap-duplicates --weighted-rate
    python benchmarks/netcvr_pcoc_by_day.py --gap-duplicates --methods esdfm,oracle --blank c_0
    python benchmarks/netcvr_pcoc_by_day.py --gap-duplicates --flat-volume

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
``--weighted-rate`` prints, instead of training, ES-DFM's delivered stream per day seen as
data: the importance-weighted positive rate Σ w+·y / Σ (w+·y + w−·(1 − y)) with the frozen
classifier's weights (the best constant prediction under ES-DFM's loss) beside the realised
CVR of that day's clicks, and the classifier's mean p(dp) and p(tn | observed negative)
beside their realised rates. ``--blank c_0`` hides the hour-of-day field from every model
(each click gets code 0), to see how much of a method's drift goes through that field.
``--flat-volume`` (a diagnostic of the world, not a preset option) simulates the same world
with the same click volume in every hour of the day instead of the night trough and evening
peak of :data:`shopml.data.simulate.world.HOURLY_VOLUME`.
"""

import argparse

import numpy as np
import torch

from shopml.conversion import _delivery
from shopml.conversion.base import get_method
from shopml.conversion.bench import BenchSpec, load_log, run_config
from shopml.conversion.esdfm import esdfm_classifier_weights
from shopml.conversion.trainer import RunConfig, StreamData, run_stream
from shopml.data.simulate import parse_preset_params
from shopml.metrics.classification import auc

DAY = 86_400


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


def print_weighted_rate(data: StreamData, config: RunConfig, seed: int) -> None:
    """ES-DFM's delivered stream as data: weighted positive rate vs realised CVR, per day."""
    method = get_method("esdfm", config.model)
    aux = method.prepare(data.features, data.timeline, data.windows, data.split)
    sent = method.deliver(data.timeline, data.windows, data.split)
    labelled = np.isin(sent.y_cvr, (0, 1))  # refund duplicates carry no CVR label
    tn, dp = aux["p_true_neg"][sent.row], aux["p_delayed_pos"][sent.row]
    positive = sent.y_cvr == 1
    w_pos, w_neg = esdfm_classifier_weights(torch.from_numpy(tn), torch.from_numpy(dp))
    weight = np.where(positive, w_pos.numpy(), w_neg.numpy()) * labelled  # eq. 17 / 18
    tl, split, windows = data.timeline, data.split, data.windows
    paid = tl.paid & (tl.pay_delay <= windows.conversion_attribution_s)
    in_stream = (tl.click_ts >= split.stream_start) & (tl.click_ts < split.stream_end)
    sent_day = (sent.ts - split.stream_start) // DAY
    click_day = (tl.click_ts - split.stream_start) // DAY
    out = []
    for d in np.unique(sent_day):
        rows = sent_day == d
        rate = (weight * positive)[rows].sum() / weight[rows].sum()
        realised = paid[in_stream & (click_day == d)].mean()
        out.append(f"d{d}: {rate:.4f} vs {realised:.4f} ({rate / realised:.2f})")
    late = paid & (tl.pay_delay > windows.conversion_observation_s)
    observed_neg = in_stream & ~(paid & ~late)
    print(f"seed {seed} esdfm weighted positive rate vs realised CVR by day:", "  ".join(out))
    print(f"seed {seed} classifier on stream clicks: p(dp) {aux['p_delayed_pos'][in_stream].mean():.4f}"
          f" (realised {late[in_stream].mean():.4f}), p(tn | observed negative) "
          f"{aux['p_true_neg'][observed_neg].mean():.4f} (realised {(~paid)[observed_neg].mean():.4f})",
          flush=True)  # fmt: skip


def _flatten_hourly_volume() -> None:
    """Give every hour of the day the same click volume in worlds simulated from now on."""
    from shopml.data.simulate import world

    world.HOURLY_VOLUME[:] = world.HOURLY_VOLUME.mean()  # in place: every default reads it


def main() -> None:
    """Print CVR PCOC by stream day for DDFM, ES-DFM and Oracle."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2")
    parser.add_argument("--gap-duplicates", action="store_true")
    parser.add_argument("--stream-lr", type=float, default=None)
    parser.add_argument("--lag-delayed-positives", action="store_true")
    parser.add_argument("--methods", default="ddfm,esdfm,oracle")
    parser.add_argument(
        "--preset-param", action="append", default=[], metavar="NAME=VALUE",
        help="override a preset constant (repeatable), e.g. drift_sd=0",
    )  # fmt: skip
    parser.add_argument("--blank", default="", help="comma-separated fields hidden (code 0)")
    parser.add_argument("--flat-volume", action="store_true", help="no hour-of-day volume cycle")
    parser.add_argument(
        "--weighted-rate", action="store_true",
        help="print ES-DFM's importance-weighted stream rate per day instead of training",
    )  # fmt: skip
    args = parser.parse_args()
    try:
        params = parse_preset_params(args.preset_param, numbers_only=True)
    except ValueError as exc:
        parser.error(str(exc))
    spec = BenchSpec(clicks=300_000, quick=True, preset_params=params)
    if args.gap_duplicates:
        _deliver_gap_clicks_too()
    if args.flat_volume:
        _flatten_hourly_volume()
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.lag_delayed_positives:  # the attribution window is the same for every seed
        _lag_delayed_positives(run_config(spec, seeds[0]).windows.conversion_attribution_s)
    for seed in seeds:
        config = run_config(spec, seed)
        if args.stream_lr is not None:
            config.model.stream_lr = args.stream_lr
        log, _, _ = load_log(spec, seed)
        data = StreamData.from_log(log, config.windows, config.stream)
        names = [f.name for f in log.spec.by_kind("categorical")]
        data.hide_fields(names, [f for f in args.blank.split(",") if f])
        if args.weighted_rate:
            print_weighted_rate(data, config, seed)
            continue
        cache = {}
        for name in args.methods.split(","):
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
