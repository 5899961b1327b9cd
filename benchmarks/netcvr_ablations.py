"""Ablations behind the NetCVR leaderboard's differences from TESLA's Table 2.

Three questions, each answered on the quick protocol (300k clicks, 8 pre-training days,
a 4-day stream of 15-min slices; every run of a seed on the same world):

* ``weights`` (benchmark ``netcvr_ablation``): ES-DFM, DEFUSE and DDFM with their weights from the frozen
  true-negative / delayed-positive classifier (official code; the default) against the
  closed forms in the online model's own prediction (``weights_from=model``, our first
  implementation): does the feedback loop explain their CVR PCOC > 1?
* ``refund`` (``netcvr_ablation_refund``): every streaming baseline with ``refund_debias=true`` (FNW weights on the
  refund stage): how much of the baselines' NetCVR PCOC > 1 is the plain-BCE refund tower?
* ``drift`` (``netcvr_ablation_drift``): the cascade world with the day-to-day category drift scaled
  (``drift_sd`` 0.0, 0.35 = the calibrated default, 0.7, 1.05): does BDL's lead over the
  streaming methods shrink as the world drifts faster?

Cards go to docs/results/cards and the pages to docs/results/<benchmark>.md. Usage:

    python benchmarks/netcvr_ablations.py --part all --seeds 1,2,3
"""

from __future__ import annotations

import argparse

import torch
from rich.console import Console

from shopml.conversion.bench import QUICK_CLICKS, BenchSpec, run_bench

WEIGHTED = ["esdfm", "defuse", "ddfm"]
STREAMING = ["fnc", "fnw", "defer", "defuse", "esdfm", "ddfm"]
DRIFT_METHODS = ["pretrained", "oracle", "bdl", "fnw", "esdfm", "tesla"]
DRIFT_LEVELS = [0.0, 0.35, 0.7, 1.05]  # 0.35 is the calibrated default


def weights_spec(clicks: int, seeds: list[int]) -> BenchSpec:
    """Default world: ES-DFM, DEFUSE, DDFM with weights from the classifier and from the model."""
    variants = {f"{m}_model_weights": (m, {"weights_from": "model"}) for m in WEIGHTED}
    return BenchSpec(
        clicks=clicks,
        seeds=seeds,
        methods=["pretrained", "oracle", *WEIGHTED],
        quick=True,
        variants=variants,
        benchmark="netcvr_ablation",
    )


def refund_spec(clicks: int, seeds: list[int]) -> BenchSpec:
    """Default world: every streaming baseline with and without the refund-stage correction."""
    variants = {f"{m}_refund_debias": (m, {"refund_debias": True}) for m in STREAMING}
    return BenchSpec(
        clicks=clicks,
        seeds=seeds,
        methods=["pretrained", "oracle", "bdl", *STREAMING, "tesla"],
        quick=True,
        variants=variants,
        benchmark="netcvr_ablation_refund",
    )


def drift_specs(clicks: int, seeds: list[int]) -> list[BenchSpec]:
    """The cascade world at other drift strengths, with the methods the question needs."""
    return [
        BenchSpec(
            clicks=clicks,
            seeds=seeds,
            methods=DRIFT_METHODS,
            quick=True,
            preset_params={"drift_sd": level},
            benchmark="netcvr_ablation_drift",
        )
        for level in DRIFT_LEVELS
    ]


def main(argv: list[str] | None = None) -> None:
    """Run the chosen ablation parts and write their cards and page."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["weights", "refund", "drift", "all"], default="all")
    parser.add_argument("--clicks", type=int, default=QUICK_CLICKS)
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    seeds = [int(s) for s in args.seeds.split(",")]
    specs = []
    if args.part in ("weights", "all"):
        specs.append(weights_spec(args.clicks, seeds))
    if args.part in ("refund", "all"):
        specs.append(refund_spec(args.clicks, seeds))
    if args.part in ("drift", "all"):
        specs += drift_specs(args.clicks, seeds)
    console = Console()
    for spec in specs:
        for path in run_bench(spec, console, progress=False):
            console.print(f"wrote {path}")


if __name__ == "__main__":
    main()
