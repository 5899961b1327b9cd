"""CVR and NetCVR under (cascaded) delayed feedback: the stream protocol, its baselines, ECAD and TESLA.

The main names are imported lazily (``from shopml.conversion import run_stream`` loads
PyTorch only then); see docs/conversion.md, "Running on your own log".
"""

from __future__ import annotations

from shopml.lazy import lazy_getattr

_EXPORTS = {
    "ModelConfig": "shopml.conversion.base",
    "get_method": "shopml.conversion.base",
    "methods": "shopml.conversion.base",
    "RunConfig": "shopml.conversion.trainer",
    "StreamData": "shopml.conversion.trainer",
    "StreamResult": "shopml.conversion.trainer",
    "run_stream": "shopml.conversion.trainer",
    "StreamConfig": "shopml.conversion.stream",
    "Windows": "shopml.conversion.timeline",
    "score_clicks": "shopml.conversion.scoring",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS)
