"""Multi-touch attribution: journeys from the touchpoints table, rule-based methods, Markov
removal effects, Shapley values and DNAMTA, one file a method, found by name in a registry.

Names are imported lazily, so `shopml --help` (which imports ``shopml.attribution.cli``)
does not load pandas.
"""

from __future__ import annotations

from shopml.lazy import lazy_getattr

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


__getattr__ = lazy_getattr(__name__, _EXPORTS)
