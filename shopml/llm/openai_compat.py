"""The ``openai`` backend: any OpenAI-compatible chat server by URL.

Works with vLLM, Ollama (``http://localhost:11434/v1``), llama.cpp's server, LM Studio or the
OpenAI API itself: it POSTs to ``<base_url>/chat/completions`` (``/v1`` is added when the URL
does not end in it) with the standard JSON body, using only the standard library. Failures map
onto the backend errors, each naming the URL: connection refused or an unknown host ->
BackendUnavailableError; no answer within ``timeout_s`` -> BackendTimeoutError; an HTTP error
-> BackendError with the status and the start of the body; a body that is not the expected
JSON -> BackendError.

``timeout_s`` bounds the connection and every wait for data (the socket timeout), and the
whole request: a server that trickles bytes is cut off at ``timeout_s`` as well.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from shopml.llm.base import (
    BackendError,
    BackendTimeoutError,
    BackendUnavailableError,
    GenerationRequest,
)
from shopml.llm.chat import chat_messages
from shopml.llm.registry import register_backend

_BODY_EXCERPT = 300  # characters of an error body quoted in messages


def normalise_base_url(base_url: str) -> str:
    """``http://host:port[/prefix]`` -> the same URL ending in ``/v1`` (no trailing slash)."""
    parsed = urllib.parse.urlparse(base_url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(
            f"base_url must be an http(s) URL like http://localhost:8000/v1, got {base_url!r}"
        )
    url = base_url.strip().rstrip("/")
    return url if url.endswith("/v1") else url + "/v1"


def _is_timeout(error: BaseException) -> bool:
    reason = getattr(error, "reason", error)
    return isinstance(reason, TimeoutError | socket.timeout) or "timed out" in str(reason)


class OpenAICompatBackend:
    """Generates through an OpenAI-compatible ``/v1/chat/completions`` endpoint."""

    name = "openai"

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8080/v1",
        model: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        self.base_url = normalise_base_url(base_url)
        self.model = model  # None: the first model the server lists under /v1/models
        self.api_key = api_key
        self.timeout_s = timeout_s
        self.last_usage: dict[str, Any] = {}

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def _call(self, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        """One HTTP request to ``base_url + path``; the decoded JSON object it returns."""
        url = self.base_url + path
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(
            url, data=data, headers=self._headers(), method="GET" if body is None else "POST"
        )
        deadline = time.monotonic() + self.timeout_s
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                chunks = []
                while block := response.read(65536):
                    chunks.append(block)
                    if time.monotonic() > deadline:
                        raise TimeoutError("response still arriving")
                raw = b"".join(chunks)
                expected = response.headers.get("Content-Length")
                if expected is not None and expected.isdigit() and int(expected) != len(raw):
                    raise http.client.IncompleteRead(raw, int(expected) - len(raw))
        except urllib.error.HTTPError as error:
            excerpt = error.read(_BODY_EXCERPT * 4).decode("utf-8", "replace")[:_BODY_EXCERPT]
            raise BackendError(
                f"{url} answered HTTP {error.code} {error.reason}: {excerpt.strip()}"
            ) from error
        except (urllib.error.URLError, OSError) as error:
            if _is_timeout(error):
                raise BackendTimeoutError(
                    f"{url} did not answer within {self.timeout_s:g} s"
                ) from error
            reason = getattr(error, "reason", error)
            raise BackendUnavailableError(f"cannot reach {url}: {reason}") from error
        except http.client.HTTPException as error:  # a broken or cut-off HTTP answer
            raise BackendError(f"{url} sent a broken HTTP response: {error!r}") from error
        try:
            decoded = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            excerpt = raw[:_BODY_EXCERPT].decode("utf-8", "replace")
            raise BackendError(f"{url} returned malformed JSON: {excerpt!r}") from error
        if not isinstance(decoded, dict):
            raise BackendError(f"{url} returned JSON that is not an object: {raw[:100]!r}")
        return decoded

    def resolve_model(self) -> str:
        """The model name to send: the configured one, else the server's first listed model."""
        if self.model is None:
            listing = self._call("/models", None)
            models = listing.get("data")
            if not isinstance(models, list) or not models or "id" not in models[0]:
                raise BackendError(
                    f"{self.base_url}/models lists no models; pass model=... explicitly"
                )
            self.model = str(models[0]["id"])
        return self.model

    def generate(self, request: GenerationRequest) -> str:
        """Generate a reply to `request` through the server."""
        messages = chat_messages(request)  # validates the request first
        body = {
            "model": self.resolve_model(),
            "messages": messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "seed": request.seed,
            "stream": False,
        }
        reply = self._call("/chat/completions", body)
        if "error" in reply:
            raise BackendError(f"{self.base_url}/chat/completions: {reply['error']!r:.300}")
        try:
            content = reply["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as error:
            raise BackendError(
                f"{self.base_url}/chat/completions returned no choices[0].message.content: "
                f"{json.dumps(reply)[:_BODY_EXCERPT]}"
            ) from error
        if not isinstance(content, str):
            raise BackendError(
                f"{self.base_url}/chat/completions returned content {content!r:.100}, not text"
            )
        self.last_usage = {key: reply[key] for key in ("usage", "timings") if key in reply}
        return content.strip()


@register_backend("openai")
def make_openai_backend(**options: Any) -> OpenAICompatBackend:
    """Factory: ``get_backend("openai", base_url=..., model=None, api_key=None, timeout_s=60)``."""
    return OpenAICompatBackend(**options)
