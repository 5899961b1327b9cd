"""The Python API on bad input: configs, methods and logs are refused with a clear error."""

import pandas as pd
import pyarrow as pa
import pytest
from pydantic import ValidationError

from shopml.conversion.base import ModelConfig, get_method
from shopml.conversion.stream import StreamConfig
from shopml.conversion.timeline import Windows
from shopml.conversion.trainer import RunConfig, StreamData, StreamTrainer, run_stream
from shopml.data import EventLog, EventLogError
from shopml.data.simulate import simulate
from shopml.value.protocol import GmvRunConfig, GmvWindows, build_gmv_data


@pytest.mark.parametrize(
    ("model", "typo"),
    [
        (Windows, {"conversion_window_s": 3600}),
        (StreamConfig, {"pretrain_day": 8}),
        (GmvWindows, {"attribution_window_s": 3600}),
    ],
)
def test_a_misspelt_setting_is_refused_not_ignored(model, typo):
    with pytest.raises(ValidationError, match=next(iter(typo))):
        model(**typo)


@pytest.mark.parametrize("stage", ["conversion", "refund"])
def test_an_observation_window_past_its_attribution_window_is_refused(stage):
    """Waiting longer than the attribution window waits past every label: a wrong setting."""
    windows = {f"{stage}_attribution_s": 3600, f"{stage}_observation_s": 3601}
    with pytest.raises(ValidationError, match=f"{stage}_observation_s .3601 s. is longer"):
        Windows(**windows)
    Windows(**{**windows, f"{stage}_observation_s": 3600})  # equal is allowed: no label is late


@pytest.mark.parametrize("field", ["pretrain_days", "stream_days"])
def test_stream_days_must_be_finite(field):
    with pytest.raises(ValidationError, match=field):
        StreamConfig(**{field: float("inf")})


@pytest.mark.parametrize(
    "bad",
    [
        {"embed_dim": 0},
        {"hidden": [128, 0]},
        {"lr": -1e-3},
        {"stream_lr": float("nan")},
        {"batch_size": 0},
        {"pretrain_epochs": -1},
        {"weight_decay": -0.1},
    ],
)
def test_model_config_refuses_nonsense_values(bad):
    with pytest.raises(ValidationError, match=next(iter(bad))):
        ModelConfig(**bad)


def test_model_config_keeps_its_defaults_and_a_linear_head():
    assert ModelConfig().model_dump() == {
        "embed_dim": 8,
        "hidden": [128, 64],
        "lr": 1e-3,
        "stream_lr": 1e-4,
        "batch_size": 512,
        "pretrain_epochs": 2,
        "weight_decay": 0.0,
    }
    assert ModelConfig(hidden=[], pretrain_epochs=0).hidden == []


def test_get_method_refuses_a_config_that_is_not_a_model_config():
    with pytest.raises(TypeError, match=r"config must be a ModelConfig.*dict"):
        get_method("tesla", {"embed_dim": 16})


@pytest.fixture(scope="module")
def frames():
    """A small simulated world's clicks and events as pandas DataFrames, and its spec."""
    log = simulate("cascade", 3000, 2).log
    return log.clicks.to_pandas(), log.events.to_pandas(), log.spec


def from_frames(clicks: pd.DataFrame, events: pd.DataFrame, spec) -> EventLog:
    return EventLog(
        clicks=pa.Table.from_pandas(clicks, preserve_index=False),
        events=pa.Table.from_pandas(events, preserve_index=False),
        spec=spec,
    )


