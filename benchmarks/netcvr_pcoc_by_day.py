"""CVR PCOC of DDFM, ES-DFM and Oracle by day of the quick stream (300k clicks, 4 days).

Checks where DDFM's over-prediction comes from: if it came from the stream's start (its
real-negative duplicates arrive 3 days after the click), the first days would be the biased
ones. Prints one line per method and seed:

    python benchmarks/netcvr_pcoc_by_day.py
"""

import numpy as np

from shopml.conversion.base import get_method
from shopml.conversion.bench import BenchSpec, load_log, run_config
from shopml.conversion.trainer import StreamData, run_stream


def main() -> None:
    """Print CVR PCOC by stream day for DDFM, ES-DFM and Oracle on seeds 1 and 2."""
    spec = BenchSpec(clicks=300_000, quick=True)
    for seed in (1, 2):
        config = run_config(spec, seed)
        log, _, _ = load_log(spec, seed)
        data = StreamData.from_log(log, config.windows, config.stream)
        cache = {}
        for name in ("ddfm", "esdfm", "oracle"):
            res = run_stream(get_method(name, config.model), data, config, progress=False, pretrained_cache=cache)
            y = data.timeline.paid[res.rows] & (data.timeline.pay_delay[res.rows] <= config.windows.conversion_attribution_s)
            day = res.slice_id // 96
            out = []
            for d in np.unique(day):
                m = day == d
                out.append(f"d{d}: {res.p_cvr[m].mean() / max(y[m].mean(), 1e-9):.2f}")
            print(f"seed {seed} {name:<7} CVR PCOC by stream day:", "  ".join(out), flush=True)


if __name__ == "__main__":
    main()
