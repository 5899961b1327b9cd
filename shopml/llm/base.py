"""The one interface every listing-generation backend implements.

A backend turns a :class:`GenerationRequest` (the prompt plus the structured facts and
retrieved style references it was built from) into text. Backends: ``local`` (a GGUF model
run in-process by xllamacpp), ``openai`` (any OpenAI-compatible server by URL) and
``template`` (no LLM; ``shopml.listing.template``). Failures are raised as
:class:`BackendError` subclasses so callers (CLI, web app) can map them to clear messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@dataclass
class GenerationRequest:
    """What to generate: the prompt, an optional system message, and the facts behind it."""

    prompt: str
    system: str = ""
    facts: dict[str, str] = field(default_factory=dict)
    references: list[str] = field(default_factory=list)
    max_tokens: int = 256
    temperature: float = 0.0
    seed: int = 0


@runtime_checkable
class Backend(Protocol):
    """A text generator: ``generate(request) -> str``."""

    name: str

    def generate(self, request: GenerationRequest) -> str:
        """Return the generated text for `request`."""
        ...


class BackendError(RuntimeError):
    """A backend failed (bad model file, HTTP error, malformed response, ...)."""


class BackendUnavailableError(BackendError):
    """The backend cannot be reached or loaded (server down, model missing)."""


class BackendTimeoutError(BackendError):
    """The backend did not answer within its time limit."""
