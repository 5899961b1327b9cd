"""The Python API on bad input: configs, methods and logs are refused with a clear error."""

import pytest
from pydantic import ValidationError

from shopml.conversion.base import ModelConfig, get_method
from shopml.conversion.stream import StreamConfig
from shopml.conversion.timeline import Windows
from shopml.value.protocol import GmvWindows


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
