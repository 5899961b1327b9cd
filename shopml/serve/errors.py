"""Errors the web app returns: each a clear message and the right HTTP status.

``ApiError`` carries its own status. Errors raised by the listing pipeline keep their own
types (``ImageError``, ``FormError``, backend errors); :data:`STATUS_BY_ERROR` maps each type to
its status, most specific first, so one exception handler serves them all.
"""

from __future__ import annotations

import importlib


class ApiError(Exception):
    """A request that cannot be served: `status` is the HTTP status, `message` says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error_types() -> list[tuple[type[BaseException], int]]:
    """(exception type, HTTP status) pairs for the pipeline's errors, most specific first."""
    spec = [
        ("shopml.llm.base", "BackendTimeoutError", 504),
        ("shopml.llm.base", "BackendUnavailableError", 503),
        ("shopml.llm.base", "BackendError", 502),
        ("shopml.vision.images", "ImageError", 422),
        ("shopml.listing.facts", "FormError", 422),
        ("shopml.listing.attributes.predictor", "ArtifactError", 503),  # model file missing
    ]
    found = []
    for module_name, class_name, status in spec:
        try:
            module = importlib.import_module(module_name)
        except ImportError:  # that part of the pipeline is not installed in this checkout
            continue
        found.append((getattr(module, class_name), status))
    return found


STATUS_BY_ERROR: list[tuple[type[BaseException], int]] = _error_types()


def status_for(error: BaseException) -> int | None:
    """The HTTP status for a pipeline error, or None if it is not a known error type."""
    if isinstance(error, ApiError):
        return error.status
    for error_type, status in STATUS_BY_ERROR:
        if isinstance(error, error_type):
            return status
    return None
