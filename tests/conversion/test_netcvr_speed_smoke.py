"""Smoke test of benchmarks/netcvr_speed.py on a tiny log: it runs, writes a card, replays exactly."""

import json

import pytest

from shopml.conversion import trainer
from tests.conversion import load_benchmark


@pytest.mark.slow
def test_netcvr_speed_main_writes_a_card(tmp_path):
    bench = load_benchmark("netcvr_speed")
    args = ["--clicks", "20000", "--seed", "2", "--stream-days", "1", "--repeats", "2"]
    path = bench.main([*args, "--out-dir", str(tmp_path)])
    assert path == tmp_path / "netcvr_speed-cascade-20000-seed2.json"
    card = json.loads(path.read_text())
    assert card["benchmark"] == "netcvr_speed"
    assert card["dataset"]["clicks"] == 20000 and card["dataset"]["sha256"]
    by = {r["method"]: r["metrics"] for r in card["results"]}
    assert by["stream_data"]["stream_build_clicks_per_s"] > 0
    assert by["stream_data"]["n_slices"] == 96  # --stream-days 1 of 15-min slices
    assert {"tesla", "esdfm", "oracle", "pretrained"} <= set(by)
    assert by["pretrained"]["delivered_samples"] == 0
    for name in ("tesla", "esdfm"):
        m = by[name]
        assert m["delivered_samples"] >= m["train_samples"] > 0
        assert m["train_s"] > 0 and m["bare_s"] > 0 and m["overhead_ratio"] > 0
        assert m["max_abs_param_diff"] == 0.0  # the bare loop replays the trainer's exact work
    assert set(card["load_avg"]) == {"before", "after"}
    assert trainer.StreamTrainer is not bench._RecordingTrainer  # the patch is undone