def pays_before_their_click(clicks: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    events = events.copy()
    pays = events.index[events["kind"] == "pay"][:5]
    click_ts = clicks.set_index("click_id")["ts"]
    events.loc[pays, "ts"] = click_ts.loc[events.loc[pays, "click_id"]].to_numpy() - 3600
    return events


def test_stream_data_from_a_valid_frame_log_is_the_log_read_from_disk(frames):
    clicks, events, spec = frames
    config = RunConfig(stream=StreamConfig(pretrain_days=8))
    data = StreamData.from_log(from_frames(clicks, events, spec), config.windows, config.stream)
    assert data.timeline.paid.sum() > 0
    assert data.split.n_slices == 1056


@pytest.mark.parametrize(
    ("mangle", "check"),
    [
        (lambda c, e: (c, pays_before_their_click(c, e)), "event_before_click 5"),
        (lambda c, e: (c.assign(ts=pd.to_datetime(c["ts"], unit="s")), e), "column 'ts'"),
        (lambda c, e: (c.assign(ts=c["ts"] * 1000), e.assign(ts=e["ts"] * 1000)), "ts_out_of_range"),
        (lambda c, e: (c.assign(click_id=c["click_id"].where(c.index != 1, c["click_id"][0])), e), "duplicate_click_id"),
    ],
    ids=["pay_before_click", "datetime_ts", "milliseconds", "duplicate_id"],
)
def test_stream_data_refuses_a_log_with_errors_and_names_them(frames, mangle, check):
    clicks, events, spec = frames
    config = RunConfig(stream=StreamConfig(pretrain_days=8))
    log = from_frames(*mangle(clicks, events), spec)
    with pytest.raises(EventLogError, match=check) as caught:
        StreamData.from_log(log, config.windows, config.stream)
    assert "validate(log)" in str(caught.value)
    with pytest.raises(EventLogError, match=check):
        build_gmv_data(log, GmvRunConfig(stream=StreamConfig(pretrain_days=8, slice_s=3 * 3600)))


def test_run_stream_refuses_a_log_without_pays_before_any_training(frames, monkeypatch):
    clicks, events, spec = frames
    config = RunConfig(stream=StreamConfig(pretrain_days=8))
    log = from_frames(clicks, events.assign(kind=events["kind"].str.upper()), spec)  # "PAY"
    data = StreamData.from_log(log, config.windows, config.stream)  # unknown kinds only warn

    def trained(*args, **kwargs):
        raise AssertionError("trained before the labels were checked")

    monkeypatch.setattr(StreamTrainer, "pretrain", trained)
    with pytest.raises(ValueError, match=r"no pay among the .* evaluated stream clicks.*kind 'pay'"):
        run_stream(get_method("oracle", config.model), data, config, progress=False)


def test_a_tesla_variant_keeps_the_structure_its_name_says():
    with pytest.raises(ValueError, match="tesla_shared is TESLA with the shared structure"):
        get_method("tesla_shared", structure="separate")
    assert get_method("tesla_shared", structure="shared").opts.structure == "shared"
    assert get_method("tesla", structure="shared").opts.structure == "shared"


def test_a_pretraining_part_without_clicks_to_train_on_is_refused(frames):
    clicks, events, spec = frames
    config = RunConfig(stream=StreamConfig(pretrain_days=1e-4))
    data = StreamData.from_log(from_frames(clicks, events, spec), config.windows, config.stream)
    with pytest.raises(ValueError, match=r"the pre-training part holds [01] click\(s\)"):
        run_stream(get_method("oracle", config.model), data, config, progress=False)


def test_single_sample_slices_are_counted_not_lost(frames):
    clicks, events, spec = frames
    config = RunConfig(stream=StreamConfig(pretrain_days=8, slice_s=600))
    data = StreamData.from_log(from_frames(clicks, events, spec), config.windows, config.stream)
    method = get_method("oracle", config.model)
    result = run_stream(method, data, config, progress=False)
    split = data.split
    delivery = method.deliver(data.timeline, data.windows, split)
    sizes = [len(delivery.between(*split.slice_bounds(n))) for n in range(split.n_slices - 1)]
    singles = sizes.count(1)
    assert singles > 0  # 10-minute slices of a 3,000-click world: many hold one click
    assert result.skipped_samples == singles
    assert result.card_entry("oracle")["skipped_samples"] == singles


@pytest.mark.parametrize("name", ["oracle", "fnc", "tesla"])
def test_score_clicks_uses_the_network_the_stream_ended_with(frames, name):
    import numpy as np

    from shopml.conversion.scoring import score_clicks

    clicks, events, spec = frames
    config = RunConfig(stream=StreamConfig(pretrain_days=8, slice_s=6 * 3600))
    log = from_frames(clicks, events, spec)
    data = StreamData.from_log(log, config.windows, config.stream)
    result = run_stream(get_method(name, config.model), data, config, progress=False)
    scored = score_clicks(result, log)
    assert list(scored.columns) == ["click_id", "p_cvr", "p_netcvr"]
    assert scored["click_id"].tolist() == clicks["click_id"].tolist()
    # the last slice was predicted by the network as the stream left it
    last = result.slice_id == result.slice_id.max()
    rows = result.rows[last]
    assert np.allclose(scored["p_cvr"].to_numpy()[rows], result.p_cvr[last], atol=1e-6)
    assert np.allclose(scored["p_netcvr"].to_numpy()[rows], result.p_net[last], atol=1e-6)


def test_score_clicks_refuses_a_log_with_other_features(frames):
    from shopml.conversion.scoring import score_clicks

    clicks, events, spec = frames
    config = RunConfig(stream=StreamConfig(pretrain_days=8, slice_s=6 * 3600))
    log = from_frames(clicks, events, spec)
    result = run_stream(
        get_method("pretrained", config.model),
        StreamData.from_log(log, config.windows, config.stream), config, progress=False,
    )  # fmt: skip
    wider = spec.model_copy(deep=True)
    feature = wider.by_kind("categorical")[0]
    feature.vocab_size = feature.cardinality + 5
    with pytest.raises(ValueError, match="not the ones the network was trained on"):
        score_clicks(result, from_frames(clicks, events, wider))
