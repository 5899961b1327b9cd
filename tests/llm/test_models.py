"""Model files: pinned sha256, clear errors for missing, foreign or altered files."""

from __future__ import annotations

import hashlib
import re

import pytest

from shopml.llm import BackendUnavailableError, get_backend
from shopml.llm.models import (
    DEFAULT_MODEL,
    KNOWN_MODELS,
    ModelFileError,
    known_model_path,
    resolve_model,
    verify_model_file,
)


def test_default_model_is_the_pinned_wheel_file():
    model = KNOWN_MODELS[DEFAULT_MODEL]
    path = resolve_model()  # hashes the 98 MB file against the pin
    assert path == known_model_path(DEFAULT_MODEL)
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.stat().st_size == model.size == 98_362_432
    assert model.sha256 == "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


def test_small_gguf_file_checks(tmp_path):
    content = b"GGUF" + bytes(range(12))
    path = tmp_path / "tiny.gguf"
    path.write_bytes(content)
    digest = hashlib.sha256(content).hexdigest()
    assert verify_model_file(path, digest) == path
    assert verify_model_file(path, digest.upper()) == path
    assert verify_model_file(path, None) == path


def test_wrong_sha256_is_a_clear_error(tmp_path):
    path = tmp_path / "tiny.gguf"
    path.write_bytes(b"GGUF" + b"\0" * 8)
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    expected = f"expected {'0' * 64}, got {actual}"
    with pytest.raises(ModelFileError, match=rf"sha256 mismatch.*tiny\.gguf.*{expected}"):
        verify_model_file(path, "0" * 64)


def test_wrong_sha256_for_the_wheel_model_fails_before_loading():
    with pytest.raises(ModelFileError, match=r"sha256 mismatch.*SmolLM2-135M-Instruct\.Q4_1\.gguf"):
        get_backend("local", sha256="f" * 64)


def test_missing_model_path_is_a_clear_error(tmp_path):
    missing = tmp_path / "nowhere" / "model.gguf"
    with pytest.raises(
        BackendUnavailableError, match=re.escape(f"model file not found: {missing}")
    ):
        get_backend("local", model_path=missing)


def test_directory_and_non_gguf_files_are_rejected(tmp_path):
    with pytest.raises(ModelFileError, match="not a file"):
        verify_model_file(tmp_path, None)
    text = tmp_path / "notes.gguf"
    text.write_text("hello world")
    with pytest.raises(ModelFileError, match=r"not a GGUF model file \(bad magic b'hell'\)"):
        get_backend("local", model_path=text)


def test_unknown_model_key():
    with pytest.raises(ValueError, match=r"unknown model 'gpt-5'.*smollm2-135m"):
        get_backend("local", model="gpt-5")
