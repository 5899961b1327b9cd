"""Text-generation backends for listing drafts: one interface, chosen by name."""

from shopml.llm.base import (
    Backend,
    BackendError,
    BackendTimeoutError,
    BackendUnavailableError,
    GenerationRequest,
)
from shopml.llm.registry import backend_names, get_backend, register_backend

__all__ = [
    "Backend",
    "BackendError",
    "BackendTimeoutError",
    "BackendUnavailableError",
    "GenerationRequest",
    "backend_names",
    "get_backend",
    "register_backend",
]
