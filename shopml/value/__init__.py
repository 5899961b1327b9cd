"""Post-click GMV under delayed feedback: the GMV view, the stream protocol reused from
:mod:`shopml.conversion`, the Single/Dual baselines and READER (arXiv 2601.20307).

The main names are imported lazily (``from shopml.value import GmvView`` loads only what it
needs)."""

from __future__ import annotations

from shopml.lazy import lazy_getattr

_EXPORTS = {
    "GmvView": "shopml.value.gmv",
    "GmvRunConfig": "shopml.value.protocol",
    "GmvWindows": "shopml.value.protocol",
    "build_gmv_data": "shopml.value.protocol",
    "get_gmv_method": "shopml.value.base",
    "gmv_methods": "shopml.value.base",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS)
