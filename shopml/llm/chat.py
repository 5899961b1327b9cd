"""Turning a GenerationRequest into OpenAI-style chat messages (shared by the LLM backends)."""

from __future__ import annotations

from shopml.llm.base import GenerationRequest


def check_request(request: GenerationRequest) -> None:
    """Reject requests no backend can serve (a clear ValueError naming the field)."""
    if not request.prompt.strip():
        raise ValueError("GenerationRequest.prompt is empty")
    if request.max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {request.max_tokens}")
    if not 0.0 <= request.temperature <= 2.0:
        raise ValueError(f"temperature must be in [0, 2], got {request.temperature}")
    if request.seed < 0:
        raise ValueError(f"seed must be non-negative, got {request.seed}")


def chat_messages(request: GenerationRequest) -> list[dict[str, str]]:
    """The system message (when given), then the prompt as the user's message."""
    check_request(request)
    messages = []
    if request.system.strip():
        messages.append({"role": "system", "content": request.system})
    messages.append({"role": "user", "content": request.prompt})
    return messages
