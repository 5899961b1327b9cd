"""Backends by name: ``get_backend("local", n_threads=2)``.

Backend modules register a factory with ``@register_backend(name)``; the modules are imported
lazily (``_BACKEND_MODULES``) so that asking for one backend never imports another's heavy
dependencies.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from shopml.llm.base import Backend

BackendFactory = Callable[..., Backend]

# name -> module whose import registers that backend
_BACKEND_MODULES: dict[str, str] = {
    "local": "shopml.llm.local",
    "openai": "shopml.llm.openai_compat",
    "template": "shopml.listing.template",
}
_FACTORIES: dict[str, BackendFactory] = {}


def register_backend(name: str) -> Callable[[BackendFactory], BackendFactory]:
    """Register a backend factory ``(**options) -> Backend`` under `name`."""

    def wrap(factory: BackendFactory) -> BackendFactory:
        _FACTORIES[name] = factory
        return factory

    return wrap


def backend_names() -> list[str]:
    """Names of all known backends (registered or importable on demand), sorted."""
    return sorted(set(_BACKEND_MODULES) | set(_FACTORIES))


def get_backend(name: str, **options: Any) -> Backend:
    """Build the backend registered as `name` with `options` (imports its module if needed)."""
    if name not in _FACTORIES and name in _BACKEND_MODULES:
        importlib.import_module(_BACKEND_MODULES[name])
    if name not in _FACTORIES:
        raise ValueError(f"unknown backend {name!r}; choose from {backend_names()}")
    return _FACTORIES[name](**options)
