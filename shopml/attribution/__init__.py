"""Multi-touch attribution: journeys from the touchpoints table, rule-based methods, Markov
removal effects, Shapley values and DNAMTA, one file a method, found by name in a registry.

Names are imported lazily, so `shopml --help` (which imports ``shopml.attribution.cli``)
does not load pandas.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Attribution": "shopml.attribution.base",
    "attribute": "shopml.attribution.base",
    "get_method": "shopml.attribution.base",
    "methods": "shopml.attribution.base",
    "Journeys": "shopml.attribution.journeys",
    "build_journeys": "shopml.attribution.journeys",
    "journeys_from_log": "shopml.attribution.journeys",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'shopml.attribution' has no attribute {name!r}")
