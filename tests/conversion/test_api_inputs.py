"""The Python API on bad input: configs, methods and logs are refused with a clear error."""

import pytest
from pydantic import ValidationError

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
