"""Backends by name: the lazy registry and the request dataclass."""

from __future__ import annotations

import pytest

from shopml.llm import (
    Backend,
    BackendError,
    BackendTimeoutError,
    BackendUnavailableError,
    GenerationRequest,
    backend_names,
    get_backend,
    register_backend,
    registry,
)


def test_known_backends_are_listed_before_import():
    assert {"local", "openai", "template"} <= set(backend_names())
    assert registry._BACKEND_MODULES["template"] == "shopml.listing.template"


def test_unknown_backend_names_the_choices():
    with pytest.raises(ValueError, match=r"unknown backend 'gpt9'.*'local'.*'openai'"):
        get_backend("gpt9")


def test_registered_factory_gets_the_options():
    class Echo:
        name = "echo"

        def __init__(self, suffix: str) -> None:
            self.suffix = suffix

        def generate(self, request: GenerationRequest) -> str:
            return request.prompt + self.suffix

    @register_backend("test-echo")
    def make_echo(**options):
        return Echo(**options)

    try:
        backend = get_backend("test-echo", suffix="!")
        assert isinstance(backend, Backend)
        assert backend.generate(GenerationRequest(prompt="hi")) == "hi!"
        assert "test-echo" in backend_names()
    finally:
        registry._FACTORIES.pop("test-echo")


def test_request_defaults_are_not_shared():
    first, second = GenerationRequest(prompt="a"), GenerationRequest(prompt="b")
    first.facts["brand"] = "Nike"
    first.references.append("ref")
    assert second.facts == {} and second.references == []
    assert (first.max_tokens, first.temperature, first.seed, first.system) == (256, 0.0, 0, "")


def test_error_hierarchy_lets_callers_catch_one_class():
    assert issubclass(BackendUnavailableError, BackendError)
    assert issubclass(BackendTimeoutError, BackendError)
    assert issubclass(BackendError, RuntimeError)
